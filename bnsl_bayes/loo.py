"""PSIS-LOO of fits of one curve with ArviZ: the ranking table, its warnings, the result type.

Each fit's expected log pointwise predictive density is estimated by Pareto-smoothed importance
sampling leave-one-out (``arviz.loo`` on the fit's ``log_likelihood`` group, the fit points only),
and the fits are ranked and weighted by ``arviz.compare`` (stacking weights by default).

PSIS-LOO is an approximation: where a fit point has a Pareto shape k above ``k_threshold`` (0.7)
its leave-one-out density is unreliable, and :class:`LOOWarning` says so, naming the curve and
the model. Held-out points of a curve are never used here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from .result import Fit, SamplingWarning

__all__ = ["COLUMNS", "K_THRESHOLD", "Comparison", "LOOWarning", "loo_table"]

#: Pareto k above which a point's PSIS-LOO estimate is unreliable (Vehtari et al. 2017/2024).
K_THRESHOLD = 0.7
#: Columns of the comparison table, in order.
COLUMNS = ("rank", "elpd_loo", "se", "d_loo", "dse", "weight", "p_loo", "n_bad_k", "max_k",
           "breaks", "n_points", "divergences", "max_r_hat")


class LOOWarning(SamplingWarning):
    """PSIS-LOO of a fit is unreliable (Pareto k > 0.7 at some fit points).

    A :class:`~bnsl_bayes.result.SamplingWarning`: filters and handlers of sampling problems
    see it too."""


@dataclass(eq=False)
class Comparison:
    """The result of :func:`compare`: the ranking table, the fits and their LOO estimates.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model (index: model name), best first. Columns: ``rank`` (0 = best, by
        elpd_loo), ``elpd_loo`` and its standard error ``se``, ``d_loo`` (elpd_loo minus the
        best's, <= 0) and its standard error ``dse``, ``weight`` (stacking weights by default;
        they sum to 1), ``p_loo`` (effective number of parameters), ``n_bad_k`` (fit points with
        Pareto k > ``k_threshold``), ``max_k``, ``breaks``, ``n_points`` (fit points),
        ``divergences`` and ``max_r_hat`` of the fit.
    fits : dict of str to Fit
        Every fit, by model name (same keys as the table's index).
    loo : dict of str to arviz ELPDData
        The ``arviz.loo`` result of each fit (pointwise, with ``pareto_k``).
    curve_name : str
        Name of the curve (may be empty).
    messages : list of str
        The Pareto-k problems found (also raised as :class:`LOOWarning` when ``check=True``).
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
    def best(self) -> str:
        """Name of the top-ranked model (highest elpd_loo)."""
        return str(self.table.index[0])

    @property
    def best_fit(self) -> Fit:
        """The fit of the top-ranked model."""
        return self.fits[self.best]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: curve, best model, one record per model, messages, time."""
        rows = []
        for name, row in self.table.iterrows():
            rec: dict[str, Any] = {"model": str(name)}
            for col in COLUMNS:
                v = row[col]
                if col in ("rank", "n_bad_k", "breaks", "n_points", "divergences"):
                    rec[col] = int(v)
                else:
                    v = float(v)
                    rec[col] = v if math.isfinite(v) else None
            rows.append(rec)
        return {"curve": self.curve_name, "best": self.best, "models": rows,
                "k_threshold": float(self.table.attrs.get("k_threshold", K_THRESHOLD)),
                "method": str(self.table.attrs.get("method", "stacking")),
                "messages": list(self.messages), "time_s": float(self.time_s)}

    def __repr__(self) -> str:
        shown = self.table[["rank", "elpd_loo", "se", "d_loo", "weight", "p_loo", "n_bad_k"]]
        return (f"<Comparison of {len(self.table)} model(s) on {self.curve_name or 'curve'}; "
                f"best {self.best}>\n{shown.to_string(float_format=lambda v: f'{v:.4g}')}")


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
        f"high), so read its rank with caution. Fix: draw more samples (samples=4000) if k is "
        f"only a little above {k_threshold:g}; otherwise these points are influential for this "
        f"form - refit without them (exact LOO / K-fold) or judge the forms on held-out points."
    )


def loo_table(
    fits: dict[str, Fit],
    *,
    method: str = "stacking",
    k_threshold: float = K_THRESHOLD,
    curve_name: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Rank fits of one curve by PSIS-LOO (``arviz.loo`` and ``arviz.compare``).

    Parameters
    ----------
    fits : dict of str to Fit
        Fits of the same curve (same fit points and noise space), by model name.
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA"}
        Weighting method of ``arviz.compare``.
    k_threshold : float
        Pareto k above which a point counts in ``n_bad_k`` and raises a message.
    curve_name : str, optional
        Name for the messages (default: the curve's own name).

    Returns
    -------
    table : pandas.DataFrame
        As :attr:`Comparison.table`, best first.
    loo : dict of str to arviz ELPDData
    messages : list of str
        One per model with Pareto k > ``k_threshold`` somewhere.
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
    loos = {k: _loo(f) for k, f in fits.items()}
    if len(fits) > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            cmp = az.compare(loos, method=method, round_to="none")
        table = pd.DataFrame({
            "rank": cmp["rank"].astype(int),
            "elpd_loo": cmp["elpd"].astype(float),
            "se": cmp["se"].astype(float),
            "d_loo": cmp["elpd_diff"].astype(float),
            "dse": cmp["dse"].astype(float),
            "weight": cmp["weight"].astype(float),
            "p_loo": cmp["p"].astype(float),
        }, index=cmp.index)
    else:
        (k, lo), = loos.items()
        table = pd.DataFrame({"rank": [0], "elpd_loo": [float(lo.elpd)], "se": [float(lo.se)],
                              "d_loo": [0.0], "dse": [0.0], "weight": [1.0],
                              "p_loo": [float(lo.p)]}, index=[k])
    messages = []
    extra: dict[str, list] = {c: [] for c in COLUMNS[7:]}
    for k in table.index:
        f, lo = fits[k], loos[k]
        pk = np.asarray(lo.pareto_k.values, dtype=float).reshape(-1)
        diag = f.diagnostics()
        extra["n_bad_k"].append(int(np.sum(pk > k_threshold)))
        extra["max_k"].append(float(np.max(pk)))
        extra["breaks"].append(int(f.breaks))
        extra["n_points"].append(int(pk.size))
        extra["divergences"].append(int(diag["divergences"]))
        extra["max_r_hat"].append(float(diag["max_r_hat"]))
        x = np.asarray(f.data["constant_data"]["x"].values, dtype=float)
        msg = _k_message(name, str(k), pk, x, k_threshold)
        if msg:
            messages.append(msg)
    for c, v in extra.items():
        table[c] = v
    table.index.name = "model"
    table.attrs.update({"method": method, "k_threshold": float(k_threshold)})
    return table.loc[:, list(COLUMNS)], loos, messages


def check_options(method: str, k_threshold: float) -> None:
    if method not in ("stacking", "BB-pseudo-BMA", "pseudo-BMA"):
        raise ValueError(f"method = {method!r}: expected 'stacking', 'BB-pseudo-BMA' or "
                         f"'pseudo-BMA'")
    if isinstance(k_threshold, bool) or not isinstance(k_threshold, int | float) or not (
            0 < k_threshold < math.inf):
        raise ValueError(f"k_threshold = {k_threshold!r}: expected a number > 0 (usually 0.7)")
