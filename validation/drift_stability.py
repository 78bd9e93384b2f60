"""How the drift's z moves with the refit's seed, for each weighting of the scored points.

Two simulated 20-point curves of one break with 1% log-normal noise: ``early``, a
break well inside the part the leave-future-out refit keeps (the law holds past the cut), and
``late``, a sharp drop in the last quarter of the fit range that a refit up to the cut cannot
see (the curves of ``tests/test_drift.py``). Each is fitted once; the refit on its points up to
75% of the log-x range is run at several seeds, and the slope error on the scored points is
estimated from the same refit's draws with each shrinkage ``s`` of ``validation.drift_cv``'s grid
(``slope_discrepancy(..., shrink=s)``): from generalized least squares (``s = 0``, the full
inverse covariance as weights, the estimate before ``9d30046``) to weighted least squares (``s =
1``, each point weighted by its own variance). Each ``z`` is the estimate over its standard
error when the law holds. Nothing here is tuned: the curves and the
seeds are fixed.

Usage: ``python -m validation drift_stability [--seeds 6] [--method nuts|auto] [--json]``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import jax
import numpy as np

import bnsl_bayes as bb
from benchmarks.speed import emit
from bnsl_bayes.drift import lfo_curve, scored_errors, slope_discrepancy
from validation.drift_cv import GRID

X = np.geomspace(10.0, 1e4, 20)
CURVES = {
    "early": ({"a": 0.3, "b": 6.0, "c0": 0.2, "c": [0.6], "d": [100.0], "f": [0.2]}, 4),
    "late": ({"a": 0.0, "b": 6.0, "c0": 0.2, "c": [1.5], "d": [3000.0], "f": [0.05]}, 5),
}
#: The recovery tests' budget (tests/budgets.py: FIT), NUTS alone as there.
SAMPLER = bb.SamplerConfig(chains=4, warmup=500, samples=500, method="nuts")


def curve(name: str) -> bb.Curve:
    """The simulated curve ``name``: the law times 1% log-normal noise, fixed key."""
    truth, key = CURVES[name]
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(X, **truth))
    rng = np.random.default_rng(key)
    return bb.Curve.from_arrays(X, mu * np.exp(0.01 * rng.standard_normal(X.size)), name=name)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="refit seeds 0..N-1 (default 6)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--method", choices=("nuts", "auto"), default="nuts",
                        help="sampler of the fit and refits: NUTS alone as in the tests "
                             "(default), or fit's default (SMC where NUTS's chains disagree)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: expected at least 1")
    sampler = replace(SAMPLER, method=args.method)
    result: dict = {}
    for name in CURVES:
        c = curve(name)
        fit = bb.fit(c, seed=0, sampler=sampler, check=False)
        cut = lfo_curve(c, fit.spec.n_law_params)
        x_cut = float(c.x[cut.fit_mask].max())
        rows = []
        for seed in range(args.seeds):
            refit = bb.fit(cut, seed=seed, sampler=sampler, check=False)
            err, cov, dist = scored_errors(refit.draws(), fit.spec.form, fit.space, c, x_cut)
            row = {"seed": seed, "refit_max_r_hat": refit.diagnostics()["max_r_hat"],
                   "refit_method": refit.data.attrs.get("sampling_method", "nuts")}
            for s in GRID:
                delta, v = slope_discrepancy(err, cov, dist, shrink=s)
                row[f"z_{s:g}"] = delta / np.sqrt(v)
            rows.append(row)
            print(f"{name} seed {seed}: z " + ", ".join(
                f"{row[f'z_{s:g}']:+.2f} (s {s:g})" for s in GRID), file=sys.stderr, flush=True)
        result[name] = {
            "refits": rows,
            "z_range": {f"{s:g}": [min(r[f"z_{s:g}"] for r in rows),
                                   max(r[f"z_{s:g}"] for r in rows)] for s in GRID},
        }
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
