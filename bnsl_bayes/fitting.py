"""``fit``: from data to a :class:`~bnsl_bayes.result.Fit` (validate, standardize, NUTS, DataTree).

All checks on the input run here, before any JAX code is traced.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .checks import ESS_MIN, failed_fits_message, may_pass_with_more, passes
from .data import Curve, DataError, NoiseSpace
from .fileformat import build_datatree, json_attr
from .forms import get_form
from .loo import Comparison, LOOWarning, SelectionError, auto_choice, loo_table
from .result import Fit, SamplingWarning
from .sampling.nuts import SamplerConfig, padded_length, run_nuts_batch
from .sampling.progress import Bar
from .sampling.ray_backend import check_ray_address, run_batches_on_ray
from .sampling.smc import padded_lengths, run_smc_batch
from .spec import ModelSpec, SpecError, load_spec
from .standardize import ModelData, Scaling

__all__ = ["AUTO_BREAKS", "fit", "fit_auto", "fit_many", "fit_models", "resolve_model"]

#: The numbers of breaks ``breaks="auto"`` chooses from (the bundled models bnsl-0 .. bnsl-3).
AUTO_BREAKS = (0, 1, 2, 3)

#: Seeds are the int64 of JAX's PRNG keys.
MAX_SEED = 2**63


def resolve_model(breaks: int | None, model: str | PathLike | ModelSpec | None) -> ModelSpec:
    """The specification named by ``model``, or the bundled ``bnsl-{breaks}``.

    Raises
    ------
    SpecError
        Unknown model, malformed file, ``breaks`` that contradicts the model, or ``breaks``
        given with a form whose shape is fixed (``m1`` ... ``m4``).
    """
    if isinstance(model, ModelSpec):
        spec = model
    elif model is not None:
        spec = load_spec(model)
    else:
        if isinstance(breaks, bool) or not isinstance(breaks, int | np.integer) or breaks < 0:
            raise SpecError(f"breaks = {breaks!r}: expected a whole number >= 0 (usually 1)")
        try:
            spec = load_spec(f"bnsl-{int(breaks)}")
        except SpecError:
            raise SpecError(
                f"breaks = {breaks}: no bundled model bnsl-{breaks}; use breaks from 0 to 3 or "
                f"pass model= the path of your own TOML with more breaks"
            ) from None
        return spec
    shape = get_form(spec.form)
    if breaks is not None and shape.fixed_breaks is not None:
        raise SpecError(
            f"breaks = {breaks!r} with model {spec.name!r}: its form {spec.form!r} "
            f"({shape.formula}) has a fixed shape; leave breaks out (breaks chooses among the "
            f"bnsl forms)"
        )
    if breaks is not None and breaks != spec.breaks:
        raise SpecError(
            f"breaks = {breaks} but model {spec.name!r} has {spec.breaks}; give one of the two"
        )
    return spec


def as_curve(
    curve_or_x: Curve | pd.DataFrame | ArrayLike,
    y: ArrayLike | str | None = None,
    seeds: ArrayLike | str | None = None,
    std: ArrayLike | str | None = None,
    *,
    x: str | None = None,
    split: str | None = None,
) -> Curve:
    """The Curve of the data given to :func:`fit` (and ``fit_auto``, ``compare``).

    A Curve is taken as it is; a DataFrame is read by :meth:`Curve.from_dataframe` with ``x``,
    ``y``, ``seeds``, ``std`` and ``split`` as column names (default columns ``x`` and ``y``);
    anything else is the x values, with ``y`` (and ``seeds``, ``std``: arrays or one number for
    every row) as values.

    Raises
    ------
    DataError
        A Curve given together with data or columns, column names without a DataFrame, values
        in place of column names, a missing column, or bad data.
    """
    given = {"y": y, "seeds": seeds, "std": std, "x": x, "split": split}
    if isinstance(curve_or_x, Curve):
        extra = [k for k, v in given.items() if v is not None]
        if extra:
            raise DataError(f"give either a Curve or the data, not both: leave out "
                            f"{', '.join(extra)} when the first argument is a Curve")
        return curve_or_x
    if isinstance(curve_or_x, pd.DataFrame):
        return Curve.from_dataframe(curve_or_x, x="x" if x is None else x,
                                    y="y" if y is None else y, seeds=seeds, std=std, split=split)
    named = [k for k, v in given.items() if isinstance(v, str)]
    if named:
        k = named[0]
        raise DataError(f"{k}={given[k]!r} names a column, but the first argument is not a "
                        f"DataFrame; pass the table (fit(df, x='n', y='loss')), or give "
                        f"{k} as values")
    if y is None:
        raise DataError("fit(x, y): y is missing; pass y, a Curve or a DataFrame")
    return Curve.from_arrays(curve_or_x, y, seeds=seeds, std=std)


def fit(
    curve_or_x: Curve | pd.DataFrame | ArrayLike,
    y: ArrayLike | str | None = None,
    *,
    x: str | None = None,
    seeds: ArrayLike | str | None = None,
    std: ArrayLike | str | None = None,
    split: str | None = None,
    breaks: int | str | None = None,
    model: str | PathLike | ModelSpec | None = None,
    space: NoiseSpace | None = None,
    seed: int = 0,
    sampler: SamplerConfig | None = None,
    progress: bool = False,
    check: bool = True,
    selection: str = "loo",
    **deprecated: Any,
) -> Fit:
    """Fit a Broken Neural Scaling Law by NUTS and return the posterior.

    Parameters
    ----------
    curve_or_x : Curve, pandas.DataFrame or array_like
        A :class:`~bnsl_bayes.data.Curve` (its held-out points are kept out of the fit), a
        table whose columns ``x``, ``y``, ``seeds``, ``std`` and ``split`` name (one row per
        point or per run), or the x values (> 0).
    y : array_like or str, optional
        The metric, when ``curve_or_x`` is x; its column (default ``"y"``) for a DataFrame.
        Rows at the same x are runs of one point.
    x : str, optional
        The column of x in a DataFrame (default ``"x"``).
    seeds : int, array_like or str, optional
        Number of runs averaged into each row (default 1; one number for every row), or its
        column.
    std : float, array_like or str, optional
        Per-run standard deviation of y at each row, used as information on the noise, or its
        column.
    split : str, optional
        The column of a DataFrame that says which rows are fitted (see
        :meth:`Curve.from_dataframe <bnsl_bayes.data.Curve.from_dataframe>`).
    breaks : int, optional
        Number of breaks: selects the bundled model ``bnsl-{breaks}`` (0 to 3; default 1). With
        ``model`` it may be left out, or must equal the model's own number. ``"auto"``: fit 0 to
        3 breaks and return the best by PSIS-LOO or by the log evidence (``selection``,
        :func:`fit_auto`).
    model : str, path or ModelSpec, optional
        A bundled model name (``"bnsl-1"``) or the path of a TOML specification.
    space : {"log", "linear"}, optional
        Noise space: multiplicative noise on y (``"log"``, the default when every fitted y > 0)
        or additive (``"linear"``, for metrics that can be 0 or negative).
    seed : int
        Seed of the PRNG key; the same seed gives the same posterior.
    sampler : SamplerConfig, optional
        Sampler settings (default ``SamplerConfig()``: NUTS, 4 chains x (1000 + 1000),
        target_accept 0.95, and where NUTS's diagnostics fail, tempered SMC with 4 runs of 250
        particles, then two, four, eight and sixteen such runs pooled per chain where Monte Carlo
        error can explain the failure, kept where its diagnostics are better; ``method``
        chooses, see :class:`~bnsl_bayes.SamplerConfig`).
    progress : bool
        Draw a progress bar of the iterations (chains x (warmup + samples)) on standard error
        while sampling.
    check : bool
        Warn (:class:`~bnsl_bayes.result.SamplingWarning`) on divergences, r_hat > 1.01,
        bulk ESS < 400, or no fit point left to estimate the noise (see :meth:`Fit.check`).
    selection : {"loo", "evidence"}
        How ``breaks="auto"`` chooses: by PSIS-LOO (default), or by the log evidence, with
        every form fitted by tempered SMC (:func:`fit_auto`).
    **deprecated
        ``chains``, ``warmup``, ``samples``, ``target_accept``, ``max_tree_depth`` and
        ``dense_mass`` as keywords still work for one release, with a DeprecationWarning: pass
        ``sampler=SamplerConfig(...)``.

    Returns
    -------
    Fit

    Raises
    ------
    DataError
        Bad data (NaN, inf, x <= 0 or beyond 1e-50 ... 1e50, y <= 0 in log space, seeds < 1,
        mismatched lengths, a missing column, fewer fit points than the law has parameters).
    SpecError
        Unknown model name or malformed model file.
    ValueError
        Bad sampler settings, or a bad ``selection`` (or one other than ``"loo"`` without
        ``breaks="auto"``).
    TypeError
        An unknown keyword.
    """
    t0 = time.perf_counter()
    sampler = sampler_config(sampler, deprecated, where="fit")
    curve = as_curve(curve_or_x, y, seeds, std, x=x, split=split)
    check_selection(selection, breaks)
    if isinstance(breaks, str) and breaks == "auto":  # 0-3 breaks, the best of them
        return fit_auto(curve, model=model, check=check, space=space, seed=seed,
                        sampler=sampler, progress=progress, selection=selection)
    spec, config = settings(breaks, model, seed, sampler, progress)
    (result,) = fit_curves([curve], spec, config, space, [int(seed)], check=False, t0=t0)
    if check:
        result.check(stacklevel=2)
    return result


#: The sampler settings that ``fit`` and the others took as keywords before ``sampler=``.
SAMPLER_KEYWORDS = ("chains", "warmup", "samples", "target_accept", "max_tree_depth",
                    "dense_mass")


#: How ``fit(..., breaks="auto")`` may choose, and the weighting of :mod:`.loo` each uses.
SELECTIONS = {"loo": "stacking", "evidence": "evidence"}


def check_selection(selection: str, breaks: int | str | None) -> None:
    """Raise ValueError on a ``selection`` that ``fit`` cannot use with ``breaks``."""
    if selection not in SELECTIONS:
        raise ValueError(f"selection = {selection!r}: expected 'loo' (PSIS-LOO) or 'evidence' "
                         f"(the log evidence, by tempered SMC)")
    if selection != "loo" and breaks != "auto":
        raise ValueError(f"selection = {selection!r} chooses the number of breaks: give "
                         f"breaks='auto' with it (breaks is {breaks!r})")


def evidence_sampler(sampler: SamplerConfig, method: str) -> SamplerConfig:
    """The sampler of a comparison weighted by ``method``: tempered SMC when it is the log
    evidence (NUTS does not estimate it), else ``sampler`` itself."""
    if method != "evidence" or sampler.method == "smc":
        return sampler
    if sampler.method == "nuts":
        raise ValueError("ranking by the log evidence needs tempered SMC, which estimates it, "
                         "and the sampler's method is 'nuts': leave it at 'auto' or set 'smc' "
                         "(CLI: --sampler smc), or rank by PSIS-LOO")
    return replace(sampler, method="smc")


def sampler_config(sampler: SamplerConfig | None, deprecated: Mapping[str, Any], *, where: str,
                   default: SamplerConfig | None = None) -> SamplerConfig:
    """The sampler settings of a call: ``sampler`` (or ``default``) with the deprecated keywords
    applied, validated.

    Raises
    ------
    TypeError
        A keyword that is not a sampler setting, or a ``sampler`` that is not a SamplerConfig.
    ValueError
        A setting NUTS cannot run with.
    """
    unknown = sorted(set(deprecated) - set(SAMPLER_KEYWORDS))
    if unknown:
        raise TypeError(f"{where}() got unexpected keyword argument(s) {unknown}")
    if sampler is None:
        sampler = SamplerConfig() if default is None else default
    elif not isinstance(sampler, SamplerConfig):
        raise TypeError(f"sampler = {sampler!r}: expected a bnsl_bayes.SamplerConfig, e.g. "
                        f"SamplerConfig(chains=4, warmup=1000, samples=1000)")
    if deprecated:
        given = ", ".join(f"{k}={v!r}" for k, v in deprecated.items())
        warnings.warn(f"{where}({given}): the sampler keywords are deprecated and go in the next "
                      f"release; pass sampler=bnsl_bayes.SamplerConfig({given})",
                      DeprecationWarning, stacklevel=3)
        sampler = replace(sampler, **deprecated)
    sampler.validate()
    return sampler


def settings(breaks, model, seed, sampler: SamplerConfig, progress: bool = False
             ) -> tuple[ModelSpec, SamplerConfig]:
    """The model and sampler settings of a fit, validated."""
    spec = resolve_model(1 if breaks is None and model is None else breaks, model)
    if (isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
            or seed >= MAX_SEED):
        raise ValueError(f"seed = {seed!r}: expected a whole number from 0 to 2**63 - 1")
    if not isinstance(progress, bool):
        raise ValueError(f"progress = {progress!r}: expected True or False")
    return spec, replace(sampler, progress=progress)


def prepare(curve: Curve, spec: ModelSpec,
             space: NoiseSpace | None) -> tuple[NoiseSpace, Scaling, ModelData]:
    """Noise space, standardization and model arrays of one curve, after its checks."""
    if space is None:
        space = "log" if np.all(curve.y[curve.fit_mask] > 0) else "linear"
    if space not in ("log", "linear"):
        raise DataError(f"space = {space!r}: expected 'log' or 'linear'")
    curve.check_fittable(n_params=spec.n_law_params, space=space, model=spec.name)
    scaling = Scaling.from_curve(curve, space)
    form = get_form(spec.form)
    form.check_data(curve, scaling, spec)
    return space, scaling, ModelData.from_curve(curve, scaling, refs=form.needs_refs)


def finish(values, stats, warm_div, *, spec, config, scaling, curve, mdata, seed,
            time_s, smc: Mapping[str, np.ndarray] | None = None) -> Fit:
    """The Fit of one sampled curve: by NUTS, or by SMC when ``smc`` (its per-run information
    from :func:`~.sampling.smc.run_smc_batch`) is given."""
    dt = build_datatree(values, stats, spec=spec, scaling=scaling, curve=curve, mdata=mdata,
                        seed=seed)
    dt.attrs.update({
        "sampler": json_attr(
            {k: getattr(config, k) for k in config.__dataclass_fields__ if k != "progress"}),
        "sampling_method": "nuts" if smc is None else "smc",
        "warmup_divergences": warm_div,
        "time_s": time_s,
    })
    if smc is not None:
        dt.attrs["smc"] = json_attr(smc_summary(smc))
    return Fit(data=dt, spec=spec, scaling=scaling, curve=curve, seed=seed)


def smc_summary(info: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The per-run record of an SMC fit kept in its attributes: each run's log evidence, its
    number of temperatures, the last temperature reached (1 unless the run stopped at
    ``MAX_STAGES``), and each stage's temperature and mean acceptance of the HMC moves."""
    stages = [int(k) for k in np.asarray(info["stages"])]
    return {
        "log_evidence": [float(v) for v in np.asarray(info["log_evidence"])],
        "stages": stages,
        "final_temperature": [float(v) for v in np.asarray(info["final_temperature"])],
        "temperatures": [[float(t) for t in row[:k]]
                         for row, k in zip(np.asarray(info["temperatures"]), stages, strict=True)],
        "acceptance": [[float(a) for a in row[:k]]
                       for row, k in zip(np.asarray(info["acceptance"]), stages, strict=True)],
    }


