"""Model comparison by PSIS-LOO (``bb.compare``), ``fit(breaks="auto")``, the ``compare`` command
and the held-out scores of ``bnsl_bayes.scoring``.

One sampler budget (``BUDGET``) and one curve length (8 points, padded length 8) are used
throughout, so that ``bnsl-0`` and ``bnsl-1`` compile once each and every later fit of this
module reuses them. With 8 fit points the 2- and 3-break forms (9 and 12 parameters) cannot be
fitted, so ``breaks="auto"`` chooses between 0 and 1 break here.
"""

from __future__ import annotations

import importlib
import json
import math
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
from budgets import SMALL_BUDGET as BUDGET

import bnsl_bayes as bb
from bnsl_bayes.cli import main

cmp_mod = importlib.import_module("bnsl_bayes.compare")  # the module (bb.compare is the function)
fitting_mod = importlib.import_module("bnsl_bayes.fitting")

X8 = np.geomspace(10.0, 1e4, 8)


def power_law_curve() -> bb.Curve:
    """8 points of y = 0.2 + 5 x^-0.4 (0 breaks) with 2% log-normal noise, fixed key."""
    rng = np.random.default_rng(11)
    y = (0.2 + 5.0 * X8**-0.4) * np.exp(0.02 * rng.standard_normal(X8.size))
    return bb.Curve.from_arrays(X8, y, name="sim-power-law")


@pytest.fixture(scope="module")
def result() -> cmp_mod.Comparison:
    return bb.compare(power_law_curve(), breaks=[0, 1], seed=0, check=False, **BUDGET)


def test_table_is_ranked_by_elpd(result):
    t = result.table
    assert list(t.index) == sorted(t.index, key=lambda k: -t.loc[k, "elpd_loo"])
    assert list(t["rank"]) == list(range(len(t)))
    assert set(t.index) == {"bnsl-0", "bnsl-1"} == set(result.fits)
    assert result.best == t.index[0] == t["elpd_loo"].idxmax()
    np.testing.assert_allclose(t["d_loo"], t["elpd_loo"] - t["elpd_loo"].max(), atol=1e-9)
    assert (t["se"] > 0).all() and (t["n_points"] == 8).all()
    assert list(t["breaks"]) == [result.fits[k].breaks for k in t.index]


def test_weights_sum_to_one(result):
    w = result.table["weight"]
    assert ((w >= 0) & (w <= 1)).all()
    assert math.isclose(w.sum(), 1.0, abs_tol=1e-6)


def test_loo_matches_arviz_and_counts_pareto_k(result):
    import arviz as az

    for name, f in result.fits.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = az.loo(f.data, pointwise=True)
        row = result.table.loc[name]
        assert math.isclose(row["elpd_loo"], float(ref.elpd), rel_tol=1e-9)
        k = np.asarray(ref.pareto_k.values)
        assert row["n_bad_k"] == int(np.sum(k > 0.7))
        assert math.isclose(row["max_k"], float(k.max()), rel_tol=1e-9)


def test_power_law_does_not_need_a_break(result):
    # Simulated with 0 breaks: the extra break buys no predictive accuracy, so bnsl-0 is not
    # decisively worse than bnsl-1 (and it has fewer effective parameters).
    t = result.table
    gap = t.loc["bnsl-1", "elpd_loo"] - t.loc["bnsl-0", "elpd_loo"]
    dse = max(t["dse"].max(), 1e-9)
    assert gap < 2 * dse + 1.0, t
    assert t.loc["bnsl-0", "p_loo"] < t.loc["bnsl-1", "p_loo"] + 1.0


def test_pareto_k_messages_name_curve_and_model(result):
    table, _, messages = cmp_mod.loo_table(result.fits, k_threshold=1e-9)
    assert (table["n_bad_k"] == 8).all()
    assert len(messages) == 2
    for msg in messages:
        assert "sim-power-law" in msg and "Pareto k > 1e-09" in msg and "Fix:" in msg
    assert any("model bnsl-0:" in m for m in messages)


def test_compare_warns_on_high_k():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = bb.compare(power_law_curve(), breaks=[0], k_threshold=1e-9, seed=0, **BUDGET)
    loo_w = [w for w in caught if issubclass(w.category, cmp_mod.LOOWarning)]
    assert len(loo_w) == 1 and "model bnsl-0" in str(loo_w[0].message)
    assert loo_w[0].filename == __file__  # points at the caller
    assert r.table.loc["bnsl-0", "weight"] == 1.0 and r.best == "bnsl-0"


