"""The standardized NumPyro model: the map to user units, the ordered-break and asymptote priors.

The key check is that the model's mean curve on the standardized scale, mapped back, is exactly
the law ``bnsl`` evaluated with the parameters ``to_user_units`` reports (no sampling here: the
model is run with :mod:`numpyro.handlers` at prior draws and hand-picked values).
"""

from __future__ import annotations

import functools
import math
import warnings
from contextlib import contextmanager

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro import handlers
from numpyro.infer import Predictive
from numpyro.infer.util import log_density
from scipy import stats
from scipy.integrate import quad

from bnsl_bayes import bnsl, load_spec
from bnsl_bayes import likelihood as likelihood_module
from bnsl_bayes.data import Curve
from bnsl_bayes.forms import base as model_module
from bnsl_bayes.forms import coordinates
from bnsl_bayes.forms.bnsl import (
    END_SHARE_FLOOR,
    END_SLOPE_SITE,
    BNSLForm,
    bnsl_model,
    end_share,
    to_user_units,
)
from bnsl_bayes.forms.coordinates import AsymptoteCoordinate, SortedIID
from bnsl_bayes.standardize import ModelData, Scaling

# Standardizations of very different curves: (space, log_x0, log_x_width, y_shift, y_scale)
SCALINGS = {
    "four_digit_log": Scaling("log", math.log(160.0), math.log(736.0 / 160.0), 0.0, 0.93),
    "flops_log": Scaling("log", math.log(1e15), math.log(1e6), 0.0, 3.2),
    "tiny_x_log": Scaling("log", math.log(1e-3), math.log(1e3), 0.0, 1e-4),
    "elo_linear": Scaling("linear", math.log(1e6), math.log(1e3), -200.0, 500.0),
    "reward_linear": Scaling("linear", math.log(10.0), math.log(1e4), 0.75, 0.02),
}


@contextmanager
def _capture_residual(captured: dict):
    """Record the residual obs - mean handed to the marginal likelihood (Form.model calls it)."""
    orig = model_module.marginal_log_likelihood

    def spy(resid, *args, **kwargs):
        captured["resid"] = resid
        return orig(resid, *args, **kwargs)

    model_module.marginal_log_likelihood = spy
    try:
        yield
    finally:
        model_module.marginal_log_likelihood = orig


def _trace_raw(data: ModelData, spec, space, *, key=None, params=None):
    """Run the model once: (latent values, standardized mean curve at data.u), as JAX arrays."""
    fn = bnsl_model
    if params is not None:
        fn = handlers.substitute(fn, data=params)
    if key is not None:
        fn = handlers.seed(fn, key)
    captured: dict = {}
    with _capture_residual(captured):
        tr = handlers.trace(fn).get_trace(data, spec, space)
    latent = {k: s["value"] for k, s in tr.items()
              if s["type"] == "sample" and not s["is_observed"]}
    if "resid" in captured:  # the noise is integrated out: mean = obs - resid with obs = 0
        mean = -captured["resid"]
    else:  # a Normal likelihood site
        mean = tr["y"]["fn"].loc
    return latent, mean


def _trace(data: ModelData, spec, space, *, key=None, params=None):
    latent, mean = _trace_raw(data, spec, space, key=key, params=params)
    return {k: np.asarray(v) for k, v in latent.items()}, np.asarray(mean)


U = np.linspace(-0.5, 1.5, 21)  # the fit range [0, 1] and beyond on both sides
N_PRIOR = 16


@functools.cache
def _draws(breaks: int, space: str) -> tuple[dict, np.ndarray]:
    """Prior draws of bundled bnsl-{breaks} plus hand-picked values, and their mean curves at U.

    The standardized model does not depend on the scaling, so these serve every scaling. The
    model runs vectorized and eagerly (jit would compile for longer than the eager run takes).
    """
    spec = load_spec(f"bnsl-{breaks}")
    z = np.zeros_like(U)
    data = ModelData(u=U, obs=z, sqrt_seeds=np.ones_like(U), std2=z, std_dof=z)
    draw = jax.vmap(lambda key: _trace_raw(data, spec, space, key=key)[0])
    mean_of = jax.vmap(lambda params: _trace_raw(data, spec, space, params=params)[1])
    hand = _handpicked(breaks, space)
    with jax.enable_x64(True):
        prior = draw(jax.random.split(jax.random.key(breaks), N_PRIOR))
        latent = {k: np.concatenate([np.asarray(v), np.stack([h[k] for h in hand])])
                  for k, v in prior.items()}
        mean = np.asarray(mean_of(latent))
    return latent, mean


