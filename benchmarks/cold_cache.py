"""A first fit in a new process, with and without JAX's persistent compilation cache.

Three fresh Python processes each time ``bnsl_bayes.fit`` on the 4-digit-addition curve (1
break, 4 chains x (1000 + 1000)), the first fit of the process, so tracing and compilation are
included:

- ``no_cache_s``: the cache off;
- ``first_with_cache_s``: :func:`bnsl_bayes.use_compile_cache` on an empty folder (compiles
  and stores the program);
- ``second_with_cache_s``: a new process on the same folder (loads the program, still traces).

The classic point fit (``speed.reference_point_fit``) is timed in this process for the ratio
the core issue asks about (cold <= 1/2 of the point fit).

Usage: ``python -m benchmarks cold_cache [--json]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, time
import bnsl_bayes as bb
folder = sys.argv[1]
if folder != "-":
    bb.use_compile_cache(folder)
curve = bb.datasets.load("four_digit_addition")
t0 = time.perf_counter()
fit = bb.fit(curve, seed=0, check=False)
print(json.dumps({"fit_s": time.perf_counter() - t0, **fit.diagnostics()}))
"""


def first_fit(folder: str) -> dict:
    """The first fit of a fresh process (``folder`` "-": no cache)."""
    out = subprocess.run([sys.executable, "-c", CHILD, folder], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    import bnsl_bayes as bb
    from benchmarks.speed import emit, machine, reference_point_fit

    curve = bb.datasets.load("four_digit_addition")
    m = curve.fit_mask
    t0 = time.perf_counter()
    reference_point_fit(curve.x[m], curve.y[m])
    point_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="bnsl-bayes-cache-") as folder:
        runs = {"no_cache": first_fit("-"), "first_with_cache": first_fit(folder),
                "second_with_cache": first_fit(folder)}
    result = {f"{k}_s": v["fit_s"] for k, v in runs.items()}
    result.update({
        "point_fit_s": point_s,
        "second_with_cache_over_point_fit": result["second_with_cache_s"] / point_s,
        "max_r_hat": {k: v["max_r_hat"] for k, v in runs.items()},
        "machine": machine(),
    })
    emit(result, args.json)
    return result


if __name__ == "__main__":
    main()
