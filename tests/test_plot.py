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
from bnsl_bayes import seeds  # noqa: E402
from bnsl_bayes.data import Curve  # noqa: E402
from bnsl_bayes.plot import (  # noqa: E402
    GRID_POINTS,
    BreakLabeller,
    plot_fit,
    plot_fits,
    plot_trace,
)

LAST_FIT_X = 736.0
HELD_OUT_X = [800.0, 864.0, 928.0]


@pytest.fixture(scope="module")
def fit() -> bb.Fit:
    return bb.fit(bb.datasets.load("four_digit_addition"), seed=3,
                  sampler=bb.SamplerConfig(chains=2, warmup=150, samples=150, method="nuts"),
                  check=False)


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


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_trace_plot(fit):
    fig = plot_trace(fit)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * 7  # a, b, c0, c1, d1, f1, sigma: density and trace each
    names = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert names == ["a", "b", "c0", "c1", "d1", "f1", "sigma"]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        ticks = sorted((t.get_window_extent(r) for t in ax.get_xticklabels()
                        if t.get_visible() and t.get_text()), key=lambda b: b.x0)
        assert len(ticks) >= 2
        for left, right in zip(ticks, ticks[1:], strict=False):
            assert left.x1 < right.x0, f"tick labels collide under {ax.get_xlabel()!r}"
        label = ax.xaxis.label.get_window_extent(r)
        for other in fig.axes:
            if other is not ax:
                assert not _overlap(label, other.get_window_extent(r)), \
                    f"label {ax.get_xlabel()!r} hidden under another panel"


def test_trace_plot_var_names(fit):
    fig = plot_trace(fit, var_names=["d", "sigma"])
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()] == ["d1", "sigma"]
    with pytest.raises(ValueError, match="'log_c'.*not a posterior variable"):
        plot_trace(fit, var_names=["log_c"])


# ---------------------------------------------------------------------------- ArviZ names
def test_summary_names_breaks_as_the_package_and_uses_90_percent(fit):
    table = fit.summary()
    assert {"c1", "d1", "f1"} <= set(table.index)
    assert not any("[" in str(name) for name in table.index)
    assert "eti90_lb" in table.columns and "eti90_ub" in table.columns
    np.testing.assert_allclose(table.loc["d1", "mean"],
                               fit.data["posterior"]["d"].sel({"break": 1}).mean(), rtol=0.01)
    assert list(fit.summary(var_names=["c", "sigma"]).index) == ["c1", "sigma"]
    assert "c1" not in fit.summary(var_names=["~c", "~log_b"]).index
    assert "eti50_lb" in fit.summary(ci_prob=0.5, kind="stats").columns


def test_arviz_pair_plot_of_the_breaks_with_the_package_names(fit):
    import arviz as az

    pc = az.plot_pair(fit.data, var_names=["c", "d", "f"], labeller=BreakLabeller(),
                      backend="matplotlib")
    fig = pc.viz["figure"].item()
    labels = {ax.get_xlabel() for ax in fig.axes} | {ax.get_ylabel() for ax in fig.axes}
    assert {"c1", "d1", "f1"} <= labels


# ---------------------------------------------------------------------------- seeds heat map
class _StubStudy:
    """What plot_heatmap reads of a seeds study: 6 x 5 cells, the break between two cutoffs."""

    def __init__(self, cutoffs=(300.0, 390.0, 405.0, 500.0, 700.0), d=612.6) -> None:
        self.seed_counts = [1, 10, 100, 1000, 10_000, 100_000]
        self.cutoffs = list(cutoffs)
        rng = np.random.default_rng(0)
        self.summary = pd.DataFrame([
            {"seeds": n, "x_max": c, "median_rel_width": rng.uniform(0.02, 2.0),
             "median_abs_log_error": rng.uniform(0.01, 1.5), "coverage": rng.uniform(),
             "share_extrapolate": rng.uniform()}
            for n in self.seed_counts for c in self.cutoffs])
        self.truths = [{"d": [d]}]


@pytest.mark.parametrize("cutoffs", [(300.0, 390.0, 700.0, 800.0), (300.0, 390.0, 405.0, 700.0),
                                     (300.0, 390.0)])
def test_heatmap_title_clear_of_the_break_label(cutoffs):
    fig = seeds.plot_heatmap(_StubStudy(cutoffs))
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    titles = [t.get_window_extent(r) for t in (ax.title, ax._left_title, ax._right_title)
              if t.get_text()]
    breaks = [t for t in ax.texts if "break" in t.get_text()]
    for t in breaks:
        box = t.get_window_extent(r)
        assert all(not _overlap(box, title) for title in titles)
        assert ax.get_window_extent(r).contains(box.x0, box.y0) and \
            ax.get_window_extent(r).contains(box.x1, box.y1), "break label inside the axes"
    if len(cutoffs) == 2:
        assert not breaks and "outside the cutoffs" in ax._left_title.get_text()


