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
A repeat *extrapolates* when its error is at most ``tolerance`` at every target; a cell meets the
tolerance when at least ``min_share`` of its repeats extrapolate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .bands import curve_draws
from .data import Curve
from .result import Fit
from .spec import ModelSpec

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "EXAMPLES",
    "FOUR_DIGIT_ADDITION_SIGMA",
    "SeedsStudy",
    "example",
    "plot_bands",
    "plot_heatmap",
    "plot_study",
    "seeds_study",
]

#: Per-seed noise sd of log y of the real 4-digit-addition runs: the posterior median of sigma
#: of ``benchmarks/four_digit_noise.py`` (the bundled curve fitted with 1000 seeds per point,
#: 4 chains x (1000 + 1000), seed 0; it printed median 0.02358, 90% band 0.0168 to 0.0364, max
#: r_hat 1.003, 0 divergences). See that script for what the number does and does not mean.
FOUR_DIGIT_ADDITION_SIGMA: float = 0.0236

#: Columns of :attr:`SeedsStudy.table`.
TABLE_COLUMNS = ("seeds", "x_max", "repeat", "n_fit", "target", "truth", "median", "lo", "hi",
                 "abs_log_error", "covered", "rel_width", "divergences", "max_r_hat")
#: Columns of :attr:`SeedsStudy.summary`.
SUMMARY_COLUMNS = ("seeds", "x_max", "repeats", "coverage", "median_abs_log_error",
                   "median_rel_width", "share_extrapolate", "meets_tolerance", "divergences",
                   "share_r_hat_over_1_01")
_LAW_KEYS = ("a", "b", "c0", "c", "d", "f")


