"""Tests of the plots (headless, Agg backend).

The fit has the same shape and budget as the one in ``test_cli.py``, so in one pytest run the
sampler compiled there is reused here.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import bnsl_bayes as bb  # noqa: E402
from bnsl_bayes.data import Curve  # noqa: E402
from bnsl_bayes.plot import GRID_POINTS, plot_fit, plot_trace  # noqa: E402

LAST_FIT_X = 736.0
HELD_OUT_X = [800.0, 864.0, 928.0]


@pytest.fixture(scope="module")
def fit() -> bb.Fit:
    return bb.fit(bb.datasets.load("four_digit_addition"), seed=3, chains=2, warmup=150,
                  samples=150, check=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _lines_of_color(ax, color: str):
    return [ln for ln in ax.get_lines() if to_rgba(ln.get_color()) == to_rgba(color)]


def _median_line(ax):
    (line,) = [ln for ln in _lines_of_color(ax, "red") if ln.get_linestyle() == "-"]
    return line


def test_returns_figure_with_log_axes_by_default(fit):
    fig = plot_fit(fit)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "four_digit_addition" in ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel()
    fig.canvas.draw()  # renders headless (tick formatters included)


def test_linear_scale_on_request(fit):
    ax = plot_fit(fit, scale="linear").axes[0]
    assert ax.get_xscale() == "linear" and ax.get_yscale() == "linear"


def test_points_median_bands_and_marker(fit):
    ax = plot_fit(fit, prob=0.8).axes[0]
    median = _median_line(ax)
    assert len(median.get_xdata()) == GRID_POINTS
    (fit_pts,) = [ln for ln in _lines_of_color(ax, "black") if ln.get_marker() == "o"]
    np.testing.assert_array_equal(fit_pts.get_xdata(), fit.curve.x[fit.curve.fit_mask])
    (held,) = [ln for ln in _lines_of_color(ax, "tab:green") if ln.get_marker() == "o"]
    np.testing.assert_array_equal(held.get_xdata(), HELD_OUT_X)
    (marker,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert list(marker.get_xdata()) == [LAST_FIT_X, LAST_FIT_X]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    alphas = sorted(c.get_alpha() for c in bands)
    assert alphas[0] < alphas[1], "predictive band lighter than the band of the mean"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("80%" in t and "mean" in t for t in labels)
    assert any("80%" in t and "predictive" in t for t in labels)
    assert any("median" in t for t in labels) and any("held out" in t for t in labels)


def test_x_range_extends_past_the_data(fit):
    ax = plot_fit(fit).axes[0]
    xs = _median_line(ax).get_xdata()
    assert xs.min() < fit.curve.x.min()
    assert xs.max() >= 4 * LAST_FIT_X * (1 - 1e-9)
    assert ax.get_xlim()[1] >= xs.max() * (1 - 1e-9)
    xs2 = _median_line(plot_fit(fit, extend=1.0).axes[0]).get_xdata()
    assert xs2.max() >= max(HELD_OUT_X), "the grid covers held-out points"


def test_explicit_grid_and_seeds(fit):
    grid = np.geomspace(200, 5000, 17)
    ax = plot_fit(fit, x=grid, seeds=7).axes[0]
    np.testing.assert_allclose(_median_line(ax).get_xdata(), grid)
    table = fit.predict(grid, seeds=7, prob=0.9)
    np.testing.assert_allclose(_median_line(ax).get_ydata(), table["median"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("7 seeds" in t for t in labels)


def test_reuses_given_axes(fit):
    fig, (left, right) = plt.subplots(1, 2)
    out = plot_fit(fit, ax=right)
    assert out is fig
    assert len(fig.axes) == 2
    assert not left.get_lines() and right.get_lines()


def test_fit_plot_delegates(fit):
    fig = fit.plot(scale="linear")
    assert isinstance(fig, Figure) and fig.axes[0].get_xscale() == "linear"


@pytest.mark.parametrize("kwargs", [{"scale": "cubic"}, {"extend": 0.5}, {"prob": 1.5},
                                    {"seeds": 0}, {"x": [-1.0, 2.0]}])
def test_bad_arguments(fit, kwargs):
    with pytest.raises(ValueError):
        plot_fit(fit, **kwargs)


def test_trace_plot(fit):
    fig = plot_trace(fit)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 7  # a, b, c0, c, d, f, sigma: density and trace each


# ---------------------------------------------------------------------------- no sampling
class _StubFit:
    """What plot_fit reads of a Fit, with a known band (a linear-space curve crossing 0)."""

    def __init__(self) -> None:
        x = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
        self.curve = Curve.from_arrays(x, [2.0, 1.0, 0.4, 0.1, -0.05, -0.1],
                                       held_out=x > 10, name="stub")
        self.space = "linear"
        self.spec = type("Spec", (), {"name": "bnsl-0"})()

    def predict(self, x, *, seeds=None, prob=0.9, drift=None) -> pd.DataFrame:
        x = np.asarray(x, dtype=float)
        med = 2.0 / x - 0.15
        return pd.DataFrame({"x": x, "median": med, "mean_lo": med - 0.05, "mean_hi": med + 0.05,
                             "pred_lo": med - 0.2, "pred_hi": med + 0.2})


def test_log_scale_keeps_linear_y_when_y_reaches_zero():
    ax = plot_fit(_StubFit()).axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    lo, hi = ax.get_ylim()
    assert lo < -0.1 and hi > 2.0
    assert "stub" in ax.get_title()
