"""The functional forms a model specification can name: the BNSL and the paper's baselines.

Each form says which prior sites it samples, how it computes its mean curve on the
standardized scale of :mod:`.model` (the same ``u`` in [0, 1] over the fit range, the same
``y'``, the same per-seed noise integrated out by :func:`~.model.marginal_log_likelihood`),
how its standardized draws map to its own parameters in the user's units, and its law in those
units (for predictions). Nothing outside this module branches on the form.

========  =================================================  ==================================
form      law (user units)                                   relation to BNSL
========  =================================================  ==================================
``bnsl``  ``a + b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^-c_i f_i``  (n breaks)
``m1``    ``y = a x^b``                                      BNSL-0 with asymptote 0
``m2``    ``y = a x^b + c``                                  BNSL-0, renamed (same model)
``m3``    ``y = a (x + d)^b + c``                            BNSL-1 with c0 = 0, f1 = 1
``m4``    ``(y - eps_inf) / (eps_0 - y)^alpha = b x^c``      solved for y (:func:`.law.m4_root`)
========  =================================================  ==================================

M1-M4 are the baselines of Alabdulmohsin et al. (2022) that the BNSL paper compares against.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from jax import nn

from .data import Curve, DataError, NoiseSpace
from .law import _m4_h, bnsl_log_power, m4_log_b, m4_root
from .model import (
    ODDS_SHARPNESS,
    AsymptoteCoordinate,
    ModelData,
    Scaling,
    SortedIID,
    _factor,
    _log_odds,
    _odds,
    bnsl_model,
    marginal_log_likelihood,
    noise_prior,
    standardized_log_power,
    to_user_units,
)
from .spec import ModelSpec

__all__ = ["FORMS", "Form", "get_form"]

#: (support the prior needs, noise space it is used in: "both", "log" or "linear", meaning)
SiteInfo = tuple[str, str, str]

_LEVEL = ("real", "both", "log (log space) or value (linear space) of the mean curve at the "
          "last fit point, relative to the observed last point")
_ASYMPTOTE = ("unit", "log", "a divided by the mean curve at the last fit point")
_HEIGHT = ("real", "linear", "log of (mean curve at the last fit point - a), in spreads")
_NOISE = ("positive", "both", "per-seed noise variance (log space: of log y; linear: in spreads "
          "squared); InverseGamma, integrated out analytically")

#: log(alpha) of M4 is clipped to this range inside the model: alpha = e^40 or e^-40 already
#: gives a step or a power law; beyond, exp would overflow or the root bracket degenerate.
M4_LOG_ALPHA_LIMIT = 40.0


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
        The mean needs the scalars ``log_x_width`` / ``y_zero`` of :class:`~.model.ModelData`.
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
    def model(self, data: ModelData, spec: ModelSpec, space: NoiseSpace) -> None:
        """NumPyro model of one curve on the standardized scale."""
        mean = self.mean(data, spec, space)
        alpha, beta = noise_prior(spec)
        _factor("y", marginal_log_likelihood(data.obs - mean, data, alpha, beta))

    def mean(self, data: ModelData, spec: ModelSpec, space: NoiseSpace):
        """Sample the form's sites; return the mean curve at ``data.u`` (log y' or y')."""
        raise NotImplementedError

    def check_data(self, curve: Curve, scaling: Scaling, spec: ModelSpec) -> None:
        """Raise :class:`DataError` for data this form cannot be fitted to (beyond the
        general checks)."""

    # -------------------------------------------------------------------- user units
    def user_params(self, values: dict, scaling: Scaling, spec: ModelSpec
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

    def title(self, spec: ModelSpec) -> str:
        """One line naming the model and its law."""
        return f"{self.name.upper()} fit: model {spec.name} ({self.formula})"


# ---------------------------------------------------------------------------- BNSL
class BNSLForm(Form):
    """The Broken Neural Scaling Law with ``breaks`` breaks (:func:`~.model.bnsl_model`)."""

    name = "bnsl"
    summary_params = ("a", "b", "c0")
    formula = "y = a + b x^-c0 prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i f_i)"
    fixed_breaks = None
    _sites = {
        "level": _LEVEL,
        "asymptote_fraction": _ASYMPTOTE,
        "log_height": _HEIGHT,
        "slope0": ("real", "both", "c0 times the log-x width of the fit range"),
        "slope_change": ("real", "breaks", "c_i times the log-x width of the fit range"),
        "break_location": ("real", "breaks",
                           "log d_i on the standardized axis (fit range = [0, 1])"),
        "log_sharpness": ("real", "breaks",
                          "log of f_i divided by the log-x width of the fit range"),
        "noise_variance": _NOISE,
    }

    def sites(self, breaks: int) -> dict[str, SiteInfo]:
        return {s: v for s, v in self._sites.items() if v[1] != "breaks" or breaks > 0}

    def n_law_params(self, breaks: int) -> int:
        return 3 + 3 * breaks

    def model(self, data: ModelData, spec: ModelSpec, space: NoiseSpace) -> None:
        bnsl_model(data, spec, space)

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


@jax.jit
def _bnsl_mu(log_x, a, log_b, c0, c, log_d, f):
    """Mean BNSL curve per draw: ``a + exp(log power)``, shape ``(S, m)``."""
    log_power = jax.vmap(bnsl_log_power, in_axes=(None, 0, 0, 0, 0, 0))(
        log_x, log_b, c0, c, log_d, f)
    return a[:, None] + jnp.exp(log_power)


def _floor(spec: ModelSpec, space: NoiseSpace, level):
    """Sample the floor of the curve (BNSL's asymptote a) relative to the level at u = 1.

    Returns ``(floor, log_height)``: log space ``log a'`` and ``log(P'(1))`` (the curve at
    u = 1 is ``a' + P'(1)``), linear space ``a'`` and ``log((curve at u = 1 - a') / 1)``;
    exactly the coordinates of :func:`~.model.bnsl_model`.
    """
    if space == "log":
        w = numpyro.sample("asymptote", AsymptoteCoordinate(spec.prior("asymptote_fraction")
                                                            .build()))
        log1p_o = jnp.log1p(_odds(w))
        return _log_odds(w) - log1p_o + level, level - log1p_o
    log_h = numpyro.sample("log_height", spec.prior("log_height").build())
    return level - jnp.exp(log_h), log_h


def _above(space: NoiseSpace, floor, log_excess):
    """The mean curve ``floor + exp(log_excess)`` on the model's scale (log y' or y')."""
    if space == "log":
        return jnp.logaddexp(floor, log_excess)
    return floor + jnp.exp(log_excess)


def _floor_user(values: dict, scaling: Scaling) -> tuple[np.ndarray, np.ndarray]:
    """``(floor, log_height)`` of :func:`_floor` in user units: the floor a and
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


def _signed_power(log_a, sign, exponent_times_log):
    with np.errstate(over="ignore"):
        return sign * np.exp(log_a + exponent_times_log)


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
        "noise_variance": _NOISE,
    }

    def mean(self, data, spec, space):
        level = numpyro.sample("level", spec.prior("level").build())
        s0 = numpyro.sample("slope0", spec.prior("slope0").build())
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
        return {"a": _signed_power(log_a, sign, 0.0), "b": -c0, "log_a": log_a}

    def law(self, draws, x):
        sign = np.sign(draws["a"])[:, None]
        return _signed_power(draws["log_a"][:, None], sign, draws["b"][:, None] * np.log(x))


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
        "level": _LEVEL,
        "asymptote_fraction": ("unit", "log", "c divided by the mean curve at the last fit "
                               "point"),
        "log_height": ("real", "linear", "log of (mean curve at the last fit point - c), in "
                       "spreads"),
        "slope0": ("real", "both", "-b times the log-x width of the fit range"),
        "noise_variance": _NOISE,
    }

    def model(self, data, spec, space):
        bnsl_model(data, spec, space)  # spec.breaks == 0: y = a' + b' x^-c0

    def user_params(self, values, scaling, spec):
        p = to_user_units(values, scaling, 0)
        return {"a": p["b"], "b": -p["c0"], "c": p["a"], "log_a": p["log_b"]}

    def law(self, draws, x):
        mu = _signed_power(draws["log_a"][:, None], 1.0, draws["b"][:, None] * np.log(x))
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
        "level": _LEVEL,
        "asymptote_fraction": ("unit", "log", "c divided by the mean curve at the last fit "
                               "point"),
        "log_height": ("real", "linear", "log of (mean curve at the last fit point - c), in "
                       "spreads"),
        "slope_change": ("real", "both", "-b times the log-x width of the fit range"),
        "break_location": ("real", "both", "log d on the standardized axis (fit range = "
                           "[0, 1])"),
        "noise_variance": _NOISE,
    }

    def mean(self, data, spec, space):
        level = numpyro.sample("level", spec.prior("level").build())
        s = numpyro.sample("slope_change",
                           spec.prior("slope_change").build().expand([1]).to_event(1))
        v = numpyro.sample("break_location", SortedIID(spec.prior("break_location").build(), 1))
        g = jnp.reshape(1.0 / data.log_x_width, (1,))  # f1 = 1 in natural-log-x units
        floor, log_h = _floor(spec, space, level)
        return _above(space, floor, standardized_log_power(data.u, log_h, 0.0, s, v, g))

    def user_params(self, values, scaling, spec):
        level = np.asarray(values["level"], dtype=float)
        sharp = np.full(level.shape + (1,), -np.log(scaling.log_x_width))
        p = to_user_units({**values, "slope0": np.zeros_like(level), "log_sharpness": sharp},
                          scaling, 1)
        c1 = p["c"][..., 0]
        log_d = scaling.log_x0 + scaling.log_x_width * np.asarray(
            values["break_location"], dtype=float)[..., 0]
        log_a = p["log_b"] + c1 * log_d
        return {"a": _signed_power(log_a, 1.0, 0.0), "b": -c1, "c": p["a"],
                "d": np.exp(log_d), "log_a": log_a}

    def law(self, draws, x):
        log_xd = np.logaddexp(np.log(x)[None, :], np.log(draws["d"])[:, None])
        return _signed_power(draws["log_a"][:, None], 1.0, draws["b"][:, None] * log_xd) \
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
        "level": _LEVEL,
        "asymptote_fraction": ("unit", "log", "eps_inf divided by the mean curve at the last "
                               "fit point"),
        "log_height": ("real", "linear", "log of (mean curve at the last fit point - eps_inf), "
                       "in spreads"),
        "slope0": ("real", "both", "-c times the log-x width of the fit range"),
        "log_ceiling_gap": ("real", "both", "log of (eps_0 - mean curve at the last fit point) "
                            "/ (mean curve at the last fit point - eps_inf)"),
        "log_alpha": ("real", "both", "log of alpha"),
        "noise_variance": _NOISE,
    }

    def mean(self, data, spec, space):
        level = numpyro.sample("level", spec.prior("level").build())
        s0 = numpyro.sample("slope0", spec.prior("slope0").build())
        gap = numpyro.sample("log_ceiling_gap", spec.prior("log_ceiling_gap").build())
        log_alpha = numpyro.sample("log_alpha", spec.prior("log_alpha").build())
        alpha = jnp.exp(jnp.clip(log_alpha, -M4_LOG_ALPHA_LIMIT, M4_LOG_ALPHA_LIMIT))
        floor, log_h = _floor(spec, space, level)
        s1 = -gap
        s = m4_root(alpha, _m4_h(s1, alpha) + s0 * (1.0 - data.u))
        # curve - eps_inf = D' sigmoid(s), with D' = (curve(1) - eps_inf) / sigmoid(s1)
        return _above(space, floor, log_h + nn.softplus(-s1) - nn.softplus(-s))

    def user_params(self, values, scaling, spec):
        log_alpha = np.clip(np.asarray(values["log_alpha"], dtype=float),
                            -M4_LOG_ALPHA_LIMIT, M4_LOG_ALPHA_LIMIT)
        alpha = np.exp(log_alpha)
        c = -np.asarray(values["slope0"], dtype=float) / scaling.log_x_width
        s1 = -np.asarray(values["log_ceiling_gap"], dtype=float)
        eps_inf, log_h = _floor_user(values, scaling)
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

#: The forms by name.
FORMS: dict[str, Form] = {f.name: f for f in (BNSLForm(), M1Form(), M2Form(), M3Form(),
                                              M4Form())}


def get_form(name: str) -> Form:
    """The form called ``name`` (a key of :data:`FORMS`).

    Raises
    ------
    ValueError
        Unknown name; the message lists the forms.
    """
    try:
        return FORMS[name]
    except KeyError:
        raise ValueError(f"unknown form {name!r}; expected one of {list(FORMS)}") from None
