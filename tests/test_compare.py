"""Model comparison by PSIS-LOO (``bb.compare``), ``fit(breaks="auto")``, the ``compare`` command
and the held-out scores of ``bnsl_bayes.scoring``.

One sampler budget (``BUDGET``) and one curve length (8 points, padded length 8) are used
throughout, so that ``bnsl-0`` and ``bnsl-1`` compile once each and every later fit of this
module reuses them. With 8 fit points the 2- and 3-break forms (9 and 12 parameters) cannot be
fitted, so ``breaks="auto"`` chooses between 0 and 1 break here.

At this budget (300 draws) no fit reaches a bulk ESS of 400, and ``bnsl-1`` on this 0-break
curve has r_hat far above 1.01 while its elpd_loo is the higher one: the case of a comparison
that must not crown an unconverged fit. The tests of the choice among fits that pass give the
fits the diagnostics (``Fit.diagnostics``) or Pareto k (``loo._loo``) of a longer run, as
tests/test_fit.py does, instead of sampling for minutes.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
import xarray as xr
from budgets import SMALL_BUDGET as BUDGET

import bnsl_bayes as bb
from bnsl_bayes import checks
from bnsl_bayes.cli import main

cmp_mod = importlib.import_module("bnsl_bayes.compare")  # the module (bb.compare is the function)
loo_mod = importlib.import_module("bnsl_bayes.loo")
fitting_mod = importlib.import_module("bnsl_bayes.fitting")

X8 = np.geomspace(10.0, 1e4, 8)
#: Diagnostics of a sound run, and those of the unconverged bnsl-3 of issue 21.
GOOD = {"max_r_hat": 1.002, "min_ess_bulk": 900.0, "divergences": 0}
BAD = {"max_r_hat": 2.167, "min_ess_bulk": 5.0, "divergences": 0}


def power_law_curve() -> bb.Curve:
    """8 points of y = 0.2 + 5 x^-0.4 (0 breaks) with 2% log-normal noise, fixed key."""
    rng = np.random.default_rng(14)
    y = (0.2 + 5.0 * X8**-0.4) * np.exp(0.02 * rng.standard_normal(X8.size))
    return bb.Curve.from_arrays(X8, y, name="sim-power-law")


@pytest.fixture(scope="module")
def result() -> cmp_mod.Comparison:
    return bb.compare(power_law_curve(), breaks=[0, 1], seed=0, check=False, **BUDGET)


def _with_diagnostics(monkeypatch, by_breaks: dict[int, dict]) -> None:
    """Every Fit of ``b`` breaks reports ``by_breaks[b]`` as its diagnostics."""
    monkeypatch.setattr(bb.Fit, "diagnostics", lambda self: dict(by_breaks[self.breaks]))


def _with_pareto_k(monkeypatch, by_breaks: dict[int, float]) -> None:
    """The PSIS-LOO of a fit of ``b`` breaks has Pareto k ``by_breaks[b]`` at every point."""
    real = loo_mod._loo

    def loo(fit_):
        lo = real(fit_)
        if fit_.breaks in by_breaks:
            lo = dataclasses.replace(lo, pareto_k=xr.full_like(lo.pareto_k,
                                                               by_breaks[fit_.breaks]))
        return lo

    monkeypatch.setattr(loo_mod, "_loo", loo)


def _copies(fits: dict[str, bb.Fit]) -> dict[str, bb.Fit]:
    """Copies whose DataTree attributes can be written without touching the fixture."""
    return {k: dataclasses.replace(f, data=f.data.copy(deep=True)) for k, f in fits.items()}


def test_table_ranks_eligible_fits_first(result):
    t = result.table
    assert set(t.index) == {"bnsl-0", "bnsl-1"} == set(result.fits)
    assert list(t["rank"]) == list(range(len(t)))
    assert (t["se"] > 0).all() and (t["n_points"] == 8).all()
    assert list(t["breaks"]) == [result.fits[k].breaks for k in t.index]
    groups = []
    for k in t.index:
        diag = result.fits[k].diagnostics()
        sound_loo = t.loc[k, "n_bad_k"] == 0
        assert (t.loc[k, "problem"] == "") == (checks.passes(diag) and sound_loo)
        assert t.loc[k, "min_ess_bulk"] == pytest.approx(diag["min_ess_bulk"])
        groups.append(2 if not checks.passes(diag) else 0 if sound_loo else 1)
    assert groups == sorted(groups)
    assert list(t["eligible"]) == [g == groups[0] < 2 for g in groups]
    for g in set(groups):  # by elpd_loo within a group
        elpd = [t["elpd_loo"].iloc[i] for i in range(len(t)) if groups[i] == g]
        assert elpd == sorted(elpd, reverse=True)
    assert result.best == (t.index[0] if t["eligible"].iloc[0] else None)
    np.testing.assert_allclose(t["d_loo"], t["elpd_loo"] - t["elpd_loo"].iloc[0], atol=1e-9)


def test_unconverged_fits_are_not_eligible_at_this_budget(result):
    # the premise of the module: 300 draws cannot give a bulk ESS of 400, and the 1-break
    # form of a 0-break curve does not converge, yet has the higher elpd_loo
    t = result.table
    assert t.loc["bnsl-1", "elpd_loo"] > t.loc["bnsl-0", "elpd_loo"]
    assert t.loc["bnsl-1", "max_r_hat"] > 1.1
    assert not t["eligible"].any() and result.best is None
    assert "min bulk ESS" in t.loc["bnsl-1", "problem"]
    with pytest.raises(loo_mod.SelectionError, match="warmup=2000") as err:
        _ = result.best_fit
    assert err.value.comparison is result
    assert "no model passed its sampling diagnostics" in result.messages[-1]
    assert result.to_dict()["best"] is None


def test_weights_are_shared_by_the_eligible_fits(result):
    w, ok = result.table["weight"], result.table["eligible"]
    assert ((w >= 0) & (w <= 1)).all()
    assert (w[~ok] == 0).all()
    assert math.isclose(w.sum(), 1.0 if ok.any() else 0.0, abs_tol=1e-6)


def test_unconverged_fit_cannot_win(result, monkeypatch):
    # bnsl-1 has the higher elpd_loo but fails its diagnostics: bnsl-0 (sound) is best, with
    # all the weight, and bnsl-1 is listed below it with the reason. Pareto k is set aside
    # here (k_threshold=10): only the sampling is at stake.
    _with_diagnostics(monkeypatch, {0: GOOD, 1: BAD})
    table, _, messages = cmp_mod.loo_table(result.fits, k_threshold=10.0)
    assert table.loc["bnsl-1", "elpd_loo"] > table.loc["bnsl-0", "elpd_loo"]
    assert list(table.index) == ["bnsl-0", "bnsl-1"]
    assert list(table["eligible"]) == [True, False]
    assert list(table["weight"]) == [1.0, 0.0]
    assert table.loc["bnsl-1", "problem"] == "max r_hat 2.167 > 1.01; min bulk ESS 5 < 400"
    assert table.loc["bnsl-1", "d_loo"] > 0  # its elpd_loo is higher, and not to be trusted
    assert table.loc["bnsl-1", "dse"] > 0
    c = cmp_mod.Comparison(table=table, fits=result.fits, loo={})
    assert c.best == "bnsl-0" and c.best_fit is result.fits["bnsl-0"]
    assert c.to_dict()["best"] == "bnsl-0"
    left = [m for m in messages if "left out" in m]
    assert len(left) == 1 and "bnsl-1 (max r_hat 2.167" in left[0] and "Fix:" in left[0]


def test_weights_of_two_eligible_fits_are_arviz_stacking(result, monkeypatch):
    import arviz as az

    _with_diagnostics(monkeypatch, {0: GOOD, 1: GOOD})
    table, loos, messages = cmp_mod.loo_table(result.fits, k_threshold=10.0)
    assert table["eligible"].all() and list(table.index) == ["bnsl-1", "bnsl-0"]  # by elpd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = az.compare(loos, round_to="none")
    np.testing.assert_allclose(table["weight"], ref.loc[table.index, "weight"], atol=1e-12)
    np.testing.assert_allclose(table["dse"], ref.loc[table.index, "dse"], atol=1e-12)
    assert messages == []


def test_unreliable_loo_ranks_below_a_reliable_one(result, monkeypatch):
    # both converged; bnsl-1 (the higher elpd_loo) has Pareto k 0.9 everywhere
    _with_diagnostics(monkeypatch, {0: GOOD, 1: GOOD})
    _with_pareto_k(monkeypatch, {0: 0.1, 1: 0.9})
    table, _, _ = cmp_mod.loo_table(result.fits)
    assert table.loc["bnsl-1", "elpd_loo"] > table.loc["bnsl-0", "elpd_loo"]
    assert list(table.index) == ["bnsl-0", "bnsl-1"]
    assert list(table["weight"]) == [1.0, 0.0]
    assert table.loc["bnsl-1", "problem"] == "8 of 8 points with Pareto k > 0.7"


def test_a_converged_fit_with_unreliable_loo_beats_an_unconverged_one(result, monkeypatch):
    # bnsl-0: sound sampling, unreliable PSIS-LOO; bnsl-1: reliable k, failed sampling, the
    # higher elpd_loo. No converged fit has a reliable PSIS-LOO: the converged ones are ranked.
    _with_diagnostics(monkeypatch, {0: GOOD, 1: BAD})
    _with_pareto_k(monkeypatch, {0: 0.9, 1: 0.1})
    table, _, messages = cmp_mod.loo_table(result.fits)
    assert list(table.index) == ["bnsl-0", "bnsl-1"]
    assert list(table["eligible"]) == [True, False] and list(table["weight"]) == [1.0, 0.0]
    assert table.loc["bnsl-0", "problem"] == "8 of 8 points with Pareto k > 0.7"
    assert any("no converged model has a reliable PSIS-LOO" in m for m in messages)
    chosen, why = loo_mod.auto_choice(table, "sim")
    assert chosen == "bnsl-0" and "bnsl-1 (max r_hat 2.167" in why


def test_converged_fits_with_unreliable_loo_share_the_weights(result, monkeypatch):
    import arviz as az

    _with_diagnostics(monkeypatch, {0: GOOD, 1: GOOD})
    _with_pareto_k(monkeypatch, {0: 0.9, 1: 0.9})
    table, loos, messages = cmp_mod.loo_table(result.fits)
    assert table["eligible"].all() and list(table.index) == ["bnsl-1", "bnsl-0"]  # by elpd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = az.compare(loos, round_to="none")
    np.testing.assert_allclose(table["weight"], ref.loc[table.index, "weight"], atol=1e-12)
    assert "read the ranking and the weights with caution" in messages[-1]


def test_pareto_k_messages_name_curve_and_model(result):
    table, _, messages = cmp_mod.loo_table(result.fits, k_threshold=1e-9)
    assert (table["n_bad_k"] == 8).all() and not table["eligible"].any()
    k_msgs = [m for m in messages if "Pareto k > 1e-09 (max" in m]
    assert len(k_msgs) == 2
    for msg in k_msgs:
        assert "sim-power-law" in msg and "Fix:" in msg and "ranks below" in msg
    assert any("model bnsl-0:" in m for m in k_msgs)


def test_compare_warns_on_high_k():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = bb.compare(power_law_curve(), breaks=[0], k_threshold=1e-9, seed=0, **BUDGET)
    loo_w = [w for w in caught if issubclass(w.category, cmp_mod.LOOWarning)]
    k_w = [w for w in loo_w if "fit point(s) have Pareto k" in str(w.message)]
    assert len(k_w) == 1 and "model bnsl-0" in str(k_w[0].message)
    assert all(w.filename == __file__ for w in loo_w)  # points at the caller
    assert any("no model passed its sampling diagnostics" in str(w.message) for w in loo_w)
    assert r.table.loc["bnsl-0", "weight"] == 0.0 and r.best is None


def test_auto_skips_the_unconverged_fit(result, monkeypatch):
    # The same fits as the fixture (same seed): bnsl-1 has the higher elpd_loo, but with the
    # diagnostics of an unconverged run it cannot be chosen.
    _with_diagnostics(monkeypatch, {0: GOOD, 1: BAD})
    _with_pareto_k(monkeypatch, {0: 0.1})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bb.fit(power_law_curve(), breaks="auto", seed=0, **BUDGET)
    assert fit.spec.name == "bnsl-0"
    said = [str(w.message) for w in caught]  # the chosen fit is sound: only what was left out
    assert len(said) == 1 and issubclass(caught[0].category, cmp_mod.LOOWarning)
    assert "kept bnsl-0" in said[0] and "bnsl-1 (max r_hat 2.167" in said[0]
    np.testing.assert_array_equal(fit.draws()["c0"], result.fits["bnsl-0"].draws()["c0"])
    sel = json.loads(fit.data.attrs["breaks_selection"])
    assert [r["model"] for r in sel] == ["bnsl-0", "bnsl-1"]  # 2, 3 breaks skipped
    assert [r["eligible"] for r in sel] == [True, False]
    assert sel[1]["problem"].startswith("max r_hat 2.167")


def test_auto_keeps_a_converged_fit_then_raises_without_one(result, monkeypatch):
    monkeypatch.setattr(fitting_mod, "fit_models", lambda *a, **k: _copies(result.fits))
    # bnsl-1, the higher elpd_loo, did not converge; bnsl-0 did, with unreliable PSIS-LOO
    _with_diagnostics(monkeypatch, {0: GOOD, 1: BAD})
    _with_pareto_k(monkeypatch, {0: 0.9, 1: 0.9})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bb.fit(power_law_curve(), breaks="auto")
    assert fit.breaks == 0
    said = [str(w.message) for w in caught if issubclass(w.category, cmp_mod.LOOWarning)]
    assert len(said) == 2  # its own Pareto k, and what was left out
    assert "model bnsl-0: 8 of 8 fit point(s) have Pareto k" in said[0]
    assert "kept bnsl-0" in said[1] and "bnsl-1 (max r_hat 2.167" in said[1]
    # nothing converged: no fit is returned
    _with_diagnostics(monkeypatch, {0: BAD, 1: BAD})
    with pytest.raises(loo_mod.SelectionError, match="warmup=2000") as err:
        bb.fit(power_law_curve(), breaks="auto")
    assert isinstance(err.value, ValueError)
    assert set(err.value.comparison.fits) == {"bnsl-0", "bnsl-1"}


def test_advice_of_an_auto_fit_does_not_name_auto(result, monkeypatch):
    """A fit chosen by breaks='auto' whose r_hat fails on saturated trees is told to fit fewer
    breaks, not to pass breaks='auto' again; a fit of a given number of breaks still is."""
    for auto in (True, False):
        fit = _copies(result.fits)["bnsl-1"]
        if auto:
            fit.data.attrs["breaks_selection"] = "[]"
        monkeypatch.setattr(fit, "diagnostics", lambda: dict(BAD))
        monkeypatch.setattr(fit, "tree_depth_saturation", lambda: 0.5)
        with pytest.warns(bb.SamplingWarning):
            messages = fit.check()
        weak = [m for m in messages if "pin a break only weakly" in m]
        assert len(weak) == 1 and "breaks=0" in weak[0]
        assert ("breaks='auto'" in weak[0] or "--breaks auto" in weak[0]) is not auto
    ac = {"misfit": True, "lag1": 0.6, "n": 12, "threshold": 0.67}
    assert "breaks='auto'" in checks.misfit_message(ac, "bnsl", 1)
    said = checks.misfit_message(ac, "bnsl", 1, auto=True)
    assert "breaks='auto'" not in said and "breaks=2" in said


def _with_evidence(monkeypatch, by_breaks: dict[int, float]) -> None:
    """The log evidence of a fit of ``b`` breaks is ``by_breaks[b]`` (NaN: none, as NUTS)."""
    monkeypatch.setattr(loo_mod, "log_evidence", lambda f: by_breaks[f.breaks])


def test_evidence_ranks_and_weights_by_log_evidence(result, monkeypatch):
    _with_diagnostics(monkeypatch, {0: GOOD, 1: GOOD})
    _with_evidence(monkeypatch, {0: 10.0, 1: 8.0})
    # bnsl-1 has the higher elpd_loo; bnsl-0 the higher evidence, and Pareto k does not count
    _with_pareto_k(monkeypatch, {0: 0.9})
    table, _, messages = cmp_mod.loo_table(result.fits, method="evidence")
    assert list(table.index) == ["bnsl-0", "bnsl-1"] and table["eligible"].all()
    assert table.loc["bnsl-1", "elpd_loo"] > table.loc["bnsl-0", "elpd_loo"]
    np.testing.assert_allclose(table["weight"], [1 / (1 + math.exp(-2)), 1 / (1 + math.exp(2))],
                               rtol=1e-12)
    assert loo_mod.auto_choice(table) == ("bnsl-0", None)
    # an unconverged fit cannot win, whatever its evidence
    _with_diagnostics(monkeypatch, {0: BAD, 1: GOOD})
    table, _, _ = cmp_mod.loo_table(result.fits, method="evidence")
    assert list(table.index) == ["bnsl-1", "bnsl-0"]
    assert table["weight"].tolist() == [1.0, 0.0]
    chosen, why = loo_mod.auto_choice(table)
    assert chosen == "bnsl-1" and "log_evidence is higher" in why and "bnsl-0 (max r_hat" in why
    # NUTS fits have no evidence: none is eligible, and the table says why
    _with_diagnostics(monkeypatch, {0: GOOD, 1: GOOD})
    _with_evidence(monkeypatch, {0: math.nan, 1: math.nan})
    table, _, messages = cmp_mod.loo_table(result.fits, method="evidence")
    assert not table["eligible"].any() and (table["weight"] == 0).all()
    assert all("no log evidence" in p for p in table["problem"])
    assert loo_mod.auto_choice(table)[0] is None


def test_evidence_warns_where_the_runs_spread(result, monkeypatch):
    _with_diagnostics(monkeypatch, {0: GOOD, 1: GOOD})

    def runs(fit, log_evidence):
        monkeypatch.setitem(fit.data.attrs, "smc", json.dumps(
            {"log_evidence": log_evidence, "final_temperature": [1.0] * len(log_evidence)}))

    runs(result.fits["bnsl-0"], [10.0, 10.4, 9.9, 10.2])  # a spread of 0.5 nats: no warning
    runs(result.fits["bnsl-1"], [8.0, 8.2, 11.5, 8.1])
    table, _, messages = cmp_mod.loo_table(result.fits, method="evidence")
    assert table.loc["bnsl-1", "log_evidence"] == pytest.approx(
        math.log(np.mean(np.exp([8.0, 8.2, 11.5, 8.1]))), rel=1e-12)
    spread = [m for m in messages if "Monte Carlo noise" in m]
    assert len(spread) == 1 and "bnsl-1" in spread[0] and "8.00 to 11.50" in spread[0]
    assert "3.5 nats" in spread[0] and "particles=4000" in spread[0]
    # the same fits ranked by elpd_loo: no word on the evidence
    _, _, messages = cmp_mod.loo_table(result.fits)
    assert not any("Monte Carlo noise" in m for m in messages)
    # a run short of temperature 1: no log evidence, so no spread to warn of
    monkeypatch.setitem(result.fits["bnsl-1"].data.attrs, "smc", json.dumps(
        {"log_evidence": [8.0, 11.5], "final_temperature": [1.0, 0.7]}))
    table, _, messages = cmp_mod.loo_table(result.fits, method="evidence")
    assert math.isnan(table.loc["bnsl-1", "log_evidence"])
    assert not any("Monte Carlo noise" in m for m in messages)


def test_auto_by_evidence_fits_every_form_by_smc(result, monkeypatch):
    seen = {}

    def fit_models(curve, specs, **kwargs):
        seen.update(kwargs)
        return _copies(result.fits)

    monkeypatch.setattr(fitting_mod, "fit_models", fit_models)
    _with_diagnostics(monkeypatch, {0: GOOD, 1: GOOD})
    _with_evidence(monkeypatch, {0: 3.0, 1: 7.5})
    fit = bb.fit(power_law_curve(), breaks="auto", selection="evidence", check=False)
    assert fit.breaks == 1 and seen["sampler"].method == "smc"
    sel = json.loads(fit.data.attrs["breaks_selection"])
    assert [r["model"] for r in sel] == ["bnsl-1", "bnsl-0"]
    assert sel[0]["weight"] == pytest.approx(1 / (1 + math.exp(-4.5)))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"breaks": "auto", "selection": "bic"}, "selection = 'bic': expected 'loo'"),
    ({"breaks": 1, "selection": "evidence"}, "give breaks='auto' with it"),
    ({"breaks": "auto", "selection": "evidence", "sampler": bb.SamplerConfig(method="nuts")},
     "needs tempered SMC"),
])
def test_bad_selection_raises_before_sampling(monkeypatch, kwargs, match):
    monkeypatch.setattr(fitting_mod, "fit_models", lambda *a, **k: pytest.fail("sampled"))
    monkeypatch.setattr(fitting_mod, "fit_curves", lambda *a, **k: pytest.fail("sampled"))
    with pytest.raises(ValueError, match=match):
        bb.fit(power_law_curve(), **kwargs)


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
        ({"breaks": [0], "sampler": bb.SamplerConfig(chains=0)}, ValueError),
        ({"breaks": [0], "method": "evidence", "sampler": bb.SamplerConfig(method="nuts")},
         ValueError),
    ],
)
def test_bad_input_raises_before_sampling(monkeypatch, kwargs, error):
    def boom(*a, **k):
        raise AssertionError("sampled before checking the input")

    monkeypatch.setattr(fitting_mod, "fit", boom)  # what fit_models calls for each form
    with pytest.raises(error):
        bb.compare(power_law_curve(), **kwargs)


def test_default_forms_leave_out_those_with_more_parameters_than_points(result, monkeypatch):
    seen = []

    def fit_models(curve, specs, **kwargs):
        seen.extend(s.name for s in specs)
        return _copies(result.fits)

    monkeypatch.setattr(cmp_mod, "fit_models", fit_models)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = bb.compare(power_law_curve(), **BUDGET)
    assert seen == ["bnsl-0", "bnsl-1"]  # 8 points: bnsl-2 (9) and bnsl-3 (12) cannot be fitted
    said = [str(w.message) for w in rec if issubclass(w.category, loo_mod.LOOWarning)
            and "not compared" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("sim-power-law: not compared")
    msg = said[0]
    assert "bnsl-2: 8 fit point(s) for model 'bnsl-2', which has 9 parameters" in msg
    assert "bnsl-3: 8 fit point(s) for model 'bnsl-3', which has 12 parameters" in msg
    assert out.messages[0] == msg
    # nothing left to compare: named before any sampling
    monkeypatch.setattr(cmp_mod, "fit_models", lambda *a, **k: pytest.fail("sampled"))
    with pytest.raises(bb.DataError, match="compare: no number of breaks fits this curve"):
        bb.compare(bb.Curve.from_arrays([1.0, 2.0], [1.0, 0.5]))


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
    return ["--chains", "2", "--warmup", "150", "--samples", "150", "--sampler", "nuts"]


def test_cli_compare_json(csv_path, capsys, result):
    rc = main(["compare", str(csv_path), "--breaks", "0,1", "--json", *_budget_args()])
    out = capsys.readouterr().out
    assert rc == 0
    obj = json.loads(out)
    assert set(obj) >= {"curve", "best", "models", "messages", "method", "time_s"}
    rows = obj["models"]
    assert [r["model"] for r in rows] == list(result.table.index)  # same data, same seed
    assert obj["best"] == result.best  # None: nothing converged at this budget
    for r in rows:
        assert set(r) >= {"rank", "elpd_loo", "se", "d_loo", "weight", "p_loo", "n_bad_k",
                          "min_ess_bulk", "eligible", "problem"}
        assert isinstance(r["eligible"], bool) and isinstance(r["problem"], str)
    assert [r["eligible"] for r in rows] == list(result.table["eligible"])
    assert [r["rank"] for r in rows] == list(range(len(rows)))
    assert math.isclose(sum(r["weight"] for r in rows),
                        1.0 if any(r["eligible"] for r in rows) else 0.0, abs_tol=1e-6)


def test_cli_method_choices_are_the_library_s():
    from bnsl_bayes.cli import compare as cli_compare

    assert cli_compare.METHODS == loo_mod.METHODS


def test_cli_compare_names_what_it_left_out(csv_path, capsys, monkeypatch):
    _with_diagnostics(monkeypatch, {0: GOOD, 1: BAD})
    _with_pareto_k(monkeypatch, {0: 0.1})
    rc = main(["compare", str(csv_path), "--breaks", "0,1", *_budget_args()])
    captured = capsys.readouterr()
    assert rc == 0
    assert "left out (weight 0): bnsl-1: max r_hat 2.167 > 1.01" in captured.out
    assert "best: bnsl-0\n" in captured.out
    assert "warning:" in captured.err and "left out of the ranking" in captured.err


def test_cli_fit_breaks_auto(csv_path, capsys, monkeypatch):
    _with_diagnostics(monkeypatch, {0: GOOD, 1: BAD})
    _with_pareto_k(monkeypatch, {0: 0.1})
    rc = main(["fit", str(csv_path), "--breaks", "auto", "--json", *_budget_args()])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["model"] == "bnsl-0"


def test_cli_fit_breaks_auto_without_a_converged_fit_exits_2(csv_path, capsys, monkeypatch,
                                                              result):
    _with_diagnostics(monkeypatch, {0: BAD, 1: BAD})
    monkeypatch.setattr(fitting_mod, "fit_models", lambda *a, **k: _copies(result.fits))
    rc = main(["fit", str(csv_path), "--breaks", "auto", *_budget_args()])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "error:" in err and "warmup" in err


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
        ["fit", "CSV", "--selection", "evidence"],
        ["fit", "CSV", "--breaks", "auto", "--selection", "evidence", "--sampler", "nuts"],
        ["compare", "CSV", "--method", "evidence", "--sampler", "nuts"],
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
    fit = bb.fit(x, y, breaks=2, space="linear", seed=0,
                 sampler=bb.SamplerConfig(chains=4, warmup=500, samples=500, method="nuts"),
                 check=False)
    assert fit.space == "linear"
    xs = np.array([30.0, 150.0, 400.0, 1500.0, 5000.0])
    with jax.enable_x64(True):
        truth = np.asarray(bb.bnsl(xs, **DD_TRUTH))
    band = fit.predict(xs, prob=0.9)
    assert np.all((band["mean_lo"] <= truth) & (truth <= band["mean_hi"])), band
    c1 = np.quantile(fit.draws()["c"][:, 0], 0.95)
    assert c1 < 0  # the upturn is a negative slope change
