"""Simulation-based calibration (Talts et al. 2018) of the BNSL forms with 0, 1 and 2 breaks.

If parameters are drawn from the prior, data from the likelihood given them, and the posterior
is computed exactly, the rank of each true parameter among ``L`` independent posterior draws is
uniform on ``0 .. L``. A sampler, a model or a map between parametrizations that is wrong shows
up as non-uniform ranks (a pile at both edges: posteriors too narrow; a hump in the middle: too
wide; a slope: biased).

What is simulated, exactly
--------------------------
- Design: ``N_POINTS`` = 16 log-spaced x from 1 to 1e4 (so log x_first = 0 and the standardized
  axis of the fit, ``u = log x / log 1e4``, is known before the data), the same for every
  simulation.
- Parameters: the prior of the package's NumPyro model (``bnsl_model``, sampled with
  ``numpyro.infer.Predictive``; break locations are its sorted i.i.d. draws, the asymptote its
  odds coordinate) on the standardized scale, with the spec's priors; the per-seed noise
  variance sigma^2 from the spec's InverseGamma prior.
- Seeds: a whole number from 1 to ``MAX_SEEDS`` (uniform) per point, drawn per simulation.
- Past the data (extrapolation coverage only): the true mean adds the slope error of
  :mod:`.discrepancy`, ``s * sigma * sqrt(mean(1 / seeds_j)) * (u - 1)``, s from the spec's
  ``extrapolation_slope`` prior (0 on the fit range, so the fits and the ranks do not see it).
- Data: log y_j = log mu(x_j) + sigma / sqrt(seeds_j) * e_j, e_j ~ N(0, 1), with mu the BNSL in
  user units given by ``to_user_units`` of the standardized draw under the identity y-scaling
  (y_scale = 1, so log mu at the last point equals ``level``); the mean is computed by this
  file's own numpy formula of the law, not by the model's code.

The noise prior. The bundled specs put InverseGamma(1, 1e-8) on sigma^2: sigma = 1e-4 /
sqrt(E), E ~ Exp(1), so 98% of its draws lie between 5e-5 and 1e-3 (per-seed sd of log y).
That prior is meant as a vague floor under which "the data decide", not as a generating
process: curves simulated from it are noiseless for all practical purposes (every parameter
the data touch is pinned to ~1e-4 while breaks outside the data stay as wide as the prior), a
regime that no real curve is in. SBC needs the data to come from the very prior the fit uses, so
here both the simulation and the fit use the spec with only its noise prior replaced by
``SBC_NOISE`` = InverseGamma(2, 1e-3): sigma from 0.012 to 0.082 (1% and 99%; median 0.024),
a per-point sd of 0.004 to 0.08 with 1-8 seeds. The fit receives that spec as ``model=``.

What is compared, and the standardization
-----------------------------------------
``fit`` standardizes each curve with its own data: ``y' = y / y_last`` (the observed last point).
Every parameter of the log-space model except ``level`` is invariant to that scaling: it shifts
log y by a constant, which only moves ``level``. So ranks are computed, for truth and posterior
draws alike, of these quantities, all computed from user-unit values (a, log b, c0, c, d, f,
sigma) by the same function (``quantities``):

- ``slope0 = c0 W``, ``slope_change_i = c_i W``, ``break_location_i = log d_i / W``,
  ``log_sharpness_i = log(f_i / W)`` (W = log 1e4), ``asymptote_fraction = a / mu(x_last)`` and
  ``sigma``: invariant to the y-scaling, so their posterior is the model's exact posterior;
- ``level = log mu(x_last)`` in the simulation's units (y_scale = 1), and ``log_mu_u2``, the log
  mean curve at u = 2 (x = 1e8: the extrapolation the package is for). For these the fit's prior
  in user units is the bundled level prior Normal(0, 1) centred on log y_last (the observed last
  point), not on 0: a data-dependent prior. Its effect on the posterior is of the order of the
  posterior width of level (~sigma / sqrt(seeds) << 1) times |level| relative to the prior scale
  1, i.e. about 1% of a posterior sd: far below what 200 simulations can detect. This is a known,
  stated approximation of SBC for these two quantities, not of the others.

Ranks and the test
------------------
Posterior draws of each fit (``chains x samples``) are thinned to ``L = 99`` evenly spaced draws,
so ranks take the 100 values 0..99; they are grouped into ``B`` equal bins (B = 10 for >= 100
simulations, else 5; expected >= 10 per bin) and tested by Pearson's chi-square (B - 1 degrees of
freedom). A form passes when every quantity's p-value is >= 0.01 / K (Bonferroni over its K
quantities), i.e. when the Bonferroni-adjusted p-value ``min(1, K * min_p)`` >= 0.01; that
adjusted value is the form's ``p_value``.

Negative control: curves simulated exactly as above for ``NEGATIVE_FORM``, but fitted as if each
point were one run (seeds = 1): the model then reads the per-point noise sigma / sqrt(seeds) as
the per-seed sigma. The same check must fail. In the JSON, ``"pass"`` is the outcome of the
uniformity check, so the negative control is expected to show ``"pass": false``.

The command line is ``python -m validation sbc`` (repository root); this module is the part a
user can call: :func:`quick`, :func:`run` and :func:`run_form` return JSON-ready dicts.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from scipy import stats

from .calibrate import calibrate_drifts
from .data import Curve
from .discrepancy import SITE as DISCREPANCY_SITE
from .discrepancy import draw_slopes, point_noise_factor
from .fitting import fit_many
from .result import Fit
from .sampling.nuts import SamplerConfig
from .spec import ModelSpec, load_spec

__all__ = ["BUDGETS", "DEFAULT", "FULL", "QUICK", "quick", "run", "run_form", "sbc_spec",
           "simulate", "uniformity"]

N_POINTS = 16
X_FIRST, X_LAST = 1.0, 1e4
MAX_SEEDS = 8
#: (distribution, parameters) of the noise prior of the SBC specs (see the module docstring)
SBC_NOISE = ("InverseGamma", (("concentration", 2.0), ("rate", 1e-3)))
N_DRAWS = 99  # thinned posterior draws per fit: ranks 0..99
ALPHA = 0.01
NEGATIVE_FORM = "bnsl-0"

# Sampler budgets (fit_many settings); one compiled program per form and budget.
# fit_many's default batch: one curve per compiled call on a CPU (faster per curve than batches
# of 8 there), all curves at once on a GPU; the draws do not depend on it.
FULL = {"chains": 4, "warmup": 500, "samples": 500}
QUICK = {"chains": 4, "warmup": 300, "samples": 250}
# fit's and fit_many's own defaults: the bands a user gets without choosing a budget
DEFAULT = {"chains": 4, "warmup": 1000, "samples": 1000}
BUDGETS = {"quick": QUICK, "full": FULL, "default": DEFAULT}
# Extrapolation distances past the last fit point, in units of the fit range's log-width
# (u = 1 is the last fit point; u = 2 is x = 1e8 for the design 1..1e4).
EXTRAPOLATION_U = (1.25, 1.5, 2.0, 3.0)
COVERAGE_PROB = 0.9
# Groups of the coverage breakdown: the true first break's u, and the fit's largest r_hat.
BREAK_BINS = (-np.inf, 0.0, 0.5, 1.0, 1.5, 2.0, np.inf)
R_HAT_BINS = (0.0, 1.01, 1.03, 1.1, np.inf)


def design() -> np.ndarray:
    """The fixed x design: ``N_POINTS`` log-spaced points from ``X_FIRST`` to ``X_LAST``."""
    return np.geomspace(X_FIRST, X_LAST, N_POINTS)


def _model_parts():
    """The model's own pieces SBC needs: its prior (``bnsl_model`` on ``ModelData``) and the map
    of standardized draws to user units (``Scaling``, ``to_user_units``); SBC is exact only
    with the very prior the sampler uses, so these cannot be re-derived here."""
    try:
        from .forms.bnsl import bnsl_model, to_user_units
        from .standardize import ModelData, Scaling
    except ImportError:  # the layout before bnsl_bayes/forms/ and standardize.py
        from .model import ModelData, Scaling, bnsl_model, to_user_units
    return ModelData, Scaling, bnsl_model, to_user_units


def identity_scaling(x: np.ndarray):
    """The standardization of the simulation frame: u from the design, y' = y (y_scale 1)."""
    lx = np.log(x)
    scaling = _model_parts()[1]
    return scaling("log", float(lx[0]), float(lx[-1] - lx[0]), 0.0, 1.0)


