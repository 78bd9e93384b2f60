"""The law ``bnsl`` against its direct formula, at known points and at numerical extremes.

The reference is the direct formula ``a + b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)``
evaluated literally with the standard library's ``decimal`` at 40 significant digits and an
unbounded exponent range, so it neither rounds nor overflows where float64 does. Comparisons are
made wherever the value is representable in float64; elsewhere ``bnsl`` must give the float64
limit (inf or ``a``), never NaN.
"""

from __future__ import annotations

import math
from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnsl_bayes import bnsl
from bnsl_bayes.law import bnsl_log_power

RTOL = 1e-10
LOG_MAX = 700.0  # |log P| below this: P is a normal float64 and must match the reference

# The 1-break law of the paper's 4-digit-addition task (../shared/data/README.md).
FOUR_DIGIT = {
    "a": 0.41388453071629455,
    "b": 2.2772722897737556,
    "c0": 0.055077348404973955,
    "c": [5.662903816010331],
    "d": [612.5836172918001],
    "f": [0.059193036393742314],
}


# ---------------------------------------------------------------------------- references
def _direct_decimal(x, b, c0, c, d, f) -> Decimal:
    """Power part b x^-c0 prod (1 + (x/d)^(1/f))^(-c f), literally, in 40-digit decimal."""
    with localcontext() as ctx:
        ctx.prec = 40
        ctx.Emax = MAX_EMAX
        ctx.Emin = MIN_EMIN
        xd = Decimal(float(x))
        p = Decimal(float(b)) * xd ** (-Decimal(float(c0)))
        for ci, di, fi in zip(c, d, f, strict=True):
            fd = Decimal(float(fi))
            p *= (1 + (xd / Decimal(float(di))) ** (1 / fd)) ** (-Decimal(float(ci)) * fd)
        return +p


def _direct_numpy(x, a, b, c0, c, d, f) -> np.ndarray:
    """The direct formula in numpy float64 (overflows where ``bnsl`` must not)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        y = b * x ** (-c0)
        for ci, di, fi in zip(c, d, f, strict=True):
            y = y * (1.0 + (x / di) ** (1.0 / fi)) ** (-ci * fi)
        return a + y


def _log_power_numpy(x, b, c0, c, d, f) -> np.ndarray:
    """Log of the power part, by numpy's logaddexp (independent of the package's code)."""
    lx = np.log(np.asarray(x, dtype=float))
    out = np.log(b) - c0 * lx
    for ci, di, fi in zip(c, d, f, strict=True):
        out = out - ci * fi * np.logaddexp(0.0, (lx - np.log(di)) / fi)
    return out


_bnsl_jit = jax.jit(bnsl)
_grad_jit = jax.jit(jax.vmap(jax.grad(bnsl, argnums=(1, 2, 3, 4, 5, 6)),
                             in_axes=(0, None, None, None, None, None, None)))


def _f64(*args):
    return [jnp.asarray(v, dtype=jnp.float64) for v in args]


def _padded(x) -> tuple[np.ndarray, int]:
    """x padded with ones to a power-of-two length, so few shapes get compiled."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    size = 1 << max(len(x) - 1, 0).bit_length()
    return np.concatenate([x, np.ones(size - len(x))]), len(x)


def _eval(x, a, b, c0, c=(), d=(), f=()) -> np.ndarray:
    """bnsl in float64 (jitted, so many calls of one shape compile once)."""
    xp, m = _padded(x)
    with jax.enable_x64(True):
        return np.asarray(_bnsl_jit(*_f64(xp, a, b, c0, c, d, f)))[:m]


def _random_params(rng: np.random.Generator, n: int, big: bool) -> dict:
    lim = 20.0 if big else 3.0
    return {
        "a": float(rng.uniform(0.0, 5.0)),
        "b": float(10 ** rng.uniform(-3, 3)),
        "c0": float(rng.uniform(-lim, lim)),
        "c": rng.uniform(-lim, lim, n),
        "d": np.sort(10 ** rng.uniform(-6, 30, n)),
        "f": 10 ** rng.uniform(-4, 1, n),
    }


