"""The law's discrepancy past the data: a slope error that starts at the last fit point.

The model of a curve past its last fit point is

    log y(x) = log mu(x) + delta(x) + noise,   delta(x) = s * sigma_point * (u - 1)  for u > 1,

(linear space: ``y = mu + delta + noise``), with ``u`` the standardized log x of
:mod:`.standardize` (``u = 1`` at the last fit point, one unit = the log-x width of the fit
range), ``sigma_point = sigma * sqrt(mean(1 / seeds_j))`` the noise sd of a typical fit point and
``s`` one slope error per curve with the prior of the model file's site ``extrapolation_slope``
(bundled: ``StudentT(3, 0, 30)``). ``delta`` is 0 on the fit range, so the fit points say
nothing about ``s``: its posterior is its prior, independent of the law's parameters, and it is
drawn exactly after sampling (as sigma is), one value per posterior draw. The curve's mean past
the data then carries ``delta`` (the mean band widens with it) and a new point adds the noise.

Why this form (``docs/calibration.md``): on the 92 Revisiting curves the law's error on the
held-out points scales with the fit points' noise (correlation 0.73 between log sigma and the log
mean held-out error on the 72 vision curves) and is not predicted by the last fit points'
residuals, so nothing inside the fit range measures it; its size is a prior learned from other
curves. The scale 30 and the 3 degrees of freedom were chosen by grouped cross-validation (the
choice made without each held-out group of curves, then scored on it).
"""

from __future__ import annotations

import numpy as np

from .priors import Prior

__all__ = ["SITE", "draw_slopes", "offset", "point_noise_factor", "u_past"]

#: The model-file site of the slope error past the data (optional: without it, no discrepancy).
SITE = "extrapolation_slope"
SITE_INFO = ("real", "both", "slope error of the law past the last fit point, in fit-point "
             "noise sds per unit of u (log-x width of the fit range); 0 on the fit range, so "
             "its posterior is its prior (drawn exactly after sampling)")


def draw_slopes(prior: Prior, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent draws of the slope error from its prior (numpy; real-line priors)."""
    p = dict(prior.params)
    if prior.dist == "Normal":
        z = rng.standard_normal(n)
    elif prior.dist == "StudentT":
        z = rng.standard_t(p["df"], size=n)
    elif prior.dist == "Cauchy":
        z = rng.standard_cauchy(n)
    elif prior.dist == "Logistic":
        z = rng.logistic(size=n)
    else:  # pragma: no cover - the spec parser allows only real-line priors here
        raise ValueError(f"{SITE}: unsupported prior {prior.dist}")
    return p["loc"] + p["scale"] * z


def point_noise_factor(seeds: np.ndarray) -> float:
    """``sqrt(mean(1 / seeds))`` of the fit points: sigma times it is a typical point's sd."""
    s = np.asarray(seeds, dtype=float)
    return float(np.sqrt(np.mean(1.0 / s))) if s.size else 1.0


def u_past(x: np.ndarray, log_x_last: float, log_x_width: float) -> np.ndarray:
    """``max(u - 1, 0)``: distance past the last fit point in fit-range widths of log x."""
    return np.maximum((np.log(np.asarray(x, dtype=float)) - log_x_last) / log_x_width, 0.0)


def offset(slopes: np.ndarray, sigma: np.ndarray, factor: float, past: np.ndarray) -> np.ndarray:
    """``delta`` per draw and x, shape ``(S, m)``: ``s * sigma * factor * (u - 1)_+``."""
    return (np.asarray(slopes, dtype=float) * np.asarray(sigma, dtype=float) * factor)[:, None] \
        * np.asarray(past, dtype=float)[None, :]
