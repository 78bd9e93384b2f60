"""Speed of the Bayesian fit against the classic point fit of the BNSL paper, in one run.

Times, on the 4-digit-addition curve (14 fit points, 1 break, 4 chains x (1000 + 1000)):

- ``point_fit_s``: the paper's method as its reference code runs it, ``scipy.optimize.brute``
  (one Python call of the objective per grid point, 163,840 points, ``finish=None``) then
  ``curve_fit`` on log(y + 1) from the best grid point;
- ``point_fit_vectorized_s``: the same method with the grid evaluated in vectorized chunks
  (``validation/point_fit.py``), to show what the point fit costs when written for speed;
- ``bayes_cold_s``: the first ``bnsl_bayes.fit`` in the process (compilation included);
- ``bayes_warm_s``: a second fit of a new curve of the same shape (no compilation);
- ``many_per_curve_s``: warm time per curve of ``bnsl_bayes.fit_many`` on a batch of ``--many``
  simulated 1-break curves of 20 points (10 seeds per point), after a first batch of the same
  shape compiled the sampler; ``many_cold_s`` is that first batch's time (compilation included).

With ``--revisiting``, also (issue 6's first target) all 92 curves of the bundled Revisiting
collection (fit on Training = 1), 1 break, 4 chains x (1000 + 1000), through one ``fit_many``
call in this process (``revisiting_bayes_s``, compilation of each padded length included, plus
the share of curves with max r_hat <= 1.01 and without divergences), against the vectorized
point fit of the same curves one after the other (``revisiting_point_fit_s``).

Usage: ``python -m benchmarks speed [--many N] [--revisiting] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
from scipy.optimize import brute, curve_fit

import bnsl_bayes as bb
from validation.point_fit import point_fit_bnsl


def _law_np(x, a, b, c0, c1, d1, f1):
    z = (np.log(x) - np.log(d1)) / f1
    return a + np.exp(np.log(b) - c0 * np.log(x) - c1 * f1 * np.logaddexp(0.0, z))


def reference_point_fit(x: np.ndarray, y: np.ndarray) -> dict:
    """The reference code's procedure: brute-force grid (Python objective) then curve_fit."""
    ly = np.log1p(y)

    def raw_to_params(p):
        a, b_raw, c0, c1, d_raw, f1 = p
        return a, 1.25**b_raw - 1 + 1e-8, c0, c1, 1.25**d_raw - 1 + 1e-8, f1

    def grid_loss(p):
        with np.errstate(all="ignore"):
            pred = _law_np(x, *raw_to_params(p))
            value = np.mean((np.log1p(pred) - ly) ** 2)
        return value if np.isfinite(value) else 1e30

    ranges = (slice(0, 1, 0.1), slice(0, 40, 2.5), slice(0, 1, 0.25), slice(0, 1, 0.25),
              slice(0, 40, 2.5), slice(0, 1, 0.25))
    best = brute(grid_loss, ranges, finish=None, workers=1)
    p0 = list(raw_to_params(best))
    p0[5] = max(p0[5], 0.01)

    def model(xx, *p):
        with np.errstate(all="ignore"):
            out = np.log1p(_law_np(xx, *p))
        return np.where(np.isfinite(out), out, 1e3)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, _ = curve_fit(model, x, ly, p0=p0, maxfev=20_000)
    except RuntimeError:
        popt = np.asarray(p0)
    return dict(zip(("a", "b", "c0", "c1", "d1", "f1"), map(float, popt), strict=True))


def simulated_curves(n: int, rng: np.random.Generator) -> list[bb.Curve]:
    """``n`` noisy copies of one 1-break BNSL: 20 log-spaced x from 10 to 1e4, 10 seeds per
    point, per-seed sd 0.05 of log y."""
    import jax

    truth = {"a": 0.3, "b": 6.0, "c0": 0.2, "c": [0.6], "d": [300.0], "f": [0.2]}
    xs = np.geomspace(10.0, 1e4, 20)
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(xs, **truth))
    return [bb.Curve.from_arrays(xs, mu * np.exp(0.05 / np.sqrt(10) * rng.standard_normal(20)),
                                 seeds=np.full(20, 10.0)) for _ in range(n)]


def machine() -> str:
    """One line naming the machine the benchmarks ran on."""
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
            f"Python {platform.python_version()}")


def emit(result: dict, as_json: bool, width: int = 0) -> None:
    """Print a benchmark's result: one JSON object, or one ``key: value`` line per key."""
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>{width}}: {v}")


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def revisiting() -> dict:
    """All Revisiting curves: one ``fit_many`` call against the point fit curve by curve."""
    coll = bb.datasets.load("revisiting")
    curves = [coll[k] for k in coll]

    def point_fits():
        for c in curves:
            m = c.fit_mask
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                point_fit_bnsl(c.x[m], c.y[m], breaks=1)

    _, point_s = _timed(point_fits)
    fits, bayes_s = _timed(lambda: bb.fit_many(curves, breaks=1, seed=0, check=False))
    diags = [f.diagnostics() for f in fits]
    return {
        "revisiting_curves": len(curves),
        "revisiting_bayes_s": bayes_s,
        "revisiting_point_fit_s": point_s,
        "revisiting_share_rhat_le_1_01": float(np.mean([d["max_r_hat"] <= 1.01 for d in diags])),
        "revisiting_share_no_divergence": float(np.mean([d["divergences"] == 0 for d in diags])),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--many", type=int, default=100, help="curves per fit_many batch for "
                        "the warm per-curve time (default 100)")
    parser.add_argument("--revisiting", action="store_true",
                        help="also time all 92 Revisiting curves (fit_many and point fits)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    curve = bb.datasets.load("four_digit_addition")
    m = curve.fit_mask
    x, y = curve.x[m], curve.y[m]

    ref, point_s = _timed(lambda: reference_point_fit(x, y))
    _, point_vec_s = _timed(lambda: point_fit_bnsl(x, y, breaks=1))

    cold, cold_s = _timed(lambda: bb.fit(curve, seed=0))
    rng = np.random.default_rng(1)
    other = bb.Curve.from_arrays(x, y * np.exp(0.002 * rng.standard_normal(len(x))))
    warm, warm_s = _timed(lambda: bb.fit(other, seed=1))

    curves = simulated_curves(2 * args.many, rng)
    first, second = curves[: args.many], curves[args.many :]
    _, many_cold_s = _timed(lambda: bb.fit_many(first, seed=0, check=False))
    many, many_s = _timed(lambda: bb.fit_many(second, seed=args.many, check=False))
    diags = [f.diagnostics() for f in many]

    result = {
        "point_fit_s": point_s,
        "point_fit_vectorized_s": point_vec_s,
        "bayes_cold_s": cold_s,
        "bayes_warm_s": warm_s,
        "many_per_curve_s": many_s / max(args.many, 1),
        "many_cold_s": many_cold_s,
        "many_curves": args.many,
        "many_share_rhat_le_1_01": float(np.mean([d["max_r_hat"] <= 1.01 for d in diags])),
        "many_share_no_divergence": float(np.mean([d["divergences"] == 0 for d in diags])),
        "warm_over_point_fit": warm_s / point_s,
        "cold_over_point_fit": cold_s / point_s,
        "diagnostics_cold": cold.diagnostics(),
        "diagnostics_warm": warm.diagnostics(),
        "point_fit_params": ref,
        "machine": machine(),
    }
    if args.revisiting:
        result.update(revisiting())
    emit(result, args.json, width=24)
    return result


if __name__ == "__main__":
    main()
