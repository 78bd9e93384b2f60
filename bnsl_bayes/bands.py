"""Posterior curves and bands at any x: the mean curve and a new point averaged over k runs.

Pure functions of posterior draws in user units (BNSL: ``a, log_b, c0, c, d, f, sigma``; other
forms: their own parameters, see :mod:`.forms`); nothing here samples the posterior or knows
about files.

Given posterior draw ``s``, a new point averaged over ``k`` runs is Normal in the noise space:
``log y ~ Normal(log mu_s, sigma_s / sqrt(k))`` in the log space, ``y ~ Normal(mu_s, sigma_s /
sqrt(k))`` in the linear space. The posterior predictive is the equal-weight mixture of these
Normals over the draws, and its quantiles (:func:`predictive_quantiles`) and log density
(:func:`predictive_log_density`) are computed from the mixture itself, without sampling the
noise: one x has one answer wherever it is asked, and the predictive band is not narrowed by the
Monte Carlo error of one noise draw per posterior draw. :func:`predictive_draws` still samples
the noise for the ``posterior_predictive`` group, where ArviZ expects draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from .data import NoiseSpace
from .forms import get_form

__all__ = ["band_table", "curve_draws", "predictive_draws", "predictive_log_density",
           "predictive_quantiles"]

#: Noise-space means are clipped to +-LOG_CLIP in the log space, so that a mean curve of 0 or
#: inf (an extreme draw) is a component far out instead of an infinite one; exp() of the clip
#: is still 0 or inf in float64.
LOG_CLIP = 800.0
#: |mean| above which the linear-space mixture is clipped (its variance then stays finite).
LINEAR_CLIP = 1e150
#: The mixture quantile stops when its CDF is within this of the level (a probability, far below
#: the Monte Carlo error of any number of posterior draws), or the bracket is as narrow as
#: float64 allows. Where the CDF is flat at the level (components far apart next to their
#: scale, and the level a whole number of components), every point of the flat stretch is a
#: quantile; the solver returns the first it reaches, the same one on every call.
CDF_TOL = 1e-12
MAX_ITER = 200


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


def _noise_space(mu: np.ndarray, sigma: np.ndarray, space: NoiseSpace,
                 seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Component means and scales of the predictive mixture in the noise space.

    Shape ``(m, S)``, one row per x, C-contiguous: every sum over draws then runs along one
    contiguous row, by the same pairwise summation whatever the other rows are, so a point's
    answer does not depend on the other points of the call to the last bit.
    """
    mu = np.asarray(mu, dtype=float).T
    sd = np.sqrt(np.asarray(seeds, dtype=float))[:, None]
    sd = np.ascontiguousarray(np.asarray(sigma, dtype=float)[None, :] / sd)
    if space == "log":
        with np.errstate(divide="ignore"):
            m = np.clip(np.log(mu), -LOG_CLIP, LOG_CLIP)
    else:
        # far past the data a law can exceed any metric's range; clipped so that the mixture's
        # variance (its first guess) stays finite
        m = np.clip(mu, -LINEAR_CLIP, LINEAR_CLIP)
    return np.ascontiguousarray(m), np.broadcast_to(sd, m.shape)


