"""Adaptive tempered SMC (BlackJAX) on the standardized model: the posterior of fits whose
NUTS chains disagree.

Where the data pin a break weakly the posterior has several modes (a break before the data, a
smooth far break, a sharp break past them) and NUTS chains started near one mode stay in their
own. Tempered sequential Monte Carlo moves a cloud of particles from the prior to the
posterior through the tempered targets ``prior * likelihood**t``, ``t`` from 0 to 1, chosen so
that each step keeps ``TARGET_ESS`` of the particles' effective size
(``blackjax.adaptive_tempered_smc``): the cloud enters every mode while the likelihood is still
flat and carries each mode's mass by its weights, and the sum of the tempering increments is
the log evidence ``log p(y)``.

Each run is one pseudo-chain: ``config.chains`` independent runs of ``config.particles``
particles, so r_hat between runs says whether runs agree on the modes' weights, as it says
whether NUTS chains agree, and the spread of their log evidence says the same of the evidence.
Further sets of runs (``pool``) can be pooled in each chain (``fitting.run_smc``, as
``method="auto"`` does).

The moves at each temperature are Hamiltonian Monte Carlo (``blackjax.hmc``, ``LEAPFROG``
steps) with the particles' weighted covariance as inverse mass matrix (each coordinate
winsorized at 5 robust sd, so that prior draws in a Student-t tail do not set the scale). Every
particle draws its own step size, the stage's centre times a factor of up to ``STEP_SPREAD``
either way, so particles in a narrow mode and in a wide one both find steps that move them; the
centre follows the mean acceptance towards ``TARGET_ACCEPT`` from one stage to the next.

Each HMC move is followed by a jump: an independence Metropolis-Hastings proposal from a
mixture of Student-t's, half centred on the local modes of the posterior that multi-start
L-BFGS finds (a search of its own in each run), half fitted to the particles' cloud at the
current temperature. HMC explores the mode a particle is in; the jumps let particles cross
between modes at every temperature, so that a narrow mode of high likelihood, which tempering
alone reaches late, gets its share in a run whose search found it. The cloud's half is what
lets a particle far from every mode jump at all (a proposal of the modes alone has so little
density there that the move back is never accepted): without it the runs' log evidence on
the 4-digit-addition curve was 8-18 nats low, the share of the narrow mode being missed where
the tempering crosses into it (docs/validation.md, "Log evidence"). Each run
searches apart so that a mode one search misses shows as runs that disagree (r_hat, the spread
of their log evidence) rather than as runs that agree on the same wrong answer: on the
4-digit-addition curve at seed 3 one search shared by the runs left all four about 8 nats low
in log evidence, in agreement (docs/validation.md). After the last temperature the loop goes
on at ``t = 1`` for ``FINAL_MOVES`` more rounds of ``config.smc_moves`` moves, the step size
and mass matrix following the particles as between temperatures (the first round resamples
by the last temperature's weights; the later ones, at equal weights, keep every particle
once), so the draws are those of the posterior itself. Both phases run through one loop, so
the move's program is compiled once.

The particles live in the form's SMC coordinates (``Form.smc_mean``): for the BNSL each
slope change is sampled as the part of it in effect at the last fit point
(:func:`bnsl_bayes.forms.bnsl.end_share`), which straightens the thin ridge that precise data leave
where a break lies past the data; the prior and the posterior are those NUTS samples.

The HMC moves are Metropolis-corrected, so a divergent trajectory is a rejected proposal, not
a region left unexplored as in NUTS: the ``diverging`` statistic of an SMC fit is all False.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.mcmc.hmc import HMCState
from blackjax.smc import adaptive_tempered, resampling
from jax import lax
from jax.flatten_util import ravel_pytree
from jax.sharding import PartitionSpec as P
from numpyro import distributions as dist
from numpyro import handlers
from numpyro.distributions.transforms import biject_to
from numpyro.infer import Predictive
from scipy import stats
from scipy.special import logsumexp

from ..data import NoiseSpace
from ..forms import get_form
from ..spec import ModelSpec
from ..standardize import ModelData
from .nuts import (
    SamplerConfig,
    _chain_mesh,
    _model_functions,
    _over_batch,
    chain_shards,
    dummy_data,
    laplace_covariance,
    local_modes,
    padded_length,
    run_batched,
    start_maker,
    vectorize_chains,
)

__all__ = ["LIKELIHOOD_SITE", "MAX_STAGES", "TARGET_ESS", "densities", "padded_lengths",
           "importance_log_evidence", "particle_log_joint", "run_smc_batch"]

#: The model's likelihood site (a factor): everything else is the prior.
LIKELIHOOD_SITE = "y"
#: Share of the particles' effective size kept from one temperature to the next.
TARGET_ESS = 0.9
#: Leapfrog steps of each HMC move.
LEAPFROG = 16
#: Each particle's step size is the stage's centre times a factor in [1/STEP_SPREAD, STEP_SPREAD].
STEP_SPREAD = 3.0
#: Mean acceptance of the HMC moves that the step size is steered towards, stage by stage.
TARGET_ACCEPT = 0.65
#: Change of the log step size per unit of acceptance off target, from one stage to the next.
STEP_GAIN = 3.0
#: Most temperatures of one run: a run that needs more stops there short of the posterior, and
#: the fit is not used (its ``final_temperature`` says so; see ``fitting.run_smc``).
MAX_STAGES = 256
#: Rounds of ``config.smc_moves`` moves at temperature 1 after the last temperature: the
#: jumps gather particles in narrow modes, where resampling then copies a few of them; these
#: moves spread the copies out again (without them the runs' bulk ESS falls several-fold).
FINAL_MOVES = 10
#: Degrees of freedom of the Student-t components of the mode-jump proposal.
JUMP_DF = 5.0
#: Share of the jump proposals drawn from a Student-t fitted to the particles' cloud at the
#: current temperature rather than from the modes' components. Without it a particle away
#: from the modes (most of them, early in the tempering) has a proposal density so low that
#: its jumps are never accepted: the modes then fill no faster than HMC alone fills them, and
#: the evidence, whose increments are averaged over particles that miss them, comes out low.
CLOUD_SHARE = 0.5
#: Log likelihood given to a particle where the model is not finite (a prior draw far in the
#: tails): its weight is zero at every temperature above 0.
_FLOOR = -1e10
#: Compiling the SMC program of one padded length costs about the run time of one curve at
#: this many runs x particles x padded points (2-core CPU: 12.8 s to trace and compile against
#: 0.131 s per padded point at 4 runs of 250 particles; ``python -m benchmarks smc_cost``).
COMPILE_COST = 98_000.0
#: Fold-in of the curve's PRNG key for SMC ("SMC" in ASCII): with partitionable threefry a small
#: fold-in can equal one of NUTS's subkeys, so a large constant keeps the streams apart.
_STREAM = 0x534D43
#: Fold-in of a run's key for the mode search of its jump proposal ("MODE").
_MODES = 0x4D4F4445
#: Base of the fold-in of a curve's key for its further sets of runs ("POOL"), large for the
#: same reason as ``_STREAM``.
_POOL = 0x504F4F4C


def densities(spec: ModelSpec, space: NoiseSpace, n_points: int) -> dict[str, Any]:
    """The model of ``n_points`` (padded) points split as SMC needs it.

    Returns
    -------
    dict
        ``potential`` and ``prior_potential``: functions of the data giving the negative log
        joint and negative log prior density of the unconstrained latent values (a dict), their
        difference being the log likelihood; ``postprocess``: of the data, the map to
        constrained values; ``latent``: the latent sites of the trace; ``prior_model``: the
        model without its likelihood; ``unravel``: flat vector to latent dict.
    """
    form = get_form(spec.form)
    model = partial(form.model, spec=spec, space=space, smc=True)
    prior_model = handlers.block(model, hide=[LIKELIHOOD_SITE])
    dummy = dummy_data(form, n_points)
    _, potential_gen, postprocess_gen, trace = _model_functions(model, dummy)
    _, prior_potential_gen, _, _ = _model_functions(prior_model, dummy)
    latent = {k: site for k, site in trace.items()
              if site["type"] == "sample" and not site["is_observed"]}
    example = {k: jnp.zeros(jnp.shape(site["value"])) for k, site in latent.items()}
    return {"potential": potential_gen, "prior_potential": prior_potential_gen,
            "postprocess": postprocess_gen, "latent": latent, "prior_model": prior_model,
            "unravel": ravel_pytree(example)[1]}


def particle_log_joint(spec: ModelSpec, space: NoiseSpace, data: ModelData,
                       values: dict[str, np.ndarray]
                       ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """SMC's particles as flat unconstrained vectors, and the log joint density there.

    For checks of the log evidence against an independent estimate (importance sampling).

    Parameters
    ----------
    spec, space, data
        The model and the curve's data the runs sampled.
    values : dict
        The runs' standardized parameters (as :func:`run_smc_batch` gives them), arrays of
        shape ``(runs, particles, ...)``.

    Returns
    -------
    flat : ndarray
        Shape ``(runs * particles, dims)``: every particle, run after run.
    log_joint : callable
        Flat unconstrained vectors ``(n, dims)`` to their log joint density ``(n,)``, in
        float64 (not finite where the density is not).
    """
    length = padded_length(data.n_points)
    parts = densities(spec, space, length)
    latent, unravel = parts["latent"], parts["unravel"]
    with jax.enable_x64(True):
        z = {k: np.asarray(biject_to(latent[k]["fn"].support).inv(jnp.asarray(values[k])))
             for k in latent}
        runs, particles = next(iter(z.values())).shape[:2]
        flat = np.stack([np.asarray(ravel_pytree({k: v[c, i] for k, v in z.items()})[0])
                         for c in range(runs) for i in range(particles)])
        potential = parts["potential"](jax.tree.map(jnp.asarray, data.padded(length)))
        minus = jax.jit(jax.vmap(lambda t: potential(unravel(t))))

    def log_joint(theta: np.ndarray) -> np.ndarray:
        with jax.enable_x64(True):
            return -np.asarray(minus(jnp.asarray(theta)))

    return flat, log_joint


def importance_log_evidence(flat: np.ndarray, log_joint: Callable[[np.ndarray], np.ndarray],
                            draws: int, seed: int) -> tuple[float, float]:
    """Log evidence by importance sampling from a Student-t (5 dof, twice the covariance)
    fitted to ``flat`` (as :func:`particle_log_joint` gives it): unbiased in the evidence
    whatever the proposal, and independent of the tempering.

    Returns
    -------
    log_evidence, ess : float
        The estimate and the importance weights' effective sample size (a proposal that
        covers the posterior gives thousands; a few means the estimate is not to be trusted).
    """
    proposal = stats.multivariate_t(flat.mean(0), 2.0 * np.cov(flat.T), df=5, seed=seed)
    theta = proposal.rvs(draws)
    log_p = log_joint(theta)
    log_w = np.where(np.isfinite(log_p), log_p, -np.inf) - proposal.logpdf(theta)
    ess = float(np.exp(2 * logsumexp(log_w) - logsumexp(2 * log_w)))
    return float(logsumexp(log_w) - np.log(log_w.size)), ess


def whitening(tril: jax.Array) -> jax.Array:
    """The inverses of lower-triangular scale matrices ``(..., d, d)``."""
    return jax.scipy.linalg.solve_triangular(
        tril, jnp.broadcast_to(jnp.eye(tril.shape[-1]), tril.shape), lower=True)


def jump_log_density(mixture: dist.MixtureSameFamily, whiten: jax.Array, x: jax.Array
                      ) -> jax.Array:
    """``mixture.log_prob(x)`` by the components' whitening matrices: one matrix product
    where NumPyro's solves a triangular system per component and particle, which on a
    CPU costs more than the HMC move itself."""
    comp = mixture.component_distribution
    df, d = comp.df, x.shape[-1]
    u = jnp.einsum("kij,kj->ki", whiten, x - comp.loc)
    half_log_det = jnp.sum(jnp.log(jnp.diagonal(comp.scale_tril, axis1=-2, axis2=-1)), -1)
    log_pdf = (jax.scipy.special.gammaln(0.5 * (df + d)) - jax.scipy.special.gammaln(0.5 * df)
               - 0.5 * d * jnp.log(df * jnp.pi) - half_log_det
               - 0.5 * (df + d) * jnp.log1p(jnp.sum(u * u, -1) / df))
    return jax.nn.logsumexp(log_pdf + jax.nn.log_softmax(mixture.mixing_distribution.logits))


def _build(spec: ModelSpec, space: NoiseSpace, n_points: int, config: SamplerConfig,
           vectorized: bool = False):
    """The (unjitted) SMC of one curve: ``(key, data[, run_ids]) -> (values, stats, info)``.

    ``vectorized``: the mode search runs its starts as vectorized lanes (an accelerator)
    rather than one after the other (a CPU), as NUTS's does."""
    parts = densities(spec, space, n_points)
    potential_gen, prior_potential_gen = parts["potential"], parts["prior_potential"]
    postprocess_gen, latent, unravel = parts["postprocess"], parts["latent"], parts["unravel"]
    prior_model = parts["prior_model"]
    n = config.particles
    hmc_step = blackjax.hmc.build_kernel()
    flat_centre, _, make_start = start_maker(spec, space, latent, config.init_radius)

    def jump_proposal(key, data):
        """The local modes of the posterior that multi-start L-BFGS finds, as Student-t
        components (scale: the Laplace covariance) weighted half by each mode's Laplace mass
        and half equally: ``(loc, scale_tril, whiten, log_weight)``. A failed mode has
        weight 0; where no mode at all is found every component sits at the search's centre
        with unit scale, an uninformed but valid proposal beside the cloud's."""
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
        return x, chol, whitening(chol), jnp.log(jnp.maximum(weight, 1e-300))  # finite logits

    def one_run(key, data, proposal):
        potential, prior_potential = potential_gen(data), prior_potential_gen(data)
        mode_loc, mode_tril, mode_whiten, mode_logits = proposal

        def move(key, state, logdensity_fn, cloud_loc, cloud_tril, cloud_whiten, **params):
            """An HMC move, then an independence Metropolis-Hastings proposal from the modes'
            and the cloud's mixture: HMC explores the mode a particle is in, the jump lets
            particles cross between modes so that the modes' shares follow the tempered
            target."""
            k_hmc, k_jump, k_accept = jax.random.split(key, 3)
            state, info = hmc_step(k_hmc, state, logdensity_fn, **params)
            # CLOUD_SHARE of the proposals from the cloud, the rest from the modes
            logits = jnp.concatenate([mode_logits + math.log(1.0 - CLOUD_SHARE),
                                      jnp.full(1, math.log(CLOUD_SHARE))])
            mixture = dist.MixtureSameFamily(
                dist.Categorical(logits=logits),
                dist.MultivariateStudentT(JUMP_DF,
                                          loc=jnp.concatenate([mode_loc, cloud_loc]),
                                          scale_tril=jnp.concatenate([mode_tril, cloud_tril])))
            whiten = jnp.concatenate([mode_whiten, cloud_whiten])
            x_new = mixture.sample(k_jump)
            logp, grad = jax.value_and_grad(logdensity_fn)(x_new)
            log_ratio = (logp - state.logdensity
                         + jump_log_density(mixture, whiten, state.position)
                         - jump_log_density(mixture, whiten, x_new))
            # a NaN ratio (a proposal where the density is not finite) is a rejection
            accept = jnp.log(jax.random.uniform(k_accept)) < log_ratio
            jumped = HMCState(x_new, logp, grad)
            state = jax.tree.map(lambda a, b: jnp.where(accept, a, b), jumped, state)
            return state, info

        def logprior(x):
            return -prior_potential(unravel(x))

        def loglik(x):
            z = unravel(x)
            value = prior_potential(z) - potential(z)
            return jnp.where(jnp.isfinite(value), value, _FLOOR)

        k_prior, k_loop, _ = jax.random.split(key, 3)  # in three as before: the same streams
        draws = Predictive(prior_model, num_samples=n, return_sites=list(latent))(k_prior, data)
        unconstrained = {k: biject_to(latent[k]["fn"].support).inv(draws[k]) for k in latent}
        x0 = jax.vmap(lambda i: ravel_pytree({k: v[i] for k, v in unconstrained.items()})[0])(
            jnp.arange(n))
        x0 = jnp.where(jnp.isfinite(x0), x0, 0.0)
        dim = x0.shape[1]
        kernel = adaptive_tempered.build_kernel(logprior, loglik, move, blackjax.hmc.init,
                                                resampling.systematic, TARGET_ESS)

        def parameters(state, log_step, key):
            w = state.weights
            x = state.particles
            # winsorized at 5 robust sd from the median, so that prior draws far in a
            # Student-t tail do not set the scale of every move
            med = jnp.median(x, axis=0)
            mad = 1.4826 * jnp.median(jnp.abs(x - med), axis=0) + 1e-9
            x = jnp.clip(x, med - 5.0 * mad, med + 5.0 * mad)
            dev = x - w @ x
            cov = (dev * w[:, None]).T @ dev
            cov = cov + 1e-6 * jnp.diag(jnp.diag(cov)) + 1e-12 * jnp.eye(dim)
            spread = jax.random.uniform(key, (n,), minval=-1.0, maxval=1.0)
            steps = jnp.exp(log_step + math.log(STEP_SPREAD) * spread)
            tril = jnp.linalg.cholesky(cov)
            return {"step_size": steps, "inverse_mass_matrix": cov[None],
                    "num_integration_steps": jnp.full((1,), LEAPFROG),
                    "cloud_loc": (w @ x)[None, None], "cloud_tril": tril[None, None],
                    "cloud_whiten": whitening(tril)[None, None]}

        def stage(carry):
            """One temperature; once at t = 1, one round of the final moves (the adaptive
            kernel's increment is then 0: it resamples and moves at t = 1). One loop for both
            phases, so the move's program is compiled once."""
            state, key, log_step, logz, i, final, schedule, accept, moved = carry
            key, k_par, k_step = jax.random.split(key, 3)
            at_one = state.tempering_param >= 1.0
            params = parameters(state, log_step, k_par)
            new, info = kernel(k_step, state, config.smc_moves, params)
            acc = jnp.mean(info.update_info.acceptance_rate)
            log_step = log_step + STEP_GAIN * (acc - TARGET_ACCEPT)
            tempering = jnp.where(at_one, MAX_STAGES, i)  # out of range: the update is dropped
            return (new, key, log_step, logz + info.log_likelihood_increment,
                    i + jnp.where(at_one, 0, 1), final + jnp.where(at_one, 1, 0),
                    schedule.at[tempering].set(new.tempering_param, mode="drop"),
                    accept.at[tempering].set(acc, mode="drop"),
                    {"acceptance_rate": jnp.where(
                        at_one, moved["acceptance_rate"]
                        + jnp.mean(info.update_info.acceptance_rate, axis=-1) / FINAL_MOVES,
                        0.0), "step_size": params["step_size"]})

        def going(carry):
            # a run short of t = 1 after MAX_STAGES stops without the final rounds: its fit is
            # flagged (final_temperature) and not kept over another
            t, i, final = carry[0].tempering_param, carry[4], carry[5]
            return ((t < 1.0) & (i < MAX_STAGES)) | ((t >= 1.0) & (final < FINAL_MOVES))

        nan = jnp.full(MAX_STAGES, jnp.nan)
        start = (adaptive_tempered.init(x0), k_loop, jnp.log(0.5), jnp.zeros(()),
                 jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), nan, nan,
                 {"acceptance_rate": jnp.zeros(n), "step_size": jnp.zeros(n)})
        final, _, _, logz, stages, _, schedule, accept, moved = lax.while_loop(
            going, stage, start)
        x = final.particles
        lp = -jax.vmap(lambda f: potential(unravel(f)))(x)
        stats = {
            "lp": lp,
            "acceptance_rate": moved["acceptance_rate"],
            "step_size": moved["step_size"],
            # HMC moves are Metropolis-corrected: a divergent proposal is a rejection, which
            # SMC tolerates; the flag records no missed region as NUTS's does
            "diverging": jnp.zeros(n, dtype=bool),
        }
        run_info = {"log_evidence": logz, "stages": stages, "final_temperature":
                    final.tempering_param, "temperatures": schedule, "acceptance": accept}
        return x, stats, run_info

    def run(key, data, run_ids=None):
        keys = jax.random.split(jax.random.fold_in(key, _STREAM), config.chains)
        ids = jnp.arange(config.chains) if run_ids is None else run_ids
        # a mode search per run: runs that share one also share its blind spots
        x, stats, info = lax.map(
            lambda k: one_run(k, data, jump_proposal(jax.random.fold_in(k, _MODES), data)),
            keys[ids])
        constrain = postprocess_gen(data)
        values = jax.vmap(jax.vmap(lambda f: constrain(unravel(f))))(x)
        return values, stats, info

    return run


