"""Scores of an extrapolation on a curve's held-out points.

:func:`rmsle` is the BNSL paper's metric of an extrapolation. The held-out points of a curve are
often far denser than its fit points (a vision curve may hold out hundreds of points past a fit
grid of a dozen): :func:`held_out_windows` groups them into windows of log x as wide as the fit
points' last log spacing and :func:`window_means` averages each window, so that a band meant
for one new point like a fit point is scored against measurements of the same kind.
:func:`noise_ratio` compares the scatter of the held-out points with that of the fit points: a
diagnostic of the data, used by no fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .data import Curve

__all__ = ["NSL_PFN_LEVELS", "held_out_windows", "msce", "noise_ratio", "rmsle", "window_means"]

#: The central-interval levels of the MSCE of NSL-PFN (Lee et al., ICML 2025).
NSL_PFN_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def rmsle(y_pred: Any, y_true: Any, *, log1p: bool = False) -> float:
    """Root mean squared log error.

    Parameters
    ----------
    y_pred, y_true : array_like
        Predictions and targets.
    log1p : bool, default False
        False: ``sqrt(mean((log(y_pred) - log(y_true))**2))``, the quantity the paper's code
        reports as "rmsle extrapolate". True: the same with ``log(1 + y)``, the fitting loss.

    Returns
    -------
    float
        The RMSLE (NaN if a prediction is outside the log's domain).
    """
    p = np.asarray(y_pred, dtype=float)
    t = np.asarray(y_true, dtype=float)
    with np.errstate(all="ignore"):
        lp, lt = (np.log1p(p), np.log1p(t)) if log1p else (np.log(p), np.log(t))
        return float(np.sqrt(np.mean((lp - lt) ** 2)))


def held_out_windows(curve: Curve) -> np.ndarray:
    """Window label of each held-out point: consecutive bins of log x as wide as the last log
    spacing of the fit points (the design the fit saw), counted from the first held-out x.

    Averaging the held-out points of a window gives a measurement on the fit points' own
    grid; on curves whose held-out points are sparser than that grid every point is its own
    window.
    """
    lx_fit = np.sort(np.log(curve.x[curve.fit_mask]))
    width = float(lx_fit[-1] - lx_fit[-2]) if lx_fit.size >= 2 else 0.0
    lx = np.log(curve.x[curve.held_out])
    if not width > 0:
        return np.arange(lx.size)
    return np.unique(np.floor((lx - lx.min()) / width).astype(int), return_inverse=True)[1]


def window_means(x: np.ndarray, y: np.ndarray, labels: np.ndarray, space: str):
    """Geometric-mean x and mean y (log space: geometric mean) of each window."""
    k = labels.max() + 1
    counts = np.bincount(labels, minlength=k)
    xc = np.exp(np.bincount(labels, np.log(x), minlength=k) / counts)
    if space == "log":
        yc = np.exp(np.bincount(labels, np.log(y), minlength=k) / counts)
    else:
        yc = np.bincount(labels, y, minlength=k) / counts
    return xc, yc


def noise_ratio(curve: Curve) -> float | None:
    """Variance of the held-out points' scatter over that of the fit points (log y).

    Each scatter is estimated from second differences along x (``var(d2) = 6 s^2`` for
    independent noise on a locally linear trend), so the trend drops out. A diagnostic of the
    data, not an input to any fit: about 1 where both kinds of point are the same kind of
    measurement.
    """
    def scatter(mask: np.ndarray) -> float | None:
        if mask.sum() < 5 or np.any(curve.y[mask] <= 0):
            return None
        o = np.argsort(curve.x[mask])
        d2 = np.diff(np.log(curve.y[mask][o]), 2)
        return float(np.mean(d2**2) / 6.0)

    s_fit, s_held = scatter(curve.fit_mask), scatter(curve.held_out)
    if s_fit is None or s_held is None or s_fit <= 0:
        return None
    return s_held / s_fit


def msce(coverage: Any, levels: Any = NSL_PFN_LEVELS) -> float:
    """Mean squared calibration error: ``mean((coverage_l - l)^2)`` over the levels ``l``.

    Parameters
    ----------
    coverage : array_like
        Share of held-out points inside the central predictive interval of each level.
    levels : array_like
        The nominal levels (default: NSL-PFN's seven).

    Returns
    -------
    float
    """
    c = np.asarray(coverage, dtype=float)
    lv = np.asarray(levels, dtype=float)
    if c.shape != lv.shape:
        raise ValueError(f"{c.size} coverages for {lv.size} levels: give one per level")
    return float(np.mean((c - lv) ** 2))
