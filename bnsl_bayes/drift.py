"""Bands past the data that account for the law itself being wrong: a leave-future-out drift.

A fitted law's bands are honest only if the law holds past the last fit point. On real curves it
often does not: the extrapolated segment drifts off the law's trend, and no noise term fitted
on the fit range sees that (docs/calibration.md). This module measures how
far the law strays when it extrapolates *within the user's own data*, and carries that into the
bands past the data. No held-out point is used.

1. **Leave future out** (:func:`lfo_curve`): refit the same form on the fit points up to a cut
   (by default the first 75% of their log-x range) and predict the remaining fit points.
2. **Slope discrepancy** (:func:`slope_discrepancy`): model the errors there as a slope error
   of the law in log x, ``e_j = delta * (log x_j - log x_cut) + noise``, with the noise's
   covariance ``C`` from the refit's posterior (parameter uncertainty and the noise of the
   points); ``delta_hat`` is the least-squares estimate weighted by ``W = 0.4 C + 0.6
   diag(C)`` (:data:`SHRINK`) and ``v`` its variance when the law is right (``delta = 0``),
   under the full ``C``. The weights lie between generalized least squares (``W = C``), which
   covers held-out points of real curves best, and weighted least squares (``W = diag(C)``):
   where the refit's posterior fans out along the very direction a law that strays takes (a
   break the refit cannot see), GLS reads the errors as the law's own uncertainty and misses
   it. Of the candidates that still detect such a drop at every refit seed tried (0.6 and 1
   of ``validation.drift_cv``'s grid), grouped cross-validation across real curves chose 0.6
   (docs/decisions.md).
3. **Drift past the data** (:class:`Drift`): a new slope error of the same size acts past the
   last fit point. Its scale is the excess of the estimate over what the law's own uncertainty
   explains, ``scale = sqrt(max(0, delta_hat**2 - v))``, and each posterior draw gets
   ``delta_new = scale * T`` with ``T`` standard Cauchy: if the slope errors of successive
   stretches are independent draws from one Normal and ``v`` is small, ``delta_new / delta_hat``
   is exactly Cauchy, so the band is calibrated whatever the size of that Normal, from one
   observed stretch. When the law extrapolated within the data as its posterior said it would
   (``delta_hat**2 <= v``), the bands are left as they are.

:meth:`Fit.predict(x, drift=...) <bnsl_bayes.result.Fit.predict>` adds ``delta_new * (log x -
log x_last)`` (for x past the last fit point) to the mean curve of each draw, in the noise space
(log y, or y in the linear space), so both the credible band of the mean and the predictive
band widen; the median moves little (the slope errors are symmetric about 0).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from .bands import curve_draws
from .data import Curve, DataError

__all__ = ["Drift", "apply_drift", "lfo_curve", "scored_errors", "slope_discrepancy"]

#: Share of the fit points' log-x range the leave-future-out refit keeps by default.
DEFAULT_CUT = 0.75

#: Weight of the diagonal in the covariance that weights the scored points (0: generalized, 1:
#: weighted least squares; see :func:`slope_discrepancy` and the module's docstring).
SHRINK = 0.6


def lfo_curve(curve: Curve, n_params: int, cut: float = DEFAULT_CUT) -> Curve:
    """The curve with the fit points past ``cut`` of their log-x range also held out.

    Parameters
    ----------
    curve : Curve
        The data of the full fit.
    n_params : int
        Parameters of the law: the refit keeps at least this many points, moving the cut right
        if it must.
    cut : float
        Share of the fit points' log-x range (from the first fit x) to keep, in (0, 1).

    Returns
    -------
    Curve
        A copy whose fit points are the full fit's points up to the cut; the points between the
        cut and the last fit x are scored.

    Raises
    ------
    DataError
        Fewer than ``n_params + 1`` fit points: nothing would be left to score.
    ValueError
        ``cut`` outside (0, 1).
    """
    if isinstance(cut, bool) or not isinstance(cut, int | float) or not 0.0 < cut < 1.0:
        raise ValueError(f"cut = {cut!r}: expected the share of the fit range to keep, strictly "
                         f"between 0 and 1 (default {DEFAULT_CUT})")
    idx = np.flatnonzero(curve.fit_mask)
    if idx.size < n_params + 1:
        raise DataError(
            f"{idx.size} fit point(s): a leave-future-out check refits the law ({n_params} "
            f"parameters) on at least {n_params} of them and needs one more to score; give at "
            f"least {n_params + 1} fit points or use fewer breaks"
        )
    lx = np.log(curve.x[idx])
    keep = int(np.sum(lx <= lx[0] + cut * (lx[-1] - lx[0])))
    keep = min(max(keep, n_params), idx.size - 1)
    held = curve.held_out.copy()
    held[idx[keep:]] = True
    return replace(curve, held_out=held)


def slope_discrepancy(err: np.ndarray, cov: np.ndarray, dist: np.ndarray,
                      shrink: float = SHRINK) -> tuple[float, float]:
    """Least-squares slope of errors against distance, and its variance when the law holds.

    Parameters
    ----------
    err : numpy.ndarray
        Observed minus predicted (posterior mean), shape ``(k,)``.
    cov : numpy.ndarray
        Covariance of the errors when the law is right, shape ``(k, k)``.
    dist : numpy.ndarray
        Distance of each point past the cut (log x), shape ``(k,)``, > 0.
    shrink : float
        Weight in [0, 1] of the diagonal in the weighting covariance ``W = (1 - shrink) * cov
        + shrink * diag(cov)``: 1 weights each point by its own variance (weighted least
        squares), 0 by the full inverse covariance (generalized least squares).

    Returns
    -------
    delta_hat, v : float
        With ``w = W^-1 dist``: ``(w' e) / (w' dist)`` and its variance under ``cov``,
        ``(w' C w) / (w' dist)**2``, whatever ``shrink``.

    Raises
    ------
    ValueError
        ``shrink`` outside [0, 1].
    """
    if isinstance(shrink, bool) or not isinstance(shrink, int | float) or not 0.0 <= shrink <= 1.0:
        raise ValueError(f"shrink = {shrink!r}: expected a weight between 0 (generalized least "
                         f"squares) and 1 (weighted least squares); default {SHRINK}")
    err, dist = np.asarray(err, dtype=float), np.asarray(dist, dtype=float)
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    # a tiny floor keeps a zero variance (draws of a nearly exact law, no noise) usable
    var = np.diag(cov)
    var = np.maximum(var, 1e-12 * max(float(var.mean()), 1e-300))
    if shrink == 1.0:
        w = dist / var
    else:
        weighting = (1.0 - shrink) * cov
        weighting[np.diag_indices_from(weighting)] = var
        # lstsq: at shrink 0 the draws' covariance may be singular to working precision
        w = np.linalg.lstsq(weighting, dist, rcond=None)[0]
    a = float(w @ dist)
    return float(w @ err) / a, float(w @ cov @ w) / a**2


def scored_errors(draws: dict[str, np.ndarray], form: str, space: str, curve: Curve,
                  x_cut: float, weights: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inputs of :func:`slope_discrepancy` for a refit on the points up to ``x_cut``.

    Parameters
    ----------
    draws, form, space, curve, x_cut, weights
        As :meth:`Drift.from_draws`.

    Returns
    -------
    err : numpy.ndarray
        Observed minus the draws' mean prediction at each fit point past ``x_cut`` (noise
        space), shape ``(k,)``.
    cov : numpy.ndarray
        Their covariance when the law is right: the draws' covariance plus the points' noise
        (mean ``sigma**2`` over the seeds behind each point), shape ``(k, k)``.
    dist : numpy.ndarray
        ``log(x / x_cut)`` of the points, shape ``(k,)``.

    Raises
    ------
    ValueError, DataError
        As :meth:`Drift.from_draws`.
    """
    sigma = np.asarray(draws["sigma"], dtype=float).reshape(-1)
    if weights is not None:
        weights = np.asarray(weights, dtype=float).reshape(-1)
        if (weights.shape != sigma.shape or not np.all(np.isfinite(weights))
                or np.any(weights < 0) or not weights.sum() > 0):
            raise ValueError(f"weights: expected {sigma.size} finite values >= 0 (one per "
                             f"draw) with a positive sum, got {weights.size} values; pass "
                             f"exp(log_weights - max(log_weights)) from PSIS")
    score = curve.fit_mask & (curve.x > x_cut)
    if not score.any():
        raise DataError(f"no fit point of the curve lies past the refit's last x = "
                        f"{x_cut:g}: nothing to score")
    x, y, n = curve.x[score], curve.y[score], curve.seeds[score]
    mu = curve_draws(draws, x, form)
    if space == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            m, obs = np.log(mu), np.log(y)
    else:
        m, obs = mu, y
    ok = np.all(np.isfinite(m), axis=1)
    if ok.sum() < 2:
        raise DataError("the refit's draws give no finite prediction past the cut")
    m, sigma_sq = m[ok], sigma[ok] ** 2
    if weights is None:
        mean, sig2 = m.mean(axis=0), float(np.mean(sigma_sq))
        cov = np.atleast_2d(np.cov(m, rowvar=False))
    else:
        w = weights[ok] / weights[ok].sum()
        mean, sig2 = w @ m, float(w @ sigma_sq)
        cov = np.atleast_2d(((m - mean) * w[:, None]).T @ (m - mean))
    return obs - mean, cov + np.diag(sig2 / n), np.log(x / x_cut)


