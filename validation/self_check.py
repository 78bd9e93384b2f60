"""Checks of the validation scripts themselves: their arithmetic on known inputs, their options.

These guard the scripts, not the package (the package's tests import nothing from here).
``--quick`` leaves out the one check that fits curves (about a minute to compile).

Usage: ``python -m validation self_check [--quick]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np

import bnsl_bayes as bb
from benchmarks._runner import run_checks


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def check_drift_budget_compare() -> None:
    """drift_budget.compare's agreement measures, on drifts with known values."""
    from validation.drift_budget import compare

    def d(delta, v=1.0):
        return bb.Drift(delta_hat=delta, v=v, x_cut=10.0, scored=3, space="log")

    ref = [d(3.0), d(0.5), d(-2.0), d(5.0)]          # widened: yes, no, yes, yes
    other = [d(3.0), d(2.0), d(-0.5), d(-3.0)]       # widened: yes, yes, no, yes
    out = compare(ref, other)
    assert _close(out["median_abs_dz"], np.median([0.0, 1.5, 1.5, 8.0])), out
    assert _close(out["max_abs_dz"], 8.0), out
    assert out["widened"] == 3, out
    assert _close(out["widened_agree"], 0.5), out
    # both widen on curves 0 and 3: |log(sqrt(8)/sqrt(8))| = 0, |log(sqrt(8)/sqrt(24))|
    expected = np.median([0.0, abs(math.log(math.sqrt(8.0) / math.sqrt(24.0)))])
    assert _close(out["median_abs_log_scale_ratio"], expected), out
    assert compare(ref, ref) == {"median_abs_dz": 0.0, "max_abs_dz": 0.0, "widened": 3,
                                 "widened_agree": 1.0, "median_abs_log_scale_ratio": 0.0}


def _refused(main, argv: list[str]) -> str:
    """What a script's ``main(argv)`` writes to standard error when it exits with status 2
    (argparse's refusal); an AssertionError when it accepts ``argv``."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            main(argv)
    except SystemExit as exc:
        assert exc.code == 2, exc.code
    else:
        raise AssertionError(f"{argv} was accepted")
    return err.getvalue()


def check_extrapolation_bad_option() -> None:
    """extrapolation --limit 0 exits 2 with a message naming the option."""
    from validation.extrapolation import main

    said = _refused(main, ["--limit", "0"])
    assert "--limit" in said, said


def check_extrapolation_json() -> None:
    """extrapolation's JSON and Markdown on 2 NMT curves at a small budget (fits curves)."""
    from validation.extrapolation import main

    with tempfile.TemporaryDirectory() as tmp:
        md = Path(tmp) / "table.md"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["--domain", "NMT", "--limit", "2", "--chains", "2", "--warmup", "50",
                       "--samples", "50", "--json", "--markdown", str(md)])
        assert rc == 0, rc
        res = json.loads(out.getvalue())
        for key in ("curves", "coverage50", "coverage90", "coverage90_per_curve",
                    "share_bayes_rmsle_le_point_fit", "median_rmsle_bayes",
                    "median_rmsle_point_fit", "time_s", "methods", "share_lowest_rmsle"):
            assert key in res, key
        assert len(res["curves"]) == res["n_curves"] == 2
        for key in ("coverage50", "coverage90", "coverage90_per_curve",
                    "share_bayes_rmsle_le_point_fit"):
            assert 0.0 <= res[key] <= 1.0, key
        assert res["median_rmsle_bayes"] >= 0 and res["time_s"] > 0
        assert math.isclose(sum(res["share_lowest_rmsle"].values()), 1.0)
        for rec in res["curves"]:
            assert rec["curve"].startswith("NMT/")
            ranks = sorted(m["rank"] for m in rec["methods"].values())
            assert ranks == list(range(1, 7))  # bayes, bnsl_point, M1-M4
            b = rec["methods"]["bayes"]
            assert 0 <= b["covered50"] <= b["covered90"] <= rec["n_held_out"]
        assert md.read_text().count("| NMT/") == 2


def check_prior_sensitivity_variants() -> None:
    """prior_sensitivity's variants each change exactly the prior they name; bad names exit 2."""
    from validation.prior_sensitivity import VARIANTS, group, main, variant_spec

    base = dict(bb.load_spec("bnsl-1").priors)
    for name, changes in VARIANTS.items():
        spec = variant_spec(name)
        differ = {k for k, p in spec.priors if p != base[k]}
        assert differ == set(changes), (name, differ)
        assert spec.breaks == 1 and spec.form == "bnsl", name
    assert group("IC/cal_10/MiX/L/16") == "IC-cal" and group("LM/val_loss/1.68e+07") == "LM"
    said = _refused(main, ["--variants", "base,nope"])
    assert "nope" in said, said


