"""Bundled seeds studies (the paper's 4-digit-addition experiment)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets import FOUR_DIGIT_ADDITION_TRUTH
from ..sampling.nuts import SamplerConfig

__all__ = ["EXAMPLES", "FOUR_DIGIT_ADDITION_SIGMA", "example"]

#: Per-seed noise sd of log y of the real 4-digit-addition runs: the posterior median of sigma
#: of the bundled curve fitted with 1000 seeds per point (``python -m validation
#: four_digit_noise``; docs/validation.md says what the number does and does not mean).
FOUR_DIGIT_ADDITION_SIGMA: float = 0.0236


def _four_digit_addition(quick: bool) -> dict[str, Any]:

    design: dict[str, Any] = {
        "truth": FOUR_DIGIT_ADDITION_TRUTH,
        "sigma": FOUR_DIGIT_ADDITION_SIGMA,
        # every 15 from 15 to 690: 390 and 405 are grid points, so the cutoffs 390 and 405
        # differ by one point as in the paper's noiseless grid (which has every integer)
        "grid": np.arange(15.0, 700.0, 15.0),
        # the real curve's held-out points, then further past the break
        "targets": [800.0, 928.0, 1500.0, 4000.0],
        "seed_counts": [1, 10, 100, 1000, 10_000, 100_000],
        "cutoffs": [300.0, 390.0, 405.0, 500.0, 700.0],
        "repeats": 20,
        "seed": 0,
    }
    if quick:
        design.update(seed_counts=[10, 100_000], cutoffs=[390.0, 700.0], repeats=2,
                      sampler=SamplerConfig())
    return design


#: Bundled studies: name to a function ``quick -> keyword arguments of seeds_study``.
EXAMPLES = {"four-digit-addition": _four_digit_addition}


def example(name: str, *, quick: bool = False) -> dict[str, Any]:
    """The keyword arguments of :func:`seeds_study` for a bundled study.

    ``"four-digit-addition"``: the paper's limit-of-predictability experiment (Section 6) with
    finite seeds: the noiseless law of :data:`bnsl_bayes.datasets.FOUR_DIGIT_ADDITION_TRUTH`,
    per-run noise :data:`FOUR_DIGIT_ADDITION_SIGMA` (the real 4-digit runs), a grid every 15
    from 15 to 690, cutoffs 300, 390, 405, 500 and 700 around the break, 1 to 10^5 seeds, targets
    800, 928, 1500 and 4000, 20 repeats. ``quick=True`` gives a 2 x 2 x 2 version (``--quick``)
    with :func:`bnsl_bayes.fit`'s own sampler, so that its fits converge where the posterior
    has one mode (past the break); before the break they do not, and the study says so.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones).
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown seeds example {name!r}; known: "
                         f"{', '.join(map(repr, EXAMPLES))}")
    return EXAMPLES[name](quick)


