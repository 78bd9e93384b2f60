"""PSIS-LOO of fits of one curve with ArviZ: the ranking table, its warnings, the result type.

Each fit's expected log pointwise predictive density is estimated by Pareto-smoothed importance
sampling leave-one-out (``arviz.loo`` on the fit's ``log_likelihood`` group, the fit points only),
and the fits are ranked and weighted by ``arviz.compare`` (stacking weights by default).

Only a fit that can be trusted can win. The fits fall in three groups, ranked in this order
and each by elpd_loo:

0. sampling passed its diagnostics (no divergences, r_hat <= 1.01, bulk ESS >= 400:
   :func:`~bnsl_bayes.checks.passes`) and PSIS-LOO is reliable (no fit point with Pareto shape
   k above ``k_threshold``, 0.7);
1. sampling passed, PSIS-LOO unreliable (its elpd_loo may be off, usually too high, which
   favours the most flexible form);
2. sampling failed (its elpd_loo is computed from draws that do not represent its posterior).

The *eligible* fits are those of the first group that is not empty among 0 and 1: they share
the weights and the best model is the top one. So a fit whose sampling failed never wins, and a
fit whose PSIS-LOO is unreliable never ranks above one whose PSIS-LOO is reliable; only when no
converged fit has a reliable PSIS-LOO (a few influential points are common on short curves)
are the converged ones ranked by their elpd_loo all the same, with a warning. When no fit's
sampling passed, no model is best. The column ``problem`` says what is wrong with each fit.
Held-out points of a curve are never used here.

The columns ``sampler`` and ``log_evidence`` say which sampler ran each fit and, for a fit
sampled by tempered SMC, its log evidence ``log p(y)`` (NaN for a NUTS fit): with every form
fitted by SMC (``SamplerConfig(method="smc")``) the differences of ``log_evidence`` are log Bayes
factors between the numbers of breaks, next to the predictive ranking of elpd_loo.

With ``method="evidence"`` the ranking and the weights are those of the evidence instead: the
eligible fits are those whose sampling passed and that have a log evidence (SMC reached
temperature 1), ranked by it, and weighted by their posterior probabilities under equal prior
probabilities of the forms (``exp(log_evidence)`` normalized). Pareto k then does not matter.
An eligible fit whose runs spread more than ``EVIDENCE_SPREAD`` nats in log evidence gets a
warning: a difference between forms smaller than that spread is Monte Carlo noise.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .checks import ESS_MIN, R_HAT_MAX, passes
from .result import Fit, SamplingWarning

__all__ = ["COLUMNS", "EVIDENCE_SPREAD", "K_THRESHOLD", "METHODS", "Comparison", "LOOWarning",
           "SelectionError", "auto_choice", "loo_table"]

#: How the fits may be weighted: ``arviz.compare``'s methods, and the log evidence.
METHODS = ("stacking", "BB-pseudo-BMA", "pseudo-BMA", "evidence")
#: Pareto k above which a point's PSIS-LOO estimate is unreliable (Vehtari et al. 2017/2024).
K_THRESHOLD = 0.7
#: Spread (largest minus smallest) of an SMC fit's runs' log evidence, in nats, above which
#: ``method="evidence"`` warns that differences of log evidence below it are Monte Carlo
#: noise. One nat: at a Bayes factor of e the forms' posterior odds are still close to even,
#: so a spread above it can reverse a choice a reader would take as clear.
EVIDENCE_SPREAD = 1.0
#: Columns of the comparison table, in order.
COLUMNS = ("rank", "elpd_loo", "se", "d_loo", "dse", "weight", "p_loo", "n_bad_k", "max_k",
           "breaks", "n_points", "divergences", "max_r_hat", "min_ess_bulk", "eligible",
           "problem", "sampler", "log_evidence")
_INT_COLUMNS = ("rank", "n_bad_k", "breaks", "n_points", "divergences")
#: What to do when no fit may win: the fixes of failed sampling and of unreliable PSIS-LOO.
_NONE_FIX = ("Fix: run longer (sampler=SamplerConfig(warmup=2000, samples=2000); CLI --warmup 2000 "
             "--samples 2000), "
             "which also lowers Pareto k that is only a little above the threshold; or compare "
             "fewer breaks (the forms with more breaks than the data pin fail first)")


#: The problem of a converged fit without a log evidence when the fits are ranked by it.
_NO_EVIDENCE = ("no log evidence (NUTS does not estimate it; fit with "
                "SamplerConfig(method='smc'))")


class LOOWarning(SamplingWarning):
    """PSIS-LOO of a fit is unreliable (Pareto k > 0.7 at some fit points), or a fit was left
    out of a comparison because its diagnostics failed.

    A :class:`~bnsl_bayes.result.SamplingWarning`: filters and handlers of sampling problems
    see it too."""


class SelectionError(ValueError):
    """No fit of a comparison may be chosen: every one failed its sampling diagnostics
    (raised by :attr:`Comparison.best_fit` and ``fit(..., breaks="auto")``).

    Attributes
    ----------
    comparison : Comparison
        The comparison (every fit, its LOO and the table with each fit's ``problem``), so that
        the sampling already done is not lost.
    """

    def __init__(self, message: str, comparison: Comparison) -> None:
        super().__init__(message)
        self.comparison = comparison


@dataclass(eq=False)
class Comparison:
    """The result of :func:`compare`: the ranking table, the fits and their LOO estimates.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model (index: model name), eligible models first (the order is in the
        module's description). Columns: ``rank`` (0 = best), ``elpd_loo`` and its standard
        error ``se``, ``d_loo`` (elpd_loo minus that of the top row) and its standard error
        ``dse``, ``weight`` (stacking weights by default, shared by the eligible models: they
        sum to 1 over them, 0 elsewhere), ``p_loo`` (effective number of parameters),
        ``n_bad_k`` (fit points with Pareto k > ``k_threshold``), ``max_k``, ``breaks``,
        ``n_points`` (fit points), ``divergences``, ``max_r_hat`` and ``min_ess_bulk`` of the
        fit, ``eligible`` (weighted, may be best) and ``problem`` (failed diagnostics and
        unreliable PSIS-LOO; empty when there is none). An ineligible model may have
        ``d_loo`` > 0: its elpd_loo is not to be trusted.
    fits : dict of str to Fit
        Every fit, by model name (same keys as the table's index).
    loo : dict of str to arviz ELPDData
        The ``arviz.loo`` result of each fit (pointwise, with ``pareto_k``).
    curve_name : str
        Name of the curve (may be empty).
    messages : list of str
        The Pareto-k problems and the models left out of the ranking (also raised as
        :class:`LOOWarning` when ``check=True``).
    time_s : float
        Wall time of all fits and the comparison.
    """

    table: pd.DataFrame
    fits: dict[str, Fit]
    loo: dict[str, Any] = field(repr=False)
    curve_name: str = ""
    messages: list[str] = field(default_factory=list)
    time_s: float = 0.0

    @property
    def best(self) -> str | None:
        """Name of the top-ranked eligible model (highest elpd_loo), or None when no model's
        sampling passed its diagnostics."""
        top = self.table.index[0]
        return str(top) if bool(self.table.loc[top, "eligible"]) else None

    @property
    def best_fit(self) -> Fit:
        """The fit of the best model.

        Raises
        ------
        SelectionError
            When no model is eligible (:attr:`best` is None); the message says why and the fix.
        """
        if self.best is None:
            raise SelectionError(_none_message(self.curve_name, self.table), self)
        return self.fits[self.best]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: curve, best model (None when none is eligible), one record per
        model, messages, time."""
        return {"curve": self.curve_name, "best": self.best, "models": _records(self.table),
                "k_threshold": float(self.table.attrs.get("k_threshold", K_THRESHOLD)),
                "method": str(self.table.attrs.get("method", "stacking")),
                "messages": list(self.messages), "time_s": float(self.time_s)}

    def __repr__(self) -> str:
        shown = self.table[["rank", "elpd_loo", "se", "d_loo", "weight", "p_loo", "n_bad_k",
                            "eligible"]]
        return (f"<Comparison of {len(self.table)} model(s) on {self.curve_name or 'curve'}; "
                f"best {self.best}>\n{shown.to_string(float_format=lambda v: f'{v:.4g}')}")


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-ready records, one per model, in order."""
    rows = []
    for name, row in table.iterrows():
        rec: dict[str, Any] = {"model": str(name)}
        for col in COLUMNS:
            v = row[col]
            if col in _INT_COLUMNS:
                rec[col] = int(v)
            elif col == "eligible":
                rec[col] = bool(v)
            elif col in ("problem", "sampler"):
                rec[col] = str(v)
            else:
                v = float(v)
                rec[col] = v if math.isfinite(v) else None
        rows.append(rec)
    return rows


# ---------------------------------------------------------------------------- LOO
def _loo(fit_: Fit) -> Any:
    """``arviz.loo`` of a fit, pointwise, with ArviZ's own k warning silenced (ours is clearer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return az.loo(fit_.data, pointwise=True, var_name="y")


def _k_message(curve_name: str, model: str, pareto_k: np.ndarray, x: np.ndarray,
               k_threshold: float) -> str | None:
    bad = np.flatnonzero(pareto_k > k_threshold)
    if bad.size == 0:
        return None
    where = ", ".join(f"{x[i]:g}" for i in bad[:5]) + (", ..." if bad.size > 5 else "")
    return (
        f"{curve_name or 'curve'}: model {model}: {bad.size} of {pareto_k.size} fit point(s) "
        f"have Pareto k > {k_threshold:g} (max {float(np.max(pareto_k)):.2f}; at x = {where}): "
        f"PSIS-LOO of this model is unreliable there and its elpd_loo may be off (usually too "
        f"high), so it ranks below every converged model whose PSIS-LOO is reliable. "
        f"Fix: draw more samples (sampler=SamplerConfig(samples=4000)) if k is only a "
        f"little above {k_threshold:g}; "
        f"otherwise these points are influential for this form - refit without them (exact "
        f"LOO / K-fold) or judge the forms on held-out points."
    )


def _problem(diag: dict[str, float | int], n_bad_k: int, n_points: int,
             k_threshold: float) -> str:
    """Why a fit may not win a comparison ('' when it may)."""
    parts = []
    if diag["divergences"] > 0:
        parts.append(f"{int(diag['divergences'])} divergences")
    if not diag["max_r_hat"] <= R_HAT_MAX:
        parts.append(f"max r_hat {diag['max_r_hat']:.3f} > {R_HAT_MAX}")
    if not diag["min_ess_bulk"] >= ESS_MIN:
        parts.append(f"min bulk ESS {diag['min_ess_bulk']:.0f} < {ESS_MIN}")
    if n_bad_k:
        parts.append(f"{n_bad_k} of {n_points} points with Pareto k > {k_threshold:g}")
    return "; ".join(parts)


def _left_out(table: pd.DataFrame) -> str:
    return "; ".join(f"{k} ({table.loc[k, 'problem']})" for k in table.index
                     if not table.loc[k, "eligible"])


def _none_message(curve_name: str, table: pd.DataFrame) -> str:
    return (f"{curve_name or 'curve'}: no model passed its sampling diagnostics, so none is "
            f"ranked best (every weight is 0): {_left_out(table)}. {_NONE_FIX}.")


def loo_table(
    fits: dict[str, Fit],
    *,
    method: str = "stacking",
    k_threshold: float = K_THRESHOLD,
    curve_name: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Rank fits of one curve by PSIS-LOO (``arviz.loo`` and ``arviz.compare``), the eligible
    fits first.

    Only the eligible fits (see the module's description) are weighted, by ``arviz.compare``
    among them; the others get weight 0.

    Parameters
    ----------
    fits : dict of str to Fit
        Fits of the same curve (same fit points and noise space), by model name.
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA", "evidence"}
        Weighting method of ``arviz.compare``, or ``"evidence"``: rank and weight by the log
        evidence (see the module's description).
    k_threshold : float
        Pareto k above which a point counts in ``n_bad_k`` and raises a message; such a fit
        ranks below the converged fits without one (unless ``method="evidence"``).
    curve_name : str, optional
        Name for the messages (default: the curve's own name).

    Returns
    -------
    table : pandas.DataFrame
        As :attr:`Comparison.table`, the best eligible model first.
    loo : dict of str to arviz ELPDData
    messages : list of str
        One per model with Pareto k > ``k_threshold`` somewhere, then one naming the models
        left out of the ranking (or saying that none is eligible), then one when the eligible
        models' PSIS-LOO is unreliable.
    """
    if not fits:
        raise ValueError("loo_table: no fits given")
    first = next(iter(fits.values()))
    n_pts = {k: int(f.data["log_likelihood"]["y"].shape[-1]) for k, f in fits.items()}
    spaces = {f.space for f in fits.values()}
    if len(set(n_pts.values())) > 1 or len(spaces) > 1:
        raise ValueError(f"the fits do not share their fit points and noise space "
                         f"(points {n_pts}, spaces {sorted(spaces)}); LOO compares models of the "
                         f"same data only")
    name = first.curve.name if curve_name is None else curve_name
    by_evidence = method == "evidence"
    loos = {k: _loo(f) for k, f in fits.items()}
    rows: dict[str, dict[str, Any]] = {}
    messages = []
    for k, f in fits.items():
        pk = np.asarray(loos[k].pareto_k.values, dtype=float).reshape(-1)
        diag = f.diagnostics()
        n_bad = int(np.sum(pk > k_threshold))
        problem = _problem(diag, n_bad, int(pk.size), k_threshold)
        evidence = log_evidence(f)
        if by_evidence:
            group = 0 if passes(diag) and math.isfinite(evidence) else 2
            if passes(diag) and not math.isfinite(evidence):
                problem = "; ".join(p for p in (problem, _NO_EVIDENCE) if p)
        else:
            group = 0 if not problem else (1 if passes(diag) else 2)
        rows[k] = {"n_bad_k": n_bad, "max_k": float(np.max(pk)), "breaks": int(f.breaks),
                   "n_points": int(pk.size), "divergences": int(diag["divergences"]),
                   "max_r_hat": float(diag["max_r_hat"]),
                   "min_ess_bulk": float(diag["min_ess_bulk"]), "problem": problem,
                   "_group": group,
                   "sampler": str(f.data.attrs.get("sampling_method", "nuts")),
                   "log_evidence": evidence}
        x = np.asarray(f.data["constant_data"]["x"].values, dtype=float)
        msg = _k_message(name, str(k), pk, x, k_threshold)
        if msg:
            messages.append(msg)
    # A NaN elpd_loo (log evidence) sorts last in its group.
    score = {k: rows[k]["log_evidence"] if by_evidence else float(loos[k].elpd) for k in fits}
    order = sorted(fits, key=lambda k: (rows[k]["_group"],
                                        -np.nan_to_num(score[k], nan=-np.inf)))
    top = order[0]
    top_group = rows[top]["_group"]
    eligible = [k for k in order if rows[k]["_group"] == top_group < 2]
    for k in fits:
        rows[k]["eligible"] = k in eligible
    if by_evidence:
        messages.extend(m for m in (_spread_message(name, k, run_log_evidence(fits[k]))
                                    for k in eligible) if m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if len(fits) > 1:
            # every model against the top row; the weights of this call are not used
            cmp = az.compare(loos, method="stacking" if by_evidence else method,
                             reference=top, round_to="none")
        weights = pd.Series(0.0, index=order)
        if by_evidence and eligible:
            ev = np.array([score[k] for k in eligible])
            weights[eligible] = np.exp(ev - logsumexp(ev))
        elif len(eligible) > 1:
            w = az.compare({k: loos[k] for k in eligible}, method=method,
                           round_to="none")["weight"]
            weights[eligible] = w[eligible].astype(float).to_numpy()
        elif eligible:
            weights[eligible[0]] = 1.0
    if len(fits) > 1:
        table = pd.DataFrame({
            "elpd_loo": cmp["elpd"].astype(float), "se": cmp["se"].astype(float),
            "d_loo": cmp["elpd_diff"].astype(float), "dse": cmp["dse"].astype(float),
            "p_loo": cmp["p"].astype(float),
        }).loc[order]
    else:
        lo = loos[top]
        table = pd.DataFrame({"elpd_loo": [float(lo.elpd)], "se": [float(lo.se)],
                              "d_loo": [0.0], "dse": [0.0], "p_loo": [float(lo.p)]},
                             index=[top])
    table["rank"] = np.arange(len(order))
    table["weight"] = weights.loc[order].to_numpy()
    for c in COLUMNS[7:]:
        table[c] = [rows[k][c] for k in order]
    table.index.name = "model"
    table.attrs.update({"method": method, "k_threshold": float(k_threshold)})
    table = table.loc[:, list(COLUMNS)]
    if not eligible:
        messages.append(_none_message(name, table))
        return table, loos, messages
    if len(eligible) < len(fits):
        messages.append(
            f"{name or 'curve'}: left out of the ranking (weight 0, ranked below the "
            f"{len(eligible)} model(s) that passed their diagnostics"
            f"{' with a reliable PSIS-LOO' if top_group == 0 and not by_evidence else ''}): "
            f"{_left_out(table)}. "
            f"{_NONE_FIX}.")
    if top_group == 1 and not by_evidence:
        messages.append(
            f"{name or 'curve'}: no converged model has a reliable PSIS-LOO (Pareto k > "
            f"{k_threshold:g} at some fit points of each), so the converged models are ranked "
            f"by elpd_loo all the same: read the ranking and the weights with caution, above "
            f"all where d_loo is within a few dse.")
    return table, loos, messages


def log_evidence(fit: Fit) -> float:
    """``log p(y)`` of a fit sampled by tempered SMC (the log of the mean over its runs, of the
    standardized observations, so comparable between forms fitted to the same curve); NaN
    for a NUTS fit, which does not estimate it."""
    ev = run_log_evidence(fit)
    if ev is None:
        return math.nan
    # each run's estimate of p(y) is unbiased, its log is not: average the evidence itself
    return float(logsumexp(ev) - math.log(ev.size))


def run_log_evidence(fit: Fit) -> np.ndarray | None:
    """Each SMC run's log evidence (pooled runs included); None for a NUTS fit or one whose
    runs stopped short of the posterior."""
    info = json.loads(fit.data.attrs.get("smc", "null") or "null")
    if not info or min(info["final_temperature"]) < 1.0:
        return None
    return np.asarray(info["log_evidence"], dtype=float)


def _spread_message(name: str, model: str, ev: np.ndarray | None) -> str | None:
    """The warning that a fit's runs disagree on its log evidence by more than
    :data:`EVIDENCE_SPREAD` nats, or None."""
    if ev is None or np.ptp(ev) <= EVIDENCE_SPREAD:
        return None
    return (f"{name or 'curve'}: the {ev.size} SMC runs of {model} give log evidence "
            f"{ev.min():.2f} to {ev.max():.2f}, a spread of {np.ptp(ev):.1f} nats: a "
            f"difference of log evidence between forms smaller than that is Monte Carlo noise. "
            f"Fix: more particles per run (SamplerConfig(method='smc', particles=4000); CLI "
            f"--particles 4000), or rank by elpd_loo (method='loo').")


def auto_choice(table: pd.DataFrame, curve_name: str = "") -> tuple[str | None, str | None]:
    """The model ``fit(..., breaks="auto")`` keeps, from a :func:`loo_table` table: the best
    model (:attr:`Comparison.best`).

    Returns
    -------
    model : str or None
        The best model; None when no fit's sampling passed its diagnostics.
    message : str or None
        Why nothing could be chosen (with the fix), or which models with a higher elpd_loo
        than the chosen one were left out and why (the choice might differ after a longer
        run); else None.
    """
    top = table.index[0]
    if not bool(table.loc[top, "eligible"]):
        return None, (
            f"{curve_name or 'curve'}: breaks='auto' found no fit to keep: every form failed "
            f"its sampling diagnostics ({_left_out(table)}). {_NONE_FIX}; or fit the number of "
            f"breaks you expect (breaks=N) and read its warnings.")
    score = "log_evidence" if table.attrs.get("method") == "evidence" else "elpd_loo"
    higher = [k for k in table.index if not table.loc[k, "eligible"]
              and table.loc[k, score] > table.loc[top, score]]
    if not higher:
        return str(top), None
    return str(top), (
        f"{curve_name or 'curve'}: breaks='auto' kept {top}; left out although their {score} "
        f"is higher, because it cannot be trusted: "
        + "; ".join(f"{k} ({table.loc[k, 'problem']})" for k in higher)
        + f". {_NONE_FIX}, then compare again (bnsl-bayes compare).")


def check_options(method: str, k_threshold: float) -> None:
    if method not in METHODS:
        raise ValueError(f"method = {method!r}: expected one of "
                         f"{', '.join(repr(m) for m in METHODS)}")
    if isinstance(k_threshold, bool) or not isinstance(k_threshold, int | float) or not (
            0 < k_threshold < math.inf):
        raise ValueError(f"k_threshold = {k_threshold!r}: expected a number > 0 (usually 0.7)")
