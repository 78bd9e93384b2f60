"""Simulation-based calibration, quick version (``bnsl_bayes.sbc.quick``).

bnsl-0 and bnsl-1 fitted to curves simulated from their own prior must give uniform ranks of
every true quantity among the posterior draws; the negative control (curves of several seeds
per point fitted as one run per point) must fail the same check, which shows that the check has
the power to fail. See :mod:`bnsl_bayes.sbc` for what is simulated and compared.
"""

from __future__ import annotations

import pytest

from bnsl_bayes.sbc import quick


@pytest.fixture(scope="module")
def sbc_quick() -> dict:
    return quick(seed=0)


@pytest.mark.slow
def test_sbc_correct_forms_pass(sbc_quick):
    for form, r in sbc_quick["forms"].items():
        worst = min(r["parameters"].items(), key=lambda kv: kv[1]["p_value"])
        assert r["pass"], (form, r["p_value"], worst)
    assert set(sbc_quick["forms"]) == {"bnsl-0", "bnsl-1"}


@pytest.mark.slow
def test_sbc_negative_control_fails(sbc_quick):
    neg = sbc_quick["negative_control"]
    assert not neg["pass"], neg["p_value"]
    assert neg["p_value"] < 1e-3


@pytest.mark.slow
def test_extrapolation_bands_are_calibrated(sbc_quick):
    """Past the last fit point (up to 3x the fit range's log-width), the 90% bands of
    ``Fit.predict`` cover the truth at 0.9 within 3 binomial sd of the pooled simulations."""
    cov = sbc_quick["extrapolation_coverage"]
    assert cov["fits"] == 96 and cov["u"][-1] == 3.0
    tol = 3 * cov["binomial_sd"]
    for key in ("mean_coverage", "pred_coverage"):
        for u, c in zip(cov["u"], cov[key], strict=True):
            assert abs(c - 0.9) <= tol, (key, u, c, tol)
