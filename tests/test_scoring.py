"""Scores of extrapolations: NSL-PFN's calibration error and the paper's RMSLE."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnsl_bayes.scoring import NSL_PFN_LEVELS, msce, rmsle


def test_msce_is_zero_for_nominal_coverage_and_exact_otherwise():
    assert msce(NSL_PFN_LEVELS) == 0.0
    # every interval covers nothing: the mean of the squared levels
    expected = float(np.mean(np.square(NSL_PFN_LEVELS)))
    assert msce(np.zeros(7)) == pytest.approx(expected, rel=1e-15)
    assert msce([0.4, 1.0], levels=[0.5, 0.9]) == pytest.approx((0.01 + 0.01) / 2)


def test_msce_refuses_a_coverage_per_level_mismatch():
    with pytest.raises(ValueError, match="one per level"):
        msce([0.5, 0.6])


def test_rmsle_of_a_known_error():
    y = np.array([1.0, 10.0, 100.0])
    assert rmsle(y * math.e, y) == pytest.approx(1.0)
    assert rmsle(y, y) == 0.0
