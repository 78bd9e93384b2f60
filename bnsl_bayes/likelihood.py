"""The seeds-scaled noise model, with the noise variance integrated out.

Point j has sd ``sigma / sqrt(seeds_j)``. The per-seed variance sigma^2 has the conjugate prior
``InverseGamma(alpha, beta)`` and is integrated out analytically: NUTS samples the curve from its
marginal posterior (a Student-t-like density in the residuals), which removes the funnel between
sigma and the curve. sigma is then drawn exactly from its conditional ``InverseGamma`` given each
curve (:func:`draw_noise`). A spread reported per point (the runs' sd) adds its own chi-square
term.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from .priors import PriorSource
from .standardize import ModelData

__all__ = ["draw_noise", "marginal_log_likelihood", "noise_prior"]


def noise_prior(spec: PriorSource) -> tuple[float, float]:
    """(alpha, beta) of the InverseGamma prior on the per-seed noise variance."""
    params = dict(spec.prior("noise_variance").params)
    return params["concentration"], params["rate"]


def _noise_sufficient(resid, data: ModelData, xp=jnp):
    """Half the weighted residual sum of squares (plus the runs' spread) and its count.

    ``xp`` is the array module: ``jax.numpy`` inside the model, ``numpy`` on the host (where
    eager JAX would compile every op anew for each number of points)."""
    w = xp.asarray(data.sqrt_seeds) ** 2
    std_dof, std2 = xp.asarray(data.std_dof), xp.asarray(data.std2)
    known = std_dof > 0
    if data.mask is not None:
        mask = xp.asarray(data.mask)
        w = w * mask
        resid = xp.where(mask > 0, resid, 0.0)
    rss = 0.5 * xp.sum(w * resid**2, axis=-1) + 0.5 * xp.sum(
        xp.where(known, std_dof * std2, 0.0)
    )
    count = 0.5 * _count(data, xp) + 0.5 * xp.sum(xp.where(known, std_dof, 0.0))
    return rss, count


def _count(data: ModelData, xp=jnp):
    """Number of real (unmasked) points."""
    return data.u.shape[-1] if data.mask is None else xp.sum(xp.asarray(data.mask))


def marginal_log_likelihood(resid, data: ModelData, alpha: float, beta: float):
    """log p(obs, spreads | curve) with sigma^2 ~ InverseGamma(alpha, beta) integrated out."""
    rss, count = _noise_sufficient(resid, data)
    known = data.std_dof > 0
    k = jnp.where(known, data.std_dof, 2.0)
    spread_const = jnp.sum(jnp.where(
        known,
        0.5 * k * jnp.log(0.5 * k) - gammaln(0.5 * k) + (0.5 * k - 1.0) * jnp.log(
            jnp.where(known, data.std2, 1.0)),
        0.0,
    ))
    gauss_const = jnp.sum(jnp.log(data.sqrt_seeds)) - 0.5 * _count(data) * jnp.log(2 * jnp.pi)
    return (
        gammaln(alpha + count) - gammaln(alpha) + alpha * jnp.log(beta)
        - (alpha + count) * jnp.log(beta + rss) + gauss_const + spread_const
    )


def draw_noise(resid: np.ndarray, data: ModelData, spec: PriorSource,
               rng: np.random.Generator) -> np.ndarray:
    """Exact draws of the per-seed noise sd (standardized units) given each curve.

    Parameters
    ----------
    resid : numpy.ndarray
        Standardized residuals ``obs - mean``, shape ``(S, N)``.
    data : ModelData
        The fit points.
    spec : PriorSource
        Gives the InverseGamma prior.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    numpy.ndarray
        sigma, shape ``(S,)``.
    """
    alpha, beta = noise_prior(spec)
    rss, count = _noise_sufficient(np.asarray(resid, dtype=float), data, np)
    sigma2 = (beta + rss) / rng.gamma(alpha + count, 1.0, size=rss.shape)
    return np.sqrt(sigma2)
