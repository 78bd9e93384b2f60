"""The standardized scale on which every form is sampled, and the data arrays the model takes.

Standardization (recorded in :class:`Scaling`):

- ``u = (log x - log x_first) / (log x_last - log x_first)``, so the fit range is ``u in [0, 1]``;
- log space: ``y' = y / y_last``; linear space: ``y' = (y - y_last) / spread``.

One set of weakly informative priors then serves curves of any units and range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .data import Curve, NoiseSpace

__all__ = ["ModelData", "Scaling"]


@dataclass(frozen=True)
class Scaling:
    """The map between user units and the standardized scale of the priors.

    Attributes
    ----------
    space : {"log", "linear"}
        Noise space.
    log_x0 : float
        log of the first fit x.
    log_x_width : float
        log x_last - log x_first of the fit points (> 0).
    y_shift : float
        Subtracted from y before scaling (linear: y at the last fit point; log: 0).
    y_scale : float
        y is divided by it (log: y at the last fit point; linear: max - min of the fit points).
    """

    space: NoiseSpace
    log_x0: float
    log_x_width: float
    y_shift: float
    y_scale: float

    @classmethod
    def from_curve(cls, curve: Curve, space: NoiseSpace) -> Scaling:
        """The standardization of the fit points of ``curve``."""
        m = curve.fit_mask
        lx = np.log(curve.x[m])
        y = curve.y[m]
        y_last = float(y[-1])
        if space == "log":
            return cls(space, float(lx[0]), float(lx[-1] - lx[0]), 0.0, y_last)
        spread = float(np.ptp(y))
        if spread <= 0:
            spread = max(abs(y_last), 1.0)
        return cls(space, float(lx[0]), float(lx[-1] - lx[0]), y_last, spread)

    def u(self, x: np.ndarray) -> np.ndarray:
        """Standardized log x."""
        return (np.log(x) - self.log_x0) / self.log_x_width

    def to_dict(self) -> dict:
        """Plain dict (for file attributes)."""
        return asdict(self)


class ModelData(NamedTuple):
    """Arrays the compiled model takes (all of one length, the number of fit points).

    Attributes
    ----------
    u : array
        Standardized log x.
    obs : array
        Standardized observation: log(y') in log space, y' in linear space.
    sqrt_seeds : array
        Square root of the number of runs behind each point.
    std2 : array
        Squared per-run standard deviation in model units (0 where unknown).
    std_dof : array
        Degrees of freedom of that spread (seeds - 1 where known, else 0).
    mask : array, optional
        1 for a real point, 0 for padding (curves of different lengths share one compiled
        sampler by padding to a common length); None means every point is real.
    log_x_width : array, optional
        Scalar ``log x_last - log x_first``, for forms whose shape is fixed in natural-log-x
        units (M3); None for the others.
    y_zero : array, optional
        Scalar: y = 0 on the standardized scale (linear space: ``-y_last / spread``; log
        space: 0, unused), for forms anchored at y = 0 (M1); None for the others.
    """

    u: jnp.ndarray
    obs: jnp.ndarray
    sqrt_seeds: jnp.ndarray
    std2: jnp.ndarray
    std_dof: jnp.ndarray
    mask: jnp.ndarray | None = None
    log_x_width: jnp.ndarray | None = None
    y_zero: jnp.ndarray | None = None

    @property
    def n_points(self) -> int:
        """Length of the arrays (real points plus padding)."""
        return int(np.shape(self.u)[-1])

    def padded(self, length: int) -> ModelData:
        """The same points followed by ``length - n`` masked padding points."""
        n = self.n_points
        if length < n:
            raise ValueError(f"length = {length}: expected at least the {n} points of the data")
        extra = length - n
        mask = np.ones(n) if self.mask is None else np.asarray(self.mask, dtype=float)

        def pad(v, fill):
            return np.concatenate([np.asarray(v, dtype=float), np.full(extra, fill)])

        # Padding sits at u = 1 with one seed and no spread; its mask removes it from the sums.
        return ModelData(pad(self.u, 1.0), pad(self.obs, 0.0), pad(self.sqrt_seeds, 1.0),
                         pad(self.std2, 0.0), pad(self.std_dof, 0.0), pad(mask, 0.0),
                         self.log_x_width, self.y_zero)

    @classmethod
    def from_curve(cls, curve: Curve, scaling: Scaling, *, refs: bool = False) -> ModelData:
        """The standardized fit points of ``curve``.

        ``refs=True`` also fills the scalars ``log_x_width`` and ``y_zero`` (forms that need
        them say so: :attr:`bnsl_bayes.forms.Form.needs_refs`).
        """
        m = curve.fit_mask
        x, y, n, sd = curve.x[m], curve.y[m], curve.seeds[m], curve.std[m]
        if scaling.space == "log":
            obs = np.log(y / scaling.y_scale)
            sd_model = sd / y  # delta method: sd of log y across runs
        else:
            obs = (y - scaling.y_shift) / scaling.y_scale
            sd_model = sd / scaling.y_scale
        # a spread whose square underflows carries no usable information: treat it as unknown
        known = np.isfinite(sd_model) & (sd_model**2 >= np.finfo(float).tiny) & (n >= 2)
        data = cls(
            u=np.asarray(scaling.u(x), dtype=float),
            obs=np.asarray(obs, dtype=float),
            sqrt_seeds=np.sqrt(n).astype(float),
            std2=np.where(known, sd_model, 0.0) ** 2,
            std_dof=np.where(known, n - 1.0, 0.0),
        )
        if refs:
            zero = -scaling.y_shift / scaling.y_scale if scaling.space == "linear" else 0.0
            data = data._replace(log_x_width=np.asarray(scaling.log_x_width, dtype=float),
                                 y_zero=np.asarray(zero, dtype=float))
        return data