def test_auto_picks_the_argmax(result):
    fit = bb.fit(power_law_curve(), breaks="auto", seed=0, check=False, **BUDGET)
    assert fit.spec.name == result.best
    chosen = result.fits[result.best]
    np.testing.assert_array_equal(fit.draws()["c0"], chosen.draws()["c0"])
    sel = json.loads(fit.data.attrs["breaks_selection"])
    assert [r["model"] for r in sel] == list(result.table.index)  # 2, 3 breaks skipped


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"breaks": [0, 1], "models": ["bnsl-1"]}, ValueError),
        ({"breaks": [7]}, bb.SpecError),
        ({"breaks": [3]}, bb.DataError),  # 8 points, 12 parameters
        ({"breaks": "0,1"}, ValueError),
        ({"models": ["bnsl-1", "bnsl-1"]}, ValueError),
        ({"models": ["no-such-model"]}, bb.SpecError),
        ({"breaks": []}, ValueError),
        ({"breaks": [0], "method": "vote"}, ValueError),
        ({"breaks": [0], "k_threshold": -1}, ValueError),
        ({"breaks": [0], "chains": 0}, ValueError),
    ],
)
def test_bad_input_raises_before_sampling(monkeypatch, kwargs, error):
    def boom(*a, **k):
        raise AssertionError("sampled before checking the input")

    monkeypatch.setattr(fitting_mod, "fit", boom)
    with pytest.raises(error):
        bb.compare(power_law_curve(), **kwargs)


def test_auto_rejects_model_and_too_few_points(monkeypatch):
    monkeypatch.setattr(fitting_mod, "fit_models", lambda *a, **k: pytest.fail("sampled"))
    with pytest.raises(ValueError, match="auto"):
        bb.fit(power_law_curve(), breaks="auto", model="bnsl-1")
    two = bb.Curve.from_arrays([1.0, 2.0], [1.0, 0.5])
    with pytest.raises(bb.DataError, match="auto"):
        bb.fit(two, breaks="auto")


# ---------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def csv_path(tmp_path_factory) -> Path:
    c = power_law_curve()
    p = tmp_path_factory.mktemp("cmp") / "runs.csv"
    p.write_text("x,y\n" + "".join(f"{float(x)!r},{float(y)!r}\n"
                                   for x, y in zip(c.x, c.y, strict=True)))
    return p


def _budget_args() -> list[str]:
    return ["--chains", "2", "--warmup", "150", "--samples", "150"]


def test_cli_compare_json(csv_path, capsys, result):
    rc = main(["compare", str(csv_path), "--breaks", "0,1", "--json", *_budget_args()])
    out = capsys.readouterr().out
    assert rc == 0
    obj = json.loads(out)
    assert set(obj) >= {"curve", "best", "models", "messages", "method", "time_s"}
    rows = obj["models"]
    assert [r["model"] for r in rows] == list(result.table.index)  # same data, same seed
    assert obj["best"] == rows[0]["model"] == result.best
    for r in rows:
        assert set(r) >= {"rank", "elpd_loo", "se", "d_loo", "weight", "p_loo", "n_bad_k"}
    assert [r["rank"] for r in rows] == list(range(len(rows)))
    assert math.isclose(sum(r["weight"] for r in rows), 1.0, abs_tol=1e-6)


def test_cli_fit_breaks_auto(csv_path, capsys, result):
    rc = main(["fit", str(csv_path), "--breaks", "auto", "--json", *_budget_args()])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["model"] == result.best


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "CSV", "--breaks", "0,9"],
        ["compare", "CSV", "--breaks", "0", "--models", "bnsl-1"],
        ["compare", "CSV", "--breaks", "one"],
        ["compare", "CSV", "--breaks", "3"],
        ["compare", "CSV", "--models", "bnsl-0,nope.toml"],
        ["fit", "CSV", "--breaks", "auto", "--model", "bnsl-1"],
        ["fit", "CSV", "--breaks", "many"],
    ],
)
def test_cli_bad_input_exits_2(csv_path, capsys, monkeypatch, args):
    monkeypatch.setattr(fitting_mod, "fit", lambda *a, **k: pytest.fail("sampled"))
    rc = main([str(csv_path) if a == "CSV" else a for a in args])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "error" in err


