"""Curve: loading, aggregation of seeds, validation; and ``fit`` rejecting bad input before JAX."""

from __future__ import annotations

import io
import logging
import math

import jax
import numpy as np
import pandas as pd
import pytest

import bnsl_bayes
import bnsl_bayes.fitting
import bnsl_bayes.sampling.nuts
from bnsl_bayes.data import Curve, DataError
from bnsl_bayes.sampling.nuts import SamplerConfig
from bnsl_bayes.spec import SpecError

X = np.array([10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0])
Y = 3.0 * X**-0.3 + 0.2


# ---------------------------------------------------------------------------- construction
def test_from_arrays_sorts_and_keeps_distinct_points():
    order = np.array([3, 0, 7, 1, 5, 2, 6, 4])
    c = Curve.from_arrays(X[order], Y[order])
    np.testing.assert_array_equal(c.x, X)
    np.testing.assert_array_equal(c.y, Y)
    np.testing.assert_array_equal(c.seeds, np.ones(8))
    assert np.isnan(c.std).all()
    assert not c.held_out.any()
    assert c.n_points == 8
    assert c.fit_mask.all()


def test_dataerror_is_a_valueerror():
    assert issubclass(DataError, ValueError)


def test_rows_at_same_x_are_aggregated_into_mean_count_and_std():
    x = [1.0, 2.0, 2.0, 2.0, 3.0, 3.0]
    y = [5.0, 1.0, 2.0, 6.0, 4.0, 4.5]
    c = Curve.from_arrays(x, y)
    np.testing.assert_array_equal(c.x, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(c.y, [5.0, 3.0, 4.25], rtol=1e-15)
    np.testing.assert_array_equal(c.seeds, [1.0, 3.0, 2.0])
    assert np.isnan(c.std[0])  # a single run: spread unknown
    np.testing.assert_allclose(c.std[1:], [np.std([1, 2, 6], ddof=1), np.std([4, 4.5], ddof=1)],
                               rtol=1e-14)


def test_aggregation_is_order_independent():
    rng = np.random.default_rng(0)
    x = np.repeat(X, 4)
    y = np.repeat(Y, 4) * np.exp(rng.normal(0, 0.05, x.size))
    a = Curve.from_arrays(x, y)
    perm = rng.permutation(x.size)
    b = Curve.from_arrays(x[perm], y[perm])
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_allclose(a.y, b.y, rtol=1e-14)
    np.testing.assert_allclose(a.std, b.std, rtol=1e-12)
    np.testing.assert_array_equal(a.seeds, np.full(8, 4.0))


def test_seeds_weighted_mean():
    c = Curve.from_arrays([1.0, 1.0, 2.0, 5.0], [1.0, 3.0, 7.0, 9.0], seeds=[1, 3, 10, 2])
    np.testing.assert_allclose(c.y, [(1 * 1 + 3 * 3) / 4, 7.0, 9.0], rtol=1e-15)
    np.testing.assert_array_equal(c.seeds, [4.0, 10.0, 2.0])


def test_given_std_is_kept_for_single_rows():
    c = Curve.from_arrays([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], seeds=[5, 5, 5], std=[0.1, np.nan, 0.3])
    np.testing.assert_array_equal(c.seeds, [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(c.std[[0, 2]], [0.1, 0.3])
    assert np.isnan(c.std[1])


def test_scalars_and_lists_and_numeric_strings():
    c = Curve.from_arrays(["1", "2e3", "30"], [1, 2, 3])
    np.testing.assert_array_equal(c.x, [1.0, 30.0, 2000.0])
    one = Curve.from_arrays(5.0, 1.0)
    assert one.n_points == 1


def test_from_dataframe_with_chosen_columns_and_seeds():
    df = pd.DataFrame({"N": [100, 200, 200, 400], "loss": [3.0, 2.0, 2.4, 1.5],
                       "runs": [2, 1, 3, 4], "sd": [0.1, 0.2, 0.2, 0.3]})
    c = Curve.from_dataframe(df, x="N", y="loss", seeds="runs", std="sd", name="toy")
    np.testing.assert_array_equal(c.x, [100.0, 200.0, 400.0])
    np.testing.assert_allclose(c.y, [3.0, (2.0 + 3 * 2.4) / 4, 1.5])
    np.testing.assert_array_equal(c.seeds, [2.0, 4.0, 4.0])
    assert c.name == "toy"
    assert c.std[0] == 0.1 and c.std[2] == 0.3


def test_from_csv_path_and_stream(tmp_path):
    text = "size, metric, n\n160, 2.1, 10\n192, 2.0, 10\n224, 1.9, 10\n"
    path = tmp_path / "curve.csv"
    path.write_text(text)
    for source in (path, str(path), io.StringIO(text)):
        c = Curve.from_csv(source, x="size", y="metric", seeds="n")
        np.testing.assert_array_equal(c.x, [160.0, 192.0, 224.0])
        np.testing.assert_array_equal(c.y, [2.1, 2.0, 1.9])
        np.testing.assert_array_equal(c.seeds, [10.0, 10.0, 10.0])
    assert Curve.from_csv(str(path), x="size", y="metric").name.endswith("curve.csv")
    assert Curve.from_csv(path, x="size", y="metric", name="mine").name == "mine"


def test_to_dataframe_round_trip():
    c = Curve.from_arrays(X, Y, seeds=np.arange(1, 9)).fit_upto(300)
    df = c.to_dataframe()
    assert list(df.columns) == ["x", "y", "seeds", "std", "held_out"]
    back = Curve.from_dataframe(df.assign(split=~df["held_out"]), seeds="seeds", split="split")
    np.testing.assert_array_equal(back.x, c.x)
    np.testing.assert_array_equal(back.y, c.y)
    np.testing.assert_array_equal(back.held_out, c.held_out)


# ---------------------------------------------------------------------------- split column
@pytest.mark.parametrize(
    ("values", "held"),
    [
        (["fit", "fit", "held_out", "fit"], [False, False, True, False]),
        (["train", "TEST", " Train ", "test"], [False, True, False, True]),
        (["fit", "held-out", "holdout", "fit"], [False, True, True, False]),
        ([1, 1, 0, 0], [False, False, True, True]),
        ([1.0, 0.0, 1.0, 0.0], [False, True, False, True]),
        ([True, True, False, True], [False, False, True, False]),
        (["1", "0", "true", "false"], [False, True, False, True]),
    ],
)
def test_split_column(values, held):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [4.0, 3.0, 2.0, 1.0], "s": values})
    c = Curve.from_dataframe(df, split="s")
    np.testing.assert_array_equal(c.held_out, held)
    np.testing.assert_array_equal(c.fit_mask, ~np.array(held))


def test_split_column_from_csv_words_and_bools():
    c = Curve.from_csv(io.StringIO("x,y,split\n1,3,fit\n2,2,fit\n3,1,held_out\n"), split="split")
    np.testing.assert_array_equal(c.held_out, [False, False, True])
    c = Curve.from_csv(io.StringIO("x,y,Training\n1,3,True\n2,2,False\n"), split="Training")
    np.testing.assert_array_equal(c.held_out, [False, True])


@pytest.mark.parametrize(("values", "bad"), [(["fit", "maybe"], "maybe"), ([1, 2], "2"),
                                             ([1.0, 0.5], "0.5")])
def test_split_column_bad_value(values, bad):
    df = pd.DataFrame({"x": [1.0, 2.0], "y": [2.0, 1.0], "s": values})
    with pytest.raises(DataError, match=rf"s\[1\].*{bad}") as err:
        Curve.from_dataframe(df, split="s")
    assert "1" in str(err.value) and "fit" in str(err.value)


def test_split_rows_at_same_x_must_agree():
    df = pd.DataFrame({"x": [1.0, 1.0, 2.0], "y": [2.0, 2.1, 1.0], "s": ["fit", "test", "fit"]})
    with pytest.raises(DataError, match="x = 1.*same way"):
        Curve.from_dataframe(df, split="s")


# ---------------------------------------------------------------------------- fit_upto
def test_fit_upto():
    c = Curve.from_arrays(X, Y)
    h = c.fit_upto(100.0)
    np.testing.assert_array_equal(h.held_out, X > 100.0)
    assert not c.held_out.any()  # the original is unchanged
    np.testing.assert_array_equal(c.fit_upto(160.0).fit_mask, X <= 160.0)  # inclusive
    assert not c.fit_upto(1e9).held_out.any()
    assert c.fit_upto(1.0).held_out.all()
    # re-splitting replaces an earlier split
    np.testing.assert_array_equal(h.fit_upto(1000.0).held_out, X > 1000.0)


@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_fit_upto_bad(bad):
    with pytest.raises(DataError, match="fit_upto"):
        Curve.from_arrays(X, Y).fit_upto(bad)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"x": [1.0, np.nan, 3.0], "y": [1.0, 2.0, 3.0]}, r"x\[1\] = nan.*finite.*(drop|fix)"),
        ({"x": [1.0, 2.0, np.inf], "y": [1.0, 2.0, 3.0]}, r"x\[2\] = inf.*finite"),
        ({"x": [1.0, 2.0, 3.0], "y": [1.0, -np.inf, 3.0]}, r"y\[1\] = -inf.*finite"),
        ({"x": [1.0, 2.0, 3.0], "y": [np.nan, 2.0, 3.0]}, r"y\[0\] = nan.*finite"),
        ({"x": [1.0, 0.0, 3.0], "y": [1.0, 2.0, 3.0]}, r"x\[1\] = 0.*> 0.*(drop|shift)"),
        ({"x": [1.0, 2.0, -3.0], "y": [1.0, 2.0, 3.0]}, r"x\[2\] = -3.*> 0"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "seeds": [1, 0]}, r"seeds\[1\] = 0.*whole.*>= 1"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "seeds": [1.5, 2]}, r"seeds\[0\] = 1\.5.*whole"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "seeds": [3, -2]}, r"seeds\[1\] = -2"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "seeds": [3, np.nan]}, r"seeds\[1\] = nan"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "seeds": [3]}, r"seeds has 1 values but x has 2"),
        ({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]}, r"x has 3 values but y has 2.*same length"),
        ({"x": [], "y": []}, r"no points.*at least one"),
        ({"x": [1.0, "abc"], "y": [1.0, 2.0]}, r"x\[1\] = 'abc' is not a number"),
        ({"x": [1.0, 2.0], "y": [1.0, None]}, r"y\[1\] = nan.*finite"),
        ({"x": [[1.0, 2.0]], "y": [[1.0, 2.0]]}, r"one-dimensional"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "std": [0.1, -0.1]}, r"std\[1\] = -0.1.*>= 0"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "std": [0.1]}, r"std has 1 values"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "held_out": [True]}, r"held_out has 1 values"),
        ({"x": [1.0, 1e51], "y": [1.0, 2.0]}, r"x\[1\] = 1e\+51 is outside.*1e-50 to 1e\+50"),
        ({"x": [1e-60, 1.0], "y": [1.0, 2.0]}, r"x\[0\] = 1e-60 is outside.*divide every x by"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "seeds": 0}, r"seeds\[0\] = 0.*whole"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "std": -1.0}, r"std\[0\] = -1.*>= 0"),
    ],
)
def test_bad_arrays(kwargs, pattern):
    x, y = kwargs.pop("x"), kwargs.pop("y")
    with pytest.raises(DataError, match=pattern):
        Curve.from_arrays(x, y, **kwargs)


