"""How the leave-future-out drift depends on the budget of its refits, and what each costs.

:func:`bnsl_bayes.calibrate_drifts` refits each curve on its fit points up to 75% of their
log-x range; the drift needs only the mean and covariance of that refit's predictions at the
remaining fit points. This script fits the curves of the extrapolation benchmark (1 break,
default settings, seed 0), then measures the drifts with the refits at each budget given
(the first is the reference, by default the fits' own 4 x (1000 + 1000)) and reports, per
budget: the wall time of the refits (compilation included) and how far the drifts move from
the reference's: ``z`` (median and largest absolute change), the share of curves whose bands
the drift widens in both or neither (``widened_agree``), and the median absolute log ratio of
the Cauchy scales where both widen. No held-out point is read.

``--psis`` also scores the refit-free alternative of approximate leave-future-out
cross-validation (Buerkner, Gabry and Vehtari 2020): reweight the full fit's draws by
``1 / p(y_late | theta)`` with Pareto-smoothed importance sampling (ArviZ's ``psislw``) to
stand in for the refit's posterior, and report its Pareto k-hat per curve (``k_max``,
``k_le_0.7``) next to the same agreement measures.

Usage: ``python -m validation drift_budget [--budgets 1000,1000:500,500:300,300] [--psis]
[--domain D] [--limit N] [--json]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
from arviz_stats.base import array_stats

import bnsl_bayes as bb
from benchmarks.speed import emit
from bnsl_bayes.drift import lfo_curve
from validation.extrapolation import _budget, load_curves


def compare(reference: list[bb.Drift], other: list[bb.Drift]) -> dict:
    """Agreement of ``other`` drifts with ``reference`` ones (same curves, same order)."""
    dz = np.array([abs(o.z - r.z) for r, o in zip(reference, other, strict=True)
                   if math.isfinite(o.z) and math.isfinite(r.z)])
    wide_r = np.array([r.scale > 0 for r in reference])
    wide_o = np.array([o.scale > 0 for o in other])
    both = wide_r & wide_o
    log_ratio = np.array([abs(math.log(o.scale / r.scale))
                          for r, o, b in zip(reference, other, both, strict=True) if b])
    return {
        "median_abs_dz": float(np.median(dz)) if dz.size else None,
        "max_abs_dz": float(np.max(dz)) if dz.size else None,
        "widened": int(wide_o.sum()),
        "widened_agree": float(np.mean(wide_r == wide_o)),
        "median_abs_log_scale_ratio": float(np.median(log_ratio)) if log_ratio.size else None,
    }


def psis_drift(fit: bb.Fit) -> tuple[bb.Drift, float]:
    """The drift with the refit's posterior replaced by the full fit's draws reweighted by PSIS,
    and the Pareto k-hat of those weights."""
    cut = lfo_curve(fit.curve, fit.spec.n_law_params)
    x_cut = float(cut.x[cut.fit_mask].max())
    log_lik = np.asarray(fit.data["log_likelihood"]["y"].values)  # (chain, draw, fit point)
    late = fit.curve.x[fit.curve.fit_mask] > x_cut
    log_w, khat = array_stats.psislw(-log_lik[..., late].sum(-1).reshape(-1), r_eff=1.0)
    weights = np.exp(log_w - np.max(log_w))
    drift = bb.Drift.from_draws(fit.draws(), fit.spec.form, fit.space, fit.curve, x_cut, weights)
    return drift, float(khat)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="1000,1000:500,500:300,300",
                        help="refit budgets WARMUP,SAMPLES separated by ':'; the first is the "
                             "reference (default 1000,1000:500,500:300,300)")
    parser.add_argument("--psis", action="store_true",
                        help="also score the PSIS approximation of the refits")
    parser.add_argument("--domain", choices=("IC", "LM", "BB", "NMT"), default=None)
    parser.add_argument("--limit", type=int, default=None, help="first N curves only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        budgets = [_budget(b) for b in args.budgets.split(":")]
    except argparse.ArgumentTypeError as err:
        parser.error(f"--budgets: {err}")
    curves = list(load_curves(args.domain, args.limit).values())
    t0 = time.perf_counter()
    fits = bb.fit_many(curves, breaks=1, seed=0, check=False)
    result: dict = {"curves": len(curves), "fit_s": time.perf_counter() - t0, "budgets": []}
    reference: list[bb.Drift] | None = None
    for warm, keep in budgets:
        t0 = time.perf_counter()
        drifts = bb.calibrate_drifts(fits, warmup=warm, samples=keep)
        row = {"warmup": warm, "samples": keep, "refit_s": time.perf_counter() - t0}
        reference = drifts if reference is None else reference
        row.update(compare(reference, drifts))
        result["budgets"].append(row)
        print(f"refits {warm},{keep}: {row['refit_s']:.1f} s", file=sys.stderr, flush=True)
    if args.psis:
        t0 = time.perf_counter()
        pairs = [psis_drift(f) for f in fits]
        khat = np.array([k for _, k in pairs])
        row = {"method": "psis", "time_s": time.perf_counter() - t0,
               "k_max": float(khat.max()), "k_le_0.7": int(np.sum(khat <= 0.7))}
        row.update(compare(reference, [d for d, _ in pairs]))
        result["psis"] = row
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
