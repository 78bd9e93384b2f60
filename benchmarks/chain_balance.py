"""How the chains of a curve share the CPU cores: JAX CPU devices and ``fit_many`` batch size.

NUTS chains of one curve take very different numbers of leapfrog steps (on weakly pinned
breaks one chain may run 3 times as many as another). With one JAX CPU device per core
(:mod:`bnsl_bayes.sampling.devices`) a 4-chain fit on 2 cores gives each device a fixed pair
of chains, and a call of ``fit_many`` waits, curve after curve, for the slower pair. This runs
the same ``fit_many`` call (a fixed subset of the bundled Revisiting curves, 1 break, the
defaults of ``fit``) in fresh processes with ``--devices`` JAX CPU devices
(``BNSL_BAYES_CPU_DEVICES``) and each ``--batches`` curves per compiled call, and reports the
wall time of the call (compilation included: one program per call) and a checksum of the
draws, which must not depend on either setting.

Usage: ``python -m benchmarks chain_balance [--devices 2,4] [--batches 1,8] [--every 4]
[--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(batches: list[int], every: int) -> dict:
    """Run in a process whose JAX device count is already set: one call per batch size."""
    import jax
    import numpy as np

    import bnsl_bayes as bb

    curves = list(bb.datasets.load("revisiting").values())[::every]
    out = {"devices": len(jax.devices("cpu")), "curves": len(curves), "runs": {}}
    for b in batches:
        t0 = time.perf_counter()
        fits = bb.fit_many(curves, batch_size=b, check=False)
        wall = time.perf_counter() - t0
        checksum = float(sum(np.sum(f.data["posterior"]["c0"].values) for f in fits))
        out["runs"][str(b)] = {
            "wall_s": round(wall, 2),
            "checksum_c0": checksum,
            "r_hat_ok": sum(f.diagnostics()["max_r_hat"] <= 1.01 for f in fits),
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", default="2,4", help="JAX CPU device counts to compare")
    ap.add_argument("--batches", default="1,8", help="fit_many batch sizes to compare")
    ap.add_argument("--every", type=int, default=4,
                    help="fit every k-th Revisiting curve (default 4: 23 curves)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    batches = [int(v) for v in args.batches.split(",")]
    if args.worker:
        print(json.dumps(worker(batches, args.every)))
        return {}
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                      f"{platform.python_version()}", "configs": []}
    for d in (int(v) for v in args.devices.split(",")):
        env = dict(os.environ, BNSL_BAYES_CPU_DEVICES=str(d))
        res = subprocess.run(
            [sys.executable, "-m", "benchmarks", "chain_balance", "--worker",
             "--batches", args.batches, "--every", str(args.every)],
            env=env, capture_output=True, text=True, check=True, cwd=ROOT,
        )
        out["configs"].append(json.loads(res.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(out))
    else:
        print(out["machine"])
        for c in out["configs"]:
            for b, r in c["runs"].items():
                print(f"devices {c['devices']}, batch {b}: {r['wall_s']} s for {c['curves']} "
                      f"curves, r_hat <= 1.01 on {r['r_hat_ok']}, checksum {r['checksum_c0']!r}")
    return out


if __name__ == "__main__":
    main()