@functools.lru_cache(maxsize=16)
def _compiled(spec: ModelSpec, space: NoiseSpace, n_points: int, config: SamplerConfig,
              batch: int):
    """The jitted SMC of ``batch`` curves, cached: ``(keys, data) -> (values, stats, info)``.

    As NUTS's chains: on a CPU with several devices each device runs its share of the runs
    (``jax.shard_map``), the curves of a batch one after the other."""
    vectorized = vectorize_chains()
    shards = 1 if vectorized else chain_shards(config.chains)
    run = _build(spec, space, n_points, config, vectorized)
    if shards == 1:
        return jax.jit(_over_batch(run, vectorized))

    def body(keys, data, ids):
        return _over_batch(lambda k, d: run(k, d, ids), False)(keys, data)

    sharded = jax.shard_map(body, mesh=_chain_mesh(shards), in_specs=(P(), P(), P("chain")),
                            out_specs=P(None, "chain"), check_vma=False)
    ids = jnp.arange(config.chains)
    return jax.jit(lambda keys, data: sharded(keys, data, ids))


def run_smc_batch(
    spec: ModelSpec,
    space: NoiseSpace,
    data: list[ModelData],
    config: SamplerConfig,
    seeds: list[int],
    batch: int | None = None,
    progress: Callable[[int], None] | None = None,
    length: int | None = None,
    pool: int = 0,
) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """Run tempered SMC on several curves with one compiled program.

    Parameters
    ----------
    spec, space, data, config, seeds, batch, progress
        As in :func:`~.nuts.run_nuts_batch`; ``config.chains`` independent runs of
        ``config.particles`` particles and ``config.smc_moves`` HMC moves per temperature.
    length : int, optional
        Points the curves are padded to (at least the longest's; by default the next multiple
        of 8, see :func:`padded_lengths` for sharing one program between lengths).
    pool : int
        0: the curves' own runs. ``k > 0``: the ``k``-th set of further runs of the same
        curves, independent of the others (each curve's key folded in with ``_POOL + k``), to
        be pooled with them as one fit with more particles per chain
        (``fitting.run_smc``).

    Returns
    -------
    list of (draws, stats, info)
        Per curve: standardized parameters, arrays of shape ``(runs, particles, ...)``; sample
        statistics (``lp``, ``acceptance_rate``, ``step_size``, ``diverging``), arrays of shape
        ``(runs, particles)``; per run, ``log_evidence``, ``stages``, ``final_temperature`` and
        the ``temperatures`` and mean ``acceptance`` of each stage (NaN past the last).
    """
    # only these settings change SMC: samplers that differ in the others share one program
    config = SamplerConfig(chains=config.chains, particles=config.particles,
                           smc_moves=config.smc_moves, init_starts=config.init_starts,
                           init_radius=config.init_radius, method="smc")
    return [tuple(parts) for parts in run_batched(
        lambda length, b: _compiled(spec, space, length, config, b), data, seeds, batch,
        progress, length, stream=_POOL + pool if pool else 0)]


