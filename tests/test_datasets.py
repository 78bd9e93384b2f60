"""Tests of the bundled datasets (loading only, no sampling)."""

from __future__ import annotations

import hashlib
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from bnsl_bayes import datasets
from bnsl_bayes.data import Curve, DataError

NAMES = ["four_digit_addition", "four_digit_addition_noiseless", "revisiting"]


@pytest.fixture(scope="module")
def revisiting() -> datasets.CurveCollection:
    return datasets.load("revisiting")


def _direct_bnsl(x: np.ndarray, t: dict) -> np.ndarray:
    """The law by its plain formula, in numpy float64."""
    y = t["b"] * x ** (-t["c0"])
    for c, d, f in zip(t["c"], t["d"], t["f"], strict=True):
        y = y * (1.0 + (x / d) ** (1.0 / f)) ** (-c * f)
    return t["a"] + y


# ---------------------------------------------------------------------------- listing
def test_list_and_describe():
    assert datasets.list() == NAMES
    assert datasets.list_datasets() == NAMES
    desc = datasets.describe()
    assert list(desc) == NAMES
    for text in desc.values():
        assert isinstance(text, str) and text and "\n" not in text


def test_list_alias_does_not_shadow_builtin():
    ns: dict = {}
    exec("from bnsl_bayes.datasets import *", ns)
    assert "list" not in ns
    assert "list" in dir(datasets)
    with pytest.raises(AttributeError):
        datasets.no_such_attribute  # noqa: B018


def test_csv_files_are_shipped():
    root = files("bnsl_bayes.datasets")
    for name in ("four_digit_addition.csv", "revisiting_vision.csv", "revisiting_lang.csv",
                 "README.md"):
        assert root.joinpath(name).is_file(), name


def test_truth_constants():
    t = datasets.FOUR_DIGIT_ADDITION_TRUTH
    assert set(t) == {"a", "b", "c0", "c", "d", "f"}
    assert t["a"] == 0.41388453071629455
    assert t["d"] == [612.5836172918001]
    assert len(t["c"]) == len(t["d"]) == len(t["f"]) == 1


# ---------------------------------------------------------------------------- 4-digit addition
def test_four_digit_addition():
    c = datasets.load("four_digit_addition")
    assert isinstance(c, Curve)
    assert c.name == "four_digit_addition"
    assert c.n_points == 17
    assert int(c.fit_mask.sum()) == 14
    np.testing.assert_array_equal(c.x[c.held_out], [800.0, 864.0, 928.0])
    assert c.x[c.fit_mask].max() < c.x[c.held_out].min()
    assert c.x[0] == 160.0 and c.y[0] == pytest.approx(2.13809046)
    assert (c.y > 0).all() and (c.seeds == 1).all()


def test_four_digit_addition_fit_upto():
    c = datasets.load("four_digit_addition", fit_upto=672)
    assert int(c.fit_mask.sum()) == 13


def test_noiseless_matches_direct_formula():
    c = datasets.load("four_digit_addition_noiseless")
    assert c.name == "four_digit_addition_noiseless"
    assert c.y.dtype == np.float64
    np.testing.assert_array_equal(c.x, np.arange(1, 4096, dtype=float))
    xs = np.array([1.0, 10.0, 100.0, 405.0, 612.0, 700.0, 1000.0, 4095.0])
    idx = xs.astype(int) - 1
    want = _direct_bnsl(xs, datasets.FOUR_DIGIT_ADDITION_TRUTH)
    np.testing.assert_allclose(c.y[idx], want, rtol=1e-10, atol=0)


def test_noiseless_default_split():
    c = datasets.load("four_digit_addition_noiseless")
    assert c.n_points == 4095
    assert int(c.fit_mask.sum()) == 405
    assert c.x[c.fit_mask].max() == 405.0
    assert c.x[c.held_out].min() == 406.0


def test_noiseless_fit_upto():
    c = datasets.load("four_digit_addition_noiseless", fit_upto=390)
    assert int(c.fit_mask.sum()) == 390
    with pytest.raises(DataError, match="fit_upto"):
        datasets.load("four_digit_addition_noiseless", fit_upto=-1)


def test_addition_curves_know_their_axes():
    """The axis names of the README in this package's datasets folder, kept by fit_upto."""
    for name in ("four_digit_addition", "four_digit_addition_noiseless"):
        for c in (datasets.load(name), datasets.load(name, fit_upto=700)):
            assert (c.x_label, c.y_label) == ("training set size", "test cross-entropy"), name


# ---------------------------------------------------------------------------- revisiting
def test_revisiting_curves_know_their_axes(revisiting):
    want = {"IC": "few-shot error rate", "NMT": "log-perplexity", "LM": "validation log-loss",
            "BB": "BIG-bench metric"}
    for key, curve in revisiting.items():
        assert curve.x_label == "examples seen", key
        assert curve.y_label == want[revisiting.info(key).domain], key
    one = datasets.load("revisiting/LM/val_loss/1.68e+07")
    assert (one.x_label, one.y_label) == ("examples seen", "validation log-loss")


def test_revisiting_counts(revisiting):
    assert isinstance(revisiting, datasets.CurveCollection)
    assert len(revisiting) == 92
    domains = [k.split("/", 1)[0] for k in revisiting]
    counts = {d: domains.count(d) for d in ("IC", "LM", "BB", "NMT")}
    assert counts == {"IC": 72, "LM": 5, "BB": 10, "NMT": 5}
    assert revisiting.domain_counts() == {"IC": 72, "NMT": 5, "LM": 5, "BB": 10}
    assert "IC/bird_5/MiX/B/16" in revisiting
    assert revisiting.info("IC/bird_5/MiX/B/16") == datasets.CurveInfo("IC", "bird_5", "MiX/B/16")
    for key, curve in revisiting.items():
        assert isinstance(curve, Curve)
        assert curve.name == key
        assert (np.diff(curve.x) > 0).all()


