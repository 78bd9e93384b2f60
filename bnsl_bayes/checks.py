"""The warning policy of a fit: sampling diagnostics, weakly pinned breaks, misfit, noise.

Sampling problems are reported, not hidden: each check returns the message a user reads (what
went wrong, what it does to the bands, and the fix); :meth:`bnsl_bayes.result.Fit.check` raises
them as warnings. The functions here read a fit's DataTree and plain arrays only.
"""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import arviz as az
import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy.stats import chi2

__all__ = [
    "MISFIT_LEVEL",
    "MISFIT_MIN_POINTS",
    "R_HAT_MAX",
    "ESS_MIN",
    "TREE_DEPTH_SATURATION",
    "MisfitWarning",
    "SamplingWarning",
    "diagnostics",
    "ladder_slack",
    "lag1_autocorrelation",
    "may_pass_with_more",
    "misfit_message",
    "misfit_threshold",
    "noise_message",
    "residual_autocorrelation",
    "sampling_messages",
    "tree_depth_saturation",
]


class SamplingWarning(UserWarning):
    """NUTS reported a problem (divergences, r_hat > 1.01, low ESS), or the data cannot support
    the bands (no point left to estimate the noise): the bands may be wrong."""


class MisfitWarning(SamplingWarning):
    """The fitted form misses structure in the data (residuals correlated along x): the bands,
    past the data above all, are too narrow."""


#: Largest r_hat (rank-normalized, split) of a sound fit.
R_HAT_MAX = 1.01
#: Smallest bulk ESS of a sound fit.
ESS_MIN = 400
#: One-sided level of the residual-autocorrelation check.
MISFIT_LEVEL = 0.01
#: Fewest fit points for that check.
MISFIT_MIN_POINTS = 10
#: Share of kept iterations at NUTS's maximal tree depth above which the r_hat and ESS
#: warnings say that the data pin a break weakly.
TREE_DEPTH_SATURATION = 0.1


def diagnostics(data: xr.DataTree, var_names: list[str]) -> dict[str, float | int]:
    """``max_r_hat``, ``min_ess_bulk`` (rank-normalized, ArviZ) over ``var_names`` and the
    post-warmup ``divergences`` of a fit's DataTree."""
    post = data["posterior"].to_dataset()[var_names]
    rhat = az.rhat(post)
    ess = az.ess(post, method="bulk")
    max_rhat = max(float(np.nanmax(np.atleast_1d(rhat[v].values))) for v in var_names)
    min_ess = min(float(np.nanmin(np.atleast_1d(ess[v].values))) for v in var_names)
    div = int(np.asarray(data["sample_stats"]["diverging"].values).sum())
    return {"max_r_hat": max_rhat, "min_ess_bulk": min_ess, "divergences": div}


def passes(diag: dict[str, float | int]) -> bool:
    """Whether diagnostics from :func:`diagnostics` are those of a sound run."""
    return (diag["divergences"] == 0 and diag["max_r_hat"] <= R_HAT_MAX
            and diag["min_ess_bulk"] >= ESS_MIN)


def failed_fits_message(failed: list[tuple[str, dict[str, float | int]]]) -> str:
    """The fits of several curves that did not pass their diagnostics, one line each:
    ``failed`` holds (curve name, :func:`diagnostics`) pairs."""
    lines = [f"{len(failed)} fit(s) did not pass their diagnostics (max r_hat <= {R_HAT_MAX}, "
             f"min bulk ESS >= {ESS_MIN}, no divergences); their bands are not to be trusted:"]
    lines += [f"  {name}: max r_hat {float(d['max_r_hat']):.3f}, min bulk ESS "
              f"{float(d['min_ess_bulk']):.0f}, {int(d['divergences'])} divergence(s)"
              for name, d in failed]
    return "\n".join(lines)


