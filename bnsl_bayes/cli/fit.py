"""``bnsl-bayes fit``, ``predict`` and ``plot``: one curve."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from .common import (
    DATASET_PREFIX,
    PROG,
    UsageError,
    _add_csv_columns,
    _add_sampler_options,
    _add_space_and_cutoff,
    _breaks_or_auto,
    _check_image_name,
    _check_new_file,
    _default_predict_x,
    _drift_text,
    _emit_json,
    _held_out_table,
    _load_curve,
    _num,
    _prob,
    _records,
    _sampler,
    _save_figure,
    _say,
    _table_text,
    _use_agg,
    _warning_records,
    _x_list,
)


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output file of ``fit`` can be written, and no two are the same file."""
    outputs = {o: v for o, v in (("--out", args.out), ("--plot", args.plot), ("--csv", args.csv))
               if v is not None}
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        resolved = Path(path).resolve()
        if resolved in seen:
            raise UsageError(f"{seen[resolved]} and {option} both name {path!r}; give each "
                             f"output its own file")
        seen[resolved] = option
    if args.out is not None:
        _check_new_file(args.out, option="--out", overwrite=args.overwrite)
    if args.csv is not None:
        _check_new_file(args.csv, option="--csv", overwrite=args.overwrite)
    if args.plot is not None:
        _check_image_name(args.plot, "--plot")


