"""End-to-end properties of the Bayesian fit: recovery, bands, ArviZ output, save/load.

Every fit uses a fixed seed. Fits are shared through module fixtures, and the sampler settings
below are reused so that each (model, number of points) compiles once per session.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import arviz as az
import jax
import numpy as np
import pytest
from budgets import FIT as FAST

import bnsl_bayes as bb

TRUTH_1 = {"a": 0.3, "b": 6.0, "c0": 0.2, "c": [0.6], "d": [300.0], "f": [0.2]}
X_SIM = np.geomspace(10.0, 1e4, 20)
SIGMA = 0.05  # per-seed noise of log y


def simulate(truth: dict, seeds: float, key: int, x: np.ndarray = X_SIM) -> bb.Curve:
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(x, **truth))
    rng = np.random.default_rng(key)
    y = mu * np.exp(SIGMA / np.sqrt(seeds) * rng.standard_normal(len(x)))
    return bb.Curve.from_arrays(x, y, seeds=np.full(len(x), seeds), name=f"sim-{seeds:g}")


@pytest.fixture(scope="module")
def addition_fit() -> bb.Fit:
    curve = bb.datasets.load("four_digit_addition")
    return bb.fit(curve, seed=0, **FAST)


@pytest.fixture(scope="module")
def sim_fits() -> dict[float, bb.Fit]:
    # One simulated data set per seed count (fixed key). Each 90% band misses the truth with
    # probability 0.1 by design; test_parameter_coverage_rate checks the rate over replicates.
    return {s: bb.fit(simulate(TRUTH_1, s, key=2), seed=1, **FAST) for s in (1.0, 1000.0)}


def _covers(fit: bb.Fit, name: str, idx, truth: float, prob: float = 0.9) -> bool:
    draws = fit.draws()[name]
    draws = draws if idx is None else draws[:, idx]
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2])
    return lo <= truth <= hi


def test_recovery_many_seeds_covers_truth(sim_fits):
    fit = sim_fits[1000.0]
    d = fit.diagnostics()
    assert d["divergences"] == 0 and d["max_r_hat"] <= 1.01
    for name in ("a", "c0"):
        assert _covers(fit, name, None, TRUTH_1[name]), name
    for name in ("c", "d", "f"):
        assert _covers(fit, name, 0, TRUTH_1[name][0]), name
    assert _covers(fit, "b", None, TRUTH_1["b"])
    # the per-seed noise is recovered too
    assert _covers(fit, "sigma", None, SIGMA)


def test_few_seeds_give_wider_bands(sim_fits):
    few, many = sim_fits[1.0].parameters(), sim_fits[1000.0].parameters()
    width_few = few["hi"] - few["lo"]
    width_many = many["hi"] - many["lo"]
    for name in ("c0", "c1", "d1"):
        assert width_few[name] > 2 * width_many[name], name
    # and so are the extrapolation bands
    x = [3e4, 1e5]
    assert np.all(
        sim_fits[1.0].predict(x)["mean_hi"] - sim_fits[1.0].predict(x)["mean_lo"]
        > sim_fits[1000.0].predict(x)["mean_hi"] - sim_fits[1000.0].predict(x)["mean_lo"]
    )


def test_addition_bands_cover_held_out_and_widen(addition_fit):
    curve = addition_fit.curve
    held = curve.held_out
    table = addition_fit.predict(curve.x[held], prob=0.9)
    y = curve.y[held]
    assert np.all((table["pred_lo"] <= y) & (y <= table["pred_hi"])), table
    t = addition_fit.predict([500.0, 928.0, 2000.0])
    width = (t["pred_hi"] - t["pred_lo"]).to_numpy()
    assert width[0] < width[1] < width[2]
    mean_width = (t["mean_hi"] - t["mean_lo"]).to_numpy()
    assert mean_width[0] < mean_width[1] < mean_width[2]
    # the band of the mean curve contains its median
    assert np.all((t["mean_lo"] <= t["median"]) & (t["median"] <= t["mean_hi"]))


def test_addition_parameters_near_paper_fit(addition_fit):
    # The paper's point fit (data/README.md): c0 = 0.0551, c1 = 5.66, d1 = 612.6, f1 = 0.0592.
    p = addition_fit.parameters(prob=0.99)
    for name, value in {"c0": 0.0551, "c1": 5.66, "d1": 612.6, "f1": 0.0592}.items():
        assert p.loc[name, "lo"] <= value <= p.loc[name, "hi"], (name, p.loc[name].to_dict())


def test_datatree_groups_and_arviz(addition_fit):
    dt = addition_fit.data
    for group in ("posterior", "sample_stats", "log_likelihood", "posterior_predictive",
                  "observed_data", "constant_data"):
        assert group in dt.children, group
    post = dt["posterior"]
    assert set(post["c"].dims) == {"chain", "draw", "break"}
    assert post.sizes["chain"] == FAST["sampler"].chains
    assert post.sizes["draw"] == FAST["sampler"].samples
    assert dt["log_likelihood"]["y"].dims == ("chain", "draw", "point")
    assert dt["observed_data"]["y"].sizes["point"] == 14
    np.testing.assert_array_equal(dt["constant_data"]["x"].values,
                                  addition_fit.curve.x[addition_fit.curve.fit_mask])
    for name in ("diverging", "tree_depth", "energy", "lp", "acceptance_rate", "step_size"):
        assert name in dt["sample_stats"], name
    summary = az.summary(dt, var_names=["a", "c0", "c", "d", "f"])
    assert {"r_hat", "ess_bulk"} <= set(summary.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto k on 14 influential points
        loo = az.loo(dt)
    assert np.isfinite(loo["elpd"])
    addition_fit.predict([1000.0, 2000.0], seeds=4, store=True)
    assert dt["predictions"]["y"].sizes["pred_point"] == 2
    np.testing.assert_array_equal(dt["predictions_constant_data"]["seeds"].values, [4, 4])


def test_more_seeds_narrow_the_predictive_band(addition_fit):
    # inside the data, where the run-to-run noise is a large part of the predictive band
    one = addition_fit.predict([500.0], seeds=1)
    many = addition_fit.predict([500.0], seeds=10_000)
    assert (many["pred_hi"] - many["pred_lo"])[0] < (one["pred_hi"] - one["pred_lo"])[0]
    # with very many seeds the predictive band approaches the band of the mean curve
    assert (many["pred_hi"] - many["pred_lo"])[0] < 1.1 * (many["mean_hi"] - many["mean_lo"])[0]


def test_save_load_round_trip(addition_fit, tmp_path):
    path = addition_fit.save(tmp_path / "fit.nc")
    again = bb.load(path)
    x = [300.0, 800.0, 2000.0]
    a, b = addition_fit.predict(x, seeds=3), again.predict(x, seeds=3)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert again.spec == addition_fit.spec
    assert again.scaling == addition_fit.scaling
    np.testing.assert_array_equal(again.curve.x, addition_fit.curve.x)
    np.testing.assert_array_equal(again.curve.held_out, addition_fit.curve.held_out)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        addition_fit.save(path)
    assert bb.load(path).predict(x, seeds=3).equals(b)  # the file is untouched


def test_same_seed_same_posterior(addition_fit):
    again = bb.fit(bb.datasets.load("four_digit_addition"), seed=0, **FAST)
    for name in ("a", "c0", "c", "d", "f", "sigma"):
        np.testing.assert_array_equal(again.data["posterior"][name].values,
                                      addition_fit.data["posterior"][name].values)


@pytest.mark.slow
def test_parameter_coverage_rate():
    """Over 20 replicate data sets, 90% bands cover the truth at close to the nominal rate."""
    hits, total = 0, 0
    for key in range(20):
        fit = bb.fit(simulate(TRUTH_1, 100.0, key=100 + key), seed=key, **FAST)
        for name, idx, value in (("a", None, 0.3), ("c0", None, 0.2), ("c", 0, 0.6),
                                 ("d", 0, 300.0), ("f", 0, 0.2), ("sigma", None, SIGMA)):
            hits += _covers(fit, name, idx, value)
            total += 1
    rate = hits / total
    # 120 band checks; binomial sd at 0.9 is 0.027, and the six bands of one fit are correlated
    assert 0.78 <= rate <= 0.99, rate


@pytest.fixture(scope="module")
def addition_default_fit() -> bb.Fit:
    return bb.fit(bb.datasets.load("four_digit_addition"), seed=0, check=False)


@pytest.mark.slow
def test_default_settings_on_addition_have_no_divergences(addition_default_fit):
    assert addition_default_fit.diagnostics()["divergences"] == 0


@pytest.mark.slow
def test_default_settings_on_addition_converge(addition_default_fit):
    d = addition_default_fit.diagnostics()
    assert d["max_r_hat"] <= 1.01, d
    assert d["min_ess_bulk"] >= 400, d


def test_linear_space_fit_recovers_negative_metric():
    # A metric that crosses zero (e.g. a reward) needs the linear noise space.
    x = np.geomspace(1.0, 1e3, 16)
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(x, a=-2.0, b=3.0, c0=0.5))
    y = mu + 0.01 * np.random.default_rng(3).standard_normal(len(x))
    fit = bb.fit(x, y, breaks=0, seed=3, **FAST)
    assert fit.space == "linear"
    p = fit.parameters()
    assert p.loc["a", "lo"] <= -2.0 <= p.loc["a", "hi"]
    assert p.loc["c0", "lo"] <= 0.5 <= p.loc["c0", "hi"]


def test_saturated_trees_add_the_weak_break_advice(addition_fit, monkeypatch):
    """Trees at the maximal depth in more than 10% of iterations: the r_hat warning (else the
    ESS one) says the data pin a break weakly and names breaks='auto'; not below 10%, not
    when r_hat and ESS are fine."""
    depth = addition_fit.data["sample_stats"]["tree_depth"]
    assert addition_fit.tree_depth_saturation() == pytest.approx(
        float(np.mean(depth.values >= 10)))

    def with_share(share):
        values = np.full(depth.shape, 3, dtype=depth.dtype)
        values.reshape(-1)[: int(round(share * values.size))] = 10
        data = addition_fit.data.copy(deep=True)
        data["sample_stats"]["tree_depth"] = depth.copy(data=values)
        fit = dataclasses.replace(addition_fit, data=data)
        assert fit.tree_depth_saturation() == pytest.approx(share)
        return fit

    good = {"max_r_hat": 1.002, "min_ess_bulk": 900.0, "divergences": 0}
    for share, diag, advised in [
        (0.3, {"max_r_hat": 1.2, "min_ess_bulk": 30.0, "divergences": 0}, [True, False]),
        (0.3, {"max_r_hat": 1.005, "min_ess_bulk": 30.0, "divergences": 0}, [True]),
        (0.05, {"max_r_hat": 1.2, "min_ess_bulk": 30.0, "divergences": 0}, [False, False]),
        (0.3, good, []),
    ]:
        fit = with_share(share)
        monkeypatch.setattr(fit, "diagnostics", lambda diag=diag: diag)
        if advised:
            with pytest.warns(bb.SamplingWarning):
                messages = fit.check()
        else:
            messages = fit.check()
        assert ["breaks='auto'" in m and "30%" in m and "breaks=0" in m
                for m in messages] == advised, (share, diag, messages)


def test_load_rejects_foreign_files(tmp_path):
    bad = tmp_path / "x.nc"
    bad.write_bytes(b"not netcdf")
    with pytest.raises(ValueError, match="not a readable NetCDF"):
        bb.load(bad)
    with pytest.raises(FileNotFoundError):
        bb.load(tmp_path / "missing.nc")


def test_sampling_problems_warn_with_the_fix(addition_fit, monkeypatch):
    bad = {"max_r_hat": 1.05, "min_ess_bulk": 120.0, "divergences": 7}
    monkeypatch.setattr(addition_fit, "diagnostics", lambda: bad)
    with pytest.warns(bb.SamplingWarning) as record:
        messages = addition_fit.check()
    assert len(messages) == 3 and len(record) == 3
    assert "7 divergent" in messages[0] and "target_accept" in messages[0]
    # the advice doubles the fit's own run (a fit that ran longer is not told to run shorter)
    ran = json.loads(addition_fit.data.attrs["sampler"])
    assert "1.050" in messages[1]
    assert f"warmup={2 * ran['warmup']}, samples={2 * ran['samples']}" in messages[1]
    assert f"--warmup {2 * ran['warmup']} --samples {2 * ran['samples']}" in messages[1]
    assert "120" in messages[2] and f"samples={2 * ran['samples']})" in messages[2]
    monkeypatch.setattr(addition_fit, "diagnostics",
                        lambda: {"max_r_hat": 1.002, "min_ess_bulk": 900.0, "divergences": 0})
    assert addition_fit.check() == []


def test_predict_and_plot_leave_the_fit_as_it_was(addition_fit, tmp_path):
    """Reading a result must not change what gets saved (a plot once grew a file 20-fold)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = set(addition_fit.data.children) - {"predictions", "predictions_constant_data"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        before = addition_fit.save(tmp_path / "before.nc").stat().st_size
    addition_fit.predict(np.geomspace(10.0, 1e5, 400), seeds=3)
    plt.close(addition_fit.plot())
    assert set(addition_fit.data.children) - {"predictions", "predictions_constant_data"} \
        == groups
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        after = addition_fit.save(tmp_path / "after.nc").stat().st_size
    assert after == before


# ---------------------------------------------------------------- exact predictive bands
#: A drift like the one calibrate_drift measures on 4-digit addition (a law that strays past
#: the data), built directly so these tests need no leave-future-out refit.
ADDITION_DRIFT = bb.Drift(delta_hat=-0.5, v=1e-4, x_cut=480.0, scored=7, space="log")


def _log_y_density(fit: bb.Fit, x: float, log_y: np.ndarray, **kw) -> np.ndarray:
    """Density of log y (the density of y times y) at one x over a grid of log y."""
    y = np.exp(log_y)
    return np.exp(fit.log_predictive_density(np.full(len(y), x), y, **kw)) * y


@pytest.mark.parametrize("drift", [None, ADDITION_DRIFT])
def test_predictive_band_holds_the_mean_band(addition_fit, drift):
    """Seen before the bands were exact: at x = 864 pred_lo 0.61139 > mean_lo 0.61098."""
    xs = np.sort(np.append(np.geomspace(10.0, 1e5, 300), [864.0, 928.0]))
    for seeds in (1, 10):
        t = addition_fit.predict(xs, seeds=seeds, drift=drift)
        assert (t["pred_lo"] <= t["mean_lo"]).all(), t[t["pred_lo"] > t["mean_lo"]]
        assert (t["mean_hi"] <= t["pred_hi"]).all(), t[t["mean_hi"] > t["pred_hi"]]


@pytest.mark.parametrize("drift", [None, ADDITION_DRIFT])
def test_one_x_has_one_answer(addition_fit, drift):
    """The band at an x does not depend on the other x of the call (it did, through the one
    noise draw per posterior draw and x)."""
    alone = addition_fit.predict([864.0], drift=drift)
    xs = np.concatenate([np.geomspace(100.0, 5000.0, 37), [864.0], [20.0, 3.0]])
    among = addition_fit.predict(xs, drift=drift)
    row = among[among["x"] == 864.0]
    for col in ("median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"):
        np.testing.assert_allclose(row[col].to_numpy(), alone[col].to_numpy(), rtol=1e-12,
                                   err_msg=col)


@pytest.mark.parametrize("drift", [None, ADDITION_DRIFT])
def test_cli_held_out_table_agrees_with_predict(addition_fit, drift):
    from bnsl_bayes.cli.common import _default_predict_x, _held_out_table

    curve = addition_fit.curve
    held = _held_out_table(addition_fit, 0.9, drift)
    preds = addition_fit.predict(_default_predict_x(curve), prob=0.9, drift=drift)
    assert len(held) == int(curve.held_out.sum())
    for _, row in held.iterrows():
        one = addition_fit.predict([row["x"]], seeds=int(row["seeds"]), prob=0.9, drift=drift)
        same = preds[preds["x"] == row["x"]]
        assert len(same) == 1  # the default prediction points include every held-out x
        for col in ("median", "pred_lo", "pred_hi"):
            np.testing.assert_allclose(row[col], one[col].iloc[0], rtol=1e-12, err_msg=col)
            # the held-out points of this curve are single runs, as the prediction table's
            np.testing.assert_allclose(row[col], same[col].iloc[0], rtol=1e-12, err_msg=col)


@pytest.mark.parametrize("drift", [None, ADDITION_DRIFT])
def test_log_predictive_density_matches_the_draws(addition_fit, drift):
    from bnsl_bayes.bands import curve_draws
    from bnsl_bayes.drift import apply_drift

    curve = addition_fit.curve
    x = np.append(curve.x[curve.held_out], [300.0, 2000.0])
    y = np.append(curve.y[curve.held_out], [2.1, 0.4])
    got = addition_fit.log_predictive_density(x, y, seeds=[1, 1, 1, 2, 3], drift=drift)
    d = addition_fit.draws()
    mu = curve_draws(d, x)
    # the slope error past the data of the bundled model: s * sigma * sqrt(mean(1 / seeds of
    # the fit points)) per fit-range width of log x past the last fit point
    fit_x, fit_seeds = curve.x[curve.fit_mask], curve.seeds[curve.fit_mask]
    past = np.maximum(np.log(x / fit_x.max()) / np.log(fit_x.max() / fit_x.min()), 0.0)
    scale = d["extrapolation_slope"] * d["sigma"] * np.sqrt(np.mean(1.0 / fit_seeds))
    mu = mu * np.exp(scale[:, None] * past[None, :])
    if drift is not None:
        mu = apply_drift(mu, x, float(fit_x.max()), drift, "log", addition_fit.seed)
    sd = d["sigma"][:, None] / np.sqrt([1, 1, 1, 2, 3])[None, :]
    z = (np.log(y)[None, :] - np.log(mu)) / sd
    dens = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sd * y[None, :])
    np.testing.assert_allclose(got, np.log(dens.mean(axis=0)), rtol=1e-10)
    # the held-out points lie inside their bands, where the density is far above its tails
    assert np.all(np.isfinite(got)) and np.all(got[:3] > 0)