def tree_depth_saturation(data: xr.DataTree) -> float:
    """Share of the kept iterations whose NUTS tree reached ``max_tree_depth``.

    NaN when the tree does not record the tree depths or the sampler settings. A high share on
    a form with breaks means the data pin a break only weakly (docs/validation.md).
    """
    stats = data["sample_stats"]
    sampler = json.loads(data.attrs.get("sampler", "{}") or "{}")
    if "tree_depth" not in stats or "max_tree_depth" not in sampler:
        return math.nan
    depth = np.asarray(stats["tree_depth"].values)
    return float(np.mean(depth >= int(sampler["max_tree_depth"])))


def _weak_break_advice(saturation: float, breaks: int, auto: bool = False) -> str:
    """The sentence added to the r_hat and ESS warnings when the trees saturate, else ''.

    A fit chosen by ``breaks='auto'`` is not sent back to ``breaks='auto'``: it is told to fit
    fewer breaks itself."""
    if not saturation > TREE_DEPTH_SATURATION:
        return ""
    fix = (f"fit breaks={breaks - 1} and compare it with this fit (bnsl-bayes compare shows "
           f"every form's diagnostics)" if auto else
           f"compare fewer breaks, fit(..., breaks='auto') (PSIS-LOO; CLI: --breaks auto), or "
           f"fit breaks={breaks - 1}")
    return (
        f" The sampler's trees reached the maximal depth in {saturation:.0%} of the iterations: "
        f"the data pin a break only weakly. Fix: {fix}."
    )


def sampling_messages(diag: dict[str, float | int], saturation: float, breaks: int,
                      auto: bool = False, particles: int | None = None,
                      runs: int = 4, warmup: int = 1000, samples: int = 1000) -> list[str]:
    """The messages on divergences, r_hat and ESS.

    Parameters
    ----------
    diag : dict
        From :func:`diagnostics`.
    saturation : float
        Share of saturated trees (:func:`tree_depth_saturation`) on a form with breaks; NaN
        where the weak-break advice does not apply.
    breaks : int
        Number of breaks of the fitted form.
    auto : bool
        The form was chosen by ``breaks='auto'`` (the DataTree has ``breaks_selection``): the
        advice does not name ``breaks='auto'`` again.
    particles : int, optional
        The fit is by tempered SMC and this is the most particles per chain tried on the curve
        (None: by NUTS): its chains are runs, which warmup and draws do not change, so the fix
        is more particles where Monte Carlo error can explain the runs' disagreement
        (:func:`may_pass_with_more`), else fewer breaks or more points.
    runs : int
        SMC runs of the fit.
    warmup, samples : int
        The NUTS fit's warmup and draws per chain: the advice names twice as many.
    """
    if particles is not None:
        return _smc_sampling_messages(diag, particles, runs)
    messages = []
    rhat_bad, ess_bad = not diag["max_r_hat"] <= R_HAT_MAX, not diag["min_ess_bulk"] >= ESS_MIN
    weak = _weak_break_advice(saturation, breaks, auto) if rhat_bad or ess_bad else ""
    if diag["divergences"] > 0:
        messages.append(
            f"{diag['divergences']} divergent transitions after warmup: the sampler missed part "
            f"of the posterior and the bands may be too narrow. Fix: raise target_accept "
            f"(sampler=SamplerConfig(target_accept=0.99); CLI --target-accept 0.99), or fit fewer "
            f"breaks."
        )
    if rhat_bad:
        messages.append(
            f"max r_hat = {diag['max_r_hat']:.3f} > {R_HAT_MAX}: the chains disagree. Fix: run "
            f"longer (sampler=SamplerConfig(warmup={2 * warmup}, samples={2 * samples}); CLI "
            f"--warmup {2 * warmup} --samples {2 * samples}) and check the trace plot for chains "
            f"stuck in separate modes (then sample by tempered SMC with more particles: "
            f"SamplerConfig(method='smc', particles=4000), CLI --sampler smc --particles 4000; "
            f"or fit fewer breaks or give more points).{weak}"
        )
    if ess_bad:
        messages.append(
            f"min bulk ESS = {diag['min_ess_bulk']:.0f} < {ESS_MIN}: the posterior summaries are "
            f"noisy. Fix: draw more samples (sampler=SamplerConfig(samples={2 * samples}) or more "
            f"chains)."
            + ("" if rhat_bad else weak)
        )
    return messages