def _cmd_fit(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    _check_outputs(args)
    curve = _load_curve(args)

    sampler = _sampler(args)
    options = {k: getattr(args, k) for k in ("breaks", "model", "space")
               if getattr(args, k) is not None}
    options["sampler"] = sampler
    options["selection"] = args.selection
    if sys.stderr.isatty() and not args.json:
        what = (f"{sampler.chains} SMC runs x {sampler.particles} particles"
                if sampler.method == "smc" else
                f"{sampler.chains} chains x ({sampler.warmup} warmup + {sampler.samples} draws)")
        _say(f"sampling {what} on "
             f"{int(curve.fit_mask.sum())} points (the first run of a model shape also "
             f"compiles; about a minute)...")
        options["progress"] = True
    if args.drift and args.breaks != "auto":
        # the refit's data, checked before minutes of sampling (--breaks auto: after the choice)
        from ..drift import lfo_curve
        from ..fitting import resolve_model

        spec = resolve_model(1 if args.breaks is None and args.model is None else args.breaks,
                             args.model)
        try:
            lfo_curve(curve, spec.n_law_params)
        except bb.DataError as err:
            raise bb.DataError(f"--drift: {err}") from None
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bb.SamplingWarning)
        fit = bb.fit(curve, seed=args.seed, **options)
    time_s = time.perf_counter() - t0
    records = _warning_records(caught, (bb.SamplingWarning,))

    drift = None
    if args.drift:
        if not args.json:
            _say("leave-future-out refit on the first 75% of the fit range (--drift)...")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", bb.SamplingWarning)
            try:
                drift = bb.calibrate_drift(fit)
            except bb.DataError as err:
                raise bb.DataError(f"--drift: {err}") from None
        records += _warning_records(caught, (bb.SamplingWarning,))
    prob = args.prob
    with warnings.catch_warnings(record=True) as caught:
        held = _held_out_table(fit, prob, drift)
        xs = args.predict if args.predict is not None else _default_predict_x(fit.curve)
        preds = fit.predict(xs, prob=prob, drift=drift)
    records += _warning_records(caught, (bb.SamplingWarning,))
    if args.csv is not None:
        preds.to_csv(args.csv, index=False)
        _say(f"wrote the prediction table to {args.csv}")
    if args.out is not None:
        fit.save(args.out, overwrite=args.overwrite)
        _say(f"saved the fit to {args.out}")
    if args.plot is not None:
        _use_agg()
        labels = {}
        if not args.data.startswith(DATASET_PREFIX):
            labels = {"xlabel": args.x or "x", "ylabel": args.y or "y"}
        _save_figure(fit.plot(prob=prob, drift=drift, **labels), args.plot)
        _say(f"wrote the plot to {args.plot}")

    if args.json:
        diag = fit.diagnostics()
        params = fit.parameters(prob)
        _emit_json({
            "model": fit.spec.name,
            "breaks": int(fit.breaks),
            "n_fit": int(fit.curve.fit_mask.sum()),
            "space": fit.space,
            "curve": fit.curve.name,
            "seed": int(fit.seed),
            "prob": prob,
            "diagnostics": {
                "max_r_hat": _num(diag["max_r_hat"]),
                "min_ess_bulk": _num(diag["min_ess_bulk"]),
                "divergences": int(diag["divergences"]),
            },
            "sampler": fit.data.attrs.get("sampling_method", "nuts"),
            "parameters": {
                name: {k: _num(row[k]) for k in ("median", "lo", "hi")}
                for name, row in params.iterrows()
            },
            "predictions": _records(preds),
            "held_out": [] if held is None else _records(held.drop(columns="seeds")),
            "drift": None if drift is None else {
                k: _num(v) if isinstance(v, float) else v
                for k, v in drift.to_json().items()},
            "warnings": records,
            "time_s": time_s,
        })
        return 0

    out = [fit.report(prob), ""]
    if drift is not None:
        out += [_drift_text(drift), ""]
    out += [f"predictions (median, {prob:.0%} band of the mean curve, {prob:.0%} band of a new "
           f"point from 1 seed{', with the drift' if drift is not None else ''}):",
           _table_text(preds)]
    if held is not None:
        n_in = int(held["covered"].sum())
        out += ["",
                f"held-out points ({prob:.0%} predictive band of a new point from as many "
                f"seeds as each):",
                _table_text(held),
                f"{n_in} of {len(held)} held-out points inside their {prob:.0%} predictive band"]
    out.append(f"time: {time_s:.1f} s")
    print("\n".join(out), flush=True)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    fit = bb.load(args.fit)
    table = fit.predict(args.x, seeds=args.seeds, prob=args.prob)
    seeds = 1 if args.seeds is None else args.seeds
    if args.json:
        _emit_json({"model": fit.spec.name, "curve": fit.curve.name, "prob": args.prob,
                    "seeds": seeds, "predictions": _records(table)})
    else:
        print(f"{fit!r}\npredictions (median, {args.prob:.0%} band of the mean curve, "
              f"{args.prob:.0%} band of a new point from {seeds} seed(s)):\n"
              f"{_table_text(table)}", flush=True)
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    _check_image_name(args.image, "FILE")
    fit = bb.load(args.fit)
    _use_agg()
    if args.trace:
        from ..plot import plot_trace

        fig = plot_trace(fit)
    else:
        fig = fit.plot(prob=args.prob, seeds=args.seeds, scale=args.scale, extend=args.extend)
    _save_figure(fig, args.image)
    _say(f"wrote the plot to {args.image}")
    return 0




