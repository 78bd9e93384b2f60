"""Property tests at numerical extremes: the law, its log and the model's log density.

Domain of the issue: x in [1e-6, 1e30], sharpness f in [1e-4, 10], slopes |c0|, |c_i| <= 20, 0 to
3 breaks anywhere in [1e-6, 1e30]. Everywhere there (float64, as the package runs):

- ``bnsl_log_power`` and its gradient in every argument are finite, and equal the closed forms
  (tests/test_law.py checks the values of ``bnsl`` against a decimal reference; here the log and
  all six partial derivatives, also at x exactly on a break);
- ``bnsl`` is never NaN; its gradient in (x, a, b, c0, c, d, f) is never NaN where y is finite and
  is finite and right wherever the true derivative is a float64 number (test_law.py's property
  only checks b and c0, away from overflow);
- the model's log density (the potential NUTS differentiates, on the standardized scale, with the
  noise integrated out) is never NaN, finite in log space, and its gradient is finite wherever the
  density is.

Hypothesis runs derandomized (the same examples on every run) with bounded example counts.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from numpyro.infer.util import log_density
from scipy.special import expit

from bnsl_bayes import bnsl, load_spec
from bnsl_bayes.data import Curve
from bnsl_bayes.forms.bnsl import bnsl_model, standardized_log_power
from bnsl_bayes.law import bnsl_log_power
from bnsl_bayes.likelihood import marginal_log_likelihood, noise_prior
from bnsl_bayes.standardize import ModelData, Scaling

N_X = 6  # x values per example (one shape: each number of breaks compiles once)
LOG_MAX = math.log(np.finfo(float).max)  # 709.78: exp overflows past this
EPS = np.finfo(float).eps


def fixed(max_examples: int):
    """Derandomized hypothesis settings (same examples every run, no deadline for compiles)."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------- strategies
_log10_x = st.floats(-6.0, 30.0)
_slope = st.floats(-20.0, 20.0)
_log10_f = st.floats(-4.0, 1.0)


@st.composite
def law_inputs(draw, n=None):
    """Parameters of the law in the issue's domain; some x sit exactly on a break."""
    n = draw(st.integers(0, 3)) if n is None else n
    log10_d = sorted(draw(st.lists(_log10_x, min_size=n, max_size=n)))
    log10_x = draw(st.lists(_log10_x, min_size=N_X, max_size=N_X))
    if n:  # x = d exactly: the kink of max(t, 0) and |t| in the stable softplus
        for i in draw(st.sets(st.integers(0, N_X - 1), max_size=2)):
            log10_x[i] = log10_d[draw(st.integers(0, n - 1))]
    return {
        "x": 10.0 ** np.array(log10_x),
        "a": draw(st.floats(-10.0, 10.0)),
        "b": 10.0 ** draw(st.floats(-3.0, 3.0)),
        "c0": draw(_slope),
        "c": np.array(draw(st.lists(_slope, min_size=n, max_size=n)), dtype=float),
        "d": 10.0 ** np.array(log10_d, dtype=float),
        "f": 10.0 ** np.array(draw(st.lists(_log10_f, min_size=n, max_size=n)), dtype=float),
    }


# ---------------------------------------------------------------------------- closed forms
def _softplus(z):
    return np.logaddexp(0.0, z)