def check_discrepancy_cv_curvature() -> None:
    """discrepancy_cv.score's curvature discount on a curve with a known law past the data:
    m = 0 keeps the law, m = 1 follows its straight continuation, "uniform" lies between."""
    from validation.discrepancy_cv import score

    du = np.array([0.5, 1.0])
    law = np.log(0.5) - 0.2 * du - 0.1 * du**2           # log mu past the data, bending down
    straight = np.log(0.5) - 0.2 * du                    # end value + slope * (u - 1)
    n = 400
    c = {"lm": np.tile(law, (n, 1)), "sigma": np.full(n, 0.01), "du": du,
         "end": np.full(n, np.log(0.5)), "slope": np.full(n, -0.2)}
    on_law = score({**c, "ly": law}, tau=0.0)
    assert on_law["rmsle"] < 1e-12 and on_law["cov"][0] == 1.0, on_law
    on_line = score({**c, "ly": straight}, tau=0.0, m=1)
    assert on_line["rmsle"] < 1e-12, on_line
    mid = score({**c, "ly": straight}, tau=0.0, m="uniform")["rmsle"]
    off = float(np.sqrt(np.mean((law - straight) ** 2)))
    assert 0.3 * off < mid < 0.7 * off, (mid, off)      # the median of m ~ U(0, 1) is 1/2


def check_discrepancy_cv_mixture() -> None:
    """discrepancy_cv.mixed: w = 0 and w = 1 give one fit's draws, w = 0.3 that share of the
    other's; the median of a half-half mixture of two point masses lies between them."""
    from validation.discrepancy_cv import mixed, score

    n, du = 100, np.array([0.5, 1.0])
    one = {"lm": np.zeros((n, 2)), "sigma": np.full(n, 0.01), "end": np.zeros(n),
           "slope": np.zeros(n), "du": du, "ly": np.zeros(2), "key": "x"}
    zero = {**one, "lm": np.ones((n, 2)), "sigma": np.full(n, 0.02)}
    assert np.array_equal(mixed(one, zero, 0.0)["lm"], one["lm"])
    assert np.array_equal(mixed(one, zero, 1.0)["sigma"], zero["sigma"])
    m = mixed(one, zero, 0.3)
    assert m["lm"].shape == (n, 2) and _close(float(m["lm"][:, 0].mean()), 0.3), m["lm"]
    assert _close(score(mixed(one, zero, 0.5), tau=0.0)["rmsle"], 0.5)


def check_nslpfn_held_out_summary() -> None:
    """nslpfn --held-out: MSCE of one effective point (covered at every level: mean (1 - p)^2;
    calibrated: mean p (1 - p)) and the held-out counts of the bundled NMT curves (one each)."""
    from validation.nslpfn import held_out_summary

    info = held_out_summary(["NMT"], levels=[0.5, 0.9])
    assert _close(info["floor_covered"], (0.25 + 0.01) / 2), info
    assert _close(info["calibrated_one_point"], (0.25 + 0.09) / 2), info
    assert len(info["curves"]) == 5, info
    assert all(c["n_held_out"] == 1 and c["distinct"] == 1 and c["spread"] == 0.0
               for c in info["curves"].values()), info


def check_drift_cv_choice() -> None:
    """drift_cv's grouped choice: each group gets the candidate best on the other groups'
    curves (lowest mean MSCE, highest mean LL), and is scored with it."""
    from validation.discrepancy_cv import choose_by_group

    keys = ["LM/a", "LM/b", "NMT/a", "BB/a"]
    # candidate 0 is best on LM, candidate 1 on NMT and BB
    msce = [{"LM/a": 0.0, "LM/b": 0.0, "NMT/a": 0.5, "BB/a": 0.5},
            {"LM/a": 0.3, "LM/b": 0.3, "NMT/a": 0.0, "BB/a": 0.0}]
    table = [{k: {"msce": m[k], "ll": -m[k]} for k in keys} for m in msce]
    for how in ("msce", "ll"):
        held, chosen = choose_by_group(keys, ["s0", "s1"], table, how)
        # without LM, candidate 1 wins; without NMT (or BB), LM's two curves favour candidate 0
        assert chosen == {"LM": "s1", "NMT": "s0", "BB": "s0"}, chosen
        assert held["LM/a"] is table[1]["LM/a"] and held["BB/a"] is table[0]["BB/a"], held


def check_evidence_bad_option() -> None:
    """evidence_check --draws 10 exits 2 with a message naming the option."""
    from validation.evidence_check import main

    said = _refused(main, ["--draws", "10"])
    assert "--draws" in said, said


CHEAP = (check_drift_budget_compare, check_drift_cv_choice, check_extrapolation_bad_option,
         check_prior_sensitivity_variants, check_discrepancy_cv_curvature,
         check_discrepancy_cv_mixture, check_nslpfn_held_out_summary,
         check_evidence_bad_option)
FITTING = (check_extrapolation_json,)


def main(argv: list[str] | None = None) -> int:
    return run_checks(__doc__, CHEAP, FITTING, argv)
