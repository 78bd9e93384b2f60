"""Compare BNSL forms (number of breaks, the baselines M1-M4, or your own model files) by
PSIS-LOO with ArviZ.

>>> import bnsl_bayes as bb
>>> curve = bb.datasets.load("four_digit_addition")
>>> result = bb.compare(curve, breaks=[0, 1, 2])     # doctest: +SKIP
>>> result.table                                     # rank, elpd_loo, se, d_loo, weight, ...
>>> result.best, result.fits["bnsl-1"]               # the best model's name, any Fit

Each form is fitted by :func:`~bnsl_bayes.fitting.fit` with the same seed and budget, its
expected log pointwise predictive density is estimated by Pareto-smoothed importance sampling
leave-one-out (``arviz.loo`` on the fit's ``log_likelihood`` group, the fit points only), and the
forms are ranked and weighted by ``arviz.compare`` (stacking weights by default). A form whose
sampling failed its diagnostics cannot win, and one whose PSIS-LOO is unreliable (Pareto k >
0.7) ranks below every converged form whose PSIS-LOO is reliable: they are listed below with
weight 0, and the table says why (columns ``eligible``, ``problem``; the rule is in
:mod:`.loo`). ``fit(..., breaks="auto")`` fits 0 to 3 breaks the same way and returns one fit
(:func:`~bnsl_bayes.fitting.fit_auto`). The LOO machinery is in :mod:`.loo`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .data import Curve, NoiseSpace
from .fitting import (
    AUTO_BREAKS,
    as_curve,
    evidence_sampler,
    fit_models,
    fittable_breaks,
    resolve_model,
    sampler_config,
)
from .loo import K_THRESHOLD, Comparison, LOOWarning, check_options, loo_table
from .sampling.nuts import SamplerConfig
from .spec import ModelSpec

__all__ = ["compare"]


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
    sampler: SamplerConfig | None = None,
    progress: bool = False,
    method: str = "stacking",
    k_threshold: float = K_THRESHOLD,
    check: bool = True,
    **deprecated: Any,
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
        ``breaks`` is given: ``[0, 1, 2, 3]``, leaving out (with a :class:`LOOWarning`) the
        forms with more parameters than the curve has fit points.
    space : {"log", "linear"}, optional
        Noise space, the same for every model (default as in ``fit``).
    seed, sampler
        Seed and sampler settings of every fit, as in :func:`~bnsl_bayes.fitting.fit` (and its
        deprecated sampler keywords).
    progress : bool
        Draw a progress bar of each fit's iterations on standard error.
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA", "evidence"}
        How ``arviz.compare`` weights the models, or ``"evidence"``: every form is fitted by
        tempered SMC (the sampler's ``method`` ``"auto"`` becomes ``"smc"``) and the forms are
        ranked by their log evidence and weighted by their posterior probabilities (equal prior
        probabilities), among those whose sampling passed its diagnostics.
    k_threshold : float
        Pareto k above which a fit point's LOO estimate counts as unreliable (default 0.7).
    check : bool
        Warn on sampling problems of each fit (:class:`~bnsl_bayes.result.SamplingWarning`),
        on Pareto k > ``k_threshold`` and on the models left out of the ranking
        (:class:`LOOWarning`).

    Returns
    -------
    Comparison
        ``.table`` (pandas DataFrame, eligible models first, the best on top: rank, elpd_loo,
        se, d_loo, dse, weight, p_loo, n_bad_k, max_k, ..., eligible, problem), ``.fits``
        (name to Fit), ``.best``, ``.best_fit``, ``.loo``. The eligible models are the
        converged ones (no divergences, r_hat <= 1.01, bulk ESS >= 400) with no fit point at
        Pareto k > ``k_threshold``, or, when no converged model is free of such points, the
        converged ones; only they share the weights. When no model converged, ``.best`` is
        None, every weight is 0 and ``.best_fit`` raises
        :class:`~bnsl_bayes.loo.SelectionError`; the fix is a longer run or fewer breaks.

    Raises
    ------
    ValueError
        Both or a bad ``models``/``breaks``, a duplicated model, bad sampler settings,
        ``method`` or ``k_threshold``, ``method="evidence"`` with a NUTS-only sampler;
        :class:`~bnsl_bayes.data.DataError` for bad data or a
        curve with too few points for a form given in ``models`` or ``breaks`` (or for every
        default form); :class:`~bnsl_bayes.spec.SpecError` for an
        unknown model. All raised before any sampling.
    """
    t0 = time.perf_counter()
    sampler = sampler_config(sampler, deprecated, where="compare")
    curve = as_curve(curve_or_x, y, seeds, std)
    skipped: list[str] = []
    if models is None and breaks is None:
        # the default set: leave out the forms the curve has too few points for, as
        # breaks="auto" does (breaks given explicitly are fitted or refused)
        breaks, skipped = fittable_breaks(curve, AUTO_BREAKS, space, where="compare")
    specs = _specs(models, breaks)
    check_options(method, k_threshold)
    sampler = evidence_sampler(sampler, method)
    fits = fit_models(curve, specs, space=space, seed=seed, sampler=sampler, progress=progress,
                      check=check)
    table, loos, messages = loo_table(fits, method=method, k_threshold=k_threshold)
    if skipped:
        messages = [f"{curve.name or 'curve'}: not compared (too few fit points; give breaks= "
                    f"to choose the forms): {'; '.join(skipped)}", *messages]
    if check:
        for msg in messages:
            warnings.warn(msg, LOOWarning, stacklevel=2)
    return Comparison(table=table, fits=fits, loo=loos, curve_name=curve.name,
                      messages=messages, time_s=time.perf_counter() - t0)
