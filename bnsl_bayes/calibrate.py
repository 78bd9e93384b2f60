"""Calibrate the bands past the data: refit on the earlier points and measure the drift.

:func:`calibrate_drift` refits a fit's form on its points up to a cut (leave-future-out) and
measures how far the law strays on the points past the cut (:class:`~bnsl_bayes.drift.Drift`);
``Fit.predict(x, drift=...)`` then widens the bands past the data by as much.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence

from .data import DataError
from .drift import DEFAULT_CUT, Drift, lfo_curve
from .fitting import fit_curves
from .result import Fit
from .sampling.nuts import SamplerConfig

__all__ = ["calibrate_drift", "calibrate_drifts", "lfo_refits"]


def calibrate_drift(fit: Fit, *, cut: float = DEFAULT_CUT, seed: int | None = None,
                    warmup: int | None = None, samples: int | None = None) -> Drift:
    """Refit ``fit``'s form on its fit points up to ``cut`` and measure the drift.

    The refit uses the same model, noise space and sampler settings as ``fit``. Pass the result
    to :meth:`Fit.predict <bnsl_bayes.result.Fit.predict>` (``drift=``) for bands that widen
    past the data by as much as the law strayed inside it.

    Parameters
    ----------
    fit : Fit
        A fit of a curve with at least one more fit point than the law has parameters.
    cut : float
        Share of the fit points' log-x range the refit keeps (see :func:`lfo_curve`).
    seed : int, optional
        Seed of the refit (default: the fit's own seed).
    warmup, samples : int, optional
        Budget of the refit per chain (default: the fit's own). The drift needs only the mean
        and covariance of the refit's predictions at the scored points.

    Returns
    -------
    Drift
    """
    return calibrate_drifts([fit], cut=cut, seed=None if seed is None else [seed],
                            warmup=warmup, samples=samples)[0]


def calibrate_drifts(fits: Sequence[Fit], *, cut: float = DEFAULT_CUT,
                     seed: Sequence[int] | None = None, warmup: int | None = None,
                     samples: int | None = None, batch_size: int | None = None,
                     seeds: Sequence[int] | None = None) -> list[Drift]:
    """:func:`calibrate_drift` for many fits, the refits batched as in :func:`~bnsl_bayes.fit_many`.

    Fits that share a model and sampler settings (all of one ``fit_many`` call) are refitted
    by one compiled sampler; refit ``i`` uses ``seed[i]`` (default: fit ``i``'s own seed), so
    each drift equals what :func:`calibrate_drift` gives for that fit alone.

    Parameters
    ----------
    fits : sequence of Fit
        The fits, each with at least one more fit point than its law has parameters.
    cut : float
        Share of the fit points' log-x range the refits keep (see :func:`lfo_curve`).
    seed : sequence of int, optional
        Seed of each refit (PRNG seeds; ``seeds=``, the old name, is deprecated: ``seeds``
        counts runs per point everywhere else).
    warmup, samples : int, optional
        Budget of the refits per chain (default: each fit's own). Refits of 4 x (300 + 300)
        measure nearly the same drift as the default budget in a third of the time
        (``python -m validation drift_budget``, docs/calibration.md).
    batch_size : int, optional
        Curves per compiled call (see :func:`~bnsl_bayes.fit_many`).

    Returns
    -------
    list of Drift
        One per fit, in order.

    Raises
    ------
    DataError
        A fit with too few points to cut, named by its position.
    """
    if seeds is not None:
        warnings.warn("calibrate_drifts(seeds=...) is deprecated and goes in the next release: "
                      "pass seed=[...] (the PRNG seed of each refit)", DeprecationWarning,
                      stacklevel=2)
        if seed is None:
            seed = seeds
    fits = list(fits)
    refits = lfo_refits(fits, cut=cut, seed=seed, warmup=warmup, samples=samples,
                        batch_size=batch_size)
    return [Drift.from_draws(refit.draws(), refit.spec.form, refit.space, fit.curve,
                             float(refit.curve.x[refit.curve.fit_mask].max()))
            for fit, refit in zip(fits, refits, strict=True)]


def lfo_refits(fits: Sequence[Fit], *, cut: float = DEFAULT_CUT,
               seed: Sequence[int] | None = None, warmup: int | None = None,
               samples: int | None = None, batch_size: int | None = None) -> list[Fit]:
    """The leave-future-out refits behind :func:`calibrate_drifts`, one per fit, in order.

    Each refit has the fit's model, noise space and sampler settings and the fit's curve with
    its fit points past ``cut`` of their log-x range held out (:func:`lfo_curve`). Use it to
    look at a refit's diagnostics or to measure the drift another way; the arguments are those
    of :func:`calibrate_drifts`.

    Returns
    -------
    list of Fit
        Refit ``i`` stands for fit ``i`` on its points up to the cut; its diagnostics are not
        checked (``check=False``), so no warning is raised.

    Raises
    ------
    ValueError
        An item that is not a Fit, or a ``seed`` of the wrong length.
    DataError
        A fit with too few points to cut, named by its position.
    """
    fits = list(fits)
    for i, f in enumerate(fits):
        if not isinstance(f, Fit):
            raise ValueError(f"fits[{i}] is a {type(f).__name__}: expected a Fit (from "
                             f"bnsl_bayes.fit, fit_many or load)")
    seeds = [f.seed for f in fits] if seed is None else [int(s) for s in seed]
    if len(seeds) != len(fits):
        raise ValueError(f"{len(fits)} fits but {len(seeds)} seeds: give one seed per fit")
    cut_curves = []
    for i, f in enumerate(fits):
        try:
            cut_curves.append(lfo_curve(f.curve, f.spec.n_law_params, cut))
        except DataError as err:
            label = f"fits[{i}]" + (f" ({f.curve.name!r})" if f.curve.name else "")
            raise DataError(f"{label}: {err}") from None
    # one batch per (model, sampler settings, noise space)
    groups: dict[tuple, list[int]] = {}
    for i, f in enumerate(fits):
        key = (f.spec, str(f.data.attrs.get("sampler", "{}")), f.space)
        groups.setdefault(key, []).append(i)
    out: list[Fit | None] = [None] * len(fits)
    for (spec, settings, space), idx in groups.items():
        budget = {k: v for k, v in (("warmup", warmup), ("samples", samples)) if v is not None}
        # a file saved before SamplerConfig had a method ran NUTS alone
        config = SamplerConfig(**{"method": "nuts", **json.loads(settings), **budget})
        config.validate()
        refits = fit_curves([cut_curves[i] for i in idx], spec, config, space,
                             [seeds[i] for i in idx], batch_size=batch_size, check=False)
        for i, refit in zip(idx, refits, strict=True):
            out[i] = refit
    return out