def _log_power_parts(lx, log_b, c0, c, log_d, f):
    """log P, its partial derivatives and their scales, in numpy, from the closed forms.

    With z_i = (log x - log d_i) / f_i and s(z) = log(1 + e^z):
    d/dlog_x = -c0 - sum c_i sigmoid(z_i), d/dc_i = -f_i s(z_i), d/dlog_d_i = c_i sigmoid(z_i),
    d/df_i = -c_i (s(z_i) - z_i sigmoid(z_i)) = -c_i (s(-|z_i|) + |z_i| sigmoid(-|z_i|)).
    Each scale is the sum of the absolute values of the terms (what rounding is relative to);
    a term of s(z) or sigmoid(z) carries the rounding of z amplified by 1 + |z| (exp(z) for z < 0).
    """
    lx = np.asarray(lx, dtype=float)[:, None]
    z = (lx - log_d) / f
    amp = 1.0 + np.abs(z)
    sp = f * _softplus(z)  # f s(z): finite for all z here (z up to ~1e6)
    sig = expit(z)
    value = log_b - c0 * lx[:, 0] - np.sum(c * sp, axis=-1)
    scale = abs(log_b) + abs(c0 * lx[:, 0]) + np.sum(np.abs(c * sp) * amp, axis=-1)
    az = np.abs(z)
    df_factor = _softplus(-az) + az * expit(-az)
    grads = {
        "log_x": (-c0 - np.sum(c * sig, axis=-1),
                  abs(c0) + np.sum(np.abs(c * sig) * amp, axis=-1)),
        "log_b": (np.ones(len(lx)), np.ones(len(lx))),
        "c0": (-lx[:, 0], np.abs(lx[:, 0])),
        "c": (-sp, np.abs(sp) * amp),
        "log_d": (c * sig, np.abs(c * sig) * amp),
        "f": (-c * df_factor, np.abs(c * df_factor) * amp),
    }
    return value, scale, grads


def _log_power_and_grad(lx, log_b, c0, c, log_d, f):
    return bnsl_log_power(lx, log_b, c0, c, log_d, f)


_LOG_POWER_VG = jax.jit(jax.vmap(
    jax.value_and_grad(_log_power_and_grad, argnums=(0, 1, 2, 3, 4, 5)),
    in_axes=(0, None, None, None, None, None)))
_BNSL_VG = jax.jit(jax.vmap(
    jax.value_and_grad(bnsl, argnums=(0, 1, 2, 3, 4, 5, 6)),
    in_axes=(0, None, None, None, None, None, None)))


def _f64(*args):
    return [jnp.asarray(v, dtype=jnp.float64) for v in args]


def _as_f64(tree):
    """Every array leaf of a pytree (e.g. ModelData, whose optional fields may be None)."""
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype=jnp.float64), tree)


# ---------------------------------------------------------------------------- bnsl_log_power
@fixed(200)
@given(law_inputs())
def test_log_power_and_all_its_derivatives_are_finite_and_exact(p):
    """In log space nothing overflows: value and gradient are finite everywhere in the domain
    (x on a break included) and equal the closed forms to rounding."""
    lx, log_b, log_d = np.log(p["x"]), math.log(p["b"]), np.log(p["d"])
    with jax.enable_x64(True):
        value, grads = _LOG_POWER_VG(*_f64(lx, log_b, p["c0"], p["c"], log_d, p["f"]))
    value = np.asarray(value)
    grads = dict(zip(("log_x", "log_b", "c0", "c", "log_d", "f"),
                     (np.asarray(g) for g in grads), strict=True))
    assert np.isfinite(value).all(), p
    for name, g in grads.items():
        assert np.isfinite(g).all(), (name, g, p)
    want, scale, want_grads = _log_power_parts(lx, log_b, p["c0"], p["c"], log_d, p["f"])
    assert np.all(np.abs(value - want) <= 64 * EPS * scale + 1e-300), (value, want, p)
    for name, (w, s) in want_grads.items():
        g = grads[name].reshape(w.shape)
        assert np.all(np.abs(g - w) <= 64 * EPS * s + 1e-300), (name, g, w, p)


