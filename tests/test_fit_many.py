"""``fit_many``: many curves through one compiled sampler, the same posteriors as ``fit``.

The budget is test_fit's FAST, so the single-curve program (16 padded points, batch of one: the
default on a CPU) is shared with test_fit; only test_batch_size_does_not_change_draws compiles a
batch of two.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from budgets import FIT as FAST
from budgets import FIT_BUDGET as FAST_BUDGET
from budgets import SMALL

import bnsl_bayes as bb
from bnsl_bayes.likelihood import marginal_log_likelihood
from bnsl_bayes.sampling import nuts as inference
from bnsl_bayes.standardize import ModelData, Scaling


def _curves() -> list[bb.Curve]:
    full = bb.datasets.load("four_digit_addition")
    m = full.fit_mask
    x, y = full.x[m], full.y[m]
    rng = np.random.default_rng(3)
    short = bb.Curve.from_arrays(x[:12], y[:12] * np.exp(0.003 * rng.standard_normal(12)),
                                 name="short")
    return [full, short]


CALLS: list[tuple[int, int]] = []


@pytest.fixture(scope="module")
def many() -> list[bb.Fit]:
    return bb.fit_many(_curves(), seed=5, progress=lambda d, t: CALLS.append((d, t)), **FAST)


def test_progress_is_reported_per_batch(many):
    # One curve per compiled call on a CPU, the whole batch on an accelerator.
    cpu = jax.default_backend() == "cpu"
    assert CALLS == ([(1, 2), (2, 2)] if cpu else [(2, 2)])
    assert inference.default_batch(50) == (1 if cpu else 50)


def _posterior(f: bb.Fit) -> dict[str, np.ndarray]:
    return {k: f.data.posterior[k].values for k in ("a", "b", "c0", "c", "d", "f", "sigma")}


def test_fit_many_equals_fit_curve_by_curve(many):
    # Curve i gets seed + i; lengths 14 and 12 share the padded length 16 and one program.
    assert [f.seed for f in many] == [5, 6]
    single = bb.fit(_curves()[1], seed=6, **FAST)
    for k, v in _posterior(single).items():
        np.testing.assert_array_equal(v, _posterior(many[1])[k], err_msg=k)
    np.testing.assert_array_equal(single.predict([500.0, 2000.0]).to_numpy(),
                                  many[1].predict([500.0, 2000.0]).to_numpy())


def test_fit_many_keeps_each_curve(many):
    full, short = _curves()
    assert many[0].data.observed_data["y"].shape == (14,)
    assert many[1].data.observed_data["y"].shape == (12,)
    assert "held_out_data" in many[0].data.children and "held_out_data" not in many[1].data
    assert many[1].data.attrs["curve_name"] == "short"
    # The padding points do not enter a fit: the log likelihood has one column per real point.
    assert many[1].data.log_likelihood["y"].shape[-1] == 12


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="a batch of one matches fit_many's "
                    "batch on a CPU only")
def test_mode_search_is_shared_by_samplers_of_other_budgets(many):
    """The mode search is a program of its own, keyed on the settings it uses: a fit of the
    same shape with another budget compiles its chains only."""
    before = inference.trace_count()
    config = bb.SamplerConfig(chains=4, warmup=5, samples=5, method="nuts")
    bb.fit(_curves()[0], seed=5, sampler=config, check=False)
    assert inference.trace_count() == before + 1


def test_no_recompilation_for_same_shape(many):
    before = inference.trace_count()
    rng = np.random.default_rng(9)
    others = [bb.Curve.from_arrays(c.x[c.fit_mask],
                                   c.y[c.fit_mask] * np.exp(0.01 * rng.standard_normal(
                                       int(c.fit_mask.sum())))) for c in _curves()]
    again = bb.fit_many(others, seed=11, **FAST)
    assert inference.trace_count() == before
    assert not np.array_equal(again[0].data.posterior["a"].values,
                              many[0].data.posterior["a"].values)


def test_batch_size_does_not_change_draws():
    # One call of the two-curve program gives what two calls of the one-curve program gave
    # (bnsl-0 on 8 points: the cheapest program to compile twice).
    x = np.geomspace(10.0, 1e4, 8)
    rng = np.random.default_rng(4)
    curves = [bb.Curve.from_arrays(x, (0.2 + 5.0 * x**-0.4) * np.exp(
        0.02 * rng.standard_normal(8))) for _ in range(2)]
    one = bb.fit_many(curves, breaks=0, seed=5, batch_size=1, **SMALL)
    two = bb.fit_many(curves, breaks=0, seed=5, batch_size=2, **SMALL)
    for a, b in zip(two, one, strict=True):
        for k in ("a", "b", "c0", "sigma"):
            np.testing.assert_array_equal(a.data.posterior[k].values, b.data.posterior[k].values)


@pytest.mark.parametrize(
    ("curves", "kwargs", "match"),
    [
        ([np.arange(3)], {}, r"curves\[0\] is a ndarray: expected a Curve"),
        ([bb.Curve.from_arrays([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], name="tiny")], {},
         r"curves\[0\] \('tiny'\): .*fewer"),
        ({"named": np.arange(3)}, {}, r"curves\[0\] is a ndarray"),
        ([], {"batch_size": 0}, r"batch_size = 0"),
        ([], {"breaks": 7}, r"breaks = 7"),
        ([], {"seed": -1}, r"seed = -1"),
        ([], {"progress": "yes"}, r"progress = 'yes'"),
    ],
)
def test_fit_many_bad_input_named_before_sampling(monkeypatch, curves, kwargs, match):
    def boom(*args, **kw):  # pragma: no cover - reached only on a bug
        raise AssertionError("sampling started")

    monkeypatch.setattr(bb.fitting, "run_nuts_batch", boom)
    with pytest.raises(ValueError, match=match):
        bb.fit_many(curves, **kwargs)


def test_fit_many_of_nothing_is_empty():
    assert bb.fit_many([]) == []


def test_padding_leaves_the_likelihood_unchanged():
    curve = _curves()[1]
    scaling = Scaling.from_curve(curve, "log")
    data = ModelData.from_curve(curve, scaling)
    rng = np.random.default_rng(0)
    resid = 0.01 * rng.standard_normal(data.n_points)
    padded = data.padded(20)
    assert padded.n_points == 20 and float(np.sum(padded.mask)) == 12
    junk = np.concatenate([resid, 5.0 * np.ones(8)])  # padding residuals must not count
    with jax.enable_x64(True):
        exact = float(marginal_log_likelihood(resid, data, 1.0, 1e-8))
        masked = float(marginal_log_likelihood(junk, padded, 1.0, 1e-8))
    assert masked == pytest.approx(exact, rel=1e-12)
    with pytest.raises(ValueError, match="at least the 12 points"):
        data.padded(10)


def test_padded_length_buckets():
    assert [inference.padded_length(n) for n in (1, 8, 9, 14, 16, 17, 300)] == [
        8, 8, 16, 16, 16, 24, 304]


def test_tree_depth_saturation_and_diagnostics(many):
    """What the revisiting_time benchmark reads of each Fit: its fit points, the share of
    iterations at the maximal tree depth and max r_hat."""
    assert [int(f.curve.fit_mask.sum()) for f in many] == [14, 12]
    for f in many:
        depth = f.data.sample_stats["tree_depth"].values
        assert f.tree_depth_saturation() == pytest.approx(np.mean(depth >= 10))  # the default
        assert float(f.diagnostics()["max_r_hat"]) == f.diagnostics()["max_r_hat"]
        assert np.isfinite(f.data.sample_stats["n_steps"].values.mean())


def test_fit_many_names_the_curves_whose_fits_failed(monkeypatch):
    bad = {"max_r_hat": 1.2, "min_ess_bulk": 35.0, "divergences": 3}
    good = {"max_r_hat": 1.001, "min_ess_bulk": 2000.0, "divergences": 0}
    monkeypatch.setattr(bb.Fit, "diagnostics",
                        lambda self: dict(bad if self.curve.name in ("short", None, "") else good))
    unnamed = bb.Curve.from_arrays(_curves()[1].x, _curves()[1].y)  # no name: its index
    with pytest.warns(bb.SamplingWarning) as caught:
        bb.fit_many([_curves()[0], _curves()[1], unnamed], seed=5, **FAST_BUDGET)
    summary = [str(w.message) for w in caught if "fit(s) did not pass" in str(w.message)]
    assert summary == [
        "2 fit(s) did not pass their diagnostics (max r_hat <= 1.01, min bulk ESS >= 400, no "
        "divergences); their bands are not to be trusted:\n"
        "  short: max r_hat 1.200, min bulk ESS 35, 3 divergence(s)\n"
        "  curves[2]: max r_hat 1.200, min bulk ESS 35, 3 divergence(s)"]
