"""Extrapolation benchmark: Bayesian BNSL fits against the classic point fits, on held-out points.

Curves: the 92 curves of the bundled ``revisiting`` collection (fit on ``Training = 1``, scored on
the held-out ``Training = 0`` points, always the largest x) and ``four_digit_addition`` (14 fit
points, 3 held out). Methods, each fitted on the fit points only:

- ``bayes``: :func:`bnsl_bayes.fit_many` with 1 break, seed 0, one compiled sampler for all
  curves (default budget 4 chains x (1000 + 1000)); the median of the mean curve is the point
  prediction, the predictive bands of a new run (seeds = 1) are scored.
- ``bayes_auto`` (``--auto``): 0 to 3 breaks per curve (``fit_many`` once per number of breaks,
  on the curves with enough fit points), the form with the highest PSIS-LOO elpd on the fit points
  kept (:func:`bnsl_bayes.loo.loo_table`).
- ``bnsl_point``: the paper's classic point fit (``validation/point_fit.py``: brute grid +
  ``curve_fit`` on log(1 + y), 1 break; grid on ``x / min(x)`` by default, ``--grid paper`` for
  the reference grid in the units of x).
- ``M1`` ... ``M4``: the baselines of Alabdulmohsin et al. (2022), same objective.
- ``bayes_drift`` (``--drift``): the ``bayes`` fits with the leave-future-out drift past the
  data (:mod:`bnsl_bayes.drift`: one more fit per curve, on its fit points up to 75% of their
  log-x range, at the fits' budget or ``--drift-budget WARMUP,SAMPLES``); same median, wider
  bands where the law strayed within the data.
- ``bayes_drift_gls`` (``--drift-gls``, with ``--drift``): the same refits, the slope error
  estimated by generalized least squares (the full inverse covariance as weights,
  ``slope_discrepancy(..., shrink=0)``; the package's estimate before ``9d30046``) instead of
  the package's default, so the two estimates are scored on the same draws.

Per curve: RMSLE of the point prediction on the held-out points (``sqrt(mean((log yhat -
log y)^2))``, the paper's metric), coverage of the central 50% and 90% predictive bands, the mean
log predictive density (mlpd, per held-out point, density of y), the rank of each method by RMSLE
(1 = lowest) and wall time. Point fits have no noise model: their bands and densities are a
plug-in Normal in log y with the RMS of their own log residuals on the fit points (labelled
"plug-in"; a yardstick, not part of the methods).

Totals: share of curves where each method has the lowest RMSLE, median RMSLE per method, and
coverage counted two ways: **per point** (all held-out points pooled: a vision curve with 494
held-out points weighs 494 times a curve with one, and its points are strongly correlated: they
lie on one extrapolated curve) and **per curve** (the mean over curves of each curve's covered
fraction: every curve weighs the same). A third count scores like with like: the held-out
points averaged over **windows** of log x as wide as the fit points' last log spacing
(:func:`bnsl_bayes.scoring.held_out_windows`; the fit grid, not the held-out values, sets the
width), each window's mean against the 90% band of one new point (seeds 1) at the window's
centre. The per-curve column ``noise ratio held/fit`` (:func:`bnsl_bayes.scoring.noise_ratio`)
is the variance of the held-out points' scatter over that of the fit points, from second
differences of log y: a diagnostic of the data, used by no fit.

Run from the repository root::

    python -m validation extrapolation --json --markdown benchmarks/extrapolation.md
    python -m validation extrapolation --limit 2 --chains 2 --warmup 100 --samples 100 --json
    python -m validation extrapolation --drift --json --markdown benchmarks/extrapolation_drift.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import bnsl_bayes as bb
from bnsl_bayes.bands import curve_draws, predictive_draws
from bnsl_bayes.calibrate import lfo_refits
from bnsl_bayes.drift import SHRINK, Drift, apply_drift, scored_errors
from bnsl_bayes.loo import loo_table
from bnsl_bayes.scoring import held_out_windows, noise_ratio, rmsle, window_means
from validation.point_fit import (
    BASELINES,
    point_fit_baseline,
    point_fit_bnsl,
    predict,
    predict_baseline,
)

__all__ = ["held_out_mlpd", "held_out_predictive", "load_curves", "main", "run", "score_bayes",
           "score_point"]

DOMAINS = ("IC", "LM", "BB", "NMT")
POINT_METHODS = ("bnsl_point", *BASELINES)
_Z = {0.5: 0.6744897501960817, 0.9: 1.6448536269514722}


# -------------------------------------------------------------------------------- data
def load_curves(domain: str | None = None, limit: int | None = None) -> dict[str, bb.Curve]:
    """The benchmark curves: Revisiting (optionally one domain) and 4-digit addition.

    Parameters
    ----------
    domain : {"IC", "LM", "BB", "NMT"}, optional
        Keep only the Revisiting curves of this domain (4-digit addition is then left out).
    limit : int, optional
        Keep the first ``limit`` curves (Revisiting file order, 4-digit addition last).

    Returns
    -------
    dict of str to Curve
    """
    coll = bb.datasets.load("revisiting")
    if domain is not None:
        coll = coll.select(domain=domain)
    curves = dict(coll.items())
    if domain is None:
        curves["four_digit_addition"] = bb.datasets.load("four_digit_addition")
    if limit is not None:
        curves = dict(list(curves.items())[:limit])
    return curves


# -------------------------------------------------------------------------------- scoring
def _log_normal_density(y: np.ndarray, log_mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log density of y when log y ~ Normal(log_mu, sd) (includes the 1/y Jacobian)."""
    z = (np.log(y) - log_mu) / sd
    return -0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi) - np.log(y)