# ---------------------------------------------------------------------------- scoring
def _held_out_curve(sd_fit: float, sd_held: float, seed: int = 0) -> bb.Curve:
    """A power law: 40 log-spaced fit points, 400 dense held-out points past them."""
    rng = np.random.default_rng(seed)
    x_fit = np.geomspace(1e2, 1e4, 40)
    x_held = np.linspace(1.02e4, 2e4, 400)
    x = np.concatenate([x_fit, x_held])
    sd = np.concatenate([np.full(40, sd_fit), np.full(400, sd_held)])
    y = 2.0 * x**-0.3 * np.exp(sd * rng.standard_normal(x.size))
    return bb.Curve.from_arrays(x, y, held_out=np.arange(x.size) >= 40)


def test_held_out_windows_follow_the_fit_grid():
    from bnsl_bayes.scoring import held_out_windows

    c = _held_out_curve(0.01, 0.01)
    labels = held_out_windows(c)
    assert labels.shape == (400,) and labels.min() == 0
    np.testing.assert_array_equal(np.unique(labels), np.arange(labels.max() + 1))
    width = np.log(100) / 39  # the last log spacing of the fit points
    lx = np.log(c.x[c.held_out])
    for k in np.unique(labels):
        assert np.ptp(lx[labels == k]) < width  # one window never spans more than the grid step
    assert labels.max() + 1 == math.ceil((lx.max() - lx.min()) / width)
    # held-out points sparser than the fit grid: each is its own window
    x = np.concatenate([np.geomspace(1, 1e4, 30), [2e4, 5e4, 1e5]])
    sparse = bb.Curve.from_arrays(x, x**-0.5, held_out=np.arange(33) >= 30)
    np.testing.assert_array_equal(held_out_windows(sparse), [0, 1, 2])


def test_noise_ratio_of_held_out_to_fit_scatter():
    from bnsl_bayes.scoring import noise_ratio

    # same noise: about 1; held-out sd 3x the fit's: about 9 (sampling sd of the estimates is
    # about 25% with 40 fit points, so a factor 2 band is loose but can fail)
    same = [noise_ratio(_held_out_curve(0.01, 0.01, seed=s)) for s in range(5)]
    noisier = [noise_ratio(_held_out_curve(0.01, 0.03, seed=s)) for s in range(5)]
    assert 0.5 < np.median(same) < 2.0
    assert 4.5 < np.median(noisier) < 18.0
    # too few held-out points: no estimate
    x = np.concatenate([np.geomspace(1, 1e4, 30), [2e4, 5e4]])
    assert noise_ratio(bb.Curve.from_arrays(x, x**-0.5, held_out=np.arange(32) >= 30)) is None


# ---------------------------------------------------------------------------- double descent
def test_priors_allow_a_negative_slope_change():
    for b in (1, 2, 3):
        prior = bb.load_spec(f"bnsl-{b}").prior("slope_change")
        params = dict(prior.params)
        assert prior.dist in ("Normal", "StudentT") and params["loc"] == 0.0
        assert params["scale"] >= 1.0  # P(c_i < 0) = 1/2 on the standardized scale


DD_TRUTH = {"a": 0.1, "b": 2.0, "c0": 0.3, "c": [-0.6, 1.0], "d": [100.0, 1000.0],
            "f": [0.1, 0.1]}


@pytest.mark.slow
def test_double_descent_is_recovered():
    # Falls, rises after d1 = 100 (c1 < 0), falls again after d2 = 1000; additive noise.
    x = np.geomspace(10.0, 1e4, 24)
    with jax.enable_x64(True):
        mu = np.asarray(bb.bnsl(x, **DD_TRUTH))
    assert np.any(np.diff(mu) > 0) and np.any(np.diff(mu) < 0)
    y = mu + 0.01 * np.random.default_rng(5).standard_normal(x.size)
    fit = bb.fit(x, y, breaks=2, space="linear", seed=0, chains=4, warmup=500, samples=500,
                 check=False)
    assert fit.space == "linear"
    xs = np.array([30.0, 150.0, 400.0, 1500.0, 5000.0])
    with jax.enable_x64(True):
        truth = np.asarray(bb.bnsl(xs, **DD_TRUTH))
    band = fit.predict(xs, prob=0.9)
    assert np.all((band["mean_lo"] <= truth) & (truth <= band["mean_hi"])), band
    c1 = np.quantile(fit.draws()["c"][:, 0], 0.95)
    assert c1 < 0  # the upturn is a negative slope change
