"""Tables, ranges and labels of the data (issue 21): DataFrames and long tables in ``fit``,
``Curve.group`` (the API of ``fit-many --group``), one seeds count for every row, the range of x
a fit handles, bounded metrics through ``Curve.complement``, and the axis labels a curve carries
into a saved fit.

The real fits use the small budget (``budgets.SMALL``) and curves of 9 to 16 fit points, so they
share the compiled sampler of the other 1-break, log-space tests.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import warnings

import jax
import numpy as np
import pandas as pd
import pytest
from budgets import SMALL

import bnsl_bayes as bb
import bnsl_bayes.fitting
from bnsl_bayes.cli import main
from bnsl_bayes.cli.common import _load_curves
from bnsl_bayes.data import X_MAX, X_MIN, Curve, DataError

#: The module (``bnsl_bayes.compare`` is the function the package exports).
COMPARE = importlib.import_module("bnsl_bayes.compare")

X = np.geomspace(100.0, 1e5, 10)
Y = 3.0 * X**-0.3 + 0.2


def _long_table() -> pd.DataFrame:
    """Two tasks of the 4-digit-addition curve (one shifted), three runs behind each row."""
    full = bb.datasets.load("four_digit_addition")
    parts = []
    for task, factor in (("add", 1.0), ("add2", 1.1)):
        parts.append(pd.DataFrame({
            "task": task, "model": "small", "n": full.x, "loss": factor * full.y, "runs": 3,
            "fit": np.where(full.held_out, "held_out", "fit")}))
    return pd.concat(parts, ignore_index=True)


class Reached(Exception):  # noqa: N818 - not an error: the data got through the checks
    """Raised by the stub of the sampler; carries the curve it was given."""

    def __init__(self, curve: Curve) -> None:
        super().__init__("reached the sampler")
        self.curve = curve


@pytest.fixture
def stub_sampler(monkeypatch):
    """``fit`` stops (with its curve) where sampling would start; compare stops at its fits."""

    def prepare(curve, spec, space):
        raise Reached(curve)

    def fit_models(curve, specs, **kwargs):
        raise Reached(curve)

    monkeypatch.setattr(bnsl_bayes.fitting, "prepare", prepare)
    monkeypatch.setattr(COMPARE, "fit_models", fit_models)


def _reached(call, *args, **kwargs) -> Curve:
    with pytest.raises(Reached) as got:
        call(*args, **kwargs)
    return got.value.curve


# ---------------------------------------------------------------------------- the range of x
@pytest.mark.parametrize("bad", [1e308, 4.5e307, 1e51, 1e-51, 1e-308, 5e-324])
def test_x_beyond_the_range_is_a_clear_error_without_warnings(bad):
    x = np.array([1.0, 10.0, 100.0, bad])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError) as err:
            Curve.from_arrays(x, np.arange(1.0, 5.0))
    assert not caught, [str(w.message) for w in caught]
    text = str(err.value)
    assert f"x[3] = {bad:g}" in text and f"{X_MIN:g} to {X_MAX:g}" in text, text
    assert "rescale x" in text or "drop the extreme rows" in text, text


def test_x_range_error_gives_the_factor_to_divide_by():
    x = np.geomspace(1e302, 1e308, 8)
    with pytest.raises(DataError, match=r"x\[0\] = 1e\+302 .*divide every x by 1e305"):
        Curve.from_arrays(x, 2.0 * (x / x[0]) ** -0.3)
    # the suggested units bring every x inside the range
    assert Curve.from_arrays(x / 1e305, np.ones(8)).x.max() <= X_MAX


def test_x_range_error_for_data_wider_than_the_range():
    with pytest.raises(DataError, match=r"spans 600 orders of magnitude.*drop the extreme"):
        Curve.from_arrays([1e-300, 1.0, 1e300], [1.0, 2.0, 3.0])


def test_x_at_the_ends_of_the_range_is_accepted():
    c = Curve.from_arrays([X_MIN, 1.0, X_MAX], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(c.x, [X_MIN, 1.0, X_MAX])
    # the default prediction grid (4 x the last fit point) and plots stay finite there
    assert np.isfinite(4.0 * X_MAX) and np.log(X_MIN) > -800


def test_fit_rejects_huge_x_before_anything_compiles(caplog):
    x = np.geomspace(1e302, 1e308, 8)
    with (warnings.catch_warnings(record=True) as caught,
          jax.log_compiles(True), caplog.at_level(logging.DEBUG, logger="jax")):
        warnings.simplefilter("always")
        y = 2.0 * (x / x[0]) ** -0.3
        for call, args in ((bb.fit, (x, y)), (bb.fit, (pd.DataFrame({"x": x, "y": y}),)),
                           (bb.compare, (x, y))):
            with pytest.raises(DataError, match=r"1e\+302.*1e-50 to 1e\+50"):
                call(*args, **SMALL)
    assert not caught, [str(w.message) for w in caught]
    assert not [r for r in caplog.records if "ompil" in r.getMessage()]


def test_cli_rejects_huge_x_in_one_line(tmp_path, capsys):
    x = np.geomspace(1e302, 1e308, 8)
    path = tmp_path / "huge.csv"
    pd.DataFrame({"x": x, "y": 2.0 * (x / x[0]) ** -0.3}).to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["fit", str(path), "--chains", "1", "--warmup", "1", "--samples", "1"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out, err)
    assert len(err.splitlines()) == 1 and "1e+302" in err and "rescale x" in err, err
    assert "RuntimeWarning" not in err and not caught, err


# ---------------------------------------------------------------------------- DataFrames in fit
def test_fit_takes_a_dataframe_by_column_names(stub_sampler):
    t = _long_table()
    add = t[t.task == "add"]
    curve = _reached(bb.fit, add, x="n", y="loss", seeds="runs", split="fit")
    want = Curve.from_dataframe(add, x="n", y="loss", seeds="runs", split="fit")
    for field in ("x", "y", "seeds", "held_out"):
        np.testing.assert_array_equal(getattr(curve, field), getattr(want, field))
    assert (curve.seeds == 3).all() and curve.held_out.sum() == 3
    assert (curve.x_label, curve.y_label) == ("n", "loss")
    # default columns x and y; std by column
    plain = pd.DataFrame({"x": X, "y": Y, "sd": 0.01})
    curve = _reached(bb.fit, plain, std="sd")
    np.testing.assert_array_equal(curve.y, Y)
    assert (curve.std == 0.01).all()


def test_compare_and_fit_auto_take_a_dataframe(stub_sampler):
    t = _long_table()
    add = t[t.task == "add"].rename(columns={"n": "x"})
    curve = _reached(bb.compare, add, y="loss", seeds="runs")
    assert (curve.seeds == 3).all() and curve.y_label == "loss"
    curve = _reached(bb.fit, add, y="loss", breaks="auto")
    np.testing.assert_array_equal(curve.y, Curve.from_dataframe(add, y="loss").y)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"x": "size", "y": "loss"}, r"no column 'size' for x; the table has columns: task, "
                                     r"model, n, loss, runs, fit"),
        ({"x": "n", "y": "loss", "seeds": "reps"}, r"no column 'reps' for seeds.*task, model"),
        ({"x": "n"}, r"no column 'y' for y.*n, loss"),
        ({"x": "n", "y": np.ones(3)}, r"y = array.*names a column, not values.*task, model"),
        ({"x": ["n"], "y": "loss"}, r"x = \['n'\].*names a column"),
        ({"x": "n", "y": "loss", "split": "task"}, r"task\[0\] = 'add'.*fit/held_out"),
    ],
)
def test_dataframe_errors_name_the_columns(kwargs, pattern, stub_sampler):
    with pytest.raises(DataError, match=pattern):
        bb.fit(_long_table(), **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "pattern"),
    [
        ((X, Y), {"seeds": "runs"}, r"seeds='runs' names a column.*not a DataFrame"),
        ((X, Y), {"x": "n"}, r"x='n' names a column"),
        ((X, "loss"), {}, r"y='loss' names a column"),
        ((Curve.from_arrays(X, Y),), {"seeds": 3}, r"either a Curve or the data.*seeds"),
        ((Curve.from_arrays(X, Y),), {"x": "n"}, r"either a Curve or the data.*leave out x"),
    ],
)
def test_column_names_without_a_table_and_curve_plus_data(args, kwargs, pattern, stub_sampler):
    with pytest.raises(DataError, match=pattern):
        bb.fit(*args, **kwargs)


def test_one_seeds_count_for_every_row(stub_sampler):
    curve = _reached(bb.fit, X, Y, seeds=3)
    np.testing.assert_array_equal(curve.seeds, np.full(10, 3.0))
    curve = _reached(bb.compare, X, Y, seeds=np.int64(5), std=0.02)
    np.testing.assert_array_equal(curve.seeds, np.full(10, 5.0))
    np.testing.assert_array_equal(curve.std, np.full(10, 0.02))
    # rows at one x: one count per row, summed into the point
    c = Curve.from_arrays([1.0, 1.0, 2.0], [1.0, 1.2, 0.9], seeds=4)
    np.testing.assert_array_equal(c.seeds, [8.0, 4.0])
    for bad, pattern in ((0, r"seeds\[0\] = 0.*whole"), (2.5, r"seeds\[0\] = 2\.5"),
                         ([3], r"seeds has 1 values but x has 10")):
        with pytest.raises(DataError, match=pattern):
            bb.fit(X, Y, seeds=bad)


def test_fit_many_refuses_a_table_and_points_to_group():
    with pytest.raises(DataError, match=r"Curve\.group\(df, by="):
        bb.fit_many(_long_table(), **SMALL)


# ---------------------------------------------------------------------------- Curve.group
def test_group_splits_a_long_table_like_the_cli(tmp_path):
    t = _long_table()
    curves = Curve.group(t, by=["task", "model"], x="n", y="loss", seeds="runs", split="fit")
    assert list(curves) == ["add/small", "add2/small"]
    for key, curve in curves.items():
        assert curve.name == key and (curve.x_label, curve.y_label) == ("n", "loss")
        assert curve.n_points == 17 and curve.held_out.sum() == 3 and (curve.seeds == 3).all()
    np.testing.assert_allclose(curves["add2/small"].y, 1.1 * curves["add/small"].y)
    one = Curve.group(t, "task", x="n", y="loss")
    assert list(one) == ["add", "add2"]
    # the CLI's --group is this function
    path = tmp_path / "long.csv"
    t.to_csv(path, index=False)
    args = argparse.Namespace(data=str(path), group="task,model", x="n", y="loss", seeds="runs",
                              std=None, split="fit", fit_upto=None)
    cli = _load_curves(args)
    assert list(cli) == list(curves)
    for key in cli:
        for field in ("x", "y", "seeds", "held_out"):
            np.testing.assert_array_equal(getattr(cli[key], field), getattr(curves[key], field))
        assert cli[key].name == key


@pytest.mark.parametrize(
    ("by", "kwargs", "pattern"),
    [
        (["task", "size"], {}, r"no column 'size' to group by; the table has columns: task, "
                               r"model, n, loss.*--group"),
        ([], {}, r"by = \[\]: expected the name"),
        (3, {}, r"by = 3: expected the name"),
        ("task", {"y": "nope"}, r"no column 'nope' for y"),
    ],
)
def test_group_errors(by, kwargs, pattern):
    with pytest.raises(DataError, match=pattern):
        Curve.group(_long_table(), by, **{"x": "n", "y": "loss", **kwargs})


def test_group_names_the_curve_with_bad_data_and_refuses_colliding_keys():
    t = _long_table()
    t.loc[20, "loss"] = np.nan  # a row of the second task
    with pytest.raises(DataError, match=r"curve 'add2': y\[\d+\] = nan"):
        Curve.group(t, "task", x="n", y="loss")
    clash = pd.DataFrame({"a": ["p/q", "p"], "b": ["r", "q/r"], "x": [1.0, 2.0], "y": 1.0})
    with pytest.raises(DataError, match=r"share the key 'p/q/r'"):
        Curve.group(clash, ["a", "b"])
    with pytest.raises(DataError, match="DataFrame"):
        Curve.group({"x": [1.0]}, "x")


def test_fit_of_a_table_equals_the_fit_of_its_curve_and_fit_many_takes_groups():
    t = _long_table()
    add = t[t.task == "add"]
    from_table = bb.fit(add, x="n", y="loss", seeds="runs", split="fit", seed=3, **SMALL)
    curve = Curve.from_dataframe(add, x="n", y="loss", seeds="runs", split="fit")
    from_curve = bb.fit(curve, seed=3, **SMALL)
    for name, draws in from_table.draws().items():
        np.testing.assert_array_equal(draws, from_curve.draws()[name], err_msg=name)
    many = bb.fit_many(Curve.group(t, "task", x="n", y="loss", seeds="runs", split="fit"),
                       seed=3, **SMALL)
    assert [f.curve.name for f in many] == ["add", "add2"]
    np.testing.assert_array_equal(many[0].draws()["c0"], from_table.draws()["c0"])


# ---------------------------------------------------------------------------- bounded metrics
def _accuracy_curve() -> Curve:
    """Accuracy rising towards 0.98 (error 0.6 (x / 1e3)^-0.35 + 0.02), 3% noise on the error."""
    x = np.geomspace(1e3, 1e6, 12)
    rng = np.random.default_rng(0)
    err = (0.6 * (x / 1e3) ** -0.35 + 0.02) * np.exp(0.03 * rng.standard_normal(12))
    return Curve.from_arrays(x, 1.0 - err, std=None, name="acc", x_label="N",
                             y_label="accuracy")


def test_complement_is_the_curve_of_the_error():
    acc = _accuracy_curve().fit_upto(3e5)
    err = acc.complement()
    np.testing.assert_array_equal(err.y, 1.0 - acc.y)
    for field in ("x", "seeds", "held_out"):
        np.testing.assert_array_equal(getattr(err, field), getattr(acc, field))
    assert err.name == "acc" and err.x_label == "N" and err.y_label == "1 - accuracy"
    pct = Curve.from_arrays([1.0, 2.0], [50.0, 70.0], std=[1.0, 2.0], y_label="%")
    got = pct.complement(100)
    np.testing.assert_array_equal(got.y, [50.0, 30.0])
    np.testing.assert_array_equal(got.std, [1.0, 2.0])  # the spread of bound - y is that of y
    assert got.y_label == "100 - %"


@pytest.mark.parametrize(
    ("bound", "pattern"),
    [
        (0.95, r"y = 0\.95\d* at x = .* not below bound = 0\.95"),
        (0.5, r"not below bound = 0\.5.*true ceiling"),
        (np.inf, r"bound = inf: expected a finite number"),
        ("1", r"bound = '1': expected a finite number"),
        (True, r"bound = True"),
    ],
)
def test_complement_needs_a_bound_above_every_y(bound, pattern):
    acc = _accuracy_curve()
    if bound == 0.95:
        bound = float(acc.y.max())  # equal to a y: bound - y = 0 cannot be fitted in log space
        pattern = r"not below bound = "
    with pytest.raises(DataError, match=pattern):
        acc.complement(bound)


def test_bands_of_a_fitted_complement_never_pass_the_bound():
    """Fit 1 - accuracy in log space and map back (y = 1 - value, lo and hi swap): up to a
    million times the last x the accuracy bands stay below 1, each in order."""
    acc = _accuracy_curve()
    fit = bb.fit(acc.complement(1.0), seed=0, **SMALL)
    far = acc.x[-1] * np.array([1.0, 4.0, 1e3, 1e6])
    table = fit.predict(far)
    back = pd.DataFrame({"x": table["x"], "median": 1.0 - table["median"],
                         "pred_lo": 1.0 - table["pred_hi"], "pred_hi": 1.0 - table["pred_lo"],
                         "mean_lo": 1.0 - table["mean_hi"], "mean_hi": 1.0 - table["mean_lo"]})
    assert (table[["median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"]] > 0).all().all()
    assert (back[["median", "mean_lo", "mean_hi", "pred_lo", "pred_hi"]] < 1.0).all().all()
    # swapping the ends keeps each band in order around the median
    assert (back["mean_lo"] <= back["median"]).all() and (back["median"] <= back["mean_hi"]).all()
    assert (back["pred_lo"] < back["pred_hi"]).all()
    # the data's own accuracy is in the band at the last point
    assert back["pred_lo"][0] <= acc.y[-1] <= back["pred_hi"][0]


@pytest.mark.slow
def test_control_a_fit_of_the_accuracy_itself_passes_the_bound():
    """Control for the test above: the same curve fitted directly (linear space, it rises)
    predicts an accuracy above 1 far past the data, the failure the complement avoids."""
    acc = _accuracy_curve()
    fit = bb.fit(acc, space="linear", seed=0, **SMALL)
    table = fit.predict(acc.x[-1] * np.array([1e6]))
    assert float(table["pred_hi"].iloc[0]) > 1.0


# ---------------------------------------------------------------------------- axis labels
def test_labels_default_and_travel_with_the_curve():
    c = Curve.from_arrays(X, Y)
    assert (c.x_label, c.y_label) == ("x", "y")
    c = Curve.from_arrays(X, Y, x_label="parameters", y_label="loss")
    assert (c.fit_upto(1e3).x_label, c.fit_upto(1e3).y_label) == ("parameters", "loss")
    df = pd.DataFrame({"N": X, "test loss": Y})
    assert Curve.from_dataframe(df, x="N", y="test loss").y_label == "test loss"
    with pytest.raises(DataError, match=r"Curve\.x_label = 3: expected a string"):
        Curve.from_arrays(X, Y, x_label=3)


def test_saved_fit_keeps_the_labels_and_old_files_load_with_defaults(tmp_path):
    from pathlib import Path

    curve = bb.datasets.load("four_digit_addition")
    fit = bb.fit(curve, seed=1, **SMALL)
    assert fit.data.attrs["x_label"] == "training set size"
    assert fit.data.attrs["y_label"] == "test cross-entropy"
    back = bb.load(fit.save(tmp_path / "fit.nc"))
    assert (back.curve.x_label, back.curve.y_label) == ("training set size", "test cross-entropy")
    old = bb.load(Path(__file__).parent / "fixtures" / "four_digit_addition_v1.nc")
    assert (old.curve.x_label, old.curve.y_label) == ("x", "y")
    assert old.curve.name == "four_digit_addition"
