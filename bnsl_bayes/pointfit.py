"""The classic point-fit laws of the BNSL paper's baseline: BNSL and M1-M4, in NumPy.

The paper's point fit (Caballero et al., "Broken Neural Scaling Laws", ICLR 2023: a brute grid
then ``scipy.optimize.curve_fit`` on ``log(1 + y)``) and the baselines M1-M4 of Alabdulmohsin
et al. (2022) evaluate their laws for many parameter rows at once: :func:`bnsl_rows` and
:func:`baseline_rows`, and for one fitted parameter set :func:`predict` and
:func:`predict_baseline`. M4, ``(y - eps_inf) / (eps_0 - y)**a = b x**c``, is solved for ``y`` by
the package's own solver (:func:`bnsl_bayes.law.m4_log_b`), the one the Bayesian ``m4`` form
uses. The fitting itself (grid, starts, ``curve_fit``) is ``validation/point_fit.py``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .law import m4_log_b

__all__ = [
    "BASELINES",
    "BASELINE_PARAMS",
    "baseline_rows",
    "bnsl_rows",
    "predict",
    "predict_baseline",
]

#: Names of the baseline forms understood by :func:`point_fit_baseline`.
BASELINES = ("M1", "M2", "M3", "M4")

#: Parameter names of each baseline, in the order of :func:`baseline_rows`' columns.
BASELINE_PARAMS = {
    "M1": ("a", "b"),
    "M2": ("a", "b", "c"),
    "M3": ("a", "b", "c", "d"),
    "M4": ("a", "b", "c", "eps_0", "eps_inf"),
}


def _f_softplus(u: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``f * softplus(u / f)``, with its limit ``max(u, 0)`` at ``f = 0``; finite for tiny f."""
    small = np.abs(f) < 1e-12
    f_safe = np.where(small, 1.0, f)
    out = f_safe * np.logaddexp(0.0, u / f_safe)
    return np.where(small, np.maximum(u, 0.0), out)


def bnsl_rows(
    log_x: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c0: np.ndarray,
    c: np.ndarray,
    d: np.ndarray,
    f: np.ndarray,
) -> np.ndarray:
    """Evaluate the law for ``m`` parameter rows at once.

    Parameters
    ----------
    log_x : numpy.ndarray
        ``log x``, shape ``(k,)``.
    a, b, c0 : numpy.ndarray
        Shape ``(m,)``.
    c, d, f : numpy.ndarray
        Shape ``(m, n)`` (``n`` breaks, may be 0).

    Returns
    -------
    numpy.ndarray
        ``y_hat`` of shape ``(m, k)``; may hold inf or NaN for invalid rows.
    """
    s = -c0[:, None] * log_x[None, :]
    for i in range(c.shape[1]):
        u = log_x[None, :] - np.log(d[:, i : i + 1])
        s = s - c[:, i : i + 1] * _f_softplus(u, f[:, i : i + 1])
    return a[:, None] + b[:, None] * np.exp(s)


def predict(params: dict[str, Any], x: Any) -> np.ndarray:
    """Evaluate a fitted BNSL.

    Parameters
    ----------
    params : dict
        Keys ``a``, ``b``, ``c0`` (floats) and ``c``, ``d``, ``f`` (sequences of equal length,
        one entry per break), e.g. the output of :func:`point_fit_bnsl`.
    x : array_like
        Points (> 0) where to evaluate the law.

    Returns
    -------
    numpy.ndarray
        ``y = a + b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)``, shape of ``x``; NaN where
        the parameters make it undefined (``d_i <= 0``).
    """
    x_arr = np.asarray(x, dtype=float)
    c = np.atleast_1d(np.asarray(params.get("c", ()), dtype=float)).reshape(1, -1)
    d = np.atleast_1d(np.asarray(params.get("d", ()), dtype=float)).reshape(1, -1)
    f = np.atleast_1d(np.asarray(params.get("f", ()), dtype=float)).reshape(1, -1)
    with np.errstate(all="ignore"):
        y = bnsl_rows(
            np.log(x_arr.ravel()),
            np.array([float(params["a"])]),
            np.array([float(params["b"])]),
            np.array([float(params["c0"])]),
            c,
            d,
            f,
        )
    return y[0].reshape(x_arr.shape)


