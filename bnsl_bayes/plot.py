"""Plots of a fit: data, posterior median and bands (matplotlib), and trace plots (ArviZ).

The conventions of the BNSL paper: black points were used for fitting, green points are held out
to judge extrapolation, the red line is the fitted law. Every function takes ``ax=None`` (a new
figure) or an existing axes, returns the :class:`matplotlib.figure.Figure`, and never calls
``plt.show()``: it works headless with any backend (``Agg`` included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from matplotlib.ticker import Formatter, LogFormatterSciNotation
from numpy.typing import ArrayLike

from .data import Curve
from .drift import Drift

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .forms import Form
    from .spec import ModelSpec

__all__ = ["plot_fit", "plot_trace"]


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
    xlabel: str = "x",
    ylabel: str = "y",
    title: str | None = None,
    drift: Drift | None = None,
) -> Figure:
    """Plot the data, the posterior median and the bands of a fit.

    Fit points are black, held-out points green, the posterior median of the mean curve is the
    red line; the darker shade is the central ``prob`` credible band of the mean curve and the
    lighter one the (wider) predictive band of a new point averaged over ``seeds`` runs. A
    dashed vertical line marks the last fit point, after which the law is extrapolated.

    Parameters
    ----------
    fit : Fit
        The result of :func:`bnsl_bayes.fit` or :func:`bnsl_bayes.load`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; by default a new figure is made (with ``matplotlib.pyplot``).
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
    xlabel, ylabel : str
        Axis labels.
    title : str, optional
        Title; default: the curve's name and the model.
    drift : Drift, optional
        Draw the bands with the law's leave-future-out drift past the data
        (:func:`bnsl_bayes.calibrate_drift`). Its Cauchy slope errors can make the bands
        very wide far out; as always, the y axis shows them only up to a margin beyond the
        data and the median.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding ``ax``.

    Raises
    ------
    ValueError
        Unknown ``scale``, ``extend`` < 1, or a bad ``prob``, ``x`` or ``seeds`` (see
        :meth:`~bnsl_bayes.result.Fit.predict`).
    """
    if scale not in ("log", "linear"):
        raise ValueError(f"scale = {scale!r}: expected 'log' (log-log axes) or 'linear'")
    if isinstance(extend, bool) or not isinstance(extend, int | float) or not (
        np.isfinite(extend) and extend >= 1
    ):
        raise ValueError(f"extend = {extend!r}: expected a finite factor >= 1 (e.g. 4)")
    if seeds is None:
        seeds = _default_seeds(fit)
    grid = _grid(fit, float(extend)) if x is None else np.sort(np.atleast_1d(x).astype(float))
    band = fit.predict(grid, prob=prob, seeds=seeds, drift=drift)

    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.0, 4.5), layout="constrained")
    else:
        fig = ax.figure

    curve = fit.curve
    m = curve.fit_mask
    xs = band["x"].to_numpy()
    ax.fill_between(
        xs, band["pred_lo"], band["pred_hi"], color=MEDIAN_COLOR, alpha=PRED_BAND_ALPHA,
        linewidth=0,
        label=f"{prob:.0%} predictive band ({seeds} seed{'s' if seeds != 1 else ''})"
        + (", with drift" if drift is not None else ""),
    )
    ax.fill_between(
        xs, band["mean_lo"], band["mean_hi"], color=MEDIAN_COLOR, alpha=MEAN_BAND_ALPHA,
        linewidth=0, label=f"{prob:.0%} credible band of the mean",
    )
    ax.plot(xs, band["median"], color=MEDIAN_COLOR, linewidth=1.8, label="posterior median")
    size = 4.5 if curve.n_points <= 100 else 2.5
    ax.plot(curve.x[m], curve.y[m], "o", color=FIT_COLOR, markersize=size,
            label=f"fit points ({int(m.sum())})")
    if curve.held_out.any():
        h = curve.held_out
        ax.plot(curve.x[h], curve.y[h], "o", color=HELD_OUT_COLOR, markersize=size,
                label=f"held out ({int(h.sum())})")
    last_fit = float(curve.x[m].max())
    ax.axvline(last_fit, color="0.4", linestyle="--", linewidth=1.0,
               label=f"last fit point (x = {last_fit:.4g})")

    if scale == "log":
        ax.set_xscale("log")
        if np.all(curve.y > 0):
            ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            _plain_log_labels(axis)
    ax.set_ylim(*_ylim(curve.y, band, log=ax.get_yscale() == "log"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is None:
        name = curve.name or "curve"
        title = f"{name}: {fit.spec.name}, {fit.space} noise"
    ax.set_title(title)
    ax.legend(fontsize="small", loc="best")
    return fig


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


def plot_trace(fit: Fit, *, var_names: list[str] | None = None) -> Figure:
    """Trace plot of the law's parameters: marginal densities and draws per chain (ArviZ).

    A thin wrapper over :func:`arviz.plot_trace_dist` with the matplotlib backend.

    Parameters
    ----------
    fit : Fit
        The fit.
    var_names : list of str, optional
        Posterior variables to show; default the law's parameters and the noise
        (BNSL: ``a, b, c0, c, d, f, sigma``, without the per-break ones for 0 breaks; other
        forms: their own parameters and sigma).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz as az

    if var_names is None:
        var_names = fit.form.trace_vars(fit.breaks)
    pc = az.plot_trace_dist(fit.data, var_names=var_names, backend="matplotlib")
    return pc.viz["figure"].item()