# ---------------------------------------------------------------------------- the result
@dataclass(eq=False)
class SeedsStudy:
    """The outcome of :func:`seeds_study`.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy, one row per (seeds, x_max, repeat, target): columns ``seeds, x_max, repeat, n_fit,
        target, truth, median, lo, hi, abs_log_error, covered, rel_width, divergences,
        max_r_hat`` (``divergences`` and ``max_r_hat``: post-warmup divergent transitions and
        the largest rank-normalized r_hat of that repeat's fit, :meth:`Fit.diagnostics`).
    summary : pandas.DataFrame
        One row per (seeds, x_max) cell, from ``table``: ``repeats``; ``coverage`` (share of
        (repeat, target) pairs whose band covers the truth); ``median_abs_log_error`` and
        ``median_rel_width`` (medians over repeats and targets); ``share_extrapolate`` (share of
        repeats whose error is within ``tolerance`` at every target); ``meets_tolerance``
        (``share_extrapolate >= min_share``); ``divergences`` (summed over the cell's fits);
        ``share_r_hat_over_1_01`` (share of the cell's fits whose chains disagree, r_hat >
        1.01: there the band mixes modes the chains did not cross between, and its coverage
        is not that of the posterior).
    required_seeds : pandas.DataFrame
        One row per x_max: ``x_max`` and ``seeds``, the smallest seed count of the study whose
        cell meets the tolerance (NaN when none does).
    fits : dict
        The fit of repeat 0 of each cell, keyed ``(seeds, x_max)`` (for :func:`plot_bands`).
    truths : list of dict
        The true law of each repeat (``a, b, c0, c, d, f`` and ``sigma``).
    grid : numpy.ndarray
        The planned x of the fit points (each cell fits those <= its x_max).
    targets : numpy.ndarray
        The x at which the predictions are judged.
    settings : dict
        ``prob, tolerance, min_share, seed, breaks`` and the sampler settings.
    time_s : float
        Wall time of the study (simulation, sampling and measures).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    required_seeds: pd.DataFrame
    fits: dict[tuple[int, float], Fit]
    truths: list[dict[str, Any]]
    grid: np.ndarray
    targets: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)
    time_s: float = 0.0

    @property
    def seed_counts(self) -> list[int]:
        """The seed counts of the study, ascending."""
        return sorted({int(v) for v in self.summary["seeds"]})

    @property
    def cutoffs(self) -> list[float]:
        """The cutoffs x_max of the study, ascending."""
        return sorted({float(v) for v in self.summary["x_max"]})

    def to_csv(self, path: str | PathLike) -> Path:
        """Write the tidy :attr:`table` to a CSV file and return its path."""
        path = Path(path)
        self.table.to_csv(path, index=False)
        return path

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready object.

        Returns
        -------
        dict
            ``cells``: one ``{"seeds", "x_max", "repeats", "coverage90", "median_abs_log_error",
            "median_rel_width", "share_extrapolate", "divergences", "share_r_hat_over_1_01"}``
            per cell (``coverage90`` is the coverage
            of the central ``prob`` band, 0.9 unless the study says otherwise in ``prob``);
            ``required_seeds`` (x_max to the smallest seed count meeting the tolerance, or
            None); ``prob``, ``tolerance``, ``min_share``, ``targets``, ``time_s``.
        """
        cells = []
        for row in self.summary.itertuples(index=False):
            cells.append({
                "seeds": int(row.seeds),
                "x_max": float(row.x_max),
                "repeats": int(row.repeats),
                "coverage90": _num(row.coverage),
                "median_abs_log_error": _num(row.median_abs_log_error),
                "median_rel_width": _num(row.median_rel_width),
                "share_extrapolate": _num(row.share_extrapolate),
                "divergences": int(row.divergences),
                "share_r_hat_over_1_01": _num(row.share_r_hat_over_1_01),
            })
        req = [{"x_max": float(r.x_max),
                "seeds": int(r.seeds) if np.isfinite(r.seeds) else None}
               for r in self.required_seeds.itertuples(index=False)]
        return {
            "cells": cells,
            "required_seeds": req,
            "prob": self.settings.get("prob"),
            "tolerance": self.settings.get("tolerance"),
            "min_share": self.settings.get("min_share"),
            "targets": [float(v) for v in self.targets],
            "time_s": float(self.time_s),
        }

    def report(self) -> str:
        """A readable summary: the cells and the seeds needed per cutoff."""
        s = self.settings
        fmt = {"coverage": "{:.2f}".format, "median_abs_log_error": "{:.3g}".format,
               "median_rel_width": "{:.3g}".format, "share_extrapolate": "{:.2f}".format,
               "share_r_hat_over_1_01": "{:.2f}".format}
        lines = [
            f"seeds study: {len(self.seed_counts)} seed counts x {len(self.cutoffs)} cutoffs x "
            f"{int(self.summary['repeats'].max())} repeats, targets "
            f"{', '.join(f'{v:g}' for v in self.targets)}; {s.get('prob', 0.9):.0%} bands, "
            f"tolerance {s.get('tolerance')} (|log error| at every target), "
            f"min share {s.get('min_share')}",
            self.summary.to_string(index=False, formatters=fmt),
            "",
            "smallest seed count per cutoff that meets the tolerance (NaN: none in the study):",
            self.required_seeds.to_string(index=False),
            f"time: {self.time_s:.1f} s",
        ]
        return "\n".join(lines)

    def plot(self, **kwargs: Any) -> Figure:
        """Heat maps and representative bands; see :func:`plot_study`."""
        return plot_study(self, **kwargs)


def _num(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


# ---------------------------------------------------------------------------- inputs
def _law_from_mapping(truth: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(truth) - set(_LAW_KEYS) - {"sigma"})
    if unknown:
        raise ValueError(f"truth has unknown key(s) {unknown}; expected a, b, c0 and, per break, "
                         f"lists c, d, f")
    missing = [k for k in ("a", "b", "c0") if k not in truth]
    if missing:
        raise ValueError(f"truth lacks {missing}; give a, b, c0 (and lists c, d, f per break)")
    law: dict[str, Any] = {}
    for k in ("a", "b", "c0"):
        try:
            law[k] = float(truth[k])
        except (TypeError, ValueError):
            raise ValueError(f"truth[{k!r}] = {truth[k]!r}: expected a number") from None
    per = {}
    for k in ("c", "d", "f"):
        try:
            per[k] = np.atleast_1d(np.asarray(truth.get(k, []), dtype=float)).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"truth[{k!r}] = {truth[k]!r}: expected a list of numbers") from None
    if len({v.size for v in per.values()}) != 1:
        raise ValueError(f"truth: c, d, f must have one value per break each, got lengths "
                         f"{[v.size for v in per.values()]}")
    law.update(per)
    values = np.concatenate([[law["a"], law["b"], law["c0"]], *per.values()])
    if not np.all(np.isfinite(values)):
        raise ValueError("truth: every parameter must be finite")
    if law["b"] <= 0 or np.any(per["d"] <= 0) or np.any(per["f"] <= 0):
        raise ValueError("truth: b, every d and every f must be > 0")
    return law