def _logmeanexp(a: np.ndarray, axis: int = 0) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.mean(np.exp(a - m), axis=axis))


def held_out_predictive(fit: bb.Fit, drift: Drift | None = None
                        ) -> tuple[np.ndarray, np.ndarray, Any, np.random.Generator]:
    """Mean-curve and new-point draws at a fit's held-out x, as :func:`score_bayes` scores them.

    Returns ``mu`` and ``y_new``, shape ``(S, k)`` (a new point with the held-out point's seeds
    per draw), ``law(xs)`` (the mean curve at any x, with the drift past the last fit point)
    and the generator that drew ``y_new``, to draw more from the same stream.
    """
    c = fit.curve
    d = fit.draws()
    x_last = float(c.x[c.fit_mask].max())

    def law(xs: np.ndarray) -> np.ndarray:               # (S, k) mean curve
        mu = curve_draws(d, xs)
        return mu if drift is None else apply_drift(mu, xs, x_last, drift, fit.space, fit.seed)

    mu = law(c.x[c.held_out])
    rng = np.random.default_rng([fit.seed, 7])
    return mu, predictive_draws(mu, d["sigma"], fit.space, c.seeds[c.held_out], rng), law, rng


def held_out_mlpd(fit: bb.Fit, mu: np.ndarray) -> float:
    """Mean log predictive density (of y) of a fit's held-out points, given the mean-curve
    draws ``mu`` there (:func:`held_out_predictive`)."""
    c = fit.curve
    y, n = c.y[c.held_out], c.seeds[c.held_out]
    sd = fit.draws()["sigma"][:, None] / np.sqrt(n)[None, :]
    if fit.space == "log":
        with np.errstate(all="ignore"):
            lp = _log_normal_density(y[None, :], np.log(mu), sd)
    else:
        lp = -0.5 * ((y[None, :] - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)
    return float(np.mean(_logmeanexp(lp, axis=0)))


def score_bayes(fit: bb.Fit, drift: Drift | None = None) -> dict[str, Any]:
    """Held-out scores of a Bayesian fit: RMSLE of the median, coverage, mlpd and diagnostics.

    With ``drift`` (measured on the fit points only, :mod:`bnsl_bayes.drift`), the mean-curve
    draws past the last fit point carry the leave-future-out slope error, as ``Fit.predict``
    does with ``drift=``.
    """
    c = fit.curve
    x, y = c.x[c.held_out], c.y[c.held_out]
    d = fit.draws()
    x_last = float(c.x[c.fit_mask].max())
    mu, y_new, law, rng = held_out_predictive(fit, drift)
    median = np.median(mu, axis=0)
    out: dict[str, Any] = {"rmsle": rmsle(median, y)}
    for p in (0.5, 0.9):
        lo, hi = np.quantile(y_new, [(1 - p) / 2, (1 + p) / 2], axis=0)
        out[f"covered{int(p * 100)}"] = int(np.sum((lo <= y) & (y <= hi)))
    out["below90"] = int(np.sum(y < lo))  # misses under the band (lo: the 90% band's)
    # the held-out points averaged over windows of the fit grid, against the band of one new
    # point like a fit point (seeds 1)
    xc, yc = window_means(x, y, held_out_windows(c), fit.space)
    yc_new = predictive_draws(law(xc), d["sigma"], fit.space, np.ones(xc.size), rng)
    lo, hi = np.quantile(yc_new, [0.05, 0.95], axis=0)
    out.update(windows=int(xc.size), windows_covered90=int(np.sum((lo <= yc) & (yc <= hi))))
    out["mlpd"] = held_out_mlpd(fit, mu)
    diag = fit.diagnostics()
    ac = fit.residual_autocorrelation()
    out.update(
        # Fit.check's misfit test (fit points only): residuals correlated along x
        resid_lag1=ac["lag1"],
        misfit=ac["misfit"],
        max_r_hat=float(diag["max_r_hat"]),
        divergences=int(diag["divergences"]),
        sigma=float(np.median(d["sigma"])),
        # where the last break lies relative to the last fit point (> 1: past the data)
        last_break_over_x_last=(float(np.median(d["d"][:, -1])) / x_last
                                if d["d"].shape[1] else None),
        # relative width of the 90% predictive band at the farthest held-out point
        width90_far=float(np.log(np.quantile(y_new[:, -1], 0.95))
                          - np.log(np.quantile(y_new[:, -1], 0.05)))
        if fit.space == "log" else None,
    )
    return out


def score_point(y_fit_hat: np.ndarray, y_fit: np.ndarray, y_hat: np.ndarray,
                y: np.ndarray, yc_hat: np.ndarray, yc: np.ndarray) -> dict[str, Any]:
    """Held-out scores of a point fit, with plug-in Normal bands in log y (see module doc).

    ``yc_hat`` and ``yc`` are the prediction and the mean of the held-out windows
    (:func:`held_out_windows`).
    """
    with np.errstate(all="ignore"):
        res = np.log(y_fit_hat) - np.log(y_fit)
        s = float(np.sqrt(np.mean(res**2)))
        ok = bool(np.all(np.isfinite(np.log(y_hat)))) and math.isfinite(s) and s > 0
        out: dict[str, Any] = {"rmsle": rmsle(y_hat, y)}
        if not ok:
            out.update(covered50=0, covered90=0, mlpd=None, windows=int(yc.size),
                       windows_covered90=0)
            return out
        for p in (0.5, 0.9):
            out[f"covered{int(p * 100)}"] = int(np.sum(np.abs(np.log(y) - np.log(y_hat))
                                                       <= _Z[p] * s))
        out["mlpd"] = float(np.mean(_log_normal_density(y, np.log(y_hat), np.full_like(y, s))))
        out["windows"] = int(yc.size)
        out["windows_covered90"] = int(np.sum(np.abs(np.log(yc) - np.log(yc_hat))
                                              <= _Z[0.9] * s))
    return out


def _point_fits(curve: bb.Curve, grid: str) -> dict[str, dict[str, Any]]:
    m, h = curve.fit_mask, curve.held_out
    xf, yf, xh, yh = curve.x[m], curve.y[m], curve.x[h], curve.y[h]
    xc, yc = window_means(xh, yh, held_out_windows(curve), "log")
    out = {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = point_fit_bnsl(xf, yf, 1, grid=grid)
    rec = score_point(predict(r, xf), yf, predict(r, xh), yh, predict(r, xc), yc)
    rec["time_s"] = time.perf_counter() - t0
    out["bnsl_point"] = rec
    for name in BASELINES:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = point_fit_baseline(name, xf, yf)
        rec = score_point(predict_baseline(name, r, xf), yf, predict_baseline(name, r, xh), yh,
                          predict_baseline(name, r, xc), yc)
        rec["time_s"] = time.perf_counter() - t0
        out[name] = rec
    return out


def _auto_fits(curves: dict[str, bb.Curve], opts: dict[str, Any],
               one_break: list[bb.Fit]) -> tuple[dict, dict]:
    """Fits of 0-3 breaks (one ``fit_many`` per form) and the PSIS-LOO choice per curve.

    ``one_break`` are the 1-break fits of the same curves with the same options (the same
    draws ``fit_many`` would give again), reused.
    """
    by_form: dict[str, dict[str, bb.Fit]] = {k: {} for k in curves}
    for b in (0, 1, 2, 3):
        names = [k for k, c in curves.items() if int(c.fit_mask.sum()) >= 3 + 3 * b]
        if not names:
            continue
        if b == 1:
            fits = [one_break[list(curves).index(k)] for k in names]
        else:
            fits = bb.fit_many([curves[k] for k in names], breaks=b, **opts)
        for k, f in zip(names, fits, strict=True):
            by_form[k][f"bnsl-{b}"] = f
    chosen, info = {}, {}
    for k, fits in by_form.items():
        table, _, _ = loo_table(fits)
        chosen[k] = fits[str(table.index[0])]
        info[k] = {"auto_model": str(table.index[0]), "auto_n_bad_k": int(table["n_bad_k"].iloc[0])}
    return chosen, info


# -------------------------------------------------------------------------------- run
def run(
    curves: dict[str, bb.Curve],
    *,
    chains: int = 4,
    warmup: int = 1000,
    samples: int = 1000,
    auto: bool = False,
    drift: bool = False,
    drift_budget: tuple[int, int] | None = None,
    drift_gls: bool = False,
    grid: str = "scaled",
    log=None,
) -> dict[str, Any]:
    """Fit and score every method on every curve; return the JSON-ready results.

    Parameters
    ----------
    curves : dict of str to Curve
        The curves, with their held-out points.
    chains, warmup, samples : int
        Budget of the Bayesian fits.
    auto : bool
        Also run ``bayes_auto`` (0-3 breaks chosen by PSIS-LOO).
    drift : bool
        Also score ``bayes_drift``: the same 1-break fits with the leave-future-out drift past
        the data (:mod:`bnsl_bayes.drift`; one more fit per curve, on its fit points up to 75%
        of their log-x range).
    drift_budget : (int, int), optional
        Warmup and kept draws per chain of those refits (default: the fits' own).
    drift_gls : bool
        With ``drift``, also score ``bayes_drift_gls``: the drift of the same refits estimated
        by generalized least squares.
    grid : {"scaled", "paper"}
        Grid of the classic point fit.
    log : callable, optional
        ``log(message)`` for progress lines.

    Returns
    -------
    dict
    """
    say = log or (lambda _msg: None)
    t_all = time.perf_counter()
    opts = {"seed": 0, "sampler": bb.SamplerConfig(chains=chains, warmup=warmup, samples=samples),
            "check": False}
    t0 = time.perf_counter()
    fits = bb.fit_many(list(curves.values()), breaks=1, **opts)
    time_bayes = time.perf_counter() - t0
    say(f"bayes: {len(fits)} curves in {time_bayes:.1f} s")
    auto_fits, auto_info, time_auto = {}, {}, 0.0
    if auto:
        t0 = time.perf_counter()
        auto_fits, auto_info = _auto_fits(curves, opts, fits)
        time_auto = time.perf_counter() - t0
        say(f"bayes_auto: {len(curves)} curves in {time_auto:.1f} s")
    if drift_gls and not drift:
        raise ValueError("drift_gls=True scores the drift's refits another way: pass drift=True")
    drifts: dict[str, Drift] = {}
    drifts_gls: dict[str, Drift] = {}
    time_drift = 0.0
    if drift:
        t0 = time.perf_counter()
        warm, keep = drift_budget if drift_budget is not None else (None, None)
        refits = lfo_refits(fits, warmup=warm, samples=keep)
        # the package's shrinkage (what calibrate_drifts returns) and, with drift_gls, none
        estimates = [(SHRINK, drifts), *([(0.0, drifts_gls)] if drift_gls else [])]
        for name, f, refit in zip(curves, fits, refits, strict=True):
            x_cut = float(refit.curve.x[refit.curve.fit_mask].max())
            errors = scored_errors(refit.draws(), f.spec.form, f.space, f.curve, x_cut)
            for shrink, out in estimates:
                out[name] = Drift.from_errors(*errors, x_cut=x_cut, space=f.space, shrink=shrink)
        time_drift = time.perf_counter() - t0
        say(f"bayes_drift: {len(curves)} leave-future-out refits in {time_drift:.1f} s")
    methods = ["bayes", *(["bayes_auto"] if auto else []), *(["bayes_drift"] if drift else []),
               *(["bayes_drift_gls"] if drift_gls else []), *POINT_METHODS]
    ranked = [k for k in methods if not k.startswith("bayes_drift")]  # same median as bayes
    records = []
    t_point = 0.0
    for i, (name, curve) in enumerate(curves.items()):
        rec: dict[str, Any] = {
            "curve": name, "domain": name.split("/")[0] if "/" in name else "BNSL",
            "n_fit": int(curve.fit_mask.sum()), "n_held_out": int(curve.held_out.sum()),
            "x_held_max_over_x_fit_max": float(curve.x[curve.held_out].max()
                                               / curve.x[curve.fit_mask].max()),
            "noise_ratio_held_fit": noise_ratio(curve),
        }
        m: dict[str, dict[str, Any]] = {}
        t0 = time.perf_counter()
        m["bayes"] = score_bayes(fits[i])
        m["bayes"]["time_s"] = time_bayes / len(curves) + (time.perf_counter() - t0)
        if auto:
            m["bayes_auto"] = score_bayes(auto_fits[name])
            m["bayes_auto"]["time_s"] = time_auto / len(curves)
            rec.update(auto_info[name])
        if drift:
            dr = drifts[name]
            t0 = time.perf_counter()
            m["bayes_drift"] = score_bayes(fits[i], dr)
            m["bayes_drift"]["time_s"] = m["bayes"]["time_s"] + time_drift / len(curves) + (
                time.perf_counter() - t0)
            rec.update(drift_z=dr.z, drift_scale=dr.scale, drift_scored=dr.scored)
        if drift_gls:
            dg = drifts_gls[name]
            m["bayes_drift_gls"] = score_bayes(fits[i], dg)
            m["bayes_drift_gls"]["time_s"] = m["bayes_drift"]["time_s"]
            rec.update(drift_gls_z=dg.z, drift_gls_scale=dg.scale)
        t0 = time.perf_counter()
        m.update(_point_fits(curve, grid))
        t_point += time.perf_counter() - t0
        r = [m[k]["rmsle"] for k in ranked]
        key = [v if v is not None and math.isfinite(v) else math.inf for v in r]
        order = np.argsort(key, kind="stable")
        ranks = np.empty(len(ranked), dtype=int)
        ranks[order] = np.arange(1, len(ranked) + 1)
        for k, rank in zip(ranked, ranks, strict=True):
            m[k]["rank"] = int(rank)
        for k in ("bayes_drift", "bayes_drift_gls"):
            if k in m:
                m[k]["rank"] = m["bayes"]["rank"]
        rec["methods"] = m
        records.append(rec)
        if (i + 1) % 10 == 0 or i + 1 == len(curves):
            say(f"scored {i + 1}/{len(curves)} curves")
    return _totals(records, methods, time.perf_counter() - t_all, time_bayes, time_auto,
                   t_point, {"chains": chains, "warmup": warmup, "samples": samples,
                             "seed": 0, "breaks": 1, "grid": grid, "auto": auto,
                             "drift": drift, "drift_gls": drift_gls,
                             "drift_budget": list(drift_budget) if drift_budget else None},
                   time_drift)


def _finite(v: Any) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


def _totals(records, methods, time_s, time_bayes, time_auto, time_point, settings,
            time_drift=0.0):
    n = len(records)
    n_pts = sum(r["n_held_out"] for r in records)
    out: dict[str, Any] = {"n_curves": n, "n_held_out_points": n_pts, "settings": settings}
    per_method: dict[str, Any] = {}
    for k in methods:
        rm = np.array([r["methods"][k]["rmsle"] if _finite(r["methods"][k]["rmsle"]) is not None
                       else np.inf for r in records])
        c50 = np.array([r["methods"][k]["covered50"] for r in records])
        c90 = np.array([r["methods"][k]["covered90"] for r in records])
        nh = np.array([r["n_held_out"] for r in records])
        cw = np.array([r["methods"][k]["windows_covered90"] for r in records])
        nw = np.array([r["methods"][k]["windows"] for r in records])
        mlpd = [r["methods"][k]["mlpd"] for r in records if _finite(r["methods"][k]["mlpd"])]
        per_method[k] = {
            "median_rmsle": _finite(np.median(rm)),
            "share_lowest_rmsle": float(np.mean([r["methods"][k]["rank"] == 1
                                                 for r in records])),
            "mean_rank": float(np.mean([r["methods"][k]["rank"] for r in records])),
            "n_failed": int(np.sum(~np.isfinite(rm))),
            "coverage50": float(c50.sum() / n_pts), "coverage90": float(c90.sum() / n_pts),
            "coverage50_per_curve": float(np.mean(c50 / nh)),
            "coverage90_per_curve": float(np.mean(c90 / nh)),
            "coverage90_windows": float(cw.sum() / nw.sum()),
            "coverage90_windows_per_curve": float(np.mean(cw / nw)),
            "median_mlpd": _finite(np.median(mlpd)) if mlpd else None,
            # log-y width of the 90% predictive band at each curve's farthest held-out point
            "median_width90_far": _finite(np.median(
                [r["methods"][k].get("width90_far") for r in records
                 if _finite(r["methods"][k].get("width90_far")) is not None] or [np.nan])),
            "time_s": float(sum(r["methods"][k]["time_s"] for r in records)),
        }
    out["methods"] = per_method
    # coverage of the Bayesian fits per domain, and the side of the band the misses fall on
    for k in [m for m in methods if m.startswith("bayes")]:
        per_method[k]["by_domain"] = {}
        for dom in sorted({r["domain"] for r in records}):
            sel = [r for r in records if r["domain"] == dom]
            c90 = np.array([r["methods"][k]["covered90"] for r in sel], dtype=float)
            nh = np.array([r["n_held_out"] for r in sel], dtype=float)
            below = sum(r["methods"][k]["below90"] for r in sel)
            cw = np.array([r["methods"][k]["windows_covered90"] for r in sel], dtype=float)
            nw = np.array([r["methods"][k]["windows"] for r in sel], dtype=float)
            per_method[k]["by_domain"][dom] = {
                "curves": len(sel), "coverage90": float(c90.sum() / nh.sum()),
                "coverage90_per_curve": float(np.mean(c90 / nh)),
                "coverage90_windows_per_curve": float(np.mean(cw / nw)),
                "misses_below_band": (float(below / (nh.sum() - c90.sum()))
                                      if nh.sum() > c90.sum() else None),
            }
    # coverage of the Bayesian fits split by Fit.check's misfit test (fit points only)
    for k in [m for m in methods if m.startswith("bayes")]:
        for flag in (True, False):
            sel = [r for r in records if r["methods"][k]["misfit"] is flag]
            c90 = np.array([r["methods"][k]["covered90"] for r in sel], dtype=float)
            nh = np.array([r["n_held_out"] for r in sel], dtype=float)
            per_method[k]["misfit" if flag else "no_misfit"] = {
                "curves": len(sel),
                "coverage90": float(c90.sum() / nh.sum()) if sel else None,
                "coverage90_per_curve": float(np.mean(c90 / nh)) if sel else None,
            }
    b = per_method["bayes"]
    bayes_r = np.array([_finite(r["methods"]["bayes"]["rmsle"]) or np.inf for r in records])
    point_r = np.array([_finite(r["methods"]["bnsl_point"]["rmsle"]) or np.inf for r in records])
    out.update(
        coverage50=b["coverage50"], coverage90=b["coverage90"],
        coverage50_per_curve=b["coverage50_per_curve"],
        coverage90_per_curve=b["coverage90_per_curve"],
        coverage90_windows=b["coverage90_windows"],
        coverage90_windows_per_curve=b["coverage90_windows_per_curve"],
        n_held_out_windows=int(sum(r["methods"]["bayes"]["windows"] for r in records)),
        share_bayes_rmsle_le_point_fit=float(np.mean(bayes_r <= point_r)),
        median_rmsle_bayes=b["median_rmsle"],
        median_rmsle_point_fit=per_method["bnsl_point"]["median_rmsle"],
        share_lowest_rmsle={k: per_method[k]["share_lowest_rmsle"] for k in methods},
        bayes_curves_r_hat_gt_1_01=int(sum(r["methods"]["bayes"]["max_r_hat"] > 1.01
                                           for r in records)),
        bayes_curves_with_divergences=int(sum(r["methods"]["bayes"]["divergences"] > 0
                                              for r in records)),
        time_s=float(time_s), time_bayes_s=float(time_bayes), time_auto_s=float(time_auto),
        time_drift_s=float(time_drift),
        time_point_fits_s=float(time_point),
    )
    if "bayes_auto" in methods:
        a = per_method["bayes_auto"]
        auto_r = np.array([_finite(r["methods"]["bayes_auto"]["rmsle"]) or np.inf
                           for r in records])
        out.update(coverage90_auto=a["coverage90"],
                   coverage90_per_curve_auto=a["coverage90_per_curve"],
                   median_rmsle_auto=a["median_rmsle"],
                   share_auto_rmsle_le_point_fit=float(np.mean(auto_r <= point_r)))
    if "bayes_drift" in methods:
        dm = per_method["bayes_drift"]
        z = [abs(r["drift_z"]) for r in records if _finite(r.get("drift_z")) is not None]
        out.update(coverage90_drift=dm["coverage90"],
                   coverage90_per_curve_drift=dm["coverage90_per_curve"],
                   coverage90_windows_per_curve_drift=dm["coverage90_windows_per_curve"],
                   median_abs_drift_z=_finite(np.median(z)) if z else None,
                   share_drift_widened=float(np.mean([(r.get("drift_scale") or 0) > 0
                                                      for r in records])))
    if "bayes_drift_gls" in methods:
        dm = per_method["bayes_drift_gls"]
        z = [abs(r["drift_gls_z"]) for r in records
             if _finite(r.get("drift_gls_z")) is not None]
        out.update(coverage90_drift_gls=dm["coverage90"],
                   coverage90_per_curve_drift_gls=dm["coverage90_per_curve"],
                   coverage90_windows_per_curve_drift_gls=dm["coverage90_windows_per_curve"],
                   median_abs_drift_gls_z=_finite(np.median(z)) if z else None,
                   share_drift_gls_widened=float(np.mean(
                       [(r.get("drift_gls_scale") or 0) > 0 for r in records])))
    out["curves"] = records
    return _json_safe(out)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


# -------------------------------------------------------------------------------- output
def _fmt(v: Any, spec: str = ".4f") -> str:
    return "-" if v is None else format(v, spec)


def markdown(res: dict[str, Any]) -> str:
    """The results as Markdown: totals per method, then one row per curve."""
    methods = list(res["methods"])
    s = res["settings"]
    lines = [
        f"Extrapolation benchmark: {res['n_curves']} curves, {res['n_held_out_points']} held-out "
        f"points; bayes = 1 break, {s['chains']} chains x ({s['warmup']} + {s['samples']}), "
        f"seed 0; point-fit grid '{s['grid']}'. Point-fit bands are a plug-in Normal in log y."
        + (" bayes_drift: leave-future-out refits at "
           + ("the fits' budget" if not s.get("drift_budget") else
              f"{s['chains']} chains x ({s['drift_budget'][0]} + {s['drift_budget'][1]})") + "."
           if s.get("drift") else ""),
        "",
        "| method | median RMSLE | lowest RMSLE (share of curves) | mean rank | cov50 per point "
        "| cov90 per point | cov50 per curve | cov90 per curve | cov90 windows / per curve "
        "| median mlpd | median width90 far | failed | time s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in methods:
        m = res["methods"][k]
        lines.append(
            f"| {k} | {_fmt(m['median_rmsle'])} | {m['share_lowest_rmsle']:.3f} | "
            f"{m['mean_rank']:.2f} | {m['coverage50']:.3f} | {m['coverage90']:.3f} | "
            f"{m['coverage50_per_curve']:.3f} | {m['coverage90_per_curve']:.3f} | "
            f"{m['coverage90_windows']:.3f} / {m['coverage90_windows_per_curve']:.3f} | "
            f"{_fmt(m['median_mlpd'], '.3f')} | {_fmt(m.get('median_width90_far'), '.3g')} | "
            f"{m['n_failed']} | {m['time_s']:.1f} |")
    lines += [
        "",
        f"share of curves with bayes RMSLE <= point-fit RMSLE: "
        f"{res['share_bayes_rmsle_le_point_fit']:.3f}; curves with r_hat > 1.01: "
        f"{res['bayes_curves_r_hat_gt_1_01']}, with divergences: "
        f"{res['bayes_curves_with_divergences']}; total time {res['time_s']:.1f} s "
        f"(bayes {res['time_bayes_s']:.1f} s, point fits {res['time_point_fits_s']:.1f} s"
        + (f", bayes_auto {res['time_auto_s']:.1f} s" if "bayes_auto" in methods else "")
        + (f", drift refits {res['time_drift_s']:.1f} s" if "bayes_drift" in methods else "")
        + ")",
        "",
        "Coverage of the 90% predictive band by Fit.check's misfit test (lag-1 autocorrelation "
        "of the fit residuals above its 1% level; fit points only):",
        "",
        "| method | misfit: curves | cov90 per point / per curve | no misfit: curves "
        "| cov90 per point / per curve |",
        "|---|---|---|---|---|",
    ]
    for k in [m for m in methods if m.startswith("bayes")]:
        a, b = res["methods"][k]["misfit"], res["methods"][k]["no_misfit"]
        lines.append(
            f"| {k} | {a['curves']} | {_fmt(a['coverage90'], '.3f')} / "
            f"{_fmt(a['coverage90_per_curve'], '.3f')} | {b['curves']} | "
            f"{_fmt(b['coverage90'], '.3f')} / {_fmt(b['coverage90_per_curve'], '.3f')} |")
    lines += ["", "Coverage of the 90% predictive band by domain (misses below the band: share of "
              "the missed points that lie under it):", "",
              "| method | domain | curves | cov90 per point | cov90 per curve "
              "| cov90 windows per curve | misses below the band |",
              "|---|---|---|---|---|---|---|"]
    for k in [m for m in methods if m.startswith("bayes")]:
        for dom, d in res["methods"][k]["by_domain"].items():
            lines.append(f"| {k} | {dom} | {d['curves']} | {d['coverage90']:.3f} | "
                         f"{d['coverage90_per_curve']:.3f} | "
                         f"{d['coverage90_windows_per_curve']:.3f} | "
                         f"{_fmt(d['misses_below_band'], '.2f')} |")
    auto = "bayes_auto" in methods
    dr = "bayes_drift" in methods
    lines += [
        "",
        "| curve | fit | held | RMSLE " + " | RMSLE ".join(methods)
        + " | bayes cov50 | bayes cov90 | bayes cov90 windows | bayes mlpd | bayes rank "
        "| d1/x_last | r_hat | lag1 | noise ratio held/fit |"
        + (" auto model | auto cov90 | auto lag1 |" if auto else "")
        + (" drift z | drift cov90 |" if dr else ""),
        "|---|---|---|" + "---|" * len(methods) + "---|---|---|---|---|---|---|---|---|"
        + ("---|---|---|" if auto else "") + ("---|---|" if dr else ""),
    ]
    for r in res["curves"]:
        b = r["methods"]["bayes"]
        ba = r["methods"].get("bayes_auto")
        lines.append(
            f"| {r['curve']} | {r['n_fit']} | {r['n_held_out']} | "
            + " | ".join(_fmt(r["methods"][k]["rmsle"]) for k in methods)
            + f" | {b['covered50'] / r['n_held_out']:.2f}"
            f" | {b['covered90'] / r['n_held_out']:.2f}"
            f" | {b['windows_covered90']}/{b['windows']} | {_fmt(b['mlpd'], '.2f')}"
            f" | {b['rank']} | {_fmt(b['last_break_over_x_last'], '.3g')}"
            f" | {b['max_r_hat']:.3f} | {_fmt(b['resid_lag1'], '.2f')}"
            f" | {_fmt(r['noise_ratio_held_fit'], '.2g')} |"
            + (f" {r['auto_model']} | {ba['covered90'] / r['n_held_out']:.2f}"
               f" | {_fmt(ba['resid_lag1'], '.2f')} |" if auto else "")
            + (f" {_fmt(r.get('drift_z'), '.3g')} | "
               f"{r['methods']['bayes_drift']['covered90'] / r['n_held_out']:.2f} |"
               if dr else ""))
    return "\n".join(lines) + "\n"


def _summary_text(res: dict[str, Any]) -> str:
    return markdown(res).split("\n\n| curve |")[0]


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1")
    return v


def _budget(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WARMUP,SAMPLES, e.g. 500,500")
    warm, keep = (_positive_int(p.strip()) for p in parts)
    return warm, keep


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark with the command-line arguments ``argv``; 0, or 2 on bad options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="first N curves only")
    parser.add_argument("--domain", choices=DOMAINS, help="Revisiting curves of one domain only")
    parser.add_argument("--auto", action="store_true",
                        help="also fit 0-3 breaks and keep the best by PSIS-LOO")
    parser.add_argument("--drift", action="store_true",
                        help="also score the 1-break fits with the leave-future-out drift "
                             "(one more fit per curve)")
    parser.add_argument("--drift-budget", type=_budget, metavar="WARMUP,SAMPLES",
                        help="per-chain budget of the --drift refits (default: the fits' own)")
    parser.add_argument("--drift-gls", action="store_true",
                        help="with --drift, also score the same refits' drift estimated by "
                             "generalized least squares")
    parser.add_argument("--grid", choices=("scaled", "paper"), default="scaled",
                        help="grid of the classic point fit (default: scaled)")
    parser.add_argument("--chains", type=_positive_int, default=4)
    parser.add_argument("--warmup", type=_positive_int, default=1000)
    parser.add_argument("--samples", type=_positive_int, default=1000)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write the tables here")
    args = parser.parse_args(argv)
    if args.drift_budget is not None and not args.drift:
        parser.error("--drift-budget: only with --drift")
    if args.drift_gls and not args.drift:
        parser.error("--drift-gls: only with --drift")
    if args.markdown is not None and not args.markdown.parent.is_dir():
        parser.error(f"--markdown {args.markdown}: folder does not exist")
    curves = load_curves(args.domain, args.limit)

    def log(msg: str) -> None:
        print(f"extrapolation: {msg}", file=sys.stderr, flush=True)

    log(f"{len(curves)} curves; compiling and sampling (about a minute to compile)...")
    res = run(curves, chains=args.chains, warmup=args.warmup, samples=args.samples,
              auto=args.auto, drift=args.drift, drift_budget=args.drift_budget,
              drift_gls=args.drift_gls,
              grid=args.grid, log=log)
    if args.markdown is not None:
        args.markdown.write_text(markdown(res))
        log(f"wrote {args.markdown}")
    if args.json:
        sys.stdout.write(json.dumps(res, allow_nan=False) + "\n")
    else:
        print(_summary_text(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