@jax.jit
def _m4_rows(log_x, alpha, log_b, c, eps_0, eps_inf):
    return m4_log_b(log_x[None, :], alpha[:, None], log_b[:, None], c[:, None],
                    eps_0[:, None], eps_inf[:, None])


def _m4_law(log_x: np.ndarray, *rows: np.ndarray) -> np.ndarray:
    """The package's M4 law (float64) at ``log_x`` for parameter rows ``(m,)``: ``(m, k)``.

    ``log_x`` is padded to a power of two (at least 16) so that ``curve_fit``'s many calls on
    curves of many lengths share a few compiled programs instead of compiling one per length.
    """
    log_x = np.asarray(log_x, dtype=float).reshape(-1)
    k = log_x.size
    padded = np.resize(log_x, max(16, 1 << max(k - 1, 0).bit_length())) if k else np.zeros(16)
    with jax.enable_x64(True):
        y = _m4_rows(padded, *(np.asarray(r, dtype=np.float64) for r in rows))
        return np.asarray(y)[:, :k]


def _m4_solve(
    log_x: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    eps_0: np.ndarray,
    eps_inf: np.ndarray,
) -> np.ndarray:
    """Solve ``(y - eps_inf) / (eps_0 - y)**a = b x**c`` for ``y``, row-wise.

    The package's M4 law (:func:`bnsl_bayes.law.m4_log_b`, the one the Bayesian ``m4`` form
    uses): with ``y = eps_inf + t D``, ``D = eps_0 - eps_inf > 0`` and ``a > 0`` the equation
    ``log t - a log(1 - t) = log b + c log x - (1 - a) log D`` has a strictly increasing left
    side, and bisection in ``logit t`` finds its unique root. ``a < 1e-12`` uses the closed form
    ``y = eps_inf + b x**c``. Rows with ``D <= 0``, ``b <= 0`` or ``a < 0`` give NaN. Shapes:
    parameters ``(m,)``, ``log_x`` ``(k,)``, result ``(m, k)``.
    """
    valid = (eps_0 - eps_inf > 0) & (b > 0) & (a >= 0)
    a_eff = np.where(a < 1e-12, 0.0, np.where(valid, a, 1.0))
    log_b = np.log(np.where(valid, b, 1.0))
    y = _m4_law(log_x, a_eff, log_b, c, np.where(valid, eps_0, 1.0),
                np.where(valid, eps_inf, 0.0))
    return np.where(valid[:, None], y, np.nan)


def baseline_rows(name: str, log_x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Evaluate baseline ``name`` for parameter rows ``p`` of shape ``(m, n_params)``."""
    lx = log_x[None, :]
    if name == "M1":
        return p[:, 0:1] * np.exp(p[:, 1:2] * lx)
    if name == "M2":
        return p[:, 0:1] * np.exp(p[:, 1:2] * lx) + p[:, 2:3]
    if name == "M3":
        base = np.exp(lx) + p[:, 3:4]
        return p[:, 0:1] * np.exp(p[:, 1:2] * np.log(base)) + p[:, 2:3]
    if name == "M4":
        return _m4_solve(log_x, p[:, 0], p[:, 1], p[:, 2], p[:, 3], p[:, 4])
    raise ValueError(f"unknown baseline {name!r}; expected one of {BASELINES}")


def predict_baseline(name: str, params: dict[str, Any], x: Any) -> np.ndarray:
    """Evaluate a baseline form.

    Parameters
    ----------
    name : {"M1", "M2", "M3", "M4"}
        M1 ``y = a x^b``; M2 ``y = a x^b + c``; M3 ``y = a (x + d)^b + c``;
        M4 ``(y - eps_inf) / (eps_0 - y)^a = b x^c``, solved for ``y`` by bisection.
    params : dict
        The parameters by name (see ``BASELINE_PARAMS``), e.g. from :func:`point_fit_baseline`.
    x : array_like
        Points (> 0).

    Returns
    -------
    numpy.ndarray
        Predictions with the shape of ``x`` (NaN where the parameters are invalid).
    """
    if name not in BASELINE_PARAMS:
        raise ValueError(f"unknown baseline {name!r}; expected one of {BASELINES}")
    x_arr = np.asarray(x, dtype=float)
    p = np.array([[float(params[k]) for k in BASELINE_PARAMS[name]]])
    with np.errstate(all="ignore"):
        y = baseline_rows(name, np.log(x_arr.ravel()), p)[0]
    return y.reshape(x_arr.shape)
