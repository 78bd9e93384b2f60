"""Tests of the ``bnsl-bayes`` command, run as a real process (``python -m bnsl_bayes.cli``).

Sampling budgets are tiny (2 chains x (150 + 150)), and every fit has the same shape (the 14 fit
points of 4-digit addition, bnsl-1, log space), so each process compiles the sampler once. The
processes that fit are started together and run while the test process fits the same curve
through the Python API, to keep the wall time near that of one compilation.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from budgets import SMALL_ARGS as BUDGET

import bnsl_bayes as bb
from bnsl_bayes.cli import main

CLI = [sys.executable, "-m", "bnsl_bayes.cli"]
SEED = 3
COLUMNS = ["--x", "training_set_size", "--y", "test_cross_entropy", "--split", "split"]
HELD_OUT_X = [800.0, 864.0, 928.0]
PARAMS = ["a", "b", "c0", "c1", "d1", "f1", "sigma"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TIMEOUT = 900


def _start(args: list[str], *, stdin: str | None = None, cwd: Path | None = None):
    proc = subprocess.Popen(
        [*CLI, *args], stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
    )
    return proc, stdin


def _finish(started) -> subprocess.CompletedProcess:
    proc, stdin = started
    out, err = proc.communicate(stdin, timeout=TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None):
    """Run the real command and wait for it."""
    return _finish(_start(list(args), stdin=stdin, cwd=cwd))


def csv_text() -> str:
    """The bundled 4-digit addition table (columns training_set_size, test_cross_entropy,
    split)."""
    return files("bnsl_bayes.datasets").joinpath("four_digit_addition.csv").read_text("utf-8")


def assert_one_error_line(res: subprocess.CompletedProcess, *, contains: str = "") -> str:
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("bnsl-bayes") and ": error: " in lines[0]
    assert contains.lower() in lines[0].lower(), lines[0]
    return lines[0]


def assert_close(got: float, want: float) -> None:
    assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


# ---------------------------------------------------------------------------- shared runs
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A real fit of the bundled dataset (--json, --out, --plot, --csv) and the API's own
    fit."""
    tmp = tmp_path_factory.mktemp("cli_runs")
    dataset = _start(["fit", "dataset:four_digit_addition", "--json", "--seed", str(SEED),
                      *BUDGET, "--out", str(tmp / "fit.nc"), "--plot", str(tmp / "fit.png"),
                      "--csv", str(tmp / "predictions.csv")])
    api = bb.fit(bb.datasets.load("four_digit_addition"), seed=SEED,
                 sampler=bb.SamplerConfig(chains=2, warmup=150, samples=150, method="nuts"),
                 check=False)
    return {"dataset": _finish(dataset), "api": api, "tmp": tmp}


def _json_of(res: subprocess.CompletedProcess) -> dict:
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    text = res.stdout
    assert text.endswith("\n") and text.count("\n") == 1, "stdout must be one JSON line"
    obj = json.loads(text)
    assert isinstance(obj, dict)
    return obj


def test_fit_json_schema(runs):
    obj = _json_of(runs["dataset"])
    for key, kind in [("model", str), ("breaks", int), ("n_fit", int), ("space", str),
                      ("diagnostics", dict), ("parameters", dict), ("predictions", list),
                      ("held_out", list), ("warnings", list), ("time_s", float)]:
        assert isinstance(obj[key], kind), key
    assert obj["drift"] is None  # only with --drift
    assert obj["model"] == "bnsl-1" and obj["breaks"] == 1 and obj["space"] == "log"
    assert obj["n_fit"] == 14
    d = obj["diagnostics"]
    assert set(d) == {"max_r_hat", "min_ess_bulk", "divergences"}
    assert isinstance(d["max_r_hat"], float) and isinstance(d["min_ess_bulk"], float)
    assert isinstance(d["divergences"], int) and not isinstance(d["divergences"], bool)
    assert list(obj["parameters"]) == PARAMS
    for name, p in obj["parameters"].items():
        assert set(p) == {"median", "lo", "hi"}, name
        assert p["lo"] <= p["median"] <= p["hi"], name
    assert obj["predictions"], "a default prediction set"
    for row in obj["predictions"]:
        assert set(row) == {"x", "median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"}
        assert row["mean_lo"] <= row["median"] <= row["mean_hi"]
        assert row["pred_lo"] < row["pred_hi"]
    pred_x = [r["x"] for r in obj["predictions"]]
    assert pred_x == sorted(pred_x) and set(HELD_OUT_X) <= set(pred_x)
    assert max(pred_x) > 928, "predictions reach past the data by default"
    assert [h["x"] for h in obj["held_out"]] == HELD_OUT_X
    for h in obj["held_out"]:
        assert set(h) == {"x", "y", "median", "pred_lo", "pred_hi", "covered"}
        assert isinstance(h["covered"], bool)
        assert h["covered"] == (h["pred_lo"] <= h["y"] <= h["pred_hi"])
    assert obj["time_s"] > 0


