"""``sampler=SamplerConfig(...)`` carries the NUTS settings of every entry point; the old
keywords still work for one release, with a DeprecationWarning."""

from __future__ import annotations

import numpy as np
import pytest

import bnsl_bayes as bb
import bnsl_bayes.fitting
from bnsl_bayes.fitting import SAMPLER_KEYWORDS, sampler_config

X = np.array([10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0])
Y = 2.0 * X**-0.5 + 0.1


class Reached(Exception):
    """The sampler was called (with the settings it was given)."""


@pytest.fixture
def seen(monkeypatch):
    """Stub out NUTS; record the SamplerConfig each fit would have run with."""
    configs = []

    def stub(spec, space, data, config, seeds, **kwargs):
        configs.append(config)
        raise Reached

    monkeypatch.setattr(bnsl_bayes.fitting, "run_nuts_batch", stub)
    monkeypatch.setattr(bnsl_bayes.fitting, "run_smc_batch", stub)
    return configs


def test_defaults_are_fits():
    c = bb.SamplerConfig()
    assert (c.chains, c.warmup, c.samples, c.target_accept, c.max_tree_depth, c.dense_mass) == (
        4, 1000, 1000, 0.95, 10, True)
    assert set(SAMPLER_KEYWORDS) <= set(c.__dataclass_fields__)


def test_sampler_reaches_nuts_with_progress_apart(seen):
    quick = bb.SamplerConfig(chains=2, warmup=30, samples=40, target_accept=0.9)
    with pytest.raises(Reached):
        bb.fit(X, Y, breaks=0, sampler=quick, progress=True)
    (config,) = seen
    assert (config.chains, config.warmup, config.samples, config.target_accept) == (2, 30, 40, 0.9)
    assert config.progress is True and quick.progress is False  # the user's object is unchanged


def test_old_keywords_warn_and_mean_the_same(seen):
    with pytest.raises(Reached), pytest.warns(DeprecationWarning, match="sampler=bnsl_bayes"):
        bb.fit(X, Y, breaks=0, chains=2, warmup=30, samples=40)
    with pytest.raises(Reached):
        bb.fit(X, Y, breaks=0, sampler=bb.SamplerConfig(chains=2, warmup=30, samples=40))
    assert seen[0] == seen[1]


def test_old_keywords_of_compare_and_seeds_study_warn(seen):
    with pytest.raises(Reached), pytest.warns(DeprecationWarning):
        bb.compare(X, Y, breaks=[0], chains=2)
    with pytest.warns(DeprecationWarning):
        config = sampler_config(None, {"warmup": 10}, where="seeds_study",
                                default=bb.seeds.STUDY_SAMPLER)
    assert (config.chains, config.warmup, config.samples) == (2, 10, 300)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"chain": 2}, TypeError, r"unexpected keyword argument\(s\) \['chain'\]"),
        ({"sampler": {"chains": 2}}, TypeError, r"expected a bnsl_bayes.SamplerConfig"),
        ({"sampler": bb.SamplerConfig(chains=0)}, ValueError, r"chains = 0"),
        ({"sampler": bb.SamplerConfig(dense_mass="yes")}, ValueError, r"dense_mass = 'yes'"),
        ({"sampler": bb.SamplerConfig(target_accept=True)}, ValueError, r"target_accept"),
        ({"progress": "yes"}, ValueError, r"progress = 'yes'"),
    ],
)
def test_bad_settings_are_named_before_sampling(seen, kwargs, error, match):
    with pytest.raises(error, match=match):
        bb.fit(X, Y, breaks=0, **kwargs)
    assert seen == []


def test_calibrate_drifts_old_seeds_keyword_warns():
    with pytest.warns(DeprecationWarning, match="seed="), pytest.raises(ValueError, match="Fit"):
        bb.calibrate_drifts(["not a fit"], seeds=[1])