def better(candidate: dict[str, float | int], incumbent: dict[str, float | int]) -> bool:
    """Whether a fit with diagnostics ``candidate`` should replace one with ``incumbent``: it
    passes where the other does not, or neither passes and its chains (runs) disagree less."""
    if passes(candidate) != passes(incumbent):
        return passes(candidate)
    return not passes(incumbent) and candidate["max_r_hat"] < incumbent["max_r_hat"]


def fit_many(
    curves: Iterable[Curve] | Mapping[str, Curve],
    *,
    breaks: int | None = None,
    model: str | PathLike | ModelSpec | None = None,
    space: NoiseSpace | None = None,
    seed: int = 0,
    sampler: SamplerConfig | None = None,
    batch_size: int | None = None,
    ray_address: str | None = None,
    progress: bool | Callable[[int, int], None] = False,
    check: bool = True,
    **deprecated: Any,
) -> list[Fit]:
    """Fit one BNSL form to many curves with one compiled sampler.

    Curves are padded (with masked points) to a common length and each batch of curves runs
    through two compiled programs, the mode search and the chains (vectorized on an
    accelerator, one curve after the other on a CPU), compiled once per (form, noise space,
    padded length, batch size, sampler settings) and reused across calls. The curves whose
    NUTS diagnostics fail are then refitted by tempered SMC (``sampler.method="auto"``, the
    default), one batch per group of neighbouring padded lengths
    (:func:`~.sampling.smc.padded_lengths`), on this machine even with ``ray_address``. Curve
    ``i`` is fitted with seed ``seed + i``: ``fit_many(curves, seed=s)[i]`` draws the same
    posterior as ``fit(curves[i], seed=s + i)``.

    Parameters
    ----------
    curves : iterable of Curve, or mapping of name to Curve
        The curves (held-out points of each are kept out of its fit). A mapping (such as
        ``datasets.load("revisiting")``, or the curves of a long table,
        ``Curve.group(df, by=["task", "model"], x="n", y="loss")``) is fitted in its iteration
        order.
    breaks, model, space, sampler
        As in :func:`fit`, the same for every curve (``space=None`` picks per curve).
    seed : int
        Seed of the first curve; curve ``i`` uses ``seed + i``.
    batch_size : int, optional
        Curves per compiled call (default: one on a CPU, all curves of a noise space on a GPU;
        see :func:`~bnsl_bayes.sampling.nuts.default_batch`). On an accelerator a vectorized NUTS
        step lasts as long as the deepest tree of its batch; on a CPU the curves of a batch run
        one after the other. The draws do not depend on it.
    ray_address : str, optional
        Spread the batches over a Ray cluster: ``"local"`` (start or reuse one on this
        machine) or a cluster address (``"auto"``, ``"ray://head:10001"``); needs the ``ray``
        extra. Each Ray task takes the curves split evenly over the cluster's CPUs.
        The draws are the same as without Ray: a curve's draws depend on its data, seed and
        settings only.
    progress : bool or callable
        True draws a progress bar over curves on standard error; a callable is called as
        ``progress(done, total)`` as batches of curves finish.
    check : bool
        Warn (:class:`~bnsl_bayes.result.SamplingWarning`) per curve on divergences, r_hat >
        1.01 or bulk ESS < 400.

    Returns
    -------
    list of Fit
        One per curve, in input order.

    Raises
    ------
    DataError, SpecError, ValueError, TypeError
        As :func:`fit`; a bad curve is named by its position (and name) before anything runs.
    """
    t0 = time.perf_counter()
    sampler = sampler_config(sampler, deprecated, where="fit_many")
    if isinstance(curves, pd.DataFrame):
        raise DataError("fit_many takes curves, not a table: split a long table into curves "
                        "with Curve.group(df, by=[...], x=..., y=...) and pass the result")
    items = list(curves.values()) if isinstance(curves, Mapping) else list(curves)
    spec, config = settings(breaks, model, seed, sampler)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
            batch_size, int | np.integer) or batch_size < 1):
        raise ValueError(f"batch_size = {batch_size!r}: expected a whole number >= 1 or None")
    if int(seed) + len(items) > MAX_SEED:
        raise ValueError(f"seed = {seed}: curve i uses seed + i, which must stay below 2**63; "
                         f"give a smaller seed")
    if ray_address is not None:
        check_ray_address(ray_address)
    return fit_curves(items, spec, config, space, [int(seed) + i for i in range(len(items))],
                       batch_size=batch_size, ray_address=ray_address, progress=progress,
                       check=check, t0=t0)