def test_log_power_derivative_on_the_break_is_the_mean_of_both_slopes():
    """At x = d exactly, d log P / d log x = -c0 - c/2 (sigmoid(0) = 1/2), and d y / d d is the
    limit of its values at d(1 +- 1e-9): no kink in the derivative. (JAX differentiates |t| to 1
    at t = 0, which gave -c0 and d y / d d = 0 here before law.py used min(t, -t).)"""
    c0, c, d, f = 0.3, 2.0, 612.0, 0.06
    with jax.enable_x64(True):
        g = jax.grad(bnsl_log_power)(jnp.log(d), 0.1, c0, jnp.array([c]), jnp.log(jnp.array([d])),
                                     jnp.array([f]))
        assert float(g) == pytest.approx(-c0 - c / 2, rel=1e-14)

        def dy_dd(x):
            return float(jax.grad(lambda dd: bnsl(x, 0.4, 2.3, c0, jnp.array([c]), dd,
                                                  jnp.array([f]))[()])(jnp.array([d]))[0])

        at, left, right = dy_dd(d), dy_dd(d * (1 - 1e-9)), dy_dd(d * (1 + 1e-9))
    assert at == pytest.approx(left, rel=1e-6) and at == pytest.approx(right, rel=1e-6)
    assert at > 0  # a break later in x keeps the curve higher at x = d (c > 0)


# ---------------------------------------------------------------------------- bnsl
@fixed(200)
@given(law_inputs())
@example(p={"x": np.array([2.37137371e20, 1.0]), "a": 0.0, "b": 1.0, "c0": 0.0,
            "c": np.array([0.0, -15.1875, 4.0]), "d": np.array([1.0, 1.0, 2.37137371e20]),
            "f": np.array([1.0, 1.0, 1.0])})  # y = 1.74e308: found by hypothesis in CI
def test_bnsl_never_nan_and_gradient_finite_where_representable(p):
    """y is never NaN. Where y is finite no partial derivative is NaN; each one is finite and
    equals P times the closed-form derivative of log P wherever that is a float64 number (well
    inside the range: |dy| < 1e300)."""
    x, a, b, c0, c, d, f = (p[k] for k in ("x", "a", "b", "c0", "c", "d", "f"))
    with jax.enable_x64(True):
        y, grads = _BNSL_VG(*_f64(x, a, b, c0, c, d, f))
    y = np.asarray(y)
    gx, ga, gb, gc0, gc, gd, gf = (np.asarray(g).reshape(len(x), -1) for g in grads)
    assert not np.isnan(y).any(), p
    lp, scale, dl = _log_power_parts(np.log(x), math.log(b), c0, c, np.log(d), f)
    # y is finite exactly where P is a float64 number (a is finite), else +inf
    slack = 1e-9 * (1.0 + scale)
    assert np.isfinite(y[lp < LOG_MAX - slack]).all(), p
    assert np.all(y[lp > LOG_MAX + slack] == np.inf), p
    fin = np.isfinite(y)
    for g in (gx, ga, gb, gc0, gc, gd, gf):
        assert not np.isnan(g[fin]).any(), p
    np.testing.assert_array_equal(ga, 1.0)
    # closed forms: dy/dtheta = P * dlogP/dtheta (* dlog theta/dtheta for x, b, d)
    with np.errstate(all="ignore"):  # inf * 0 where P overflows: masked out below
        pw = np.exp(lp)[:, None]
        # divide before multiplying by P: P * dlogP can overflow where dy/dx is a float
        cases = [
            (gx, pw * (dl["log_x"][0][:, None] / x[:, None]), dl["log_x"][1][:, None] / x[:, None]),
            (gb, pw / b, np.full((len(x), 1), 1.0 / b)),
            (gc0, pw * dl["c0"][0][:, None], dl["c0"][1][:, None]),
            (gc, pw * dl["c"][0], dl["c"][1]),
            (gd, pw * (dl["log_d"][0] / d), dl["log_d"][1] / d),
            (gf, pw * dl["f"][0], dl["f"][1]),
        ]
        for got, want, s in cases:
            bound = pw * s
            ok = fin[:, None] & (bound < 1e300)
            assert np.isfinite(got[ok]).all(), p
            # rounding of log P (relative to its terms) becomes relative error of P
            tol = 1e-12 + 64 * EPS * scale[:, None]
            err = np.abs(got - want)
            # XLA on CPU flushes subnormals to zero: a factor below 1e-290 (e.g. sigmoid(-737)
            # in dy/df) may come out as 0, an absolute error of up to 1e-290 P
            floor = 1e-290 * np.maximum(pw, 1.0)
            assert np.all(err[ok] <= (tol * bound + floor)[ok]), (got, want, p)


