"""Per-seed noise of the real 4-digit-addition curve, for the seeds study.

The bundled ``four_digit_addition`` curve (BNSL paper, Figure 5 left) gives one mean per x; the
paper says each is a mean over more than 1000 seeds. Fitting its 14 fit points with
``seeds=1000`` per point makes the model's ``sigma`` the noise sd of log y of *one* run
(likelihood: log y_j ~ Normal(log mu_j, sigma / sqrt(1000))). The posterior median of that sigma
is the per-seed noise level that :data:`bnsl_bayes.seeds.FOUR_DIGIT_ADDITION_SIGMA` records.
Because "more than 1000" seeds is a lower bound on the count, and part of the scatter of the 14
points around a 1-break law may be misfit rather than noise, the value is a rough estimate of
the per-seed noise, not a measurement of it.

Usage: ``python -m validation four_digit_noise [--json]`` (4 chains x (1000 + 1000), seed 0).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import bnsl_bayes as bb

#: Seeds behind each point of the real curve (the paper: "more than 1000").
SEEDS_PER_POINT = 1000


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    real = bb.datasets.load("four_digit_addition")
    curve = bb.Curve.from_arrays(real.x, real.y, seeds=np.full(real.n_points, SEEDS_PER_POINT),
                                 held_out=real.held_out, name="four_digit_addition")
    fit = bb.fit(curve, breaks=1, seed=0)
    sigma = np.asarray(fit.data.posterior["sigma"].values).ravel()
    q05, q50, q95 = np.quantile(sigma, [0.05, 0.5, 0.95])
    out = {"seeds_per_point": SEEDS_PER_POINT, "sigma_median": float(q50),
           "sigma_q05": float(q05), "sigma_q95": float(q95), **fit.diagnostics()}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"per-seed noise sd of log y: median {q50:.4g} (90% band {q05:.4g} to {q95:.4g}), "
              f"from a fit with {SEEDS_PER_POINT} seeds per point; diagnostics "
              f"{fit.diagnostics()}")
    return out


if __name__ == "__main__":
    main()
