"""The baselines of the BNSL paper, M1-M4 (Alabdulmohsin et al., 2022), as forms.

========  =================================================  ==================================
form      law (user units)                                   relation to BNSL
========  =================================================  ==================================
``m1``    ``y = a x^b``                                      BNSL-0 with asymptote 0
``m2``    ``y = a x^b + c``                                  BNSL-0, renamed (same model)
``m3``    ``y = a (x + d)^b + c``                            BNSL-1 with c0 = 0, f1 = 1
``m4``    ``(y - eps_inf) / (eps_0 - y)^alpha = b x^c``      solved for y (:func:`..law.m4_root`)
========  =================================================  ==================================
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from jax import nn

from ..data import DataError
from ..law import _m4_h, m4_log_b, m4_root
from .base import (
    LEVEL_SITE,
    NOISE_SITE,
    Form,
    above,
    floor_site,
    floor_user,
    host_law,
    sample_site,
    signed_power,
)
from .bnsl import bnsl_model, standardized_log_power, to_user_units
from .coordinates import SortedIID

__all__ = ["M1Form", "M2Form", "M3Form", "M4Form", "m4_mu"]

#: log(alpha) of M4 is clipped to this range inside the model: alpha = e^40 or e^-40 already
#: gives a step or a power law; beyond, exp would overflow or the root bracket degenerate.
M4_LOG_ALPHA_LIMIT = 40.0


# ---------------------------------------------------------------------------- M1
class M1Form(Form):
    """``y = a x^b``: BNSL-0 with asymptote 0. Anchored like the BNSL at the last fit point."""

    name = "m1"
    formula = "y = a x^b"
    needs_refs = True
    params = ("a", "b")
    summary_params = params
    aux = ("log_a",)
    diagnostic = ("log_a", "b")
    _sites = {
        "level": ("real", "both", "log of (mean curve at the last fit point / observed last "
                  "point), in both noise spaces"),
        "slope0": ("real", "both", "-b times the log-x width of the fit range"),
        "noise_variance": NOISE_SITE,
    }

    def mean(self, data, spec, space):
        level = sample_site(spec, "level")
        s0 = sample_site(spec, "slope0")
        log_rel = level + s0 * (1.0 - data.u)  # log(curve / y_last)
        if space == "log":
            return log_rel
        return -data.y_zero * jnp.expm1(log_rel)  # (y_last curve/y_last - y_last) / spread

    def check_data(self, curve, scaling, spec):
        if scaling.space == "linear" and scaling.y_shift == 0:
            raise DataError(
                f"model {spec.name!r} (y = a x^b) is anchored at the last fit point, whose y is "
                f"0 here: a x^b cannot pass through 0; drop that point or use another form")

    def user_params(self, values, scaling, spec):
        level = np.asarray(values["level"], dtype=float)
        c0 = np.asarray(values["slope0"], dtype=float) / scaling.log_x_width
        log_x_last = scaling.log_x0 + scaling.log_x_width
        if scaling.space == "log":
            ref, sign = scaling.y_scale, 1.0
        else:
            ref, sign = scaling.y_shift, float(np.sign(scaling.y_shift))
        log_a = np.log(abs(ref)) + level + c0 * log_x_last
        return {"a": signed_power(log_a, sign, 0.0), "b": -c0, "log_a": log_a}

    def law(self, draws, x):
        sign = np.sign(draws["a"])[:, None]
        return signed_power(draws["log_a"][:, None], sign, draws["b"][:, None] * np.log(x))


# ---------------------------------------------------------------------------- M2
class M2Form(Form):
    """``y = a x^b + c``: exactly BNSL-0 (the same sampled model), parameters renamed."""

    name = "m2"
    formula = "y = a x^b + c"
    params = ("a", "b", "c")
    summary_params = params
    aux = ("log_a",)
    diagnostic = ("log_a", "b", "c")
    _sites = {
        "level": LEVEL_SITE,
        "asymptote_fraction": ("unit", "log", "c divided by the mean curve at the last fit "
                               "point"),
        "log_height": ("real", "linear", "log of (mean curve at the last fit point - c), in "
                       "spreads"),
        "slope0": ("real", "both", "-b times the log-x width of the fit range"),
        "noise_variance": NOISE_SITE,
    }

    def model(self, data, spec, space):
        bnsl_model(data, spec, space)  # spec.breaks == 0: y = a' + b' x^-c0

    def user_params(self, values, scaling, spec):
        p = to_user_units(values, scaling, 0)
        return {"a": p["b"], "b": -p["c0"], "c": p["a"], "log_a": p["log_b"]}

    def law(self, draws, x):
        mu = signed_power(draws["log_a"][:, None], 1.0, draws["b"][:, None] * np.log(x))
        return mu + draws["c"][:, None]


# ---------------------------------------------------------------------------- M3
class M3Form(Form):
    """``y = a (x + d)^b + c``: BNSL-1 with ``c0 = 0`` and ``f1 = 1`` (natural-log x units).

    ``a (x + d)^b = a d^b (1 + x/d)^b``: BNSL's ``b = a d^b``, ``c1 = -b``, ``d1 = d``.
    """

    name = "m3"
    formula = "y = a (x + d)^b + c"
    fixed_breaks = 1
    needs_refs = True
    params = ("a", "b", "c", "d")
    summary_params = params
    aux = ("log_a",)
    diagnostic = ("log_a", "b", "c", "d")
    _sites = {
        "level": LEVEL_SITE,
        "asymptote_fraction": ("unit", "log", "c divided by the mean curve at the last fit "
                               "point"),
        "log_height": ("real", "linear", "log of (mean curve at the last fit point - c), in "
                       "spreads"),
        "slope_change": ("real", "both", "-b times the log-x width of the fit range"),
        "break_location": ("real", "both", "log d on the standardized axis (fit range = "
                           "[0, 1])"),
        "noise_variance": NOISE_SITE,
    }

    def mean(self, data, spec, space):
        level = sample_site(spec, "level")
        s = numpyro.sample("slope_change",
                           spec.prior("slope_change").build().expand([1]).to_event(1))
        v = numpyro.sample("break_location", SortedIID(spec.prior("break_location").build(), 1))
        g = jnp.reshape(1.0 / data.log_x_width, (1,))  # f1 = 1 in natural-log-x units
        floor, log_h = floor_site(spec, space, level)
        return above(space, floor, standardized_log_power(data.u, log_h, 0.0, s, v, g))

    def user_params(self, values, scaling, spec):
        level = np.asarray(values["level"], dtype=float)
        sharp = np.full(level.shape + (1,), -np.log(scaling.log_x_width))
        p = to_user_units({**values, "slope0": np.zeros_like(level), "log_sharpness": sharp},
                          scaling, 1)
        c1 = p["c"][..., 0]
        log_d = scaling.log_x0 + scaling.log_x_width * np.asarray(
            values["break_location"], dtype=float)[..., 0]
        log_a = p["log_b"] + c1 * log_d
        return {"a": signed_power(log_a, 1.0, 0.0), "b": -c1, "c": p["a"],
                "d": np.exp(log_d), "log_a": log_a}

    def law(self, draws, x):
        log_xd = np.logaddexp(np.log(x)[None, :], np.log(draws["d"])[:, None])
        return signed_power(draws["log_a"][:, None], 1.0, draws["b"][:, None] * log_xd) \
            + draws["c"][:, None]


# ---------------------------------------------------------------------------- M4
class M4Form(Form):
    """``(y - eps_inf) / (eps_0 - y)^alpha = b x^c``, solved for y by :func:`.law.m4_root`.

    On the standardized scale ``y' = eps_inf' + D' sigmoid(s(u))`` where ``s(u)`` solves
    ``h(s) = h(s_1) - slope0 (u - 1)`` (``h(s) = alpha softplus(s) - softplus(-s)``) and the
    curve is anchored at the last fit point: its level, its height above eps_inf (as BNSL's
    above a) and ``log_ceiling_gap = -s_1 = log((eps_0 - curve) / (curve - eps_inf))`` there.
    """

    name = "m4"
    formula = "(y - eps_inf) / (eps_0 - y)^alpha = b x^c"
    params = ("alpha", "b", "c", "eps_0", "eps_inf")
    summary_params = params
    aux = ("log_b",)
    diagnostic = ("alpha", "log_b", "c", "eps_0", "eps_inf")
    _sites = {
        "level": LEVEL_SITE,
        "asymptote_fraction": ("unit", "log", "eps_inf divided by the mean curve at the last "
                               "fit point"),
        "log_height": ("real", "linear", "log of (mean curve at the last fit point - eps_inf), "
                       "in spreads"),
        "slope0": ("real", "both", "-c times the log-x width of the fit range"),
        "log_ceiling_gap": ("real", "both", "log of (eps_0 - mean curve at the last fit point) "
                            "/ (mean curve at the last fit point - eps_inf)"),
        "log_alpha": ("real", "both", "log of alpha"),
        "noise_variance": NOISE_SITE,
    }

    def mean(self, data, spec, space):
        level = sample_site(spec, "level")
        s0 = sample_site(spec, "slope0")
        gap = sample_site(spec, "log_ceiling_gap")
        log_alpha = sample_site(spec, "log_alpha")
        alpha = jnp.exp(jnp.clip(log_alpha, -M4_LOG_ALPHA_LIMIT, M4_LOG_ALPHA_LIMIT))
        floor, log_h = floor_site(spec, space, level)
        s1 = -gap
        s = m4_root(alpha, _m4_h(s1, alpha) + s0 * (1.0 - data.u))
        # curve - eps_inf = D' sigmoid(s), with D' = (curve(1) - eps_inf) / sigmoid(s1)
        return above(space, floor, log_h + nn.softplus(-s1) - nn.softplus(-s))

    def user_params(self, values, scaling, spec):
        log_alpha = np.clip(np.asarray(values["log_alpha"], dtype=float),
                            -M4_LOG_ALPHA_LIMIT, M4_LOG_ALPHA_LIMIT)
        alpha = np.exp(log_alpha)
        c = -np.asarray(values["slope0"], dtype=float) / scaling.log_x_width
        s1 = -np.asarray(values["log_ceiling_gap"], dtype=float)
        eps_inf, log_h = floor_user(values, scaling)
        log_span = log_h + np.logaddexp(0.0, -s1)
        with np.errstate(over="ignore"):
            eps_0 = eps_inf + np.exp(log_span)
            h1 = alpha * np.logaddexp(0.0, s1) - np.logaddexp(0.0, -s1)
            log_b = h1 + (1.0 - alpha) * log_span - c * (scaling.log_x0 + scaling.log_x_width)
            b = np.exp(log_b)
        return {"alpha": alpha, "b": b, "c": c, "eps_0": eps_0, "eps_inf": eps_inf,
                "log_b": log_b}

    def law(self, draws, x):
        return host_law(m4_mu, x, *(draws[k] for k in ("alpha", "log_b", "c", "eps_0",
                                                          "eps_inf")))


@jax.jit
def m4_mu(log_x, alpha, log_b, c, eps_0, eps_inf):
    """Mean M4 curve per draw (parameters of shape ``(S,)``), shape ``(S, m)``."""
    return m4_log_b(log_x[None, :], alpha[:, None], log_b[:, None], c[:, None],
                    eps_0[:, None], eps_inf[:, None])
