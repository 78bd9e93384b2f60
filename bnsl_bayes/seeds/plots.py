"""Plots of a seeds study: heat maps over (seeds, cutoff) and bands of representative cells.

The study is passed in (a :class:`~.study.SeedsStudy`); this module sits below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bands import curve_draws
from .truth import law_mu

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_bands", "plot_heatmap", "plot_study"]

# ---------------------------------------------------------------------------- plots
_METRIC_LABELS = {
    "median_rel_width": "median width of the band, log(hi/lo)",
    "median_abs_log_error": "median |log error| of the median",
    "coverage": "coverage of the band",
    "share_extrapolate": "share of repeats within tolerance",
}


def _break_positions(study: Any) -> list[float]:
    d = np.array([t["d"] for t in study.truths], dtype=float)
    return [float(v) for v in np.median(d, axis=0)] if d.size else []


def plot_heatmap(study: Any, metric: str = "median_rel_width", *,
                 ax: Axes | None = None) -> Figure:
    """Heat map of a per-cell measure over (x_max, seeds), with the true break(s) marked.

    Parameters
    ----------
    study : SeedsStudy
    metric : str
        A column of :attr:`SeedsStudy.summary`: ``median_rel_width`` (default),
        ``median_abs_log_error``, ``coverage`` or ``share_extrapolate``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if metric not in _METRIC_LABELS:
        raise ValueError(f"metric = {metric!r}: expected one of {', '.join(_METRIC_LABELS)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    else:
        fig = ax.figure
    counts, cuts = study.seed_counts, study.cutoffs
    grid = study.summary.pivot(index="seeds", columns="x_max", values=metric)
    values = grid.reindex(index=counts, columns=cuts).to_numpy(dtype=float)
    log_scale = metric in ("median_rel_width", "median_abs_log_error")
    pos = values[np.isfinite(values) & (values > 0)]
    norm = LogNorm(vmin=pos.min(), vmax=max(pos.max(), pos.min() * 1.0001)) \
        if log_scale and pos.size else None
    shown = np.where(values > 0, values, np.nan) if log_scale else values
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis", norm=norm,
                   vmin=None if norm else 0.0, vmax=None if norm else 1.0)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            # Dark text on the light end of the colormap, white on the dark end.
            r, g, b, _ = im.cmap(im.norm(v))
            ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7, color=ink)
    ax.set_xticks(range(len(cuts)), [f"{c:g}" for c in cuts])
    ax.set_yticks(range(len(counts)), [f"{n:g}" for n in counts])
    ax.set_xlabel("fit cutoff x_max")
    ax.set_ylabel("seeds per point")
    outside = []
    for d in _break_positions(study):
        if cuts[0] <= d <= cuts[-1] and len(cuts) > 1:
            xpos = float(np.interp(d, cuts, np.arange(len(cuts))))
            ax.axvline(xpos, color="red", ls="--", lw=1.5)
            # Inside the top row, under the title (above the axes it ran into the title).
            ax.text(xpos, len(counts) - 0.55, f" break d={d:.4g} ", color="red", va="top",
                    ha="left" if xpos < (len(cuts) - 1) / 2 else "right", fontsize=8,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
        else:
            outside.append(f"{d:.4g}")
    title = _METRIC_LABELS[metric]
    if outside:
        title += f"\n(break d={', '.join(outside)} outside the cutoffs)"
    ax.set_title(title, fontsize=9, loc="left")
    fig.colorbar(im, ax=ax)
    return fig


def _default_band_cells(study: Any, most: int = 4) -> list[tuple[int, float]]:
    counts, cuts = study.seed_counts, study.cutoffs
    pick = np.unique(np.linspace(0, len(cuts) - 1, min(most - 1, len(cuts))).round().astype(int))
    cells = [(counts[-1], cuts[k]) for k in pick]
    if len(counts) > 1:
        cells.append((counts[0], cuts[-1]))
    return cells[:most]


def plot_bands(study: Any, cells: Sequence[tuple[int, float]] | None = None, *,
               axes: Sequence[Axes] | None = None) -> Figure:
    """The band of repeat 0 of a few cells, against the truth, past the cutoff.

    Parameters
    ----------
    study : SeedsStudy
    cells : sequence of (seeds, x_max), optional
        Cells to show (default: the largest seed count at up to three cutoffs, and the smallest
        at the largest cutoff).
    axes : sequence of Axes, optional
        One axes per cell (default: a new figure with one row).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    cells = _default_band_cells(study) if cells is None else [(int(n), float(x))
                                                               for n, x in cells]
    missing = [c for c in cells if c not in study.fits]
    if missing:
        raise ValueError(f"no such cell(s) {missing}; cells are (seeds, x_max) of the study")
    if axes is None:
        fig, axes = plt.subplots(1, len(cells), figsize=(3.2 * len(cells), 3.2), squeeze=False,
                                 sharey=True)
        axes = list(axes[0])
    else:
        fig = axes[0].figure
    truth = study.truths[0]
    prob = float(study.settings.get("prob", 0.9))
    hi_x = max(float(study.targets.max()), float(study.grid.max())) * 1.1
    xs = np.geomspace(float(study.grid.min()), hi_x, 200)
    mu_true = law_mu(truth, xs)
    for ax, (n, x_max) in zip(axes, cells, strict=True):
        f = study.fits[(n, x_max)]
        mu = curve_draws(f.draws(), xs, f.spec.form)
        med, lo, hi = np.quantile(mu, [0.5, (1 - prob) / 2, (1 + prob) / 2], axis=0)
        ax.fill_between(xs, lo, hi, color="red", alpha=0.25, lw=0, label=f"{prob:.0%} band")
        ax.plot(xs, med, color="red", lw=1.2, label="median")
        ax.plot(xs, mu_true, color="black", ls="--", lw=1.0, label="truth")
        m = f.curve.fit_mask
        ax.plot(f.curve.x[m], f.curve.y[m], "k.", ms=3, label="fit points")
        ax.axvline(x_max, color="gray", lw=0.8, ls=":")
        t_true = law_mu(truth, study.targets)
        ax.plot(study.targets, t_true, "o", color="tab:green", ms=4, label="targets")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ylim = (0.5 * float(mu_true.min()), 2.0 * float(mu_true.max()))
        ax.set_ylim(*ylim)
        for axis, (lo, hi) in ((ax.xaxis, (xs[0], xs[-1])), (ax.yaxis, ylim)):
            # Plain numbers (0.3, 1, 3, 1000), as many as the span leaves room for, where
            # matplotlib's default labels a short log span 2x10^-1, 3x10^-1, ...
            decades = np.log10(hi / lo)
            subs = (1.0,) if decades > 3 else (1.0, 3.0) if decades > 1.2 else (1.0, 2.0, 5.0)
            axis.set_major_locator(LogLocator(subs=subs))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        ax.set_title(f"seeds {n:g}, x_max {x_max:g}", fontsize=9)
        ax.set_xlabel(_axis_label(f.curve, "x"))
    axes[0].set_ylabel(_axis_label(study.fits[cells[0]].curve, "y"))
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def _axis_label(curve: Any, axis: str) -> str:
    """The curve's name for an axis (``Curve.x_label`` / ``y_label``), else ``x`` / ``y``."""
    text = getattr(curve, f"{axis}_label", None)
    return text if isinstance(text, str) and text else axis


def plot_study(study: Any, *, metric: str = "median_rel_width") -> Figure:
    """One figure: heat maps of the band width and the error, and representative bands.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    cells = _default_band_cells(study)
    fig = plt.figure(figsize=(max(10.0, 3.2 * len(cells)), 8.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1.0])
    ax_top = top.subplots(1, 2)
    plot_heatmap(study, metric, ax=ax_top[0])
    plot_heatmap(study, "median_abs_log_error" if metric != "median_abs_log_error"
                 else "median_rel_width", ax=ax_top[1])
    axes = bottom.subplots(1, len(cells), sharey=True, squeeze=False)[0]
    plot_bands(study, cells, axes=list(axes))
    return fig