def test_fit_drift_matches_api_and_widens_past_the_data(runs, capsys):
    """--drift: the leave-future-out refit of the API (same seed and budget), in the JSON, and
    bands past the last fit point at least as wide as without it, the same before it."""
    code = main(["fit", "dataset:four_digit_addition", "--json", "--drift", "--seed", str(SEED),
                 *BUDGET])
    out, err = capsys.readouterr()
    assert code == 0, err
    obj = json.loads(out)
    plain = _json_of(runs["dataset"])
    api = bb.calibrate_drift(runs["api"])
    d = obj["drift"]
    assert set(d) == {"delta_hat", "v", "x_cut", "scored", "space", "z", "scale"}
    assert_close(d["delta_hat"], api.delta_hat)
    assert_close(d["v"], api.v)
    assert d["x_cut"] == 480.0 and d["scored"] == 7 and d["space"] == "log"
    for new, old in zip(obj["predictions"], plain["predictions"], strict=True):
        assert new["x"] == old["x"]
        width, width0 = new["pred_hi"] / new["pred_lo"], old["pred_hi"] / old["pred_lo"]
        if new["x"] > 736:
            assert width >= width0
        else:
            assert width == pytest.approx(width0, rel=1e-12)
    assert obj["parameters"] == plain["parameters"]  # the fit itself is the same


def test_fit_warnings_go_to_stderr_one_line_each(runs):
    for line in runs["dataset"].stderr.splitlines():
        assert line.startswith("bnsl-bayes: "), line
        assert ": error: " not in line


def test_fit_json_carries_the_warnings_of_stderr(runs):
    """--json lists each warning (category, message) that standard error shows: 2 x 150 draws
    cannot reach a bulk ESS of 400, so the fit warns."""
    obj = _json_of(runs["dataset"])
    api = runs["api"]
    with pytest.warns(bb.SamplingWarning) as want:
        api.check()
    assert obj["warnings"] == [{"category": w.category.__name__,
                                "message": " ".join(str(w.message).split())} for w in want]
    assert any("bulk ESS" in w["message"] for w in obj["warnings"])
    stderr = runs["dataset"].stderr.splitlines()
    for w in obj["warnings"]:
        assert f"bnsl-bayes: warning: {w['message']}" in stderr


def test_compare_json_carries_the_warnings(runs, capsys):
    """compare --json lists its warnings too (one form, the shape the API fit compiled)."""
    code = main(["compare", "dataset:four_digit_addition", "--breaks", "1", "--json",
                 "--seed", str(SEED), *BUDGET])
    out, err = capsys.readouterr()
    assert code == 0, err
    obj = json.loads(out)
    assert obj["warnings"], "2 x 150 draws cannot reach a bulk ESS of 400"
    assert {w["category"] for w in obj["warnings"]} <= {"SamplingWarning", "MisfitWarning",
                                                         "LOOWarning"}
    assert any("bulk ESS" in w["message"] for w in obj["warnings"])
    for w in obj["warnings"]:
        assert f"bnsl-bayes: warning: {w['message']}" in err.splitlines()


def test_fit_csv_is_the_prediction_table(runs):
    """--csv writes the prediction table of the JSON (and of the report), column for column."""
    obj = _json_of(runs["dataset"])
    import pandas as pd

    table = pd.read_csv(runs["tmp"] / "predictions.csv")
    assert list(table.columns) == list(obj["predictions"][0])
    assert len(table) == len(obj["predictions"])
    for row, want in zip(table.to_dict(orient="records"), obj["predictions"], strict=True):
        for col, v in want.items():
            assert_close(row[col], v)