@dataclass(frozen=True)
class Drift:
    """The slope drift of the law past the data, measured by leave-future-out.

    Attributes
    ----------
    delta_hat : float
        Estimated slope error of the refit's extrapolation, in noise-space units (log y, or y
        in the linear space) per unit of log x.
    v : float
        Its variance if the law were right.
    x_cut : float
        Last fit x of the refit.
    scored : int
        Fit points past the cut the estimate rests on.
    space : {"log", "linear"}
        Noise space of the units.
    """

    delta_hat: float
    v: float
    x_cut: float
    scored: int
    space: str

    @property
    def z(self) -> float:
        """``delta_hat / sqrt(v)``: how many standard errors the law strayed (about N(0, 1) when
        the law holds)."""
        return self.delta_hat / math.sqrt(self.v) if self.v > 0 else math.inf

    @property
    def scale(self) -> float:
        """Scale of the Cauchy slope error added past the data: ``sqrt(max(0, delta_hat**2 -
        v))``; 0 leaves the bands unchanged."""
        return math.sqrt(max(0.0, self.delta_hat**2 - self.v))

    def slopes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` slope errors ``scale * T``, T standard Cauchy (zeros when ``scale`` is 0)."""
        if self.scale == 0.0:
            return np.zeros(n)
        return self.scale * rng.standard_cauchy(n)

    def to_json(self) -> dict[str, float | int | str]:
        """The fields, with ``z`` and ``scale``, as a JSON-ready dict (``--json``)."""
        return {**asdict(self), "z": self.z, "scale": self.scale}

    @classmethod
    def from_draws(cls, draws: dict[str, np.ndarray], form: str, space: str, curve: Curve,
                   x_cut: float, weights: np.ndarray | None = None) -> Drift:
        """The drift from posterior draws standing for a fit on the points up to ``x_cut``.

        Parameters
        ----------
        draws : dict of str to numpy.ndarray
            User-unit draws (:meth:`Fit.draws`), flat over chains and draws, with ``sigma``.
        form : str
            Name of the law's form (``Fit.spec.form``).
        space : {"log", "linear"}
            Noise space of the fit.
        curve : Curve
            The curve of the full fit: its fit points past ``x_cut`` are scored.
        x_cut : float
            Last fit x of the fit the draws stand for.
        weights : numpy.ndarray, optional
            Importance weights of the draws (e.g. PSIS), one per draw, >= 0; default: equal.

        Raises
        ------
        ValueError
            Weights of the wrong length, negative, not finite or all zero.
        DataError
            No fit point past ``x_cut``, or no draw with a finite prediction there.
        """
        return cls.from_errors(*scored_errors(draws, form, space, curve, x_cut, weights),
                               x_cut=x_cut, space=space)

    @classmethod
    def from_errors(cls, err: np.ndarray, cov: np.ndarray, dist: np.ndarray, *, x_cut: float,
                    space: str, shrink: float = SHRINK) -> Drift:
        """The drift from the scored errors of a refit (:func:`scored_errors`), its slope
        estimated by :func:`slope_discrepancy` with ``shrink``; ``x_cut`` and ``space`` as in
        :meth:`from_draws`."""
        delta_hat, v = slope_discrepancy(err, cov, dist, shrink)
        return cls(delta_hat=delta_hat, v=v, x_cut=x_cut, scored=dist.size, space=space)


def apply_drift(mu: np.ndarray, x: np.ndarray, x_last: float, drift: Drift, space: str,
                seed: int) -> np.ndarray:
    """Mean-curve draws moved past ``x_last`` by each draw's slope error.

    Parameters
    ----------
    mu : numpy.ndarray
        Mean curve per posterior draw, shape ``(S, m)``.
    x : numpy.ndarray
        Its points, shape ``(m,)``.
    x_last : float
        Last fit x: points at or before it are left as they are.
    drift : Drift
        The measured drift (its ``space`` must be ``space``).
    space : {"log", "linear"}
        Noise space of the fit.
    seed : int
        Seed of the slope errors (the fit's seed: the same draws get the same slope errors in
        every call).

    Returns
    -------
    numpy.ndarray
        Shape ``(S, m)``: ``mu * exp(delta * log(x / x_last))`` in the log space, ``mu + delta *
        log(x / x_last)`` in the linear space, for x past ``x_last``.
    """
    if not isinstance(drift, Drift):
        raise ValueError(f"drift = {drift!r}: expected a Drift from bnsl_bayes.calibrate_drift")
    if drift.space != space:
        raise ValueError(f"drift was measured in the {drift.space} noise space, the fit is in "
                         f"the {space} space; calibrate it on this fit")
    dist = np.maximum(np.log(np.asarray(x, dtype=float) / x_last), 0.0)
    shift = drift.slopes(mu.shape[0], np.random.default_rng([seed, 2]))[:, None] * dist
    if space == "log":
        with np.errstate(divide="ignore"):
            # clipped so a far Cauchy draw gives a huge but finite value, never inf or nan
            moved = np.exp(np.clip(np.log(mu) + shift, -700.0, 700.0))
    else:
        moved = mu + shift
    # up to the last fit point the draws are returned as they are: exp(log(mu)) is not mu to
    # the last bit, and the drift must not touch the bands inside the data
    return np.where(dist > 0, moved, mu)
