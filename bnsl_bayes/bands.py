"""Posterior curves and bands at any x: the mean curve and a new point averaged over k runs.

Pure functions of posterior draws in user units (BNSL: ``a, log_b, c0, c, d, f, sigma``; other
forms: their own parameters, see :mod:`.forms`); nothing here samples the posterior or knows
about files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import NoiseSpace
from .forms import get_form

__all__ = ["band_table", "curve_draws", "predictive_draws"]


def curve_draws(draws: dict[str, np.ndarray], x: np.ndarray, form: str = "bnsl") -> np.ndarray:
    """The law at ``x`` for each posterior draw.

    Parameters
    ----------
    draws : dict
        Flat draws in user units. BNSL: ``a, log_b, c0`` of shape ``(S,)`` and ``c, d, f`` of
        shape ``(S, n)``; other forms: the posterior variables of their fits
        (:meth:`Fit.draws <bnsl_bayes.result.Fit.draws>`).
    x : numpy.ndarray
        Points (> 0), shape ``(m,)``.
    form : str
        The functional form of the draws (``"bnsl"``, ``"m1"`` ... ``"m4"``).

    Returns
    -------
    numpy.ndarray
        Mean curve, shape ``(S, m)``, float64.
    """
    return get_form(form).law(draws, np.asarray(x, dtype=float))


def predictive_draws(
    mu: np.ndarray,
    sigma: np.ndarray,
    space: NoiseSpace,
    seeds: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One new observation per draw and x: the mean over ``seeds`` runs, with the model's noise.

    Parameters
    ----------
    mu : numpy.ndarray
        Mean curve, shape ``(S, m)``.
    sigma : numpy.ndarray
        Per-run noise scale per draw, shape ``(S,)`` (of log y in log space).
    space : {"log", "linear"}
        Noise space.
    seeds : numpy.ndarray
        Runs averaged into the new point, shape ``(m,)``.
    rng : numpy.random.Generator
        Source of the noise (seeded by the caller for reproducible bands).

    Returns
    -------
    numpy.ndarray
        Shape ``(S, m)``.
    """
    sd = sigma[:, None] / np.sqrt(seeds)[None, :]
    eps = rng.standard_normal(mu.shape)
    if space == "log":
        with np.errstate(divide="ignore"):
            return np.exp(np.log(mu) + sd * eps)
    return mu + sd * eps


def band_table(
    x: np.ndarray, mu: np.ndarray, y_new: np.ndarray, prob: float
) -> pd.DataFrame:
    """Median and equal-tailed bands of the mean curve and of a new point.

    Returns
    -------
    pandas.DataFrame
        Columns ``x, median, mean_lo, mean_hi, pred_lo, pred_hi``, one row per x.
    """
    lo, hi = (1.0 - prob) / 2.0, (1.0 + prob) / 2.0
    mq = np.quantile(mu, [0.5, lo, hi], axis=0)
    pq = np.quantile(y_new, [lo, hi], axis=0)
    return pd.DataFrame(
        {"x": x, "median": mq[0], "mean_lo": mq[1], "mean_hi": mq[2],
         "pred_lo": pq[0], "pred_hi": pq[1]}
    )
