"""The Broken Neural Scaling Law and the baselines M1-M4 as pure ``jax.numpy`` functions.

    y = a + b * x^(-c0) * prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i * f_i)

With ``z_i = (log x - log d_i) / f_i`` the factor ``log(1 + (x/d_i)^(1/f_i))`` is
``softplus(z_i)``, so the power part is ``exp(log b - c0 log x - sum_i c_i f_i softplus(z_i))``.
This stays finite for sharp breaks (f down to 1e-4), huge or tiny x and large slopes, where the
direct formula overflows. Nothing here knows about NumPyro, files or standardization.

The baselines the BNSL paper compares against (Alabdulmohsin et al. 2022): :func:`m1`
``y = a x^b``, :func:`m2` ``y = a x^b + c``, :func:`m3` ``y = a (x + d)^b + c`` and :func:`m4`
``(y - eps_inf) / (eps_0 - y)^alpha = b x^c``, solved for y by :func:`m4_root` (bisection in a
monotone variable, gradients by the implicit function theorem).

Precision follows JAX: run under ``jax.enable_x64(True)`` (as the rest of the package does) for
float64 results.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import nn
from jax.typing import ArrayLike

__all__ = ["bnsl", "bnsl_log_power", "m1", "m2", "m3", "m4", "m4_log_b", "m4_root"]


def bnsl_log_power(
    log_x: ArrayLike,
    log_b: ArrayLike,
    c0: ArrayLike,
    c: ArrayLike = (),
    log_d: ArrayLike = (),
    f: ArrayLike = (),
) -> jnp.ndarray:
    """Log of the power part ``b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)``.

    Parameters
    ----------
    log_x : array_like
        Natural log of x, any shape.
    log_b : array_like
        Natural log of b (scalar).
    c0 : array_like
        Slope of the first segment on a log-log plot (scalar).
    c, log_d, f : array_like
        Per-break slope changes, log break locations and sharpnesses, each of shape ``(n,)``
        (``n = 0`` gives a plain power law).

    Returns
    -------
    jax.Array
        The log of the power part, with the shape of ``log_x``.
    """
    log_x = jnp.asarray(log_x)
    c = jnp.atleast_1d(jnp.asarray(c, dtype=log_x.dtype))
    log_d = jnp.atleast_1d(jnp.asarray(log_d, dtype=log_x.dtype))
    f = jnp.atleast_1d(jnp.asarray(f, dtype=log_x.dtype))
    out = log_b - c0 * log_x
    if c.shape[-1] == 0:
        return out
    # f * softplus(t / f) written without cancellation: max(t, 0) + f * softplus(-|t| / f).
    # -|t| as min(t, -t): JAX gives d|t|/dt = 1 at t = 0 but splits min's derivative evenly
    # (as max's), so the derivative in x and d at x = d is sigmoid(0) = 1/2, not 0.
    t = log_x[..., None] - log_d
    f_softplus = jnp.maximum(t, 0.0) + f * nn.softplus(jnp.minimum(t, -t) / f)
    return out - jnp.sum(c * f_softplus, axis=-1)


def bnsl(
    x: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c0: ArrayLike,
    c: ArrayLike = (),
    d: ArrayLike = (),
    f: ArrayLike = (),
) -> jnp.ndarray:
    """Evaluate the Broken Neural Scaling Law with ``n = len(c)`` breaks.

    Parameters
    ----------
    x : array_like
        The scaled quantity (compute, data, parameters, ...), > 0, any shape.
    a : array_like
        Limit of y as x grows without bound.
    b : array_like
        Offset of the first segment on a log-log plot, > 0.
    c0 : array_like
        Slope of the first segment on a log-log plot.
    c : array_like, shape (n,)
        Change of slope at each break (negative values make y turn upward).
    d : array_like, shape (n,)
        Location of each break on the x axis, > 0.
    f : array_like, shape (n,)
        Sharpness of each break, > 0 (small = sharp).

    Returns
    -------
    jax.Array
        y with the shape of ``x``.

    Examples
    --------
    >>> import jax
    >>> with jax.enable_x64(True):
    ...     float(bnsl(1.0, a=0.0, b=2.0, c0=0.5))
    2.0
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    dtype = x.dtype
    a, b, c0 = (jnp.asarray(v, dtype=dtype) for v in (a, b, c0))
    c, d, f = (jnp.atleast_1d(jnp.asarray(v, dtype=dtype)) for v in (c, d, f))
    if a.ndim == b.ndim == c0.ndim == 0 and c.ndim == d.ndim == f.ndim == 1:
        return _bnsl_scalar_params(x, a, b, c0, c, d, f)
    return _bnsl_direct(x, a, b, c0, c, d, f)