def test_not_a_dataframe():
    with pytest.raises(DataError, match="DataFrame"):
        Curve.from_dataframe({"x": [1.0], "y": [2.0]})


def test_missing_column_lists_columns():
    df = pd.DataFrame({"N": [1.0, 2.0], "loss": [2.0, 1.0]})
    with pytest.raises(DataError, match=r"no column 'x' for x.*N, loss"):
        Curve.from_dataframe(df)
    with pytest.raises(DataError, match=r"no column 'runs' for seeds"):
        Curve.from_dataframe(df, x="N", y="loss", seeds="runs")


def test_duplicated_columns_in_dataframe():
    df = pd.DataFrame([[1.0, 2.0, 3.0], [2.0, 1.0, 4.0]], columns=["x", "y", "x"])
    with pytest.raises(DataError, match=r"duplicated.*'x'"):
        Curve.from_dataframe(df)


def test_duplicated_columns_in_csv():
    """A CSV header naming x twice is ambiguous: it must not silently use the first column.

    pandas renames the second to ``x.1``, so ``from_dataframe``'s duplicate check never sees it.
    """
    with pytest.raises(DataError, match=r"duplicated.*'x'"):
        Curve.from_csv(io.StringIO("x,y,x\n1,2,3\n2,3,4\n3,4,5\n"))


