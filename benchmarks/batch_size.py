"""Warm time per curve of ``fit_many`` against its batch size, on one set of simulated curves.

A vectorized NUTS step lasts as long as the deepest tree in its batch, so on a CPU a large batch
of different curves can cost more per curve than one curve at a time. This measures it: the
same ``--curves`` simulated 1-break curves (20 points, 10 seeds per point, as speed.py) fitted
with each batch size in ``--sizes``, after a first call of that size compiled the program.

Usage: ``python -m benchmarks batch_size [--curves 16] [--sizes 1,4,16] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import numpy as np

import bnsl_bayes as bb


def simulated(n: int, seed: int = 1) -> list[bb.Curve]:
    truth = {"a": 0.3, "b": 6.0, "c0": 0.2, "c": [0.6], "d": [300.0], "f": [0.2]}
    xs = np.geomspace(10.0, 1e4, 20)
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(xs, **truth))
    rng = np.random.default_rng(seed)
    return [bb.Curve.from_arrays(xs, mu * np.exp(0.05 / np.sqrt(10) * rng.standard_normal(20)),
                                 seeds=np.full(20, 10.0)) for _ in range(n)]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--curves", type=int, default=16)
    ap.add_argument("--sizes", default="1,4,16")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    curves = simulated(args.curves)
    out: dict = {"curves": args.curves, "per_curve_s": {}, "cold_s": {},
                 "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                            f"{jax.default_backend()}, Python {platform.python_version()}"}
    for size in (int(v) for v in args.sizes.split(",")):
        t0 = time.perf_counter()
        bb.fit_many(curves[:size], batch_size=size, check=False)  # compiles this batch size
        out["cold_s"][size] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fits = bb.fit_many(curves, batch_size=size, seed=1000, check=False)
        out["per_curve_s"][size] = (time.perf_counter() - t0) / len(curves)
        out.setdefault("max_r_hat", {})[size] = max(f.diagnostics()["max_r_hat"] for f in fits)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return out


if __name__ == "__main__":
    main()
