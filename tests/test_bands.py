"""The bands of a new point come from the exact posterior predictive mixture, not from sampling.

Given each posterior draw, a new point is Normal (in log y in the log space); the predictive is
the equal-weight mixture over draws. These tests check the quantiles and the log density of
that mixture on synthetic draws against brute force, numerical integration and the mixture's
own CDF. Properties on a real fit (the band holds the band of the mean, one x has one answer,
the CLI's held-out table agrees with predict) are in ``tests/test_fit.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from bnsl_bayes.bands import (
    band_table,
    predictive_draws,
    predictive_log_density,
    predictive_quantiles,
)

LEVELS = [0.005, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995]


def synthetic(space: str, key: int = 0, draws: int = 300, points: int = 4):
    """Posterior-like draws: a mean curve that spreads with x and a noise scale per draw."""
    rng = np.random.default_rng(key)
    spread = np.geomspace(0.002, 0.3, points)
    if space == "log":
        mu = np.exp(np.log(0.5) + spread * rng.standard_normal((draws, points)))
        sigma = np.exp(np.log(0.03) + 0.2 * rng.standard_normal(draws))
    else:
        mu = -1.0 + spread * rng.standard_normal((draws, points))
        sigma = np.exp(np.log(0.05) + 0.2 * rng.standard_normal(draws))
    seeds = np.array([1.0, 3.0, 1.0, 10.0])[:points]
    return mu, sigma, seeds


def mixture_cdf(t: np.ndarray, mu: np.ndarray, sigma: np.ndarray, space: str,
                seeds: np.ndarray) -> np.ndarray:
    """The predictive CDF at t (one value per column), straight from its definition."""
    sd = sigma[:, None] / np.sqrt(seeds)[None, :]
    if space == "log":
        return special.ndtr((np.log(t)[None, :] - np.log(mu)) / sd).mean(axis=0)
    return special.ndtr((t[None, :] - mu) / sd).mean(axis=0)


@pytest.mark.parametrize("space", ["log", "linear"])
def test_quantiles_invert_the_mixture_cdf(space):
    mu, sigma, seeds = synthetic(space)
    q = predictive_quantiles(mu, sigma, space, seeds, LEVELS)
    assert q.shape == (len(LEVELS), mu.shape[1])
    for level, row in zip(LEVELS, q, strict=True):
        np.testing.assert_allclose(mixture_cdf(row, mu, sigma, space, seeds), level,
                                   rtol=0, atol=1e-9)
    assert np.all(np.diff(q, axis=0) > 0)


@pytest.mark.parametrize("space", ["log", "linear"])
def test_quantiles_match_brute_force_within_monte_carlo_error(space):
    """Many noise draws per posterior draw: the share of simulated points below each exact
    quantile is the level, within 5 standard errors of a proportion."""
    mu, sigma, seeds = synthetic(space, key=1)
    reps = 2000
    rng = np.random.default_rng(7)
    sims = np.concatenate([predictive_draws(mu, sigma, space, seeds, rng) for _ in range(reps)])
    n = sims.shape[0]
    q = predictive_quantiles(mu, sigma, space, seeds, LEVELS)
    for level, row in zip(LEVELS, q, strict=True):
        share = (sims <= row[None, :]).mean(axis=0)
        se = np.sqrt(level * (1 - level) / n)
        assert np.all(np.abs(share - level) < 5 * se), (level, share)
    # the old way (one noise draw per posterior draw) scatters about the same quantiles
    brute = np.quantile(sims, LEVELS, axis=0)
    np.testing.assert_allclose(brute, q, rtol=0.02)


def test_quantiles_far_apart_components_and_heavy_tails():
    """Components far apart next to their scale (a flat CDF between them) and a Cauchy spread
    of the means (the drift past the data): the solver still lands on a quantile."""
    rng = np.random.default_rng(3)
    mu = np.exp(np.column_stack([
        np.repeat([-1.0, 0.0, 1.0], [20, 60, 20]),     # the 20% level: between clusters
        5.0 * rng.standard_cauchy(100),                # Cauchy slope errors times log x
        np.clip(80.0 * rng.standard_cauchy(100), -700, 700),
    ]))
    sigma = np.full(100, 1e-3)
    seeds = np.ones(3)
    q = predictive_quantiles(mu, sigma, "log", seeds, [0.05, 0.2, 0.5, 0.95])
    assert np.all(np.isfinite(np.log(q)))
    for level, row in zip([0.05, 0.2, 0.5, 0.95], q, strict=True):
        np.testing.assert_allclose(mixture_cdf(row, mu, sigma, "log", seeds), level,
                                   rtol=0, atol=1e-9)
    # 5% is a quarter of the cluster at -1 (20 of 100 components): its own 25% quantile
    np.testing.assert_allclose(np.log(q[0, 0]), -1.0 + 1e-3 * special.ndtri(0.25), rtol=1e-9)
    # 20% is all of it: the CDF is flat at 0.2 between the clusters, and the quantile lies there
    assert -1.0 < np.log(q[1, 0]) < 0.0


def test_one_column_does_not_depend_on_the_others():
    mu, sigma, seeds = synthetic("log", key=4)
    alone = predictive_quantiles(mu[:, [2]], sigma, "log", seeds[[2]], [0.05, 0.95])
    together = predictive_quantiles(mu, sigma, "log", seeds, [0.05, 0.95])
    np.testing.assert_allclose(alone[:, 0], together[:, 2], rtol=1e-12)


@pytest.mark.parametrize("space", ["log", "linear"])
def test_log_density_is_the_mixture_density_of_y(space):
    mu, sigma, seeds = synthetic(space, key=5)
    y = np.quantile(mu, [0.1, 0.5, 0.9, 0.99], axis=0).diagonal()
    got = predictive_log_density(mu, sigma, space, seeds, y)
    # direct: mean over draws of the Normal density, with the 1/y Jacobian in the log space
    sd = sigma[:, None] / np.sqrt(seeds)[None, :]
    if space == "log":
        z = (np.log(y)[None, :] - np.log(mu)) / sd
        dens = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sd * y[None, :])
    else:
        z = (y[None, :] - mu) / sd
        dens = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sd)
    np.testing.assert_allclose(got, np.log(dens.mean(axis=0)), rtol=1e-12)


@pytest.mark.parametrize("space", ["log", "linear"])
def test_log_density_integrates_to_one_over_y(space):
    mu, sigma, seeds = synthetic(space, key=6)
    for j in range(mu.shape[1]):
        def dens(v, j=j):
            return float(np.exp(predictive_log_density(mu[:, [j]], sigma, space, seeds[[j]],
                                                       np.array([v]))[0]))
        lo, hi = predictive_quantiles(mu[:, [j]], sigma, space, seeds[[j]], [1e-9, 1 - 1e-9])
        mass, err = integrate.quad(dens, float(lo[0]), float(hi[0]), limit=400)
        assert abs(mass - 1.0) < 1e-6 and err < 1e-6, (j, mass, err)


def test_log_density_far_from_every_draw_is_very_low_not_nan():
    mu, sigma, seeds = synthetic("linear", key=8)
    far = predictive_log_density(mu, sigma, "linear", seeds, np.full(mu.shape[1], 50.0))
    assert np.all(np.isfinite(far)) and np.all(far < -1e4)


@pytest.mark.parametrize("space", ["log", "linear"])
def test_band_table_predictive_band_holds_the_mean_band(space):
    mu, sigma, seeds = synthetic(space, key=9, points=4)
    for prob in (0.5, 0.9, 0.99):
        t = band_table(np.arange(1.0, 5.0), mu, sigma, space, seeds, prob)
        assert (t["pred_lo"] <= t["mean_lo"]).all() and (t["mean_hi"] <= t["pred_hi"]).all()
        assert (t["mean_lo"] <= t["median"]).all() and (t["median"] <= t["mean_hi"]).all()
        lo, hi = predictive_quantiles(mu, sigma, space, seeds, [(1 - prob) / 2, (1 + prob) / 2])
        # where the noise dwarfs the spread of the mean (the first two x) the band is the
        # mixture's own
        np.testing.assert_allclose(t["pred_lo"].to_numpy()[:2], lo[:2], rtol=1e-12)
        np.testing.assert_allclose(t["pred_hi"].to_numpy()[:2], hi[:2], rtol=1e-12)
