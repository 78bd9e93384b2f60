"""What padding a curve to more points costs a warm fit (why ``fit_many`` does not pad every
curve to one long length for free).

The 4-digit-addition curve (14 fit points) is fitted with the default settings (1 break, 4
chains x (1000 + 1000)) with ``fit_many``'s padding forced to 16, 72 and 128 points: one fit
compiles each length, then four perturbed copies (multiplicative noise sd 0.002, seeds 1-4)
are timed warm. Padded points are masked out of the likelihood, but the law is still evaluated
at them at every leapfrog step.

Usage: ``python -m benchmarks padding [--lengths 16,72,128] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import bnsl_bayes as bb
from bnsl_bayes.sampling import nuts as inference


def measure(lengths: list[int], copies: int = 4) -> list[dict]:
    curve = bb.datasets.load("four_digit_addition")
    m = curve.fit_mask
    x, y = curve.x[m], curve.y[m]
    rng = np.random.default_rng(1)
    others = [bb.Curve.from_arrays(x, y * np.exp(0.002 * rng.standard_normal(len(x))))
              for _ in range(copies)]
    original = inference.padded_length
    out = []
    try:
        for length in lengths:
            inference.padded_length = lambda n, length=length: max(length, original(n))
            bb.fit(curve, seed=0, check=False)  # compiles this length
            t0 = time.perf_counter()
            for i, other in enumerate(others):
                bb.fit(other, seed=i + 1, check=False)
            out.append({"padded_points": length,
                        "warm_fit_s": (time.perf_counter() - t0) / len(others)})
    finally:
        inference.padded_length = original
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="16,72,128",
                        help="padded lengths, comma-separated (default 16,72,128)")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    args = parser.parse_args(argv)
    try:
        lengths = [int(v) for v in args.lengths.split(",")]
    except ValueError:
        parser.error(f"--lengths {args.lengths!r}: expected whole numbers, comma-separated")
    if min(lengths) < 14:
        parser.error("--lengths: each must be >= 14 (the curve's fit points)")
    out = measure(lengths)
    if args.json:
        print(json.dumps(out))
    else:
        for r in out:
            print(f"padded to {r['padded_points']:>4} points: {r['warm_fit_s']:.2f} s per warm fit")
    return out


if __name__ == "__main__":
    main()
