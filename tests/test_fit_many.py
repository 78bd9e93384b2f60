"""``fit_many``: many curves through one compiled sampler, the same posteriors as ``fit``.

The budget is test_fit's FAST, so the single-curve program (16 padded points, batch of one: the
default on a CPU) is shared with test_fit; only test_batch_size_does_not_change_draws compiles a
batch of two.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import bnsl_bayes as bb
from bnsl_bayes import inference
from bnsl_bayes.model import ModelData, Scaling, marginal_log_likelihood

FAST = {"chains": 4, "warmup": 500, "samples": 500, "check": False}


def _curves() -> list[bb.Curve]:
    full = bb.datasets.load("four_digit_addition")
    m = full.fit_mask
    x, y = full.x[m], full.y[m]
    rng = np.random.default_rng(3)
    short = bb.Curve.from_arrays(x[:12], y[:12] * np.exp(0.003 * rng.standard_normal(12)),
                                 name="short")
    return [full, short]


CALLS: list[tuple[int, int]] = []


@pytest.fixture(scope="module")
def many() -> list[bb.Fit]:
    return bb.fit_many(_curves(), seed=5, progress=lambda d, t: CALLS.append((d, t)), **FAST)


def test_progress_is_reported_per_batch(many):
    # One curve per compiled call on a CPU, the whole batch on an accelerator.
    cpu = jax.default_backend() == "cpu"
    assert CALLS == ([(1, 2), (2, 2)] if cpu else [(2, 2)])
    assert inference.default_batch(50) == (1 if cpu else 50)


def _posterior(f: bb.Fit) -> dict[str, np.ndarray]:
    return {k: f.data.posterior[k].values for k in ("a", "b", "c0", "c", "d", "f", "sigma")}


def test_fit_many_equals_fit_curve_by_curve(many):
    # Curve i gets seed + i; lengths 14 and 12 share the padded length 16 and one program.
    assert [f.seed for f in many] == [5, 6]
    single = bb.fit(_curves()[1], seed=6, **FAST)
    for k, v in _posterior(single).items():
        np.testing.assert_array_equal(v, _posterior(many[1])[k], err_msg=k)
    np.testing.assert_array_equal(single.predict([500.0, 2000.0]).to_numpy(),
                                  many[1].predict([500.0, 2000.0]).to_numpy())


def test_fit_many_keeps_each_curve(many):
    full, short = _curves()
    assert many[0].data.observed_data["y"].shape == (14,)
    assert many[1].data.observed_data["y"].shape == (12,)
    assert "held_out_data" in many[0].data.children and "held_out_data" not in many[1].data
    assert many[1].data.attrs["curve_name"] == "short"
    # The padding points do not enter a fit: the log likelihood has one column per real point.
    assert many[1].data.log_likelihood["y"].shape[-1] == 12


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="a batch of one matches fit_many's "
                    "batch on a CPU only")
def test_mode_search_is_shared_by_samplers_of_other_budgets(many):
    """The mode search is a program of its own, keyed on the settings it uses: a fit of the
    same shape with another budget compiles its chains only."""
    before = inference.trace_count()
    bb.fit(_curves()[0], seed=5, chains=4, warmup=5, samples=5, check=False)
    assert inference.trace_count() == before + 1


def test_no_recompilation_for_same_shape(many):
    before = inference.trace_count()
    rng = np.random.default_rng(9)
    others = [bb.Curve.from_arrays(c.x[c.fit_mask],
                                   c.y[c.fit_mask] * np.exp(0.01 * rng.standard_normal(
                                       int(c.fit_mask.sum())))) for c in _curves()]
    again = bb.fit_many(others, seed=11, **FAST)
    assert inference.trace_count() == before
    assert not np.array_equal(again[0].data.posterior["a"].values,
                              many[0].data.posterior["a"].values)


# The budget and curve length of tests/test_compare.py and tests/test_fit_extremes.py: the
# one-curve program of bnsl-0 on 8 points is compiled once for the session.
SMALL = {"chains": 2, "warmup": 150, "samples": 150, "check": False}


def test_batch_size_does_not_change_draws():
    # One call of the two-curve program gives what two calls of the one-curve program gave
    # (bnsl-0 on 8 points: the cheapest program to compile twice).
    x = np.geomspace(10.0, 1e4, 8)
    rng = np.random.default_rng(4)
    curves = [bb.Curve.from_arrays(x, (0.2 + 5.0 * x**-0.4) * np.exp(
        0.02 * rng.standard_normal(8))) for _ in range(2)]
    one = bb.fit_many(curves, breaks=0, seed=5, batch_size=1, **SMALL)
    two = bb.fit_many(curves, breaks=0, seed=5, batch_size=2, **SMALL)
    for a, b in zip(two, one, strict=True):
        for k in ("a", "b", "c0", "sigma"):
            np.testing.assert_array_equal(a.data.posterior[k].values, b.data.posterior[k].values)


@pytest.mark.parametrize(
    ("curves", "kwargs", "match"),
    [
        ([np.arange(3)], {}, r"curves\[0\] is a ndarray: expected a Curve"),
        ([bb.Curve.from_arrays([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], name="tiny")], {},
         r"curves\[0\] \('tiny'\): .*fewer"),
        ({"named": np.arange(3)}, {}, r"curves\[0\] is a ndarray"),
        ([], {"batch_size": 0}, r"batch_size = 0"),
        ([], {"breaks": 7}, r"breaks = 7"),
        ([], {"seed": -1}, r"seed = -1"),
        ([], {"progress": "yes"}, r"progress = 'yes'"),
    ],
)
def test_fit_many_bad_input_named_before_sampling(monkeypatch, curves, kwargs, match):
    def boom(*args, **kw):  # pragma: no cover - reached only on a bug
        raise AssertionError("sampling started")

    monkeypatch.setattr(bb.fitting, "run_nuts_batch", boom)
    with pytest.raises(ValueError, match=match):
        bb.fit_many(curves, **kwargs)


def test_fit_many_of_nothing_is_empty():
    assert bb.fit_many([]) == []


def test_padding_leaves_the_likelihood_unchanged():
    curve = _curves()[1]
    scaling = Scaling.from_curve(curve, "log")
    data = ModelData.from_curve(curve, scaling)
    rng = np.random.default_rng(0)
    resid = 0.01 * rng.standard_normal(data.n_points)
    padded = data.padded(20)
    assert padded.n_points == 20 and float(np.sum(padded.mask)) == 12
    junk = np.concatenate([resid, 5.0 * np.ones(8)])  # padding residuals must not count
    with jax.enable_x64(True):
        exact = float(marginal_log_likelihood(resid, data, 1.0, 1e-8))
        masked = float(marginal_log_likelihood(junk, padded, 1.0, 1e-8))
    assert masked == pytest.approx(exact, rel=1e-12)
    with pytest.raises(ValueError, match="at least the 12 points"):
        data.padded(10)


def test_padded_length_buckets():
    assert [inference.padded_length(n) for n in (1, 8, 9, 14, 16, 17, 300)] == [
        8, 8, 16, 16, 16, 24, 304]


def test_revisiting_time_rows_and_summary(many):
    """benchmarks/revisiting_time.py: per-curve rows from real fits, and the summary's split
    of the time between curves with saturated NUTS trees and the others."""
    from benchmarks.revisiting_time import per_curve, summarize

    rows = per_curve(["full", "short"], many, [3.0, 1.0])
    assert [r["points"] for r in rows] == [14, 12]
    for r, f in zip(rows, many, strict=True):
        depth = f.data.sample_stats["tree_depth"].values
        assert r["share_max_depth"] == pytest.approx(np.mean(depth >= 10))  # the default
        assert r["max_r_hat"] == f.diagnostics()["max_r_hat"]
        assert r["mean_steps"] == pytest.approx(f.data.sample_stats["n_steps"].values.mean())

    def row(s, share, r_hat):
        return {"s": s, "share_max_depth": share, "max_r_hat": r_hat}

    # the first row (compilation) is left out of every sum
    synthetic = [row(30.0, 0.5, 1.0), row(10.0, 0.4, 1.2), row(2.0, 0.0, 1.005),
                 row(4.0, 0.05, 1.001), row(6.0, 0.2, 1.002)]
    out = summarize(synthetic, 0.1)
    assert out["first_curve_s"] == 30.0 and out["other_curves_s"] == 22.0
    assert out["saturated_curves"] == 2 and out["saturated_s"] == 16.0
    assert out["saturated_share_of_time"] == pytest.approx(16.0 / 22.0)
    assert out["curves_touching_max_depth"] == 3
    assert out["median_s_saturated"] == 8.0 and out["median_s_other"] == 3.0
    assert out["unsaturated_pace_s"] == pytest.approx(3.0 * 4)
    assert (out["r_hat_le_1_01_saturated"], out["r_hat_le_1_01_other"]) == (1, 2)
