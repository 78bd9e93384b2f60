"""Plots of a fit: data, posterior median and bands (matplotlib), families of fits on one
axes, and trace plots (ArviZ).

The conventions of the BNSL paper: black points were used for fitting, green points are held out
to judge extrapolation, the red line is the fitted law. Given a ``color``, a curve takes it for
its line, bands and points (held-out points hollow), so that several fits share one axes
(:func:`plot_fits`). :func:`plot_fit` and :func:`plot_fits` take ``ax=None`` (a new figure) or
an existing axes; every function returns the :class:`matplotlib.figure.Figure` and never calls
``plt.show()``: it works headless with any backend (``Agg`` included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol
from weakref import WeakKeyDictionary

import arviz  # noqa: F401  (first: importing "arviz" keeps the package's NumPyro-first order)
import numpy as np
import xarray as xr
from arviz_base.labels import BaseLabeller
from matplotlib.ticker import Formatter, LogFormatterSciNotation
from numpy.typing import ArrayLike

from .data import Curve
from .drift import Drift

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure
    from matplotlib.typing import ColorType

    from .forms import Form
    from .spec import ModelSpec

__all__ = ["BreakLabeller", "per_break_variables", "plot_fit", "plot_fits", "plot_trace"]


class Fit(Protocol):
    """What the plots read of a fit (:class:`bnsl_bayes.result.Fit` is one; the plots sit below
    the result in the package's layers, so they name its interface, not its class)."""

    curve: Curve
    spec: ModelSpec
    data: xr.DataTree

    @property
    def space(self) -> str: ...

    @property
    def form(self) -> Form: ...

    @property
    def breaks(self) -> int: ...

    def predict(self, x: ArrayLike, *, seeds: ArrayLike | int | None = None, prob: float = 0.9,
                drift: Drift | None = None) -> pd.DataFrame: ...


FIT_COLOR = "black"
HELD_OUT_COLOR = "tab:green"
MEDIAN_COLOR = "red"
MEAN_BAND_ALPHA = 0.35
PRED_BAND_ALPHA = 0.12
GRID_POINTS = 300
# The gid of the artist that carries the legend's explanation of bands and points on an axes,
# so that a second curve drawn there does not repeat it.
_EXPLAINED = "bnsl-bayes-explained"
_HELD_OUT = "bnsl-bayes-held-out"
# A labelled median line -> its bands and itself: the legend draws the line over its band.
_LEGEND_GROUPS: WeakKeyDictionary = WeakKeyDictionary()


def _default_seeds(fit: Fit) -> int:
    """Runs per point of the curve when they all agree (so bands compare with the points)."""
    s = np.unique(np.asarray(fit.curve.seeds, dtype=float))
    return int(s[0]) if len(s) == 1 else 1


def _grid(fit: Fit, extend: float) -> np.ndarray:
    """Log-spaced x from just below the first point to ``extend`` x the last fit point."""
    x = np.asarray(fit.curve.x, dtype=float)
    last_fit = float(x[fit.curve.fit_mask].max())
    lo = float(x.min()) / 1.1
    hi = max(last_fit * extend, float(x.max()) * 1.1)
    return np.geomspace(lo, hi, GRID_POINTS)


def plot_fit(
    fit: Fit,
    *,
    ax: Axes | None = None,
    x: ArrayLike | None = None,
    prob: float = 0.9,
    seeds: int | None = None,
    scale: Literal["log", "linear"] = "log",
    extend: float = 4.0,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    drift: Drift | None = None,
    color: ColorType | None = None,
    label: str | None = None,
    bands: Literal["both", "mean", "none"] = "both",
) -> Figure:
    """Plot the data, the posterior median and the bands of a fit.

    Fit points are black, held-out points green, the posterior median of the mean curve is the
    red line; the darker shade is the central ``prob`` credible band of the mean curve and the
    lighter one the (wider) predictive band of a new point averaged over ``seeds`` runs. A
    dashed vertical line marks the last fit point, after which the law is extrapolated.

    Several fits can share one axes: call it once per fit with the same ``ax``, a ``color``
    and a ``label`` each (or use :func:`plot_fits`). The y limits then cover every curve drawn
    there, and the legend holds one entry per labelled curve.

    Parameters
    ----------
    fit : Fit
        The result of :func:`bnsl_bayes.fit` or :func:`bnsl_bayes.load`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; by default a new figure is made (with ``matplotlib.pyplot``). When
        the axes already hold data, the y limits grow to cover them and this curve.
    x : array_like, optional
        Points (> 0) at which to draw the curve and bands. Default: 300 log-spaced points from
        just below the first data point to ``extend`` times the last fit point (and past every
        held-out point).
    prob : float
        Probability of the central bands, in (0, 1).
    seeds : int, optional
        Number of runs a new point averages over, for the predictive band. Default: the number
        of runs behind every data point when they all agree, else 1.
    scale : {"log", "linear"}
        ``"log"``: log-log axes (log x only when some y <= 0), as in the paper; ``"linear"``:
        linear-linear axes, where the inflection of a break shows.
    extend : float
        How far past the last fit point the default grid reaches, as a factor of x (>= 1).
    xlabel, ylabel : str, optional
        Axis labels; default the curve's ``x_label`` and ``y_label`` (``"x"``, ``"y"`` for a
        curve that names neither).
    title : str, optional
        Title; default: the curve's name and the model on empty axes, else the axes' title is
        kept.
    drift : Drift, optional
        Draw the bands with the law's leave-future-out drift past the data
        (:func:`bnsl_bayes.calibrate_drift`). Its Cauchy slope errors can make the bands
        very wide far out; as always, the y axis shows them only up to a margin beyond the
        data and the median.
    color : matplotlib color, optional
        Colour of this curve: its median, its bands, its points (held-out points hollow) and
        its last-fit marker. Default: the paper's colours (red curve, black and green points).
    label : str, optional
        Name of this curve in the legend: one entry, its median line over its band. Without
        it, the legend explains the bands and the points instead (once per axes).
    bands : {"both", "mean", "none"}
        Which bands to draw: both, only the credible band of the mean curve, or none.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding ``ax``.

    Raises
    ------
    ValueError
        Unknown ``scale`` or ``bands``, ``extend`` < 1, or a bad ``prob``, ``x`` or ``seeds``
        (see :meth:`~bnsl_bayes.result.Fit.predict`).
    """
    if scale not in ("log", "linear"):
        raise ValueError(f"scale = {scale!r}: expected 'log' (log-log axes) or 'linear'")
    if bands not in ("both", "mean", "none"):
        raise ValueError(f"bands = {bands!r}: expected 'both', 'mean' or 'none'")
    if isinstance(extend, bool) or not isinstance(extend, int | float) or not (
        np.isfinite(extend) and extend >= 1
    ):
        raise ValueError(f"extend = {extend!r}: expected a finite factor >= 1 (e.g. 4)")
    if label is not None and not isinstance(label, str):
        raise ValueError(f"label = {label!r}: expected a string (the curve's legend entry)")
    if seeds is None:
        seeds = _default_seeds(fit)
    grid = _grid(fit, float(extend)) if x is None else np.sort(np.atleast_1d(x).astype(float))
    band = fit.predict(grid, prob=prob, seeds=seeds, drift=drift)

    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.0, 4.5), layout="constrained")
    else:
        fig = ax.figure
    # What the axes held before this curve: its limits are kept in the union, and the legend's
    # explanation of bands and points is given by the first curve only.
    had_data = ax.has_data()
    old_ylim = ax.get_ylim()
    explained = any(a.get_gid() == _EXPLAINED for a in ax.get_children())

    curve = fit.curve
    m = curve.fit_mask
    xs = band["x"].to_numpy()
    line_color = MEDIAN_COLOR if color is None else color
    explain = label is None and not explained

    def legend(text: str) -> str:
        return text if explain else "_nolegend_"

    shades = []
    if bands == "both":
        shades.append(ax.fill_between(
            xs, band["pred_lo"], band["pred_hi"], color=line_color, alpha=PRED_BAND_ALPHA,
            linewidth=0,
            label=legend(f"{prob:.0%} predictive band ({seeds} seed{'s' if seeds != 1 else ''})"
                         + (", with drift" if drift is not None else "")),
        ))
    if bands in ("both", "mean"):
        shades.append(ax.fill_between(
            xs, band["mean_lo"], band["mean_hi"], color=line_color, alpha=MEAN_BAND_ALPHA,
            linewidth=0, label=legend(f"{prob:.0%} credible band of the mean"),
        ))
    (median,) = ax.plot(xs, band["median"], color=line_color, linewidth=1.8,
                        label=label if label is not None else legend("posterior median"))
    if shades and label is not None:
        _LEGEND_GROUPS[median] = (*shades, median)
    size = 4.5 if curve.n_points <= 100 else 2.5
    (fit_pts,) = ax.plot(curve.x[m], curve.y[m], "o",
                         color=FIT_COLOR if color is None else color, markersize=size,
                         label=legend(f"fit points ({int(m.sum())})"))
    if curve.held_out.any():
        h = curve.held_out
        style = ({"color": HELD_OUT_COLOR} if color is None
                 else {"color": color, "markerfacecolor": "white"})
        ax.plot(curve.x[h], curve.y[h], "o", markersize=size, **style,
                label=legend(f"held out ({int(h.sum())})"), gid=_HELD_OUT)
    last_fit = float(curve.x[m].max())
    ax.axvline(last_fit, color="0.4" if color is None else color, linestyle="--",
               linewidth=1.0, alpha=1.0 if color is None else 0.6,
               label=legend(f"last fit point (x = {last_fit:.4g})"))
    if explain:
        fit_pts.set_gid(_EXPLAINED)

    if scale == "log":
        ax.set_xscale("log")
        # Log y only while every curve on the axes is positive: a curve that reaches 0 turns
        # the axes linear, and a later positive one leaves it so.
        positive = bool(np.all(curve.y > 0))
        if positive and (not had_data or ax.get_yscale() == "log"):
            ax.set_yscale("log")
        elif not positive:
            ax.set_yscale("linear")
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            _plain_log_labels(axis)
    lo, hi = _ylim(curve.y, band, log=ax.get_yscale() == "log")
    if had_data:
        lo, hi = min(lo, *old_ylim), max(hi, *old_ylim)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(_axis_label(fit, "x") if xlabel is None else xlabel)
    ax.set_ylabel(_axis_label(fit, "y") if ylabel is None else ylabel)
    if title is None and not had_data:
        name = curve.name or "curve"
        title = f"{name}: {fit.spec.name}, {fit.space} noise"
    if title is not None:
        ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    handles = [_LEGEND_GROUPS.get(h, h) for h in handles]
    legend_title = None
    if label is not None:
        what = {"both": f"lines: median; shades: {prob:.0%} credible and predictive bands",
                "mean": f"lines: median; shades: {prob:.0%} credible band of the mean",
                "none": "lines: posterior median"}[bands]
        if color is not None and any(a.get_gid() == _HELD_OUT for a in ax.get_children()):
            what += "\nhollow points: held out"
        legend_title = what
    ax.legend(handles, labels, fontsize="small", loc="best", title=legend_title,
              title_fontsize="small", alignment="left")
    return fig


