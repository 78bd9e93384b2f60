"""What one tempered-SMC program costs to compile and to run, by padded length: the number
behind ``smc.COMPILE_COST``, which decides when ``fit``'s SMC fallback pads curves of
neighbouring lengths to one program (``smc.padded_lengths``).

The shortest Revisiting curve (IC cal_25 BiT/101/3, 10 fit points, 1 break) is padded to each
length; for each, the program of ``fit``'s first SMC rung (4 runs, ``--particles`` particles)
is traced, compiled and run twice (two seeds). Padded points are masked out of the likelihood
but evaluated at every leapfrog step, so the run time grows with the padded length while the
curve, hence the tempering schedule, stays the same.

``--breakdown NAME,NAME``: where a refit's run time goes, on Revisiting curves at their own
padded length: the program as shipped, without the final rounds at t = 1
(``FINAL_MOVES = 0``), and with 8 starts of the mode search instead of 32; the final rounds
cost the first difference, the search about 32/24 of the second.

Usage: ``python -m benchmarks smc_cost [--particles 250] [--lengths 16,48,384]
[--breakdown NAME,NAME] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import bnsl_bayes as bb
from bnsl_bayes import fitting
from bnsl_bayes.sampling import smc
from bnsl_bayes.sampling.nuts import SamplerConfig, padded_length

CURVE = "IC/cal_25/BiT/101/3"


def _timed_run(spec, space, mdata, length: int, config: SamplerConfig
               ) -> tuple[float, float, list]:
    """Seconds to trace and compile the SMC program of ``length`` points, its mean run time
    over two seeds, and the stages of the last run; in float64, as ``fit`` runs it."""
    with jax.enable_x64(True):
        program = smc._compiled(spec, space, length, config, 1)
        data = jax.tree.map(lambda v: jnp.stack([jnp.asarray(v)]), mdata.padded(length))
        t0 = time.perf_counter()
        compiled = program.lower(jnp.stack([jax.random.PRNGKey(0)]), data).compile()
        compile_s = time.perf_counter() - t0
        runs = []
        for seed in (0, 1):
            start = time.perf_counter()
            out = jax.block_until_ready(compiled(jnp.stack([jax.random.PRNGKey(seed)]), data))
            runs.append(time.perf_counter() - start)
    return compile_s, float(np.mean(runs)), np.asarray(out[2]["stages"]).ravel().tolist()


def measure(particles: int, lengths: list[int]) -> dict:
    curve = bb.datasets.load("revisiting")[CURVE]
    spec = fitting.resolve_model(1, None)
    space, _, mdata = fitting.prepare(curve, spec, None)
    default = SamplerConfig()
    config = SamplerConfig(chains=default.chains, particles=particles,
                           smc_moves=default.smc_moves, init_starts=default.init_starts,
                           init_radius=default.init_radius, method="smc")
    rows = []
    for length in lengths:
        compile_s, run_s, stages = _timed_run(spec, space, mdata, length, config)
        rows.append({"length": length, "compile_s": compile_s, "run_s": run_s,
                     "stages": stages})
    lengths_a = np.array([r["length"] for r in rows], dtype=float)
    run_a = np.array([r["run_s"] for r in rows])
    slope, intercept = np.polyfit(lengths_a, run_a, 1) if len(rows) > 1 else (np.nan, np.nan)
    compile_s = float(np.mean([r["compile_s"] for r in rows]))
    return {"curve": CURVE, "fit_points": mdata.n_points, "particles": particles, "rows": rows,
            "run_s_per_point": float(slope), "run_s_fixed": float(intercept),
            "compile_s": compile_s,
            "compile_cost_run_particle_points": compile_s / float(slope) * particles
            * config.chains,
            "run_overhead_points": float(intercept / slope)}


def breakdown(names: list[str], particles: int) -> list[dict]:
    rev = bb.datasets.load("revisiting")
    spec = fitting.resolve_model(1, None)
    default = SamplerConfig()
    rows = []
    for name in names:
        space, _, mdata = fitting.prepare(rev[name], spec, None)
        length = padded_length(mdata.n_points)
        row = {"curve": name, "fit_points": mdata.n_points, "length": length}
        for variant, final, starts in (("shipped", smc.FINAL_MOVES, default.init_starts),
                                       ("no_final_rounds", 0, default.init_starts),
                                       ("search_8_starts", smc.FINAL_MOVES, 8)):
            config = SamplerConfig(chains=default.chains, particles=particles,
                                   smc_moves=default.smc_moves, init_starts=starts,
                                   init_radius=default.init_radius, method="smc")
            kept = smc.FINAL_MOVES
            smc.FINAL_MOVES = final
            smc._compiled.cache_clear()  # the constant is read while tracing
            try:
                _, row[f"{variant}_s"], row[f"{variant}_stages"] = _timed_run(
                    spec, space, mdata, length, config)
            finally:
                smc.FINAL_MOVES = kept
                smc._compiled.cache_clear()
        row["final_rounds_s"] = row["shipped_s"] - row["no_final_rounds_s"]
        row["search_s"] = (row["shipped_s"] - row["search_8_starts_s"]) * default.init_starts / (
            default.init_starts - 8)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=250)
    parser.add_argument("--lengths", default="16,48,384")
    parser.add_argument("--breakdown", help="comma-separated Revisiting curves (see above)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.breakdown:
        rows = breakdown(args.breakdown.split(","), args.particles)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for r in rows:
            print(f"{r['curve']} ({r['fit_points']} points, padded {r['length']}): "
                  f"{r['shipped_s']:.2f} s, of which final rounds {r['final_rounds_s']:.2f} s "
                  f"and mode searches about {r['search_s']:.2f} s (stages "
                  f"{r['shipped_stages']})")
        return 0
    res = measure(args.particles, [int(v) for v in args.lengths.split(",")])
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    for r in res["rows"]:
        print(f"length {r['length']:4d}: compile {r['compile_s']:.1f} s, run {r['run_s']:.1f} s "
              f"(stages {r['stages']})")
    print(f"run time {res['run_s_per_point']:.4f} s per padded point + {res['run_s_fixed']:.2f} s"
          f"; a compile ({res['compile_s']:.1f} s) = "
          f"{res['compile_cost_run_particle_points']:,.0f} run-particle-points; fixed part = "
          f"{res['run_overhead_points']:.1f} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
