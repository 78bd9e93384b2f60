"""NUTS on the standardized model, compiled once per shape and reused across curves.

``numpyro.infer.MCMC`` traces and compiles its sampler again on every ``run()`` (seconds per
curve). Here a run is two ``jax.jit`` programs of (PRNG key, data): the multi-start mode search
that places the chains and seeds the mass matrix (:func:`_mode_program`), then the chains
(warmup with step-size and mass-matrix adaptation, sampling, and the map to constrained
values), built from NumPyro's functional NUTS (``numpyro.infer.hmc.hmc``) with the model's
potential taking the data as an argument. Both are mapped over a batch of curves (vectorized
lanes on an accelerator, one after the other on a CPU: :func:`vectorize_chains`). On a CPU
with one JAX device per core (:mod:`.cores`) the chains of each curve are spread over the
devices (:func:`chain_shards`), so the cores run chains side by side. Curves are padded with
masked points to :func:`padded_length`, and the programs are cached per (spec, noise space,
padded length, batch size, sampler settings): a second curve or batch of the same shape runs
without compiling, and one curve (``fit``) is a batch of one of the same programs as
``fit_many``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu
from jax import lax
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from numpyro.distributions import constraints
from numpyro.distributions.transforms import biject_to
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model

from ..data import NoiseSpace
from ..forms import get_form
from ..forms.bnsl import END_SLOPE_SITE
from ..spec import ModelSpec
from ..standardize import ModelData
from .progress import Bar

__all__ = [
    "SamplerConfig",
    "chain_shards",
    "default_batch",
    "padded_length",
    "run_nuts",
    "run_nuts_batch",
    "trace_count",
]


#: The samplers ``SamplerConfig.method`` names.
METHODS = ("auto", "nuts", "smc")


@dataclass(frozen=True)
class SamplerConfig:
    """Settings of the samplers (NUTS, and tempered SMC where NUTS's chains disagree): what
    ``fit``, ``fit_many``, ``compare`` and ``seeds_study`` take as ``sampler=``.

    >>> import bnsl_bayes as bb
    >>> quick = bb.SamplerConfig(chains=2, warmup=300, samples=300)
    >>> fit = bb.fit(curve, sampler=quick)                     # doctest: +SKIP

    The defaults are those of :func:`bnsl_bayes.fit`.

    Attributes
    ----------
    chains : int
        Independent chains (vectorized together).
    warmup : int
        Warmup iterations per chain (step size and mass matrix adaptation).
    samples : int
        Kept draws per chain.
    target_accept : float
        Target acceptance probability of the step-size adaptation.
    max_tree_depth : int
        Largest NUTS tree depth (2**depth leapfrog steps at most).
    dense_mass : bool
        Adapt a dense (True) or diagonal mass matrix.
    init_radius : float
        Half-width of the uniform spread of the optimizer's starting points around the prior
        centre, in unconstrained units.
    init_starts : int
        Starting points of the multi-start posterior-mode search (BFGS) that places the chains;
        each chain then starts at a draw from the Laplace approximation at the best mode, and
        that approximation's covariance seeds the mass matrix. 0 starts the chains at the
        prior centre plus uniform jitter of ``init_radius`` instead.
    regularize_mass : bool
        Shrink the adapted mass matrix towards 1e-3 * identity (NumPyro's default). Off here:
        the posterior scales of a BNSL span 1e-3 to 1 on the standardized axes and that shrinkage
        swamps the narrow directions (level, break location), forcing tiny steps.
    progress : bool
        Draw a progress bar of the iterations on standard error while sampling (a host
        callback in the compiled loop; a separate compiled program from the silent one).
    method : {"auto", "nuts", "smc"}
        ``"nuts"``: NUTS alone. ``"smc"``: adaptive tempered SMC alone
        (:mod:`bnsl_bayes.sampling.smc`; ``chains`` independent runs of ``particles``
        particles, stored as chains of draws). ``"auto"`` (default): NUTS, then SMC for a fit
        whose NUTS diagnostics fail (chains that disagree, divergences, low ESS): runs of a
        quarter of ``particles`` first, then two, four, eight and sixteen such runs pooled in
        each chain for the fits still failing by no more than Monte Carlo error could explain
        (``fitting.particle_ladder``, ``checks.may_pass_with_more``), keeping SMC's answer
        where its diagnostics are better; the fit's ``sampling_method`` attribute says which
        ran and ``smc_attempts`` what SMC tried.
    particles : int
        Particles of each SMC run (its draws); with ``"auto"``, four times the particles of
        its runs (a chain pools up to sixteen of them; see ``fitting.particle_ladder``).
    smc_moves : int
        HMC moves of each particle at each SMC temperature.
    """

    chains: int = 4
    warmup: int = 1000
    samples: int = 1000
    target_accept: float = 0.95
    max_tree_depth: int = 10
    dense_mass: bool = True
    init_radius: float = 2.0
    regularize_mass: bool = False
    init_starts: int = 32
    progress: bool = False
    method: str = "auto"
    particles: int = 1000
    smc_moves: int = 10

    def validate(self) -> None:
        """Raise ValueError on settings the samplers cannot run with."""
        if self.method not in METHODS:
            raise ValueError(f"method = {self.method!r}: expected one of "
                             f"{', '.join(repr(m) for m in METHODS)}")
        for name in ("chains", "warmup", "samples", "max_tree_depth", "init_starts",
                     "particles", "smc_moves"):
            value = getattr(self, name)
            low = {"warmup": 0, "init_starts": 0, "particles": 2}.get(name, 1)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"{name} = {value!r}: expected a whole number >= {low}")
        for name in ("dense_mass", "regularize_mass", "progress"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(f"{name} = {getattr(self, name)!r}: expected True or False")
        if (isinstance(self.target_accept, bool)
                or not isinstance(self.target_accept, int | float | np.floating)
                or not 0.0 < self.target_accept < 1.0):
            raise ValueError(f"target_accept = {self.target_accept!r}: expected a value in (0, 1)")
        if not (math.isfinite(self.init_radius) and self.init_radius >= 0):
            raise ValueError(f"init_radius = {self.init_radius!r}: expected a finite value >= 0")


# Where chains start (constrained values); the data anchor the level at 0 and the rest starts at
# the centre of its prior, spread out by the jitter.
def _centre(spec: ModelSpec, site: str, space: NoiseSpace) -> np.ndarray:
    n = spec.breaks
    if site == "level":
        return np.array(0.0)
    if site == "asymptote":  # odds 1: a is half the curve at the last fit point
        return np.array(np.log(np.expm1(1.0 * 10.0)) / 10.0)
    if site == "break_location":
        return np.arange(1, n + 1) / (n + 1.0)
    if site == END_SLOPE_SITE:  # SMC's coordinate: the slope change scaled by at most 1
        site = "slope_change"
    prior = spec.prior(site)
    params = dict(prior.params)
    if prior.support == "unit":
        value = params["concentration1"] / (params["concentration1"] + params["concentration0"])
    elif prior.support == "positive":
        value = float(np.median(np.asarray(prior.build().sample(jax.random.PRNGKey(0), (999,)))))
    else:
        value = params["loc"]
    return np.full((n,), value) if site in ("slope_change", "log_sharpness") else np.array(value)


_TRACES = {"count": 0}


_BAR = Bar("sampling", "iterations")


def _tick(done, total) -> None:
    """Host callback of the compiled loop (``SamplerConfig.progress``): ``done`` of ``total``
    chain-iterations (chains x (warmup + samples)) finished.

    Under ``vmap`` the arguments may arrive batched over chains and curves: all hold the same
    count."""
    _BAR(int(np.max(done)), int(np.max(total)))


def trace_count() -> int:
    """How many times a sampler or a mode search has been traced (compiled) in this process.

    A fit of a new curve of an already seen shape must not raise it; tests use this to prove
    that compiled samplers are reused.
    """
    return _TRACES["count"]


def padded_length(n_points: int) -> int:
    """The length curves are padded to: the next multiple of 8, so that curves of similar
    lengths share one compiled sampler."""
    return max(8, -(-int(n_points) // 8) * 8)


def default_batch(n_curves: int) -> int:
    """Curves per compiled call when the caller gives none: 1 on a CPU, all on an accelerator.

    On a CPU the curves of a call run one after the other (see :func:`_compiled`), so a bigger
    batch saves only the per-call overhead while the progress bar moves once per call; on an
    accelerator the curves of a batch are parallel lanes.
    """
    return 1 if jax.default_backend() == "cpu" else max(1, int(n_curves))


def vectorize_chains() -> bool:
    """Whether the chains of a curve run as vectorized lanes (an accelerator) or one after the
    other inside the compiled program (a CPU).

    A vectorized NUTS step lasts as long as the deepest tree among the chains, and batching
    NUTS's while loops makes tracing and compiling slower: on a CPU sequential chains trace,
    compile and run faster (``python -m benchmarks trace_time``, docs/performance.md). On a GPU
    the lanes run in parallel.
    """
    return jax.default_backend() != "cpu"


def chain_shards(chains: int) -> int:
    """Devices the chains of a curve are spread over: on a CPU with several (virtual) devices,
    the largest count up to their number that divides ``chains``; else 1.

    JAX sees one CPU device unless told otherwise; ``import bnsl_bayes`` asks for one per core
    (:func:`bnsl_bayes.use_cpu_cores`) when JAX has not started yet. Each device then runs
    its share of the chains on its own core.
    """
    if jax.default_backend() != "cpu":
        return 1
    n = len(jax.local_devices(backend="cpu"))
    return max(d for d in range(1, min(n, chains) + 1) if chains % d == 0)


def _model_functions(model, dummy: ModelData):
    """NumPyro's ``initialize_model(..., dynamic_args=True)`` of ``model`` on ``dummy`` data,
    run while tracing, not eagerly.

    Eagerly, its search for a valid initial point runs the model and its gradient one
    operation at a time, each compiled on its own: about 5 s per program on 2 cores, which
    JAX's persistent cache does not keep (each compile is below its time threshold). Only the
    potential and postprocessing functions and the sites of the trace are used here, none of
    its values.
    """
    out = []

    def init():
        out.append(initialize_model(jax.random.PRNGKey(0), model, model_args=(dummy,),
                                    dynamic_args=True))
        return jnp.zeros(())

    jax.make_jaxpr(init)()
    return out[0]


def dummy_data(form, n_points: int) -> ModelData:
    """Placeholder data of ``n_points`` points for tracing ``form``'s model: only the shapes
    matter."""
    zeros = jnp.zeros(n_points)
    ones = jnp.ones(n_points)
    dummy = ModelData(jnp.linspace(0.0, 1.0, n_points), zeros, ones, zeros, zeros, ones)
    if form.needs_refs:
        dummy = dummy._replace(log_x_width=jnp.asarray(1.0), y_zero=jnp.asarray(-1.0))
    return dummy


def start_maker(spec: ModelSpec, space: NoiseSpace, latent: dict, init_radius: float):
    """Starting points of the mode search: ``(flat_centre, unravel, make_start)``, the prior
    centre of the latent sites as a flat vector, the map from flat vectors to latent dicts, and
    ``make_start(key)``, the centre plus uniform jitter of ``init_radius`` with the break
    locations sorted uniform over the data."""
    centre = {
        k: jnp.asarray(biject_to(site["fn"].support).inv(jnp.asarray(_centre(spec, k, space))))
        for k, site in latent.items()
    }
    flat_centre, unravel = ravel_pytree(centre)
    ordered = biject_to(constraints.ordered_vector)

    def make_start(key):
        keys = jax.random.split(key, len(centre) + 1)
        z = {
            k: c + jax.random.uniform(keys[i], c.shape, minval=-init_radius, maxval=init_radius)
            for i, (k, c) in enumerate(sorted(centre.items()))
        }
        if "break_location" in z:
            v = jnp.sort(jax.random.uniform(keys[-1], (spec.breaks,), minval=-0.1, maxval=1.1))
            z["break_location"] = ordered.inv(v)
        return ravel_pytree(z)[0]

    return flat_centre, unravel, make_start


#: Most L-BFGS iterations of one start of the mode search.
MODE_SEARCH_ITERATIONS = 500
#: The mode search stops where the gradient's norm (per unit of the potential) falls below this.
MODE_SEARCH_TOLERANCE = 1e-8


def local_modes(potential: Callable, unravel: Callable, starts: jax.Array, vectorized: bool
                ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """L-BFGS on ``potential`` from each start (flat vectors, one per row): the potential at
    each local mode, the modes and the inverse of the exact Hessian there (its eigenvalues
    clipped to [1e-10, 10], so that a flat or not quite converged direction still gives one).

    Optax's L-BFGS with a zoom line search and a scaled first step: on curves whose noise sd is
    small the potential's gradient at a start is huge, and ``jax.scipy.optimize``'s BFGS (unit
    first step, no scaling) failed its line search after one or two iterations on most starts,
    so its "modes" were the starts themselves, 2-25 nats below the best
    (docs/validation.md, "The mode search")."""

    def objective(flat):
        value = potential(unravel(flat))
        return jnp.where(jnp.isfinite(value), value, 1e30)

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    def one_start(x0):
        def step(carry):
            x, state = carry
            value, grad = value_and_grad(x, state=state)
            updates, state = solver.update(grad, state, x, value=value, grad=grad,
                                           value_fn=objective)
            return optax.apply_updates(x, updates), state

        def going(carry):
            _, state = carry
            count = otu.tree_get(state, "count")
            grad = otu.tree_get(state, "grad")
            value = otu.tree_get(state, "value")
            small = otu.tree_norm(grad) < MODE_SEARCH_TOLERANCE * (1.0 + jnp.abs(value))
            return (count == 0) | ((count < MODE_SEARCH_ITERATIONS) & ~small
                                   & jnp.isfinite(value))

        x, _ = lax.while_loop(going, step, (x0, solver.init(x0)))
        hess = jax.hessian(objective)(x)
        eigval, eigvec = jnp.linalg.eigh(0.5 * (hess + hess.T))
        hess_inv = (eigvec / jnp.clip(eigval, 0.1, 1e10)) @ eigvec.T
        return objective(x), x, hess_inv

    # As the chains: one start after the other on a CPU (vmapped L-BFGS iterates every lane
    # until the slowest converges, and batching its nested loops slows tracing and
    # compiling), vectorized lanes on an accelerator.
    return jax.vmap(one_start)(starts) if vectorized else lax.map(one_start, starts)


def laplace_covariance(hess_inv: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A usable covariance from BFGS's inverse Hessian (symmetrized, eigenvalues clipped to
    [1e-10, 10], so that a poor estimate still gives one), and whether its eigenvalues were
    finite."""
    hess_inv = 0.5 * (hess_inv + hess_inv.T)
    eigval, eigvec = jnp.linalg.eigh(hess_inv)
    eigval = jnp.clip(eigval, 1e-10, 10.0)
    return (eigvec * eigval) @ eigvec.T, jnp.all(jnp.isfinite(eigval))


def _build(spec: ModelSpec, space: NoiseSpace, n_points: int, config: SamplerConfig,
           vectorized: bool = True, shards: int = 1):
    """The (unjitted) run ``(key, data[, chain_ids]) -> (values, stats, warmup_divergences)``
    of one curve; warmup divergences are counted per chain.

    ``vectorized`` runs the chains as ``jax.vmap`` lanes, else one after the other
    (``lax.map``); see :func:`vectorize_chains`. ``shards`` is the number of devices the
    chains are spread over (:func:`chain_shards`); above 1 the run must be called inside a
    ``shard_map`` over the mesh axis ``"chain"``, whose devices also share the mode search.
    """
    form = get_form(spec.form)
    model = partial(form.model, spec=spec, space=space)
    _, potential_gen, postprocess_gen, trace = _model_functions(model, dummy_data(form, n_points))
    latent = {
        k: site for k, site in trace.items()
        if site["type"] == "sample" and not site["is_observed"]
    }
    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")
    total = config.warmup + config.samples
    flat_centre, unravel, make_start = start_maker(spec, space, latent, config.init_radius)
    dim = flat_centre.shape[0]

    def find_mode(key, data):
        """Multi-start BFGS on the potential; the best mode and its inverse Hessian."""
        starts = jax.vmap(make_start)(jax.random.split(key, config.init_starts))
        potential = potential_gen(data)
        if shards > 1 and config.init_starts % shards == 0:
            # chains spread over devices: each device searches from its share of the starts
            # and all see every result, so all pick the same mode
            per = config.init_starts // shards
            mine = lax.dynamic_slice_in_dim(starts, lax.axis_index("chain") * per, per)
            fun, x, hess = (lax.all_gather(v, "chain", tiled=True)
                            for v in local_modes(potential, unravel, mine, vectorized))
        else:
            fun, x, hess = local_modes(potential, unravel, starts, vectorized)
        fun = jnp.where(jnp.isfinite(fun), fun, jnp.inf)
        best = jnp.argmin(fun)
        cov, finite = laplace_covariance(hess[best])
        ok = jnp.all(jnp.isfinite(x[best])) & finite
        mode = jnp.where(ok, x[best], flat_centre)
        cov = jnp.where(ok, cov, jnp.eye(dim))
        return mode, cov

    def one_chain(key, z0, chain, inverse_mass, data):
        state = init_kernel(
            z0,
            num_warmup=config.warmup,
            inverse_mass_matrix=inverse_mass,
            target_accept_prob=config.target_accept,
            dense_mass=config.dense_mass,
            max_tree_depth=config.max_tree_depth,
            regularize_mass_matrix=config.regularize_mass,
            model_args=(data,),
            rng_key=key,
        )

        def step(st, i):
            if config.progress:
                # chain-iterations done: the chains advance together when vectorized, one
                # after the other when not
                if vectorized:
                    jax.debug.callback(_tick, (i + 1) * config.chains, config.chains * total)
                else:
                    # sharded: each device runs a contiguous block of chains, all at about
                    # the same pace; the first block alone reports, for all of them
                    done = (chain * total + i + 1) * shards
                    lax.cond(chain < config.chains // shards,
                             lambda: jax.debug.callback(_tick, done, config.chains * total),
                             lambda: None)
            st = sample_kernel(st, model_args=(data,))
            stats = {
                "diverging": st.diverging,
                "n_steps": st.num_steps,
                "acceptance_rate": st.accept_prob,
                "lp": -st.potential_energy,
                "energy": st.energy,
                "step_size": st.adapt_state.step_size,
            }
            return st, (st.z, stats)

        _, (zs, stats) = lax.scan(step, state, jnp.arange(total))
        return zs, stats

    def laplace(key, data):
        """The mode search of one curve: ``(mode, cov)``, from the first of the curve's three
        subkeys (as :func:`run` splits them)."""
        _TRACES["count"] += 1
        return find_mode(jax.random.split(key, 3)[0], data)

    def run(key, data, chain_ids=None, start=None):
        """All chains of one curve, or (on a CPU) those in ``chain_ids``: every device of a
        sharded call finds the same mode and starting points, then runs its own chains.
        ``start`` is the curve's ``laplace(key, data)`` when it was computed apart (None: here).
        """
        _TRACES["count"] += 1  # Python side effect: runs once per trace, not per call
        k_mode, k_init, k_run = jax.random.split(key, 3)
        if config.init_starts > 0:
            mode, cov = find_mode(k_mode, data) if start is None else start
            chol = jnp.linalg.cholesky(cov)
            eps = jax.random.normal(k_init, (config.chains, dim))
            flat0 = mode + eps @ chol.T
            inverse_mass = cov if config.dense_mass else jnp.diag(cov)
        else:
            flat0 = flat_centre + jax.random.uniform(
                k_init, (config.chains, dim), minval=-config.init_radius,
                maxval=config.init_radius,
            )
            inverse_mass = jnp.eye(dim) if config.dense_mass else jnp.ones(dim)
        z0 = jax.vmap(unravel)(flat0)
        chain_keys = jax.random.split(k_run, config.chains)
        if not vectorized:
            ids = jnp.arange(config.chains) if chain_ids is None else chain_ids
            z0 = jax.tree.map(lambda t: t[ids], z0)
            zs, stats = lax.map(lambda kzc: one_chain(*kzc, inverse_mass, data),
                                (chain_keys[ids], z0, ids))
        else:
            zs, stats = jax.vmap(one_chain, in_axes=(0, 0, 0, None, None))(
                chain_keys, z0, jnp.arange(config.chains), inverse_mass, data
            )
        warm_div = jnp.sum(stats["diverging"][:, : config.warmup], axis=1)  # per chain
        zs = jax.tree.map(lambda t: t[:, config.warmup :], zs)
        stats = jax.tree.map(lambda t: t[:, config.warmup :], stats)
        constrain = postprocess_gen(data)
        values = jax.vmap(jax.vmap(constrain))(zs)
        return values, stats, warm_div

    run.laplace = laplace
    return run


@functools.lru_cache(maxsize=32)
def _compiled(spec: ModelSpec, space: NoiseSpace, n_points: int, config: SamplerConfig,
              batch: int):
    """The sampler of ``batch`` curves of ``n_points`` (padded) points, cached: a function
    ``(keys, data) -> (values, stats, warmup_divergences)`` of two jitted programs, the mode
    search (:func:`_mode_program`) and the chains.

    One curve is a batch of one: ``fit`` and ``fit_many`` run the same programs, so the same
    curve and seed give the same draws through either. On an accelerator the curves of a batch
    are vectorized lanes (``jax.vmap``); on a CPU they run one after the other in the compiled
    call (``lax.map``), as the chains of one device do (:func:`vectorize_chains`): no lane
    waits for another, tracing does not batch the sampler's loops, and the draws of a curve do
    not depend on the batch size. With several CPU devices each program is a ``jax.shard_map``
    over them: each device takes the whole batch and its share of every curve's chains (and of
    the mode search's starts).
    """
    vectorized = vectorize_chains()
    shards = 1 if vectorized else chain_shards(config.chains)
    run = _build(spec, space, n_points, config, vectorized=vectorized, shards=shards)
    # the search depends on these settings only, so samplers that differ in the others share it
    search = SamplerConfig(init_radius=config.init_radius, init_starts=config.init_starts)
    laplace = None if config.init_starts == 0 else _mode_program(spec, space, n_points, search,
                                                                   batch)
    if shards == 1:
        sample = jax.jit(_over_batch(lambda k, d, st: run(k, d, start=st), vectorized))
    else:
        # Chains spread over CPU devices: every device gets the whole batch and its share of
        # the chain indices; outputs are gathered along the chain axis (batch, chain, ...).
        def body(keys, data, starts, ids):
            return _over_batch(lambda k, d, st: run(k, d, ids, st), False)(keys, data, starts)

        sharded = jax.shard_map(body, mesh=_chain_mesh(shards),
                                in_specs=(P(), P(), P(), P("chain")),
                                out_specs=P(None, "chain"), check_vma=False)
        ids = jnp.arange(config.chains)
        sample = jax.jit(lambda keys, data, starts: sharded(keys, data, starts, ids))

    def sampler(keys, data):
        starts = None if laplace is None else laplace(keys, data)
        return sample(keys, data, starts)

    sampler.programs = (laplace, sample)  # the two programs, for timing them apart
    return sampler


def _over_batch(fn, vectorized: bool):
    """``fn`` of one curve's arguments mapped over a batch of curves: vectorized lanes
    (``jax.vmap``) or one curve after the other (``lax.map``)."""
    if vectorized:
        return jax.vmap(fn)
    return lambda *args: lax.map(lambda one: fn(*one), args)


def _chain_mesh(shards: int) -> Mesh:
    """The first ``shards`` CPU devices as a mesh with the axis ``"chain"``."""
    return Mesh(np.array(jax.local_devices(backend="cpu")[:shards]), ("chain",))


@functools.lru_cache(maxsize=32)
def _mode_program(spec: ModelSpec, space: NoiseSpace, n_points: int, config: SamplerConfig,
                  batch: int):
    """The jitted multi-start mode search of ``batch`` curves: ``(keys, data) -> (modes,
    covariances)``, cached.

    A program of its own, apart from the chains: its result, which places every chain, is then
    the same whatever sampler follows (with or without the progress bar's callbacks), and its
    compilation is shared by samplers whose settings differ only in what the search ignores.
    """
    vectorized = vectorize_chains()
    # the starts are shared out over the CPU devices as chains are: as many devices as divide
    # their number
    shards = 1 if vectorized else chain_shards(config.init_starts)
    run = _build(spec, space, n_points, config, vectorized=vectorized, shards=shards)
    search = _over_batch(run.laplace, vectorized)
    if shards > 1:
        search = jax.shard_map(search, mesh=_chain_mesh(shards), in_specs=(P(), P()),
                               out_specs=P(), check_vma=False)
    return jax.jit(search)


def run_nuts_batch(
    spec: ModelSpec,
    space: NoiseSpace,
    data: list[ModelData],
    config: SamplerConfig,
    seeds: list[int],
    batch: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]]:
    """Run NUTS on several curves with one compiled sampler (chains of all curves vectorized).

    Parameters
    ----------
    spec, space : ModelSpec, {"log", "linear"}
        The model.
    data : list of ModelData
        Standardized fit points of each curve (any lengths: each is padded with masked points
        to :func:`padded_length` of the longest).
    config : SamplerConfig
        Sampler settings.
    seeds : list of int
        Seed of each curve's PRNG key (the only source of randomness).
    batch : int, optional
        Curves per compiled call (default: :func:`default_batch`). The last call is filled up
        with copies of its first curve, whose results are dropped, so every call has the same
        shape.
    progress : callable, optional
        Called after each compiled call with the number of curves done so far.

    Returns
    -------
    list of (draws, stats, warmup_divergences)
        Per curve: standardized parameters, arrays of shape ``(chains, samples, ...)``; sample
        statistics, arrays of shape ``(chains, samples)``; divergent transitions during warmup
        (reported, not used).
    """
    # the SMC settings do not change NUTS: samplers that differ in them share one program
    config = replace(config, method="nuts", particles=SamplerConfig.particles,
                     smc_moves=SamplerConfig.smc_moves)
    out = []
    for values, stats, warm_div in run_batched(
            lambda length, b: _compiled(spec, space, length, config, b), data, seeds, batch,
            progress):
        stats["tree_depth"] = np.ceil(np.log2(stats["n_steps"] + 1)).astype(np.int64)
        out.append((values, stats, int(warm_div.sum())))
    return out


def run_batched(
    compiled: Callable[[int, int], Callable],
    data: list[ModelData],
    seeds: list[int],
    batch: int | None,
    progress: Callable[[int], None] | None,
    length: int | None = None,
    stream: int = 0,
) -> list[Any]:
    """Run a sampler's compiled program over curves, ``batch`` at a time (the NUTS and SMC
    drivers share this).

    ``compiled(length, batch)`` returns the jitted ``(keys, data) -> outputs`` for ``batch``
    curves padded to ``length`` points (by default :func:`padded_length` of the longest);
    every output leaf has the curves on its first axis. The last call is filled up with copies
    of its first curve, whose results are dropped, so every call has the same shape. Each
    curve's key is ``PRNGKey(seed)``, folded in with ``stream`` where that is not 0 (further
    independent runs of the same curves). Returns each curve's outputs as NumPy arrays.
    """
    if len(data) != len(seeds):
        raise ValueError(f"{len(data)} curves but {len(seeds)} seeds: give one seed per curve")
    if not data:
        return []
    batch = default_batch(len(data)) if batch is None else max(1, min(int(batch), len(data)))
    if length is None:
        length = padded_length(max(d.n_points for d in data))
    padded = [d.padded(length) for d in data]
    out: list[Any] = []
    with jax.enable_x64(True):
        run = compiled(length, batch)
        for start in range(0, len(padded), batch):
            chunk = padded[start:start + batch]
            keys = [jax.random.PRNGKey(s) for s in seeds[start:start + batch]]
            if stream:
                keys = [jax.random.fold_in(k, stream) for k in keys]
            fill = batch - len(chunk)
            chunk = chunk + [chunk[0]] * fill
            keys = keys + [keys[0]] * fill
            stacked = jax.tree.map(lambda *v: jnp.stack([jnp.asarray(x) for x in v]), *chunk)
            result = jax.tree.map(np.asarray, run(jnp.stack(keys), stacked))
            out.extend(jax.tree.map(lambda v, i=i: v[i], result) for i in range(batch - fill))
            if progress is not None:
                progress(len(out))
    return out


def run_nuts(
    spec: ModelSpec,
    space: NoiseSpace,
    data: ModelData,
    config: SamplerConfig,
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Run NUTS on one curve (a batch of one of :func:`run_nuts_batch`).

    Returns
    -------
    draws, stats, warmup_divergences
        As one element of :func:`run_nuts_batch`.
    """
    return run_nuts_batch(spec, space, [data], config, [seed])[0]
