"""``bnsl-bayes fit-many``: a long table of curves through one compiled sampler.

In-process (``main``) with test_fit_many's budget, so the compiled two-curve program is shared.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from budgets import SMALL as FAST
from budgets import SMALL_ARGS as BUDGET

import bnsl_bayes as bb
from bnsl_bayes.checks import passes
from bnsl_bayes.cli import main


def _table() -> pd.DataFrame:
    full = bb.datasets.load("four_digit_addition")
    m = full.fit_mask
    x, y = full.x[m], full.y[m]
    rng = np.random.default_rng(3)
    y_short = y[:12] * np.exp(0.003 * rng.standard_normal(12))
    held = pd.DataFrame({"task": "add", "n": full.x[~m], "loss": full.y[~m], "fit": 0})
    return pd.concat([
        pd.DataFrame({"task": "add", "n": x, "loss": y, "fit": 1}), held,
        pd.DataFrame({"task": "short", "n": x[:12], "loss": y_short, "fit": 1}),
    ], ignore_index=True)


def _curves() -> list[bb.Curve]:
    t = _table()
    return [bb.Curve.from_dataframe(t[t.task == k], x="n", y="loss", split="fit", name=k)
            for k in ("add", "short")]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("many") / "runs.csv"
    _table().to_csv(path, index=False)
    return path


def test_fit_many_json_equals_the_api(table_path, tmp_path, capsys):
    out_dir = tmp_path / "fits"
    code, out, err = _run(capsys, "fit-many", str(table_path), "--group", "task", "--x", "n",
                          "--y", "loss", "--split", "fit", "--seed", "7", *BUDGET, "--json",
                          "--out", str(out_dir))
    assert code == 0, err
    obj = json.loads(out)
    assert obj["n_curves"] == 2 and obj["model"] == "bnsl-1" and obj["seed"] == 7
    rows = {r["curve"]: r for r in obj["curves"]}
    assert set(rows) == {"add", "short"}
    assert rows["add"]["n_fit"] == 14 and rows["add"]["n_held_out"] == 3
    assert rows["short"]["n_held_out"] == 0 and rows["short"]["held_out_covered"] is None
    api = bb.fit_many(_curves(), seed=7, **FAST)
    for name, f in zip(("add", "short"), api, strict=True):
        med = f.parameters(0.9)["median"]
        for k in ("a", "b", "c0"):
            assert rows[name][k] == pytest.approx(float(med[k]), rel=1e-12), (name, k)
        lag1 = f.residual_autocorrelation()["lag1"]
        assert rows[name]["resid_lag1"] == pytest.approx(lag1, rel=1e-12, nan_ok=True), name
        saved = bb.load(rows[name]["file"])
        np.testing.assert_array_equal(saved.data.posterior["a"].values,
                                      f.data.posterior["a"].values)
    held = api[0].predict(_curves()[0].x[_curves()[0].held_out], seeds=1, prob=0.9)
    y = _curves()[0].y[_curves()[0].held_out]
    inside = (held["pred_lo"] <= y) & (y <= held["pred_hi"])
    assert rows["add"]["held_out_covered"] == pytest.approx(float(inside.mean()))

    # Per curve: whether its fit passed its diagnostics, and its own warnings (2 x 150 draws
    # cannot reach a bulk ESS of 400: every curve warns), all of them also in one list.
    listed = []
    for name, f in zip(("add", "short"), api, strict=True):
        with pytest.warns(bb.SamplingWarning) as want:
            f.check()
        want = [{"category": w.category.__name__, "message": " ".join(str(w.message).split())}
                for w in want]
        assert rows[name]["warnings"] == want, name
        assert rows[name]["converged"] is passes(f.diagnostics()) is False, name
        listed += [{"curve": name, **w} for w in want]
    assert obj["warnings"] == listed
    assert "2 of 2 curve(s) did not pass their diagnostics" in err

    # The same folder again: refused before any sampling unless --overwrite.
    code, out, err = _run(capsys, "fit-many", str(table_path), "--group", "task", "--x", "n",
                          "--y", "loss", "--out", str(out_dir))
    assert code == 2 and out == "" and "--overwrite" in err and len(err.splitlines()) == 1


def test_fit_many_drift_equals_the_api(table_path, capsys):
    code, out, err = _run(capsys, "fit-many", str(table_path), "--group", "task", "--x", "n",
                          "--y", "loss", "--split", "fit", "--seed", "7", *BUDGET, "--json",
                          "--drift")
    assert code == 0, err
    rows = {r["curve"]: r for r in json.loads(out)["curves"]}
    api = bb.fit_many(_curves(), seed=7, **FAST)
    drifts = bb.calibrate_drifts(api)
    for name, d in zip(("add", "short"), drifts, strict=True):
        assert rows[name]["drift_z"] == pytest.approx(d.z, rel=1e-12), name
        assert rows[name]["drift_scale"] == pytest.approx(d.scale, rel=1e-12, abs=0), name
    c = _curves()[0]
    held = api[0].predict(c.x[c.held_out], seeds=1, prob=0.9, drift=drifts[0])
    y = c.y[c.held_out]
    inside = (held["pred_lo"] <= y) & (y <= held["pred_hi"])
    assert rows["add"]["held_out_covered"] == pytest.approx(float(inside.mean()))


def test_fit_many_text_report_and_progress_bar(table_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = _run(capsys, "fit-many", str(table_path), "--group", "task", "--x", "n",
                          "--y", "loss", "--split", "fit", *BUDGET)
    assert code == 0, err
    assert "add" in out and "short" in out and "2 curves in" in out
    assert "fitting:" in err and "| 2/2 " in err and "curves/s" in err
    # each fit that failed its diagnostics named after the table, with its numbers
    api = bb.fit_many(_curves(), seed=0, **FAST)
    assert "2 fit(s) did not pass their diagnostics" in out
    for name, f in zip(("add", "short"), api, strict=True):
        d = f.diagnostics()
        assert (f"  {name}: max r_hat {d['max_r_hat']:.3f}, min bulk ESS "
                f"{d['min_ess_bulk']:.0f}, {d['divergences']} divergence(s)") in out.splitlines()
    assert "2 of 2 curve(s) did not pass their diagnostics (listed after the table)" in err


def test_fit_many_help_says_what_runs_and_what_is_required(capsys):
    """--group is shown as required with a CSV, and the help says that on a CPU the curves
    run one after another (vectorized only on an accelerator)."""
    assert main(["fit-many", "--help"]) == 0
    out = capsys.readouterr().out
    usage = out.split("\n\n")[0]
    assert "(CSV | -) --group COL[,COL...]" in usage and "[--group" not in usage
    assert "dataset:NAME[/PREFIX]" in usage
    text = " ".join(out.split())
    assert "on a CPU they run one after another" in text
    assert "On a GPU the curves of a batch run together as vectorized lanes" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--x", "n", "--y", "loss"], "--group COL"),
        (["--group", "model", "--x", "n", "--y", "loss"], "'model'"),
        (["--group", "task", "--x", "n", "--y", "nope"], "nope"),
        (["--group", "task", "--x", "n", "--y", "loss", "--batch-size", "0"], "batch_size"),
    ],
)
def test_fit_many_bad_input_exits_2(table_path, capsys, monkeypatch, argv, message):
    def boom(*args, **kw):  # pragma: no cover - reached only on a bug
        raise AssertionError("sampling started")

    monkeypatch.setattr(bb.fitting, "run_nuts_batch", boom)
    code, out, err = _run(capsys, "fit-many", str(table_path), *argv)
    assert code == 2 and out == "" and message in err and len(err.splitlines()) == 1, err


def test_fit_many_dataset_prefix_must_match(capsys):
    code, out, err = _run(capsys, "fit-many", "dataset:revisiting/XX")
    assert code == 2 and "'XX'" in err
    code, out, err = _run(capsys, "fit-many", "dataset:revisiting", "--group", "task")
    assert code == 2 and "--group" in err
