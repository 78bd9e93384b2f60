"""Tempered SMC (``SamplerConfig(method="smc")``) and the fallback of ``method="auto"``.

Small budgets and fixed seeds; the SMC programs compile once per (spec, padded length, budget)
and are shared through module fixtures.
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budgets import FIT_SAMPLER
from scipy import stats
from scipy.special import logsumexp

import bnsl_bayes as bb
from bnsl_bayes.checks import ladder_slack, may_pass_with_more, passes, sampling_messages
from bnsl_bayes.fitting import particle_ladder, pooled, prepare, resolve_model
from bnsl_bayes.sampling.nuts import run_batched
from bnsl_bayes.sampling.smc import (
    COMPILE_COST,
    importance_log_evidence,
    padded_lengths,
    particle_log_joint,
    run_smc_batch,
)

TRUTH = {"a": 0.3, "b": 6.0, "c0": 0.2, "c": [0.6], "d": [300.0], "f": [0.2]}
X = np.geomspace(10.0, 1e4, 20)
SIGMA = 0.05
SMC = bb.SamplerConfig(method="smc", chains=2, particles=400, smc_moves=5)
#: The package's SMC defaults, for the comparison with NUTS
DEFAULT = bb.SamplerConfig(method="smc")
#: 40 moves per temperature, for the log evidence: at the default 10 the particles lag behind
#: each tempered target and the log evidence runs low by 0.3-0.5 (docs/validation.md). Two
#: runs: at 40 moves they agree within about 0.1, and the test costs half of four.
EVIDENCE = bb.SamplerConfig(method="smc", chains=2, smc_moves=40)


def simulate(key: int, seeds: float = 1.0) -> bb.Curve:
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(X, **TRUTH))
    rng = np.random.default_rng(key)
    y = mu * np.exp(SIGMA / np.sqrt(seeds) * rng.standard_normal(X.size))
    return bb.Curve.from_arrays(X, y, seeds=np.full(X.size, seeds), name=f"sim-{key}")


@pytest.fixture(scope="module")
def smc_fit() -> bb.Fit:
    return bb.fit(simulate(0, seeds=100.0), seed=3, sampler=SMC, check=False)


def test_smc_fit_is_a_complete_datatree(smc_fit):
    dt = smc_fit.data
    for group in ("posterior", "posterior_predictive", "log_likelihood", "observed_data",
                  "constant_data", "sample_stats"):
        assert group in dt.children, group
    post = dt["posterior"]
    assert post.sizes["chain"] == SMC.chains and post.sizes["draw"] == SMC.particles
    assert dt.attrs["sampling_method"] == "smc"
    info = json.loads(dt.attrs["smc"])
    assert len(info["log_evidence"]) == SMC.chains
    assert all(np.isfinite(info["log_evidence"]))
    # every run reached the posterior itself, through increasing temperatures
    for temps, k in zip(info["temperatures"], info["stages"], strict=True):
        assert len(temps) == k and temps[-1] == 1.0 and np.all(np.diff(temps) > 0)
    assert info["final_temperature"] == [1.0] * SMC.chains
    lp = dt["sample_stats"]["lp"].values
    assert lp.shape == (SMC.chains, SMC.particles) and np.all(np.isfinite(lp))
    assert not dt["sample_stats"]["diverging"].values.any()
    # each particle's acceptance over the final moves at t = 1, and the step it drew
    acc = dt["sample_stats"]["acceptance_rate"].values
    assert acc.shape == (SMC.chains, SMC.particles) and np.all((acc >= 0) & (acc <= 1))
    assert 0.2 < acc.mean() < 0.95, acc.mean()
    assert np.all(dt["sample_stats"]["step_size"].values > 0)
    assert json.loads(dt.attrs["sampler"])["method"] == "smc"


def test_smc_agrees_with_nuts_within_a_fraction_of_the_posterior_width(smc_fit):
    # on a curve where NUTS's chains agree, both samplers draw from one posterior: the 5, 50
    # and 95% quantiles of every parameter differ by less than 0.3 posterior sd (Monte Carlo
    # error of 4000 SMC draws and 2000 NUTS draws: about 0.1 sd); SMC at its defaults
    nuts = bb.fit(smc_fit.curve, seed=0, sampler=FIT_SAMPLER, check=False)
    smc = bb.fit(smc_fit.curve, seed=3, sampler=DEFAULT, check=False)
    assert passes(nuts.diagnostics()), nuts.diagnostics()
    for name in ("a", "b", "c0", "c", "d", "f"):
        ref = np.asarray(nuts.draws()[name]).reshape(-1)
        got = np.asarray(smc.draws()[name]).reshape(-1)
        gap = np.abs(np.quantile(got, [0.05, 0.5, 0.95]) - np.quantile(ref, [0.05, 0.5, 0.95]))
        assert np.all(gap < 0.3 * ref.std()), (name, gap / ref.std())
    d = smc_fit.diagnostics()
    assert d["max_r_hat"] <= 1.01, d  # two runs of 400 particles agree on this easy curve


def test_smc_is_reproducible_per_seed_and_through_fit_many(smc_fit):
    curve = simulate(0, seeds=100.0)
    again = bb.fit(curve, seed=3, sampler=SMC, check=False)
    np.testing.assert_array_equal(again.data["posterior"]["a"].values,
                                  smc_fit.data["posterior"]["a"].values)
    many = bb.fit_many([simulate(1), curve], seed=2, sampler=SMC, check=False)
    np.testing.assert_array_equal(many[1].data["posterior"]["a"].values,
                                  smc_fit.data["posterior"]["a"].values)
    other = bb.fit(curve, seed=4, sampler=SMC, check=False)
    assert not np.array_equal(other.data["posterior"]["a"].values,
                              smc_fit.data["posterior"]["a"].values)


def test_smc_log_evidence_matches_importance_sampling():
    """The evidence of the tempering increments against an independent estimate: importance
    sampling from a Student-t fitted to the particles (unbiased whatever the proposal)."""
    spec = resolve_model(1, None)
    space, _, mdata = prepare(simulate(5, seeds=10.0), spec, None)
    (values, _, info), = run_smc_batch(spec, space, [mdata], EVIDENCE, [0])
    flat, log_joint = particle_log_joint(spec, space, mdata, values)
    assert flat.shape[0] == EVIDENCE.chains * EVIDENCE.particles
    log_z, ess = importance_log_evidence(flat, log_joint, 40_000, seed=0)
    assert ess > 1000  # the check is itself precise (repeats agree within 0.01)
    assert abs(np.mean(info["log_evidence"]) - log_z) < 0.5, (info["log_evidence"], log_z)


def test_default_log_evidence_on_four_digit_addition_is_not_lost_at_the_crossing():
    """The bundled curve whose tempering crosses into a narrow mode (docs/validation.md, "Log
    evidence"): with jumps centred on the modes alone its runs were 8-18 nats low. At the
    defaults a typical run is within 1.5 nats of importance sampling (runs at seeds 0-3: the
    median 0.4-1.0 below it; single runs up to 3.3 above, the estimate being heavy-tailed)."""
    spec = resolve_model(1, None)
    space, _, mdata = prepare(bb.datasets.load("four_digit_addition"), spec, None)
    (values, _, info), = run_smc_batch(spec, space, [mdata], DEFAULT, [0])
    # 100,000 draws: the posterior is narrower than the particles' Student-t by more than on
    # the simulated curve, and 40,000 leave an ESS under 1000
    log_z, ess = importance_log_evidence(*particle_log_joint(spec, space, mdata, values),
                                         100_000, seed=0)
    assert ess > 1000
    assert abs(np.median(info["log_evidence"]) - log_z) < 1.5, (info["log_evidence"], log_z)


def test_importance_log_evidence_of_a_gaussian_is_its_normalizing_constant():
    rng = np.random.default_rng(0)
    mean, cov = np.array([1.0, -2.0, 0.5]), np.diag([0.5, 2.0, 1.0])
    flat = rng.multivariate_normal(mean, cov, size=2000)
    target = stats.multivariate_normal(mean, cov)
    for seed in range(3):
        log_z, ess = importance_log_evidence(flat, lambda t: 7.25 + target.logpdf(t), 50_000,
                                             seed)
        assert abs(log_z - 7.25) < 0.02 and ess > 10_000, (log_z, ess)


def test_auto_falls_back_to_smc_where_nuts_fails():
    # 2 chains of 30 iterations after 10 of warmup: NUTS's chains cannot agree
    config = bb.SamplerConfig(chains=2, warmup=10, samples=30, particles=400, smc_moves=5)
    curve = simulate(0, seeds=100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nuts = bb.fit(curve, seed=3, sampler=replace(config, method="nuts"), check=False)
        auto = bb.fit(curve, seed=3, sampler=config, check=False)
    assert nuts.data.attrs["sampling_method"] == "nuts"
    assert not passes(nuts.diagnostics())
    assert auto.data.attrs["sampling_method"] == "smc"
    assert json.loads(auto.data.attrs["nuts_diagnostics"]) == pytest.approx(nuts.diagnostics())
    assert auto.diagnostics()["max_r_hat"] < nuts.diagnostics()["max_r_hat"]
    assert auto.data["posterior"].sizes["draw"] == config.particles


def test_jump_density_is_numpyros_mixture_density():
    from numpyro import distributions as dist

    from bnsl_bayes.sampling.smc import jump_log_density

    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        loc = jnp.asarray(rng.normal(size=(3, 4)))
        chol = jnp.asarray(np.tril(rng.normal(size=(3, 4, 4))) * 0.3
                           + np.eye(4) * rng.uniform(0.2, 2.0, size=(3, 1, 4)))
        # a component of weight 0, as a mode the search failed to find
        logits = jnp.log(jnp.asarray([0.7, 0.3, 1e-300]))
        mixture = dist.MixtureSameFamily(dist.Categorical(logits=logits),
                                         dist.MultivariateStudentT(5.0, loc=loc, scale_tril=chol))
        whiten = jnp.linalg.inv(chol)
        for x in rng.normal(scale=3.0, size=(5, 4)):
            assert float(jump_log_density(mixture, whiten, jnp.asarray(x))) == pytest.approx(
                float(mixture.log_prob(jnp.asarray(x))), rel=1e-10)


def test_particle_ladder():
    # a quarter first where 4 runs of a quarter can reach the ESS the diagnostics ask for
    # (then two, four, eight and sixteen of them pooled per chain)
    assert particle_ladder(bb.SamplerConfig()) == (250, 500, 1000, 2000, 4000)
    assert particle_ladder(bb.SamplerConfig(particles=800)) == (200, 400, 800, 1600, 3200)
    assert particle_ladder(bb.SamplerConfig(particles=1003)) == (250, 500, 1000, 2000, 4000)
    assert particle_ladder(bb.SamplerConfig(particles=796)) == (796,)
    assert particle_ladder(bb.SamplerConfig(chains=2, particles=1000)) == (1000,)


def test_ladder_climbs_only_where_monte_carlo_error_explains_the_failure():
    # 4x the particles cut r_hat**2 - 1 by 4 and multiply the ESS by 4, with a slack of
    # 2.01 (chi-square(7) / 7 at 95%): r_hat up to sqrt(1 + 2.01 * 4 * 0.0201) = 1.0778
    ok = {"max_r_hat": 1.077, "min_ess_bulk": 50.0, "divergences": 0}
    assert may_pass_with_more(ok, 4.0)
    assert not may_pass_with_more({**ok, "max_r_hat": 1.078}, 4.0)
    assert not may_pass_with_more({**ok, "min_ess_bulk": 49.7}, 4.0)  # 2.01 * 4 * 49.7 < 400
    assert may_pass_with_more({**ok, "max_r_hat": 1.15}, 16.0)
    assert ladder_slack(4) == pytest.approx(stats.chi2.ppf(0.95, 7) / 7) == pytest.approx(2.0096,
                                                                                       abs=1e-4)
    # 8 runs read the between-run variance with 15 degrees of freedom: less slack
    assert not may_pass_with_more(ok, 4.0, runs=8)
    assert not may_pass_with_more({**ok, "max_r_hat": float("nan")}, 4.0)
    assert not may_pass_with_more({**ok, "min_ess_bulk": float("nan")}, 4.0)


def test_pooled_runs_keep_each_chain_and_every_run():
    # chain c of the pooled fit is run c of each set, one set after the other
    def out(tag):
        draws = tag + np.arange(6.0).reshape(2, 3)
        return ({"a": draws}, {"lp": -draws},
                {"log_evidence": np.array([tag, tag + 0.5]), "temperatures": np.full((2, 4), tag)})
    values, stats, info = pooled([out(0.0), out(10.0)])
    np.testing.assert_array_equal(values["a"], [[0, 1, 2, 10, 11, 12], [3, 4, 5, 13, 14, 15]])
    np.testing.assert_array_equal(stats["lp"], -values["a"])
    np.testing.assert_array_equal(info["log_evidence"], [0.0, 0.5, 10.0, 10.5])
    assert info["temperatures"].shape == (4, 4)


def test_a_stream_folds_into_each_curves_key_and_stream_0_leaves_it():
    # the key the compiled program gets: PRNGKey(seed), folded in with the stream if any
    data = [simulate(0).x] * 3

    class Points:
        def __init__(self, n):
            self.n_points = n

        def padded(self, length):
            return np.zeros(length)

    def compiled(length, batch):
        return lambda keys, stacked: {"key": keys}

    with jax.enable_x64(True):
        for stream in (0, 7):
            got = run_batched(compiled, [Points(len(x)) for x in data], [5, 6, 7], 1, None,
                              stream=stream)
            for seed, out in zip([5, 6, 7], got, strict=True):
                key = jax.random.PRNGKey(seed)
                want = jax.random.fold_in(key, stream) if stream else key
                np.testing.assert_array_equal(out["key"], np.asarray(want))


def test_further_sets_of_runs_are_new_runs_of_the_same_posterior(smc_fit):
    # pool 1 draws new runs from the same program as the fit's own (pool 0)
    spec = resolve_model(1, None)
    space, _, mdata = prepare(simulate(0, seeds=100.0), spec, None)
    (first, own, _), = run_smc_batch(spec, space, [mdata], SMC, [3])
    (again, _, info), = run_smc_batch(spec, space, [mdata], SMC, [3], pool=1)
    np.testing.assert_array_equal(own["lp"], smc_fit.data["sample_stats"]["lp"].values)
    assert not np.any(first["slope0"] == again["slope0"])
    assert min(info["final_temperature"]) == 1.0
    # the same posterior: the medians agree within a fraction of its width
    width = np.subtract(*np.quantile(first["slope0"], [0.95, 0.05]))
    assert abs(np.median(first["slope0"]) - np.median(again["slope0"])) < 0.25 * width


def test_auto_climbs_the_particle_ladder_and_records_each_attempt():
    # NUTS cannot pass in 30 draws; SMC runs 200 particles per run, then pools two, four and
    # eight and sixteen such runs per chain while the fit fails by no more than Monte Carlo
    # error explains
    config = bb.SamplerConfig(chains=4, warmup=10, samples=30, particles=800, smc_moves=3)
    curve = simulate(0, seeds=100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bb.fit(curve, seed=3, sampler=config, check=False)
    attempts = json.loads(fit.data.attrs["smc_attempts"])
    assert attempts[0]["particles"] == 200 and attempts[0]["runs_pooled"] == 1
    expected = 1
    while (expected < 5 and not passes(attempts[expected - 1])
           and attempts[expected - 1]["complete"]
           and may_pass_with_more(attempts[expected - 1], 16.0 / 2 ** (expected - 1))):
        expected += 1  # (to the ladder's top)
    assert len(attempts) == expected
    assert [(a["particles"], a["runs_pooled"]) for a in attempts] == [
        (200, 1), (400, 2), (800, 4), (1600, 8), (3200, 16)][:expected]
    kept = [a for a in attempts if a["kept"]]
    if fit.data.attrs["sampling_method"] == "smc":
        assert len(kept) == 1
        assert fit.data["posterior"].sizes["draw"] == kept[0]["particles"]
        assert len(json.loads(fit.data.attrs["smc"])["log_evidence"]) == 4 * kept[0][
            "runs_pooled"]
        assert kept[0]["max_r_hat"] == pytest.approx(fit.diagnostics()["max_r_hat"])
        assert not passes(json.loads(fit.data.attrs["nuts_diagnostics"]))
    else:
        assert not kept
    assert fit.data.attrs["time_s"] > 0
    # the fit records the settings it was given; the rungs are in smc_attempts
    assert json.loads(fit.data.attrs["sampler"])["particles"] == 800


def test_the_climb_runs_new_sets_for_the_climbing_curves_only(monkeypatch):
    # curve 0 climbs to the top, curve 1 stops after the first rung: sets 1 to 15 run for
    # curve 0 alone, at the first rung's padded length, and its fit pools all 16 sets
    config = bb.SamplerConfig(chains=4, warmup=10, samples=30, particles=800, smc_moves=3)
    seen = []
    real = bb.fitting.run_smc_batch

    def record(spec, space, data, config, seeds, batch=None, progress=None, length=None,
               pool=0):
        seen.append((pool, length, list(seeds)))
        return real(spec, space, data, config, seeds, batch=batch, progress=progress,
                    length=length, pool=pool)

    answers = iter([True, False, True, True, True])  # rung 0: curves 0, 1; 1-3: curve 0
    monkeypatch.setattr(bb.fitting, "run_smc_batch", record)
    monkeypatch.setattr(bb.fitting, "passes", lambda diag: False)
    monkeypatch.setattr(bb.fitting, "may_pass_with_more", lambda *a: next(answers))
    curves = [simulate(0, seeds=100.0), simulate(1, seeds=100.0)]
    fits = bb.fit_many(curves, seed=3, sampler=config, check=False)
    assert seen == [(0, 24, [3, 4]), *((k, 24, [3]) for k in range(1, 16))]
    climbed, stopped = (json.loads(f.data.attrs["smc_attempts"]) for f in fits)
    assert [(a["particles"], a["runs_pooled"]) for a in climbed] == [
        (200, 1), (400, 2), (800, 4), (1600, 8), (3200, 16)]
    assert [(a["particles"], a["runs_pooled"]) for a in stopped] == [(200, 1)]


def _cost(groups: dict[int, int], lengths: list[int], particles: int) -> float:
    """Compiles plus padded run time of a grouping (4 runs), in the units of
    ``padded_lengths``."""
    return (COMPILE_COST * len(set(groups.values()))
            + sum(4 * particles * groups[n] for n in lengths))


@pytest.mark.parametrize("seed", range(6))
def test_padded_lengths_are_the_cheapest_grouping(seed):
    # against every partition of the sorted lengths into runs of neighbours
    rng = np.random.default_rng(seed)
    distinct = sorted(rng.choice(np.arange(16, 200, 8), size=6, replace=False).tolist())
    lengths = [int(n) for n in distinct for _ in range(rng.integers(1, 15))]
    particles = int(rng.choice([250, 1000, 4000]))
    groups = padded_lengths(lengths, particles)
    assert set(groups) == set(distinct)
    assert all(groups[n] >= n and groups[n] in distinct for n in distinct)
    best = min(
        _cost({n: distinct[min(j for j in [*cuts, 5] if j >= i)] for i, n in enumerate(distinct)},
              lengths, particles)
        for k in range(6) for cuts in itertools.combinations(range(5), k))
    assert _cost(groups, lengths, particles) == pytest.approx(best)


def test_padded_lengths_merge_only_where_the_padding_is_cheaper_than_a_compile():
    assert padded_lengths([], 250) == {}
    assert padded_lengths([16, 16], 250) == {16: 16}
    # one curve of 24 points beside 72: 48 padded points x 4 runs x 250 particles < a compile
    assert padded_lengths([24, 72], 250) == {24: 72, 72: 72}
    # at 4000 particles, or 64 runs, the same padding costs more than the compile
    assert padded_lengths([24, 72], 4000) == {24: 24, 72: 72}
    assert padded_lengths([24, 72], 250, runs=64) == {24: 24, 72: 72}


def test_smc_runs_neighbouring_lengths_as_one_program(monkeypatch):
    # 20, 12 and 30 points (padded to 24, 16 and 32): at 250 particles the padding to 32 costs
    # less than two compiles, so the three run in one call at 32 points
    seen = []

    def record(spec, space, data, config, seeds, batch=None, progress=None, length=None,
               pool=0):
        seen.append((length, [d.n_points for d in data]))
        raise RuntimeError("stop")

    monkeypatch.setattr(bb.fitting, "run_smc_batch", record)
    curves = [simulate(0), bb.Curve.from_arrays(X[:12], simulate(1).y[:12]),
              bb.Curve.from_arrays(np.geomspace(10.0, 1e4, 30), np.geomspace(3.0, 1.0, 30))]
    assert padded_lengths([24, 16, 32], 250) == {16: 32, 24: 32, 32: 32}
    with pytest.raises(RuntimeError, match="stop"):
        bb.fit_many(curves, sampler=replace(SMC, particles=250), check=False)
    assert seen == [(32, [20, 12, 30])]


def test_auto_keeps_nuts_where_it_passes():
    curve = simulate(0, seeds=100.0)
    # the NUTS run of test_smc_agrees_with_nuts..., which passes its diagnostics
    fit = bb.fit(curve, seed=0, sampler=replace(FIT_SAMPLER, method="auto"), check=False)
    assert fit.data.attrs["sampling_method"] == "nuts"
    assert passes(fit.diagnostics()), fit.diagnostics()
    assert "smc" not in fit.data.attrs


def test_smc_fit_warnings_name_more_particles_not_longer_chains(smc_fit, monkeypatch):
    # warmup and draws do not change an SMC fit: its fix is more particles per chain (4x)
    monkeypatch.setattr(smc_fit, "diagnostics",
                        lambda: {"max_r_hat": 1.05, "min_ess_bulk": 120.0, "divergences": 0})
    with pytest.warns(bb.SamplingWarning):
        messages = smc_fit.check()
    r_hat = [m for m in messages if m.startswith("max r_hat = 1.050")]
    ess = [m for m in messages if m.startswith("min bulk ESS = 120")]
    assert len(r_hat) == len(ess) == 1
    assert "SMC runs disagree" in r_hat[0]
    for m in r_hat + ess:
        assert "particles=1600" in m and "--particles 1600" in m and "warmup" not in m


def test_smc_warnings_say_whether_more_particles_can_help():
    # 4 runs at 250 particles: r_hat 1.05 is within what Monte Carlo error explains
    # (may_pass_with_more), r_hat 1.2 is not: there the runs sit in different modes
    near = sampling_messages({"max_r_hat": 1.05, "min_ess_bulk": 900.0, "divergences": 0},
                             float("nan"), 1, particles=250, runs=4)
    far = sampling_messages({"max_r_hat": 1.2, "min_ess_bulk": 900.0, "divergences": 0},
                            float("nan"), 1, particles=250, runs=4)
    assert len(near) == len(far) == 1
    assert "Fix: more particles per chain (particles=1000" in near[0]
    assert "Fix: fit fewer breaks" in far[0] and "unlikely" in far[0]
    assert "warmup" not in near[0] + far[0]


def test_smc_fit_warnings_count_the_particles_already_tried(smc_fit, monkeypatch):
    # auto's ladder may keep a smaller rung than it tried: the advice starts from the most
    monkeypatch.setattr(smc_fit, "diagnostics",
                        lambda: {"max_r_hat": 1.05, "min_ess_bulk": 120.0, "divergences": 0})
    monkeypatch.setitem(smc_fit.data.attrs, "smc_attempts", json.dumps(
        [{"particles": 400, "kept": True}, {"particles": 1600, "kept": False}]))
    with pytest.warns(bb.SamplingWarning):
        messages = smc_fit.check()
    ess = [m for m in messages if m.startswith("min bulk ESS = 120")]
    assert len(ess) == 1 and "particles=6400" in ess[0]


def test_smc_fit_survives_save_and_load(smc_fit, tmp_path):
    path = tmp_path / "smc.nc"
    smc_fit.save(path)
    back = bb.load(path)
    assert back.data.attrs["sampling_method"] == "smc"
    assert json.loads(back.data.attrs["smc"]) == json.loads(smc_fit.data.attrs["smc"])
    np.testing.assert_array_equal(back.data["posterior"]["a"].values,
                                  smc_fit.data["posterior"]["a"].values)


@pytest.mark.parametrize("bad, match", [
    ({"method": "mcmc"}, "method = 'mcmc': expected one of 'auto', 'nuts', 'smc'"),
    ({"particles": 1}, "particles = 1: expected a whole number >= 2"),
    ({"smc_moves": 0}, "smc_moves = 0: expected a whole number >= 1"),
])
def test_bad_smc_settings_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bb.SamplerConfig(**bad).validate()


def test_report_says_which_sampler_ran(smc_fit):
    info = json.loads(smc_fit.data.attrs["smc"])
    line = next(s for s in smc_fit.report().splitlines() if s.startswith("sampler:"))
    assert line.startswith("sampler: tempered SMC, 2 runs x 400 particles, log evidence "
                           f"{np.mean(info['log_evidence']):.2f}")


def test_compare_table_shows_the_log_evidence_of_smc_fits(smc_fit):
    from bnsl_bayes.loo import log_evidence

    info = json.loads(smc_fit.data.attrs["smc"])
    ev = np.asarray(info["log_evidence"])
    # the log of the mean evidence over the runs, not the mean of their logs
    assert log_evidence(smc_fit) == pytest.approx(logsumexp(ev) - np.log(ev.size))
    assert np.mean(ev) <= log_evidence(smc_fit) <= ev.max()


def test_compare_by_evidence_prefers_the_break_the_data_show(smc_fit):
    # the fixture's curve and settings: its bnsl-1 fit is reused from the compiled cache
    result = bb.compare(simulate(0, seeds=100.0), breaks=[0, 1], method="evidence", seed=3,
                        sampler=replace(SMC, method="auto"), check=False)
    table = result.table
    assert (table["sampler"] == "smc").all()
    assert np.isfinite(table["log_evidence"]).all()
    # a sharp break seen by 100-seed points: no power law without it comes close
    assert table.loc["bnsl-1", "log_evidence"] > table.loc["bnsl-0", "log_evidence"] + 10
    assert result.best == "bnsl-1" and table["weight"].sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(result.fits["bnsl-1"].data["posterior"]["a"].values,
                                  smc_fit.data["posterior"]["a"].values)


def test_a_run_short_of_the_posterior_is_named():
    from bnsl_bayes.checks import smc_message

    assert smc_message(None) is None
    assert smc_message({"final_temperature": [1.0, 1.0]}) is None
    msg = smc_message({"final_temperature": [1.0, 0.73]})
    assert msg.startswith("1 of 2 SMC runs stopped at their last allowed temperature (0.73 of 1)")
    assert "particles=4000" in msg


def test_cli_sampler_options_reach_the_config():
    from bnsl_bayes.cli import build_parser
    from bnsl_bayes.cli.common import _sampler

    parser = build_parser()
    args = parser.parse_args(["fit", "dataset:four_digit_addition", "--sampler", "smc",
                              "--particles", "500"])
    assert (_sampler(args).method, _sampler(args).particles) == ("smc", 500)
    # compare's --method (the weights of its models) is another option than --sampler
    args = parser.parse_args(["compare", "dataset:four_digit_addition", "--method", "stacking",
                              "--sampler", "nuts"])
    assert args.method == "stacking" and _sampler(args).method == "nuts"
    args = parser.parse_args(["seeds", "--example", "four-digit-addition", "--sampler", "nuts"])
    assert _sampler(args).method == "nuts"
