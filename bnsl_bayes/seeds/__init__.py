"""The seeds study: how many seeds before a break, and how close to it, to predict past it.

A planned experiment measures a metric at a grid of x, each point the mean over ``seeds``
training runs, and fits a BNSL to the points up to a cutoff ``x_max``. :func:`seeds_study`
simulates that experiment many times from a known law (or from the posterior of a fit, whose
draws stand in for the truth), fits every simulated data set and records, at target x past the
cutoff, how far the posterior median is from the truth, whether the central band covers it and
how wide the band is. The fits of a study are many small independent problems: they run through
:func:`bnsl_bayes.fit_many`, one compiled sampler for all of them.

>>> import bnsl_bayes as bb
>>> study = bb.seeds_study(**bb.seeds.example("four-digit-addition", quick=True))  # doctest: +SKIP
>>> study.summary          # one row per (seeds, x_max)                           # doctest: +SKIP
>>> study.required_seeds   # the smallest seed count per x_max that extrapolates   # doctest: +SKIP

Simulation, in the fits' own noise model: the value at x_j of repeat r is
``exp(log mu(x_j) + sigma / sqrt(seeds) * z_rj)`` with ``z_rj ~ Normal(0, 1)``, i.e. log y is the
mean of ``seeds`` runs with per-run noise sd ``sigma`` of log y. The same ``z_r`` (and, for a
Fit as truth, the same posterior draw) serve repeat ``r`` in every cell (common random numbers),
so cells differ only by their design; within a cell the repeats are independent.

Measures at each target x (all in log space): ``abs_log_error = |log median - log truth|``,
``covered`` (the central ``prob`` credible band of the mean curve holds the truth) and
``rel_width = log(hi / lo)`` (about the band's width relative to the truth for narrow bands).
The band is that of the law itself, without the model's slope error past the data
(:mod:`bnsl_bayes.discrepancy`): the simulated truth is a law, and the study asks how well the
data pin it, not how far a real curve may stray from any law.
A repeat *extrapolates* when its error is at most ``tolerance`` at every target; a cell meets the
tolerance when at least ``min_share`` of its repeats extrapolate.
"""

from .plots import plot_bands, plot_heatmap, plot_study
from .presets import EXAMPLES, FOUR_DIGIT_ADDITION_SIGMA, example
from .study import (
    STUDY_SAMPLER,
    SUMMARY_COLUMNS,
    TABLE_COLUMNS,
    SeedsStudy,
    required_seeds,
    seeds_study,
    summarize,
)

__all__ = [
    "EXAMPLES",
    "FOUR_DIGIT_ADDITION_SIGMA",
    "STUDY_SAMPLER",
    "SUMMARY_COLUMNS",
    "TABLE_COLUMNS",
    "SeedsStudy",
    "example",
    "plot_bands",
    "plot_heatmap",
    "plot_study",
    "required_seeds",
    "seeds_study",
    "summarize",
]