def fit_curves(
    items: list[Curve],
    spec: ModelSpec,
    config: SamplerConfig,
    space: NoiseSpace | None,
    seeds: list[int],
    *,
    batch_size: int | None = None,
    ray_address: str | None = None,
    progress: bool | Callable[[int, int], None] = False,
    check: bool = True,
    t0: float | None = None,
) -> list[Fit]:
    """The body of :func:`fit_many` with one seed per curve (validated settings): the curves
    are checked, grouped by noise space and sampled in batches through one compiled sampler."""
    t0 = time.perf_counter() if t0 is None else t0
    prepared = []
    for i, curve in enumerate(items):
        if not isinstance(curve, Curve):
            raise DataError(f"curves[{i}] is a {type(curve).__name__}: expected a Curve "
                            f"(build one with Curve.from_arrays or Curve.from_csv)")
        try:
            prepared.append(prepare(curve, spec, space))
        except DataError as err:
            label = f"curves[{i}]" + (f" ({curve.name!r})" if curve.name else "")
            raise type(err)(f"{label}: {err}") from None
    if progress is True:
        progress = Bar("fitting", "curves")
    elif progress is False:
        progress = None
    elif not callable(progress):
        raise ValueError(f"progress = {progress!r}: expected True, False or a callable "
                         f"progress(done, total)")
    results: list[Fit | None] = [None] * len(items)
    done = 0
    for sp in ("log", "linear"):
        idx = [i for i, p in enumerate(prepared) if p[0] == sp]
        if not idx:
            continue
        if config.method == "smc":
            done += len(idx)
            run_smc(results, idx, prepared, items, spec, sp, config, seeds, batch_size, t0)
            if progress is not None:
                progress(done, len(items))
            continue
        data = [prepared[i][2] for i in idx]
        seeds_sp = [int(seeds[i]) for i in idx]
        if ray_address is None:
            offset = done

            def step(n, offset=offset):
                if progress is not None:
                    progress(offset + n, len(items))

            runs = run_nuts_batch(spec, sp, data, config, seeds_sp, batch=batch_size,
                                  progress=step)
        else:
            runs = run_batches_on_ray(ray_address, spec, sp, data, config, seeds_sp, batch_size)
            if progress is not None:
                progress(done + len(idx), len(items))
        done += len(idx)
        elapsed = (time.perf_counter() - t0) / len(items)
        for i, (values, stats, warm_div) in zip(idx, runs, strict=True):
            _, scaling, mdata = prepared[i]
            results[i] = finish(values, stats, warm_div, spec=spec, config=config,
                                 scaling=scaling, curve=items[i], mdata=mdata,
                                 seed=int(seeds[i]), time_s=elapsed)
        if config.method == "auto":
            # NUTS's chains disagree (or diverge, or mix slowly) where the data pin a break
            # weakly and the posterior has several modes: tempered SMC holds them all
            failed = [i for i in idx if not passes(results[i].diagnostics())]
            ladder = particle_ladder(config)
            # every rung runs more sets of runs of the first rung's size and pools them
            # with those before: independent runs average Monte Carlo error away, and the
            # rungs run at the first rung's lengths (on a CPU, one curve per call: no new
            # compile)
            runs, pools, lengths, sets = replace(config, particles=ladder[0]), {}, {}, 0
            for rung, particles in enumerate(ladder):
                run_smc(results, failed, prepared, items, spec, sp, runs, seeds, batch_size,
                        t0, pools=pools, lengths=lengths,
                        sets=range(sets, particles // ladder[0]), settings=config)
                sets = particles // ladder[0]
                failed = [i for i in failed if not passes(results[i].diagnostics())]
                if rung + 1 < len(ladder):
                    # on while the particles left on the ladder could explain the failure; a
                    # set with a run short of t = 1 stays in every pool after it, so it stops
                    ratio = ladder[-1] / particles
                    last = {i: json.loads(results[i].data.attrs["smc_attempts"])[-1]
                            for i in failed}
                    failed = [i for i in failed if last[i]["complete"]
                              and may_pass_with_more(last[i], ratio, config.chains)]
    if check:
        for r in results:
            r.check(stacklevel=3)  # the warning points at the caller of fit_many
        failed = [(items[i].name or f"curves[{i}]", r.diagnostics())
                  for i, r in enumerate(results) if not passes(r.diagnostics())]
        if failed and len(results) > 1:
            # each fit's own warning says what to change; this one says which curves
            warnings.warn(failed_fits_message(failed), SamplingWarning, stacklevel=3)
    return results


#: Runs pooled in each chain at the successive rungs of ``"auto"``'s SMC refits.
POOLED_RUNS = (1, 2, 4, 8, 16)


def particle_ladder(config: SamplerConfig) -> tuple[int, ...]:
    """The particles of each chain in ``"auto"``'s successive SMC refits: runs of a quarter of
    ``config.particles``, then two, four, eight and sixteen such runs pooled in each chain for
    the fits that still fail (:data:`POOLED_RUNS`; the top is four times ``config.particles``,
    rounded down to a multiple of 16).

    Most fits that NUTS fails are awkward rather than multimodal, and a quarter of the
    particles passes there at a quarter of the cost; each further rung doubles the particles
    only where the runs' disagreement is still within what Monte Carlo error at the top of
    the ladder explains (:func:`~.checks.may_pass_with_more`), so a fit pays for the rung it
    needs. One rung of ``config.particles`` where a quarter of them could not reach the ESS
    the diagnostics ask for (the runs' particles are at best independent draws)."""
    first = config.particles // 4
    if config.chains * first >= 2 * ESS_MIN:
        return tuple(k * first for k in POOLED_RUNS)
    return (config.particles,)


def pooled(outputs: Sequence[tuple[dict, dict, dict]]) -> tuple[dict, dict, dict]:
    """Sets of SMC runs of one curve (each as :func:`~.sampling.smc.run_smc_batch` gives it)
    as one: chain ``c`` holds run ``c`` of every set, one after the other along the draws,
    and the per-run information lists every run, set by set."""
    values, stats, info = (
        {k: np.concatenate([o[part][k] for o in outputs], axis=axis) for k in outputs[0][part]}
        for part, axis in ((0, 1), (1, 1), (2, 0)))
    return values, stats, info


def run_smc(results: list[Fit | None], idx: list[int], prepared: list, items: list[Curve],
            spec: ModelSpec, space: NoiseSpace, config: SamplerConfig, seeds: list[int],
            batch_size: int | None, t0: float, *, pools: dict[int, list] | None = None,
            lengths: dict[int, int] | None = None, sets: range = range(1),
            settings: SamplerConfig | None = None) -> None:
    """Fit curves ``idx`` (all of noise space ``space``) by tempered SMC, in place: each
    replaces the fit in ``results`` (by NUTS or by a smaller SMC run) where there is none or
    where it is :func:`better`. The fit kept records every SMC attempt in its ``smc_attempts``
    attribute and, if NUTS ran first, NUTS's diagnostics in ``nuts_diagnostics``.

    ``sets``: which sets of ``config.chains`` runs of ``config.particles`` particles to run
    (see ``pool`` of :func:`~.sampling.smc.run_smc_batch`). ``pools``: each curve's runs so
    far, which the new ones join; the candidate is all of them (:func:`pooled`). ``lengths``:
    the padded length each curve runs at, chosen on its first call and kept, so that later
    sets reuse the compiled programs. ``settings``: the sampler settings the fits record
    (default ``config``; auto's the user's, its rungs in ``smc_attempts``)."""
    if not idx:
        return
    start = time.perf_counter()
    pools = {} if pools is None else pools
    lengths = {} if lengths is None else lengths
    new = [i for i in idx if i not in lengths]
    if new:
        # SMC's run time grows with the padded points, so padding every curve to the longest
        # costs more than the compiles it saves: one program per group of neighbouring lengths
        own = {i: padded_length(prepared[i][2].n_points) for i in new}
        runs_at = padded_lengths(list(own.values()), config.particles, config.chains)
        lengths.update({i: runs_at[own[i]] for i in new})
    for k in sets:
        for length in sorted({lengths[i] for i in idx}):
            group = [i for i in idx if lengths[i] == length]
            for i, out in zip(group, run_smc_batch(
                    spec, space, [prepared[i][2] for i in group], config,
                    [int(seeds[i]) for i in group], batch=batch_size, length=length, pool=k),
                    strict=True):
                pools.setdefault(i, []).append(out)
    each = (time.perf_counter() - start) / len(idx)
    for i in idx:
        values, stats, info = pooled(pools[i])
        per_chain = config.particles * len(pools[i])
        _, scaling, mdata = prepared[i]
        previous = results[i]
        # NUTS's share of the call's time (t0 on) plus this curve's share of SMC's
        elapsed = each + (0.0 if previous is None else float(previous.data.attrs["time_s"]))
        if previous is None:
            elapsed += (start - t0) / len(items)
        candidate = finish(values, stats, 0, spec=spec, config=settings or config,
                           scaling=scaling, curve=items[i], mdata=mdata, seed=int(seeds[i]),
                           time_s=elapsed, smc=info)
        if previous is None:
            results[i] = candidate
            continue
        attrs = previous.data.attrs
        nuts = (attrs.get("nuts_diagnostics") if attrs.get("sampling_method") == "smc"
                else json_attr(previous.diagnostics()))
        complete = min(np.asarray(info["final_temperature"], dtype=float)) >= 1.0
        keep = complete and better(candidate.diagnostics(), previous.diagnostics())
        attempts = json.loads(attrs.get("smc_attempts", "[]"))
        attempts = [{**a, "kept": a["kept"] and not keep} for a in attempts]
        attempts.append({"particles": per_chain, "runs_pooled": len(pools[i]),
                         **candidate.diagnostics(), "complete": bool(complete),
                         "kept": bool(keep)})
        if keep:
            results[i] = candidate
        else:
            attrs["time_s"] = elapsed  # the fit's time counts the attempts it outlived
        results[i].data.attrs["smc_attempts"] = json.dumps(
            [json.loads(json_attr(a)) for a in attempts])
        if nuts is not None and results[i] is candidate:
            results[i].data.attrs["nuts_diagnostics"] = nuts


def fit_models(curve: Curve, specs: Sequence[ModelSpec], *, space: NoiseSpace | None = None,
               seed: int = 0, sampler: SamplerConfig | None = None, progress: bool = False,
               check: bool = True) -> dict[str, Fit]:
    """Fit each specification to one curve with the same seed and sampler settings.

    Every setting and every form's data check runs before the first sample, so a bad one is
    reported before minutes of sampling.

    Returns
    -------
    dict of str to Fit
        By model name, in the order of ``specs``.
    """
    sampler = sampler_config(sampler, {}, where="fit_models")
    for spec in specs:
        settings(None, spec, seed, sampler, progress)
        prepare(curve, spec, space)
    fits: dict[str, Fit] = {}
    for spec in specs:
        f = fit(curve, model=spec, space=space, seed=seed, sampler=sampler, progress=progress,
                check=False)
        if check:
            f.check(stacklevel=3)
        fits[spec.name] = f
    return fits


def fittable_breaks(curve: Curve, candidates: Sequence[int], space: NoiseSpace | None, *,
                    where: str) -> tuple[list[int], list[str]]:
    """The numbers of breaks among ``candidates`` that ``curve`` has enough fit points for, and
    for each other one why not (a form with more parameters than points cannot be fitted).

    Raises
    ------
    DataError
        Bad data, or no candidate fits the curve (``where`` names the caller).
    """
    usable, reasons = [], []
    for b in candidates:
        try:
            prepare(curve, resolve_model(b, None), space)
        except DataError as err:
            if "parameters" not in str(err):
                raise
            reasons.append(f"bnsl-{b}: {err}")
            continue
        usable.append(b)
    if not usable:
        raise DataError(f"{where}: no number of breaks fits this curve (" +
                        "; ".join(reasons) + ")")
    return usable, reasons


def fit_auto(
    curve_or_x: Curve | ArrayLike,
    y: ArrayLike | None = None,
    *,
    seeds: ArrayLike | None = None,
    std: ArrayLike | None = None,
    model: str | PathLike | ModelSpec | None = None,
    candidates: Sequence[int] = AUTO_BREAKS,
    check: bool = True,
    selection: str = "loo",
    **options: Any,
) -> Fit:
    """``fit(..., breaks="auto")``: fit 0 to 3 breaks and keep the form with the best elpd_loo
    among those that can be trusted.

    Forms with more parameters than the curve has fit points are skipped. The chosen fit is
    ``Comparison.best`` (:mod:`bnsl_bayes.loo`): the highest elpd_loo among the fits whose
    sampling passed its diagnostics (no divergences, r_hat <= 1.01, bulk ESS >= 400) and whose
    PSIS-LOO is reliable (no Pareto k > 0.7), or, when no converged fit has a reliable
    PSIS-LOO, among the converged fits. A fit left out with a higher elpd_loo than the chosen
    one is named in a :class:`LOOWarning`. When every fit failed its sampling diagnostics,
    :class:`~bnsl_bayes.loo.SelectionError` is raised (the fix: a longer run). The chosen
    fit's DataTree records the comparison in the attribute ``breaks_selection`` (JSON: the
    table, one record per form, with ``eligible`` and ``problem``).

    Parameters
    ----------
    curve_or_x, y, seeds, std
        As in :func:`~bnsl_bayes.fitting.fit`.
    model : None
        Must be None: ``breaks="auto"`` chooses among the bundled models.
    candidates : sequence of int
        Numbers of breaks to choose from (default 0, 1, 2, 3).
    check : bool
        Warn on sampling problems of the chosen fit, on its Pareto k and on the forms left out
        with a higher elpd_loo (:class:`LOOWarning`).
    selection : {"loo", "evidence"}
        ``"evidence"``: fit every form by tempered SMC and keep the highest log evidence among
        the fits that passed their diagnostics, whatever their Pareto k
        (``compare(..., method="evidence")``).
    **options
        ``space``, ``seed``, ``sampler``, ``progress``, as in ``fit`` (and its deprecated
        sampler keywords).

    Returns
    -------
    Fit
        The fit of the chosen number of breaks.

    Raises
    ------
    ValueError
        ``model`` given with ``breaks="auto"``, unknown options, a bad ``selection``
        (``"evidence"`` with a NUTS-only sampler included), or no candidate the curve can be
        fitted with (before any sampling).
    SelectionError
        (a ValueError) Every candidate failed its sampling diagnostics; its ``comparison``
        holds the fits.
    """
    if model is not None:
        raise SpecError("breaks='auto' chooses among the bundled models bnsl-0 .. bnsl-3; "
                        "leave model= out, or give breaks= a number with your model")
    allowed = {"space", "seed", "sampler", "progress"}
    deprecated = {k: v for k, v in options.items() if k not in allowed}
    options = {k: v for k, v in options.items() if k in allowed}
    options["sampler"] = sampler_config(options.get("sampler"), deprecated, where="fit_auto")
    check_selection(selection, "auto")
    method = SELECTIONS[selection]
    options["sampler"] = evidence_sampler(options["sampler"], method)
    curve = as_curve(curve_or_x, y, seeds, std)
    usable, _ = fittable_breaks(curve, candidates, options.get("space"), where="breaks='auto'")
    fits = fit_models(curve, [resolve_model(b, None) for b in usable], check=False, **options)
    table, loos, messages = loo_table(fits, method=method)
    result = Comparison(table=table, fits=fits, loo=loos, curve_name=curve.name,
                        messages=messages)
    chosen, why = auto_choice(table, curve.name)
    if chosen is None:
        raise SelectionError(why, result)
    best = fits[chosen]
    best.data.attrs["breaks_selection"] = json.dumps(result.to_dict()["models"])
    if check:
        best.check(stacklevel=3)
        for msg in result.messages:
            if f"model {chosen}:" in msg:
                warnings.warn(msg, LOOWarning, stacklevel=3)
        if why:
            warnings.warn(why, LOOWarning, stacklevel=3)
    return best