def test_revisiting_points_match_files(revisiting):
    """Every distinct row becomes one point with seeds 1: no row is merged with another."""
    root = files("bnsl_bayes.datasets")
    with root.joinpath("revisiting_vision.csv").open() as fh:
        vision = pd.read_csv(fh, dtype=str)
    with root.joinpath("revisiting_lang.csv").open() as fh:
        lang = pd.read_csv(fh, dtype=str)
    assert len(vision) == 18883 and not vision.duplicated().any()
    assert len(lang) == 1399
    lm = lang[lang["Domain"] == "LM"]
    # every LM row appears exactly 4 times, and only LM rows repeat
    assert (lm.value_counts() == 4).all()
    assert not lang[lang["Domain"] != "LM"].duplicated().any()
    total = sum(c.n_points for c in revisiting.values())
    assert total == len(vision) + len(lang) - 3 * len(lm) // 4
    for curve in revisiting.values():
        assert (curve.seeds == 1).all()


def test_revisiting_points_per_domain(revisiting):
    lm = revisiting.select(domain="LM")
    assert sorted(c.n_points for c in lm.values()) == [21, 21, 24, 44, 119]
    for curve in lm.values():
        assert len(np.unique(curve.x)) == curve.n_points  # no duplicated x after dedup
    for curve in revisiting.select(domain="NMT").values():
        assert int(curve.held_out.sum()) == 1
    for curve in revisiting.select(domain="BB").values():
        assert (curve.n_points, int(curve.fit_mask.sum())) == (43, 19)
    ic = revisiting.select(domain="IC")
    assert min(c.n_points for c in ic.values()) == 13
    assert max(c.n_points for c in ic.values()) == 780
    assert min(int(c.fit_mask.sum()) for c in ic.values()) == 10
    assert max(int(c.fit_mask.sum()) for c in ic.values()) == 71


def test_revisiting_held_out_after_fit(revisiting):
    for key, curve in revisiting.items():
        assert curve.held_out.any() and curve.fit_mask.any(), key
        assert curve.x[curve.held_out].min() > curve.x[curve.fit_mask].max(), key


def test_revisiting_values(revisiting):
    ys = np.concatenate([c.y for c in revisiting.values()])
    assert (ys > 0).all() and np.isfinite(ys).all()
    assert all((c.x > 0).all() for c in revisiting.values())
    # every curve ends lower than it starts (BB included)
    assert all(c.y[-1] < c.y[0] for c in revisiting.values())


def test_revisiting_single_curve(revisiting):
    for key in ("IC/bird_5/MiX/B/16", "LM/val_loss/1.68e+07", "NMT/log_perplexity/6 Enc, 6 Dec",
                "BB/('date', '1-shot')/262M"):
        one = datasets.load(f"revisiting/{key}")
        assert isinstance(one, Curve)
        assert one.name == key
        ref = revisiting[key]
        np.testing.assert_array_equal(one.x, ref.x)
        np.testing.assert_array_equal(one.y, ref.y)
        np.testing.assert_array_equal(one.held_out, ref.held_out)


def test_revisiting_single_curve_fit_upto(revisiting):
    key = "NMT/log_perplexity/6 Enc, 6 Dec"
    ref = revisiting[key]
    one = datasets.load(f"revisiting/{key}", fit_upto=float(ref.x[5]))
    assert int(one.fit_mask.sum()) == 6
    with pytest.raises(DataError, match="one curve"):
        datasets.load("revisiting", fit_upto=1e6)


def test_revisiting_select(revisiting):
    ic = revisiting.select(domain="IC", task="bird_5")
    assert len(ic) == 6
    vit = revisiting.select(model="ViT/B/16")
    assert len(vit) == 12
    big = revisiting.select(where=lambda k, c: c.n_points > 700)
    assert all(c.n_points > 700 for c in big.values())


def test_collection_is_read_only_mapping(revisiting):
    with pytest.raises(TypeError):
        revisiting["x"] = revisiting["IC/bird_5/MiX/B/16"]  # type: ignore[index]
    with pytest.raises(KeyError, match="did you mean"):
        revisiting["IC/bird_5/MiX/B/17"]


# ---------------------------------------------------------------------------- errors
def test_unknown_name():
    with pytest.raises(ValueError, match="unknown dataset 'nope'") as info:
        datasets.load("nope")
    assert isinstance(info.value, DataError)
    msg = str(info.value)
    for name in NAMES:
        assert repr(name) in msg
    assert "Fix" in msg


def test_unknown_name_suggests():
    with pytest.raises(DataError, match="Did you mean 'four_digit_addition'"):
        datasets.load("four_digit_adition")


def test_unknown_revisiting_curve():
    with pytest.raises(DataError, match="no Revisiting curve") as info:
        datasets.load("revisiting/IC/bird_5/MiX/B/17")
    assert "revisiting/IC/bird_5/MiX/B/16" in str(info.value)


def test_name_must_be_str():
    with pytest.raises(DataError, match="string"):
        datasets.load(3)  # type: ignore[arg-type]


def test_four_digit_csv_unchanged():
    data = files("bnsl_bayes.datasets").joinpath("four_digit_addition.csv").read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "ecbb4022650a36d2a91b3a1ad389d368eaa32ed2b229fe9330ed851f6b1d9e95"
    )
