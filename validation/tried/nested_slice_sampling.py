"""Tried and not kept (issue 22): BlackJAX's nested slice sampling in place of tempered SMC.

Replaces ``bnsl_bayes.sampling.smc._build`` so that each of the ``config.chains`` runs of
``method="smc"`` is one nested-sampling run (``blackjax.ns.nss``: hit-and-run slice moves shaped
by the live points' covariance) of ``NS_LIVE`` live points, ``NS_DELETE`` replaced per step and
``NS_INNER`` slice steps per replacement (0: 3 x the dimension), until the live points could
add less than e^``NS_TOL`` of the evidence. Each run's dead and final live points, weighted by
their prior volume shells, are resampled (systematic, then shuffled) to ``config.particles``
draws, so r_hat and ESS judge the runs as they judge SMC's. ``NS_JUMPS=1`` adds, after each
slice step, an independence Metropolis-Hastings jump from the mixture on the run's own mode
search (as SMC's jumps), accepted inside the likelihood contour only.

Usage (repository root; numbers in docs/validation.md, "What does not fix the failing
fits")::

    python validation/tried/nested_slice_sampling.py 4da "NMT/log_perplexity/Dec-only"
"""
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
from blackjax.ns import nss
from blackjax.ns import utils as nsu
from blackjax.smc import resampling
from jax import lax
from jax.flatten_util import ravel_pytree
from numpyro.distributions.transforms import biject_to
from numpyro.infer import Predictive

import bnsl_bayes as bb
from bnsl_bayes.sampling import smc as smc_mod

N_LIVE = int(os.environ.get("NS_LIVE", 500))
N_DELETE = int(os.environ.get("NS_DELETE", 50))
INNER = int(os.environ.get("NS_INNER", 0))  # 0: 3 * dim
JUMPS = int(os.environ.get("NS_JUMPS", 0))
MAX_STEPS = int(os.environ.get("NS_STEPS", 2000))
TOL = float(os.environ.get("NS_TOL", -5.0))  # stop when logZ_live - logZ < TOL