def _smc_sampling_messages(diag: dict[str, float | int], particles: int,
                           runs: int) -> list[str]:
    """:func:`sampling_messages` of a fit by tempered SMC (its HMC moves are Metropolis
    corrected: no divergences). ``particles``: the most per chain tried on this curve."""
    n = 4 * int(particles)
    more = f"more particles per chain (particles={n} in the SamplerConfig; CLI --particles {n})"
    messages = []
    if not diag["max_r_hat"] <= R_HAT_MAX:
        if may_pass_with_more(diag, 4.0, runs):
            fix = f"{more}, or fit fewer breaks or give more points"
        else:
            fix = (f"fit fewer breaks or give more points (past a break to pin it): the runs "
                   f"disagree by more than Monte Carlo error at {particles} particles explains, "
                   f"so they sit in different modes and {n} particles are unlikely to settle "
                   f"them (a run with particles={n} would tell)")
        messages.append(
            f"max r_hat = {diag['max_r_hat']:.3f} > {R_HAT_MAX}: the SMC runs disagree (on the "
            f"weights of the posterior's modes, or on a mode some runs missed). Fix: {fix}."
        )
    if not diag["min_ess_bulk"] >= ESS_MIN:
        messages.append(
            f"min bulk ESS = {diag['min_ess_bulk']:.0f} < {ESS_MIN}: the posterior summaries "
            f"are noisy. Fix: {more}."
        )
    return messages


def ladder_slack(runs: int) -> float:
    """How far above its expected Monte Carlo scale the runs' observed disagreement may be and
    still count as Monte Carlo error: the 95% point of chi-square(k) / k, the spread of the
    between-chain variance that r_hat reads from ``runs`` runs split in halves (k = 2 runs - 1;
    2.01 for 4 runs)."""
    k = 2 * int(runs) - 1
    return float(chi2.ppf(0.95, k) / k)


def may_pass_with_more(diag: dict[str, float | int], ratio: float, runs: int = 4) -> bool:
    """Whether ``runs`` SMC chains of ``ratio`` times the particles (bigger runs, or more runs
    pooled in each) could pass where chains with diagnostics ``diag`` failed, were their
    failure Monte Carlo error.

    That error shrinks like 1 / particles: the runs' between-run variance, hence
    ``r_hat**2 - 1``, by ``ratio``, and their ESS grows by ``ratio``. Runs that disagree by
    more than that (up to :func:`ladder_slack` for the noise of the estimates) sit in
    different modes, which more particles of the same kind do not fix, and the ladder stops
    there rather than spend ``ratio`` times the cost on the same answer."""
    r_hat, ess = float(diag["max_r_hat"]), float(diag["min_ess_bulk"])
    if not (np.isfinite(r_hat) and np.isfinite(ess)):
        return False
    slack = ladder_slack(runs) * ratio
    return r_hat**2 - 1.0 <= slack * (R_HAT_MAX**2 - 1.0) and slack * ess >= ESS_MIN


def smc_message(info: dict | None) -> str | None:
    """The warning when an SMC run stopped at its most temperatures short of the posterior
    (``info``: the fit's ``attrs["smc"]``), else None."""
    if not info or min(info["final_temperature"]) >= 1.0:
        return None
    short = [f"{t:.3g}" for t in info["final_temperature"] if t < 1.0]
    return (
        f"{len(short)} of {len(info['final_temperature'])} SMC runs stopped at their last "
        f"allowed temperature ({', '.join(short)} of 1): their particles are not draws from "
        f"the posterior. Fix: more particles and moves (sampler=SamplerConfig(method='smc', "
        f"particles=4000, smc_moves=20); CLI --sampler smc --particles 4000), or fit fewer "
        f"breaks."
    )


def lag1_autocorrelation(e: ArrayLike) -> float:
    """``sum (e_t - m)(e_t+1 - m) / sum (e_t - m)^2`` of a sequence (nan below 3 values)."""
    e = np.asarray(e, dtype=float)
    e = e - e.mean() if e.size else e
    denom = float(np.sum(e**2))
    return float(np.sum(e[:-1] * e[1:]) / denom) if e.size >= 3 and denom > 0 else math.nan


