"""Saved fits keep loading: a fit written by bnsl-bayes 0.1.0 (file format 1) is read back by this
version, with its groups and attributes, its stored posterior and the same predicted curve.

The fixture ``fixtures/four_digit_addition_v1.nc`` is a tiny fit of the bundled 4-digit-addition
curve (bnsl-1, 2 chains x (100 + 100), seed 0) written by ``fixtures/make_fixture.py``; the
sidecar ``four_digit_addition_v1.json`` holds what the writing version computed from it. Never
regenerate these to make this test pass: a failure here means old files no longer load the same.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import bnsl_bayes as bb
from bnsl_bayes.cli import main
from bnsl_bayes.fileformat import FORMAT_VERSION

FIXTURES = Path(__file__).parent / "fixtures"
NC = FIXTURES / "four_digit_addition_v1.nc"
RECORD = json.loads((FIXTURES / "four_digit_addition_v1.json").read_text(encoding="utf-8"))
GROUPS = {"posterior", "sample_stats", "log_likelihood", "posterior_predictive",
          "observed_data", "constant_data", "held_out_data"}
POSTERIOR = {"a", "b", "log_b", "c0", "sigma", "c", "d", "f"}


@pytest.fixture(scope="module")
def raw() -> xr.DataTree:
    """The file as plain NetCDF groups, read without bnsl_bayes."""
    with xr.open_datatree(NC, engine="h5netcdf") as dt:
        yield dt.load()


@pytest.fixture(scope="module")
def fit() -> bb.Fit:
    return bb.load(NC)


def test_fixture_is_small():
    assert NC.stat().st_size < 300_000


def test_file_groups_and_attributes(raw):
    assert GROUPS <= set(raw.children)
    attrs = raw.attrs
    assert int(attrs["bnsl_bayes_format"]) == 1 == RECORD["bnsl_bayes_format"]
    assert attrs["bnsl_bayes_version"] == RECORD["bnsl_bayes_version"] == "0.1.0"
    assert (attrs["model"], int(attrs["breaks"]), attrs["space"]) == ("bnsl-1", 1, "log")
    assert int(attrs["seed"]) == RECORD["seed"] == 0
    assert attrs["curve_name"] == "four_digit_addition"
    assert json.loads(attrs["sampler"])["chains"] == RECORD["chains"]
    post = raw["posterior"]
    assert POSTERIOR <= set(post.data_vars)
    assert dict(post.sizes) == {"chain": RECORD["chains"], "draw": RECORD["samples"], "break": 1}
    assert raw["observed_data"].sizes["point"] == 14
    assert raw["held_out_data"].sizes["held_out_point"] == 3


def test_this_version_reads_format_1():
    assert FORMAT_VERSION >= 1  # a newer format must still read the old one (this test)


def test_load_gives_the_stored_fit(fit, raw):
    assert fit.spec.name == "bnsl-1" and fit.breaks == 1 and fit.space == "log"
    assert fit.seed == 0
    scaling = json.loads(raw.attrs["scaling"])
    assert fit.scaling.log_x0 == scaling["log_x0"]
    assert fit.scaling.y_scale == scaling["y_scale"]
    # the curve: the stored fit and held-out points (the 4-digit-addition table), in x order
    fit_x = raw["constant_data"]["x"].values
    held_x = raw["held_out_data"]["x"].values
    np.testing.assert_array_equal(fit.curve.x, np.concatenate([fit_x, held_x]))
    np.testing.assert_array_equal(fit.curve.y, np.concatenate(
        [raw["observed_data"]["y"].values, raw["held_out_data"]["y"].values]))
    np.testing.assert_array_equal(fit.curve.held_out, [False] * 14 + [True] * 3)
    np.testing.assert_array_equal(fit.curve.seeds, 1.0)
    assert (fit_x[0], fit_x[-1], list(held_x)) == (160.0, 736.0, [800.0, 864.0, 928.0])
    assert fit.curve.y[0] == pytest.approx(2.13809046)
    assert fit.curve.name == "four_digit_addition"


def test_posterior_medians_are_the_stored_ones(fit, raw):
    """a, b, c0 medians from the loaded fit = those of the file's own arrays = those the writing
    version reported."""
    table = fit.parameters(RECORD["prob"])
    for name in ("a", "b", "c0"):
        stored = float(np.median(raw["posterior"][name].values))
        assert table.loc[name, "median"] == pytest.approx(stored, rel=1e-14)
        assert table.loc[name, "median"] == pytest.approx(RECORD["parameters"][name][0],
                                                          rel=1e-12)
    for name, (median, lo, hi) in RECORD["parameters"].items():
        assert list(table.loc[name]) == pytest.approx([median, lo, hi], rel=1e-12), name
    # and the values are a 4-digit-addition fit, not noise: a and d1 near the paper's law
    assert 0.2 < table.loc["a", "median"] < 0.6
    assert 500 < table.loc["d1", "median"] < 750


def test_predict_from_the_stored_posterior(fit):
    """Finite bands; the mean curve's median and band are those the writing version computed."""
    want = RECORD["predict"]
    table = fit.predict(want["x"], prob=RECORD["prob"])
    cols = ["median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"]
    assert np.isfinite(table[cols].to_numpy()).all()
    np.testing.assert_array_equal(table["x"], want["x"])
    for col in ("median", "mean_lo", "mean_hi"):
        np.testing.assert_allclose(table[col], want[col], rtol=1e-10, err_msg=col)
    assert (table["mean_lo"] <= table["median"]).all()
    assert (table["median"] <= table["mean_hi"]).all()
    assert (table["pred_lo"] < table["median"]).all() and (table["median"] < table["pred_hi"]).all()
    assert (table["pred_lo"] > 0).all()  # log space: a new point stays positive
    # the predictive band of a mean over 16 runs is narrower than that of one run
    one = fit.predict([400.0, 736.0], prob=0.9)
    many = fit.predict([400.0, 736.0], seeds=16, prob=0.9)
    assert ((many["pred_hi"] - many["pred_lo"]) < (one["pred_hi"] - one["pred_lo"])).all()


