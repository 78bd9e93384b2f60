"""The leave-future-out drift (bnsl_bayes.drift): exact algebra, the cut, the bands, end to end."""

from __future__ import annotations

import math
from dataclasses import replace

import jax
import numpy as np
import pytest
from budgets import FIT as FAST

import bnsl_bayes as bb
from bnsl_bayes.calibrate import lfo_refits
from bnsl_bayes.drift import SHRINK, Drift, apply_drift, lfo_curve, slope_discrepancy

X = np.geomspace(10.0, 1e4, 20)


def _curve(truth: dict, sd: float, key: int) -> bb.Curve:
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(X, **truth))
    rng = np.random.default_rng(key)
    return bb.Curve.from_arrays(X, mu * np.exp(sd * rng.standard_normal(X.size)))


# one break well inside the part the refit keeps: the law holds past the cut
EARLY = {"a": 0.3, "b": 6.0, "c0": 0.2, "c": [0.6], "d": [100.0], "f": [0.2]}
# a sharp drop in the last quarter of the fit range, which a refit up to the cut cannot see
LATE = {"a": 0.0, "b": 6.0, "c0": 0.2, "c": [1.5], "d": [3000.0], "f": [0.05]}


def test_slope_discrepancy_exact():
    dist = np.array([0.5, 1.0, 2.0])
    # errors exactly on a line of slope 2, identity covariance: least squares gives 2 and
    # 1 / sum d^2
    delta, v = slope_discrepancy(2.0 * dist, np.eye(3), dist)
    assert delta == pytest.approx(2.0, rel=1e-12)
    assert v == pytest.approx(1.0 / np.sum(dist**2), rel=1e-12)
    # a correlated covariance, weighted least squares: weights d_j / C_jj, and the variance of
    # that estimate under C
    cov = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 1.5]])
    err = np.array([0.1, -0.4, 0.9])
    w = np.array([0.5 / 1.0, 1.0 / 2.0, 2.0 / 1.5])
    delta, v = slope_discrepancy(err, cov, dist, shrink=1.0)
    assert delta == pytest.approx((w @ err) / (w @ dist), rel=1e-12)
    assert v == pytest.approx((w @ cov @ w) / (w @ dist) ** 2, rel=1e-12)
    # v is the estimate's variance under C, whatever the weights: draws of the errors from
    # N(0, C) agree
    draws = np.random.default_rng(1).multivariate_normal(np.zeros(3), cov, size=20_000)
    for shrink in (1.0, SHRINK):
        v = slope_discrepancy(err, cov, dist, shrink=shrink)[1]
        slopes = np.array([slope_discrepancy(e, cov, dist, shrink=shrink)[0] for e in draws])
        assert np.var(slopes) == pytest.approx(v, rel=0.05)


def test_slope_discrepancy_shrinkage_runs_from_gls_to_wls():
    dist = np.array([0.5, 1.0, 2.0])
    cov = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 1.5]])
    err = np.array([0.1, -0.4, 0.9])
    ci = np.linalg.inv(cov)
    # s = 0: generalized least squares, whose variance is 1 / d'C^-1 d
    delta, v = slope_discrepancy(err, cov, dist, shrink=0.0)
    assert delta == pytest.approx((dist @ ci @ err) / (dist @ ci @ dist), rel=1e-10)
    assert v == pytest.approx(1.0 / (dist @ ci @ dist), rel=1e-10)
    # s = 1 is the weighted estimate; between, weights W^-1 d with W = (1 - s) C + s diag(C),
    # and the variance under the full C
    assert slope_discrepancy(err, cov, dist, shrink=SHRINK) == slope_discrepancy(err, cov, dist)
    w = np.linalg.solve(0.7 * cov + 0.3 * np.diag(np.diag(cov)), dist)
    delta, v = slope_discrepancy(err, cov, dist, shrink=0.3)
    assert delta == pytest.approx((w @ err) / (w @ dist), rel=1e-10)
    assert v == pytest.approx((w @ cov @ w) / (w @ dist) ** 2, rel=1e-10)
    # GLS has the smallest variance of all the weightings (Gauss-Markov)
    vs = [slope_discrepancy(err, cov, dist, shrink=s)[1] for s in (0.0, 0.3, 1.0)]
    assert vs[0] < vs[1] < vs[2]
    for bad in (-0.1, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match="shrink"):
            slope_discrepancy(err, cov, dist, shrink=bad)


def test_drift_scale_is_the_excess_over_the_laws_own_uncertainty():
    d = Drift(delta_hat=0.3, v=0.04, x_cut=10.0, scored=3, space="log")
    assert d.z == pytest.approx(1.5)
    assert d.scale == pytest.approx(math.sqrt(0.09 - 0.04))
    rng = np.random.default_rng(0)
    assert np.all(np.isfinite(d.slopes(1000, rng)))
    small = replace(d, delta_hat=0.1)  # within what the law's uncertainty explains
    assert small.scale == 0.0
    assert np.array_equal(small.slopes(5, rng), np.zeros(5))


