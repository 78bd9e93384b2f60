"""The seeds study: simulate a planned experiment many times, fit each, score past the cutoff."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..bands import curve_draws
from ..checks import SamplingWarning
from ..data import Curve
from ..fitting import fit_many, resolve_model, sampler_config
from ..result import Fit
from ..sampling.nuts import SamplerConfig
from ..spec import ModelSpec
from .plots import plot_study
from .truth import law_from_mapping, law_mu

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

#: The default sampler of a study: many small fits, each of 2 chains x (300 + 300).
STUDY_SAMPLER = SamplerConfig(chains=2, warmup=300, samples=300)

__all__ = ["STUDY_SAMPLER", "SUMMARY_COLUMNS", "TABLE_COLUMNS", "SeedsStudy", "required_seeds",
           "seeds_study", "summarize"]

#: Columns of :attr:`SeedsStudy.table`.
TABLE_COLUMNS = ("seeds", "x_max", "repeat", "n_fit", "target", "truth", "median", "lo", "hi",
                 "abs_log_error", "covered", "rel_width", "divergences", "max_r_hat")
#: Columns of :attr:`SeedsStudy.summary`.
SUMMARY_COLUMNS = ("seeds", "x_max", "repeats", "coverage", "median_abs_log_error",
                   "median_rel_width", "share_extrapolate", "meets_tolerance", "divergences",
                   "share_r_hat_over_1_01")


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
        message = unconverged_message(self.summary)
        if message:
            lines.append(f"warning: {message}")
        return "\n".join(lines)

    def plot(self, **kwargs: Any) -> Figure:
        """Heat maps and representative bands; see :func:`plot_study`."""
        return plot_study(self, **kwargs)


def _num(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None




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
    sampler: SamplerConfig | None = None,
    batch_size: int | None = None,
    check: bool = True,
    **deprecated: Any,
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
    sampler : SamplerConfig, optional
        Sampler settings, the same for every fit (default ``STUDY_SAMPLER``: 2 chains x
        (300 + 300); ``chains=`` ... ``target_accept=`` as keywords are deprecated).
    check : bool
        Warn (:class:`~bnsl_bayes.checks.SamplingWarning`) naming the cells with fits whose
        chains disagree (r_hat > 1.01): their bands mix modes the chains did not cross.
    batch_size : int, optional
        Curves per compiled call (see :func:`bnsl_bayes.fit_many`). The default is
        fit_many's: one fit per compiled call on a CPU (a vectorized NUTS step
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

    t0 = time.perf_counter()
    sampler = sampler_config(sampler, deprecated, where="seeds_study", default=STUDY_SAMPLER)
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
        law = law_from_mapping(truth)
        if sigma is None:
            sigma = truth.get("sigma")
            if sigma is None:
                raise ValueError("sigma is missing: give the per-run noise sd of log y "
                                 "(sigma=...), or a Fit as truth to take it from its posterior")
            return seeds_study(truth={k: v for k, v in truth.items() if k != "sigma"},
                               grid=grid, targets=targets, seed_counts=seed_counts,
                               cutoffs=cutoffs, sigma=float(sigma), repeats=repeats, seed=seed,
                               breaks=breaks, model=model, prob=prob, tolerance=tolerance,
                               min_share=min_share, sampler=sampler,
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
    mu_grid = np.stack([law_mu(t, grid_x) for t in truths])
    mu_target = np.stack([law_mu(t, target_x) for t in truths])
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
    settings = {k: getattr(sampler, k) for k in ("chains", "warmup", "samples", "target_accept")}
    fits = fit_many(curves, model=spec, seed=seed, sampler=sampler, check=False,
                    batch_size=batch_size)

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
    if check:
        message = unconverged_message(summary)
        if message:
            warnings.warn(message, SamplingWarning, stacklevel=2)
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


def unconverged_message(summary: pd.DataFrame) -> str | None:
    """The warning naming the cells with fits whose chains disagree, else None."""
    bad = summary[summary["share_r_hat_over_1_01"] > 0]
    if bad.empty:
        return None
    cells = ", ".join(f"{int(r.seeds)} seeds at x_max {r.x_max:g} ({r.share_r_hat_over_1_01:.0%})"
                      for r in bad.itertuples())
    return (f"fits whose chains disagree (r_hat > 1.01) in {len(bad)} of {len(summary)} cells: "
            f"{cells}. Their bands mix modes the chains did not cross between, so coverage and "
            f"width there are not the posterior's. Fix: more particles for the tempered-SMC "
            f"refits of the fits whose NUTS chains disagree (particles=4000 in the study's "
            f"SamplerConfig; CLI --particles 4000), or with method='nuts' a longer run "
            f"(warmup=2000, samples=2000 in it; CLI --warmup/--samples); cutoffs before a break "
            f"leave it weakly pinned, and there neither may be enough: on the hardest cells even "
            f"8 runs of 4000 particles disagree (docs/validation.md).")