def add_parsers(sub: Any, fmt: Any) -> None:
    """Add ``fit`` to the subcommands."""
    p = sub.add_parser(
        "fit", formatter_class=fmt, help="fit a scaling curve and report the posterior",
        description=(
            "Fit a Broken Neural Scaling Law by NUTS (tempered SMC where its chains disagree)\n"
            "and report the parameters, predictions and the held-out points. DATA is a CSV\n"
            "file (one row per point or per run), '-' for standard input, or dataset:NAME for\n"
            "a bundled curve (see 'bnsl-bayes datasets')."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} fit dataset:four_digit_addition --plot fit.png\n"
            f"  {PROG} fit dataset:revisiting/IC/bird_5/MiX/B/16 --json\n"
            f"  {PROG} fit runs.csv --x params --y loss --seeds n --fit-upto 1e9 --out fit.nc\n"
            "\nSampling is compiled: the first fit of a model shape (model, noise space,\n"
            "number of fit points, sampler settings) compiles its programs (mode search,\n"
            "chains) first. They are kept in $XDG_CACHE_HOME/bnsl-bayes/jax (default\n"
            "~/.cache) for later runs."
        ),
    )
    p.add_argument("data", metavar="DATA", help="CSV path, '-' (stdin) or dataset:NAME")
    _add_csv_columns(p)
    g = p.add_argument_group("model")
    g.add_argument("--breaks", type=_breaks_or_auto, metavar="N|auto",
                   help="number of breaks: the bundled model bnsl-N (default: 1); 'auto' fits "
                        "0 to 3 and keeps the best by PSIS-LOO (or --selection)")
    g.add_argument("--selection", choices=("loo", "evidence"), default="loo",
                   help="how --breaks auto chooses: PSIS-LOO (default) or the log evidence, "
                        "with every form fitted by tempered SMC")
    g.add_argument("--model", metavar="NAME|PATH",
                   help="a bundled model name (see 'bnsl-bayes models') or a .toml file")
    _add_space_and_cutoff(g, "log when every fitted y > 0, else linear")
    g = p.add_argument_group("output")
    g.add_argument("--predict", type=_x_list, metavar="X1,X2,...",
                   help="x at which to predict (default: the held-out x, at most 5 of them, "
                        "and 1.5, 2 and 4 times the last fit x)")
    g.add_argument("--prob", type=_prob, default=0.9, metavar="P",
                   help="probability of the central bands (default: 0.9)")
    g.add_argument("--plot", metavar="FILE.png", help="write a plot of the fit")
    g.add_argument("--drift", action="store_true",
                   help="also refit on the first 75%% of the fit range (leave future out) and "
                        "widen the bands past the data by as much as the law strayed there "
                        "(one more fit)")
    g.add_argument("--out", metavar="FIT.nc", help="save the fit (NetCDF) for predict and plot")
    g.add_argument("--csv", metavar="FILE.csv",
                   help="write the prediction table (as in the report and the JSON) as CSV")
    g.add_argument("--overwrite", action="store_true",
                   help="let --out and --csv replace existing files")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout and nothing else (the warnings, also "
                        "shown on standard error, under 'warnings')")
    _add_sampler_options(p, "sampler", "seed of the run")
    p.set_defaults(func=_cmd_fit)



def add_reading_parsers(sub: Any, fmt: Any) -> None:
    """Add ``predict`` and ``plot`` (of a saved fit) to the subcommands."""
    # predict -----------------------------------------------------------------
    p = sub.add_parser(
        "predict", help="predict from a saved fit",
        description="Median, credible band of the mean curve and predictive band of a new point "
                    "at new x, from a fit saved with 'bnsl-bayes fit ... --out FIT.nc'.",
    )
    p.add_argument("fit", metavar="FIT.nc", help="a fit saved with --out")
    p.add_argument("--x", type=_x_list, required=True, metavar="X1,X2,...",
                   help="x at which to predict")
    p.add_argument("--seeds", type=int, metavar="K",
                   help="runs a new point averages over, for the predictive band (default: 1)")
    p.add_argument("--prob", type=_prob, default=0.9, metavar="P",
                   help="probability of the central bands (default: 0.9)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_predict)

    # plot --------------------------------------------------------------------
    p = sub.add_parser(
        "plot", help="plot a saved fit",
        description="Plot a saved fit: fit points black, held-out green, posterior median red, "
                    "the bands shaded; log-log axes unless --scale linear.",
    )
    p.add_argument("fit", metavar="FIT.nc", help="a fit saved with --out")
    p.add_argument("image", metavar="FILE.png", help="image to write (png, pdf, svg, ...)")
    p.add_argument("--scale", choices=("log", "linear"), default="log",
                   help="axes: log-log (default) or linear-linear")
    p.add_argument("--prob", type=_prob, default=0.9, metavar="P",
                   help="probability of the bands (default: 0.9)")
    p.add_argument("--seeds", type=int, metavar="K",
                   help="runs a new point averages over, for the predictive band (default: the "
                        "runs behind each data point when they agree, else 1)")
    p.add_argument("--extend", type=float, default=4.0, metavar="F",
                   help="draw the curve up to F times the last fit x (default: 4)")
    p.add_argument("--trace", action="store_true",
                   help="draw the ArviZ trace plot of the parameters instead")
    p.set_defaults(func=_cmd_plot)

