"""How the drift's slope estimate was chosen: grouped cross-validation over a shrinkage family.

The drift (:mod:`bnsl_bayes.drift`) estimates the slope error of a leave-future-out refit's
extrapolation by least squares on the scored points, weighted by a covariance ``W = (1 - s) C
+ s diag(C)`` (``C``: the errors' covariance when the law holds). ``s = 1`` is weighted least
squares (each point by its own variance), ``s = 0`` generalized least squares (the full inverse
covariance); between them the draws' small-variance directions weigh less the larger ``s``.
Whatever ``s``, the estimate's variance ``v`` is taken under the full ``C``, so ``z`` stays
N(0, 1) when the law holds.

The fits and their refits do not depend on ``s``, so one set of them scores every candidate
exactly. The curves are those of ``python -m validation extrapolation`` (92 Revisiting curves
and 4-digit addition; the fits are its ``bayes`` fits: 1 break, seed 0, 4 x (1000 + 1000), the
default sampler; the refits are :func:`bnsl_bayes.calibrate.lfo_refits` at the fits' budget).
Each candidate's bands past the data are scored on the held-out points with NSL-PFN's MSCE
(coverage of the central 50-99% predictive intervals, 7 levels, per curve) and the mean log
predictive density (LL). The groups are the 4 vision data sets (bird, c, cal, inet), LM, NMT,
BB and 4-digit addition; for each group ``s`` is chosen on the other seven (lowest mean MSCE,
or highest mean LL, over their curves) and the group is scored with it; the tables report the
held-out groups. The package's default (``bnsl_bayes.drift.SHRINK``) is the choice by MSCE (the
criterion of the slope error's scale, ``validation.discrepancy_cv``) among the candidates that
detect the late break of ``validation.drift_stability`` at every refit seed (``--grid 0.6,1``):
the weights nearest GLS score best on real curves but do not see that break
(docs/decisions.md).

    python -m validation drift_cv --save-fits DIR     # fits and refits the 93 curves, saves them
    python -m validation drift_cv --fits DIR --json FILE --markdown FILE
    python -m validation drift_cv --fits DIR --grid 0.6,1     # a subset of the candidates
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import bnsl_bayes as bb
from bnsl_bayes.calibrate import lfo_refits
from bnsl_bayes.drift import SHRINK, Drift, scored_errors
from bnsl_bayes.scoring import NSL_PFN_LEVELS
from validation.discrepancy_cv import choose_by_group, group, load_fits, save_fits
from validation.extrapolation import held_out_mlpd, held_out_predictive, load_curves

#: The candidates: 0 (GLS) ... 1 (WLS), closer together near 0 where a little shrinkage
#: already changes the weights of the draws' near-singular directions.
GRID = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.6, 1.0)
LEVELS = np.asarray(NSL_PFN_LEVELS)


def fit_and_refit(folder: str | None) -> tuple[list[str], list[bb.Fit], list[bb.Fit]]:
    """The extrapolation benchmark's 1-break fits and their leave-future-out refits, saved in
    ``folder`` (fits as ``NNN.nc``, refits as ``lfo/NNN.nc``) when it is given."""
    curves = load_curves()
    keys = list(curves)
    t0 = time.perf_counter()
    fits = bb.fit_many(list(curves.values()), breaks=1, seed=0, check=False,
                       sampler=bb.SamplerConfig(chains=4, warmup=1000, samples=1000))
    print(f"drift_cv: {len(fits)} fits in {time.perf_counter() - t0:.1f} s", file=sys.stderr,
          flush=True)
    if folder:
        save_fits(folder, keys, fits)
    t0 = time.perf_counter()
    refits = lfo_refits(fits)
    print(f"drift_cv: {len(refits)} refits in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr, flush=True)
    if folder:
        save_fits(os.path.join(folder, "lfo"), keys, refits)
    return keys, fits, refits


def score(fit: bb.Fit, drift: Drift) -> dict[str, Any]:
    """One curve's held-out scores under ``drift``: coverage of the central intervals at
    NSL-PFN's levels, their MSCE, LL (mean log density of y), covered points at 90%."""
    c = fit.curve
    y = c.y[c.held_out]
    mu, y_new, _, _ = held_out_predictive(fit, drift)
    q = np.quantile(y_new, np.concatenate([(1 - LEVELS) / 2, (1 + LEVELS) / 2]), axis=0)
    lo, hi = q[:LEVELS.size], q[LEVELS.size:]
    inside = (lo <= y) & (y <= hi)                      # (levels, k)
    cov = inside.mean(axis=1)
    return {"cov": cov, "msce": float(np.mean((cov - LEVELS) ** 2)),
            "ll": held_out_mlpd(fit, mu), "covered90": int(inside[LEVELS == 0.9].sum()),
            "n": int(y.size), "widened": drift.scale > 0}