def test_gradient_near_the_float64_limit():
    """y = 1.74e308 (finite): every derivative is a float or +-inf, never NaN (found by
    hypothesis: reverse mode met inf - inf before the law formed its derivatives in log space)."""
    x = 2.37137371e20
    c, d, f = np.array([0.0, -15.1875, 4.0]), np.array([1.0, 1.0, x]), np.ones(3)
    with jax.enable_x64(True):
        y, grads = jax.value_and_grad(
            lambda xx, cc, dd, ff: bnsl(xx, 0.0, 1.0, 0.0, cc, dd, ff), argnums=(0, 1, 2, 3)
        )(jnp.asarray(x), jnp.asarray(c), jnp.asarray(d), jnp.asarray(f))
    assert math.isfinite(float(y)) and float(y) > 1e308
    gx = float(grads[0])
    # dy/dx = P (15.1875 sigmoid(t2) - 4 sigmoid(0)) / x with t2 = log x: in log space
    log_want = math.log(float(y)) + math.log(15.1875 - 2.0) - math.log(x)
    assert gx == pytest.approx(math.exp(log_want), rel=1e-10)
    for g in grads[1:]:
        assert not np.isnan(np.asarray(g)).any()


@fixed(60)
@given(law_inputs())
def test_bnsl_float32_never_nan(p):
    """Without x64 (JAX's default precision) the law still never gives NaN: y overflows to inf
    or underflows to a, and its gradient is not NaN wherever y is finite."""
    x, a, b, c0, c, d, f = (p[k] for k in ("x", "a", "b", "c0", "c", "d", "f"))
    args = [jnp.asarray(v, dtype=jnp.float32) for v in (x, a, b, c0, c, d, f)]
    y, grads = _BNSL_VG(*args)
    y = np.asarray(y)
    assert y.dtype == np.float32
    assert not np.isnan(y).any(), p
    fin = np.isfinite(y)
    for g in grads:
        assert not np.isnan(np.asarray(g).reshape(len(x), -1)[fin]).any(), p
    lp = np.asarray(_LOG_POWER_VG(jnp.log(args[0]), jnp.log(args[2]), *args[3:5],
                                  jnp.log(args[5]), args[6])[0])
    assert np.isfinite(lp).all(), p


# ---------------------------------------------------------------------------- model
N_FIT = 8


@functools.cache
def _model_value_and_grad(space: str, breaks: int):
    """jit(value_and_grad) of the model's log density in its latent values (float64)."""
    spec = load_spec(f"bnsl-{breaks}")

    def logp(latent, data):
        return log_density(bnsl_model, (data, spec, space), {}, latent)[0]

    return jax.jit(jax.value_and_grad(logp))