def test_lfo_curve_cut_and_errors():
    c = bb.Curve.from_arrays(X, np.linspace(2.0, 1.0, X.size),
                             held_out=np.r_[np.zeros(18, bool), True, True])
    cut = lfo_curve(c, n_params=6, cut=0.75)
    lx = np.log(X[:18])
    expect = lx <= lx[0] + 0.75 * (lx[-1] - lx[0])
    assert np.array_equal(cut.fit_mask[:18], expect)
    assert cut.held_out[18:].all()  # the curve's own held-out points stay out
    assert np.array_equal(cut.y, c.y) and np.array_equal(cut.x, c.x)  # nothing else changes
    # the cut moves right to keep as many points as the law has parameters
    few = lfo_curve(c, n_params=16, cut=0.1)
    assert few.fit_mask.sum() == 16
    with pytest.raises(bb.DataError, match="needs one more to score"):
        lfo_curve(c, n_params=18)
    for bad in (0.0, 1.0, -0.5, True, "0.5"):
        with pytest.raises(ValueError, match="cut"):
            lfo_curve(c, n_params=6, cut=bad)


def test_apply_drift_moves_only_past_the_last_fit_point():
    mu = np.tile(np.array([2.0, 1.0, 0.5, 0.25]), (400, 1))
    x = np.array([10.0, 100.0, 200.0, 1e30])
    d = Drift(delta_hat=2.0, v=0.01, x_cut=50.0, scored=4, space="log")
    out = apply_drift(mu, x, 100.0, d, "log", seed=3)
    assert np.array_equal(out[:, :2], mu[:, :2])       # at and before the last fit x
    assert np.all(np.isfinite(out)) and np.all(out > 0)  # Cauchy draws and x = 1e30: finite
    assert np.ptp(np.log(out[:, 3])) > np.ptp(np.log(out[:, 2])) > 0  # wider farther out
    assert np.array_equal(out, apply_drift(mu, x, 100.0, d, "log", seed=3))  # reproducible
    lin = apply_drift(mu, x, 100.0, replace(d, space="linear"), "linear", seed=3)
    # the same slope errors, added to y instead of log y
    assert np.allclose(lin[:, 2] - mu[:, 2], np.log(out[:, 2]) - np.log(0.5))
    none = apply_drift(mu, x, 100.0, replace(d, delta_hat=0.0), "log", seed=3)
    assert np.array_equal(none, mu)
    with pytest.raises(ValueError, match="linear noise space"):
        apply_drift(mu, x, 100.0, replace(d, space="linear"), "log", seed=0)
    with pytest.raises(ValueError, match="expected a Drift"):
        apply_drift(mu, x, 100.0, {"delta_hat": 1.0}, "log", seed=0)


@pytest.fixture(scope="module")
def early_fit() -> bb.Fit:
    return bb.fit(_curve(EARLY, 0.01, key=4), seed=0, **FAST)


@pytest.fixture(scope="module")
def late_fit() -> bb.Fit:
    return bb.fit(_curve(LATE, 0.01, key=5), seed=0, **FAST)


def test_law_that_holds_gets_a_small_z(early_fit):
    d = bb.calibrate_drift(early_fit)
    assert d.space == "log" and d.scored == 5
    assert d.x_cut == pytest.approx(X[14])
    assert abs(d.z) < 3.0, d


def test_law_that_strays_widens_the_bands_past_the_data(late_fit):
    d = bb.calibrate_drift(late_fit)
    assert d.z < -5.0 and d.scale > 0.0, d  # the drop the refit could not see
    x = np.array([100.0, 1e4, 1e5, 1e6])
    plain = late_fit.predict(x)
    wide = late_fit.predict(x, drift=d, store=True)
    inside = ["median", "mean_lo", "mean_hi"]
    assert np.allclose(plain.loc[:1, inside], wide.loc[:1, inside], rtol=0, atol=0)
    w_plain = np.log(plain["pred_hi"] / plain["pred_lo"])
    w_wide = np.log(wide["pred_hi"] / wide["pred_lo"])
    assert np.all(w_wide[2:] > 2.0 * w_plain[2:])
    assert w_wide[3] > w_wide[2]
    assert late_fit.data["predictions"]["mu"].shape[-1] == 4
    import matplotlib

    matplotlib.use("Agg")
    ax = late_fit.plot(drift=d).axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert any(lab.endswith("with drift") for lab in labels), labels
    # the y axis stays within half the span of the data and median beyond them (plot._ylim),
    # however wide the Cauchy tails
    core = np.log(np.concatenate([np.asarray(line.get_ydata(), dtype=float)
                                  for line in ax.get_lines()[:2]]))
    lo, hi = np.log(ax.get_ylim())
    span = core.max() - core.min()
    assert core.min() - 0.56 * span <= lo and hi <= core.max() + 0.56 * span