def plot_fits(
    fits: Sequence[Fit] | Mapping[str, Fit],
    *,
    ax: Axes | None = None,
    cmap: str | Colormap = "viridis",
    labels: Sequence[str] | None = None,
    prob: float = 0.9,
    bands: Literal["both", "mean", "none"] = "mean",
    scale: Literal["log", "linear"] = "log",
    extend: float = 4.0,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """Plot a family of fits on one axes, coloured from one colormap.

    Each fit is drawn by :func:`plot_fit` with its own colour and one legend entry; the y
    limits cover every curve.

    Parameters
    ----------
    fits : sequence of Fit, or mapping of label to Fit
        The fits, e.g. the list :func:`bnsl_bayes.fit_many` returns.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; by default a new figure.
    cmap : str or matplotlib.colors.Colormap
        Colormap the colours are taken from, evenly in input order (for ``viridis``, dark
        purple to green; its pale yellow end is left out, it hardly shows on white).
    labels : sequence of str, optional
        One legend entry per fit. Default: the keys of a mapping, else the curves' names (with
        the model's name where two curves share one, ``curve i`` where a curve has none).
    prob : float
        Probability of the central bands, in (0, 1).
    bands : {"both", "mean", "none"}
        Bands drawn per curve; default only the credible band of the mean, which keeps a
        family readable.
    scale, extend
        As in :func:`plot_fit`.
    xlabel, ylabel : str, optional
        Axis labels; default those of the first fit's curve.
    title : str, optional
        Title; default the number of fits and their model when they share one.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No fits, ``labels`` of another length, an unknown colormap, or a bad argument of
        :func:`plot_fit`.
    """
    import matplotlib

    if isinstance(fits, Mapping):
        if labels is None:
            labels = [str(k) for k in fits]
        fits = list(fits.values())
    fits = list(fits)
    if not fits:
        raise ValueError("fits is empty: expected at least one Fit (e.g. from bb.fit_many)")
    if labels is None:
        labels = _default_labels(fits)
    elif isinstance(labels, str) or len(labels) != len(fits):
        raise ValueError(f"labels = {labels!r}: expected one label per fit ({len(fits)})")
    try:
        colormap = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    except KeyError:
        raise ValueError(f"cmap = {cmap!r}: not a matplotlib colormap (e.g. 'viridis', "
                         f"'plasma', 'tab10')") from None
    n = len(fits)
    colors = [colormap(v) for v in np.linspace(0.0, 0.85, n)] if n > 1 else [colormap(0.0)]
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.0, 4.5), layout="constrained")
    for f, lab, col in zip(fits, labels, colors, strict=True):
        plot_fit(f, ax=ax, prob=prob, scale=scale, extend=extend, xlabel=xlabel, ylabel=ylabel,
                 title="", color=col, label=str(lab), bands=bands)
    if title is None:
        models = {(f.spec.name, f.space) for f in fits}
        title = f"{n} fit{'s' if n != 1 else ''}"
        if len(models) == 1:
            ((name, space),) = models
            title += f": {name}, {space} noise"
    ax.set_title(title)
    return ax.figure


