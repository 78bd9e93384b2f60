"""Where the cold time of a fit goes: tracing, XLA compilation and the run, by chain layout.

The 4-digit-addition sampler (bnsl-1, 14 fit points padded to 16, 4 chains x (1000 + 1000)) is
built three ways and each is lowered, compiled and run twice:

- ``vmap x2``: chains as ``jax.vmap`` lanes inside a ``jax.vmap`` over a batch of one curve
  (the layout before chains became sequential on a CPU);
- ``vmap x1``: chains as vmap lanes, no batch vmap;
- ``sequential``: chains one after the other (``lax.map``), the layout ``fit`` uses on a CPU;
- ``fit``: the programs ``fit`` runs (``inference._compiled``: the mode search and the chains,
  each a jitted program; on a CPU with several JAX devices both are sharded over them);
- ``fit, no mode search``: the same with ``init_starts=0`` (chains start at the prior centre),
  which shows what the multi-start BFGS mode search costs to trace and compile.

Usage: ``python -m benchmarks trace_time [--json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax
import jax.numpy as jnp

import bnsl_bayes as bb
from bnsl_bayes.sampling import nuts as inference
from bnsl_bayes.spec import load_spec
from bnsl_bayes.standardize import ModelData, Scaling


def measure(layout: str) -> dict:
    spec = load_spec("bnsl-1")
    curve = bb.datasets.load("four_digit_addition")
    data = ModelData.from_curve(curve, Scaling.from_curve(curve, "log")).padded(16)
    batch = jax.tree.map(lambda v: jnp.asarray(v)[None], data)
    keys = [jax.random.PRNGKey(0)[None], jax.random.PRNGKey(1)[None]]
    config = inference.SamplerConfig()
    with jax.enable_x64(True):
        if layout.startswith("fit"):
            if layout == "fit, no mode search":
                config = dataclasses.replace(config, init_starts=0)
            return measure_fit(layout, inference._compiled(spec, "log", 16, config, 1),
                               keys, batch)
        elif layout == "vmap x2":
            fn = jax.jit(jax.vmap(inference._build(spec, "log", 16, config)))
        else:
            run = inference._build(spec, "log", 16, config, vectorized=layout != "sequential")
            fn = jax.jit(lambda k, d: jax.tree.map(
                lambda t: t[None], run(k[0], jax.tree.map(lambda v: v[0], d))))
        t = time.perf_counter()
        lowered = fn.lower(keys[0], batch)
        trace_s = time.perf_counter() - t
        t = time.perf_counter()
        compiled = lowered.compile()
        compile_s = time.perf_counter() - t
        runs = []
        for k in keys:
            t = time.perf_counter()
            jax.block_until_ready(compiled(k, batch))
            runs.append(time.perf_counter() - t)
    return {"layout": layout, "trace_lower_s": trace_s, "compile_s": compile_s, "run_s": runs}


def measure_fit(layout: str, sampler, keys, batch) -> dict:
    """Trace, compile and run the programs ``fit`` runs: the mode search (when there is one)
    and the chains, each a jitted program of its own."""
    laplace, sample = sampler.programs
    trace_s = compile_s = 0.0

    def lower_and_compile(fn, *args):
        nonlocal trace_s, compile_s
        t = time.perf_counter()
        lowered = fn.lower(*args)
        trace_s += time.perf_counter() - t
        t = time.perf_counter()
        out = lowered.compile()
        compile_s += time.perf_counter() - t
        return out

    search = None if laplace is None else lower_and_compile(laplace, keys[0], batch)
    starts = None if search is None else search(keys[0], batch)
    chains = lower_and_compile(sample, keys[0], batch, starts)
    runs = []
    for k in keys:
        t = time.perf_counter()
        starts = None if search is None else search(k, batch)
        jax.block_until_ready(chains(k, batch, starts))
        runs.append(time.perf_counter() - t)
    return {"layout": layout, "trace_lower_s": trace_s, "compile_s": compile_s, "run_s": runs}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    args = parser.parse_args(argv)
    out = [measure(layout) for layout in ("vmap x2", "vmap x1", "sequential", "fit",
                                          "fit, no mode search")]
    if args.json:
        print(json.dumps(out))
    else:
        for r in out:
            print(f"{r['layout']:>20}: trace + lower {r['trace_lower_s']:.1f} s, XLA compile "
                  f"{r['compile_s']:.1f} s, run {r['run_s'][0]:.2f} / {r['run_s'][1]:.2f} s")
    return out


if __name__ == "__main__":
    main()