def _no_sampling(monkeypatch):
    def boom(*args, **kw):  # pragma: no cover - reached only on a bug
        raise AssertionError("sampling started")

    monkeypatch.setattr(bb.fitting, "run_nuts_batch", boom)


def test_csv_refuses_to_overwrite_before_fitting(tmp_path, monkeypatch, capsys):
    _no_sampling(monkeypatch)
    target = tmp_path / "pred.csv"
    target.write_bytes(b"keep me")
    assert main(["fit", "dataset:four_digit_addition", "--csv", str(target)]) == 2
    err = capsys.readouterr().err
    assert "--csv" in err and "--overwrite" in err and err.count("\n") == 1
    assert target.read_bytes() == b"keep me"
    for extra in (["--out", str(tmp_path / "p.csv")], ["--plot", str(tmp_path / "p.csv")]):
        assert main(["fit", "dataset:four_digit_addition", "--csv", str(tmp_path / "p.csv"),
                     *extra]) == 2
        err = capsys.readouterr().err
        assert "give each output its own file" in err and err.count("\n") == 1
    assert main(["fit", "dataset:four_digit_addition", "--csv",
                 str(tmp_path / "no" / "p.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_fit_json_matches_python_api(runs):
    obj = _json_of(runs["dataset"])
    api = runs["api"]
    table = api.parameters(0.9)
    for name in PARAMS:
        for col in ("median", "lo", "hi"):
            assert_close(obj["parameters"][name][col], float(table.loc[name, col]))
    diag = api.diagnostics()
    assert obj["diagnostics"]["divergences"] == diag["divergences"]
    assert_close(obj["diagnostics"]["max_r_hat"], diag["max_r_hat"])
    assert_close(obj["diagnostics"]["min_ess_bulk"], diag["min_ess_bulk"])
    xs = [r["x"] for r in obj["predictions"]]
    want = api.predict(xs, prob=0.9)
    for row, (_, ref) in zip(obj["predictions"], want.iterrows(), strict=True):
        for col in ("x", "median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"):
            assert_close(row[col], float(ref[col]))
    held = api.predict(HELD_OUT_X, seeds=1, prob=0.9)
    for row, (_, ref) in zip(obj["held_out"], held.iterrows(), strict=True):
        for col in ("median", "pred_lo", "pred_hi"):
            assert_close(row[col], float(ref[col]))


def test_fit_writes_plot_and_fit_file(runs):
    obj = _json_of(runs["dataset"])
    png = runs["tmp"] / "fit.png"
    assert png.stat().st_size > 0 and png.read_bytes()[:8] == PNG_MAGIC
    saved = bb.load(runs["tmp"] / "fit.nc")
    assert saved.curve.name == "four_digit_addition"
    assert_close(float(saved.parameters(0.9).loc["d1", "median"]),
                 obj["parameters"]["d1"]["median"])


def test_fit_from_stdin_matches_dataset(runs, monkeypatch, capsys):
    """CSV on standard input (in-process: reuses the sampler compiled by the API fit)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(csv_text()))
    code = main(["fit", "-", *COLUMNS, "--json", "--seed", str(SEED), *BUDGET])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.count("\n") == 1
    from_stdin = json.loads(out)
    from_dataset = _json_of(runs["dataset"])
    assert from_stdin["n_fit"] == 14 and from_stdin["curve"] == "stdin"
    for name in PARAMS:
        for col in ("median", "lo", "hi"):
            assert_close(from_stdin["parameters"][name][col],
                         from_dataset["parameters"][name][col])
    assert from_stdin["held_out"] == from_dataset["held_out"]
    assert from_stdin["predictions"] == from_dataset["predictions"]


def test_fit_from_csv_file_text_report(runs, tmp_path, monkeypatch, capsys):
    """The CSV-file path, the readable report, and the status line and progress bar on a
    terminal (in-process)."""
    path = tmp_path / "curve.csv"
    path.write_text(csv_text(), encoding="utf-8")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code = main(["fit", str(path), *COLUMNS, "--seed", str(SEED), *BUDGET,
                 "--predict", "1000,2000"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "model bnsl-1" in out and "14 fit points" in out
    assert "predictions" in out and "held-out points" in out
    assert " of 3 held-out points inside their 90% predictive band" in out
    median_a = float(runs["api"].parameters(0.9).loc["a", "median"])
    assert f"{median_a:.6g}" in out
    status, bar, *warned = err.rstrip("\n").split("\n")  # (splitlines would split at \r)
    assert status.startswith("bnsl-bayes: sampling 2 chains x (150 warmup + 150 draws)")
    # The progress bar of the compiled loop, redrawn in place up to the last of the 2 x 300
    # chain-iterations; the numbers above equal the API's without a bar, so the bar does not
    # change the draws.
    frames = [f for f in bar.split("\r") if f]
    assert len(frames) >= 2 and re.match(r"sampling: 100%\|.*\| 600/600 ", frames[-1])
    assert all(re.match(r"sampling: +\d+%\|.*\| \d+/600 ", f) for f in frames)
    counts = [int(re.search(r"(\d+)/600", f).group(1)) for f in frames]
    assert counts == sorted(counts), "the bar never goes back"
    for line in warned:
        assert line.startswith("bnsl-bayes: warning: "), line


def test_predict_and_plot_from_saved_fit(runs, capsys):
    tmp = runs["tmp"]
    res = run_cli("predict", str(tmp / "fit.nc"), "--x", "800,2000", "--seeds", "4", "--json")
    obj = _json_of(res)
    want = bb.load(tmp / "fit.nc").predict([800, 2000], seeds=4, prob=0.9)
    assert [r["x"] for r in obj["predictions"]] == [800.0, 2000.0]
    for row, (_, ref) in zip(obj["predictions"], want.iterrows(), strict=True):
        for col in ("median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"):
            assert_close(row[col], float(ref[col]))

    res = run_cli("plot", str(tmp / "fit.nc"), str(tmp / "log.png"))
    assert res.returncode == 0, res.stderr
    data = (tmp / "log.png").read_bytes()
    assert len(data) > 0 and data[:8] == PNG_MAGIC

    # the other forms in-process
    assert main(["predict", str(tmp / "fit.nc"), "--x", "800,2000", "--prob", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "pred_hi" in out and "2000" in out and "50% band" in out
    for name, extra in [("linear.png", ["--scale", "linear"]), ("trace.png", ["--trace"])]:
        assert main(["plot", str(tmp / "fit.nc"), str(tmp / name), *extra]) == 0
        data = (tmp / name).read_bytes()
        assert len(data) > 0 and data[:8] == PNG_MAGIC


def test_out_refuses_to_overwrite(tmp_path):
    target = tmp_path / "fit.nc"
    target.write_bytes(b"keep me")
    res = run_cli("fit", "dataset:four_digit_addition", "--out", str(target), *BUDGET)
    assert_one_error_line(res, contains="--overwrite")
    assert target.read_bytes() == b"keep me"


# ---------------------------------------------------------------------------- bad input
BAD_CSV = {
    "missing_column": ("x,loss\n1,2\n2,1\n3,0.5\n", "no column 'y'"),
    "non_numeric": ("x,y\n1,2\n2,abc\n3,1\n", "'abc' is not a number"),
    "x_not_positive": ("x,y\n0,2\n2,1\n3,0.5\n", "x must be > 0"),
    "nan": ("x,y\n1,2\n2,\n3,1\n", "finite"),
    "too_few_points": ("x,y\n1,2\n2,1.5\n3,1.2\n", "at least 6"),
}
BAD_ARGS = {
    "missing_file": (["fit", "no_such_file.csv"], "no such file"),
    "unknown_model": (["fit", "dataset:four_digit_addition", "--model", "bnsl-99"],
                      "unknown model"),
    "unknown_dataset": (["fit", "dataset:no_such_data"], "unknown dataset"),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """The bad-input commands as real processes, started at once (each imports and fails)."""
    tmp = tmp_path_factory.mktemp("cli_bad")
    started = {}
    for name, (text, _) in BAD_CSV.items():
        (tmp / f"{name}.csv").write_text(text, encoding="utf-8")
        started[name] = _start(["fit", f"{name}.csv"], cwd=tmp)
    for name, (args, _) in BAD_ARGS.items():
        started[name] = _start(args, cwd=tmp)
    return {name: _finish(s) for name, s in started.items()}


@pytest.mark.parametrize("name", [*BAD_CSV, *BAD_ARGS])
def test_bad_input_exits_2_with_one_line(bad_runs, name):
    contains = BAD_CSV[name][1] if name in BAD_CSV else BAD_ARGS[name][1]
    assert_one_error_line(bad_runs[name], contains=contains)


MORE_BAD = {
    "collection_not_curve": (["fit", "dataset:revisiting"], "holds 92 curves"),
    "missing_fit_file": (["predict", "no_such_fit.nc", "--x", "1"], "no such file"),
    "not_a_fit_file": (["plot", "bad.csv", "out.png"], "not a readable"),
    "bad_predict_x": (["predict", "bad.csv", "--x", "1,oops"], "'oops' is not a number"),
    "usage_no_command": ([], "required"),
    "usage_missing_data": (["fit"], "required"),
    "usage_bad_prob": (["fit", "bad.csv", "--prob", "1.5"], "probability"),
    "usage_bad_space": (["fit", "bad.csv", "--space", "cubic"], "invalid choice"),
    "bad_seed": (["fit", "bad.csv", "--seed", "-1"], "seed"),
    "bad_chains": (["fit", "bad.csv", "--chains", "0", "--breaks", "0"], "chains"),
    "bad_fit_upto": (["fit", "bad.csv", "--fit-upto", "-1"], "fit_upto"),
    "too_many_breaks": (["fit", "bad.csv", "--breaks", "9"], "bnsl-9"),
    "dataset_with_columns": (["fit", "dataset:four_digit_addition", "--x", "size"], "--x"),
}


@pytest.mark.parametrize("name", MORE_BAD)
def test_more_bad_input_in_process(name, tmp_path, monkeypatch, capsys):
    """Further bad input through ``main`` (same code path, without a process each)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n2,1.5\n3,1.2\n4,1\n", encoding="utf-8")
    args, contains = MORE_BAD[name]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and ": error: " in lines[0], err
    assert contains.lower() in lines[0].lower(), lines[0]


def test_bad_stdin_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("x,y\n1,2\n2,oops\n"))
    assert main(["fit", "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'oops' is not a number" in err


# ---------------------------------------------------------------------------- small commands
def test_console_script_version():
    script = Path(sys.executable).parent / ("bnsl-bayes" + (".exe" if os.name == "nt" else ""))
    assert script.is_file(), f"console script missing next to {sys.executable}"
    res = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"bnsl-bayes {bb.__version__}"


@pytest.mark.parametrize("command", [[], ["fit"], ["predict"], ["plot"], ["datasets"],
                                     ["models"], ["fit-many"], ["compare"], ["seeds"]])
def test_help_on_every_command(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bnsl-bayes")


def test_version_in_process(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bnsl-bayes {bb.__version__}"


def test_datasets_and_models_lists(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in bb.datasets.list():
        assert name in out
    assert main(["datasets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == bb.datasets.describe()
    assert main(["models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert list(models) == bb.available_models() and "bnsl-1" in models
    assert all(isinstance(v, str) and v for v in models.values())
    assert main(["models"]) == 0
    assert "bnsl-1" in capsys.readouterr().out


def test_bad_plot_name_fails_before_fitting(tmp_path, capsys):
    assert main(["fit", "dataset:four_digit_addition", "--plot", str(tmp_path / "a.xyz")]) == 2
    assert "unknown image type" in capsys.readouterr().err
    assert main(["fit", "dataset:four_digit_addition",
                 "--out", str(tmp_path / "no" / "fit.nc")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_predict_rejects_bad_seeds(runs, capsys):
    assert main(["predict", str(runs["tmp"] / "fit.nc"), "--x", "1000", "--seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bnsl-bayes: error: ") and err.count("\n") == 1


def test_default_predictions_include_held_out_and_beyond():
    from bnsl_bayes.cli.common import _default_predict_x

    curve = bb.datasets.load("four_digit_addition")
    xs = _default_predict_x(curve)
    assert xs == sorted(xs)
    assert xs[:3] == HELD_OUT_X
    np.testing.assert_allclose(xs[3:], [736 * 1.5, 736 * 2, 736 * 4])


def test_help_defaults_are_the_apis():
    """The seed and sampler defaults in the help texts (kept in the CLI so --help needs no JAX)
    are those of bnsl_bayes.fit and SamplerConfig."""
    import inspect

    from bnsl_bayes.cli.common import FIT_DEFAULTS

    config = bb.SamplerConfig()
    api = {"seed": inspect.signature(bb.fit).parameters["seed"].default,
           **{k: getattr(config, k) for k in FIT_DEFAULTS if k != "seed"}}
    assert FIT_DEFAULTS == api


def test_particles_help_names_the_top_of_autos_ladder(capsys):
    """--particles' help says how many runs auto pools per chain at most (kept in the CLI
    so --help needs no JAX): the top of fitting.POOLED_RUNS."""
    from bnsl_bayes.fitting import POOLED_RUNS

    assert main(["fit", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"up to {POOLED_RUNS[-1]} pooled per chain" in text


# ---------------------------------------------------------------------------- import cost
def _python(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BNSL_BAYES_CPU_DEVICES", "XLA_FLAGS")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT)


HEAVY = ("jax", "numpyro", "arviz", "matplotlib", "scipy", "pandas", "xarray")


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["fit-many", "--help"],
                                  ["seeds", "--help"], ["compare", "--help"],
                                  ["fit", "--bogus"], ["fit", "x.csv", "--prob", "2"],
                                  ["seeds", "--law", "a=1,b=2,c1=3"], ["--version"]])
def test_help_and_usage_errors_import_no_jax(argv):
    """Help, --version and argument errors answer before JAX, NumPyro or ArviZ is imported."""
    res = _python(
        "import sys\n"
        "from bnsl_bayes.cli import main\n"
        f"code = main({argv!r})\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(code, heavy, file=sys.stderr)\n")
    assert res.returncode == 0, res.stderr
    code, heavy = res.stderr.strip().splitlines()[-1].split(" ", 1)
    assert code == ("0" if "--help" in argv or "--version" in argv else "2"), res.stderr
    assert heavy == "[]", res.stderr


def test_package_imports_lazily_and_keeps_its_names():
    """``import bnsl_bayes`` loads no JAX; each public name loads its module on first use,
    ``from bnsl_bayes import *`` gives every name, and the import orders hold: the CPU devices
    are set up as soon as JAX is imported, NumPyro comes in before ArviZ."""
    res = _python(
        "import sys\n"
        "import bnsl_bayes as bb\n"
        "assert 'jax' not in sys.modules and 'arviz' not in sys.modules\n"
        "assert set(bb.__all__) <= set(dir(bb))\n"
        "import arviz, numpyro.distributions as dist\n"
        "assert hasattr(dist, 'distribution'), 'numpyro after arviz'\n"
        "import jax\n"
        "from bnsl_bayes.sampling.devices import available_cores\n"
        "assert len(jax.devices('cpu')) == available_cores(), jax.devices('cpu')\n"
        "import bnsl_bayes.compare\n"  # the module of the same name does not hide the function
        "ns = {}\n"
        "exec('from bnsl_bayes import *', ns)\n"
        "assert set(bb.__all__) <= set(ns), set(bb.__all__) - set(ns)\n"
        "assert callable(bb.compare) and bb.compare is ns['compare']\n"
        "assert bb.fit is ns['fit'] and bb.Fit.__name__ == 'Fit'\n"
        "assert bb.seeds.example and bb.fitting.fit is bb.fit\n"
        "assert not hasattr(bb, 'no_such_name')\n"
        "print('ok')\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_a_submodule_alone_keeps_the_import_orders():
    """A module of the package imported on its own (here one that imports ArviZ) still gets
    NumPyro first and one CPU device per core."""
    res = _python(
        "import bnsl_bayes.result, jax, numpyro.distributions as dist\n"
        "from bnsl_bayes.sampling.devices import available_cores\n"
        "assert hasattr(dist, 'distribution')\n"
        "assert len(jax.devices('cpu')) == available_cores()\n"
        "print('ok')\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_drift_without_points_to_score_exits_2_before_sampling(tmp_path, monkeypatch, capsys):
    """--drift refits on the first 75% of the fit range and scores the rest: a curve with no
    point left to score says so before the fit samples, not after it."""
    def boom(*args, **kw):  # pragma: no cover - reached only on a bug
        raise AssertionError("sampling started")

    monkeypatch.setattr(bb.fitting, "run_nuts_batch", boom)
    monkeypatch.setattr(bb.fitting, "run_smc_batch", boom)
    path = tmp_path / "six.csv"
    x = np.geomspace(10.0, 1e4, 6)
    path.write_text("x,y\n" + "".join(f"{a},{2 * a**-0.3}\n" for a in x), encoding="utf-8")
    code = main(["fit", str(path), "--drift"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--drift:" in err and "score" in err