def test_heatmap_values_readable_on_light_cells():
    fig = seeds.plot_heatmap(_StubStudy(), "coverage")
    ax = fig.axes[0]
    (im,) = ax.images
    for t in ax.texts:
        if "break" in t.get_text():
            continue
        r, g, b, _ = im.cmap(im.norm(float(t.get_text())))
        light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
        assert to_rgba(t.get_color()) == to_rgba("black" if light else "white")


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


def _stub(shift: float = 0.0, name: str = "stub", x_label: str | None = None) -> _StubFit:
    f = _StubFit()
    if shift or name != "stub":
        c = f.curve
        f.curve = Curve.from_arrays(c.x, c.y + shift, held_out=c.held_out, name=name)
        base = f.predict

        def predict(x, **kw) -> pd.DataFrame:
            t = base(x, **kw)
            t[["median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"]] += shift
            return t

        f.predict = predict
    if x_label is not None:
        object.__setattr__(f.curve, "x_label", x_label)
    return f


def test_several_curves_keep_their_colour_and_one_legend_entry_each():
    fig, ax = plt.subplots()
    for f, label, color in [(_stub(0.0, "a"), "first", "tab:blue"),
                            (_stub(10.0, "b"), "second", "tab:orange")]:
        plot_fit(f, ax=ax, label=label, color=color)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["first", "second"]
    assert not _lines_of_color(ax, "red"), "no curve falls back to the default red"
    for color in ("tab:blue", "tab:orange"):
        lines = _lines_of_color(ax, color)
        assert {ln.get_linestyle() for ln in lines} == {"-", "None", "--"}  # median, points, last
        held = [ln for ln in lines if to_rgba(ln.get_markerfacecolor()) == to_rgba("white")]
        np.testing.assert_array_equal(held[0].get_xdata(), [16.0, 32.0])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 4
    assert {to_rgba(c.get_facecolor()[0])[:3] for c in bands} == {
        to_rgba("tab:blue")[:3], to_rgba("tab:orange")[:3]}


def test_y_limits_cover_every_curve_on_the_axes():
    fig, ax = plt.subplots()
    plot_fit(_stub(0.0), ax=ax, label="low", color="C0")
    plot_fit(_stub(10.0), ax=ax, label="high", color="C1")
    lo, hi = ax.get_ylim()
    assert lo < -0.1 and hi > 12.0
    fig, ax = plt.subplots()
    plot_fit(_stub(10.0), ax=ax, label="high", color="C1")
    plot_fit(_stub(0.0), ax=ax, label="low", color="C0")
    assert ax.get_ylim()[0] < -0.1 and ax.get_ylim()[1] > 12.0, "in either order"


def test_unlabelled_curves_explain_the_legend_once():
    fig, ax = plt.subplots()
    plot_fit(_stub(0.0), ax=ax)
    plot_fit(_stub(1.0), ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == len(set(labels)) == 6  # two bands, median, points, held out, marker


def test_axis_labels_from_the_curve():
    ax = plot_fit(_stub(x_label="training set size")).axes[0]
    assert ax.get_xlabel() == "training set size" and ax.get_ylabel() == "y"
    ax = plot_fit(_stub(x_label="training set size"), xlabel="n").axes[0]
    assert ax.get_xlabel() == "n"


def test_plot_fits_colours_from_one_colormap():
    fits = [_stub(float(k), f"curve {k}") for k in range(3)]
    fig = plot_fits(fits, cmap="plasma")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["curve 0", "curve 1",
                                                                   "curve 2"]
    cmap = matplotlib.colormaps["plasma"]
    medians = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert [to_rgba(ln.get_color()) for ln in medians] == [cmap(v) for v in
                                                           np.linspace(0, 0.85, 3)]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3, "one band per curve by default: the credible band of the mean"
    assert ax.get_ylim()[0] < -0.1 and ax.get_ylim()[1] > 4.0
    assert ax.get_title().startswith("3 fits")
    ax = plot_fits({"A": fits[0], "B": fits[1]}).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A", "B"]


@pytest.mark.parametrize("kwargs, match", [({"labels": ["one"]}, "one label per fit"),
                                           ({"cmap": "nope"}, "colormap"),
                                           ({"bands": "all"}, "bands")])
def test_plot_fits_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_fits([_stub(0.0), _stub(1.0)], **kwargs)
    with pytest.raises(ValueError, match="empty"):
        plot_fits([])