@st.composite
def model_inputs(draw, space):
    """A curve of N_FIT points with x in [1e-6, 1e30] and law parameters in the issue's domain,
    mapped to the model's standardized coordinates as ``to_user_units`` inverts them."""
    n = draw(st.integers(0, 3))
    lo = draw(st.floats(-6.0, 29.0))
    hi = draw(st.floats(lo + 0.05, 30.0))
    log10_x = np.sort(np.concatenate([[lo, hi], draw(st.lists(st.floats(lo, hi), min_size=N_FIT
                                                               - 2, max_size=N_FIT - 2))]))
    lx = log10_x * math.log(10.0)
    lx0, width = lx[0], lx[-1] - lx[0]
    u = (lx - lx0) / width
    seeds = np.array(draw(st.lists(st.sampled_from([1.0, 2.0, 5.0, 1000.0]), min_size=N_FIT,
                                   max_size=N_FIT)))
    rel_sd = np.array(draw(st.lists(st.floats(1e-6, 1.0), min_size=N_FIT, max_size=N_FIT)))
    known = seeds >= 2
    if space == "log":  # obs = log(y / y_last): y spans up to 10 orders of magnitude
        obs = np.array(draw(st.lists(st.floats(-23.0, 23.0), min_size=N_FIT, max_size=N_FIT)))
        obs[-1] = 0.0
        level_key, level_range = "asymptote", (-65.0, 60.0)  # r = a / P(1) from 1e-300 up
    else:  # obs = (y - y_last) / spread
        obs = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=N_FIT, max_size=N_FIT)))
        obs[-1] = 0.0
        level_key, level_range = "log_height", (-30.0, 30.0)
    data = ModelData(u=u, obs=obs, sqrt_seeds=np.sqrt(seeds),
                     std2=np.where(known, rel_sd, 0.0) ** 2,
                     std_dof=np.where(known, seeds - 1.0, 0.0))
    c = np.array(draw(st.lists(_slope, min_size=n, max_size=n)), dtype=float)
    log_d = np.sort(draw(st.lists(_log10_x, min_size=n, max_size=n))) * math.log(10.0)
    f = 10.0 ** np.array(draw(st.lists(_log10_f, min_size=n, max_size=n)), dtype=float)
    latent = {
        "level": draw(st.floats(-30.0, 30.0)),
        "slope0": draw(_slope) * width,
        level_key: draw(st.floats(*level_range)),
    }
    if n:
        latent.update(slope_change=c * width, break_location=(log_d - lx0) / width,
                      log_sharpness=np.log(f / width))
    return data, latent, n


def _check_model(space, example):
    data, latent, n = example
    with jax.enable_x64(True):
        value, grad = _model_value_and_grad(space, n)(
            {k: jnp.asarray(v, dtype=jnp.float64) for k, v in latent.items()},
            _as_f64(data))
    value = float(value)
    assert not math.isnan(value), latent
    if space == "log":
        # the mean is a log-sum-exp of finite logs: the density is always finite
        assert math.isfinite(value), latent
    if math.isfinite(value):
        for k, g in grad.items():
            assert np.isfinite(np.asarray(g)).all(), (k, g, latent)
    return value


@fixed(60)
@given(model_inputs("log"))
def test_model_log_density_finite_with_finite_gradient_log_space(example):
    _check_model("log", example)
    event(f"breaks: {example[2]}")


@fixed(60)
@given(model_inputs("linear"))
def test_model_log_density_never_nan_linear_space(example):
    """Linear space: mean = a + exp(log P) may overflow (slopes of 20 over 36 decades), then the
    density is -inf (never NaN, never +inf); wherever it is finite its gradient is."""
    value = _check_model("linear", example)
    assert value < math.inf
    event(f"density {'finite' if math.isfinite(value) else value}")


def test_model_checks_see_overflow_in_linear_space():
    """Control: the linear-space property above does meet -inf densities (a mean past 1e308)."""
    u = np.linspace(0.0, 1.0, N_FIT)
    z = np.zeros(N_FIT)
    data = ModelData(u=u, obs=z, sqrt_seeds=np.ones(N_FIT), std2=z, std_dof=z)
    latent = {"level": 0.0, "slope0": 20.0 * 83.0, "log_height": 0.0}
    assert _check_model("linear", (data, latent, 0)) == -math.inf


_STD_VG = jax.jit(jax.value_and_grad(
    lambda u, level, s0, s, v, g: standardized_log_power(u, level, s0, s, v, g).sum(),
    argnums=1))