def _bnsl_direct(x, a, b, c0, c, d, f):
    return a + jnp.exp(bnsl_log_power(jnp.log(x), jnp.log(b), c0, c, jnp.log(d), f))


def _signed_exp(log_scale, v):
    """``exp(log_scale) * v`` computed as ``sign(v) exp(log_scale + log|v|)``: finite whenever
    the product is, even where ``exp(log_scale)`` or ``v`` alone is not a float."""
    return jnp.sign(v) * jnp.exp(log_scale + jnp.log(jnp.abs(v)))


@jax.custom_jvp
def _bnsl_scalar_params(x, a, b, c0, c, d, f):
    return _bnsl_direct(x, a, b, c0, c, d, f)


@_bnsl_scalar_params.defjvp
def _bnsl_jvp(primals, tangents):
    """Every partial derivative formed in log space (forward and, by transposition, reverse).

    Plain reverse mode multiplies ``dy/dlog P = P`` by the slopes before the small factors
    (``1/x``, ``1/d``) come in, so for y near the float64 limit the intermediate products
    overflow and meet as ``inf - inf`` (NaN) although every derivative is a float.
    """
    x, a, b, c0, c, d, f = primals
    tx, ta, tb, tc0, tc, td, tf = tangents
    log_x = jnp.log(x)
    log_p = bnsl_log_power(log_x, jnp.log(b), c0, c, jnp.log(d), f)
    t = log_x[..., None] - jnp.log(d)
    z = t / f
    sig = nn.sigmoid(z)
    f_softplus = jnp.maximum(t, 0.0) + f * nn.softplus(jnp.minimum(t, -t) / f)
    az = jnp.abs(z)
    # d(f softplus(t / f)) / df = softplus(z) - z sigmoid(z) >= 0, without cancellation
    h = nn.softplus(-az) + az * nn.sigmoid(-az)
    lp = log_p[..., None]
    out = (
        tx * _signed_exp(log_p - log_x, -c0 - jnp.sum(c * sig, axis=-1))
        + ta
        + tb * jnp.exp(log_p - jnp.log(b))
        + tc0 * _signed_exp(log_p, -log_x)
        + jnp.sum(tc * _signed_exp(lp, -f_softplus), axis=-1)
        + jnp.sum(td * _signed_exp(lp - jnp.log(d), c * sig), axis=-1)
        + jnp.sum(tf * _signed_exp(lp, -c * h), axis=-1)
    )
    return a + jnp.exp(log_p), out


# ---------------------------------------------------------------------------- M1-M3
def _float_args(x, *params):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return (x,) + tuple(jnp.asarray(p, dtype=x.dtype) for p in params)


def m1(x: ArrayLike, a: ArrayLike, b: ArrayLike) -> jnp.ndarray:
    """Baseline M1, a power law ``y = a x^b`` (BNSL with no break and asymptote 0).

    Parameters
    ----------
    x : array_like
        The scaled quantity, > 0.
    a : array_like
        Value at x = 1 (any sign).
    b : array_like
        Exponent (the log-log slope; negative for a falling curve).

    Returns
    -------
    jax.Array
        y with the broadcast shape of the arguments.
    """
    x, a, b = _float_args(x, a, b)
    return jnp.sign(a) * jnp.exp(jnp.log(jnp.abs(a)) + b * jnp.log(x))


