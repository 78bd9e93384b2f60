"""Curves per second of one ``fit_many`` batch on whatever accelerator JAX sees (issue 6).

For each batch size N (``--sizes``): a first ``fit_many`` call on N simulated 1-break curves
(``speed.simulated_curves``: 20 points, 10 seeds each) compiles the program and samples; a
second call on N new curves of the same shape runs it warm. ``warm_host_build_s`` is the part
of the warm time spent building the Fits (ArviZ DataTrees) on the host. Default settings (4
chains x (1000 + 1000)); on a GPU all N curves and their chains are one vectorized call. Prints
one JSON line per size as soon as it is measured (so a run cut short keeps what it measured),
then a summary line.

Usage: ``python -m benchmarks gpu_batch [--sizes 1000,100]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import bnsl_bayes as bb
from benchmarks.speed import simulated_curves
from bnsl_bayes import fitting


class _HostClock:
    """Time spent in ``fitting.finish`` (building each Fit's ArviZ DataTree on the host from
    the sampled arrays) while active: the part of a ``fit_many`` call that is not sampling."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._orig = fitting.finish

    def __enter__(self) -> _HostClock:
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return self._orig(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        fitting.finish = timed
        return self

    def __exit__(self, *exc) -> None:
        fitting.finish = self._orig


def measure(n: int, seed: int = 0) -> dict:
    """Cold and warm time of one ``fit_many`` call on ``n`` curves, and their diagnostics."""
    rng = np.random.default_rng(seed)
    curves = simulated_curves(2 * n, rng)
    t0 = time.perf_counter()
    bb.fit_many(curves[:n], seed=0, check=False)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    with _HostClock() as host:
        fits = bb.fit_many(curves[n:], seed=n, check=False)
    warm = time.perf_counter() - t0
    diags = [f.diagnostics() for f in fits]
    # NaN for a fit that SMC refitted (no NUTS trees)
    depth = np.array([float(np.max(f.data.sample_stats["tree_depth"]))
                      if "tree_depth" in f.data.sample_stats else np.nan for f in fits])
    return {
        "curves": n, "cold_s": cold, "warm_s": warm, "curves_per_s": n / warm,
        "warm_host_build_s": host.seconds,
        "share_rhat_le_1_01": float(np.mean([d["max_r_hat"] <= 1.01 for d in diags])),
        "share_no_divergence": float(np.mean([d["divergences"] == 0 for d in diags])),
        "max_tree_depth_median": float(np.nanmedian(depth)),
        "max_tree_depth_max": float(np.nanmax(depth)),
    }


def _sizes(text: str) -> list[int]:
    """``--sizes``: whole numbers >= 1, comma-separated."""
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected batch sizes >= 1, comma-separated "
                                         f"(e.g. 1000,100)")
    return sizes


def main(argv: list[str] | None = None) -> int:
    import jax

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=_sizes, default=[1000, 100],
                    help="batch sizes, comma-separated (default 1000,100)")
    args = ap.parse_args(argv)
    sizes = args.sizes
    dev = jax.devices()[0]
    head = {"backend": jax.default_backend(), "device": getattr(dev, "device_kind", str(dev)),
            "jax": jax.__version__, "python": platform.python_version()}
    print(json.dumps(head), flush=True)
    rows = []
    for n in sizes:
        rows.append(measure(n))
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({**head, "batches": rows}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
