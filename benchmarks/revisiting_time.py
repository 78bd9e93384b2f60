"""Where the time of the 92-curve Revisiting run goes, curve by curve (issue 6's first target).

Fits all Revisiting curves (fit on Training = 1) with the default settings (1 break, 4 chains x
(1000 + 1000)) in one ``fit_many`` call, as ``speed.py --revisiting`` does, and records the wall
time of each curve's compiled call from ``fit_many``'s progress callback (on a CPU each curve
is one call; the first also checks all curves and compiles the sampler; the Fits are built
after the last call, so ``fit_many_s`` exceeds the sum). Per curve it reports the fit points,
the seconds, the mean number of leapfrog steps per iteration, the share of post-warmup
iterations whose NUTS tree reached ``max_tree_depth`` (2^10 - 1 steps) and max r_hat; then how
much of the sampling time the curves with saturated trees take.

Usage: ``python -m benchmarks revisiting_time [--curves N] [--saturated 0.1] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import bnsl_bayes as bb
from benchmarks.speed import machine


def per_curve(names: list[str], fits: list[bb.Fit], seconds: list[float]) -> list[dict]:
    """One row per curve: name, points, seconds, mean leapfrog steps, share of iterations at
    the maximal tree depth, max r_hat."""
    rows = []
    for name, fit, s in zip(names, fits, seconds, strict=True):
        stats = fit.data["sample_stats"]
        rows.append({
            "curve": name,
            "points": int(fit.curve.fit_mask.sum()),
            "s": float(s),
            # NaN for a fit that SMC refitted (no NUTS trees)
            "mean_steps": float(np.mean(np.asarray(stats["n_steps"].values)))
            if "n_steps" in stats else float("nan"),
            "sampler": fit.data.attrs.get("sampling_method", "nuts"),
            "share_max_depth": fit.tree_depth_saturation(),
            "max_r_hat": float(fit.diagnostics()["max_r_hat"]),
        })
    return rows


def summarize(rows: list[dict], saturated: float) -> dict:
    """Totals, and the part of the time (first curve, which compiles, left out) taken by the
    curves with more than ``saturated`` of their iterations at the maximal depth."""
    rest = rows[1:]
    s = np.array([r["s"] for r in rest])
    sat = np.array([r["share_max_depth"] > saturated for r in rest])
    rhat_ok = np.array([r["max_r_hat"] <= 1.01 for r in rest])
    return {
        "curves": len(rows),
        "first_curve_s": rows[0]["s"],
        "other_curves_s": float(s.sum()),
        "saturated_threshold": saturated,
        "saturated_curves": int(sat.sum()),
        "saturated_s": float(s[sat].sum()),
        "saturated_share_of_time": float(s[sat].sum() / s.sum()),
        "curves_touching_max_depth": int(sum(r["share_max_depth"] > 0 for r in rest)),
        "median_s_saturated": float(np.median(s[sat])) if sat.any() else None,
        "median_s_other": float(np.median(s[~sat])) if (~sat).any() else None,
        # the other curves' time if all of them went at the unsaturated curves' mean pace
        "unsaturated_pace_s": float(s[~sat].mean() * s.size) if (~sat).any() else None,
        "r_hat_le_1_01_saturated": int((rhat_ok & sat).sum()),
        "r_hat_le_1_01_other": int((rhat_ok & ~sat).sum()),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saturated", type=float, default=0.1,
                        help="share of iterations at the maximal tree depth above which a curve "
                        "counts as saturated (default 0.1)")
    parser.add_argument("--curves", type=int, default=None,
                        help="only the first N curves (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.curves is not None and args.curves < 2:
        parser.error(f"--curves {args.curves}: expected a whole number >= 2")
    coll = bb.datasets.load("revisiting")
    names = list(coll)[: args.curves]
    curves = [coll[k] for k in names]
    stamps = [time.perf_counter()]

    def tick(done: int, total: int) -> None:
        stamps.extend([time.perf_counter()] * (done - (len(stamps) - 1)))

    t0 = time.perf_counter()
    fits = bb.fit_many(curves, breaks=1, seed=0, check=False, progress=tick)
    total = time.perf_counter() - t0
    seconds = list(np.diff(stamps))
    rows = per_curve(names, fits, seconds)
    result = {"machine": machine(), "fit_many_s": total, **summarize(rows, args.saturated),
              "rows": rows}
    if args.json:
        print(json.dumps(result))
    else:
        for r in sorted(rows, key=lambda r: -r["s"]):
            print(f"{r['s']:7.2f} s  {r['points']:3d} pts  steps {r['mean_steps']:6.1f}  "
                  f"at max depth {r['share_max_depth']:5.3f}  r_hat {r['max_r_hat']:.3f}  "
                  f"{r['curve']}")
        print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    return result


if __name__ == "__main__":
    main()
