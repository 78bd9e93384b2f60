"""Checks of the benchmark scripts themselves: their arithmetic on known inputs.

These guard the scripts, not the package (the package's tests import nothing from here).
``--quick`` leaves out the one check that fits curves (about a minute to compile).

Usage: ``python -m benchmarks self_check [--quick]``.
"""

from __future__ import annotations

import math

import numpy as np

import bnsl_bayes as bb
from benchmarks._runner import run_checks


def check_revisiting_summary() -> None:
    """revisiting_time.summarize: the split of the time between curves with saturated NUTS
    trees and the others, the first row (compilation) left out of every sum."""
    from benchmarks.revisiting_time import summarize

    def row(s, share, r_hat):
        return {"s": s, "share_max_depth": share, "max_r_hat": r_hat}

    synthetic = [row(30.0, 0.5, 1.0), row(10.0, 0.4, 1.2), row(2.0, 0.0, 1.005),
                 row(4.0, 0.05, 1.001), row(6.0, 0.2, 1.002)]
    out = summarize(synthetic, 0.1)
    assert out["first_curve_s"] == 30.0 and out["other_curves_s"] == 22.0, out
    assert out["saturated_curves"] == 2 and out["saturated_s"] == 16.0, out
    assert math.isclose(out["saturated_share_of_time"], 16.0 / 22.0), out
    assert out["curves_touching_max_depth"] == 3, out
    assert out["median_s_saturated"] == 8.0 and out["median_s_other"] == 3.0, out
    assert math.isclose(out["unsaturated_pace_s"], 3.0 * 4), out
    assert (out["r_hat_le_1_01_saturated"], out["r_hat_le_1_01_other"]) == (1, 2), out


def check_revisiting_rows() -> None:
    """revisiting_time.per_curve: one row per real fit (fits two short curves)."""
    from benchmarks.revisiting_time import per_curve

    full = bb.datasets.load("four_digit_addition")
    m = full.fit_mask
    curves = [bb.Curve.from_arrays(full.x[m], full.y[m]),
              bb.Curve.from_arrays(full.x[m][:12], full.y[m][:12])]
    fits = bb.fit_many(curves, seed=5, sampler=bb.SamplerConfig(chains=2, warmup=150, samples=150,
                                                                method="nuts"),
                       check=False)
    rows = per_curve(["full", "short"], fits, [3.0, 1.0])
    assert [r["points"] for r in rows] == [14, 12], rows
    for r, f in zip(rows, fits, strict=True):
        depth = f.data.sample_stats["tree_depth"].values
        assert math.isclose(r["share_max_depth"], np.mean(depth >= 10)), r  # the default
        assert r["max_r_hat"] == f.diagnostics()["max_r_hat"], r
        assert math.isclose(r["mean_steps"], f.data.sample_stats["n_steps"].values.mean()), r


CHEAP = (check_revisiting_summary,)
FITTING = (check_revisiting_rows,)


def main(argv: list[str] | None = None) -> int:
    return run_checks(__doc__, CHEAP, FITTING, argv)
