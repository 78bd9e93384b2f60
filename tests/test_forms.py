"""The baseline forms M1-M4 of the BNSL paper: laws, the M4 solver, their models, fits, compare.

Laws are checked at hand-computed points and against BNSL where they are special cases; the
M4 solver against ``scipy.optimize.brentq`` and its gradients against finite differences; each
form's map to user units against its own standardized mean (no sampling). The sampling tests
share one budget and one curve length (16 points, one compiled program per form) and recover
the parameters of a simulated curve of each form.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from contextlib import contextmanager

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budgets import FORMS as FAST
from numpyro import handlers
from numpyro.infer.util import log_density
from scipy.optimize import brentq

import bnsl_bayes as bb
from bnsl_bayes import forms as forms_module
from bnsl_bayes.cli import main
from bnsl_bayes.fitting import resolve_model
from bnsl_bayes.forms import FORMS, get_form
from bnsl_bayes.forms import base as model_module
from bnsl_bayes.law import bnsl, m1, m2, m3, m4, m4_log_b, m4_root
from bnsl_bayes.spec import SpecError, parse_spec
from bnsl_bayes.standardize import ModelData, Scaling

BASELINES = ["m1", "m2", "m3", "m4"]
X = np.geomspace(10.0, 1e4, 16)  # 16 points: the padded length 16, one program per form
TRUTH = {
    "m1": {"a": 5.0, "b": -0.3},
    "m2": {"a": 4.0, "b": -0.5, "c": 0.2},
    "m3": {"a": 6.0, "b": -0.7, "c": 0.1, "d": 200.0},
    "m4": {"alpha": 0.8, "b": 5.0, "c": -0.6, "eps_0": 2.5, "eps_inf": 0.1},
}
LAWS = {"m1": m1, "m2": m2, "m3": m3, "m4": m4}
NOISE = 0.01  # sd of log y per point


def _law(name: str, x, **params) -> np.ndarray:
    with jax.enable_x64(True):
        return np.asarray(LAWS[name](np.asarray(x, dtype=float), **params))


# ---------------------------------------------------------------------------- laws
def test_laws_at_hand_computed_points():
    with jax.enable_x64(True):
        assert float(m1(4.0, 3.0, 0.5)) == pytest.approx(6.0, rel=1e-15)
        assert float(m1(8.0, 2.0, -1.0 / 3.0)) == pytest.approx(1.0, rel=1e-15)
        assert float(m1(4.0, -3.0, 0.5)) == pytest.approx(-6.0, rel=1e-15)
        assert float(m2(9.0, 2.0, 0.5, 1.0)) == pytest.approx(7.0, rel=1e-15)
        assert float(m3(6.0, 2.0, -1.0, 0.5, 2.0)) == pytest.approx(0.75, rel=1e-15)
        assert float(m3(7.0, 1.0, 0.5, -1.0, 2.0)) == pytest.approx(2.0, rel=1e-15)
        # y / (2 - y) = 1 * 2^-1  ->  y = 2/3
        assert float(m4(2.0, 1.0, 1.0, -1.0, 2.0, 0.0)) == pytest.approx(2.0 / 3.0, rel=1e-14)
        # (y - 1) / (3 - y)^2 = 4: with z = 3 - y, 4 z^2 + z - 2 = 0
        z = (-1.0 + math.sqrt(33.0)) / 8.0
        assert float(m4(1.0, 2.0, 4.0, -2.0, 3.0, 1.0)) == pytest.approx(3.0 - z, rel=1e-14)
        # alpha = 0: the closed form eps_inf + b x^c
        assert float(m4(4.0, 0.0, 2.0, 0.5, 10.0, 1.0)) == pytest.approx(5.0, rel=1e-15)
        # outside the domain: NaN
        assert math.isnan(float(m4(4.0, 1.0, 2.0, 0.5, 1.0, 2.0)))
        assert math.isnan(float(m4(4.0, -1.0, 2.0, 0.5, 2.0, 1.0)))


def test_baselines_are_special_cases_of_bnsl():
    x = np.geomspace(1e-2, 1e6, 17)
    with jax.enable_x64(True):
        # M1 = BNSL-0 with a = 0; M2 = BNSL-0 (c = a, a = b, b = -c0)
        np.testing.assert_allclose(m1(x, 2.5, -0.4), bnsl(x, 0.0, 2.5, 0.4), rtol=1e-13)
        np.testing.assert_allclose(m2(x, 2.5, -0.4, 0.3), bnsl(x, 0.3, 2.5, 0.4), rtol=1e-13)
        # M3 = BNSL-1 with c0 = 0, f1 = 1: a (x + d)^b + c = c + a d^b (1 + x/d)^b
        a, b, c, d = 3.0, -0.8, 0.05, 40.0
        np.testing.assert_allclose(m3(x, a, b, c, d),
                                   bnsl(x, c, a * d**b, 0.0, [-b], [d], [1.0]), rtol=1e-12)


def _brentq_y(x, alpha, b, c, eps_0, eps_inf):
    """Reference: the root in y of log(y - eps_inf) - alpha log(eps_0 - y) = log(b x^c)."""
    rhs = math.log(b) + c * math.log(x)

    def g(y):
        return math.log(y - eps_inf) - alpha * math.log(eps_0 - y) - rhs

    lo, hi = np.nextafter(eps_inf, np.inf), np.nextafter(eps_0, -np.inf)
    if g(lo) >= 0:  # the root is closer to a limit than float64 resolves
        return eps_inf
    if g(hi) <= 0:
        return eps_0
    return brentq(g, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)


@pytest.mark.parametrize("alpha", [1e-3, 0.3, 1.0, 2.7, 40.0])
def test_m4_solver_matches_brentq(alpha):
    xs = np.geomspace(1e-3, 1e8, 12)
    for b, c, eps_0, eps_inf in [(5.0, -0.6, 2.5, 0.1), (0.02, 0.4, 1.0, -3.0),
                                 (1e3, -1.5, 10.0, 9.0), (1.0, 0.0, 7.0, 2.0)]:
        got = _law("m4", xs, alpha=alpha, b=b, c=c, eps_0=eps_0, eps_inf=eps_inf)
        ref = np.array([_brentq_y(x, alpha, b, c, eps_0, eps_inf) for x in xs])
        assert np.all((got >= eps_inf) & (got <= eps_0))
        # relative to the distance from the nearer limit: the part of y the equation decides
        dist = np.minimum(ref - eps_inf, eps_0 - ref)
        scale = np.maximum(dist, 1e-300)
        err = np.abs(got - ref)
        assert np.all((err <= 1e-10 * scale) | (err <= 1e-13 * np.abs(ref))), (b, c, err / scale)


def test_m4_root_matches_brentq_and_stays_finite():
    with jax.enable_x64(True):
        for alpha in (1e-6, 0.5, 1.0, 3.0, 1e4):
            for k in (-40.0, -2.0, 0.0, 0.7, 5.0, 60.0):
                s = float(m4_root(alpha, k))

                def h(v, a=alpha, kk=k):
                    return a * np.logaddexp(0, v) - np.logaddexp(0, -v) - kk

                if h(700.0) < 0:  # beyond the bound: y is eps_0 to float64 precision
                    assert s == 700.0
                    continue
                ref = brentq(h, -700.0, 700.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
                assert s == pytest.approx(ref, rel=1e-10, abs=1e-12), (alpha, k)
        # any finite input, including ones beyond what the solver resolves, gives finite values
        # and finite derivatives (what NUTS needs wherever a trajectory goes)
        grad = jax.grad(lambda a, k: m4_root(a, k), argnums=(0, 1))
        for alpha in (0.0, 1e-300, 1e-20, 1.0, 1e20, 1e300):
            for k in (-1e300, -1e3, 0.0, 1e3, 1e300):
                assert math.isfinite(float(m4_root(alpha, k))), (alpha, k)
                assert all(math.isfinite(float(g)) for g in grad(alpha, k)), (alpha, k)


def test_m4_gradients_match_finite_differences():
    args = np.array([0.8, math.log(5.0), -0.6, 2.5, 0.1])  # alpha, log b, c, eps_0, eps_inf
    xs = np.array([3.0, 10.0, 300.0, 1e4])

    def y(p, x):
        return m4_log_b(jnp.log(x), p[0], p[1], p[2], p[3], p[4])

    with jax.enable_x64(True):
        for x in xs:
            g = np.asarray(jax.grad(y)(jnp.asarray(args), x))
            jac = np.asarray(jax.jacfwd(y)(jnp.asarray(args), x))
            fd = np.zeros(5)
            for i in range(5):
                h = 1e-6 * max(1.0, abs(args[i]))
                up, down = args.copy(), args.copy()
                up[i] += h
                down[i] -= h
                fd[i] = (float(y(jnp.asarray(up), x)) - float(y(jnp.asarray(down), x))) / (2 * h)
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(jac, g, rtol=1e-12, atol=1e-15)


def test_point_fit_uses_the_package_solver():
    from bnsl_bayes.pointfit import predict_baseline

    xs = np.geomspace(1.0, 1e4, 5)
    got = predict_baseline("M4", {"a": 0.8, "b": 5.0, "c": -0.6, "eps_0": 2.5,
                                            "eps_inf": 0.1}, xs)
    np.testing.assert_allclose(got, _law("m4", xs, **TRUTH["m4"]), rtol=1e-14)


# ---------------------------------------------------------------------------- models
SCALINGS = [
    Scaling("log", math.log(10.0), math.log(1e3), 0.0, 0.7),
    Scaling("linear", math.log(1e6), math.log(50.0), -2.0, 3.0),
    Scaling("linear", math.log(1e-2), math.log(1e4), 0.4, 0.05),
]


@contextmanager
def _capture(captured: dict):
    """Record the residual obs - mean handed to the marginal likelihood by any form."""
    orig = model_module.marginal_log_likelihood

    def spy(resid, *args):
        captured["resid"] = resid
        return orig(resid, *args)

    model_module.marginal_log_likelihood = spy
    forms_module.marginal_log_likelihood = spy
    try:
        yield
    finally:
        model_module.marginal_log_likelihood = orig
        forms_module.marginal_log_likelihood = orig


@pytest.mark.parametrize("scaling", SCALINGS, ids=["log", "linear", "linear-small"])
@pytest.mark.parametrize("name", BASELINES)
def test_user_units_reproduce_the_standardized_mean(name, scaling):
    """For prior draws, the form's law in user units (at the parameters user_params reports)
    equals its mean curve on the standardized scale: the map to user units is exact."""
    spec = bb.load_spec(name)
    form = get_form(spec.form)
    x = np.exp(scaling.log_x0 + scaling.log_x_width * np.linspace(-0.3, 1.5, 9))
    u = scaling.u(x)
    z = np.zeros_like(u)
    zero = -scaling.y_shift / scaling.y_scale if scaling.space == "linear" else 0.0
    data = ModelData(u, z, np.ones_like(u), z, z, log_x_width=np.asarray(scaling.log_x_width),
                     y_zero=np.asarray(zero))
    with jax.enable_x64(True):
        for i in range(6):
            captured: dict = {}
            fn = handlers.seed(form.model, jax.random.key(i))
            with _capture(captured):
                tr = handlers.trace(fn).get_trace(data, spec, scaling.space)
            mean = -np.asarray(captured["resid"])
            latent = {k: np.asarray(s["value"]) for k, s in tr.items()
                      if s["type"] == "sample" and not s["is_observed"]}
            params = form.user_params(latent, scaling, spec)
            flat = {k: np.atleast_1d(v).reshape((1,) + np.shape(v)) for k, v in params.items()}
            mu = form.law(flat, x)[0]
            if scaling.space == "log":
                expected = np.log(mu / scaling.y_scale)
            else:
                expected = (mu - scaling.y_shift) / scaling.y_scale
            ok = np.isfinite(mean)
            assert ok.sum() >= 5
            np.testing.assert_allclose(expected[ok], mean[ok], rtol=1e-8, atol=1e-9,
                                       err_msg=f"{name} draw {i}: {params}")
            assert set(form.params) <= set(params)


def test_m4_model_gradient_is_finite_at_extreme_values():
    spec = bb.load_spec("m4")
    u = np.linspace(0.0, 1.0, 8)
    z = np.zeros_like(u)
    data = ModelData(u, np.linspace(0.5, -0.5, 8), np.ones_like(u), z, z)
    form = get_form("m4")
    for space, floor_site in (("log", "asymptote"), ("linear", "log_height")):
        for vals in ([0.0, 0.0, 0.0, 0.0, 0.0], [5.0, 60.0, -60.0, 80.0, 30.0],
                     [-5.0, -60.0, 60.0, -80.0, -30.0], [0.0, 60.0, 60.0, -80.0, 30.0],
                     [0.0, -60.0, -60.0, 80.0, -30.0]):
            level, s0, gap, log_alpha, w = vals
            params = {"level": level, "slope0": s0, "log_ceiling_gap": gap,
                      "log_alpha": log_alpha, floor_site: w}
            with jax.enable_x64(True):
                params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}

                def ld(p, space=space):
                    return log_density(form.model, (data, spec, space), {}, p)[0]
                value = float(ld(params))
                grads = jax.grad(ld)(params)
            assert not math.isnan(value), (space, vals)
            assert all(math.isfinite(float(g)) for g in grads.values()), (space, vals, grads)


# ---------------------------------------------------------------------------- specs
def test_bundled_baselines():
    for name, n_params, breaks in (("m1", 2, 0), ("m2", 3, 0), ("m3", 4, 1), ("m4", 5, 0)):
        spec = bb.load_spec(name)
        assert (spec.form, spec.n_law_params, spec.breaks) == (name, n_params, breaks)
        assert spec.description
        assert parse_spec(spec.to_toml()) == spec
    # M2 is BNSL-0's law: it samples the same sites with the same priors (so equal elpd_loo)
    assert bb.load_spec("m2").priors == bb.load_spec("bnsl-0").priors
    assert set(BASELINES) <= set(bb.available_models())


def test_models_command_lists_the_baselines(capsys):
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    for name in BASELINES:
        assert name in listed and listed[name].startswith("Baseline M")


def _m1_text(**changes) -> str:
    raw = bb.load_spec("m1").to_toml()
    for old, new in changes.items():
        raw = raw.replace(old, new)
    return raw


def test_spec_errors():
    with pytest.raises(SpecError, match=r"'form' must be one of \['bnsl', 'm1', 'm2', 'm3', "
                                        r"'m4'\], got 'm5'"):
        parse_spec(_m1_text(**{'form = "m1"': 'form = "m5"'}))
    with pytest.raises(SpecError, match=r"form 'm1' .* fixed shape with 0 break\(s\); "
                                        r"'breaks' must be 0 or left out, got 2"):
        parse_spec(_m1_text(**{"breaks = 0": "breaks = 2"}))
    assert parse_spec(_m1_text(**{"breaks = 0\n": ""})) == bb.load_spec("m1")
    with pytest.raises(SpecError, match=r"unknown prior site\(s\) \['log_sharpness'\] for form "
                                        r"'m1'"):
        parse_spec(_m1_text(**{"[priors]": '[priors]\nlog_sharpness = { dist = "Normal", '
                                           'loc = 0.0, scale = 1.0 }'}))
    m4_text = "\n".join(line for line in bb.load_spec("m4").to_toml().splitlines()
                        if not line.startswith("log_alpha"))
    with pytest.raises(SpecError, match=r"missing prior\(s\) \['log_alpha'\]"):
        parse_spec(m4_text)
    with pytest.raises(SpecError, match=r"prior 'log_alpha' needs a distribution on the real"):
        parse_spec(bb.load_spec("m4").to_toml().replace(
            'log_alpha = { dist = "Normal", loc = 0.0, scale = 1.5 }',
            'log_alpha = { dist = "HalfNormal", scale = 1.5 }'))
    for breaks in (0, 1):
        with pytest.raises(SpecError, match=r"breaks = .* with model 'm3'.* fixed shape; leave "
                                            r"breaks out"):
            resolve_model(breaks, "m3")
    curve = bb.Curve.from_arrays(X, np.linspace(2.0, 1.0, X.size))
    with pytest.raises(SpecError, match="leave breaks out"):
        bb.fit(curve, breaks=0, model="m2")
    with pytest.raises(bb.DataError, match=r"'m4', which has 5 parameters"):
        bb.fit(bb.Curve.from_arrays(X[:4], np.linspace(2.0, 1.0, 4)), model="m4")
    # M1 in linear space is anchored at the last fit point, which must not be 0
    with pytest.raises(bb.DataError, match=r"y = a x\^b.* cannot pass through 0"):
        bb.fit(bb.Curve.from_arrays(X, np.linspace(2.0, 0.0, X.size)), model="m1",
               space="linear")
    with pytest.raises(SpecError, match="unknown model 'm5'"):
        bb.compare(curve, models=["m1", "m5"])


# ---------------------------------------------------------------------------- sampling
def _curve(name: str) -> tuple[bb.Curve, np.ndarray]:
    mu = _law(name, X, **TRUTH[name])
    rng = np.random.default_rng(7)
    y = mu * np.exp(NOISE * rng.standard_normal(X.size))
    return bb.Curve.from_arrays(X, y, name=f"simulated-{name}"), mu


def _within(truth: float, lo: float, hi: float) -> bool:
    """truth inside the 99% interval, give or take a quarter of its width: 400 draws put only
    two beyond each end, so the ends themselves are Monte Carlo estimates."""
    slack = 0.25 * (hi - lo)
    return lo - slack <= truth <= hi + slack


@pytest.fixture(scope="module")
def fits() -> dict[str, bb.Fit]:
    return {name: bb.fit(_curve(name)[0], model=name, seed=1, **FAST) for name in BASELINES}


@pytest.mark.parametrize("name", BASELINES)
def test_recovers_simulated_parameters(fits, name):
    fit = fits[name]
    print(fit.report(prob=0.99))
    assert fit.spec.form == name and fit.space == "log"
    table = fit.parameters(prob=0.99)
    assert list(table.index) == list(TRUTH[name]) + ["sigma"]
    assert np.all(np.isfinite(table.to_numpy()))
    for param, truth in [*TRUTH[name].items(), ("sigma", NOISE)]:
        assert _within(truth, table.loc[param, "lo"], table.loc[param, "hi"]), \
            (param, truth, table.loc[param].to_dict())
    for group in ("posterior", "log_likelihood", "posterior_predictive"):
        for var in fit.data[group].data_vars.values():
            assert np.all(np.isfinite(var.values)), (group, var.name)
    # the mean curve at the fit points: within a few noise sd of the truth
    band = fit.predict(X, prob=0.99)
    mu = _curve(name)[1]
    assert np.all(np.abs(np.log(band["median"] / mu)) < 3 * NOISE)
    assert fit.diagnostics()["divergences"] == 0
    assert f"model {name} (" in fit.report()


def test_m2_is_bnsl0_renamed_and_compare_ranks_the_forms(fits):
    curve = _curve("m2")[0]
    # a bnsl form with no break and M2's priors (the bundled bnsl-0 may choose other priors)
    bnsl0 = dataclasses.replace(bb.load_spec("m2"), name="bnsl-0", form="bnsl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bb.SamplingWarning)
        cmp = bb.compare(curve, models=["m1", "m2", bnsl0], seed=1, **FAST)
    table = cmp.table
    assert set(table.index) == {"m1", "m2", "bnsl-0"}
    assert sorted(table["rank"]) == [0, 1, 2]
    ok = table["eligible"]  # converged (bnsl_bayes.loo): only they are weighted
    assert table["weight"].sum() == pytest.approx(1.0 if ok.any() else 0.0)
    # a pure power law cannot bend to the asymptote of the M2 curve
    assert table.loc["m1", "rank"] == 2
    assert table.loc["m1", "d_loo"] < -10
    # M2 and BNSL-0 are one model: the same draws, parameters renamed, the same elpd
    m2_fit, b0 = cmp.fits["m2"], cmp.fits["bnsl-0"]
    np.testing.assert_array_equal(m2_fit.data.posterior["b"].values,
                                  -b0.data.posterior["c0"].values)
    np.testing.assert_array_equal(m2_fit.data.posterior["c"].values,
                                  b0.data.posterior["a"].values)
    np.testing.assert_allclose(m2_fit.data.posterior["a"].values,
                               b0.data.posterior["b"].values, rtol=1e-14)
    assert table.loc["m2", "elpd_loo"] == pytest.approx(table.loc["bnsl-0", "elpd_loo"],
                                                        abs=1e-8)
    # the m2 fit inside compare is the same as the one fitted alone
    np.testing.assert_array_equal(m2_fit.data.posterior["a"].values,
                                  fits["m2"].data.posterior["a"].values)
    best = json.loads(json.dumps(cmp.to_dict()))["best"]
    assert best == (table.index[0] if ok.iloc[0] else None) and best != "m1"


def test_fit_many_of_a_baseline_equals_fit(fits):
    """Forms with per-curve scalars (M1, M3) keep them through padding and batching."""
    curve = _curve("m3")[0]
    shorter = bb.Curve.from_arrays(curve.x[:13], curve.y[:13], name="shorter")
    many = bb.fit_many([shorter, curve], model="m3", seed=0, **FAST)
    for k in ("a", "b", "c", "d", "sigma"):
        np.testing.assert_array_equal(many[1].data.posterior[k].values,
                                      fits["m3"].data.posterior[k].values, err_msg=k)
    assert np.all(np.isfinite(many[0].parameters().to_numpy()))


@pytest.mark.parametrize("name", ["m3", "m4"])
def test_save_load_round_trip(fits, name, tmp_path):
    fit = fits[name]
    path = fit.save(tmp_path / f"{name}.nc")
    again = bb.load(path)
    assert again.spec == fit.spec and again.form is fit.form
    xs = [5.0, 300.0, 1e5]
    np.testing.assert_array_equal(again.predict(xs, seeds=4).to_numpy(),
                                  fit.predict(xs, seeds=4).to_numpy())
    np.testing.assert_array_equal(again.parameters().to_numpy(), fit.parameters().to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(again.data, var_name="y")
    assert math.isfinite(float(loo.elpd))


def test_plots_of_a_baseline_fit(fits):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from bnsl_bayes.plot import plot_trace

    fig = fits["m4"].plot()
    assert "m4" in fig.axes[0].get_title()
    plt.close(fig)
    fig = plot_trace(fits["m3"])
    plt.close(fig)


@pytest.mark.slow  # one more compiled program per form (about a minute each on 2 cores)
@pytest.mark.parametrize("name", BASELINES)
def test_recovers_parameters_in_linear_space(name):
    mu = _law(name, X, **TRUTH[name])
    rng = np.random.default_rng(11)
    sd = 0.01 * float(np.ptp(mu))
    curve = bb.Curve.from_arrays(X, mu + sd * rng.standard_normal(X.size))
    fit = bb.fit(curve, model=name, space="linear", seed=2, **FAST)
    table = fit.parameters(prob=0.99)
    assert np.all(np.isfinite(table.to_numpy()))
    for param, truth in [*TRUTH[name].items(), ("sigma", sd)]:
        assert _within(truth, table.loc[param, "lo"], table.loc[param, "hi"]), param


def test_every_form_is_registered():
    assert list(FORMS) == ["bnsl"] + BASELINES
    with pytest.raises(ValueError, match=r"unknown form 'm9'; expected one of"):
        get_form("m9")


@pytest.mark.parametrize("m", [0, 1, 16, 17, 1500])
def test_host_law_padding_does_not_change_values(m):
    """Fit building and predictions evaluate the law padded to a bucket length: the values at
    the real points are those of the law itself, for any number of points."""
    draws = {"a": np.array([0.41, 0.0]), "log_b": np.log([2.28, 3.0]),
             "c0": np.array([0.055, 0.3]), "c": np.array([[5.66], [-0.5]]),
             "d": np.array([[612.6], [1e3]]), "f": np.array([[0.059], [1.5]])}
    x = np.geomspace(1.0, 1e9, m)
    mu = bb.bands.curve_draws(draws, x)
    assert mu.shape == (2, m)
    with jax.enable_x64(True):
        for i in range(2):
            ref = np.asarray(bb.bnsl(x, draws["a"][i], np.exp(draws["log_b"][i]),
                                     draws["c0"][i], draws["c"][i], draws["d"][i],
                                     draws["f"][i]))
            np.testing.assert_allclose(mu[i], ref, rtol=1e-13, atol=0)
