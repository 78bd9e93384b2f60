"""Convergence with the default sampler settings on simulated 1- and 2-break curves (issue 2).

The core issue asks that ``fit`` with its defaults (4 chains x (1000 + 1000), target_accept 0.95,
dense mass matrix) give no divergences and max r_hat <= 1.01 on the 4-digit-addition curve (see
``speed.py``) and on simulated 1- and 2-break curves. This script fits ``--curves`` noisy copies
of one 1-break and one 2-break law (30 log-spaced points from 10 to 10^4, multiplicative noise
of sd ``--sigma``, one run per point, noise keys 0, 1, ...) with ``fit_many`` and the defaults
(curve ``k`` with seed ``k``), and prints per curve the divergences, max r_hat and min bulk ESS
(and, where the target is missed, each chain's mean log density and median break locations),
then the share that meets the target.

``--method``, ``--warmup`` and ``--samples`` change the sampler from ``fit``'s defaults (to
measure a candidate default), ``--first-key`` the noise keys (``--first-key 10``: keys 10, 11, ...;
curve ``k`` still fitted with seed ``k``).

Usage::

    python -m validation convergence [--curves 10] [--sigma 0.02] [--json]
    python -m validation convergence --method nuts --warmup 3000 --first-key 10 --forms 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import jax
import numpy as np

import bnsl_bayes as bb

X = np.geomspace(10.0, 1e4, 30)
LAWS = {
    1: {"a": 0.1, "b": 5.0, "c0": 0.3, "c": [0.7], "d": [300.0], "f": [0.3]},
    2: {"a": 0.05, "b": 3.0, "c0": 0.2, "c": [0.8, 0.6], "d": [100.0, 1000.0], "f": [0.2, 0.2]},
}


def simulate(law: dict, sigma: float, key: int) -> bb.Curve:
    """One run per point of ``law`` at :data:`X` with multiplicative noise of sd ``sigma``."""
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(X, law["a"], law["b"], law["c0"], np.array(law["c"]),
                                np.array(law["d"]), np.array(law["f"])))
    rng = np.random.default_rng(key)
    return bb.Curve.from_arrays(X, mu * np.exp(sigma * rng.standard_normal(X.size)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=10, help="noisy copies per law")
    parser.add_argument("--sigma", type=float, default=0.02, help="noise sd of log y")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--forms", default="1,2", help="numbers of breaks to run (default 1,2)")
    parser.add_argument("--first-key", type=int, default=0, help="noise key of the first copy")
    parser.add_argument("--method", choices=("auto", "nuts", "smc"), help="default: fit's")
    parser.add_argument("--warmup", type=int, help="warmup per chain (default: fit's)")
    parser.add_argument("--samples", type=int, help="draws per chain (default: fit's)")
    args = parser.parse_args(argv)
    changes = {k: v for k, v in (("method", args.method), ("warmup", args.warmup),
                                 ("samples", args.samples)) if v is not None}
    sampler = bb.SamplerConfig(**changes)  # the defaults of fit() unless changed
    forms = sorted({b.strip() for b in args.forms.split(",") if b.strip()})
    if not forms or not set(forms) <= {str(b) for b in LAWS}:
        parser.error(f"--forms: comma-separated numbers of breaks among {sorted(LAWS)}, "
                     f"got {args.forms!r}")
    forms = [int(b) for b in forms]
    out: dict = {"curves_per_law": args.curves, "sigma": args.sigma, "first_key": args.first_key,
                 "sampler": changes, "forms": {}}
    keys = range(args.first_key, args.first_key + args.curves)
    for breaks in forms:
        law = LAWS[breaks]
        curves = [simulate(law, args.sigma, k) for k in keys]
        t0 = time.perf_counter()
        fits = bb.fit_many(curves, breaks=breaks, check=False, sampler=sampler,
                           seed=args.first_key)
        elapsed = time.perf_counter() - t0
        rows = [f.diagnostics() for f in fits]
        ok = [r["divergences"] == 0 and r["max_r_hat"] <= 1.01 for r in rows]
        out["forms"][f"bnsl-{breaks}"] = {
            "law": law, "time_s": elapsed, "share_meeting_target": float(np.mean(ok)),
            "fits": [{k: float(v) for k, v in r.items()} for r in rows],
        }
        if not args.json:
            print(f"bnsl-{breaks} on {args.curves} curves ({elapsed:.1f} s, compile included"
                  + (f"; sampler {changes}" if changes else "") + "):")
            for i, (k, r, good) in enumerate(zip(keys, rows, ok, strict=True)):
                print(f"  key {k}: {fits[i].data.attrs['sampling_method']}, divergences "
                      f"{r['divergences']}, max r_hat {r['max_r_hat']:.3f}, min bulk ESS "
                      f"{r['min_ess_bulk']:.0f}")
                if not good:  # where the chains disagree: their log density and breaks
                    post, lp = fits[i].data["posterior"], fits[i].data["sample_stats"]["lp"]
                    for ch in range(post.sizes["chain"]):
                        d = post["d"].isel(chain=ch).median("draw").values
                        print(f"    chain {ch}: mean lp {float(lp.isel(chain=ch).mean()):.1f}, "
                              f"median d {np.array2string(d, precision=1)}")
            print(f"  no divergences and r_hat <= 1.01: {sum(ok)} of {len(ok)}")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