@fixed(100)
@given(st.integers(0, 3), law_inputs(n=3), st.floats(-30.0, 30.0))
def test_standardized_log_power_is_anchored_at_the_last_fit_point(n, p, level):
    """log P'(1) is the level it is given, to rounding, however sharp or far the breaks, and the
    curve and its gradient are finite on the fit range."""
    width = math.log(p["x"].max() / p["x"].min()) if p["x"].max() > p["x"].min() else 1.0
    width = max(width, 0.1)
    v = np.log(p["d"][:n]) / width
    s, g = p["c"][:n] * width, p["f"][:n] / width
    s0 = p["c0"] * width
    u = np.linspace(0.0, 1.0, N_X)
    with jax.enable_x64(True):
        value, dlevel = _STD_VG(*_f64(u, level, s0, s, v, g))
        at_one = float(_STD_VG(*_f64(np.ones(1), level, s0, s, v, g))[0])
    assert math.isfinite(float(value))
    assert float(dlevel) == pytest.approx(N_X)  # d/dlevel of sum over N_X points
    scale = abs(level) + abs(s0) + float(np.sum(np.abs(s) * (np.abs(1.0 - v) + g)))
    assert abs(at_one - level) <= 64 * EPS * scale, (at_one, level)


# ---------------------------------------------------------------------------- noise marginal
_ALPHA, _BETA = noise_prior(load_spec("bnsl-1"))


@st.composite
def noise_inputs(draw):
    m = draw(st.sampled_from([1, 3, 12]))  # few shapes: each one compiles
    resid = np.array(draw(st.lists(st.floats(-1e150, 1e150) | st.floats(-1.0, 1.0),
                                   min_size=m, max_size=m)))
    seeds = np.array(draw(st.lists(st.integers(1, 10**6), min_size=m, max_size=m)), dtype=float)
    known = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m))) & (seeds >= 2)
    # normal float64 spreads, from 1e-150 (std2 = 1e-300) to 1e150
    log10_sd = np.array(draw(st.lists(st.floats(-150.0, 150.0), min_size=m, max_size=m)))
    data = ModelData(u=np.linspace(0, 1, m), obs=np.zeros(m), sqrt_seeds=np.sqrt(seeds),
                     std2=np.where(known, 10.0 ** (2 * log10_sd), 0.0),
                     std_dof=np.where(known, seeds - 1.0, 0.0))
    alpha = draw(st.sampled_from([_ALPHA, 0.5, 3.0]))
    beta = draw(st.sampled_from([_BETA, 1e-300, 1.0, 1e100]))
    return resid, data, alpha, beta


@functools.cache
def _marginal_vg():
    return jax.jit(jax.value_and_grad(marginal_log_likelihood))


@fixed(150)
@given(noise_inputs())
def test_marginal_likelihood_never_nan_gradient_finite_where_value_is(example):
    """Residuals up to 1e150, up to a million seeds, spreads of 1e-150 to 1e150: the integrated
    likelihood is never NaN or +inf, and its gradient in the residuals is finite where it is."""
    resid, data, alpha, beta = example
    with jax.enable_x64(True):
        value, grad = _marginal_vg()(*_as_f64((resid, data, alpha, beta)))
    value, grad = float(value), np.asarray(grad)
    assert not math.isnan(value) and value < math.inf, example
    if math.isfinite(value):
        assert np.isfinite(grad).all(), example
        # the likelihood falls as any residual grows: d/d resid has the opposite sign
        assert np.all(grad * resid <= 0), example


@pytest.mark.parametrize("seeds", [2, 3, 4])
def test_tiny_but_nonzero_spread_keeps_the_likelihood_finite(seeds):
    x = np.geomspace(10.0, 1000.0, 6)
    curve = Curve.from_arrays(x, 2.0 * x**-0.3, seeds=np.full(6, seeds), std=np.full(6, 1e-160))
    for space in ("log", "linear"):
        data = ModelData.from_curve(curve, Scaling.from_curve(curve, space))
        with jax.enable_x64(True):
            value = float(marginal_log_likelihood(jnp.full(6, 0.01), data, _ALPHA, _BETA))
        assert math.isfinite(value), (space, value)


def test_log_density_gradient_finite_for_a_vanishing_asymptote():
    u = np.linspace(0.0, 1.0, N_FIT)
    z = np.zeros(N_FIT)
    data = ModelData(u=u, obs=0.1 * np.sin(7 * u), sqrt_seeds=np.ones(N_FIT), std2=z, std_dof=z)
    _check_model("log", (data, {"level": 0.1, "slope0": 0.5, "asymptote": -75.0}, 0))
