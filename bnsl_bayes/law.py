"""The Broken Neural Scaling Law as pure ``jax.numpy`` functions, computed in log space.

    y = a + b * x^(-c0) * prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i * f_i)

With ``z_i = (log x - log d_i) / f_i`` the factor ``log(1 + (x/d_i)^(1/f_i))`` is
``softplus(z_i)``, so the power part is ``exp(log b - c0 log x - sum_i c_i f_i softplus(z_i))``.
This stays finite for sharp breaks (f down to 1e-4), huge or tiny x and large slopes, where the
direct formula overflows. Nothing here knows about NumPyro, files or standardization.

Precision follows JAX: run under ``jax.enable_x64(True)`` (as the rest of the package does) for
float64 results.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import nn
from jax.typing import ArrayLike

__all__ = ["bnsl", "bnsl_log_power"]


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