def test_non_numeric_cell_in_csv():
    text = "x,y\n160,2.1\n192,two\n224,1.9\n"
    with pytest.raises(DataError, match=r"y\[1\] = 'two' is not a number") as err:
        Curve.from_csv(io.StringIO(text))
    assert "numeric" in str(err.value)


def test_missing_cell_in_csv():
    with pytest.raises(DataError, match=r"y\[1\] = nan.*finite"):
        Curve.from_csv(io.StringIO("x,y\n160,2.1\n192,\n224,1.9\n"))


def test_header_only_csv(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("x,y\n")
    with pytest.raises(DataError, match="header but no data rows"):
        Curve.from_csv(p)


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_csv(tmp_path, content):
    p = tmp_path / "e.csv"
    p.write_text(content)
    with pytest.raises(DataError, match="empty"):
        Curve.from_csv(p)


def test_missing_file(tmp_path):
    p = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=r"no such file.*nope\.csv.*check the path"):
        Curve.from_csv(p)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(DataError, match="folder"):
        Curve.from_csv(tmp_path)


def test_csv_missing_column():
    with pytest.raises(DataError, match=r"no column 'loss'.*x, y"):
        Curve.from_csv(io.StringIO("x,y\n1,2\n"), y="loss")


# ---------------------------------------------------------------------------- check_fittable
def test_check_fittable_ok():
    Curve.from_arrays(X, Y).check_fittable(n_params=6, space="log", model="bnsl-1")


