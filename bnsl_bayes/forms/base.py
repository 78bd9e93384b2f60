"""What every functional form provides, and the pieces the forms share.

A form says which prior sites it samples, how it computes its mean curve on the standardized
scale of :mod:`..standardize` (the same ``u`` in [0, 1] over the fit range, the same ``y'``, the
same per-seed noise integrated out by :func:`~..likelihood.marginal_log_likelihood`), how its
standardized draws map to its own parameters in the user's units, and its law in those units
(for predictions). Nothing outside the forms package branches on the form.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro

from ..data import Curve, NoiseSpace
from ..likelihood import marginal_log_likelihood, noise_prior
from ..priors import PriorSource
from ..standardize import ModelData, Scaling
from .coordinates import ODDS_SHARPNESS, AsymptoteCoordinate, factor, log_odds, odds

__all__ = ["Form", "SiteInfo", "host_law", "host_law_log", "sample_site"]

#: (support the prior needs, noise space it is used in: "both", "log" or "linear", meaning)
SiteInfo = tuple[str, str, str]

LEVEL_SITE = ("real", "both", "log (log space) or value (linear space) of the mean curve at the "
          "last fit point, relative to the observed last point")
ASYMPTOTE_SITE = ("unit", "log", "a divided by the mean curve at the last fit point")
HEIGHT_SITE = ("real", "linear", "log of (mean curve at the last fit point - a), in spreads")
NOISE_SITE = ("positive", "both", "per-seed noise variance (log space: of log y; linear: in "
              "spreads squared); InverseGamma, integrated out analytically")

class Form:
    """A functional form: its sites, its standardized mean, its user units and its law.

    Subclasses set the class attributes and override the methods; :data:`FORMS` holds one
    instance of each.

    Attributes
    ----------
    name : str
        The value of ``form`` in a model file.
    formula : str
        The law in the user's units, for reports.
    fixed_breaks : int or None
        The number of breaks the form always has (a model file may leave ``breaks`` out);
        None when the file chooses it (BNSL).
    needs_refs : bool
        The mean needs the scalars ``log_x_width`` / ``y_zero`` of
        :class:`~..standardize.ModelData`.
    params : tuple of str
        Scalar parameters in user units, in the order :meth:`Fit.parameters` lists them.
    aux : tuple of str
        Further posterior variables kept for numerically safe evaluation (``log_a``, ...).
    """

    name: ClassVar[str]
    formula: ClassVar[str]
    fixed_breaks: ClassVar[int | None] = 0
    needs_refs: ClassVar[bool] = False
    params: ClassVar[tuple[str, ...]] = ()
    aux: ClassVar[tuple[str, ...]] = ()
    diagnostic: ClassVar[tuple[str, ...]] = ()
    summary_params: ClassVar[tuple[str, ...]] = ()  # medians in a fit-many row
    _sites: ClassVar[dict[str, SiteInfo]] = {}

    # -------------------------------------------------------------------- specification
    def all_sites(self) -> dict[str, SiteInfo]:
        """Every prior site a model file of this form may give."""
        return dict(self._sites)

    def sites(self, breaks: int) -> dict[str, SiteInfo]:
        """The prior sites a model file of this form with ``breaks`` breaks must give."""
        return dict(self._sites)

    def n_law_params(self, breaks: int) -> int:
        """Number of parameters of the law (a fit needs at least as many points)."""
        return len(self.params)

    # -------------------------------------------------------------------- model
    def model(self, data: ModelData, spec: PriorSource, space: NoiseSpace, *,
              smc: bool = False) -> None:
        """NumPyro model of one curve on the standardized scale; with ``smc``, in the
        coordinates tempered SMC samples (:meth:`smc_mean`)."""
        mean = (self.smc_mean if smc else self.mean)(data, spec, space)
        alpha, beta = noise_prior(spec)
        factor("y", marginal_log_likelihood(data.obs - mean, data, alpha, beta))

    def smc_mean(self, data: ModelData, spec: PriorSource, space: NoiseSpace):
        """:meth:`mean` in the latent coordinates tempered SMC moves in: the same prior and
        posterior of the law, sampled through other sites where that suits SMC better
        (the same sites unless a form says otherwise)."""
        return self.mean(data, spec, space)

    def mean(self, data: ModelData, spec: PriorSource, space: NoiseSpace):
        """Sample the form's sites; return the mean curve at ``data.u`` (log y' or y')."""
        raise NotImplementedError

    def check_data(self, curve: Curve, scaling: Scaling, spec: PriorSource) -> None:
        """Raise :class:`DataError` for data this form cannot be fitted to (beyond the
        general checks)."""

    # -------------------------------------------------------------------- user units
    def user_params(self, values: dict, scaling: Scaling, spec: PriorSource
                    ) -> dict[str, np.ndarray]:
        """Standardized draws (any leading shape) to the posterior variables in user units."""
        raise NotImplementedError

    def posterior_vars(self, breaks: int) -> tuple[tuple[str, ...], dict[str, list[str]]]:
        """Names of the posterior variables (before sigma) and their extra dims."""
        return self.params + self.aux, {}

    def law(self, draws: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        """The mean curve at ``x`` (shape ``(m,)``) for flat draws: shape ``(S, m)``."""
        raise NotImplementedError

    def complete_draws(self, draws: dict[str, np.ndarray]) -> None:
        """Fill in variables a stored posterior may leave out (in place)."""

    def parameter_draws(self, draws: dict[str, np.ndarray], breaks: int
                        ) -> dict[str, np.ndarray]:
        """Flat draws of each reported parameter (not sigma), in report order."""
        return {k: draws[k] for k in self.params}

    def diagnostic_vars(self, breaks: int) -> list[str]:
        """Posterior variables whose r_hat and ESS are checked (with sigma)."""
        return list(self.diagnostic) + ["sigma"]

    def trace_vars(self, breaks: int) -> list[str]:
        """Posterior variables of the default trace plot."""
        return list(self.params) + ["sigma"]

    def title(self, spec: PriorSource) -> str:
        """One line naming the model and its law."""
        return f"{self.name.upper()} fit: model {spec.name} ({self.formula})"


# ---------------------------------------------------------------------------- shared pieces
def _bucket(m: int) -> int:
    """The length ``m`` points are padded to on the host: a power of 2 from 16 to 1024, then a
    multiple of 1024 (so a long prediction grid costs at most 1023 padded columns)."""
    if m > 1024:
        return -(-int(m) // 1024) * 1024
    return max(16, 1 << max(int(m) - 1, 0).bit_length())


def host_law(fn, x: np.ndarray, *draws: np.ndarray) -> np.ndarray:
    """``fn(log x, *draws)`` as float64 numpy, ``x`` padded to a bucket length.

    ``fn`` is a jitted law of ``log_x`` (shape ``(m,)``) and per-draw parameters (leading axis
    S) giving the mean curve, shape ``(S, m)``. One compiled call per (S, bucket) instead of
    one compilation per op and per number of points: fits of curves of many lengths (fit_many,
    predictions at new x) would otherwise spend most of their host time compiling.
    """
    return host_law_log(fn, np.log(np.asarray(x, dtype=float)), *draws)


def host_law_log(fn, log_x: np.ndarray, *draws: np.ndarray) -> np.ndarray:
    """:func:`host_law` given ``log x`` (for callers that already work in log x)."""
    log_x = np.asarray(log_x, dtype=float).reshape(-1)
    m = log_x.size
    padded = np.resize(log_x, _bucket(m)) if m else np.zeros(_bucket(0))
    with jax.enable_x64(True):
        # numpy float64 straight into the jitted call: jnp.asarray per argument costs more
        # than the law itself when a caller (curve_fit) evaluates one row many times
        mu = fn(padded, *(np.asarray(d, dtype=np.float64) for d in draws))
        return np.asarray(mu)[:, :m]


def sample_site(spec: PriorSource, site: str):
    """Sample the scalar site ``site`` from its prior in ``spec``."""
    return numpyro.sample(site, spec.prior(site).build())


def floor_site(spec: PriorSource, space: NoiseSpace, level):
    """Sample the floor of the curve (BNSL's asymptote a) relative to the level at u = 1.

    Returns ``(floor, log_height)``: log space ``log a'`` and ``log(P'(1))`` (the curve at
    u = 1 is ``a' + P'(1)``), linear space ``a'`` and ``log((curve at u = 1 - a') / 1)``;
    exactly the coordinates of :func:`~.bnsl.bnsl_model`.
    """
    if space == "log":
        w = numpyro.sample("asymptote", AsymptoteCoordinate(spec.prior("asymptote_fraction")
                                                            .build()))
        log1p_o = jnp.log1p(odds(w))
        return log_odds(w) - log1p_o + level, level - log1p_o
    log_h = sample_site(spec, "log_height")
    return level - jnp.exp(log_h), log_h


def above(space: NoiseSpace, floor, log_excess):
    """The mean curve ``floor + exp(log_excess)`` on the model's scale (log y' or y')."""
    if space == "log":
        return jnp.logaddexp(floor, log_excess)
    return floor + jnp.exp(log_excess)


def floor_user(values: dict, scaling: Scaling) -> tuple[np.ndarray, np.ndarray]:
    """``(floor, log_height)`` of :func:`floor_site` in user units: the floor a and
    ``log(curve at the last fit point - a)``."""
    level = np.asarray(values["level"], dtype=float)
    if scaling.space == "log":
        o = np.logaddexp(0.0, ODDS_SHARPNESS * np.asarray(values["asymptote"], dtype=float))
        o = o / ODDS_SHARPNESS
        floor = scaling.y_scale * o / (1.0 + o) * np.exp(level)
        return floor, np.log(scaling.y_scale) - np.log1p(o) + level
    log_h = np.asarray(values["log_height"], dtype=float)
    return (scaling.y_shift + scaling.y_scale * (level - np.exp(log_h)),
            np.log(scaling.y_scale) + log_h)


def signed_power(log_a, sign, exponent_times_log):
    with np.errstate(over="ignore"):
        return sign * np.exp(log_a + exponent_times_log)
