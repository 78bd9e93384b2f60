"""Hard posteriors: the default fit (NUTS, then SMC where NUTS's diagnostics fail) against a
long SMC reference run (issue 22).

Where NUTS's chains disagree, agreement between SMC's own runs (r_hat) is not proof that they
found the posterior: runs that share a blind spot agree with each other. Each case here is
fitted twice with the same model and curve: with the package's defaults (``fit``), and with a
reference of ``--runs`` SMC runs of ``--particles`` particles each. The script prints which
sampler the default fit ended with, its diagnostics, and the largest gap between the two in
the 5, 50 and 95% quantiles of the law's log mu at 2, 5 and 10 times the last fit x.

Cases: the bundled 4-digit addition at seeds 0-4 (seed 3 is where NUTS's chains disagree), the
2-break simulated copies of ``convergence.py`` whose NUTS run fails, the Revisiting curves
named by ``--revisiting``, and ``seeds``: three hard cells of the 4-digit-addition seeds study
(10^5 and 1000 seeds at x_max 405, 10^5 at 500; one simulated data set each, as ``bnsl-bayes
seeds --example four-digit-addition`` draws it), where the gap is taken in the study's own
5/50/95% quantiles of the mean at its targets (800, 928, 1500 and 4000).

Usage::

    python -m validation smc_reference [--runs 8] [--particles 4000] [--cases addition,copies,
        revisiting,seeds] [--copies 10] [--revisiting NAME,NAME] [--json]
    python -m validation smc_reference --runs 0 --cases addition   # the 5 default fits only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from typing import Any

import numpy as np

import bnsl_bayes as bb
from bnsl_bayes.bands import curve_draws
from bnsl_bayes.checks import passes
from bnsl_bayes.seeds import example, seeds_study
from validation.convergence import LAWS, simulate

HARD_REVISITING = ("IC/c_5/MiX/B/16", "IC/inet_5/ViT/B/16", "LM/val_loss/1.07e+09",
                   "BB/('qa', '2-shot')/262M", "NMT/log_perplexity/6 Enc, 6 Dec")
#: Hard cells of the seeds study: (seeds per point, x_max).
HARD_CELLS = ((100_000, 405.0), (1000, 405.0), (100_000, 500.0))
FACTORS = (2.0, 5.0, 10.0)
LEVELS = (0.05, 0.5, 0.95)


def log_mean_quantiles(fit: bb.Fit, x: np.ndarray) -> np.ndarray:
    """5/50/95% quantiles of the law's log mu at ``x``, shape (levels, x): the law's own band,
    without the slope error past the data (a prior draw, the same for both samplers), which
    would hide how the samplers differ."""
    mu = curve_draws(fit.draws(), x, fit.spec.form)
    return np.quantile(np.log(mu), LEVELS, axis=0)


def case(name: str, curve: bb.Curve, breaks: int, seed: int,
         reference: bb.SamplerConfig | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    fit = bb.fit(curve, breaks=breaks, seed=seed, check=False)
    t_fit = time.perf_counter() - t0
    diag = fit.diagnostics()
    row = {"case": name, "seed": seed, "sampler": fit.data.attrs["sampling_method"],
           "passes": passes(diag), "max_r_hat": diag["max_r_hat"],
           "min_ess_bulk": diag["min_ess_bulk"], "time_s": t_fit,
           "nuts_diagnostics": json.loads(fit.data.attrs.get("nuts_diagnostics", "null")),
           "reference_max_r_hat": float("nan"), "max_gap": float("nan"), "gap": None}
    if reference is None:
        return row
    ref = bb.fit(curve, breaks=breaks, seed=seed + 1000, sampler=reference, check=False)
    x = float(curve.x[curve.fit_mask].max()) * np.asarray(FACTORS)
    gap = np.abs(log_mean_quantiles(fit, x) - log_mean_quantiles(ref, x))
    return {**row, "reference_max_r_hat": ref.diagnostics()["max_r_hat"],
            "max_gap": float(gap.max()), "gap": gap.tolist()}


def seeds_cell(seeds: int, x_max: float, reference: bb.SamplerConfig | None) -> dict[str, Any]:
    """One hard cell of the 4-digit-addition seeds study, fitted with ``fit``'s defaults and
    (same simulated data) with the reference; the gap is the largest |log| difference of the
    study's 5/50/95% quantiles of the mean at its targets."""
    design = {**example("four-digit-addition"), "seed_counts": [seeds], "cutoffs": [x_max],
              "repeats": 1}
    t0 = time.perf_counter()
    default = seeds_study(**{**design, "sampler": bb.SamplerConfig()}, check=False)
    t_fit = time.perf_counter() - t0
    fit = default.fits[(seeds, x_max)]
    diag = fit.diagnostics()
    row = {"case": f"seeds {seeds} x_max {x_max:g}", "seed": 0, "targets": True,
           "sampler": fit.data.attrs["sampling_method"], "passes": passes(diag),
           "max_r_hat": diag["max_r_hat"], "min_ess_bulk": diag["min_ess_bulk"],
           "time_s": t_fit,
           "nuts_diagnostics": json.loads(fit.data.attrs.get("nuts_diagnostics", "null")),
           "reference_max_r_hat": float("nan"), "max_gap": float("nan"), "gap": None}
    if reference is None:
        return row
    ref = seeds_study(**{**design, "sampler": reference}, check=False)
    cols = ["lo", "median", "hi"]
    gap = np.abs(np.log(default.table[cols].to_numpy()) - np.log(ref.table[cols].to_numpy()))
    return {**row, "reference_max_r_hat": ref.fits[(seeds, x_max)].diagnostics()["max_r_hat"],
            "max_gap": float(gap.max()), "gap": gap.T.tolist()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8,
                        help="SMC runs of the reference (0: no reference, the default fits only)")
    parser.add_argument("--particles", type=int, default=4000,
                        help="particles per run of the reference")
    parser.add_argument("--revisiting", default=",".join(HARD_REVISITING),
                        help="comma-separated Revisiting curves (default: five hard ones)")
    parser.add_argument("--copies", type=int, default=10,
                        help="2-break simulated copies to try (those where NUTS fails run)")
    parser.add_argument("--cases", default="addition,copies,revisiting,seeds",
                        help="which of addition, copies, revisiting, seeds to run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    reference = (bb.SamplerConfig(method="smc", chains=args.runs, particles=args.particles)
                 if args.runs > 0 else None)
    rows = []
    addition = bb.datasets.load("four_digit_addition")
    which = set(args.cases.split(","))
    cases = ([("4-digit addition", addition, 1, s) for s in range(5)]
             if "addition" in which else [])
    for k in range(args.copies if "copies" in which else 0):
        curve = simulate(LAWS[2], 0.02, k)
        nuts = bb.fit(curve, breaks=2, seed=k, sampler=bb.SamplerConfig(method="nuts"),
                      check=False)
        if not passes(nuts.diagnostics()):
            cases.append((f"2-break copy {k}", curve, 2, k))
    rev = bb.datasets.load("revisiting")
    if "revisiting" in which:
        cases += [(name, rev[name], 1, 0) for name in args.revisiting.split(",") if name]
    jobs = [partial(case, name, curve, breaks, seed, reference)
            for name, curve, breaks, seed in cases]
    if "seeds" in which:
        jobs += [partial(seeds_cell, n, x_max, reference) for n, x_max in HARD_CELLS]
    for job in jobs:
        row = job()
        name, seed = row["case"], row["seed"]
        rows.append(row)
        if not args.json:
            nuts = row["nuts_diagnostics"]
            print(f"{name} (seed {seed}): {row['sampler']}"
                  + (f" after NUTS r_hat {nuts['max_r_hat']:.3f}" if nuts else "")
                  + f", r_hat {row['max_r_hat']:.3f}, ESS {row['min_ess_bulk']:.0f}, "
                  f"{'passes' if row['passes'] else 'FAILS'}, {row['time_s']:.1f} s"
                  + ("" if reference is None else
                     f"; reference r_hat {row['reference_max_r_hat']:.3f}; largest gap in the "
                     f"5/50/95% quantiles of log mu at "
                     + ("the study's targets" if row.get("targets") else f"{FACTORS} x last x")
                     + f": {row['max_gap']:.3f}"), flush=True)
    if args.json:
        print(json.dumps({"runs": args.runs, "particles": args.particles, "cases": rows}))
    else:
        ok = sum(r["passes"] for r in rows)
        close = sum(r["max_gap"] <= 0.05 for r in rows)
        print(f"diagnostics pass: {ok} of {len(rows)}"
              + ("" if reference is None else
                 f"; within 0.05 of the reference: {close} of {len(rows)}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
