"""NUTS on the Revisiting curves whose trees saturate, for trying fixes of the sampler's geometry.

``revisiting_time.py`` finds that 22 of the 92 Revisiting curves spend more than 10% of their
iterations at NUTS's maximal tree depth and take 62% of the sampling time. This script fits a
few of them (by default one of each kind: an LM validation-loss curve with a break far past the
data, a BIG-bench curve of 19 points, an image-classification curve of 65 points, an NMT curve
of 9 points) with ``fit``'s defaults (1 break, 4 chains x (1000 + 1000)) in one ``fit_many``
call, and prints per curve the mean leapfrog steps per iteration, the share of iterations at
the maximal depth, max r_hat, min bulk ESS, divergences and the 90% bands of c1 and d1. Run it
before and after applying a patch from ``benchmarks/tried/`` to compare.

Usage: ``python -m validation saturated_curves [--curves NAME|NAME...] [--warmup N]
[--samples N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import bnsl_bayes as bb
from benchmarks.speed import machine

DEFAULT_CURVES = (
    "LM/val_loss/4.53e+08",
    "BB/('qa', '1-shot')/262M",
    "IC/bird_5/ViT/B/16",
    "NMT/log_perplexity/TEnc-LSTM",
)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", default="|".join(DEFAULT_CURVES),
                        help="Revisiting curve names separated by '|' (default: four saturated "
                        "curves, see the module docstring)")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    coll = bb.datasets.load("revisiting")
    names = args.curves.split("|")
    unknown = [n for n in names if n not in coll]
    if unknown:
        parser.error(f"unknown Revisiting curve(s) {unknown}; names look like "
                     f"{DEFAULT_CURVES[0]!r}")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = bb.fit_many([coll[n] for n in names], breaks=1, seed=0, check=False,
                           sampler=bb.SamplerConfig(warmup=args.warmup, samples=args.samples,
                                                    method="nuts"))
    total = time.perf_counter() - t0
    rows = []
    for name, fit in zip(names, fits, strict=True):
        diag = fit.diagnostics()
        par = fit.parameters(0.9)
        rows.append({
            "curve": name,
            "mean_steps": float(np.mean(fit.data["sample_stats"]["n_steps"].values)),
            "share_max_depth": fit.tree_depth_saturation(),
            "max_r_hat": float(diag["max_r_hat"]),
            "min_ess_bulk": float(diag["min_ess_bulk"]),
            "divergences": int(diag["divergences"]),
            **{f"{p}_{col}": float(par.loc[p, col]) for p in ("c1", "d1")
               for col in ("lo", "median", "hi")},
        })
    result = {"machine": machine(), "fit_many_s": total, "rows": rows}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"fit_many: {total:.1f} s (compilation included)")
        for r in rows:
            print(f"  {r['curve']:32s} steps {r['mean_steps']:6.1f}  at max depth "
                  f"{r['share_max_depth']:.3f}  r_hat {r['max_r_hat']:.3f}  ESS "
                  f"{r['min_ess_bulk']:5.0f}  div {r['divergences']}  c1 {r['c1_median']:.3g} "
                  f"[{r['c1_lo']:.3g}, {r['c1_hi']:.3g}]  d1 {r['d1_median']:.3g} "
                  f"[{r['d1_lo']:.3g}, {r['d1_hi']:.3g}]")
    return result


if __name__ == "__main__":
    main()