def _positive_list(values: Any, name: str, *, whole: bool = False) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {values!r}: expected a list of numbers") from None
    if arr.size == 0:
        raise ValueError(f"{name} is empty: give at least one value")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if whole:
        bad |= arr < 1
        bad |= arr != np.round(arr)
    if bad.any():
        v = arr[np.flatnonzero(bad)[0]]
        need = "a whole number >= 1" if whole else "a finite number > 0"
        raise ValueError(f"{name} holds {v:g}: each must be {need}")
    return arr


def _whole(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} = {value!r}: expected a whole number >= {minimum}")
    return int(value)


def _law_mu(law: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    d = {"a": np.array([law["a"]]), "log_b": np.array([math.log(law["b"])]),
         "c0": np.array([law["c0"]]), "c": np.asarray(law["c"], dtype=float)[None, :],
         "d": np.asarray(law["d"], dtype=float)[None, :],
         "f": np.asarray(law["f"], dtype=float)[None, :]}
    return curve_draws(d, x)[0]


# ---------------------------------------------------------------------------- the study
def seeds_study(
    truth: Mapping[str, Any] | Fit,
    *,
    grid: ArrayLike,
    targets: ArrayLike,
    seed_counts: Sequence[int] | ArrayLike,
    cutoffs: Sequence[float] | ArrayLike,
    sigma: float | None = None,
    repeats: int = 20,
    seed: int = 0,
    breaks: int | None = None,
    model: str | PathLike | ModelSpec | None = None,
    prob: float = 0.9,
    tolerance: float = 0.05,
    min_share: float = 0.9,
    chains: int = 2,
    warmup: int = 300,
    samples: int = 300,
    target_accept: float = 0.95,
    batch_size: int | None = None,
) -> SeedsStudy:
    """Simulate a planned scaling experiment many times, fit each, and judge the extrapolation.

    Parameters
    ----------
    truth : mapping or Fit
        The true law, ``{"a", "b", "c0", "c": [...], "d": [...], "f": [...]}`` (as
        :data:`bnsl_bayes.datasets.FOUR_DIGIT_ADDITION_TRUTH`), or a fitted
        :class:`~bnsl_bayes.Fit` (log noise space): repeat ``r`` then takes one posterior draw
        (drawn without replacement when there are enough) as its truth.
    grid : array_like
        The planned x of the fit points (> 0).
    targets : array_like
        x at which each fit's prediction is judged, usually past every cutoff.
    seed_counts : sequence of int
        Runs averaged into each point (whole numbers >= 1), e.g. ``[1, 10, 100, 1000]``.
    cutoffs : sequence of float
        Fit cutoffs x_max: a cell fits the grid points with x <= x_max.
    sigma : float, optional
        Per-run noise sd of log y. Default: from ``truth`` when it is a Fit (the posterior
        draw of sigma that goes with each repeat's law); required for a mapping.
    repeats : int
        Independent simulated data sets per cell.
    seed : int
        Seeds the simulation; fit ``i`` of the study (cells in order of seeds, then x_max, then
        repeat) samples with seed ``seed + i``.
    breaks : int, optional
        Breaks of the fitted form (default: those of the truth, unless ``model`` is given).
    model : str, path or ModelSpec, optional
        The fitted model (priors), as in :func:`bnsl_bayes.fit`; default ``bnsl-{breaks}``.
    prob : float
        Probability of the central credible band of the mean curve.
    tolerance : float
        Largest |log error| of the median at every target for a repeat to count as extrapolating
        (0.05 is about 5%).
    min_share : float
        Share of repeats that must extrapolate for a cell to meet the tolerance.
    chains, warmup, samples, target_accept, batch_size
        Sampler settings, the same for every fit (see :func:`bnsl_bayes.fit_many`). The default
        ``batch_size`` is fit_many's: one fit per compiled call on a CPU (a vectorized NUTS step
        waits for the deepest tree of its batch), the whole study in one call on a GPU.

    Returns
    -------
    SeedsStudy

    Raises
    ------
    ValueError
        Bad inputs (empty lists, seeds < 1, a cutoff with too few grid points below it, a
        non-positive sigma, a Fit in linear space, ...), all before any sampling.
    """
    from .fitting import fit_many, resolve_model

    t0 = time.perf_counter()
    grid_x = np.unique(_positive_list(grid, "grid"))
    target_x = _positive_list(targets, "targets")
    counts = np.unique(_positive_list(seed_counts, "seed_counts", whole=True)).astype(np.int64)
    cut = np.unique(_positive_list(cutoffs, "cutoffs"))
    repeats = _whole(repeats, "repeats", 1)
    seed = _whole(seed, "seed", 0)
    for name, v, lo, hi in (("prob", prob, 0, 1), ("min_share", min_share, 0, 1)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo < v <= hi \
                or (name == "prob" and v >= 1):
            raise ValueError(f"{name} = {v!r}: expected a number in (0, 1)")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or \
            not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance = {tolerance!r}: expected a number > 0 (|log error|)")
    if sigma is not None:
        if isinstance(sigma, bool) or not isinstance(sigma, int | float | np.floating) or \
                not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma = {sigma!r}: expected a per-run noise sd of log y > 0")
    if batch_size is not None:
        batch_size = _whole(batch_size, "batch_size", 1)

    # the truth of each repeat
    rng = np.random.default_rng([seed, 0x5EED])
    if isinstance(truth, Fit):
        if truth.space != "log":
            raise ValueError(f"the truth Fit is in {truth.space!r} noise space; the seeds study "
                             f"simulates multiplicative (log space) noise")
        draws = truth.draws()
        n_draws = draws["a"].size
        idx = rng.choice(n_draws, size=repeats, replace=repeats > n_draws)
        truths = []
        for j in idx:
            law = {k: float(draws[k][j]) for k in ("a", "b", "c0")}
            law.update({k: np.asarray(draws[k][j], dtype=float) for k in ("c", "d", "f")})
            law["sigma"] = float(sigma) if sigma is not None else float(draws["sigma"][j])
            truths.append(law)
    elif isinstance(truth, Mapping):
        law = _law_from_mapping(truth)
        if sigma is None:
            sigma = truth.get("sigma")
            if sigma is None:
                raise ValueError("sigma is missing: give the per-run noise sd of log y "
                                 "(sigma=...), or a Fit as truth to take it from its posterior")
            return seeds_study(truth={k: v for k, v in truth.items() if k != "sigma"},
                               grid=grid, targets=targets, seed_counts=seed_counts,
                               cutoffs=cutoffs, sigma=float(sigma), repeats=repeats, seed=seed,
                               breaks=breaks, model=model, prob=prob, tolerance=tolerance,
                               min_share=min_share, chains=chains, warmup=warmup,
                               samples=samples, target_accept=target_accept,
                               batch_size=batch_size)
        truths = [{**law, "sigma": float(sigma)} for _ in range(repeats)]
    else:
        raise ValueError(f"truth is a {type(truth).__name__}: expected a mapping of law "
                         f"parameters or a Fit")
    n_breaks = len(truths[0]["c"])
    if breaks is None and model is None:
        breaks = n_breaks
    spec = resolve_model(breaks, model)
    breaks = spec.breaks
    need = spec.n_law_params
    for x_max in cut:
        n_fit = int((grid_x <= x_max).sum())
        if n_fit < need:
            raise ValueError(
                f"cutoff x_max = {x_max:g} keeps {n_fit} grid point(s) (the first is at "
                f"{grid_x[0]:g}); a {breaks}-break law needs at least {need}: raise the cutoff "
                f"or plan more points below it")

    # the true curves and the simulated data sets
    mu_grid = np.stack([_law_mu(t, grid_x) for t in truths])
    mu_target = np.stack([_law_mu(t, target_x) for t in truths])
    if not (np.all(np.isfinite(mu_grid)) and np.all(mu_grid > 0)
            and np.all(np.isfinite(mu_target)) and np.all(mu_target > 0)):
        raise ValueError("the true law is not finite and > 0 at every grid and target x; the "
                         "study simulates log-space noise and needs y > 0")
    z = rng.standard_normal((repeats, grid_x.size))
    sig = np.array([t["sigma"] for t in truths])
    cells = [(int(n), float(x_max)) for n in counts for x_max in cut]
    curves: list[Curve] = []
    for n, x_max in cells:
        keep = grid_x <= x_max
        for r in range(repeats):
            log_y = np.log(mu_grid[r, keep]) + sig[r] / math.sqrt(n) * z[r, keep]
            curves.append(Curve.from_arrays(
                grid_x[keep], np.exp(log_y), seeds=np.full(int(keep.sum()), n),
                name=f"seeds={n} x_max={x_max:g} repeat={r}"))
    settings = {"chains": chains, "warmup": warmup, "samples": samples,
                "target_accept": target_accept}
    fits = fit_many(curves, model=spec, seed=seed, check=False,
                    batch_size=batch_size, **settings)

    # measures
    lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2
    rows = []
    kept: dict[tuple[int, float], Fit] = {}
    i = 0
    for n, x_max in cells:
        n_fit = int((grid_x <= x_max).sum())
        for r in range(repeats):
            f = fits[i]
            i += 1
            if r == 0:
                kept[(n, x_max)] = f
            mu = curve_draws(f.draws(), target_x, f.spec.form)
            med, lo, hi = np.quantile(mu, [0.5, lo_q, hi_q], axis=0)
            diag = f.diagnostics()
            div, r_hat = int(diag["divergences"]), float(diag["max_r_hat"])
            truth_t = mu_target[r]
            with np.errstate(divide="ignore", invalid="ignore"):
                err = np.abs(np.log(med) - np.log(truth_t))
                width = np.log(hi) - np.log(lo)
            for k, xt in enumerate(target_x):
                rows.append((n, x_max, r, n_fit, float(xt), float(truth_t[k]), float(med[k]),
                             float(lo[k]), float(hi[k]), float(err[k]),
                             bool(lo[k] <= truth_t[k] <= hi[k]), float(width[k]), div, r_hat))
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    summary = summarize(table, tolerance=tolerance, min_share=min_share)
    required = required_seeds(summary)
    truths_out = [{**t, "c": np.asarray(t["c"]).tolist(), "d": np.asarray(t["d"]).tolist(),
                   "f": np.asarray(t["f"]).tolist()} for t in truths]
    return SeedsStudy(
        table=table, summary=summary, required_seeds=required, fits=kept, truths=truths_out,
        grid=grid_x, targets=target_x,
        settings={"prob": prob, "tolerance": tolerance, "min_share": min_share, "seed": seed,
                  "breaks": breaks, "model": spec.name, "batch_size": batch_size,
                  **settings},
        time_s=time.perf_counter() - t0,
    )


def summarize(table: pd.DataFrame, *, tolerance: float, min_share: float) -> pd.DataFrame:
    """Per-cell summary of a study's tidy table (see :attr:`SeedsStudy.summary`).

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :attr:`SeedsStudy.table`.
    tolerance, min_share : float
        As in :func:`seeds_study`.

    Returns
    -------
    pandas.DataFrame
    """
    out = []
    for (n, x_max), cell in table.groupby(["seeds", "x_max"], sort=True):
        worst = cell.groupby("repeat")["abs_log_error"].max()
        share = float((worst <= tolerance).mean())
        per_fit = cell.groupby("repeat")[["divergences", "max_r_hat"]].first()
        out.append((int(n), float(x_max), int(cell["repeat"].nunique()),
                    float(cell["covered"].mean()), float(cell["abs_log_error"].median()),
                    float(cell["rel_width"].median()), share, bool(share >= min_share),
                    int(per_fit["divergences"].sum()),
                    float((per_fit["max_r_hat"] > 1.01).mean())))
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def required_seeds(summary: pd.DataFrame) -> pd.DataFrame:
    """The smallest seed count per x_max whose cell meets the tolerance (NaN when none).

    Returns
    -------
    pandas.DataFrame
        Columns ``x_max, seeds``.
    """
    rows = []
    for x_max, cells in summary.groupby("x_max", sort=True):
        ok = cells.loc[cells["meets_tolerance"], "seeds"]
        rows.append((float(x_max), float(ok.min()) if len(ok) else float("nan")))
    return pd.DataFrame(rows, columns=["x_max", "seeds"])


# ---------------------------------------------------------------------------- bundled example
def _four_digit_addition(quick: bool) -> dict[str, Any]:
    from .datasets import FOUR_DIGIT_ADDITION_TRUTH

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
                      chains=2, warmup=200, samples=200)
    return design


#: Bundled studies: name to a function ``quick -> keyword arguments of seeds_study``.
EXAMPLES = {"four-digit-addition": _four_digit_addition}


def example(name: str, *, quick: bool = False) -> dict[str, Any]:
    """The keyword arguments of :func:`seeds_study` for a bundled study.

    ``"four-digit-addition"``: the paper's limit-of-predictability experiment (Section 6) with
    finite seeds: the noiseless law of :data:`bnsl_bayes.datasets.FOUR_DIGIT_ADDITION_TRUTH`,
    per-run noise :data:`FOUR_DIGIT_ADDITION_SIGMA` (the real 4-digit runs), a grid every 15
    from 15 to 690, cutoffs 300, 390, 405, 500 and 700 around the break, 1 to 10^5 seeds, targets
    800, 928, 1500 and 4000, 20 repeats. ``quick=True`` gives a 2 x 2 x 2 version with a small
    sampler budget (for tests and ``--quick``).

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones).
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown seeds example {name!r}; known: "
                         f"{', '.join(map(repr, EXAMPLES))}")
    return EXAMPLES[name](quick)


# ---------------------------------------------------------------------------- plots
_METRIC_LABELS = {
    "median_rel_width": "median width of the band, log(hi/lo)",
    "median_abs_log_error": "median |log error| of the median",
    "coverage": "coverage of the band",
    "share_extrapolate": "share of repeats within tolerance",
}


def _break_positions(study: SeedsStudy) -> list[float]:
    d = np.array([t["d"] for t in study.truths], dtype=float)
    return [float(v) for v in np.median(d, axis=0)] if d.size else []


def plot_heatmap(study: SeedsStudy, metric: str = "median_rel_width", *,
                 ax: Axes | None = None) -> Figure:
    """Heat map of a per-cell measure over (x_max, seeds), with the true break(s) marked.

    Parameters
    ----------
    study : SeedsStudy
    metric : str
        A column of :attr:`SeedsStudy.summary`: ``median_rel_width`` (default),
        ``median_abs_log_error``, ``coverage`` or ``share_extrapolate``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if metric not in _METRIC_LABELS:
        raise ValueError(f"metric = {metric!r}: expected one of {', '.join(_METRIC_LABELS)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
    else:
        fig = ax.figure
    counts, cuts = study.seed_counts, study.cutoffs
    grid = study.summary.pivot(index="seeds", columns="x_max", values=metric)
    values = grid.reindex(index=counts, columns=cuts).to_numpy(dtype=float)
    log_scale = metric in ("median_rel_width", "median_abs_log_error")
    pos = values[np.isfinite(values) & (values > 0)]
    norm = LogNorm(vmin=pos.min(), vmax=max(pos.max(), pos.min() * 1.0001)) \
        if log_scale and pos.size else None
    shown = np.where(values > 0, values, np.nan) if log_scale else values
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis", norm=norm,
                   vmin=None if norm else 0.0, vmax=None if norm else 1.0)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(range(len(cuts)), [f"{c:g}" for c in cuts])
    ax.set_yticks(range(len(counts)), [f"{n:g}" for n in counts])
    ax.set_xlabel("fit cutoff x_max")
    ax.set_ylabel("seeds per point")
    for d in _break_positions(study):
        if cuts[0] <= d <= cuts[-1] and len(cuts) > 1:
            xpos = float(np.interp(d, cuts, np.arange(len(cuts))))
            ax.axvline(xpos, color="red", ls="--", lw=1.5)
            ax.text(xpos, len(counts) - 0.5, f" break d={d:.4g}", color="red", va="bottom",
                    fontsize=8)
        else:
            ax.set_title(f"(break d={d:.4g} outside the cutoffs)", fontsize=8, loc="right")
    ax.set_title(_METRIC_LABELS[metric], fontsize=9, loc="left")
    fig.colorbar(im, ax=ax)
    return fig


def _default_band_cells(study: SeedsStudy, most: int = 4) -> list[tuple[int, float]]:
    counts, cuts = study.seed_counts, study.cutoffs
    pick = np.unique(np.linspace(0, len(cuts) - 1, min(most - 1, len(cuts))).round().astype(int))
    cells = [(counts[-1], cuts[k]) for k in pick]
    if len(counts) > 1:
        cells.append((counts[0], cuts[-1]))
    return cells[:most]


def plot_bands(study: SeedsStudy, cells: Sequence[tuple[int, float]] | None = None, *,
               axes: Sequence[Axes] | None = None) -> Figure:
    """The band of repeat 0 of a few cells, against the truth, past the cutoff.

    Parameters
    ----------
    study : SeedsStudy
    cells : sequence of (seeds, x_max), optional
        Cells to show (default: the largest seed count at up to three cutoffs, and the smallest
        at the largest cutoff).
    axes : sequence of Axes, optional
        One axes per cell (default: a new figure with one row).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    cells = _default_band_cells(study) if cells is None else [(int(n), float(x))
                                                               for n, x in cells]
    missing = [c for c in cells if c not in study.fits]
    if missing:
        raise ValueError(f"no such cell(s) {missing}; cells are (seeds, x_max) of the study")
    if axes is None:
        fig, axes = plt.subplots(1, len(cells), figsize=(3.2 * len(cells), 3.2), squeeze=False,
                                 sharey=True)
        axes = list(axes[0])
    else:
        fig = axes[0].figure
    truth = study.truths[0]
    prob = float(study.settings.get("prob", 0.9))
    hi_x = max(float(study.targets.max()), float(study.grid.max())) * 1.1
    xs = np.geomspace(float(study.grid.min()), hi_x, 200)
    mu_true = _law_mu(truth, xs)
    for ax, (n, x_max) in zip(axes, cells, strict=True):
        f = study.fits[(n, x_max)]
        mu = curve_draws(f.draws(), xs, f.spec.form)
        med, lo, hi = np.quantile(mu, [0.5, (1 - prob) / 2, (1 + prob) / 2], axis=0)
        ax.fill_between(xs, lo, hi, color="red", alpha=0.25, lw=0, label=f"{prob:.0%} band")
        ax.plot(xs, med, color="red", lw=1.2, label="median")
        ax.plot(xs, mu_true, color="black", ls="--", lw=1.0, label="truth")
        m = f.curve.fit_mask
        ax.plot(f.curve.x[m], f.curve.y[m], "k.", ms=3, label="fit points")
        ax.axvline(x_max, color="gray", lw=0.8, ls=":")
        t_true = _law_mu(truth, study.targets)
        ax.plot(study.targets, t_true, "o", color="tab:green", ms=4, label="targets")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(0.5 * float(mu_true.min()), 2.0 * float(mu_true.max()))
        ax.set_title(f"seeds {n:g}, x_max {x_max:g}", fontsize=9)
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def plot_study(study: SeedsStudy, *, metric: str = "median_rel_width") -> Figure:
    """One figure: heat maps of the band width and the error, and representative bands.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    cells = _default_band_cells(study)
    fig = plt.figure(figsize=(max(10.0, 3.2 * len(cells)), 8.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1.0])
    ax_top = top.subplots(1, 2)
    plot_heatmap(study, metric, ax=ax_top[0])
    plot_heatmap(study, "median_abs_log_error" if metric != "median_abs_log_error"
                 else "median_rel_width", ax=ax_top[1])
    axes = bottom.subplots(1, len(cells), sharey=True, squeeze=False)[0]
    plot_bands(study, cells, axes=list(axes))
    return fig
