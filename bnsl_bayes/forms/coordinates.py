"""NumPyro distributions of the sampling coordinates shared by the forms.

The ordered break locations and the asymptote's odds coordinate reshape the posterior so that
NUTS sees a nearly Gaussian target; each keeps exactly the prior the model file gives.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax import nn
from jax.scipy.special import gammaln
from numpyro.distributions import constraints
from numpyro.distributions.distribution import Unit

__all__ = ["ODDS_SHARPNESS", "AsymptoteCoordinate", "SortedIID", "factor", "log_odds", "odds"]


class SortedIID(dist.Distribution):
    """Order statistics of ``n`` i.i.d. draws from a univariate ``base`` (support: ordered).

    The density is ``n! * prod_i base(v_i)`` on ``v_1 < ... < v_n``: the i.i.d. prior on each
    break location with the labels fixed by order, so chains cannot swap breaks.
    """

    arg_constraints = {}
    support = constraints.ordered_vector
    pytree_data_fields = ("base",)
    pytree_aux_fields = ("n",)

    def __init__(self, base: dist.Distribution, n: int, *, validate_args=None):
        self.base = base
        self.n = n
        super().__init__(batch_shape=(), event_shape=(n,), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        draws = self.base.sample(key, tuple(sample_shape) + (self.n,))
        return jnp.sort(draws, axis=-1)

    def log_prob(self, value):
        return jnp.sum(self.base.log_prob(value), axis=-1) + gammaln(self.n + 1.0)


ODDS_SHARPNESS = 10.0


def odds(w):
    """Odds ``a / P(1)`` of the asymptote from its sampling coordinate (a scaled softplus)."""
    return nn.softplus(ODDS_SHARPNESS * w) / ODDS_SHARPNESS


def log_odds(w):
    """``log(odds(w))``, finite with a finite gradient for any w (``softplus(z) -> e^z``
    far below 0, where its log would underflow to -inf)."""
    z = ODDS_SHARPNESS * w
    safe = jnp.where(z > -30.0, z, 0.0)
    return jnp.where(z > -30.0, jnp.log(nn.softplus(safe)), z) - jnp.log(ODDS_SHARPNESS)


class AsymptoteCoordinate(dist.Distribution):
    """Prior on the real-valued sampling coordinate ``w`` of the asymptote fraction r.

    ``r = o / (1 + o)`` with odds ``o = softplus(k w) / k`` (k = ``ODDS_SHARPNESS``): linear in the
    odds away from 0. The other parameters of a curve depend almost linearly on the odds
    (e.g. the slope change after a break on the 4-digit-addition curve: R^2 0.995 against 0.92
    for logit r), so this coordinate removes the banana that the logit gives NUTS. The density
    is ``base(r) |dr/dw|``, so ``r`` has exactly the prior ``base`` (the spec's
    ``asymptote_fraction``).
    """

    arg_constraints = {}
    support = constraints.real
    pytree_data_fields = ("base",)

    def __init__(self, base: dist.Distribution, *, validate_args=None):
        self.base = base
        super().__init__(batch_shape=(), event_shape=(), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        r = self.base.sample(key, sample_shape)
        y = ODDS_SHARPNESS * r / (1.0 - r)
        return (y + jnp.log(-jnp.expm1(-y))) / ODDS_SHARPNESS

    def log_prob(self, value):
        o = odds(value)
        log1p_o = jnp.log1p(o)
        r = o / (1.0 + o)
        log_jac = -2.0 * log1p_o + nn.log_sigmoid(ODDS_SHARPNESS * value)
        return self.base.log_prob(r) + log_jac


def factor(name: str, log_factor) -> None:
    """``numpyro.factor`` without its lookup of ``numpyro.distributions.distribution``."""
    unit = Unit(log_factor)
    numpyro.sample(name, unit, obs=unit.sample(None), infer={"is_auxiliary": True})