def _build_ns(spec, space, n_points, config, vectorized=False):
    parts = smc_mod.densities(spec, space, n_points)
    potential_gen, prior_potential_gen = parts["potential"], parts["prior_potential"]
    postprocess_gen, latent, unravel = parts["postprocess"], parts["latent"], parts["unravel"]
    prior_model = parts["prior_model"]
    n_out = config.particles
    from numpyro import distributions as dist

    from bnsl_bayes.sampling.nuts import laplace_covariance, local_modes, start_maker
    flat_centre, _, make_start = start_maker(spec, space, latent, config.init_radius)

    def jump_proposal(key, data):
        starts = jax.vmap(make_start)(jax.random.split(key, config.init_starts))
        fun, x, hess = local_modes(potential_gen(data), unravel, starts, vectorized)
        cov, finite = jax.vmap(laplace_covariance)(hess)
        ok = jnp.isfinite(fun) & jnp.all(jnp.isfinite(x), axis=1) & finite
        x = jnp.where(ok[:, None], x, flat_centre)
        chol = jnp.linalg.cholesky(jnp.where(ok[:, None, None], cov, jnp.eye(x.shape[1])))
        log_mass = -fun + jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
        log_mass = jnp.where(ok, log_mass, -jnp.inf)
        found = jnp.any(ok)
        share = jnp.where(ok, 1.0, 0.0) / jnp.maximum(jnp.sum(ok), 1)
        weight = 0.5 * jax.nn.softmax(jnp.where(found, log_mass, 0.0)) + 0.5 * share
        mixture = dist.MixtureSameFamily(
            dist.Categorical(logits=jnp.log(jnp.maximum(weight, 1e-300))),
            dist.MultivariateStudentT(smc_mod.JUMP_DF, loc=x, scale_tril=chol))
        return mixture, found, jax.scipy.linalg.solve_triangular(
            chol, jnp.broadcast_to(jnp.eye(x.shape[1]), chol.shape), lower=True)

    def one_run(key, data, proposal):
        potential, prior_potential = potential_gen(data), prior_potential_gen(data)

        def logprior(x):
            return -prior_potential(unravel(x))

        def loglik(x):
            z = unravel(x)
            value = prior_potential(z) - potential(z)
            return jnp.where(jnp.isfinite(value), value, smc_mod._FLOOR)

        k_prior, k_loop, k_res = jax.random.split(key, 3)
        draws = Predictive(prior_model, num_samples=N_LIVE, return_sites=list(latent))(
            k_prior, data)
        unconstrained = {k: biject_to(latent[k]["fn"].support).inv(draws[k]) for k in latent}
        x0 = jax.vmap(lambda i: ravel_pytree({k: v[i] for k, v in unconstrained.items()})[0])(
            jnp.arange(N_LIVE))
        x0 = jnp.where(jnp.isfinite(x0), x0, 0.0)
        dim = x0.shape[1]
        inner = INNER or 3 * dim
        from functools import partial as _partial

        from blackjax.mcmc.slice import build_kernel as build_slice_kernel
        from blackjax.mcmc.slice import stepping_out
        from blackjax.ns.base import init_state_strategy
        from blackjax.ns.from_mcmc import build_kernel as from_mcmc_kernel
        init_state_fn = _partial(init_state_strategy, logprior_fn=logprior,
                                 loglikelihood_fn=loglik)
        slice_step = nss.slice_constrained_step(
            init_state_fn, build_slice_kernel(interval=stepping_out, max_expansions=10,
                                              max_shrinkage=100), nss.covariance_proposal)
        mixture, found, whiten = proposal

        def step(k, st, loglikelihood_0, **params):
            ll0 = loglikelihood_0
            k1, k2, k3 = jax.random.split(k, 3)
            st, inf = slice_step(k1, st, ll0, **params)
            if not JUMPS:
                return st, inf
            x_new = mixture.sample(k2)
            cand = init_state_fn(x_new, loglikelihood_birth=ll0)
            log_ratio = (cand.logdensity - st.logdensity
                         + smc_mod.jump_log_density(mixture, whiten, st.position)
                         - smc_mod.jump_log_density(mixture, whiten, x_new))
            acc = found & (cand.loglikelihood > ll0) & (
                jnp.log(jax.random.uniform(k3)) < log_ratio)
            st = jax.tree.map(lambda a, b: jnp.where(acc, a, b), cand, st)
            return st, inf

        kern = from_mcmc_kernel(step, inner, nss.live_covariance_factor, N_DELETE)
        from blackjax.ns.adaptive import init as ns_init

        state = ns_init(x0, init_state_fn=jax.vmap(init_state_fn),
                        update_inner_kernel_params_fn=nss.live_covariance_factor)
        cap = MAX_STEPS * N_DELETE
        buf = {"x": jnp.zeros((cap, dim)), "ll": jnp.full(cap, -jnp.inf),
               "birth": jnp.full(cap, jnp.nan)}

        def cond(c):
            st, _, i, _ = c
            return (i < MAX_STEPS) & (st.integrator.logZ_live - st.integrator.logZ > TOL)

        def body(c):
            st, k, i, b = c
            k, sub = jax.random.split(k)
            st, info = kern(sub, st)
            p = info.particles
            at = i * N_DELETE
            b = {"x": lax.dynamic_update_slice(b["x"], p.position, (at, 0)),
                 "ll": lax.dynamic_update_slice(b["ll"], p.loglikelihood, (at,)),
                 "birth": lax.dynamic_update_slice(b["birth"], p.loglikelihood_birth, (at,))}
            return st, k, i + 1, b

        st, _, steps, buf = lax.while_loop(cond, body, (state, k_loop, 0, buf))
        live = st.particles
        order = jnp.argsort(live.loglikelihood)
        valid = jnp.arange(cap) < steps * N_DELETE
        x_all = jnp.concatenate([buf["x"], live.position[order]])
        ll_all = jnp.concatenate([jnp.where(valid, buf["ll"], -jnp.inf),
                                  live.loglikelihood[order]])
        d_dead = jnp.where(valid, jnp.tile(-1.0 / (N_LIVE - jnp.arange(N_DELETE)), MAX_STEPS),
                           0.0)
        d_live = -1.0 / (N_LIVE - jnp.arange(N_LIVE))
        delta = jnp.concatenate([d_dead, d_live])
        logx = jnp.cumsum(delta)
        logx_prev = jnp.concatenate([jnp.zeros(1), logx[:-1]])
        ok = jnp.concatenate([valid, jnp.ones(N_LIVE, bool)])
        logw = jnp.where(ok, ll_all + logx_prev + nsu.log1mexp(delta), -jnp.inf)
        logz = jax.nn.logsumexp(logw)
        w = jnp.exp(logw - logz)
        k_res, k_perm = jax.random.split(k_res)
        # systematic resampling keeps the dead points' order (rising likelihood): shuffled,
        # so that split r_hat and ESS see draws, not a sorted sequence
        idx = jax.random.permutation(k_perm, resampling.systematic(k_res, w, n_out))
        x = x_all[idx]
        lp = -jax.vmap(lambda f: potential(unravel(f)))(x)
        kish = 1.0 / jnp.sum(w ** 2)
        nan = jnp.full(smc_mod.MAX_STAGES, jnp.nan)
        stats = {"lp": lp, "acceptance_rate": jnp.ones(n_out), "step_size": jnp.zeros(n_out),
                 "diverging": jnp.zeros(n_out, dtype=bool)}
        info = {"log_evidence": logz, "stages": steps,
                "final_temperature": jnp.where(steps < MAX_STEPS, 1.0, 0.5),
                "temperatures": nan.at[0].set(kish), "acceptance": nan}
        return x, stats, info

    def run(key, data, run_ids=None):
        keys = jax.random.split(jax.random.fold_in(key, smc_mod._STREAM), config.chains)
        ids = jnp.arange(config.chains) if run_ids is None else run_ids
        x, stats, info = lax.map(
            lambda k: one_run(k, data, jump_proposal(jax.random.fold_in(k, smc_mod._MODES),
                                                     data)), keys[ids])
        constrain = postprocess_gen(data)
        values = jax.vmap(jax.vmap(lambda f: constrain(unravel(f))))(x)
        return values, stats, info

    return run


