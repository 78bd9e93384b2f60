"""The Broken Neural Scaling Law as a NumPyro model on the standardized scale.

Parametrization. Sampling ``a`` and ``log b`` directly gives a posterior correlated at -0.99 (the
data fix mostly ``a + b`` when the first slope is small). Here the curve is anchored where the
data pin it, at the last fit point:

- ``level``: log (log space) or value (linear space) of the mean curve at ``u = 1``;
- ``asymptote_fraction`` r (log space): ``a' = r * exp(level)``, so ``0 <= a < y`` and y > 0
  everywhere; ``log_height`` (linear space): ``a' = level - exp(log_height)``;
- ``slope0`` = c0 * W, ``slope_change`` = c_i * W, ``break_location`` = standardized log d_i
  (ordered), ``log_sharpness`` = log(f_i / W), with W = log x_last - log x_first;
- the per-seed noise is integrated out (:mod:`..likelihood`).

``b`` is then a deterministic function of the rest. The law itself comes from :mod:`..law`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax import nn

from ..data import NoiseSpace
from ..law import bnsl_log_power
from ..priors import PriorSource
from ..standardize import ModelData, Scaling
from .base import (
    ASYMPTOTE_SITE,
    HEIGHT_SITE,
    LEVEL_SITE,
    NOISE_SITE,
    Form,
    SiteInfo,
    floor_user,
    host_law,
    sample_site,
)
from .coordinates import AsymptoteCoordinate, SortedIID, log_odds, odds

__all__ = ["END_SHARE_FLOOR", "END_SLOPE_SITE", "BNSLForm", "bnsl_mean", "bnsl_model", "end_share",
           "standardized_log_power", "to_user_units"]


def standardized_log_power(u, level_log_p1, s0, s, v, g):
    """log P'(u) given log P'(1) and the standardized slopes, break locations and sharpnesses."""
    if s.shape[-1] == 0:
        return level_log_p1 + s0 * (1.0 - u)
    log_b = level_log_p1 + s0 + jnp.sum(s * g * nn.softplus((1.0 - v) / g), axis=-1)
    return bnsl_log_power(u, log_b, s0, s, v, g)


#: Floor of :func:`end_share`: the scale of the end coordinate stays above this fraction of
#: the slope change's own where a break lies so far past the data that none of it shows.
END_SHARE_FLOOR = float(np.exp(-20.0))
#: The latent site of the end coordinate (``end_slopes=True`` in :func:`bnsl_mean`).
END_SLOPE_SITE = "end_slope_change"


def end_share(v, g, xp=np):
    """The share of each break's slope change in effect at the last fit point,
    ``sigmoid((1 - v) / g)`` (the derivative of ``g softplus((u - v) / g)`` at ``u = 1``), plus
    :data:`END_SHARE_FLOOR`. ``xp``: ``numpy`` or ``jax.numpy``."""
    return xp.exp(-xp.logaddexp(0.0, (v - 1.0) / g)) + END_SHARE_FLOOR


def _break_sites(spec: PriorSource, n: int):
    """Sample the ``n`` ordered break locations and the log sharpnesses; return ``(v, g)``."""
    v = numpyro.sample("break_location", SortedIID(spec.prior("break_location").build(), n))
    log_g = numpyro.sample(
        "log_sharpness", spec.prior("log_sharpness").build().expand([n]).to_event(1)
    )
    return v, jnp.exp(log_g)


def bnsl_mean(data: ModelData, spec: PriorSource, space: NoiseSpace, *,
              end_slopes: bool = False):
    """Sample the BNSL's sites; return its mean curve at ``data.u`` (log y' or y').

    With ``end_slopes``, each slope change is sampled as the part of it in effect at the last
    fit point, ``h = s * end_share(v, g)`` (site :data:`END_SLOPE_SITE`, after the break's
    location and sharpness; ``slope_change`` is then recorded as a deterministic site). For
    a given break, ``h`` is ``s`` scaled, so its prior is the slope change's prior scaled the
    same way and the model's prior and posterior are those of the default coordinates. Where
    precise data show only the start of a break past the last point, they pin ``h`` and the
    break's sharpness while ``s`` and the location trade off along a curved ridge
    (``s ~ h exp((v - 1) / g)``); in ``h`` that ridge is straight. Tempered SMC moves along it
    in these coordinates; NUTS keeps the default ones, where a weakly informed break past
    the data would make ``h``'s scale a funnel.
    """
    n = spec.breaks
    level = sample_site(spec, "level")
    s0 = sample_site(spec, "slope0")
    if n > 0 and end_slopes:
        v, g = _break_sites(spec, n)
        k = end_share(v, g, jnp)
        h = numpyro.sample(END_SLOPE_SITE, dist.TransformedDistribution(
            spec.prior("slope_change").build().expand([n]),
            dist.transforms.AffineTransform(0.0, k)).to_event(1))
        s = numpyro.deterministic("slope_change", h / k)
    elif n > 0:
        s = numpyro.sample(
            "slope_change", spec.prior("slope_change").build().expand([n]).to_event(1)
        )
        v, g = _break_sites(spec, n)
    else:
        s = v = g = jnp.zeros((0,))
    # The floor is computed after the power term, in this order, as the draws of a fixed seed
    # depend on the order of operations XLA is given.
    if space == "log":
        w = numpyro.sample("asymptote", AsymptoteCoordinate(spec.prior("asymptote_fraction")
                                                            .build()))
        log1p_o = jnp.log1p(odds(w))
        log_p = standardized_log_power(data.u, level - log1p_o, s0, s, v, g)
        return jnp.logaddexp(log_odds(w) - log1p_o + level, log_p)
    log_h = sample_site(spec, "log_height")
    a = level - jnp.exp(log_h)
    return a + jnp.exp(standardized_log_power(data.u, log_h, s0, s, v, g))


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
    a, log_p1 = floor_user(params, scaling)
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


@jax.jit
def _bnsl_mu(log_x, a, log_b, c0, c, log_d, f):
    """Mean BNSL curve per draw: ``a + exp(log power)``, shape ``(S, m)``."""
    log_power = jax.vmap(bnsl_log_power, in_axes=(None, 0, 0, 0, 0, 0))(
        log_x, log_b, c0, c, log_d, f)
    return a[:, None] + jnp.exp(log_power)


class BNSLForm(Form):
    """The Broken Neural Scaling Law with ``breaks`` breaks (:func:`bnsl_model`)."""

    name = "bnsl"
    summary_params = ("a", "b", "c0")
    formula = "y = a + b x^-c0 prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i f_i)"
    fixed_breaks = None
    _sites = {
        "level": LEVEL_SITE,
        "asymptote_fraction": ASYMPTOTE_SITE,
        "log_height": HEIGHT_SITE,
        "slope0": ("real", "both", "c0 times the log-x width of the fit range"),
        "slope_change": ("real", "breaks", "c_i times the log-x width of the fit range"),
        "break_location": ("real", "breaks",
                           "log d_i on the standardized axis (fit range = [0, 1])"),
        "log_sharpness": ("real", "breaks",
                          "log of f_i divided by the log-x width of the fit range"),
        "noise_variance": NOISE_SITE,
    }

    def sites(self, breaks: int) -> dict[str, SiteInfo]:
        return {s: v for s, v in self._sites.items() if v[1] != "breaks" or breaks > 0}

    def n_law_params(self, breaks: int) -> int:
        return 3 + 3 * breaks

    def mean(self, data: ModelData, spec: PriorSource, space: NoiseSpace):
        return bnsl_mean(data, spec, space)

    def smc_mean(self, data: ModelData, spec: PriorSource, space: NoiseSpace):
        return bnsl_mean(data, spec, space, end_slopes=True)

    def user_params(self, values, scaling, spec):
        return to_user_units(values, scaling, spec.breaks)

    def posterior_vars(self, breaks):
        if breaks:
            return ("a", "b", "log_b", "c0", "c", "d", "f"), {k: ["break"] for k in "cdf"}
        return ("a", "b", "log_b", "c0"), {}

    def law(self, draws, x):
        return host_law(_bnsl_mu, x, draws["a"], draws["log_b"], draws["c0"], draws["c"],
                        np.log(np.asarray(draws["d"], dtype=float)), draws["f"])

    def complete_draws(self, draws):
        for name in ("c", "d", "f"):  # absent for 0 breaks
            if name not in draws:
                draws[name] = np.zeros((draws["a"].size, 0))

    def parameter_draws(self, draws, breaks):
        rows = {name: draws[name] for name in ("a", "b", "c0")}
        for i in range(breaks):
            for name in ("c", "d", "f"):
                rows[f"{name}{i + 1}"] = draws[name][:, i]
        return rows

    def diagnostic_vars(self, breaks):
        return ["a", "log_b", "c0", "sigma"] + (["c", "d", "f"] if breaks else [])

    def trace_vars(self, breaks):
        return ["a", "b", "c0"] + (["c", "d", "f"] if breaks else []) + ["sigma"]

    def title(self, spec):
        return f"BNSL fit: model {spec.name} ({spec.breaks} break(s))"


def bnsl_model(data: ModelData, spec: PriorSource, space: NoiseSpace) -> None:
    """NumPyro model of one BNSL curve on the standardized scale (see the module docstring)."""
    BNSLForm().model(data, spec, space)
