"""Priors on the standardized scale, and what a form reads from a model specification.

This module sits below both the forms (which sample from priors) and :mod:`.spec` (which reads
them from TOML and checks them against a form's sites), so neither has to import the other's
layer upward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpyro.distributions as dist
import numpyro.distributions.distribution as _distribution

# numpyro's own factor() reads numpyro.distributions.distribution, an attribute the package
# binds on import; when ArviZ was imported before NumPyro the binding can be missing (numpyro
# 0.22, arviz 1.3) and every model with a constrained site fails. Bind it here, where this
# package first imports NumPyro's distributions, whatever the caller imported first.
if not hasattr(dist, "distribution"):
    dist.distribution = _distribution

__all__ = ["DISTRIBUTIONS", "Prior", "PriorSource"]

# name -> (numpyro class, required parameters, support kind)
DISTRIBUTIONS: dict[str, tuple[type, tuple[str, ...], str]] = {
    "Normal": (dist.Normal, ("loc", "scale"), "real"),
    "StudentT": (dist.StudentT, ("df", "loc", "scale"), "real"),
    "Cauchy": (dist.Cauchy, ("loc", "scale"), "real"),
    "Logistic": (dist.Logistic, ("loc", "scale"), "real"),
    "HalfNormal": (dist.HalfNormal, ("scale",), "positive"),
    "HalfCauchy": (dist.HalfCauchy, ("scale",), "positive"),
    "LogNormal": (dist.LogNormal, ("loc", "scale"), "positive"),
    "Exponential": (dist.Exponential, ("rate",), "positive"),
    "Gamma": (dist.Gamma, ("concentration", "rate"), "positive"),
    "InverseGamma": (dist.InverseGamma, ("concentration", "rate"), "positive"),
    "Beta": (dist.Beta, ("concentration1", "concentration0"), "unit"),
}


@dataclass(frozen=True)
class Prior:
    """A univariate prior on the standardized scale.

    Attributes
    ----------
    dist : str
        Name of the distribution (a key of ``Prior.supported()``).
    params : tuple of (str, float)
        Its parameters, by NumPyro's names.
    """

    dist: str
    params: tuple[tuple[str, float], ...]

    @staticmethod
    def supported() -> dict[str, tuple[str, ...]]:
        """Distribution names and the parameters each takes."""
        return {name: req for name, (_, req, _) in DISTRIBUTIONS.items()}

    @property
    def support(self) -> str:
        """``"real"``, ``"positive"`` or ``"unit"``."""
        return DISTRIBUTIONS[self.dist][2]

    def build(self) -> dist.Distribution:
        """The NumPyro distribution."""
        cls = DISTRIBUTIONS[self.dist][0]
        return cls(**dict(self.params))

    def to_toml(self) -> str:
        """Inline-table TOML text of this prior."""
        inner = ", ".join(f"{k} = {v!r}" for k, v in self.params)
        return f'{{ dist = "{self.dist}", {inner} }}'


class PriorSource(Protocol):
    """What a form reads from a model specification (:class:`~.spec.ModelSpec` is one)."""

    name: str
    breaks: int

    def prior(self, site: str) -> Prior:
        """The prior of ``site``."""
        ...
