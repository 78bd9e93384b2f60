"""Why the seeds study's bands past the 4-digit-addition break are narrow and wrong.

Diagnostic experiments for the seeds study (``bnsl_bayes.seeds``) on the bundled
4-digit-addition truth (``FOUR_DIGIT_ADDITION_TRUTH``, per-run sigma 0.0236, grid every 15 from
15 to 690). The simulated data sets are built exactly as :func:`bnsl_bayes.seeds.seeds_study`
builds them (same RNG, common random numbers, fit ``i`` sampled with seed ``seed + i``), so a
``study`` run reproduces the corresponding cells of ``seeds_study`` while keeping every Fit for
per-fit diagnostics.

Subcommands
-----------
``truth``
    The truth on the model's standardized scale per cutoff (slope_change s = c1 W, break_location
    v, log_sharpness), the prior tail probability P(s >= s_true) under several slope_change
    priors, and, per (seeds, cutoff) data set of repeat 0, the log posterior density (the
    model's own, sigma integrated out) at the truth and at the BFGS mode started from the truth
    against the BFGS mode started from "no break in reach" - split into prior and likelihood.
``study``
    A reduced seeds study with a chosen slope_change prior (``--prior``) and sampler budget;
    prints, per fit, error/width/coverage at the targets, divergences, max r_hat, per-chain
    medians of d, c and f, and lp(truth) - max lp(draws).

Usage (the runs of the diagnosis report, seeds_prior_check, 2 shared CPU cores)::

    python -m validation seeds_prior_check truth
    python -m validation seeds_prior_check study --prior default --repeats 2
    python -m validation seeds_prior_check study --prior t3 --repeats 2
    python -m validation seeds_prior_check study --prior n10 --repeats 2
    python -m validation seeds_prior_check study --prior default --repeats 1 \\
        --chains 4 --warmup 1000 --samples 1000

``--json PATH`` writes the per-fit rows.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

import bnsl_bayes as bb
from bnsl_bayes.bands import curve_draws
from bnsl_bayes.data import Curve
from bnsl_bayes.datasets import FOUR_DIGIT_ADDITION_TRUTH as TRUTH
from bnsl_bayes.forms.bnsl import bnsl_model
from bnsl_bayes.seeds import FOUR_DIGIT_ADDITION_SIGMA as SIGMA
from bnsl_bayes.seeds.truth import law_mu as _law_mu
from bnsl_bayes.spec import load_spec
from bnsl_bayes.standardize import ModelData, Scaling

GRID = np.arange(15.0, 700.0, 15.0)
ROOT = Path(__file__).resolve().parent.parent

#: slope_change priors tried (the TOML text of the prior).
PRIORS = {
    "default": None,  # models/bnsl-1.toml as is
    "n10": '{ dist = "Normal", loc = 0.0, scale = 10.0 }',
    "t3": '{ dist = "StudentT", df = 3.0, loc = 0.0, scale = 3.0 }',
    "cauchy3": '{ dist = "Cauchy", loc = 0.0, scale = 3.0 }',
}


def model_path(prior: str, sites: dict[str, str] | None = None) -> Path:
    """models/bnsl-1.toml, or a temporary copy with another slope_change prior and the priors
    of ``sites`` (site name -> TOML text of the prior) replaced."""
    base = ROOT / "models" / "bnsl-1.toml"
    sites = dict(sites or {})
    if PRIORS[prior] is not None:
        sites["slope_change"] = PRIORS[prior]
    if not sites:
        return base
    text = base.read_text()
    for site, toml in sites.items():
        text, n = re.subn(rf"^{site} = .*$", f"{site} = {toml}", text, flags=re.M)
        if n != 1:
            raise SystemExit(f"--site: no prior called {site!r} in {base.name}")
    text = text.replace('name = "bnsl-1"', f'name = "bnsl-1-{prior}"')
    out = Path(tempfile.mkdtemp()) / f"bnsl-1-{prior}.toml"
    out.write_text(text)
    return out


def simulate(seed_counts, cutoffs, repeats, seed=0, known_std=False):
    """The curves of seeds_study (same order, same noise), as (seeds, x_max, repeat, Curve).

    ``known_std``: also give each point the sample sd of its runs (sd of y = y * sd of log y,
    the latter SIGMA * sqrt(chi2(n - 1) / (n - 1)) from a separate RNG, so the means are the
    same as without it); seeds_study does not do this."""
    rng = np.random.default_rng([seed, 0x5EED])
    mu = _law_mu(TRUTH, GRID)
    z = rng.standard_normal((repeats, GRID.size))
    rng_sd = np.random.default_rng([seed, 0x57D])
    chi = {n: rng_sd.chisquare(max(n - 1, 1), (repeats, GRID.size)) / max(n - 1, 1)
           for n in sorted(seed_counts)}
    out = []
    for n in sorted(seed_counts):
        for x_max in sorted(cutoffs):
            keep = GRID <= x_max
            for r in range(repeats):
                log_y = np.log(mu[keep]) + SIGMA / math.sqrt(n) * z[r, keep]
                std = np.exp(log_y) * SIGMA * np.sqrt(chi[n][r, keep]) if known_std else None
                out.append((n, x_max, r, Curve.from_arrays(
                    GRID[keep], np.exp(log_y), seeds=np.full(int(keep.sum()), n), std=std,
                    name=f"seeds={n} x_max={x_max:g} repeat={r}")))
    return out


def truth_standardized(curve: Curve) -> tuple[dict, Scaling, ModelData]:
    """The true law as the model's latent values on this curve's standardized scale."""
    sc = Scaling.from_curve(curve, "log")
    md = ModelData.from_curve(curve, sc)
    w, lx0 = sc.log_x_width, sc.log_x0
    x_last = math.exp(lx0 + w)
    mu_last = float(_law_mu(TRUTH, np.array([x_last]))[0])
    r = TRUTH["a"] / mu_last
    o = r / (1 - r)
    k = 10.0
    asym = (k * o + math.log(-math.expm1(-k * o))) / k  # inverse of softplus(k w) / k
    params = {
        "level": jnp.asarray(math.log(mu_last / sc.y_scale)),
        "slope0": jnp.asarray(TRUTH["c0"] * w),
        "slope_change": jnp.asarray([TRUTH["c"][0] * w]),
        "break_location": jnp.asarray([(math.log(TRUTH["d"][0]) - lx0) / w]),
        "log_sharpness": jnp.asarray([math.log(TRUTH["f"][0] / w)]),
        "asymptote": jnp.asarray(asym),
    }
    return params, sc, md


def log_density_parts(params, md, spec):
    """(log prior, log likelihood) of the model at latent values (all sites are real-valued,
    so these are also the unconstrained values: no Jacobian)."""
    from numpyro.infer.util import log_density

    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}
        total, trace = log_density(bnsl_model, (md, spec, "log"), {}, p)
        like = sum(float(site["fn"].log_prob(site["value"]).sum()) for name, site in trace.items()
                   if site["type"] == "sample" and name == "y")
        return float(total) - like, like


def bfgs(params0, md, spec):
    """Local maximum of the log posterior from params0 (BFGS on the flat vector)."""
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.util import log_density
    from scipy.optimize import minimize

    with jax.enable_x64(True):
        p0 = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params0.items()}
        flat0, unravel = ravel_pytree(p0)

        def f(flat):
            v = -log_density(bnsl_model, (md, spec, "log"), {}, unravel(flat))[0]
            return jnp.where(jnp.isfinite(v), v, 1e30)

        fg = jax.jit(jax.value_and_grad(f))

        def fun(x):
            v, g = fg(jnp.asarray(x))
            return float(v), np.asarray(g, dtype=float)

        res = minimize(fun, np.asarray(flat0), jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000})
        return {k: np.asarray(v) for k, v in unravel(jnp.asarray(res.x)).items()}


def to_user(params, sc):
    from bnsl_bayes.forms.bnsl import to_user_units
    p = {k: np.asarray(v)[None] for k, v in params.items()}
    u = to_user_units(p, sc, 1)
    return {"c": float(u["c"][0, 0]), "d": float(u["d"][0, 0]), "f": float(u["f"][0, 0])}


def cmd_truth(args):
    print("Truth on the standardized scale of each cutoff (grid every 15 from 15):")
    print(f"{'x_max':>6} {'W':>6} {'s=c1*W':>8} {'v':>6} {'log_g':>6}")
    for x_max in args.cutoffs:
        c = simulate([10**5], [x_max], 1)[0][3]
        p, sc, _ = truth_standardized(c)
        print(f"{x_max:6g} {sc.log_x_width:6.3f} {float(p['slope_change'][0]):8.2f} "
              f"{float(p['break_location'][0]):6.3f} {float(p['log_sharpness'][0]):6.2f}")
    s_true = TRUTH["c"][0] * math.log(390 / 15)
    print(f"\nPrior P(slope_change >= s) for s = s_true({s_true:.1f}) and s_true/2:")
    dists = {"default Normal(0,3)": stats.norm(0, 3), "n10 Normal(0,10)": stats.norm(0, 10),
             "t3 StudentT(3,0,3)": stats.t(3, 0, 3), "cauchy3 Cauchy(0,3)": stats.cauchy(0, 3)}
    for name, d in dists.items():
        print(f"  {name:22s} P(s>={s_true:.1f}) = {d.sf(s_true):.2e}   "
              f"P(s>={s_true / 2:.1f}) = {d.sf(s_true / 2):.2e}   "
              f"log density s_true - log density 0 = {d.logpdf(s_true) - d.logpdf(0):.1f}")
    # the other break priors at the truth
    v_true = (math.log(TRUTH["d"][0]) - math.log(15)) / math.log(390 / 15)
    lg = math.log(TRUTH["f"][0] / math.log(390 / 15))
    print(f"  break_location Normal(0.5,0.75): P(v >= {v_true:.2f}) = "
          f"{stats.norm(0.5, 0.75).sf(v_true):.3f};  log_sharpness Normal(-2,1.5): "
          f"P(log_g <= {lg:.2f}) = {stats.norm(-2, 1.5).cdf(lg):.3f}")

    print("\nLog posterior of repeat 0's data sets (model's density, sigma integrated out):")
    print("  at truth; at the local mode from the truth (BFGS); at the mode from 'break far "
          "past the data' (v=3, s=0.1)")
    rows = []
    for prior in args.priors:
        spec = load_spec(str(model_path(prior)))
        for n, x_max, _, curve in simulate(args.seed_counts, args.cutoffs, 1,
                                           known_std=args.known_std):
            p_true, sc, md = truth_standardized(curve)
            lp_t = log_density_parts(p_true, md, spec)
            p_loc = bfgs(p_true, md, spec)
            lp_loc = log_density_parts(p_loc, md, spec)
            p_nb = dict(p_true)
            p_nb.update(slope_change=jnp.asarray([0.1]), break_location=jnp.asarray([3.0]),
                        log_sharpness=jnp.asarray([-2.0]))
            p_nb = bfgs(p_nb, md, spec)
            lp_nb = log_density_parts(p_nb, md, spec)
            mu_t = _law_mu(TRUTH, np.array(args.targets))
            preds = {}
            for tag, pp in (("local", p_loc), ("nobreak", p_nb)):
                from bnsl_bayes.forms.bnsl import to_user_units
                u = to_user_units({k: np.asarray(v)[None] for k, v in pp.items()}, sc, 1)
                preds[tag] = np.abs(np.log(curve_draws(u, np.array(args.targets))[0] / mu_t))
            row = {"prior": prior, "seeds": n, "x_max": x_max,
                   "lp_truth": sum(lp_t), "prior_truth": lp_t[0], "like_truth": lp_t[1],
                   "lp_local": sum(lp_loc), "prior_local": lp_loc[0], "like_local": lp_loc[1],
                   "local": to_user(p_loc, sc), "err_local": preds["local"].tolist(),
                   "lp_nobreak": sum(lp_nb), "prior_nobreak": lp_nb[0],
                   "like_nobreak": lp_nb[1], "nobreak": to_user(p_nb, sc),
                   "err_nobreak": preds["nobreak"].tolist()}
            rows.append(row)
            print(f"  {prior:8s} seeds {n:>6} x_max {x_max:4g}: truth lp {sum(lp_t):9.1f} "
                  f"(prior {lp_t[0]:6.1f}) | local mode lp {sum(lp_loc):9.1f} (prior "
                  f"{lp_loc[0]:6.1f}, like {lp_loc[1]:8.1f}; c {row['local']['c']:.2f} "
                  f"d {row['local']['d']:.0f} f {row['local']['f']:.3f}; err "
                  f"{', '.join(f'{e:.2f}' for e in preds['local'])}) | other mode lp "
                  f"{sum(lp_nb):9.1f} (prior {lp_nb[0]:6.1f}, like {lp_nb[1]:8.1f}; c "
                  f"{row['nobreak']['c']:.2f} d {row['nobreak']['d']:.3g} f "
                  f"{row['nobreak']['f']:.3f}; err "
                  f"{', '.join(f'{e:.2f}' for e in preds['nobreak'])})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def cmd_study(args):
    import arviz as az

    path = model_path(args.prior, dict(args.site))
    sims = simulate(args.seed_counts, args.cutoffs, args.repeats, seed=args.seed,
                    known_std=args.known_std)
    t0 = time.perf_counter()
    fits = bb.fit_many([c for *_, c in sims], model=str(path), seed=args.seed, check=False,
                       sampler=bb.SamplerConfig(chains=args.chains, warmup=args.warmup,
                                                samples=args.samples,
                                                target_accept=args.target_accept),
                       batch_size=args.repeats)
    wall = time.perf_counter() - t0
    targets = np.array(args.targets)
    mu_t = _law_mu(TRUTH, targets)
    rows = []
    spec = load_spec(str(path))
    print(f"known std: {args.known_std}; prior {args.prior} ({path.name}), {args.chains} "
          f"chains x ({args.warmup} + {args.samples}), {len(fits)} fits in {wall:.0f} s; targets "
          f"{', '.join(f'{t:g}' for t in targets)}")
    for (n, x_max, r, curve), f in zip(sims, fits, strict=True):
        dr = f.draws()
        mu = curve_draws(dr, targets)
        med, lo, hi = np.quantile(mu, [0.5, 0.05, 0.95], axis=0)
        err = np.abs(np.log(med / mu_t))
        width = np.log(hi / lo)
        cov = (lo <= mu_t) & (mu_t <= hi)
        diag = f.diagnostics()
        post = f.data["posterior"]
        d_ch = np.median(np.asarray(post["d"].values)[..., 0], axis=1)
        c_ch = np.median(np.asarray(post["c"].values)[..., 0], axis=1)
        f_ch = np.median(np.asarray(post["f"].values)[..., 0], axis=1)
        rhat_d = float(az.rhat(post.to_dataset()[["d"]])["d"].values.max())
        lp = np.asarray(f.data["sample_stats"]["lp"].values)
        p_true, sc, md = truth_standardized(curve)
        lp_truth = sum(log_density_parts(p_true, md, spec))
        frac_past = float((dr["d"][:, 0] > x_max).mean())
        row = {"prior": args.prior, "seeds": n, "x_max": x_max, "repeat": r,
               "err": err.tolist(), "width": width.tolist(), "covered": cov.tolist(),
               "divergences": diag["divergences"], "max_r_hat": diag["max_r_hat"],
               "r_hat_d": rhat_d, "d_chain_median": d_ch.tolist(),
               "c_chain_median": c_ch.tolist(), "f_chain_median": f_ch.tolist(),
               "share_d_past_cutoff": frac_past,
               "lp_truth_minus_max_lp": lp_truth - float(lp.max()),
               "lp_chain_median": np.median(lp, axis=1).tolist()}
        rows.append(row)
        print(f"seeds {n:>6} x_max {x_max:4g} r{r}: err {', '.join(f'{e:.2f}' for e in err)} "
              f"width {', '.join(f'{w:.3f}' for w in width)} cov {cov.astype(int).tolist()} "
              f"div {diag['divergences']} r_hat {diag['max_r_hat']:.3f} | d/chain "
              f"{', '.join(f'{v:.0f}' for v in d_ch)} c/chain "
              f"{', '.join(f'{v:.2f}' for v in c_ch)} f/chain "
              f"{', '.join(f'{v:.3f}' for v in f_ch)} | P(d>x_max) {frac_past:.2f} | "
              f"lp(truth)-max lp {row['lp_truth_minus_max_lp']:.1f}", flush=True)
    # per-cell summary as in seeds_study.summary
    print("\ncell summary: seeds x_max coverage median_err median_width divergences")
    for n in sorted(set(args.seed_counts)):
        for x_max in sorted(set(args.cutoffs)):
            cell = [rw for rw in rows if rw["seeds"] == n and rw["x_max"] == x_max]
            cov = np.mean([c for rw in cell for c in rw["covered"]])
            e = np.median([c for rw in cell for c in rw["err"]])
            w = np.median([c for rw in cell for c in rw["width"]])
            dv = sum(rw["divergences"] for rw in cell)
            print(f"  {n:>6} {x_max:5g} {cov:5.2f} {e:6.3f} {w:6.3f} {dv:4d}")
    if args.json:
        Path(args.json).write_text(json.dumps({"wall_s": wall, "rows": rows}, indent=1))


def _site(text: str) -> tuple[str, str]:
    """``--site SITE=TOML`` as (site, TOML text of its prior)."""
    site, sep, toml = text.partition("=")
    if not sep or not site.strip() or not toml.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected SITE=TOML, e.g. 'break_location={{ dist = \"Normal\", "
            f"loc = 1.0, scale = 0.75 }}'")
    return site.strip(), toml.strip()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("truth", "study"):
        p = sub.add_parser(name)
        p.add_argument("--seed-counts", type=lambda s: [int(v) for v in s.split(",")],
                       default=[100, 100_000])
        p.add_argument("--cutoffs", type=lambda s: [float(v) for v in s.split(",")],
                       default=[390.0, 500.0])
        p.add_argument("--targets", type=lambda s: [float(v) for v in s.split(",")],
                       default=[928.0, 2000.0])
        p.add_argument("--json", default=None)
        p.add_argument("--known-std", action="store_true",
                       help="give each point the sd of its runs (pins sigma)")
    t = sub.choices["truth"]
    t.add_argument("--priors", type=lambda s: s.split(","), default=["default", "t3", "n10"])
    s = sub.choices["study"]
    s.add_argument("--prior", choices=sorted(PRIORS), default="default")
    s.add_argument("--site", action="append", default=[], metavar="SITE=TOML", type=_site,
                   help="replace the prior of one site (repeatable), e.g. "
                        "'break_location={ dist = \"Normal\", loc = 1.0, scale = 0.75 }'")
    s.add_argument("--repeats", type=int, default=4)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--chains", type=int, default=2)
    s.add_argument("--warmup", type=int, default=300)
    s.add_argument("--samples", type=int, default=300)
    s.add_argument("--target-accept", type=float, default=0.95)
    args = ap.parse_args(argv)
    {"truth": cmd_truth, "study": cmd_study}[args.cmd](args)


if __name__ == "__main__":
    main()
