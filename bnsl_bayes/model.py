"""The NumPyro model of a BNSL curve on a standardized scale, and the map back to user units.

Standardization (recorded in :class:`Scaling`):

- ``u = (log x - log x_first) / (log x_last - log x_first)``, so the fit range is ``u in [0, 1]``;
- log space: ``y' = y / y_last``; linear space: ``y' = (y - y_last) / spread``.

Parametrization. Sampling ``a`` and ``log b`` directly gives a posterior correlated at -0.99 (the
data fix mostly ``a + b`` when the first slope is small). Here the curve is anchored where the
data pin it, at the last fit point:

- ``level``: log (log space) or value (linear space) of the mean curve at ``u = 1``;
- ``asymptote_fraction`` r (log space): ``a' = r * exp(level)``, so ``0 <= a < y`` and y > 0
  everywhere; ``log_height`` (linear space): ``a' = level - exp(log_height)``;
- ``slope0`` = c0 * W, ``slope_change`` = c_i * W, ``break_location`` = standardized log d_i
  (ordered), ``log_sharpness`` = log(f_i / W), with W = log x_last - log x_first;
- the per-seed noise variance sigma^2 (point j has sd ``sigma / sqrt(seeds_j)``) has the
  conjugate prior ``InverseGamma(alpha, beta)`` and is integrated out analytically: NUTS samples
  the curve from its marginal posterior (a Student-t-like density in the residuals), which
  removes the funnel between sigma and the curve (on the 4-digit-addition curve: 14-49
  divergences per 4000 draws with sigma sampled, none marginalized). sigma is then drawn exactly
  from its conditional ``InverseGamma`` given each curve (:func:`draw_noise`).

``b`` is then a deterministic function of the rest. The law itself comes from :mod:`.law`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax import nn
from jax.scipy.special import gammaln
from numpyro.distributions import constraints
from numpyro.distributions.distribution import Unit

from .data import Curve, NoiseSpace
from .law import bnsl_log_power
from .spec import ModelSpec

__all__ = [
    "AsymptoteCoordinate",
    "ModelData",
    "Scaling",
    "SortedIID",
    "bnsl_model",
    "draw_noise",
    "marginal_log_likelihood",
    "to_user_units",
]


class SortedIID(dist.Distribution):
    """Order statistics of ``n`` i.i.d. draws from a univariate ``base`` (support: ordered).

    The density is ``n! * prod_i base(v_i)`` on ``v_1 < ... < v_n``: the i.i.d. prior on each
    break location with the labels fixed by order, so chains cannot swap breaks.
    """

    arg_constraints = {}
    support = constraints.ordered_vector
    pytree_data_fields = ("base",)
    pytree_aux_fields = ("n",)

    def __init__(self, base: dist.Distribution, n: int, *, validate_args=None):
        self.base = base
        self.n = n
        super().__init__(batch_shape=(), event_shape=(n,), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        draws = self.base.sample(key, tuple(sample_shape) + (self.n,))
        return jnp.sort(draws, axis=-1)

    def log_prob(self, value):
        return jnp.sum(self.base.log_prob(value), axis=-1) + gammaln(self.n + 1.0)


ODDS_SHARPNESS = 10.0


def _odds(w):
    """Odds ``a / P(1)`` of the asymptote from its sampling coordinate (a scaled softplus)."""
    return nn.softplus(ODDS_SHARPNESS * w) / ODDS_SHARPNESS


def _log_odds(w):
    """``log(_odds(w))``, finite with a finite gradient for any w (``softplus(z) -> e^z``
    far below 0, where its log would underflow to -inf)."""
    z = ODDS_SHARPNESS * w
    safe = jnp.where(z > -30.0, z, 0.0)
    return jnp.where(z > -30.0, jnp.log(nn.softplus(safe)), z) - jnp.log(ODDS_SHARPNESS)


class AsymptoteCoordinate(dist.Distribution):
    """Prior on the real-valued sampling coordinate ``w`` of the asymptote fraction r.

    ``r = o / (1 + o)`` with odds ``o = softplus(k w) / k`` (k = ``ODDS_SHARPNESS``): linear in the
    odds away from 0. The other parameters of a curve depend almost linearly on the odds
    (e.g. the slope change after a break on the 4-digit-addition curve: R^2 0.995 against 0.92
    for logit r), so this coordinate removes the banana that the logit gives NUTS. The density
    is ``base(r) |dr/dw|``, so ``r`` has exactly the prior ``base`` (the spec's
    ``asymptote_fraction``).
    """

    arg_constraints = {}
    support = constraints.real
    pytree_data_fields = ("base",)

    def __init__(self, base: dist.Distribution, *, validate_args=None):
        self.base = base
        super().__init__(batch_shape=(), event_shape=(), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        r = self.base.sample(key, sample_shape)
        y = ODDS_SHARPNESS * r / (1.0 - r)
        return (y + jnp.log(-jnp.expm1(-y))) / ODDS_SHARPNESS

    def log_prob(self, value):
        o = _odds(value)
        log1p_o = jnp.log1p(o)
        r = o / (1.0 + o)
        log_jac = -2.0 * log1p_o + nn.log_sigmoid(ODDS_SHARPNESS * value)
        return self.base.log_prob(r) + log_jac


@dataclass(frozen=True)
class Scaling:
    """The map between user units and the standardized scale of the priors.

    Attributes
    ----------
    space : {"log", "linear"}
        Noise space.
    log_x0 : float
        log of the first fit x.
    log_x_width : float
        log x_last - log x_first of the fit points (> 0).
    y_shift : float
        Subtracted from y before scaling (linear: y at the last fit point; log: 0).
    y_scale : float
        y is divided by it (log: y at the last fit point; linear: max - min of the fit points).
    """

    space: NoiseSpace
    log_x0: float
    log_x_width: float
    y_shift: float
    y_scale: float

    @classmethod
    def from_curve(cls, curve: Curve, space: NoiseSpace) -> Scaling:
        """The standardization of the fit points of ``curve``."""
        m = curve.fit_mask
        lx = np.log(curve.x[m])
        y = curve.y[m]
        y_last = float(y[-1])
        if space == "log":
            return cls(space, float(lx[0]), float(lx[-1] - lx[0]), 0.0, y_last)
        spread = float(np.ptp(y))
        if spread <= 0:
            spread = max(abs(y_last), 1.0)
        return cls(space, float(lx[0]), float(lx[-1] - lx[0]), y_last, spread)

    def u(self, x: np.ndarray) -> np.ndarray:
        """Standardized log x."""
        return (np.log(x) - self.log_x0) / self.log_x_width

    def to_dict(self) -> dict:
        """Plain dict (for file attributes)."""
        return asdict(self)


class ModelData(NamedTuple):
    """Arrays the compiled model takes (all of one length, the number of fit points).

    Attributes
    ----------
    u : array
        Standardized log x.
    obs : array
        Standardized observation: log(y') in log space, y' in linear space.
    sqrt_seeds : array
        Square root of the number of runs behind each point.
    std2 : array
        Squared per-run standard deviation in model units (0 where unknown).
    std_dof : array
        Degrees of freedom of that spread (seeds - 1 where known, else 0).
    mask : array, optional
        1 for a real point, 0 for padding (curves of different lengths share one compiled
        sampler by padding to a common length); None means every point is real.
    log_x_width : array, optional
        Scalar ``log x_last - log x_first``, for forms whose shape is fixed in natural-log-x
        units (M3); None for the others.
    y_zero : array, optional
        Scalar: y = 0 on the standardized scale (linear space: ``-y_last / spread``; log
        space: 0, unused), for forms anchored at y = 0 (M1); None for the others.
    """

    u: jnp.ndarray
    obs: jnp.ndarray
    sqrt_seeds: jnp.ndarray
    std2: jnp.ndarray
    std_dof: jnp.ndarray
    mask: jnp.ndarray | None = None
    log_x_width: jnp.ndarray | None = None
    y_zero: jnp.ndarray | None = None

    @property
    def n_points(self) -> int:
        """Length of the arrays (real points plus padding)."""
        return int(np.shape(self.u)[-1])

    def padded(self, length: int) -> ModelData:
        """The same points followed by ``length - n`` masked padding points."""
        n = self.n_points
        if length < n:
            raise ValueError(f"length = {length}: expected at least the {n} points of the data")
        extra = length - n
        mask = np.ones(n) if self.mask is None else np.asarray(self.mask, dtype=float)

        def pad(v, fill):
            return np.concatenate([np.asarray(v, dtype=float), np.full(extra, fill)])

        # Padding sits at u = 1 with one seed and no spread; its mask removes it from the sums.
        return ModelData(pad(self.u, 1.0), pad(self.obs, 0.0), pad(self.sqrt_seeds, 1.0),
                         pad(self.std2, 0.0), pad(self.std_dof, 0.0), pad(mask, 0.0),
                         self.log_x_width, self.y_zero)

    @classmethod
    def from_curve(cls, curve: Curve, scaling: Scaling, *, refs: bool = False) -> ModelData:
        """The standardized fit points of ``curve``.

        ``refs=True`` also fills the scalars ``log_x_width`` and ``y_zero`` (forms that need
        them say so: :attr:`bnsl_bayes.forms.Form.needs_refs`).
        """
        m = curve.fit_mask
        x, y, n, sd = curve.x[m], curve.y[m], curve.seeds[m], curve.std[m]
        if scaling.space == "log":
            obs = np.log(y / scaling.y_scale)
            sd_model = sd / y  # delta method: sd of log y across runs
        else:
            obs = (y - scaling.y_shift) / scaling.y_scale
            sd_model = sd / scaling.y_scale
        # a spread whose square underflows carries no usable information: treat it as unknown
        known = np.isfinite(sd_model) & (sd_model**2 >= np.finfo(float).tiny) & (n >= 2)
        data = cls(
            u=np.asarray(scaling.u(x), dtype=float),
            obs=np.asarray(obs, dtype=float),
            sqrt_seeds=np.sqrt(n).astype(float),
            std2=np.where(known, sd_model, 0.0) ** 2,
            std_dof=np.where(known, n - 1.0, 0.0),
        )
        if refs:
            zero = -scaling.y_shift / scaling.y_scale if scaling.space == "linear" else 0.0
            data = data._replace(log_x_width=np.asarray(scaling.log_x_width, dtype=float),
                                 y_zero=np.asarray(zero, dtype=float))
        return data


def standardized_log_power(u, level_log_p1, s0, s, v, g):
    """log P'(u) given log P'(1) and the standardized slopes, break locations and sharpnesses."""
    if s.shape[-1] == 0:
        return level_log_p1 + s0 * (1.0 - u)
    log_b = level_log_p1 + s0 + jnp.sum(s * g * nn.softplus((1.0 - v) / g), axis=-1)
    return bnsl_log_power(u, log_b, s0, s, v, g)


def bnsl_model(data: ModelData, spec: ModelSpec, space: NoiseSpace) -> None:
    """NumPyro model of one curve on the standardized scale (see the module docstring)."""
    n = spec.breaks
    level = numpyro.sample("level", spec.prior("level").build())
    s0 = numpyro.sample("slope0", spec.prior("slope0").build())
    if n > 0:
        s = numpyro.sample(
            "slope_change", spec.prior("slope_change").build().expand([n]).to_event(1)
        )
        v = numpyro.sample("break_location", SortedIID(spec.prior("break_location").build(), n))
        log_g = numpyro.sample(
            "log_sharpness", spec.prior("log_sharpness").build().expand([n]).to_event(1)
        )
        g = jnp.exp(log_g)
    else:
        s = v = g = jnp.zeros((0,))
    if space == "log":
        prior_r = spec.prior("asymptote_fraction").build()
        w = numpyro.sample("asymptote", AsymptoteCoordinate(prior_r))
        log1p_o = jnp.log1p(_odds(w))
        log_p = standardized_log_power(data.u, level - log1p_o, s0, s, v, g)
        mean = jnp.logaddexp(_log_odds(w) - log1p_o + level, log_p)
    else:
        log_h = numpyro.sample("log_height", spec.prior("log_height").build())
        a = level - jnp.exp(log_h)
        mean = a + jnp.exp(standardized_log_power(data.u, log_h, s0, s, v, g))
    alpha, beta = noise_prior(spec)
    _factor("y", marginal_log_likelihood(data.obs - mean, data, alpha, beta))


def _factor(name: str, log_factor) -> None:
    """``numpyro.factor`` without its lookup of ``numpyro.distributions.distribution``."""
    unit = Unit(log_factor)
    numpyro.sample(name, unit, obs=unit.sample(None), infer={"is_auxiliary": True})


def noise_prior(spec: ModelSpec) -> tuple[float, float]:
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


def draw_noise(resid: np.ndarray, data: ModelData, spec: ModelSpec,
               rng: np.random.Generator) -> np.ndarray:
    """Exact draws of the per-seed noise sd (standardized units) given each curve.

    Parameters
    ----------
    resid : numpy.ndarray
        Standardized residuals ``obs - mean``, shape ``(S, N)``.
    data : ModelData
        The fit points.
    spec : ModelSpec
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


def to_user_units(params: dict, scaling: Scaling, breaks: int) -> dict[str, np.ndarray]:
    """Map standardized draws (arrays with any leading shape) to the law's parameters.

    Returns
    -------
    dict
        ``a, b, log_b, c0`` with the leading shape, and ``c, d, f`` with a trailing break axis.
    """
    w, lx0 = scaling.log_x_width, scaling.log_x0
    level = np.asarray(params["level"], dtype=float)
    s0 = np.asarray(params["slope0"], dtype=float)
    shape = level.shape
    if breaks > 0:
        s = np.asarray(params["slope_change"], dtype=float)
        v = np.asarray(params["break_location"], dtype=float)
        g = np.exp(np.asarray(params["log_sharpness"], dtype=float))
    else:
        s = v = g = np.zeros(shape + (0,))
    if scaling.space == "log":
        k = ODDS_SHARPNESS
        o = np.logaddexp(0.0, k * np.asarray(params["asymptote"], dtype=float)) / k
        a = scaling.y_scale * o / (1.0 + o) * np.exp(level)
        log_p1 = np.log(scaling.y_scale) - np.log1p(o) + level
    else:
        log_h = np.asarray(params["log_height"], dtype=float)
        a = scaling.y_shift + scaling.y_scale * (level - np.exp(log_h))
        log_p1 = np.log(scaling.y_scale) + log_h
    c0 = s0 / w
    c = s / w
    f = g * w
    log_d = lx0 + w * v
    log_x_last = lx0 + w
    z_last = (log_x_last - log_d) / f
    log_b = log_p1 + c0 * log_x_last + np.sum(c * f * np.logaddexp(0.0, z_last), axis=-1)
    with np.errstate(over="ignore"):
        b = np.exp(log_b)
    return {"a": a, "b": b, "log_b": log_b, "c0": c0, "c": c, "d": np.exp(log_d), "f": f}