def m2(x: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike) -> jnp.ndarray:
    """Baseline M2, ``y = a x^b + c`` (BNSL with no break, parameters renamed).

    Parameters
    ----------
    x : array_like
        The scaled quantity, > 0.
    a, b : array_like
        Scale and exponent of the power part.
    c : array_like
        The limit of y where the power part vanishes.

    Returns
    -------
    jax.Array
    """
    x, a, b, c = _float_args(x, a, b, c)
    return m1(x, a, b) + c


def m3(x: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> jnp.ndarray:
    """Baseline M3, ``y = a (x + d)^b + c`` with d > 0.

    It is BNSL with one break, ``c0 = 0`` and ``f1 = 1``:
    ``a (x + d)^b = (a d^b) (1 + x/d)^b``, so BNSL's ``b = a d^b``, ``c1 = -b``, ``d1 = d``.

    Parameters
    ----------
    x : array_like
        The scaled quantity, > 0.
    a, b : array_like
        Scale and exponent of the power part.
    c : array_like
        The limit of y where the power part vanishes.
    d : array_like
        Shift of x, > 0.

    Returns
    -------
    jax.Array
    """
    x, a, b, c, d = _float_args(x, a, b, c, d)
    log_xd = jnp.logaddexp(jnp.log(x), jnp.log(d))
    return jnp.sign(a) * jnp.exp(jnp.log(jnp.abs(a)) + b * log_xd) + c


# ---------------------------------------------------------------------------- M4
#: Bisection steps of :func:`m4_root` (the bracket is at most 1400 wide: 2**-80 of it is
#: below the spacing of float64 numbers at any root).
M4_ITERATIONS = 80
#: The root is sought in [-M4_BOUND, M4_BOUND]; beyond, t = sigmoid(s) or 1 - t is below
#: 1e-304 and y equals eps_inf or eps_0 to float64 precision.
M4_BOUND = 700.0
_LN2 = 0.6931471805599453


def _m4_h(s, alpha):
    """``log t - alpha log(1 - t)`` at ``t = sigmoid(s)``: strictly increasing in s."""
    return alpha * nn.softplus(s) - nn.softplus(-s)


def _m4_bisect(alpha, k):
    dtype = jnp.result_type(alpha, k, float)
    alpha, k = jnp.broadcast_arrays(jnp.asarray(alpha, dtype), jnp.asarray(k, dtype))
    alpha = jnp.maximum(alpha, jnp.finfo(dtype).tiny)

    # min(s, 0) + alpha max(s, 0) - log 2 <= h(s) <= min(s, 0) + alpha max(s, 0) + alpha log 2,
    # so the root lies between the inverses of that piecewise-linear bound at k -+ the slack.
    def inverse(z):
        return jnp.where(z <= 0, z, z / alpha)

    lo = jnp.clip(inverse(k - alpha * _LN2), -M4_BOUND, M4_BOUND)
    hi = jnp.clip(inverse(k + _LN2), -M4_BOUND, M4_BOUND)

    def step(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        below = _m4_h(mid, alpha) < k
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, M4_ITERATIONS, step, (lo, hi))
    return 0.5 * (lo + hi)


@jax.custom_jvp
def m4_root(alpha: ArrayLike, k: ArrayLike) -> jnp.ndarray:
    """The s solving ``log t - alpha log(1 - t) = k`` with ``t = sigmoid(s)``.

    For ``alpha > 0`` the left side ``h(s) = alpha softplus(s) - softplus(-s)`` rises strictly
    from -inf to inf, so the root is unique. It is found by a fixed number of bisection steps
    (jit- and vmap-friendly, no data-dependent control flow) within
    ``[-M4_BOUND, M4_BOUND]`` (a root beyond is returned as the bound). Derivatives come from
    the implicit function theorem, ``ds = (dk - softplus(s) dalpha) / h'(s)`` with
    ``h'(s) = sigmoid(-s) + alpha sigmoid(s) > 0``, finite for any finite input. ``alpha`` below
    the smallest normal float is taken as that float.

    Parameters
    ----------
    alpha : array_like
        The exponent of M4, > 0.
    k : array_like
        The right side (broadcast against ``alpha``).

    Returns
    -------
    jax.Array
        s, with the broadcast shape.
    """
    return _m4_bisect(alpha, k)


@m4_root.defjvp
def _m4_root_jvp(primals, tangents):
    alpha, k = primals
    t_alpha, t_k = tangents
    s = m4_root(alpha, k)
    a = jnp.maximum(alpha, jnp.finfo(s.dtype).tiny)
    slope = nn.sigmoid(-s) + a * nn.sigmoid(s)
    return s, (t_k - nn.softplus(s) * t_alpha) / slope


def m4_log_b(
    log_x: ArrayLike,
    alpha: ArrayLike,
    log_b: ArrayLike,
    c: ArrayLike,
    eps_0: ArrayLike,
    eps_inf: ArrayLike,
) -> jnp.ndarray:
    """Baseline M4 of :func:`m4` with ``log x`` and ``log b`` given (b may span many decades).

    ``alpha = 0`` is the closed form ``y = eps_inf + b x^c`` (eps_0 plays no part); parameters
    outside the domain (``eps_0 <= eps_inf``, ``alpha < 0``) give NaN.
    """
    log_x, alpha, log_b, c, eps_0, eps_inf = _float_args(log_x, alpha, log_b, c, eps_0, eps_inf)
    span = eps_0 - eps_inf
    valid = (span > 0) & (alpha >= 0)
    span = jnp.where(valid, span, 1.0)
    rhs = log_b + c * log_x
    s = m4_root(jnp.where(valid, alpha, 1.0), rhs - (1.0 - alpha) * jnp.log(span))
    # y = eps_inf + span t, from the nearer end so that neither end loses precision
    y = jnp.where(s > 0, eps_0 - span * nn.sigmoid(-s), eps_inf + span * nn.sigmoid(s))
    y = jnp.where(alpha == 0, eps_inf + jnp.exp(rhs), y)
    return jnp.where(valid, y, jnp.nan)


def m4(
    x: ArrayLike,
    alpha: ArrayLike,
    b: ArrayLike,
    c: ArrayLike,
    eps_0: ArrayLike,
    eps_inf: ArrayLike,
) -> jnp.ndarray:
    """Baseline M4, ``(y - eps_inf) / (eps_0 - y)^alpha = b x^c``, solved for y.

    For ``alpha > 0``, ``b > 0`` and ``eps_inf < eps_0`` the solution is unique and lies in
    ``(eps_inf, eps_0)``: with ``y = eps_inf + (eps_0 - eps_inf) t`` the equation reads
    ``log t - alpha log(1 - t) = log b + c log x - (1 - alpha) log(eps_0 - eps_inf)``, solved
    by :func:`m4_root`. With ``c < 0`` the curve falls from eps_0 (x -> 0) to eps_inf
    (x -> inf); with ``c > 0`` it rises from eps_inf to eps_0.

    Parameters
    ----------
    x : array_like
        The scaled quantity, > 0.
    alpha : array_like
        Exponent of the distance to eps_0, >= 0 (0: the closed form ``eps_inf + b x^c``).
    b : array_like
        Scale, > 0.
    c : array_like
        Exponent of x.
    eps_0, eps_inf : array_like
        The two limits of y, ``eps_inf < eps_0``.

    Returns
    -------
    jax.Array
        y with the broadcast shape of the arguments (NaN outside the domain).
    """
    x, b = _float_args(x, b)
    return m4_log_b(jnp.log(x), alpha, jnp.log(b), c, eps_0, eps_inf)
