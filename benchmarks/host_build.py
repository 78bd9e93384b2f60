"""Host time spent building Fits (ArviZ DataTrees) in one ``fit_many`` call on real curves.

The first ``--curves`` Revisiting curves (default 20; 13 to 71 fit points) are fitted with the
default settings (1 break, 4 chains x (1000 + 1000)) in one ``fit_many`` call, after a first
call on two of them has compiled the sampler. Reports the wall time of the call and the part
spent in ``fitting.finish`` (user-unit draws, log likelihood, posterior predictive, DataTree),
measured as ``gpu_batch.py`` measures it.

Usage: ``python -m benchmarks host_build [--curves 20] [--json]``.
"""

from __future__ import annotations

import argparse
import time

import bnsl_bayes as bb
from benchmarks.gpu_batch import _HostClock
from benchmarks.speed import emit


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", type=int, default=20, help="Revisiting curves (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.curves < 2:
        parser.error(f"--curves {args.curves}: expected a whole number >= 2")
    curves = list(bb.datasets.load("revisiting").values())[: args.curves]
    bb.fit_many(curves[:2], breaks=1, check=False)  # compiles the sampler
    t0 = time.perf_counter()
    with _HostClock() as host:
        bb.fit_many(curves, breaks=1, check=False)
    result = {"curves": len(curves), "fit_many_s": time.perf_counter() - t0,
              "host_build_s": host.seconds,
              "fit_points": [int(c.fit_mask.sum()) for c in curves]}
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