# ---------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize("big", [False, True], ids=["moderate_c", "large_c"])
def test_matches_direct_formula(n, big):
    rng = np.random.default_rng([n, int(big), 2023])
    compared = total = 0
    for _ in range(20):
        p = _random_params(rng, n, big)
        # x spread over the whole range, plus points at and around each break
        x = np.concatenate([10 ** rng.uniform(-6, 30, 8), p["d"], p["d"] * 1.001,
                            p["d"] * np.exp(p["f"])])
        x = x[(x >= 1e-6) & (x <= 1e30)]
        y = _eval(x, **p)
        assert not np.isnan(y).any()
        for xi, yi in zip(x, y, strict=True):
            total += 1
            ref_p = _direct_decimal(xi, p["b"], p["c0"], p["c"], p["d"], p["f"])
            log_p = float(ref_p.ln())
            if -708.0 < log_p < 709.7:  # P is a normal float64 number
                compared += 1
                ref = float(Decimal(p["a"]) + ref_p)
                assert yi == pytest.approx(ref, rel=RTOL, abs=0.0), (xi, p)
            elif log_p > 709.8:
                assert yi == np.inf, (xi, p)  # the true value is beyond float64
            elif log_p < -708.0:
                assert yi == pytest.approx(p["a"], rel=1e-15, abs=1e-300), (xi, p)
    # not vacuous: most points must have been compared
    assert compared >= (0.9 if not big else 0.3) * total


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_matches_direct_numpy_formula_where_finite(n):
    """Also against the plain float64 formula, wherever that formula is finite and nonzero."""
    rng = np.random.default_rng([n, 7])
    checked = 0
    for _ in range(50):
        p = _random_params(rng, n, big=False)
        p["f"] = 10 ** rng.uniform(-1, 1, n)  # the float64 formula is accurate here
        x = 10 ** rng.uniform(-6, 30, 20)
        y = _eval(x, **p)
        direct = _direct_numpy(x, **p)
        ok = np.isfinite(direct) & (direct - p["a"] > 1e-290) & (direct - p["a"] < 1e290)
        np.testing.assert_allclose(y[ok], direct[ok], rtol=1e-10, atol=0)
        checked += int(ok.sum())
    assert checked > 500