def test_check_fittable_y_nonpositive_in_log_space():
    y = Y.copy()
    y[3] = 0.0
    c = Curve.from_arrays(X, y)
    with pytest.raises(DataError, match=r"y = 0 at x = 80.*space='linear'"):
        c.check_fittable(n_params=6, space="log", model="bnsl-1")
    c.check_fittable(n_params=6, space="linear", model="bnsl-1")
    # a held-out point may be <= 0: it is not fitted
    c.fit_upto(40.0).check_fittable(n_params=3, space="log", model="bnsl-0")


def test_check_fittable_too_few_points():
    c = Curve.from_arrays(X[:5], Y[:5])
    with pytest.raises(DataError, match=r"5 fit point\(s\).*'bnsl-1'.*6 parameters.*fewer breaks"):
        c.check_fittable(n_params=6, space="log", model="bnsl-1")
    # repeated runs at one x are one point, not several
    rep = Curve.from_arrays(np.repeat(X[:3], 5), np.repeat(Y[:3], 5))
    with pytest.raises(DataError, match=r"3 fit point\(s\)"):
        rep.check_fittable(n_params=6, space="log", model="bnsl-1")
    # held-out points do not count
    with pytest.raises(DataError, match=r"2 fit point\(s\)"):
        Curve.from_arrays(X, Y).fit_upto(20.0).check_fittable(n_params=3, space="log",
                                                               model="bnsl-0")


def test_check_fittable_all_x_equal():
    c = Curve.from_arrays([5.0, 5.0, 5.0], [1.0, 1.1, 0.9])
    assert c.n_points == 1
    with pytest.raises(DataError, match="one x|1 fit point"):
        c.check_fittable(n_params=3, space="log", model="bnsl-0")
    with pytest.raises(DataError, match="share one x.*two distinct"):
        c.check_fittable(n_params=1, space="log", model="custom")


def test_check_fittable_bad_space():
    with pytest.raises(DataError, match="space"):
        Curve.from_arrays(X, Y).check_fittable(n_params=3, space="logit", model="bnsl-0")


# ---------------------------------------------------------------------------- fit validates first
class SamplerReached(AssertionError):
    pass


@pytest.fixture
def no_sampler(monkeypatch):
    """Make any attempt to run NUTS fail loudly."""

    def boom(*args, **kwargs):
        raise SamplerReached("sampler reached")

    monkeypatch.setattr(bnsl_bayes.sampling.nuts, "run_nuts", boom)
    monkeypatch.setattr(bnsl_bayes.fitting, "run_nuts_batch", boom)
    monkeypatch.setattr(bnsl_bayes.fitting, "run_smc_batch", boom)