def _default_labels(fits: Sequence[Fit]) -> list[str]:
    names = [f.curve.name or f"curve {i}" for i, f in enumerate(fits)]
    return [f"{name}: {f.spec.name}" if names.count(name) > 1 else name
            for name, f in zip(names, fits, strict=True)]


def _axis_label(fit: Fit, axis: str) -> str:
    """The curve's name for an axis (``Curve.x_label`` / ``y_label``), else ``x`` / ``y``."""
    text = getattr(fit.curve, f"{axis}_label", None)
    return text if isinstance(text, str) and text else axis


class _PlainNumbers(Formatter):
    """Log-axis tick labels as plain numbers (``0.6``, ``2000``) within [1e-3, 1e4), in
    scientific notation outside, wherever the log formatter ``base`` puts a label."""

    def __init__(self, base: Formatter) -> None:
        self.base = base

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.base.set_axis(axis)

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        self.base.set_locs(locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        label = self.base(x, pos)
        return f"{x:g}" if label and 1e-3 <= abs(x) < 1e4 else label


def _plain_log_labels(axis) -> None:
    """Label a log axis ``200, 300, 1000`` rather than ``2x10^2``; minor labels on short spans."""
    axis.set_major_formatter(_PlainNumbers(LogFormatterSciNotation()))
    axis.set_minor_formatter(_PlainNumbers(LogFormatterSciNotation(minor_thresholds=(2, 0.5))))


def _ylim(y: np.ndarray, band, *, log: bool) -> tuple[float, float]:
    """Limits that show the data and the median, and the bands up to a margin beyond them.

    Far extrapolation can give predictive bands that span decades; clipping them at a margin
    keeps the data readable while the widening still shows.
    """
    core = np.concatenate([y, band["median"].to_numpy()])
    outer = np.concatenate([band["pred_lo"].to_numpy(), band["pred_hi"].to_numpy()])
    if log:
        core, outer = np.log(core[core > 0]), np.log(outer[outer > 0])
    core, outer = core[np.isfinite(core)], outer[np.isfinite(outer)]
    lo, hi = float(core.min()), float(core.max())
    span = hi - lo if hi > lo else (abs(hi) if hi else 1.0)
    lo_all = min(lo, float(outer.min())) if outer.size else lo
    hi_all = max(hi, float(outer.max())) if outer.size else hi
    lo = max(lo_all, lo - 0.5 * span) - 0.05 * span
    hi = min(hi_all, hi + 0.5 * span) + 0.05 * span
    return (float(np.exp(lo)), float(np.exp(hi))) if log else (lo, hi)


def plot_trace(fit: Fit, *, var_names: Sequence[str] | None = None) -> Figure:
    """Trace plot of the law's parameters: marginal densities and draws per chain (ArviZ).

    A wrapper over :func:`arviz.plot_trace_dist` with the matplotlib backend. Per-break
    parameters get a row per break, named as everywhere in the package (``c1, d1, f1, c2,
    ...``) rather than ArviZ's ``c`` over a ``break`` dimension.

    Parameters
    ----------
    fit : Fit
        The fit.
    var_names : sequence of str, optional
        Posterior variables to show (``c`` shows every ``c1, c2, ...``; ``c2`` one of them);
        default the law's parameters and the noise (BNSL: ``a, b, c0, c1, d1, f1, ..., sigma``;
        other forms: their own parameters and sigma). A name that is not a posterior
        variable of the fit raises ValueError.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az
    from matplotlib.ticker import MaxNLocator

    if var_names is None:
        var_names = fit.form.trace_vars(fit.breaks)
    elif isinstance(var_names, str):
        var_names = [var_names]
    post, names = _per_break(fit.data["posterior"].to_dataset(), list(var_names))
    groups = {"posterior": post}
    if "sample_stats" in fit.data.children:
        groups["sample_stats"] = fit.data["sample_stats"].to_dataset()
    tree = xr.DataTree.from_dict(groups)
    width, height = 10.0, 1.5 * len(names) + 0.6
    pc = az.plot_trace_dist(tree, var_names=names, backend="matplotlib",
                            figure_kwargs={"layout": "constrained", "figsize": (width, height)})
    for name in names:
        # The default locator puts up to 9 ticks on a density's x axis, which collide where
        # the labels are long (sigma ~ 0.0004 ... 0.0016).
        pc.viz["plot"][name].sel(column="dist").item().xaxis.set_major_locator(
            MaxNLocator(4, steps=[1, 2, 2.5, 5, 10]))
    return pc.viz["figure"].item()


class BreakLabeller(BaseLabeller):
    """ArviZ labeller that names per-break parameters as the package does: ``c1``, ``d2``
    where ArviZ writes ``c[1]`` or ``c`` over ``1``. Pass it to ArviZ's plots, e.g.
    ``az.plot_pair(fit.data, var_names=["c", "d", "f"], labeller=BreakLabeller())``."""

    def _break(self, var_name, sel) -> str | None:
        if var_name is not None and set(sel) == {"break"}:
            return f"{self.var_name_to_str(var_name)}{sel['break']}"
        return None

    def make_label_vert(self, var_name, sel, isel):
        return self._break(var_name, sel) or super().make_label_vert(var_name, sel, isel)

    def make_label_flat(self, var_name, sel, isel):
        return self._break(var_name, sel) or super().make_label_flat(var_name, sel, isel)


def per_break_variables(post: xr.Dataset) -> tuple[xr.Dataset, dict[str, list[str]]]:
    """The posterior with each per-break variable split into one variable per break, named as
    in the package's tables (``c`` over ``break`` = 1, 2 -> ``c1``, ``c2``).

    Returns
    -------
    xarray.Dataset
        Every variable of ``post``, the per-break ones replaced by their splits.
    dict
        Each per-break variable's name -> the names of its splits.
    """
    out: dict[str, xr.DataArray] = {}
    split: dict[str, list[str]] = {}
    for var in post.data_vars:
        da = post[var]
        if "break" in da.dims:
            split[str(var)] = []
            for k in da["break"].values:
                key = f"{var}{int(k)}"
                out[key] = da.sel({"break": k}, drop=True)
                split[str(var)].append(key)
        else:
            out[str(var)] = da
    return xr.Dataset(out, attrs=post.attrs), split


def _per_break(post: xr.Dataset, var_names: list[str]) -> tuple[xr.Dataset, list[str]]:
    """:func:`per_break_variables`, and ``var_names`` with each per-break variable replaced by
    its splits; all per-break variables together, break by break (``c1, d1, f1, c2, ...``)."""
    out, split = per_break_variables(post)
    names: list[str] = []
    per_break = [v for v in var_names if v in split]
    n_breaks = max((len(split[v]) for v in per_break), default=0)
    placed = False
    for v in var_names:
        if v in split:
            if not placed:
                names += [split[p][i] for i in range(n_breaks) for p in per_break]
                placed = True
        elif v in out:
            names.append(v)
        else:
            raise ValueError(f"var_names: {v!r} is not a posterior variable of this fit; "
                             f"expected some of {', '.join(sorted(set(out) | set(split)))}")
    return out, list(dict.fromkeys(names))