def test_decimal_reference_agrees_with_numpy():
    """The reference itself: at benign parameters it equals the float64 formula to rounding."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        p = {"a": 0.0, "b": 1.7, "c0": 0.3, "c": rng.uniform(-1, 1, 2),
             "d": np.array([10.0, 1000.0]), "f": rng.uniform(0.3, 2.0, 2)}
        x = 10 ** rng.uniform(0, 4)
        ref = float(_direct_decimal(x, p["b"], p["c0"], p["c"], p["d"], p["f"]))
        assert ref == pytest.approx(float(_direct_numpy(x, **p)), rel=1e-13)


def test_negative_asymptote_matches_up_to_cancellation():
    """a < 0 (rewards, Elo): error relative to |a| + b x^-c0 ... (what a + P can resolve)."""
    rng = np.random.default_rng(5)
    for n in range(4):
        for _ in range(10):
            p = _random_params(rng, n, big=False)
            p["a"] = -float(rng.uniform(0, 10))
            x = 10 ** rng.uniform(-6, 30, 10)
            y = _eval(x, **p)
            for xi, yi in zip(x, y, strict=True):
                ref_p = _direct_decimal(xi, p["b"], p["c0"], p["c"], p["d"], p["f"])
                if abs(float(ref_p.ln())) < LOG_MAX:
                    ref = float(Decimal(p["a"]) + ref_p)
                    assert abs(yi - ref) <= RTOL * (abs(p["a"]) + float(ref_p))


# ---------------------------------------------------------------------------- known values
def test_power_law_at_one_is_a_plus_b():
    for a, b, c0 in [(0.0, 2.0, 0.5), (0.41, 2.27, 0.055), (-3.0, 7.5, -1.2), (1.0, 1e-3, 20.0)]:
        assert _eval([1.0], a, b, c0)[0] == pytest.approx(a + b, rel=1e-15)


def test_power_law_exact():
    x = np.geomspace(1e-6, 1e30, 37)
    y = _eval(x, 0.0, 3.0, 0.25)
    np.testing.assert_allclose(y, 3.0 * x ** -0.25, rtol=1e-13)


@pytest.mark.parametrize("f", [1e-4, 0.01, 0.059193036393742314, 0.5, 1.0, 10.0])
@pytest.mark.parametrize("c", [-20.0, -1.5, 0.0, 0.7, 5.66, 20.0])
def test_at_the_break_the_factor_is_two_to_minus_cf(c, f):
    a, b, c0, d = 0.4, 2.3, 0.3, 612.0
    expected = a + b * d ** -c0 * 2.0 ** (-c * f)
    assert _eval([d], a, b, c0, [c], [d], [f])[0] == pytest.approx(expected, rel=1e-13)


def test_each_break_contributes_its_factor_at_its_location():
    """Two well-separated sharp breaks: at d_2 the first has fully turned, the second is halfway."""
    a, b, c0 = 0.0, 1.0, 0.5
    c, d, f = [1.0, 2.0], [10.0, 1e6], [1e-3, 0.2]
    x = d[1]
    expected = b * x**-c0 * (x / d[0]) ** -c[0] * 2.0 ** (-c[1] * f[1])
    assert _eval([x], a, b, c0, c, d, f)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("c", [-20.0, -3.0, 2.0, 20.0])
def test_sharp_break_limit(c):
    """f = 1e-4: exactly one power law before the break and the other after it."""
    a, b, c0, d, f = 0.1, 2.0, 0.4, 1e3, 1e-4
    below = np.array([d / 2, d / 10, 1e-6])
    above = np.array([2 * d, 10 * d, 1e12])
    np.testing.assert_allclose(_eval(below, a, b, c0, [c], [d], [f]), a + b * below**-c0,
                               rtol=1e-13)
    np.testing.assert_allclose(_eval(above, a, b, c0, [c], [d], [f]),
                               a + b * above**-c0 * (above / d) ** -c, rtol=1e-12)


def test_no_breaks_forms_are_equivalent():
    """n = 0 written with empty lists, empty arrays or left out entirely."""
    x = np.geomspace(1.0, 1e6, 7)
    ref = _eval(x, 0.2, 3.0, 0.3)
    with jax.enable_x64(True):
        for args in ([(), (), ()], [[], [], []], [np.zeros(0)] * 3):
            np.testing.assert_allclose(np.asarray(bnsl(x, 0.2, 3.0, 0.3, *args)), ref,
                                       rtol=1e-15)


def test_zero_slope_change_is_no_break():
    x = np.geomspace(1e-3, 1e9, 13)
    np.testing.assert_allclose(_eval(x, 0.5, 2.0, 0.3, [0.0, 0.0], [1.0, 1e4], [0.01, 3.0]),
                               _eval(x, 0.5, 2.0, 0.3), rtol=1e-15)


def test_shape_and_dtype():
    with jax.enable_x64(True):
        assert bnsl(1.0, 0.0, 2.0, 0.5).shape == ()
        x = np.ones((3, 4)) * 7.0
        y = bnsl(x, 0.1, 2.0, 0.5, [1.0], [3.0], [0.2])
        assert y.shape == (3, 4) and y.dtype == jnp.float64
        yi = bnsl(np.array([1, 2, 3]), 0.0, 2.0, 0.5)  # integer x is promoted to float
        np.testing.assert_allclose(np.asarray(yi), 2.0 * np.array([1, 2, 3]) ** -0.5, rtol=1e-15)
        lp = bnsl_log_power(jnp.log(x), jnp.log(2.0), 0.5, [1.0], [jnp.log(3.0)], [0.2])
        np.testing.assert_allclose(np.exp(np.asarray(lp)), np.asarray(y) - 0.1, rtol=1e-14)


def test_four_digit_addition_truth_gives_the_papers_curve():
    """The paper's fitted law passes through the data (first point x = 160: y = 2.138)."""
    y = _eval([160.0, 928.0, 1e9], **FOUR_DIGIT)
    assert y[0] == pytest.approx(2.13809046, rel=0.01)
    assert y[1] < 0.7  # the curve has dropped after the break (data: 0.557 at x = 928)
    assert y[2] == pytest.approx(FOUR_DIGIT["a"], rel=1e-6)  # tends to a


