"""The slope error past the data (bnsl_bayes.discrepancy): zero on the fit range, drawn from its
prior, and widening the bands past the last fit point only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from budgets import SMALL
from scipy import stats

import bnsl_bayes as bb
from bnsl_bayes.discrepancy import SITE, draw_slopes, offset, point_noise_factor, u_past
from bnsl_bayes.priors import Prior
from bnsl_bayes.spec import SpecError, parse_spec


def test_offset_is_zero_on_the_fit_range_and_linear_past_it():
    x = np.array([10.0, 100.0, 1000.0, 10_000.0, 100_000.0])
    past = u_past(x, log_x_last=np.log(1000.0), log_x_width=np.log(100.0))
    np.testing.assert_array_equal(past[:3], 0.0)
    np.testing.assert_allclose(past[3:], [0.5, 1.0], rtol=1e-15)
    delta = offset(np.array([2.0, -1.0]), np.array([0.1, 0.2]), 3.0, past)
    np.testing.assert_allclose(delta, [[0, 0, 0, 0.3, 0.6], [0, 0, 0, -0.3, -0.6]], atol=1e-15)
    assert point_noise_factor(np.array([1.0, 4.0])) == pytest.approx(np.sqrt((1 + 0.25) / 2))


@pytest.mark.parametrize("prior, dist", [
    (Prior("StudentT", (("df", 3.0), ("loc", 0.0), ("scale", 30.0))), stats.t(3, 0, 30)),
    (Prior("Normal", (("loc", 1.0), ("scale", 2.0))), stats.norm(1, 2)),
    (Prior("Cauchy", (("loc", 0.0), ("scale", 5.0))), stats.cauchy(0, 5)),
])
def test_slopes_are_drawn_from_the_prior(prior, dist):
    draws = draw_slopes(prior, 20_000, np.random.default_rng(0))
    assert stats.kstest(draws, dist.cdf).pvalue > 1e-3


def test_the_site_is_optional_in_a_model_file():
    with_site = bb.load_spec("bnsl-1")
    assert with_site.has_prior(SITE)
    text = "\n".join(line for line in with_site.to_toml().splitlines()
                     if not line.startswith(SITE))
    without = parse_spec(text)
    assert not without.has_prior(SITE) and without.n_law_params == with_site.n_law_params
    with pytest.raises(SpecError, match="extrapolation_slope"):
        parse_spec(text + f'\n{SITE} = {{ dist = "HalfNormal", scale = 1.0 }}\n')


@pytest.fixture(scope="module")
def pair():
    """The same fit with the bundled model and with the model less the slope error."""
    curve = bb.datasets.load("four_digit_addition")
    spec = bb.load_spec("bnsl-1")
    plain = dataclasses.replace(spec, name="bnsl-1-plain",
                                priors=tuple(p for p in spec.priors if p[0] != SITE))
    return (bb.fit(curve, model=spec, seed=2, **SMALL),
            bb.fit(curve, model=plain, seed=2, **SMALL))


def test_the_law_is_sampled_as_without_it_and_bands_widen_past_the_data_only(pair):
    full, plain = pair
    post_full, post_plain = full.data["posterior"], plain.data["posterior"]
    assert SITE in post_full and SITE not in post_plain
    for name in ("a", "b", "c0", "c", "d", "f", "sigma"):
        np.testing.assert_array_equal(post_full[name].values, post_plain[name].values)
    last = float(full.curve.x[full.curve.fit_mask].max())
    inside = np.geomspace(200.0, last, 20)
    a, b = full.predict(inside), plain.predict(inside)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    past = np.array([1.5, 3.0, 10.0]) * last
    a, b = full.predict(past), plain.predict(past)
    width_full = np.log(a["pred_hi"] / a["pred_lo"]).to_numpy()
    width_plain = np.log(b["pred_hi"] / b["pred_lo"]).to_numpy()
    assert np.all(width_full > width_plain)
    assert np.all(np.diff(width_full - width_plain) > 0)  # the gap grows with the distance


@pytest.mark.parametrize("space", ["log", "linear"])
def test_far_past_a_noisy_curve_the_bands_stay_finite_and_ordered(space):
    """A narrow, noisy fit range puts x far past the data at a hundred fit-range widths, where
    a Student-t slope error times that distance exceeds float64's exp: clipped, never inf or
    nan (warnings are errors here), in both noise spaces."""
    rng = np.random.default_rng(4)
    x = np.geomspace(100.0, 200.0, 8)
    y = 2.0 * x**-0.3 * np.exp(0.3 * rng.standard_normal(x.size))
    if space == "linear":
        y = y - 0.2  # some values below 0: the linear space
    fit = bb.fit(x, y, breaks=0, space=space, seed=0, **SMALL)
    table = fit.predict([150.0, 400.0, 200.0 * 1e40])
    assert np.isfinite(table.drop(columns="x").to_numpy()).all(), table
    for lo, hi in (("pred_lo", "mean_lo"), ("mean_lo", "median"), ("median", "mean_hi"),
                   ("mean_hi", "pred_hi")):
        assert (table[lo] <= table[hi]).all(), (lo, hi, table)
    lpd = fit.log_predictive_density([400.0], [float(y[-1])])
    assert np.isfinite(lpd).all()