def summary(rows: dict[str, dict]) -> dict[str, Any]:
    """Totals of per-curve rows: 90% coverage per point and per curve, mean MSCE and LL, and
    the share of curves whose bands the drift widened."""
    r = list(rows.values())
    return {"curves": len(r),
            "coverage90": sum(x["covered90"] for x in r) / sum(x["n"] for x in r),
            "coverage90_per_curve": float(np.mean([x["covered90"] / x["n"] for x in r])),
            "msce": float(np.mean([x["msce"] for x in r])),
            "ll": float(np.mean([x["ll"] for x in r])),
            "widened": float(np.mean([x["widened"] for x in r]))}


def run(keys: list[str], fits: list[bb.Fit], refits: list[bb.Fit],
        grid: Sequence[float] = GRID) -> dict[str, Any]:
    """Score every candidate on every curve, cross-validate the choice by group."""
    table: list[dict[str, dict]] = [{} for _ in grid]
    z: list[dict[str, float]] = [{} for _ in grid]
    for key, fit, refit in zip(keys, fits, refits, strict=True):
        x_cut = float(refit.curve.x[refit.curve.fit_mask].max())
        errors = scored_errors(refit.draws(), fit.spec.form, fit.space, fit.curve, x_cut)
        for i, s in enumerate(grid):
            drift = Drift.from_errors(*errors, x_cut=x_cut, space=fit.space, shrink=s)
            table[i][key] = score(fit, drift)
            z[i][key] = drift.z
    out: dict[str, Any] = {
        "n_curves": len(keys), "grid": list(grid), "package_shrink": SHRINK,
        "in_sample": [{"shrink": s, **summary(t),
                       "median_abs_z": float(np.median(np.abs(list(zi.values()))))}
                      for s, t, zi in zip(grid, table, z, strict=True)],
        "cross_validated": {}}
    for how in ("msce", "ll"):
        held, chosen = choose_by_group(keys, list(grid), table, how)
        groups = sorted({group(k) for k in keys})
        out["cross_validated"][how] = {
            "chosen": chosen, "held_out": summary(held),
            "by_group": {g: summary({k: v for k, v in held.items() if group(k) == g})
                         for g in groups},
            "all_groups_choice": grid[max(range(len(grid)), key=lambda i: (
                -1 if how == "msce" else 1) * np.mean([table[i][k][how] for k in keys]))]}
    return out


def markdown(res: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    lines = [f"Every candidate on all {res['n_curves']} curves (in-sample: what each gives, not "
             "a forecast):", "",
             "| shrink s | cov90 per point | cov90 per curve | MSCE | LL | widened | "
             "median abs z |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['shrink']:g} | {r['coverage90']:.3f} | {r['coverage90_per_curve']:.3f} | "
              f"{r['msce']:.4f} | {r['ll']:.3f} | {r['widened']:.2f} | {r['median_abs_z']:.2f} |"
              for r in res["in_sample"]]
    for how, cv in res["cross_validated"].items():
        h = cv["held_out"]
        lines += ["", f"Chosen by {how.upper()} on the other groups (all groups: s = "
                  f"{cv['all_groups_choice']:g}); held-out groups pooled: cov90 "
                  f"{h['coverage90']:.3f} per point, {h['coverage90_per_curve']:.3f} per curve, "
                  f"MSCE {h['msce']:.4f}, LL {h['ll']:.3f}", "",
                  "| held-out group | curves | s chosen | cov90 per point | cov90 per curve | "
                  "MSCE | LL |", "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {g} | {s['curves']} | {cv['chosen'][g]:g} | {s['coverage90']:.3f} | "
                  f"{s['coverage90_per_curve']:.3f} | {s['msce']:.4f} | {s['ll']:.3f} |"
                  for g, s in cv["by_group"].items()]
    return "\n".join(lines) + "\n"


def _grid(text: str) -> tuple[float, ...]:
    try:
        grid = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers separated by commas, "
                                         f"e.g. 0,0.1,1") from None
    if not grid or not all(0.0 <= s <= 1.0 for s in grid):
        raise argparse.ArgumentTypeError(f"{text!r}: every shrinkage lies in [0, 1]")
    return grid


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", metavar="DIR",
                        help="folder of fits and refits saved by --save-fits")
    parser.add_argument("--save-fits", metavar="DIR",
                        help="save the fits (DIR/NNN.nc) and refits (DIR/lfo/NNN.nc) it makes")
    parser.add_argument("--grid", metavar="S,S,...", type=_grid, default=GRID,
                        help=f"the candidates, each in [0, 1] (default {','.join(map(str, GRID))})")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="write the tables as Markdown")
    args = parser.parse_args(argv)
    if args.fits and args.save_fits:
        parser.error("--save-fits applies to the fits it makes: leave it out with --fits")
    if args.fits:
        for folder in (args.fits, os.path.join(args.fits, "lfo")):
            if not os.path.isfile(os.path.join(folder, "meta.json")):
                parser.error(f"{folder}: no meta.json there; make the folder with --save-fits")
        keys, fits = load_fits(args.fits)
        keys_lfo, refits = load_fits(os.path.join(args.fits, "lfo"))
        if keys_lfo != keys:
            parser.error(f"{args.fits}: the refits' curves are not the fits'")
    else:
        keys, fits, refits = fit_and_refit(args.save_fits)
    res = run(keys, fits, refits, args.grid)
    text = markdown(res)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1, default=float)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