@pytest.mark.parametrize("x", [300.0, 928.0])
def test_log_predictive_density_is_the_density_of_the_bands(addition_fit, x):
    """It integrates to 1 over y, and to the band's tail levels below pred_lo and pred_hi."""
    from scipy import integrate

    t = addition_fit.predict([x], prob=0.9)
    wide = addition_fit.predict([x], prob=1 - 1e-9)
    grid = np.linspace(np.log(wide["pred_lo"].iloc[0]), np.log(wide["pred_hi"].iloc[0]), 40_001)
    # in chunks: a chunk costs (draws x points) floats
    dens = np.concatenate([_log_y_density(addition_fit, x, part)
                           for part in np.array_split(grid, 20)])
    assert abs(integrate.trapezoid(dens, grid) - 1.0) < 1e-5
    if x == 300.0:
        # there the noise is not negligible next to the spread of the mean, so the predictive
        # band is the mixture's own (at 928 it may be the mean's band)
        cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
        at = np.interp(np.log([t["pred_lo"].iloc[0], t["pred_hi"].iloc[0]]), grid, cdf)
        np.testing.assert_allclose(at, [0.05, 0.95], atol=1e-4)


def test_log_predictive_density_rejects_bad_input(addition_fit):
    f = addition_fit
    with pytest.raises(bb.DataError, match=r"y has shape \(2,\), x has shape \(3,\)"):
        f.log_predictive_density([800, 900, 1000], [0.5, 0.4])
    with pytest.raises(bb.DataError, match=r"y\[1\] = nan: observed values must be finite"):
        f.log_predictive_density([800, 900], [0.5, np.nan])
    with pytest.raises(bb.DataError, match=r"y\[0\] = -0.1: .*log space, where y must be > 0"):
        f.log_predictive_density([800, 900], [-0.1, 0.4])
    with pytest.raises(bb.DataError, match=r"y = 'a': expected numbers"):
        f.log_predictive_density([800], "a")
    with pytest.raises(bb.DataError, match=r"x\[0\] = 0.0: prediction points must be finite"):
        f.log_predictive_density([0.0], [0.5])
    with pytest.raises(bb.DataError, match=r"seeds = 0.5: expected a whole number of runs"):
        f.log_predictive_density([800], [0.5], seeds=0.5)
    # a scalar x and y are one point
    assert f.log_predictive_density(900.0, 0.5).shape == (1,)