def _mixture_quantile(m: np.ndarray, sd: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile of ``mean_s Normal(m[j, s], sd[j, s])`` for each row ``j``.

    Newton's method on ``log F(t) = log q``, F the mixture CDF, from the quantile of a Normal
    with the mixture's mean and variance. The log helps where the level lies below nearly all
    the components (the far tail of a wide mixture): there F is close to a Normal tail, nearly
    quadratic in log, on which plain Newton creeps. Each step is kept inside a bracket that
    shrinks with every evaluation, and bisected when Newton leaves it. The first bracket is the
    lowest and the highest of the components' own ``q`` quantiles: F is at most ``q`` at the one
    and at least ``q`` at the other. An upper level is the lower level ``1 - q`` of the mirrored
    mixture. Only the rows not yet converged are evaluated.
    """
    if q > 0.5:
        return -_mixture_quantile(-m, sd, 1.0 - q)
    own = m + sd * special.ndtri(q)
    lo, hi = own.min(axis=1), own.max(axis=1)
    guess = m.mean(axis=1) + np.sqrt(m.var(axis=1) + (sd**2).mean(axis=1)) * special.ndtri(q)
    t = np.clip(guess, lo, hi)
    todo = np.arange(m.shape[0])
    for _ in range(MAX_ITER):
        mm, ss, tt = m[todo], sd[todo], t[todo]
        z = (tt[:, None] - mm) / ss
        cdf = special.ndtr(z).mean(axis=1)
        dens = (np.exp(-0.5 * z**2) / ss).mean(axis=1) / np.sqrt(2.0 * np.pi)
        gap = cdf - q
        lo[todo] = np.where(gap < 0, tt, lo[todo])
        hi[todo] = np.where(gap > 0, tt, hi[todo])
        done = (np.abs(gap) <= CDF_TOL) | ~(np.nextafter(lo[todo], hi[todo]) < hi[todo])
        keep = ~done
        todo = todo[keep]
        if todo.size == 0:
            break
        # a density that underflows to 0 gives an infinite or undefined step: bisect instead
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = tt[keep] - (np.log(cdf[keep]) - np.log(q)) * cdf[keep] / dens[keep]
        inside = (step > lo[todo]) & (step < hi[todo])
        t[todo] = np.where(inside, step, 0.5 * (lo[todo] + hi[todo]))
    return t


def predictive_quantiles(
    mu: np.ndarray,
    sigma: np.ndarray,
    space: NoiseSpace,
    seeds: np.ndarray,
    probs: np.ndarray | list[float],
) -> np.ndarray:
    """Quantiles of a new point averaged over ``seeds`` runs under the posterior predictive.

    The predictive distribution is the equal-weight mixture over posterior draws of the model's
    Normal noise about each draw's mean curve (in log y in the log space); its CDF is inverted
    exactly, column by column, so the result has no Monte Carlo noise beyond that of the
    posterior draws themselves.

    Parameters
    ----------
    mu : numpy.ndarray
        Mean curve, shape ``(S, m)``.
    sigma : numpy.ndarray
        Per-run noise scale per draw, shape ``(S,)`` (of log y in log space), > 0.
    space : {"log", "linear"}
        Noise space.
    seeds : numpy.ndarray
        Runs averaged into the new point, shape ``(m,)``.
    probs : array_like
        Levels, each strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(probs), m)``, in the units of y.
    """
    m, sd = _noise_space(mu, sigma, space, seeds)
    out = np.stack([_mixture_quantile(m, sd, float(q)) for q in np.atleast_1d(probs)])
    return np.exp(out) if space == "log" else out


def predictive_log_density(
    mu: np.ndarray,
    sigma: np.ndarray,
    space: NoiseSpace,
    seeds: np.ndarray,
    y: np.ndarray,
) -> np.ndarray:
    """Log density of observed y under the posterior predictive mixture, one value per point.

    ``log mean_s p(y_j | draw s)``, the density of y itself: in the log space the Normal
    density of log y carries the Jacobian ``1 / y``.

    Parameters
    ----------
    mu, sigma, space
        As in :func:`predictive_quantiles`.
    seeds : numpy.ndarray
        Runs averaged into each observation, shape ``(m,)``.
    y : numpy.ndarray
        Observations, shape ``(m,)``; > 0 in the log space.

    Returns
    -------
    numpy.ndarray
        Shape ``(m,)``, float64.
    """
    m, sd = _noise_space(mu, sigma, space, seeds)
    y = np.asarray(y, dtype=float)
    obs = np.log(y) if space == "log" else y
    # a y so far out that z**2 overflows has density 0 under every draw: log density -inf
    with np.errstate(over="ignore"):
        z = (obs[:, None] - m) / sd
        log_p = -0.5 * z**2 - np.log(sd) - 0.5 * np.log(2.0 * np.pi)
    out = special.logsumexp(log_p, axis=1) - np.log(log_p.shape[1])
    return out - obs if space == "log" else out


def band_table(
    x: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    space: NoiseSpace,
    seeds: np.ndarray,
    prob: float,
) -> pd.DataFrame:
    """Median and equal-tailed bands of the mean curve and of a new point.

    Parameters
    ----------
    x : numpy.ndarray
        Points, shape ``(m,)``.
    mu : numpy.ndarray
        Mean curve per posterior draw, shape ``(S, m)``.
    sigma : numpy.ndarray
        Per-run noise scale per draw, shape ``(S,)``.
    space : {"log", "linear"}
        Noise space.
    seeds : numpy.ndarray
        Runs a new point averages over, shape ``(m,)``.
    prob : float
        Probability of the central bands.

    Returns
    -------
    pandas.DataFrame
        Columns ``x, median, mean_lo, mean_hi, pred_lo, pred_hi``, one row per x: the median and
        band of the mean curve are quantiles of its draws, the predictive band the quantiles of
        the predictive mixture (:func:`predictive_quantiles`), widened where needed to hold the
        band of the mean.
    """
    lo, hi = (1.0 - prob) / 2.0, (1.0 + prob) / 2.0
    mq = np.quantile(mu, [0.5, lo, hi], axis=0)
    pq = predictive_quantiles(mu, sigma, space, seeds, [lo, hi])
    # A new point is the mean curve plus noise; its band is meant to hold the mean's. The two are
    # estimated differently from the same finite draws (sorted draws with interpolation, the
    # smooth mixture), and where the noise is no wider than the gaps between neighbouring draws
    # of the mean, that Monte Carlo error can put the mixture's quantile a hair inside the
    # mean's band; the band then takes the mean's, the more cautious of the two.
    return pd.DataFrame(
        {"x": x, "median": mq[0], "mean_lo": mq[1], "mean_hi": mq[2],
         "pred_lo": np.minimum(pq[0], mq[1]), "pred_hi": np.maximum(pq[1], mq[2])}
    )