_law_batch = jax.jit(jax.vmap(bnsl, in_axes=(None, 0, 0, 0, 0, 0, 0)))


def _handpicked(breaks: int, space: str) -> list[dict]:
    """Awkward standardized parameters: breaks outside the fit range, sharp, upturning."""
    out = []
    for level, s0, w_or_h, s, v, lg in [
        (0.0, 0.5, -3.0, [2.0, -1.0, 4.0], [0.5, 0.9, 1.4], [-2.0, -1.0, -3.0]),
        (0.3, -1.0, 0.0, [-3.0, 5.0, -2.0], [-0.8, 0.2, 2.5], [-6.0, 0.5, -4.0]),
        (-0.7, 3.0, 2.5, [8.0, 0.1, 3.0], [1.8, 1.9, 3.0], [-5.0, -5.0, 1.0]),
        (1.2, 0.0, -0.2, [0.5, 0.5, 0.5], [-2.0, -1.0, 0.0], [1.0, 1.0, 1.0]),
    ]:
        p = {"level": level, "slope0": s0}
        p["asymptote" if space == "log" else "log_height"] = w_or_h
        if breaks:
            p["slope_change"] = np.array(s[:breaks])
            p["break_location"] = np.array(v[:breaks])
            p["log_sharpness"] = np.array(lg[:breaks])
        out.append(p)
    return out


# ---------------------------------------------------------------------------- to_user_units
@pytest.mark.parametrize("breaks", [0, 1, 2, 3])
@pytest.mark.parametrize("name", sorted(SCALINGS))
def test_user_units_reproduce_the_standardized_mean(name, breaks):
    scaling = SCALINGS[name]
    space = scaling.space
    x = np.exp(scaling.log_x0 + scaling.log_x_width * U)
    latent, mean = _draws(breaks, space)
    with jax.enable_x64(True):
        p = to_user_units(latent, scaling, breaks)  # (x64: see the test after this one)
        y = np.asarray(_law_batch(x, p["a"], p["b"], p["c0"], p["c"], p["d"], p["f"]))
        power = np.asarray(_law_batch(x, 0.0 * p["a"], p["b"], p["c0"], p["c"], p["d"], p["f"]))
    n_draws = N_PRIOR + len(_handpicked(breaks, space))
    assert mean.shape == y.shape == (n_draws, len(U))
    assert np.isfinite(mean).all() and np.isfinite(y).all()
    assert p["c"].shape == p["d"].shape == p["f"].shape == (n_draws, breaks)
    assert np.all(np.diff(p["d"], axis=-1) > 0) and np.all(p["f"] > 0) and np.all(p["b"] > 0)
    if space == "log":
        expected = scaling.y_scale * np.exp(mean)
        np.testing.assert_allclose(y, expected, rtol=1e-9, atol=0)
        last = np.argmin(np.abs(U - 1.0))
        assert np.all(p["a"] >= 0) and np.all(p["a"] < y[:, last])  # 0 <= a < y(x_last)
    else:
        expected = scaling.y_shift + scaling.y_scale * mean
        size = (abs(scaling.y_shift) + scaling.y_scale * np.abs(mean) + np.abs(p["a"])[:, None]
                + power)
        assert np.all(np.abs(y - expected) <= 1e-9 * size), np.max(np.abs(y - expected) / size)


@pytest.mark.parametrize("name", ["four_digit_log", "flops_log", "elo_linear"])
def test_user_units_do_not_depend_on_the_x64_flag(name):
    """to_user_units takes and returns numpy float64; ``fit`` calls it outside
    ``jax.enable_x64`` (after run_nuts), so it must not round through float32 JAX arrays."""
    scaling = SCALINGS[name]
    latent, _ = _draws(1, scaling.space)
    with jax.enable_x64(True):
        exact = to_user_units(latent, scaling, 1)
    plain = to_user_units(latent, scaling, 1)  # JAX's default: float32
    for key in ("a", "b", "log_b", "c0", "c", "d", "f"):
        assert np.asarray(plain[key]).dtype == np.float64, key
        np.testing.assert_allclose(plain[key], exact[key], rtol=1e-13, atol=1e-300, err_msg=key)