# ---------------------------------------------------------------------------- extremes
EXTREMES = [
    # (x, a, b, c0, c, d, f): the plain float64 formula overflows (inf/inf or 0 * inf) here
    (1e30, 0.4, 2.3, 0.05, [5.66], [612.0], [1e-4]),
    (12.5 * 612.0, 0.4, 2.3, 0.05, [5.66], [612.0], [1e-4]),
    (1e-6, 0.4, 2.3, 0.05, [-5.66], [612.0], [1e-4]),
    (1e30, 0.0, 1.0, -20.0, [20.0], [1e-6], [1e-4]),
    (1e30, 0.0, 1.0, 20.0, [-20.0], [1e-6], [1e-4]),
    (1e30, 1.0, 1.0, 0.5, [20.0, -20.0, 5.0], [1.0, 1e10, 1e20], [1e-4, 1e-4, 1e-4]),
    (1e-6, 1.0, 1.0, 0.5, [20.0, -20.0, 20.0], [1e-6, 1e-5, 1e30], [1e-4, 10.0, 1e-4]),
    (1e20, 0.0, 1e3, 3.0, [-20.0, 19.0], [1e15, 1e25], [1e-4, 1e-4]),
    (7.5e6, 0.5, 1.0, 1.0, [-2.0], [7.5e6 * (1 + 1e-9)], [1e-4]),
]


@pytest.mark.parametrize("case", EXTREMES)
def test_finite_where_the_direct_formula_overflows(case):
    x, a, b, c0, c, d, f = case
    ref_p = _direct_decimal(x, b, c0, c, d, f)
    assert abs(float(ref_p.ln())) < LOG_MAX  # the true value is an ordinary float64 number
    y = _eval([x], a, b, c0, c, d, f)[0]
    assert math.isfinite(y)
    assert y == pytest.approx(float(Decimal(a) + ref_p), rel=RTOL)


def test_direct_float64_formula_really_overflows_somewhere_in_extremes():
    """Guard: the cases above do exercise the overflow of the plain formula."""
    bad = [not np.isfinite(_direct_numpy([x], a, b, c0, c, d, f)[0])
           or not np.isclose(_direct_numpy([x], a, b, c0, c, d, f)[0],
                             float(Decimal(a) + _direct_decimal(x, b, c0, c, d, f)), rtol=1e-6)
           for x, a, b, c0, c, d, f in EXTREMES]
    assert sum(bad) >= 5


def test_float32_sharp_break_stays_finite():
    """The issue's case: float32, f < 0.03 at x/d = 12.5 (the plain formula gives y = 0, NaN)."""
    x = jnp.asarray([612.0 * 12.5, 612.0 * 0.5, 1e30], dtype=jnp.float32)
    for f in (0.03, 0.01, 1e-3, 1e-4):
        y = bnsl(x, 0.41, 2.28, 0.055, jnp.asarray([5.66]), jnp.asarray([612.0]),
                 jnp.asarray([f]))
        assert y.dtype == jnp.float32
        assert np.isfinite(np.asarray(y)).all()
        ref = _eval(np.asarray(x, dtype=float), 0.41, 2.28, 0.055, [5.66], [612.0], [f])
        np.testing.assert_allclose(np.asarray(y, dtype=float), ref, rtol=1e-4)
        g = jax.grad(lambda ff: jnp.sum(bnsl(x, 0.41, 2.28, 0.055, jnp.asarray([5.66]),  # noqa: B023
                                             jnp.asarray([612.0]), ff)))(jnp.asarray([f]))
        assert np.isfinite(np.asarray(g)).all()


# ---------------------------------------------------------------------------- gradients
def _grads(x, a, b, c0, c, d, f):
    """d y / d (a, b, c0, c, d, f) at each x, float64."""
    xp, m = _padded(x)
    with jax.enable_x64(True):
        return [np.asarray(v)[:m] for v in _grad_jit(*_f64(xp, a, b, c0, c, d, f))]


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_gradients_finite_where_value_finite(n):
    rng = np.random.default_rng([n, 99])
    checked = 0
    for big in (False, True):
        for _ in range(25):
            p = _random_params(rng, n, big)
            x = np.concatenate([10 ** rng.uniform(-6, 30, 10), p["d"]])
            lp = _log_power_numpy(x, p["b"], p["c0"], p["c"], p["d"], p["f"])
            grads = _grads(x, **p)
            ok = lp < 600  # value and its derivatives (P times polynomial factors) are finite
            for g in grads:
                g = g.reshape(len(x), -1)
                assert not np.isnan(g[lp < 709]).any(), p
                assert np.isfinite(g[ok]).all(), p
            checked += int(ok.sum())
            # closed forms: dy/da = 1, dy/db = P/b, dy/dc0 = -P log x
            pw = np.exp(np.minimum(lp, 600))
            np.testing.assert_allclose(grads[0], 1.0)
            # (XLA on CPU flushes subnormals to zero, hence the absolute tolerance)
            np.testing.assert_allclose(grads[1][ok], pw[ok] / p["b"], rtol=1e-9, atol=1e-290)
            np.testing.assert_allclose(grads[2][ok], -pw[ok] * np.log(x[ok]), rtol=1e-9,
                                       atol=1e-290)
    assert checked > 50


