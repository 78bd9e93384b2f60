"""Compare BNSL forms (number of breaks, the baselines M1-M4, or your own model files) by
PSIS-LOO with ArviZ.

>>> import bnsl_bayes as bb
>>> curve = bb.datasets.load("four_digit_addition")
>>> result = bb.compare(curve, breaks=[0, 1, 2])     # doctest: +SKIP
>>> result.table                                     # rank, elpd_loo, se, d_loo, weight, ...
>>> result.best, result.fits["bnsl-1"]               # the top model's name, any Fit

Each form is fitted by :func:`~bnsl_bayes.fitting.fit` with the same seed and budget, its
expected log pointwise predictive density is estimated by Pareto-smoothed importance sampling
leave-one-out (``arviz.loo`` on the fit's ``log_likelihood`` group, the fit points only), and the
forms are ranked and weighted by ``arviz.compare`` (stacking weights by default).
``fit(..., breaks="auto")`` fits 0 to 3 breaks this way and returns the fit of the form with the
highest elpd_loo (:func:`fit_auto`).

PSIS-LOO is an approximation: where a fit point has a Pareto shape k above ``k_threshold`` (0.7)
its leave-one-out density is unreliable, and :class:`LOOWarning` says so, naming the curve and
the model. Held-out points of a curve are never used here.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .data import Curve, DataError, NoiseSpace
from .fitting import _as_curve, _prepare, _settings, fit, resolve_model
from .result import Fit, SamplingWarning
from .spec import ModelSpec, SpecError

__all__ = ["AUTO_BREAKS", "Comparison", "LOOWarning", "compare", "fit_auto", "loo_table"]

#: The numbers of breaks ``breaks="auto"`` chooses from (the bundled models bnsl-0 .. bnsl-3).
AUTO_BREAKS = (0, 1, 2, 3)
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


# ---------------------------------------------------------------------------- inputs
def _specs(models: Sequence[str | PathLike | ModelSpec] | None,
           breaks: Sequence[int] | None) -> list[ModelSpec]:
    """The model specifications to compare, validated (no sampling)."""
    if models is not None and breaks is not None:
        raise ValueError("give either models= (names or TOML paths) or breaks= (numbers of "
                         "breaks), not both")
    if models is not None:
        if isinstance(models, str | PathLike | ModelSpec):
            models = [models]
        specs = [resolve_model(None, m) for m in models]
    else:
        if breaks is None:
            breaks = AUTO_BREAKS
        if isinstance(breaks, int | np.integer) and not isinstance(breaks, bool):
            breaks = [int(breaks)]
        if isinstance(breaks, str):
            raise ValueError(f"breaks = {breaks!r}: expected a list of whole numbers, "
                             f"e.g. [0, 1, 2, 3]")
        specs = [resolve_model(b, None) for b in breaks]
    if not specs:
        raise ValueError("nothing to compare: give at least one model or number of breaks")
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"model(s) {dup} given twice; give each form once (models of your own "
                         f"need distinct 'name' fields)")
    return specs


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


# ---------------------------------------------------------------------------- compare
def compare(
    curve_or_x: Curve | ArrayLike,
    y: ArrayLike | None = None,
    *,
    seeds: ArrayLike | None = None,
    std: ArrayLike | None = None,
    models: Sequence[str | PathLike | ModelSpec] | None = None,
    breaks: Sequence[int] | None = None,
    space: NoiseSpace | None = None,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 1000,
    samples: int = 1000,
    target_accept: float = 0.95,
    max_tree_depth: int = 10,
    dense_mass: bool = True,
    progress: bool = False,
    method: str = "stacking",
    k_threshold: float = K_THRESHOLD,
    check: bool = True,
) -> Comparison:
    """Fit several BNSL forms to one curve and rank them by PSIS-LOO.

    Parameters
    ----------
    curve_or_x : Curve or array_like
        The curve (its held-out points are not used), or x values with ``y``.
    y, seeds, std : array_like, optional
        As in :func:`~bnsl_bayes.fitting.fit`.
    models : sequence of str, path or ModelSpec, optional
        Bundled model names (``"bnsl-0"`` ... ``"bnsl-3"``, and the paper's baselines ``"m1"``
        ... ``"m4"``, see :mod:`bnsl_bayes.forms`) or paths of TOML specifications.
    breaks : sequence of int, optional
        Numbers of breaks (the bundled ``bnsl-N``). Default, when neither ``models`` nor
        ``breaks`` is given: ``[0, 1, 2, 3]``.
    space : {"log", "linear"}, optional
        Noise space, the same for every model (default as in ``fit``).
    seed, chains, warmup, samples, target_accept, max_tree_depth, dense_mass
        Sampler settings of every fit, as in :func:`~bnsl_bayes.fitting.fit`.
    progress : bool
        Draw a progress bar of each fit's iterations on standard error.
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA"}
        How ``arviz.compare`` weights the models.
    k_threshold : float
        Pareto k above which a fit point's LOO estimate counts as unreliable (default 0.7).
    check : bool
        Warn on sampling problems of each fit (:class:`~bnsl_bayes.result.SamplingWarning`)
        and on Pareto k > ``k_threshold`` (:class:`LOOWarning`).

    Returns
    -------
    Comparison
        ``.table`` (pandas DataFrame, best first: rank, elpd_loo, se, d_loo, dse, weight,
        p_loo, n_bad_k, max_k, ...), ``.fits`` (name to Fit), ``.best``, ``.best_fit``,
        ``.loo``.

    Raises
    ------
    ValueError
        Both or a bad ``models``/``breaks``, a duplicated model, bad sampler settings,
        ``method`` or ``k_threshold``; :class:`~bnsl_bayes.data.DataError` for bad data or a
        curve with too few points for a form; :class:`~bnsl_bayes.spec.SpecError` for an
        unknown model. All raised before any sampling.
    """
    t0 = time.perf_counter()
    curve = _as_curve(curve_or_x, y, seeds, std)
    specs = _specs(models, breaks)
    _check_options(method, k_threshold)
    for spec in specs:  # every check before the first sample
        _settings(None, spec, seed, chains, warmup, samples, target_accept, max_tree_depth,
                  dense_mass)
        _prepare(curve, spec, space)
    opts = {"space": space, "seed": seed, "chains": chains, "warmup": warmup,
            "samples": samples, "target_accept": target_accept,
            "max_tree_depth": max_tree_depth, "dense_mass": dense_mass, "progress": progress}
    fits: dict[str, Fit] = {}
    for spec in specs:
        f = fit(curve, model=spec, check=False, **opts)
        if check:
            f.check(stacklevel=2)
        fits[spec.name] = f
    table, loos, messages = loo_table(fits, method=method, k_threshold=k_threshold)
    if check:
        for msg in messages:
            warnings.warn(msg, LOOWarning, stacklevel=2)
    return Comparison(table=table, fits=fits, loo=loos, curve_name=curve.name,
                      messages=messages, time_s=time.perf_counter() - t0)


def _check_options(method: str, k_threshold: float) -> None:
    if method not in ("stacking", "BB-pseudo-BMA", "pseudo-BMA"):
        raise ValueError(f"method = {method!r}: expected 'stacking', 'BB-pseudo-BMA' or "
                         f"'pseudo-BMA'")
    if isinstance(k_threshold, bool) or not isinstance(k_threshold, int | float) or not (
            0 < k_threshold < math.inf):
        raise ValueError(f"k_threshold = {k_threshold!r}: expected a number > 0 (usually 0.7)")


def fit_auto(
    curve_or_x: Curve | ArrayLike,
    y: ArrayLike | None = None,
    *,
    seeds: ArrayLike | None = None,
    std: ArrayLike | None = None,
    model: str | PathLike | ModelSpec | None = None,
    candidates: Sequence[int] = AUTO_BREAKS,
    check: bool = True,
    **options: Any,
) -> Fit:
    """``fit(..., breaks="auto")``: fit 0 to 3 breaks and keep the form with the best elpd_loo.

    Forms with more parameters than the curve has fit points are skipped. The chosen fit is
    the argmax of elpd_loo (``Comparison.best``); its DataTree records the comparison in the
    attribute ``breaks_selection`` (JSON: the table, one record per form).

    Parameters
    ----------
    curve_or_x, y, seeds, std
        As in :func:`~bnsl_bayes.fitting.fit`.
    model : None
        Must be None: ``breaks="auto"`` chooses among the bundled models.
    candidates : sequence of int
        Numbers of breaks to choose from (default 0, 1, 2, 3).
    check : bool
        Warn on sampling problems of the chosen fit and on its Pareto k (:class:`LOOWarning`).
    **options
        ``space``, ``seed``, ``chains``, ``warmup``, ``samples``, ``target_accept``,
        ``max_tree_depth``, ``dense_mass``, ``progress``, as in ``fit``.

    Returns
    -------
    Fit
        The fit of the chosen number of breaks.

    Raises
    ------
    ValueError
        ``model`` given with ``breaks="auto"``, unknown options, or no candidate the curve can
        be fitted with (before any sampling).
    """
    if model is not None:
        raise SpecError("breaks='auto' chooses among the bundled models bnsl-0 .. bnsl-3; "
                        "leave model= out, or give breaks= a number with your model")
    allowed = {"space", "seed", "chains", "warmup", "samples", "target_accept",
               "max_tree_depth", "dense_mass", "progress"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"fit_auto() got unexpected keyword argument(s) {unknown}")
    curve = _as_curve(curve_or_x, y, seeds, std)
    usable, reasons = [], []
    for b in candidates:
        spec = resolve_model(b, None)
        try:
            _prepare(curve, spec, options.get("space"))
        except DataError as err:
            if "parameters" not in str(err):
                raise
            reasons.append(f"bnsl-{b}: {err}")
            continue
        usable.append(b)
    if not usable:
        raise DataError("breaks='auto': no number of breaks fits this curve (" +
                        "; ".join(reasons) + ")")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LOOWarning)
        result = compare(curve, breaks=usable, check=False, **options)
    best = result.best_fit
    best.data.attrs["breaks_selection"] = json.dumps(result.to_dict()["models"])
    if check:
        best.check(stacklevel=3)
        for msg in result.messages:
            if f"model {result.best}:" in msg:
                warnings.warn(msg, LOOWarning, stacklevel=3)
    return best