smc_mod._build = _build_ns
smc_mod._compiled.cache_clear()


def load(name):
    from bnsl_bayes import datasets
    if name.startswith("copy2:"):
        from validation.convergence import LAWS, simulate
        return simulate(LAWS[2], 0.02, int(name.split(":")[1])), 2
    if name == "4da":
        return datasets.load("four_digit_addition"), 1
    return datasets.load("revisiting/" + name), 1


if __name__ == "__main__":
    seed = int(os.environ.get("SEED", 0))
    out = []
    for name in sys.argv[1:]:
        curve, breaks = load(name)
        t0 = time.perf_counter()
        f = bb.fit(curve, breaks=breaks, seed=seed, check=False,
                   sampler=bb.SamplerConfig(method="smc", particles=1000))
        dt = time.perf_counter() - t0
        d = f.diagnostics()
        smc = json.loads(f.data.attrs["smc"])
        row = {"curve": name, "time": round(dt, 1), "max_r_hat": round(d["max_r_hat"], 4),
               "min_ess": int(d["min_ess_bulk"]),
               "logz": [round(v, 2) for v in smc["log_evidence"]],
               "steps": smc["stages"], "kish": [round(t[0]) for t in smc["temperatures"]],
               "final_t": smc["final_temperature"]}
        print(json.dumps(row), flush=True)