@pytest.mark.parametrize("space", ["log", "linear"])
def test_user_units_are_vectorized_over_draws(space):
    """Arrays of draws (chains, draws, ...) map elementwise, as single draws do."""
    scaling = SCALINGS["four_digit_log" if space == "log" else "elo_linear"]
    latent, _ = _draws(2, space)
    n = N_PRIOR + 4
    shaped = {k: v.reshape((4, n // 4) + v.shape[1:]) for k, v in latent.items()}
    with jax.enable_x64(True):
        batch = to_user_units(shaped, scaling, 2)
        assert batch["a"].shape == (4, n // 4) and batch["c"].shape == (4, n // 4, 2)
        for i in range(n):
            one = to_user_units({k: v[i] for k, v in latent.items()}, scaling, 2)
            for key in ("a", "b", "log_b", "c0", "c", "d", "f"):
                np.testing.assert_allclose(batch[key].reshape((n,) + one[key].shape)[i],
                                           one[key], rtol=1e-14)


def test_the_curve_passes_through_level_at_the_last_fit_point():
    """At u = 1 the standardized mean is the level (the anchor of the model), both spaces."""
    last = int(np.argmin(np.abs(U - 1.0)))
    assert U[last] == pytest.approx(1.0)
    for space in ("log", "linear"):
        for breaks in (0, 1, 2):
            latent, mean = _draws(breaks, space)
            np.testing.assert_allclose(mean[:, last], latent["level"], rtol=1e-12, atol=1e-12)


def test_scaling_and_model_data_from_curve():
    x = np.array([160.0, 192.0, 256.0, 512.0, 736.0, 800.0])
    y = np.array([2.1, 2.0, 1.8, 1.2, 0.93, 0.7])
    c = Curve.from_arrays(x, y, seeds=[4, 4, 4, 4, 4, 1], std=[0.1, 0.1, 0.2, 0.1, 0.05, 0.1])
    c = c.fit_upto(740.0)
    s = Scaling.from_curve(c, "log")
    assert s.log_x0 == pytest.approx(math.log(160.0))
    assert s.log_x_width == pytest.approx(math.log(736.0 / 160.0))
    assert s.y_scale == 0.93 and s.y_shift == 0.0
    d = ModelData.from_curve(c, s)
    assert len(d.u) == 5  # held-out point left out
    np.testing.assert_allclose(d.u[[0, -1]], [0.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(d.obs, np.log(y[:5] / 0.93), rtol=1e-14)
    np.testing.assert_allclose(d.sqrt_seeds, 2.0)
    np.testing.assert_allclose(d.std2, (np.array([0.1, 0.1, 0.2, 0.1, 0.05]) / y[:5]) ** 2)
    np.testing.assert_allclose(d.std_dof, 3.0)
    lin = Scaling.from_curve(c, "linear")
    assert lin.y_shift == 0.93 and lin.y_scale == pytest.approx(2.1 - 0.93)
    dl = ModelData.from_curve(c, lin)
    np.testing.assert_allclose(dl.obs, (y[:5] - 0.93) / (2.1 - 0.93), rtol=1e-14)
    assert dl.obs[-1] == 0.0


def test_repeated_identical_runs_keep_the_density_finite():
    """Runs that agree exactly at some x (std = 0, e.g. a saturated or quantized metric) must not
    make the log density -inf/NaN everywhere (the sampler could not start)."""
    x = np.repeat(np.geomspace(10.0, 1000.0, 8), 3)
    y = 2.0 * x**-0.3
    y[3:] *= np.exp(np.random.default_rng(0).normal(0, 0.01, y.size - 3))  # first x: identical
    c = Curve.from_arrays(x, y)
    assert c.std[0] == 0.0
    spec = load_spec("bnsl-1")
    for space in ("log", "linear"):
        s = Scaling.from_curve(c, space)
        d = ModelData.from_curve(c, s)
        with jax.enable_x64(True):
            latent, _ = _trace(d, spec, space, key=jax.random.key(1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ld, _ = log_density(bnsl_model, (d, spec, space), {}, latent)
        assert np.isfinite(float(ld)), space


def test_log_density_finite_at_prior_draws():
    """Control for the test above: an ordinary curve has a finite log density."""
    x = np.geomspace(10.0, 1000.0, 8)
    c = Curve.from_arrays(x, 2.0 * x**-0.3, seeds=np.full(8, 5), std=np.full(8, 0.02))
    for breaks in (0, 1, 2):
        spec = load_spec(f"bnsl-{breaks}")
        for space in ("log", "linear"):
            d = ModelData.from_curve(c, Scaling.from_curve(c, space))
            with jax.enable_x64(True):
                latent, _ = _trace(d, spec, space, key=jax.random.key(breaks))
                ld, _ = log_density(bnsl_model, (d, spec, space), {}, latent)
            assert np.isfinite(float(ld))


# ---------------------------------------------------------------------------- noise marginal
def test_marginal_likelihood_equals_integral_over_the_noise():
    """The noise variance is integrated out analytically: check the integral numerically."""
    marginal = likelihood_module.marginal_log_likelihood
    rng = np.random.default_rng(3)
    n = np.array([1.0, 4.0, 9.0, 1.0, 16.0])
    resid = rng.normal(0, 0.05, 5) / np.sqrt(n)
    dof = np.array([0.0, 3.0, 8.0, 0.0, 15.0])
    std2 = np.where(dof > 0, rng.uniform(0.02, 0.08, 5) ** 2, 0.0)
    data = ModelData(u=np.linspace(0, 1, 5), obs=resid, sqrt_seeds=np.sqrt(n), std2=std2,
                     std_dof=dof)
    alpha, beta = 1.5, 1e-3
    with jax.enable_x64(True):
        got = float(marginal(jnp.asarray(resid), data, alpha, beta))

    def joint_log(t):  # t = log sigma^2
        s2 = math.exp(t)
        lp = np.sum(stats.norm.logpdf(resid, 0.0, np.sqrt(s2 / n)))
        k = dof[dof > 0]
        lp += np.sum(stats.gamma.logpdf(std2[dof > 0], k / 2, scale=2 * s2 / k))
        lp += stats.invgamma.logpdf(s2, alpha, scale=beta) + t  # + log |d s2 / d t|
        return lp

    ts = np.linspace(-20, 5, 2001)
    peak = max(joint_log(t) for t in ts)
    val, _ = quad(lambda t: math.exp(joint_log(t) - peak), -30, 10, points=[float(ts[np.argmax(
        [joint_log(t) for t in ts])])], limit=200, epsabs=0, epsrel=1e-11)
    assert got == pytest.approx(peak + math.log(val), abs=1e-7)


def test_noise_draws_follow_the_conditional_inverse_gamma():
    draw_noise, noise_prior = likelihood_module.draw_noise, likelihood_module.noise_prior
    spec = load_spec("bnsl-1")
    alpha, beta = noise_prior(spec)
    n = np.array([1.0, 4.0, 1.0])
    resid = np.array([[0.02, -0.01, 0.03]])
    data = ModelData(u=np.linspace(0, 1, 3), obs=resid[0], sqrt_seeds=np.sqrt(n),
                     std2=np.array([0.0, 0.03**2, 0.0]), std_dof=np.array([0.0, 3.0, 0.0]))
    sig = draw_noise(np.repeat(resid, 20000, axis=0), data, spec, np.random.default_rng(0))
    assert sig.shape == (20000,)
    rss = 0.5 * np.sum(n * resid[0] ** 2) + 0.5 * 3.0 * 0.03**2
    count = 0.5 * 3 + 0.5 * 3.0
    ks = stats.kstest(sig**2, stats.invgamma(alpha + count, scale=beta + rss).cdf)
    assert ks.pvalue > 0.01


# ---------------------------------------------------------------------------- SortedIID
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_sorted_iid_samples_are_sorted(n):
    with jax.enable_x64(True):
        d = SortedIID(dist.Normal(0.5, 0.75), n)
        v = np.asarray(d.sample(jax.random.key(1), (20000,)))
    assert v.shape == (20000, n)
    assert np.all(np.diff(v, axis=-1) >= 0)
    assert d.event_shape == (n,) and d.batch_shape == ()
    # the smallest of n draws has cdf 1 - (1 - F)^n
    ks = stats.kstest(v[:, 0], lambda t: 1 - stats.norm.sf(t, 0.5, 0.75) ** n)
    assert ks.pvalue > 0.01
    ks = stats.kstest(v[:, -1], lambda t: stats.norm.cdf(t, 0.5, 0.75) ** n)
    assert ks.pvalue > 0.01


@pytest.mark.parametrize("n", [1, 2, 3])
def test_sorted_iid_log_prob_is_sum_plus_log_factorial(n):
    rng = np.random.default_rng(n)
    values = np.sort(rng.normal(0.5, 1.0, (50, n)), axis=-1)
    with jax.enable_x64(True):
        got = np.asarray(SortedIID(dist.Normal(0.5, 0.75), n).log_prob(jnp.asarray(values)))
    expected = stats.norm.logpdf(values, 0.5, 0.75).sum(-1) + math.log(math.factorial(n))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_sorted_iid_density_integrates_to_one():
    """n = 2 on the ordered half-plane, by the trapezoid rule."""
    g = np.linspace(-5.0, 6.0, 1101)
    v1, v2 = np.meshgrid(g, g, indexing="ij")
    with jax.enable_x64(True):
        lp = np.asarray(SortedIID(dist.Normal(0.5, 0.75), 2).log_prob(
            jnp.stack([jnp.asarray(v1), jnp.asarray(v2)], axis=-1)))
    dens = np.where(v1 < v2, np.exp(lp), 0.0)
    dens[v1 == v2] = 0.5 * np.exp(lp[v1 == v2])  # half the diagonal cell belongs to the region
    total = np.trapezoid(np.trapezoid(dens, g, axis=1), g)
    assert total == pytest.approx(1.0, abs=2e-3)


# ---------------------------------------------------------------------------- AsymptoteCoordinate
def _odds(w):
    with jax.enable_x64(True):
        return np.asarray(coordinates.odds(jnp.asarray(w)))


@pytest.mark.parametrize(("c1", "c0"), [(2.0, 3.0), (1.0, 1.0), (0.7, 4.0)])
def test_asymptote_coordinate_pushes_forward_to_the_base_prior(c1, c0):
    with jax.enable_x64(True):
        w = np.asarray(AsymptoteCoordinate(dist.Beta(c1, c0)).sample(jax.random.key(0), (20000,)))
    assert np.isfinite(w).all()
    o = _odds(w)
    r = o / (1.0 + o)
    ks = stats.kstest(r, stats.beta(c1, c0).cdf)
    assert ks.pvalue > 0.01


def test_asymptote_coordinate_sample_inverts_the_odds():
    """sample() maps r through the exact inverse of r(w) = o(w) / (1 + o(w))."""
    r = np.array([1e-6, 1e-3, 0.1, 0.5, 0.9, 0.999])

    class Fixed(dist.Beta):  # a "base" whose samples are the r above
        def sample(self, key, sample_shape=()):
            return jnp.asarray(r)

    with jax.enable_x64(True):
        w = np.asarray(AsymptoteCoordinate(Fixed(1.0, 1.0)).sample(jax.random.key(0)))
    o = _odds(w)
    np.testing.assert_allclose(o / (1 + o), r, rtol=1e-9)


@pytest.mark.parametrize(("c1", "c0"), [(2.0, 3.0), (1.0, 1.0), (3.0, 1.5)])
def test_asymptote_coordinate_log_prob_integrates_to_one(c1, c0):
    # the density decays like exp(k w) for w -> -inf and like w^-(2 + 2 c0) ... w^-2 for w -> inf
    w = np.concatenate([np.linspace(-8.0, 5.0, 130001)[:-1], np.geomspace(5.0, 1e8, 200001)])
    with jax.enable_x64(True):
        lp = np.asarray(AsymptoteCoordinate(dist.Beta(c1, c0)).log_prob(jnp.asarray(w)))
    assert np.isfinite(lp).all()
    total = np.trapezoid(np.exp(lp), w)
    assert total == pytest.approx(1.0, abs=2e-6 if c0 > 1 else 1e-5)


def test_asymptote_coordinate_log_prob_is_base_times_jacobian():
    """log p(w) = log base(r(w)) + log |dr/dw| (the Jacobian by autodiff)."""
    w = np.linspace(-1.0, 4.0, 11)
    with jax.enable_x64(True):
        base = dist.Beta(2.0, 3.0)  # (made under x64: its parameters are float64)
        def r_of(wi):
            o = coordinates.odds(wi)
            return o / (1.0 + o)

        drdw = np.asarray(jax.vmap(jax.grad(r_of))(jnp.asarray(w)))
        r = np.asarray(jax.vmap(r_of)(jnp.asarray(w)))
        got = np.asarray(AsymptoteCoordinate(base).log_prob(jnp.asarray(w)))
    expected = stats.beta.logpdf(r, 2.0, 3.0) + np.log(drdw)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- SMC's coordinates
@pytest.mark.parametrize("breaks", [1, 2, 3])
@pytest.mark.parametrize("space", ["log", "linear"])
def test_smc_coordinates_are_the_same_model(breaks, space):
    """SMC samples each slope change as the part in effect at the last fit point,
    h = s * end_share(v, g). At matching values (prior draws and hand-picked breaks far past
    the data, down to end_share's floor) the mean curve is the same, and the log joint
    differs from the default coordinates' by exactly the Jacobian -sum log end_share: the
    same prior and posterior in other coordinates."""
    spec = load_spec(f"bnsl-{breaks}")
    x = np.geomspace(10.0, 1000.0, 8)
    c = Curve.from_arrays(x, 2.0 * x**-0.3 * (1.0 + 0.01 * np.sin(x)), seeds=np.full(8, 3))
    data = ModelData.from_curve(c, Scaling.from_curve(c, space))
    latent, _ = _draws(breaks, space)
    smc_model = functools.partial(BNSLForm().model, smc=True)

    def both(p):
        k = end_share(p["break_location"], jnp.exp(p["log_sharpness"]), jnp)
        q = {key: v for key, v in p.items() if key != "slope_change"}
        q[END_SLOPE_SITE] = p["slope_change"] * k
        ld, _ = log_density(bnsl_model, (data, spec, space), {}, p)
        ld_smc, tr = log_density(smc_model, (data, spec, space), {}, q)
        return ld, ld_smc, jnp.sum(jnp.log(k)), tr["slope_change"]["value"], jnp.min(k)

    with jax.enable_x64(True):
        ld, ld_smc, log_k, s, k_min = (np.asarray(a) for a in jax.jit(jax.vmap(both))(
            {key: jnp.asarray(v) for key, v in latent.items()}))
    np.testing.assert_allclose(ld_smc, ld - log_k, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(s, latent["slope_change"], rtol=1e-12)
    checked_floor = bool(np.any(k_min < 2 * END_SHARE_FLOOR))
    assert checked_floor  # a hand-picked break sits where only the floor is left


def test_smc_model_draws_the_slope_change_from_its_prior():
    """Ancestral draws of the SMC coordinates give the slope change its own prior (the scaled
    prior of h, unscaled), independent of the break's location: a KS test against the spec's
    Student-t."""
    spec = load_spec("bnsl-1")
    z = np.zeros_like(U)
    data = ModelData(u=U, obs=z, sqrt_seeds=np.ones_like(U), std2=z, std_dof=z)
    prior = handlers.block(functools.partial(BNSLForm().model, smc=True), hide=["y"])
    with jax.enable_x64(True):
        out = Predictive(prior, num_samples=4000, return_sites=["slope_change",
                                                                "break_location"])(
            jax.random.key(0), data, spec, "log")
    s = np.asarray(out["slope_change"])[:, 0]
    v = np.asarray(out["break_location"])[:, 0]
    p = dict(spec.prior("slope_change").params)
    assert stats.kstest(s, stats.t(p["df"], p["loc"], p["scale"]).cdf).pvalue > 0.01
    # the same above and below the median location (h's scale depends on it, s's does not)
    far = v > np.median(v)
    assert stats.ks_2samp(s[far], s[~far]).pvalue > 0.01
