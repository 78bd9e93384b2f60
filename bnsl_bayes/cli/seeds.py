"""``bnsl-bayes seeds``: the seeds study."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Any

from .common import (
    PROG,
    UsageError,
    _add_sampler_choice,
    _check_image_name,
    _check_new_file,
    _emit_json,
    _int_list,
    _law_text,
    _sampler,
    _save_figure,
    _say,
    _use_agg,
    _warning_records,
    _x_list,
)

#: The names of ``bnsl_bayes.seeds.EXAMPLES``, for the help text: importing the study would load
#: JAX before ``--help`` answers (tests/test_seeds.py keeps the two equal).
EXAMPLE_NAMES = ("four-digit-addition",)


def _cmd_seeds(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    from .. import seeds

    sources = [o for o, v in (("--example", args.example), ("--fit", args.fit),
                              ("--law", args.law)) if v is not None]
    if len(sources) != 1:
        raise UsageError(f"give exactly one of --example, --fit, --law (got "
                         f"{', '.join(sources) or 'none'})")
    if args.plot is not None:
        _check_image_name(args.plot, "--plot")
    if args.csv is not None:
        _check_new_file(args.csv, option="--csv")
    options = {
        "grid": args.grid, "targets": args.targets, "seed_counts": args.seed_counts,
        "cutoffs": args.x_max, "sigma": args.sigma, "repeats": args.repeats,
        "seed": args.seed, "tolerance": args.tolerance, "min_share": args.min_share,
        "batch_size": args.batch_size,
    }
    options = {k: v for k, v in options.items() if v is not None}
    if args.example is not None:
        design = seeds.example(args.example, quick=args.quick)
        design.update(options)
        design["sampler"] = _sampler(args, design.get("sampler", seeds.STUDY_SAMPLER))
    else:
        if args.quick:
            raise UsageError("--quick applies to --example only")
        missing = [o for o, k in (("--grid", "grid"), ("--targets", "targets"),
                                  ("--seed-counts", "seed_counts"), ("--x-max", "cutoffs"))
                   if k not in options]
        if missing:
            raise UsageError(f"{', '.join(missing)} required with --fit or --law")
        truth = bb.load(args.fit) if args.fit is not None else args.law
        design = {"truth": truth, **options, "sampler": _sampler(args, seeds.STUDY_SAMPLER)}
    if not args.json and sys.stderr.isatty():
        _say("simulating and fitting (one compiled sampler for all fits; compiling takes about "
             "a minute)...")
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bb.SamplingWarning)
        study = bb.seeds_study(**design)
    time_s = time.perf_counter() - t0
    records = _warning_records(caught, (bb.SamplingWarning,))
    if args.csv is not None:
        study.to_csv(args.csv)
        _say(f"wrote the table to {args.csv}")
    if args.plot is not None:
        _use_agg()
        _save_figure(study.plot(), args.plot)
        _say(f"wrote the plot to {args.plot}")
    if args.json:
        obj = study.to_json()
        obj["warnings"] = records
        obj["time_s"] = time_s
        _emit_json(obj)
    else:
        print(study.report(), flush=True)
    return 0


def add_parser(sub: Any) -> None:
    """Add ``seeds`` to the subcommands."""
    p = sub.add_parser(
        "seeds", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="how many seeds, how close to a break: simulate, fit and judge extrapolation",
        description=(
            "The seeds study: simulate a planned experiment (each point the mean of K runs at\n"
            "the grid x up to a cutoff x_max) from a true law, fit each simulated data set and\n"
            "judge the prediction at target x: error of the median, coverage and width of the\n"
            "90% band, per (seed count, cutoff). The truth is a bundled example, a saved fit\n"
            "(its posterior draws stand in for the truth) or a law given by its parameters."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} seeds --example four-digit-addition --quick --json\n"
            f"  {PROG} seeds --fit fit.nc --grid 100,200,400,800 --targets 3200 \\\n"
            "      --seed-counts 1,10,100 --x-max 400,800\n"
            f"  {PROG} seeds --law a=0.3,b=6,c0=0.2,c1=0.6,d1=300,f1=0.2 --sigma 0.05 \\\n"
            "      --grid $(seq -s, 10 10 500) --targets 2000 --seed-counts 1,100 --x-max 200,500"
        ),
    )
    g = p.add_argument_group("truth (exactly one)")
    g.add_argument("--example", metavar="NAME",
                   help=f"a bundled study: {', '.join(EXAMPLE_NAMES)}")
    g.add_argument("--fit", metavar="FIT.nc", help="a saved fit whose posterior is the truth")
    g.add_argument("--law", type=_law_text, metavar="a=..,b=..,c0=..,c1=..,d1=..,f1=..",
                   help="the true law's parameters")
    g = p.add_argument_group("design (an example's own unless given)")
    g.add_argument("--grid", type=_x_list, metavar="X1,X2,...", help="planned x of fit points")
    g.add_argument("--targets", type=_x_list, metavar="X1,X2,...", help="x to predict")
    g.add_argument("--seed-counts", type=_int_list, metavar="K1,K2,...",
                   help="runs averaged into each point, e.g. 1,10,100")
    g.add_argument("--x-max", type=_x_list, metavar="X1,X2,...", help="fit cutoffs")
    g.add_argument("--sigma", type=float, metavar="S",
                   help="per-run noise sd of log y (default: the fit's posterior; required "
                        "with --law)")
    g.add_argument("--repeats", type=int, metavar="N", help="simulated data sets per cell")
    g.add_argument("--seed", type=int, metavar="S", help="seed of the study (default: 0)")
    g.add_argument("--tolerance", type=float, metavar="T",
                   help="largest |log error| at every target to count as extrapolating "
                        "(default: 0.05)")
    g.add_argument("--min-share", type=float, metavar="P",
                   help="share of repeats that must extrapolate (default: 0.9)")
    g.add_argument("--quick", action="store_true",
                   help="the example's small version (a few minutes on 2 cores)")
    g = p.add_argument_group("sampler (the same for every fit)")
    g.add_argument("--chains", type=int, metavar="N")
    g.add_argument("--warmup", type=int, metavar="N")
    g.add_argument("--samples", type=int, metavar="N")
    _add_sampler_choice(g)
    g.add_argument("--batch-size", type=int, metavar="N",
                   help="fits per compiled call (default: 1 on a CPU, all on a GPU)")
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object (cells, required_seeds, warnings, time_s) and "
                        "nothing else")
    g.add_argument("--plot", metavar="FILE.png", help="heat maps and representative bands")
    g.add_argument("--csv", metavar="FILE.csv", help="the tidy table, one row per fit and target")
    p.set_defaults(func=_cmd_seeds)