def _bad_fit_calls(tmp_path):
    bad_toml = tmp_path / "broken.toml"
    bad_toml.write_text('name = "broken"\nbreaks = [1\n')
    y_zero = Y.copy()
    y_zero[2] = 0.0
    return {
        "nan_x": (DataError, r"x\[2\] = nan", (np.where(X == 40, np.nan, X), Y), {}),
        "inf_y": (DataError, r"y\[1\] = inf", (X, np.where(X == 20, np.inf, Y)), {}),
        "x_nonpositive": (DataError, r"x\[0\] = 0", (X - 10.0, Y), {}),
        "y_zero_log": (DataError, r"space='linear'", (X, y_zero), {"space": "log"}),
        "seeds_zero": (DataError, r"seeds\[3\] = 0", (X, Y), {"seeds": [1, 1, 1, 0, 1, 1, 1, 1]}),
        "seeds_fraction": (DataError, r"seeds\[0\] = 1\.5", (X, Y), {"seeds": [1.5] + [1] * 7}),
        "lengths": (DataError, r"x has 8 values but y has 7", (X, Y[:7]), {}),
        "too_few_for_2_breaks": (DataError, r"8 fit point\(s\).*9 parameters", (X, Y),
                                 {"breaks": 2}),
        "unknown_model": (SpecError, r"unknown model 'bnsl-7'.*bnsl-0", (X, Y),
                          {"model": "bnsl-7"}),
        "malformed_toml": (SpecError, r"not valid TOML", (X, Y), {"model": bad_toml}),
        "breaks_conflict": (SpecError, r"breaks = 2.*'bnsl-1'", (X, Y),
                            {"breaks": 2, "model": "bnsl-1"}),
        "chains_zero": (ValueError, r"chains = 0", (X, Y), {"sampler": SamplerConfig(chains=0)}),
        "warmup_negative": (ValueError, r"warmup = -1", (X, Y),
            {"sampler": SamplerConfig(warmup=-1)}),
        "samples_zero": (ValueError, r"samples = 0", (X, Y), {"sampler": SamplerConfig(samples=0)}),
        "chains_fraction": (ValueError, r"chains = 2\.5", (X, Y),
            {"sampler": SamplerConfig(chains=2.5)}),
        "target_accept_high": (ValueError, r"target_accept = 1\.5", (X, Y),
                               {"sampler": SamplerConfig(target_accept=1.5)}),
        "target_accept_zero": (ValueError, r"target_accept = 0", (X, Y),
            {"sampler": SamplerConfig(target_accept=0.0)}),
        "tree_depth_zero": (ValueError, r"max_tree_depth = 0", (X, Y),
            {"sampler": SamplerConfig(max_tree_depth=0)}),
        "seed_negative": (ValueError, r"seed = -1", (X, Y), {"seed": -1}),
        "bad_space": (ValueError, r"space = 'logit'", (X, Y), {"space": "logit"}),
        "y_missing": (DataError, r"y is missing", (X,), {}),
        "x_huge": (DataError, r"x\[0\] = 1e\+306 is outside.*rescale x", (X * 1e305, Y), {}),
        "seeds_column_without_table": (DataError, r"seeds='n' names a column", (X, Y),
                                       {"seeds": "n"}),
    }


BAD_FIT_CASES = [
    "nan_x", "inf_y", "x_nonpositive", "y_zero_log", "seeds_zero", "seeds_fraction", "lengths",
    "too_few_for_2_breaks", "unknown_model", "malformed_toml", "breaks_conflict", "chains_zero",
    "warmup_negative", "samples_zero", "chains_fraction", "target_accept_high",
    "target_accept_zero", "tree_depth_zero", "seed_negative", "bad_space", "y_missing",
    "x_huge", "seeds_column_without_table",
]


@pytest.mark.parametrize("case", BAD_FIT_CASES)
def test_fit_rejects_bad_input_before_jax(case, tmp_path, no_sampler, caplog):
    err_type, pattern, args, kwargs = _bad_fit_calls(tmp_path)[case]
    with jax.log_compiles(True), caplog.at_level(logging.DEBUG, logger="jax"):
        with pytest.raises(err_type, match=pattern) as err:
            bnsl_bayes.fit(*args, **kwargs)
    assert not isinstance(err.value, AssertionError)
    assert isinstance(err.value, ValueError)
    compiles = [r.getMessage() for r in caplog.records if "ompil" in r.getMessage()]
    assert not compiles, compiles


def test_fit_bad_cases_are_all_listed(tmp_path):
    assert sorted(_bad_fit_calls(tmp_path)) == sorted(BAD_FIT_CASES)


def test_fit_with_good_input_reaches_the_sampler(no_sampler):
    """Control for the test above: valid input does get to NUTS (here: the stub)."""
    with pytest.raises(SamplerReached):
        bnsl_bayes.fit(X, Y)
    with pytest.raises(SamplerReached):  # y <= 0 without space: the linear space is chosen
        bnsl_bayes.fit(X, Y - 1.0)
    with pytest.raises(SamplerReached):
        bnsl_bayes.fit(Curve.from_arrays(X, Y), breaks=0,
                       sampler=SamplerConfig(chains=1, warmup=0, samples=1))


def test_compile_log_detects_compilation(caplog):
    """Control: the log used above does record a JAX compilation when one happens."""
    with jax.log_compiles(True), caplog.at_level(logging.DEBUG, logger="jax"):
        jax.jit(lambda v: v * 3.0 + 0.123456)(np.arange(3.0))
    assert any("ompil" in r.getMessage() for r in caplog.records)


def test_fit_rejects_curve_plus_arrays(no_sampler):
    with pytest.raises(DataError, match="either a Curve"):
        bnsl_bayes.fit(Curve.from_arrays(X, Y), Y)