def misfit_threshold(n: int) -> float:
    """``z_(1 - MISFIT_LEVEL) / sqrt(n)``: independent noise has a lag-1 autocorrelation of about
    ``-1/n`` with sd ``1/sqrt(n)``, so it exceeds this in about 1% of sequences (residuals of
    a fitted law, less often: fitting pulls their autocorrelation down)."""
    return float(NormalDist().inv_cdf(1.0 - MISFIT_LEVEL) / math.sqrt(max(n, 1)))


def residual_autocorrelation(resid: ArrayLike, x: ArrayLike, seeds: ArrayLike
                             ) -> dict[str, float | int | bool]:
    """Lag-1 autocorrelation of residuals in x order, each scaled by ``sqrt(seeds)``.

    Independent noise around the right law gives about ``-1/n`` with sd ``1/sqrt(n)``; a form
    that misses structure (a break too few, a bend the law cannot follow) leaves runs of
    residuals of one sign and a large positive value, and then extrapolates with bands far too
    narrow.

    Returns
    -------
    dict
        ``lag1``, ``n``, ``threshold`` (:func:`misfit_threshold`) and ``misfit`` (``lag1``
        above it with at least ``MISFIT_MIN_POINTS`` points).
    """
    e = np.asarray(resid, dtype=float) * np.sqrt(np.asarray(seeds, dtype=float))
    e = e[np.argsort(np.asarray(x), kind="stable")]
    lag1, n, threshold = lag1_autocorrelation(e), int(e.size), misfit_threshold(int(e.size))
    return {"lag1": lag1, "n": n, "threshold": threshold,
            "misfit": bool(n >= MISFIT_MIN_POINTS and lag1 > threshold)}


def misfit_message(ac: dict[str, float | int | bool], form: str, breaks: int,
                   auto: bool = False) -> str | None:
    """The warning when the residuals are correlated along x (``ac`` from
    :func:`residual_autocorrelation`), else None. ``auto``: the form was chosen by
    ``breaks='auto'``, so the advice does not name it again."""
    if not ac["misfit"]:
        return None
    if form != "bnsl":
        more = "fit a BNSL (bnsl-bayes compare)"
    elif auto:
        # breaks='auto' leaves out the forms whose diagnostics fail: a longer run may let the
        # form with one more break in
        more = (f"fit breaks={breaks + 1} with a longer run (sampler=SamplerConfig("
                f"warmup=2000, samples=2000)) and compare (bnsl-bayes compare; this fit's "
                f"breaks_selection says why the forms with more breaks were not chosen)")
    else:
        more = f"fit breaks={breaks + 1} or breaks='auto' and compare (bnsl-bayes compare)"
    return (
        f"the residuals of the fitted curve are correlated along x (lag-1 autocorrelation "
        f"{ac['lag1']:.2f} over {ac['n']} points; independent noise stays below "
        f"{ac['threshold']:.2f} in 99% of fits): the form misses structure in the data and "
        f"the bands, past the data above all, are too narrow. Fix: {more}; or widen the "
        f"bands past the data by as much as the law strays within it: "
        f"predict(x, drift=bnsl_bayes.calibrate_drift(fit)) (CLI: --drift)."
    )


def noise_message(seeds: np.ndarray, std: np.ndarray, n_params: int) -> str | None:
    """The warning when the data leave nothing to estimate the noise from, else None.

    With as many fit points as law parameters the curve can pass through every point, and
    without a per-run spread nothing else informs sigma: its posterior is then the noise
    prior, which sits near its floor (sigma ~ 1e-4), and every band is far too narrow.
    """
    n_fit = seeds.size
    if n_fit > n_params or np.any(np.isfinite(std) & (std > 0) & (seeds >= 2)):
        return None
    return (
        f"{n_fit} fit points for the {n_params} parameters of the law and no per-run spread: "
        f"nothing is left to estimate the noise, so sigma stays near its prior's floor and "
        f"the bands are far too narrow. Fix: give the per-run standard deviation across "
        f"seeds (std=..., CLI --std), add fit points, or fit a form with fewer parameters."
    )