def padded_lengths(lengths: Sequence[int], particles: int, runs: int = 4) -> dict[int, int]:
    """The length each padded length runs at: groups of neighbouring lengths padded to their
    longest, chosen to minimize the compiles plus the run time the padding adds.

    A compile costs about :data:`COMPILE_COST` run-particle-points of run time, and the padding
    of a curve costs its runs x particles x the points added: few curves a little shorter than
    the next length share that one's program; many curves, a wide gap, or many particles keep
    their own. (The run time that does not grow with the points is the same whatever the
    grouping.) Exact by dynamic programming over the sorted distinct lengths (a group of the
    optimum is always a run of neighbours).

    Parameters
    ----------
    lengths : sequence of int
        Padded length of each curve (repeats count: each is a curve to run).
    particles : int
        Particles per run.
    runs : int
        Runs per curve.

    Returns
    -------
    dict
        Each distinct length in ``lengths`` to the length it runs at (itself or longer).
    """
    counted = Counter(int(n) for n in lengths)
    distinct = sorted(counted)
    counts = [counted[m] for m in distinct]
    best, cut = [0.0], []  # best[j]: cost of the first j lengths; cut[j-1]: start of the last group
    for j in range(1, len(distinct) + 1):
        options = [best[i] + COMPILE_COST + runs * particles * distinct[j - 1]
                   * sum(counts[i:j]) for i in range(j)]
        i = int(np.argmin(options))
        best.append(options[i])
        cut.append(i)
    out, j = {}, len(distinct)
    while j > 0:
        i = cut[j - 1]
        out.update({m: distinct[j - 1] for m in distinct[i:j]})
        j = i
    return out