def sbc_spec(form: str) -> ModelSpec:
    """The bundled spec ``form`` with its noise prior replaced by ``SBC_NOISE``."""
    spec = load_spec(form)
    dist_name, params = SBC_NOISE
    noise = dataclasses.replace(spec.prior("noise_variance"), dist=dist_name, params=params)
    priors = tuple((s, noise if s == "noise_variance" else p) for s, p in spec.priors)
    return dataclasses.replace(spec, name=f"{spec.name}-sbc", priors=priors,
                               description=spec.description + " (SBC noise prior)")


def draw_prior(spec: ModelSpec, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` draws of the standardized parameters from the model's prior, and sigma.

    The curve sites come from ``numpyro.infer.Predictive`` on ``bnsl_model`` (so exactly the
    prior the sampler uses); sigma^2 from the spec's InverseGamma noise prior.
    """
    import jax
    from numpyro.infer import Predictive

    model_data, _, bnsl_model, _ = _model_parts()
    u = identity_scaling(design()).u(design())
    zeros = np.zeros_like(u)
    data = model_data(u, zeros, np.ones_like(u), zeros, zeros)
    sites = ["level", "slope0", "asymptote"]
    if spec.breaks:
        sites += ["slope_change", "break_location", "log_sharpness"]
    with jax.enable_x64(True):
        pred = Predictive(bnsl_model, num_samples=n, return_sites=sites)
        out = pred(jax.random.PRNGKey(seed), data, spec, "log")
    truth = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    params = dict(spec.prior("noise_variance").params)
    rng = np.random.default_rng([seed, 1])
    truth["sigma"] = np.sqrt(params["rate"] / rng.gamma(params["concentration"], 1.0, size=n))
    return truth


def log_mean(log_x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """log mu of the BNSL (numpy, log space) for parameter arrays with leading shape ``(S,)``.

    ``log_x`` has shape ``(M,)``; returns ``(S, M)``.
    """
    lx = np.asarray(log_x, dtype=float)[None, :]
    log_p = p["log_b"][:, None] - p["c0"][:, None] * lx
    if p["c"].shape[-1]:
        z = (lx[:, :, None] - np.log(p["d"])[:, None, :]) / p["f"][:, None, :]
        log_p = log_p - np.sum(p["c"][:, None, :] * p["f"][:, None, :]
                               * np.logaddexp(0.0, z), axis=-1)
    with np.errstate(divide="ignore"):
        log_a = np.log(p["a"])[:, None]
    return np.logaddexp(log_a, log_p)


def quantities(p: dict[str, np.ndarray], breaks: int) -> dict[str, np.ndarray]:
    """The compared quantities from user-unit values (leading shape ``(S,)``).

    All are computed in the simulation frame (x_first = 1, y_scale = 1): see the module
    docstring for which ones are invariant to the fit's data-dependent standardization.
    """
    w = np.log(X_LAST) - np.log(X_FIRST)
    lm = log_mean(np.array([np.log(X_LAST), np.log(X_LAST) + w]), p)
    out = {
        "level": lm[:, 0],
        "asymptote_fraction": p["a"] / np.exp(lm[:, 0]),
        "slope0": p["c0"] * w,
    }
    for i in range(breaks):
        out[f"slope_change[{i}]"] = p["c"][:, i] * w
        out[f"break_location[{i}]"] = (np.log(p["d"][:, i]) - np.log(X_FIRST)) / w
        out[f"log_sharpness[{i}]"] = np.log(p["f"][:, i] / w)
    out["sigma"] = p["sigma"]
    out["log_mu_u2"] = lm[:, 1]
    return out


def simulate(spec: ModelSpec, n: int, seed: int, *, ignore_seeds: bool = False):
    """``n`` simulated curves of ``spec``, the true quantities (shape ``(n,)`` each) and the true
    user-unit parameters (with sigma).

    With ``ignore_seeds`` the curves are the same but say one run per point (negative control).
    """
    x = design()
    truth = draw_prior(spec, n, seed)
    user = _model_parts()[3](truth, identity_scaling(x), spec.breaks)
    user["sigma"] = truth["sigma"]
    true_q = quantities(user, spec.breaks)
    # the user-unit law at the last point reproduces the model's level exactly
    if not np.allclose(true_q["level"], truth["level"], atol=1e-8):
        raise AssertionError("to_user_units and the law disagree with the model's level")
    rng = np.random.default_rng([seed, 2])
    seeds = rng.integers(1, MAX_SEEDS + 1, size=(n, len(x)))
    mu = log_mean(np.log(x), user)
    log_y = mu + truth["sigma"][:, None] / np.sqrt(seeds) * rng.standard_normal(mu.shape)
    # the slope error past the data (bnsl_bayes.discrepancy) from the spec's prior, and each
    # curve's typical point sd relative to sigma: the truth of a new point past the data
    if spec.has_prior(DISCREPANCY_SITE):
        user[DISCREPANCY_SITE] = draw_slopes(spec.prior(DISCREPANCY_SITE), n,
                                             np.random.default_rng([seed, 4]))
    else:
        user[DISCREPANCY_SITE] = np.zeros(n)
    user["point_noise_factor"] = np.array([point_noise_factor(k) for k in seeds])
    curves = [
        Curve.from_arrays(x, np.exp(log_y[i]),
                             seeds=np.ones(len(x)) if ignore_seeds else seeds[i],
                             name=f"sbc-{spec.name}-{i}")
        for i in range(n)
    ]
    return curves, true_q, user


def extrapolation_coverage(fits: list[Fit], user: dict[str, np.ndarray], seed: int,
                           max_r_hat: np.ndarray, drifts: list | None = None) -> dict:
    """Coverage of the 90% bands of ``Fit.predict`` past the last fit point, by distance.

    At each ``u`` of ``EXTRAPOLATION_U`` (x = X_LAST ** u): whether the credible band of the
    mean covers the true mean, and whether the predictive band of one new run covers a new run
    simulated from the truth (log y = log mu + sigma e). Under SBC (truth drawn from the prior the
    fit uses) both are exactly calibrated when the posterior is right, so the shares estimate
    0.9 up to binomial error (sd 0.021 for 200 fits).

    With ``drifts`` (``bb.calibrate_drifts(fits)``), the same shares with the leave-future-out
    drift in the bands (``*_coverage_drift``), the share of fits it widened and the median
    ratio of the predictive band's log width with and without it: what the drift costs when
    the law is right, as here.
    """
    u = np.asarray(EXTRAPOLATION_U)
    x_new = X_LAST ** u
    true_log_mu = log_mean(np.log(x_new), user)  # (n, M)
    if DISCREPANCY_SITE in user:  # the true mean past the data carries the true slope error
        true_log_mu = true_log_mu + (user[DISCREPANCY_SITE] * user["sigma"]
                                     * user["point_noise_factor"])[:, None] * (u - 1.0)[None, :]
    rng = np.random.default_rng([seed, 3])
    new_run = true_log_mu + user["sigma"][:, None] * rng.standard_normal(true_log_mu.shape)
    def covered(drift_of):
        mean_in = np.zeros(true_log_mu.shape, dtype=bool)
        pred_in = np.zeros(true_log_mu.shape, dtype=bool)
        width = np.zeros(true_log_mu.shape)
        for i, f in enumerate(fits):
            tab = f.predict(x_new, seeds=1, prob=COVERAGE_PROB, drift=drift_of(i))
            lo, hi = np.log(tab["mean_lo"].to_numpy()), np.log(tab["mean_hi"].to_numpy())
            mean_in[i] = (lo <= true_log_mu[i]) & (true_log_mu[i] <= hi)
            lo, hi = np.log(tab["pred_lo"].to_numpy()), np.log(tab["pred_hi"].to_numpy())
            pred_in[i] = (lo <= new_run[i]) & (new_run[i] <= hi)
            width[i] = hi - lo
        return mean_in, pred_in, width

    mean_in, pred_in, width = covered(lambda i: None)
    out = {"u": u.tolist(), "x": x_new.tolist(), "fits": len(fits),
           "mean_coverage": mean_in.mean(axis=0).tolist(),
           "pred_coverage": pred_in.mean(axis=0).tolist(),
           "mean_covered": mean_in.sum(axis=0).tolist(),
           "pred_covered": pred_in.sum(axis=0).tolist()}
    if drifts is not None:
        mean_d, pred_d, width_d = covered(lambda i: drifts[i])
        out.update(mean_coverage_drift=mean_d.mean(axis=0).tolist(),
                   pred_coverage_drift=pred_d.mean(axis=0).tolist(),
                   mean_covered_drift=mean_d.sum(axis=0).tolist(),
                   pred_covered_drift=pred_d.sum(axis=0).tolist(),
                   share_widened=float(np.mean([d.scale > 0 for d in drifts])),
                   median_width_ratio_drift=np.median(width_d / width, axis=0).tolist(),
                   drift_z=[float(d.z) for d in drifts])
    # Where the shortfall sits: the mean band's coverage by the true first break's location
    # on the fit axis (u = log d / log 1e4) and by the fit's largest r_hat. SBC guarantees
    # 0.9 only on average over the prior, not within each group, but a group far below it
    # shows which posteriors the sampler gets wrong.
    groups = {}
    if user["d"].shape[-1]:
        loc = np.log(user["d"][:, 0]) / np.log(X_LAST)
        groups["by_break_location"] = (loc, BREAK_BINS)
    groups["by_max_r_hat"] = (np.asarray(max_r_hat, dtype=float), R_HAT_BINS)
    for name, (value, edges) in groups.items():
        rows = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            sel = (value > lo) & (value <= hi)
            # open ends as null (strict JSON has no infinity)
            rows.append({"low": float(lo) if np.isfinite(lo) else None,
                         "high": float(hi) if np.isfinite(hi) else None, "fits": int(sel.sum()),
                         "mean_coverage": (mean_in[sel].mean(axis=0).tolist()
                                           if sel.any() else None)})
        out[name] = rows
    return out


def pool_coverage(parts: list[dict]) -> dict:
    """Coverage pooled over forms (counts summed), with the binomial sd of 0.9 at that size."""
    n = sum(p["fits"] for p in parts)
    mean_c = np.sum([p["mean_covered"] for p in parts], axis=0)
    pred_c = np.sum([p["pred_covered"] for p in parts], axis=0)
    return {"u": parts[0]["u"], "x": parts[0]["x"], "fits": n,
            "mean_coverage": (mean_c / n).tolist(), "pred_coverage": (pred_c / n).tolist(),
            "binomial_sd": float(np.sqrt(COVERAGE_PROB * (1 - COVERAGE_PROB) / n))}


def fit_draws(fit: Fit) -> dict[str, np.ndarray]:
    """``N_DRAWS`` evenly thinned user-unit posterior draws of one fit."""
    d = fit.draws()
    idx = np.round(np.linspace(0, d["a"].shape[0] - 1, N_DRAWS)).astype(int)
    return {k: v[idx] for k, v in d.items()}


def ranks(fits: list[Fit], true_q: dict[str, np.ndarray], breaks: int) -> dict[str, np.ndarray]:
    """Rank (0..N_DRAWS) of each true quantity among the thinned draws of its fit."""
    out = {k: np.zeros(len(fits), dtype=int) for k in true_q}
    for i, f in enumerate(fits):
        q = quantities(fit_draws(f), breaks)
        for k in out:
            out[k][i] = int(np.sum(q[k] < true_q[k][i]))
    return out


def n_bins(n: int) -> int:
    """Bins of the chi-square test: 10 from 100 simulations on, else 5 (they divide 100)."""
    return 10 if n >= 100 else 5


def uniformity(rank: dict[str, np.ndarray]) -> dict:
    """Chi-square p-value per quantity and the Bonferroni decision over them."""
    n = len(next(iter(rank.values())))
    b = n_bins(n)
    per = {}
    for k, r in rank.items():
        counts = np.bincount(r * b // (N_DRAWS + 1), minlength=b)
        p = float(stats.chisquare(counts).pvalue)
        edge = float(np.mean((r < (N_DRAWS + 1) * 0.05) | (r >= (N_DRAWS + 1) * 0.95)))
        per[k] = {"p_value": p, "counts": counts.tolist(),
                  "mean_rank": float(np.mean(r) / N_DRAWS), "edge_10pct": edge}
    k_tests = len(per)
    adj = min(1.0, k_tests * min(v["p_value"] for v in per.values()))
    return {"simulations": n, "bins": b, "p_value": adj, "pass": bool(adj >= ALPHA),
            "tests": k_tests, "parameters": per}


def run_form(form: str, n: int, budget: dict, seed: int = 0, *,
             ignore_seeds: bool = False, drift: bool = False) -> dict:
    """Simulate, fit with ``fit_many`` and test the ranks of one form."""
    spec = sbc_spec(form)
    t0 = time.perf_counter()
    curves, true_q, user = simulate(spec, n, seed, ignore_seeds=ignore_seeds)
    fits = fit_many(curves, model=spec, seed=seed * 100_000, check=False,
                    # NUTS alone at the SBC's budgets, as its tables were made: "auto" would
                    # refit every short unconverged fit by SMC
                    sampler=SamplerConfig(**{"method": "nuts", **budget}))
    fit_s = time.perf_counter() - t0
    result = uniformity(ranks(fits, true_q, spec.breaks))
    diag = [f.diagnostics() for f in fits]
    drifts = None
    if drift:
        t1 = time.perf_counter()
        drifts = calibrate_drifts(fits)
        result["drift_s"] = round(time.perf_counter() - t1, 1)
    result["extrapolation"] = extrapolation_coverage(
        fits, user, seed, np.array([d["max_r_hat"] for d in diag]), drifts)
    result.update({
        "fit_s": round(fit_s, 1),
        "fits_with_divergences": sum(d["divergences"] > 0 for d in diag),
        "fits_r_hat_gt_1.01": sum(not d["max_r_hat"] <= 1.01 for d in diag),
        "median_min_ess_bulk": float(np.median([d["min_ess_bulk"] for d in diag])),
    })
    return result


def run(forms: list[str], n: int, budget: dict, n_negative: int, seed: int = 0, *,
        drift: bool = False) -> dict:
    """SBC of each form and the negative control (``drift``: also the coverage with the
    leave-future-out drift, see :func:`extrapolation_coverage`)."""
    out = {"forms": {}}
    for i, form in enumerate(forms):
        out["forms"][form] = run_form(form, n, budget, seed=seed + i, drift=drift)
    out["extrapolation_coverage"] = pool_coverage(
        [r["extrapolation"] for r in out["forms"].values()])
    if n_negative > 0:
        out["negative_control"] = run_form(NEGATIVE_FORM, n_negative, budget, seed=seed + 50,
                                           ignore_seeds=True)
        out["negative_control"]["form"] = NEGATIVE_FORM
    return out


def quick(seed: int = 0) -> dict:
    """The CI version: bnsl-0 and bnsl-1, 48 simulations each, a 48-curve negative control."""
    return run(["bnsl-0", "bnsl-1"], 48, QUICK, 48, seed=seed)