@pytest.mark.parametrize("log_p", [300.0, 690.0, 700.0, 705.0])
def test_gradients_near_overflow(log_p):
    """y = b x^-c0 ... up to 1e306 (finite), sharp break far behind x: every derivative is a
    finite float64 number, and so must the gradient be (no inf - inf = NaN, no overflow of an
    intermediate product). True values: dy/dc0 = -P log x, dy/dc = -P log(x/d),
    dy/dd = P c / d, dy/df = -P c (softplus(z) - z sigmoid(z)) ~ 0 (z = log(x/d) / f ~ 5e5)."""
    x, d, f, c = 1e20, 1e-2, 1e-4, 0.05
    lx, ld = math.log(x), math.log(d)
    c0 = -(log_p + c * (lx - ld)) / lx
    p = math.exp(log_p)
    y = _eval([x], 0.0, 1.0, c0, [c], [d], [f])[0]
    assert y == pytest.approx(p, rel=1e-10)
    g = [float(np.ravel(v)[0]) for v in _grads([x], 0.0, 1.0, c0, [c], [d], [f])]
    assert all(math.isfinite(v) for v in g), g
    assert g[:5] == pytest.approx([1.0, p, -p * lx, -p * (lx - ld), p * c / d], rel=1e-9)
    assert abs(g[5]) <= 1e-9 * p  # d y / d f: zero up to rounding relative to y


@pytest.mark.parametrize("case", EXTREMES)
def test_gradients_finite_at_extremes(case):
    x, a, b, c0, c, d, f = case
    for g in _grads([x], a, b, c0, c, d, f):
        assert np.isfinite(g).all()


def test_gradient_wrt_break_matches_finite_difference():
    """The derivative in d and f is right, not just finite (central differences in float64)."""
    x = np.geomspace(10, 1e5, 9)
    a, b, c0, c, d, f = 0.3, 2.0, 0.2, [1.5, -0.7], [300.0, 2e4], [0.3, 0.8]
    grads = _grads(x, a, b, c0, c, d, f)
    for k, name in ((4, "d"), (5, "f"), (3, "c")):
        base = {"c": list(c), "d": list(d), "f": list(f)}
        for i in range(2):
            h = 1e-6 * abs(base[name][i])
            up = {kk: list(v) for kk, v in base.items()}
            dn = {kk: list(v) for kk, v in base.items()}
            up[name][i] += h
            dn[name][i] -= h
            fd = (_eval(x, a, b, c0, **up) - _eval(x, a, b, c0, **dn)) / (2 * h)
            np.testing.assert_allclose(grads[k][:, i], fd, rtol=1e-6, atol=1e-10)


# ---------------------------------------------------------------------------- property
_log10_x = st.floats(-6.0, 30.0)
_slope = st.floats(-20.0, 20.0)


@st.composite
def _law_inputs(draw):
    n = draw(st.integers(0, 3))
    return {
        "x": 10.0 ** np.array(draw(st.lists(_log10_x, min_size=4, max_size=4))),
        "a": draw(st.floats(-10.0, 10.0)),
        "b": 10.0 ** draw(st.floats(-3.0, 3.0)),
        "c0": draw(_slope),
        "c": np.array(draw(st.lists(_slope, min_size=n, max_size=n))),
        "d": 10.0 ** np.array(draw(st.lists(_log10_x, min_size=n, max_size=n))),
        "f": 10.0 ** np.array(draw(st.lists(st.floats(-4.0, 1.0), min_size=n, max_size=n))),
    }


@settings(max_examples=200, deadline=None)
@given(_law_inputs())
def test_property_never_nan(p):
    x = p.pop("x")
    x = np.clip(x, 1e-6, 1e30)
    y = _eval(x, **p)
    assert not np.isnan(y).any()
    lp = _log_power_numpy(x, p["b"], p["c0"], p["c"], p["d"], p["f"])
    assert np.isfinite(y[lp < 700]).all()
    for g in _grads(x, **p):
        g = g.reshape(len(x), -1)
        assert np.isfinite(g[lp < 600]).all()  # near overflow: test_gradients_near_overflow