def test_diagnostics_and_report_of_the_stored_fit(fit):
    d = fit.diagnostics()
    assert math.isfinite(d["max_r_hat"]) and math.isfinite(d["min_ess_bulk"])
    assert d["divergences"] >= 0
    text = fit.report()
    assert "bnsl-1" in text and "14 fit points" in text and "3 held out" in text


def test_resave_and_load_again(tmp_path, raw):
    """This version re-saves an old file without losing anything it had."""
    again = bb.load(bb.load(NC).save(tmp_path / "again.nc"))
    for name in POSTERIOR:
        np.testing.assert_array_equal(again.data["posterior"][name].values,
                                      raw["posterior"][name].values)
    for key in ("bnsl_bayes_format", "model", "breaks", "space", "seed", "spec_toml", "scaling"):
        assert again.data.attrs[key] == raw.attrs[key], key


def test_cli_predict_reads_the_stored_fit(fit):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["predict", str(NC), "--x", "736,2000", "--json"])
    assert code == 0, err.getvalue()
    obj = json.loads(out.getvalue())
    assert obj["model"] == "bnsl-1" and obj["curve"] == "four_digit_addition"
    got = [row["median"] for row in obj["predictions"]]
    want = RECORD["predict"]
    idx = [want["x"].index(736.0), want["x"].index(2000.0)]
    assert got == pytest.approx([want["median"][i] for i in idx], rel=1e-10)


def test_format_2_with_the_slope_error_loads_and_predicts_as_recorded():
    """The v2 fixture (model files and posteriors with ``extrapolation_slope``) loads and
    predicts what the version that wrote it predicted, past the data too."""
    nc = FIXTURES / "four_digit_addition_v2.nc"
    record = json.loads((FIXTURES / "four_digit_addition_v2.json").read_text(encoding="utf-8"))
    fit = bb.load(nc)
    assert int(fit.data.attrs["bnsl_bayes_format"]) == 2 == record["bnsl_bayes_format"]
    assert "extrapolation_slope" in fit.data["posterior"] and fit.spec.has_prior(
        "extrapolation_slope")
    table = fit.predict(record["predict"]["x"], prob=record["prob"])
    for col in ("median", "mean_lo", "mean_hi"):
        np.testing.assert_allclose(table[col], record["predict"][col], rtol=1e-9, err_msg=col)