def test_batched_drifts_equal_one_by_one(early_fit, late_fit):
    """calibrate_drifts refits both curves with one compiled sampler and each fit's own seed:
    the same numbers as calibrate_drift fit by fit."""
    batched = bb.calibrate_drifts([early_fit, late_fit])
    alone = [bb.calibrate_drift(early_fit), bb.calibrate_drift(late_fit)]
    assert batched == alone
    other = bb.calibrate_drift(early_fit, seed=11)
    assert other != alone[0] and other.x_cut == alone[0].x_cut
    with pytest.raises(ValueError, match="one seed per fit"):
        bb.calibrate_drifts([early_fit, late_fit], seed=[1])
    with pytest.raises(ValueError, match=r"fits\[1\] is a Curve: expected a Fit"):
        bb.calibrate_drifts([early_fit, early_fit.curve])


def test_lfo_refits_are_the_refits_behind_the_drifts(early_fit, late_fit):
    """lfo_refits gives each fit's refit on its points up to the cut, with the fit's own seed,
    spec and space; its draws give exactly the drift calibrate_drifts returns."""
    fits = [early_fit, late_fit]
    refits = lfo_refits(fits)
    for f, refit, drift in zip(fits, refits, bb.calibrate_drifts(fits), strict=True):
        cut = lfo_curve(f.curve, f.spec.n_law_params)
        assert np.array_equal(refit.curve.fit_mask, cut.fit_mask)
        assert cut.fit_mask.sum() < f.curve.fit_mask.sum()
        assert (refit.seed, refit.spec, refit.space) == (f.seed, f.spec, f.space)
        x_cut = float(cut.x[cut.fit_mask].max())
        assert Drift.from_draws(refit.draws(), f.spec.form, f.space, f.curve, x_cut) == drift


def test_refit_budget_override(early_fit, monkeypatch):
    """The refits run the fit's own sampler settings, with warmup/samples replaced when given;
    a bad budget is refused before anything is compiled."""
    import bnsl_bayes.calibrate as calibrate

    seen = []

    class Stop(Exception):
        pass

    def fake(items, spec, config, space, seeds, **kw):
        seen.append((config, seeds, [int(c.fit_mask.sum()) for c in items]))
        raise Stop

    monkeypatch.setattr(calibrate, "fit_curves", fake)
    for kwargs in ({}, {"warmup": 200, "samples": 300}):
        with pytest.raises(Stop):
            bb.calibrate_drift(early_fit, **kwargs)
    (own, seeds, n_fit), (changed, _, _) = seen
    assert (own.chains, own.warmup, own.samples) == (4, 500, 500)
    assert (changed.warmup, changed.samples) == (200, 300)
    assert changed.target_accept == own.target_accept == 0.95 and seeds == [early_fit.seed]
    assert n_fit == [15]
    with pytest.raises(ValueError, match="samples"):
        bb.calibrate_drift(early_fit, samples=0)
    assert len(seen) == 2


def test_from_draws_weights_and_bad_weights():
    """Drift.from_draws: weights on half the draws equal the unweighted estimate on that half
    (up to the covariance's ddof); bad weights are refused with the expected count."""
    curve = _curve(EARLY, 0.01, 3)
    rng = np.random.default_rng(0)
    s = 400
    draws = {"a": np.full(s, 0.3), "log_b": np.log(6.0) + 0.02 * rng.standard_normal(s),
             "c0": 0.2 + 0.01 * rng.standard_normal(s), "c": np.full((s, 1), 0.6),
             "d": np.full((s, 1), 100.0), "f": np.full((s, 1), 0.2),
             "sigma": np.full(s, 0.01)}
    x_cut = float(X[14])
    half = {k: v[: s // 2] for k, v in draws.items()}
    w = np.r_[np.ones(s // 2), np.zeros(s // 2)]
    weighted = Drift.from_draws(draws, "bnsl", "log", curve, x_cut, weights=w)
    plain = Drift.from_draws(half, "bnsl", "log", curve, x_cut)
    assert weighted.scored == plain.scored == int(np.sum(X > x_cut))
    assert weighted.delta_hat == pytest.approx(plain.delta_hat, rel=0.02)
    assert weighted.v == pytest.approx(plain.v, rel=0.02)
    for bad in (np.ones(3), np.r_[-1.0, np.ones(s - 1)], np.zeros(s), np.full(s, np.nan)):
        with pytest.raises(ValueError, match=f"expected {s} finite values"):
            Drift.from_draws(draws, "bnsl", "log", curve, x_cut, weights=bad)
