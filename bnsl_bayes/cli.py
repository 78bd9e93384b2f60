"""The ``bnsl-bayes`` command: fit, predict, plot, and list the bundled datasets and models.

A thin layer over the public API (:func:`bnsl_bayes.fit`, :class:`bnsl_bayes.Fit`,
:mod:`bnsl_bayes.datasets`). Results go to standard output, as a readable report or, with
``--json``, as exactly one JSON object; warnings and status lines go to standard error. Bad input
exits with status 2 and one line ``bnsl-bayes: error: ...`` on standard error.

Examples
--------
::

    bnsl-bayes fit dataset:four_digit_addition --plot fit.png
    bnsl-bayes fit runs.csv --x params --y loss --seeds n --fit-upto 1e9 --json
    cat runs.csv | bnsl-bayes fit - --out fit.nc
    bnsl-bayes predict fit.nc --x 1e10,1e11 --seeds 5
    bnsl-bayes plot fit.nc fit.png --scale linear
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from .data import Curve
    from .drift import Drift
    from .result import Fit

__all__ = ["main"]

PROG = "bnsl-bayes"
DATASET_PREFIX = "dataset:"
#: Default prediction points past the last fit point, as factors of its x.
PREDICT_FACTORS = (1.5, 2.0, 4.0)
#: At most this many held-out x enter the default predictions (spread over the held-out range).
MAX_HELD_OUT_PREDICT = 5
#: Longer tables are shown by their first and last rows in the readable report.
MAX_TABLE_ROWS = 20
#: The column options that apply to CSV input only.
_COLUMN_OPTIONS = ("x", "y", "seeds", "std", "split")


class UsageError(ValueError):
    """Options that do not go together (reported like any bad input: exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line (exit status 2), as for any bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------------------- helpers
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bnsl-bayes")
    except PackageNotFoundError:  # pragma: no cover - source tree without install
        return "0+unknown"


def _fit_defaults() -> dict[str, Any]:
    """The keyword defaults of :func:`bnsl_bayes.fit` (the CLI's defaults are the API's)."""
    from .fitting import fit

    return {k: v.default for k, v in inspect.signature(fit).parameters.items()}


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _say(message: str, stream: TextIO | None = None) -> None:
    print(f"{PROG}: {_one_line(message)}", file=stream or sys.stderr, flush=True)


def _x_list(text: str) -> list[float]:
    """argparse type: ``"800,1e3, 2000"`` -> finite numbers > 0."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated numbers, e.g. 800,1000,2000"
        )
    out = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{p!r} is not a number; expected comma-separated numbers, e.g. 800,1000,2000"
            ) from None
        if not (math.isfinite(v) and v > 0):
            raise argparse.ArgumentTypeError(f"{p!r}: x must be a finite number > 0")
        out.append(v)
    return out


def _prob(text: str) -> float:
    """argparse type: a probability strictly between 0 and 1."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a probability strictly between 0 and 1, e.g. 0.9"
        )
    return v


def _num(value: Any) -> float | None:
    """A JSON-safe float (None for NaN and infinities)."""
    v = float(value)
    return v if math.isfinite(v) else None


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v if isinstance(v, bool) else _num(v)) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


def _emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
    sys.stdout.flush()


def _table_text(table: pd.DataFrame) -> str:
    return table.to_string(index=False, float_format=lambda v: f"{v:.6g}",
                           max_rows=MAX_TABLE_ROWS)


def _check_new_file(path: str, *, option: str, overwrite: bool = True) -> None:
    """Fail before any sampling when an output file cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{option} {path!r} is a folder; give a file name")
    if p.exists() and not overwrite:
        raise FileExistsError(
            f"{option} {path!r} exists; pass --overwrite to replace it or choose another name"
        )
    if not p.parent.is_dir():
        raise FileNotFoundError(
            f"{option} {path!r}: folder {str(p.parent)!r} does not exist; create it first"
        )


def _check_image_name(path: str, option: str) -> None:
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in kinds:
        raise UsageError(
            f"{option} {path!r}: unknown image type {suffix or '(none)'!r}; end the name with "
            f"one of {', '.join('.' + k for k in sorted(kinds))} (e.g. fit.png)"
        )
    _check_new_file(path, option=option)


def _save_figure(fig: Any, path: str) -> None:
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=150)
    finally:
        plt.close(fig)


def _use_agg() -> None:
    """The command only writes files: draw with Agg, never open a window."""
    import matplotlib

    matplotlib.use("Agg")


# ---------------------------------------------------------------------------- data
def _load_curve(args: argparse.Namespace) -> Curve:
    from . import datasets
    from .data import Curve

    source: str = args.data
    if source.startswith(DATASET_PREFIX):
        given = [f"--{o}" for o in _COLUMN_OPTIONS if getattr(args, o) is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)} name(s) CSV columns and do not apply to {source!r}; "
                f"leave them out for a bundled dataset"
            )
        name = source[len(DATASET_PREFIX):]
        loaded = datasets.load(name, fit_upto=args.fit_upto)
        if not isinstance(loaded, Curve):
            example = next(iter(loaded))
            raise UsageError(
                f"dataset {name!r} holds {len(loaded)} curves; fit one of them, e.g. "
                f"'{DATASET_PREFIX}{name}/{example}' (keys: bnsl_bayes.datasets.load({name!r}))"
            )
        return loaded
    columns = {o: getattr(args, o) for o in _COLUMN_OPTIONS}
    columns["x"] = columns["x"] or "x"
    columns["y"] = columns["y"] or "y"
    if source == "-":
        curve = Curve.from_csv(sys.stdin, name="stdin", **columns)
    else:
        curve = Curve.from_csv(source, **columns)
    if args.fit_upto is not None:
        curve = curve.fit_upto(args.fit_upto)
    return curve


def _default_predict_x(curve: Curve) -> list[float]:
    """Held-out x (at most ``MAX_HELD_OUT_PREDICT``, spread evenly) and a few points past the
    last fit point, sorted and distinct."""
    import numpy as np

    last = float(curve.x[curve.fit_mask].max())
    held = np.sort(curve.x[curve.held_out])
    if len(held) > MAX_HELD_OUT_PREDICT:
        held = held[np.unique(np.linspace(0, len(held) - 1, MAX_HELD_OUT_PREDICT).round()
                              .astype(int))]
    xs = {float(v) for v in held}
    xs.update(last * f for f in PREDICT_FACTORS)
    return sorted(xs)


def _held_out_table(fit: Fit, prob: float, drift: Drift | None = None) -> pd.DataFrame | None:
    import numpy as np

    c = fit.curve
    h = c.held_out
    if not h.any():
        return None
    band = fit.predict(c.x[h], seeds=c.seeds[h], prob=prob, drift=drift)
    y = c.y[h]
    table = band[["x", "median", "pred_lo", "pred_hi"]].copy()
    table.insert(1, "y", y)
    table["covered"] = [bool(v) for v in (band["pred_lo"].to_numpy() <= y)
                        & (y <= band["pred_hi"].to_numpy())]
    table["seeds"] = np.asarray(c.seeds[h], dtype=int)
    return table


def _drift_text(drift: Drift) -> str:
    """What the leave-future-out refit found, in words."""
    head = (f"leave-future-out: the law refitted up to x = {drift.x_cut:.4g} missed the "
            f"{drift.scored} fit point(s) past it by a slope error of {drift.delta_hat:+.3g} "
            f"per unit of log x ({drift.z:+.1f} standard errors)")
    if drift.scale == 0.0:
        return head + "; within the law's own uncertainty, so the bands are unchanged"
    return (head + f"; past the last fit point each draw gets a Cauchy slope error of scale "
            f"{drift.scale:.3g}, which widens both bands")


# ---------------------------------------------------------------------------- commands
def _cmd_fit(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    if args.out is not None:
        _check_new_file(args.out, option="--out", overwrite=args.overwrite)
    if args.plot is not None:
        _check_image_name(args.plot, "--plot")
    curve = _load_curve(args)

    options = {
        k: getattr(args, k)
        for k in ("breaks", "model", "space", "chains", "warmup", "samples", "target_accept")
        if getattr(args, k) is not None
    }
    if sys.stderr.isatty() and not args.json:
        default = _fit_defaults()
        chains, warmup, samples = (
            default[k] if getattr(args, k) is None else getattr(args, k)
            for k in ("chains", "warmup", "samples")
        )
        _say(f"sampling {chains} chains x ({warmup} warmup + {samples} draws) on "
             f"{int(curve.fit_mask.sum())} points (the first run of a model shape also "
             f"compiles; about a minute)...")
        options["progress"] = True
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bb.SamplingWarning)
        fit = bb.fit(curve, seed=args.seed, **options)
    time_s = time.perf_counter() - t0
    for w in caught:
        if issubclass(w.category, bb.SamplingWarning):
            _say(f"warning: {w.message}")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)

    drift = None
    if args.drift:
        if not args.json:
            _say("leave-future-out refit on the first 75% of the fit range (--drift)...")
        try:
            drift = bb.calibrate_drift(fit)
        except bb.DataError as err:
            raise bb.DataError(f"--drift: {err}") from None
    prob = args.prob
    held = _held_out_table(fit, prob, drift)
    xs = args.predict if args.predict is not None else _default_predict_x(fit.curve)
    preds = fit.predict(xs, prob=prob, drift=drift)
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
            "parameters": {
                name: {k: _num(row[k]) for k in ("median", "lo", "hi")}
                for name, row in params.iterrows()
            },
            "predictions": _records(preds),
            "held_out": [] if held is None else _records(held.drop(columns="seeds")),
            "drift": None if drift is None else {
                k: _num(v) if isinstance(v, float) else v
                for k, v in drift.to_json().items()},
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
        from .plot import plot_trace

        fig = plot_trace(fit)
    else:
        fig = fit.plot(prob=args.prob, seeds=args.seeds, scale=args.scale, extend=args.extend)
    _save_figure(fig, args.image)
    _say(f"wrote the plot to {args.image}")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from . import datasets

    desc = datasets.describe()
    if args.json:
        _emit_json(desc)
    else:
        width = max(map(len, desc))
        lines = [f"{name:<{width}}  {text}" for name, text in desc.items()]
        lines.append(f"\nfit one with: {PROG} fit {DATASET_PREFIX}NAME "
                     f"(one Revisiting curve: {DATASET_PREFIX}revisiting/<Domain>/<Task>/<Model>)")
        print("\n".join(lines), flush=True)
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from .spec import available_models, load_spec

    desc = {name: load_spec(name).description for name in available_models()}
    if args.json:
        _emit_json(desc)
    else:
        width = max(map(len, desc), default=0)
        lines = [f"{name:<{width}}  {text}" for name, text in desc.items()]
        lines.append(f"\nuse one with: {PROG} fit DATA --model NAME (or --model my-model.toml)")
        print("\n".join(lines), flush=True)
    return 0


# ---------------------------------------------------------------------------- seeds study
def _law_text(text: str) -> dict[str, Any]:
    """argparse type: ``"a=0.41,b=2.28,c0=0.055,c1=5.66,d1=612,f1=0.059"`` -> a law mapping."""
    law: dict[str, Any] = {}
    per: dict[str, dict[int, float]] = {"c": {}, "d": {}, "f": {}}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            v = float(value)
        except ValueError:
            v = math.nan
        if not sep or not math.isfinite(v):
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r}: expected NAME=NUMBER pairs such as "
                f"a=0.41,b=2.28,c0=0.055,c1=5.66,d1=612,f1=0.059")
        if name in ("a", "b", "c0"):
            law[name] = v
        elif name[:1] in per and name[1:].isdigit() and int(name[1:]) >= 1:
            per[name[0]][int(name[1:])] = v
        else:
            raise argparse.ArgumentTypeError(
                f"{name!r}: unknown parameter; use a, b, c0 and c1, d1, f1, c2, ... per break")
    n = max((max(v) for v in per.values() if v), default=0)
    for k, vals in per.items():
        if sorted(vals) != list(range(1, n + 1)):
            raise argparse.ArgumentTypeError(
                f"give {k}1 to {k}{n} (one per break), got {sorted(vals) or 'none'}")
        law[k] = [vals[i] for i in range(1, n + 1)]
    return law


def _int_list(text: str) -> list[int]:
    """argparse type: ``"1,10,100"`` -> whole numbers (range checks are the API's)."""
    try:
        return [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated whole numbers, e.g. 1,10,100") from None


def _cmd_seeds(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    from . import seeds

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
        "chains": args.chains, "warmup": args.warmup, "samples": args.samples,
        "batch_size": args.batch_size,
    }
    options = {k: v for k, v in options.items() if v is not None}
    if args.example is not None:
        design = seeds.example(args.example, quick=args.quick)
        design.update(options)
    else:
        if args.quick:
            raise UsageError("--quick applies to --example only")
        missing = [o for o, k in (("--grid", "grid"), ("--targets", "targets"),
                                  ("--seed-counts", "seed_counts"), ("--x-max", "cutoffs"))
                   if k not in options]
        if missing:
            raise UsageError(f"{', '.join(missing)} required with --fit or --law")
        truth = bb.load(args.fit) if args.fit is not None else args.law
        design = {"truth": truth, **options}
    if not args.json and sys.stderr.isatty():
        _say("simulating and fitting (one compiled sampler for all fits; compiling takes about "
             "a minute)...")
    t0 = time.perf_counter()
    study = bb.seeds_study(**design)
    time_s = time.perf_counter() - t0
    if args.csv is not None:
        study.to_csv(args.csv)
        _say(f"wrote the table to {args.csv}")
    if args.plot is not None:
        _use_agg()
        _save_figure(study.plot(), args.plot)
        _say(f"wrote the plot to {args.plot}")
    if args.json:
        obj = study.to_json()
        obj["time_s"] = time_s
        _emit_json(obj)
    else:
        print(study.report(), flush=True)
    return 0


def _add_seeds_parser(sub: Any) -> None:
    from .seeds import EXAMPLES

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
                   help=f"a bundled study: {', '.join(EXAMPLES)}")
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
    g.add_argument("--batch-size", type=int, metavar="N",
                   help="fits per compiled call (default: 1 on a CPU, all on a GPU)")
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object (cells, required_seeds, time_s) and nothing else")
    g.add_argument("--plot", metavar="FILE.png", help="heat maps and representative bands")
    g.add_argument("--csv", metavar="FILE.csv", help="the tidy table, one row per fit and target")
    p.set_defaults(func=_cmd_seeds)


def _add_csv_columns(p: argparse.ArgumentParser, *, group: bool = False) -> None:
    """The 'CSV columns' options shared by fit, fit-many and compare (and --group for
    fit-many)."""
    g = p.add_argument_group("CSV columns (not for dataset:NAME)")
    if group:
        g.add_argument("--group", metavar="COL[,COL...]", help="columns that identify a curve")
    g.add_argument("--x", metavar="COL", help="column of the scaled quantity (default: x)")
    g.add_argument("--y", metavar="COL", help="column of the metric (default: y)")
    g.add_argument("--seeds", metavar="COL",
                   help="column with the number of runs behind each row (default: 1 each)")
    g.add_argument("--std", metavar="COL", help="column with the per-run standard deviation")
    g.add_argument("--split", metavar="COL",
                   help="column saying which rows are fitted: fit/held_out, train/test or 1/0")


def _add_space_and_cutoff(g: Any, space_default: str) -> None:
    """--space and --fit-upto, shared by fit, fit-many and compare."""
    g.add_argument("--space", choices=("log", "linear"),
                   help=f"noise space (default: {space_default})")
    g.add_argument("--fit-upto", type=float, metavar="X",
                   help="fit only points with x <= X; the others are held out")


def _add_sampler_options(p: argparse.ArgumentParser, title: str, seed_help: str) -> Any:
    """The sampler options shared by fit, fit-many and compare; returns the group."""
    g = p.add_argument_group(title)
    d = _fit_defaults()
    g.add_argument("--seed", type=int, default=d["seed"],
                   help=f"{seed_help} (default: {d['seed']})")
    g.add_argument("--chains", type=int, metavar="N", help=f"NUTS chains (default: {d['chains']})")
    g.add_argument("--warmup", type=int, metavar="N",
                   help=f"warmup iterations per chain (default: {d['warmup']})")
    g.add_argument("--samples", type=int, metavar="N",
                   help=f"draws per chain (default: {d['samples']})")
    g.add_argument("--target-accept", type=float, metavar="P",
                   help=f"target acceptance of the step size adaptation (default: "
                        f"{d['target_accept']})")
    return g


# ---------------------------------------------------------------------------- fit-many
def _slug(name: str) -> str:
    """A file name from a curve name (``IC/bird_5/MiX/B/16`` -> ``IC_bird_5_MiX_B_16``)."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "curve"


def _load_curves(args: argparse.Namespace) -> dict[str, Curve]:
    """The curves of a fit-many call: a bundled collection, or a long CSV split by --group."""
    import pandas as pd

    from . import datasets
    from .data import Curve, DataError, read_table

    source: str = args.data
    if source.startswith(DATASET_PREFIX):
        given = [f"--{o}" for o in (*_COLUMN_OPTIONS, "group") if getattr(args, o) is not None]
        if given:
            raise UsageError(f"{', '.join(given)} name(s) CSV columns and do not apply to "
                             f"{source!r}; leave them out for a bundled dataset")
        name, _, prefix = source[len(DATASET_PREFIX):].partition("/")
        loaded = datasets.load(name, fit_upto=args.fit_upto)
        if isinstance(loaded, Curve):
            curves = {loaded.name or name: loaded}
        else:
            curves = {k: v for k, v in loaded.items()
                      if not prefix or k == prefix or k.startswith(prefix.rstrip("/") + "/")}
        if not curves:
            raise UsageError(f"no curve of {name!r} starts with {prefix!r}")
        return curves
    if args.group is None:
        raise UsageError("--group COL[,COL...] is required with a CSV: it names the columns "
                         "that tell the curves apart (e.g. --group task,model)")
    groups = [g.strip() for g in args.group.split(",") if g.strip()]
    columns = {o: getattr(args, o) for o in _COLUMN_OPTIONS}
    columns["x"] = columns["x"] or "x"
    columns["y"] = columns["y"] or "y"
    table = read_table(sys.stdin if source == "-" else source)
    missing = [g for g in groups if g not in table.columns]
    if missing:
        cols = ", ".join(map(str, table.columns))
        raise DataError(f"--group column(s) {missing} not in the table; its columns: {cols}")
    curves: dict[str, Curve] = {}
    for key, part in table.groupby(groups, sort=False, dropna=False):
        label = "/".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        try:
            curve = Curve.from_dataframe(pd.DataFrame(part), name=label, **columns)
        except DataError as err:
            raise DataError(f"curve {label!r}: {err}") from None
        if args.fit_upto is not None:
            curve = curve.fit_upto(args.fit_upto)
        curves[label] = curve
    return curves


def _summary_row(name: str, fit: Fit, prob: float,
                 drift: Drift | None = None) -> dict[str, Any]:
    import numpy as np

    diag = fit.diagnostics()
    med = fit.parameters(prob)["median"]
    row: dict[str, Any] = {
        "curve": name, "n_fit": int(fit.curve.fit_mask.sum()), "space": fit.space,
        "max_r_hat": _num(diag["max_r_hat"]), "min_ess_bulk": _num(diag["min_ess_bulk"]),
        "divergences": int(diag["divergences"]),
        "resid_lag1": _num(fit.residual_autocorrelation()["lag1"]),
        **{k: _num(med[k]) for k in fit.form.summary_params},
        "n_held_out": 0, "held_out_covered": None, "held_out_rmsle": None,
    }
    if drift is not None:
        row["drift_z"] = _num(drift.z)
        row["drift_scale"] = _num(drift.scale)
    held = _held_out_table(fit, prob, drift)
    if held is not None:
        y, m = held["y"].to_numpy(), held["median"].to_numpy()
        row["n_held_out"] = len(held)
        row["held_out_covered"] = _num(held["covered"].mean())
        if fit.space == "log":
            row["held_out_rmsle"] = _num(np.sqrt(np.mean((np.log(m) - np.log(y)) ** 2)))
    return row


def _cmd_fit_many(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    import bnsl_bayes as bb

    curves = _load_curves(args)
    out_dir = None
    files: dict[str, Path] = {}
    if args.out is not None:
        out_dir = Path(args.out)
        if out_dir.exists() and not out_dir.is_dir():
            raise UsageError(f"--out {args.out}: exists and is not a folder; give a folder")
        for name in curves:
            path = out_dir / f"{_slug(name)}.nc"
            k = 2
            while path in files.values():
                path = out_dir / f"{_slug(name)}-{k}.nc"
                k += 1
            if path.exists() and not args.overwrite:
                raise UsageError(f"--out: {path} exists; pass --overwrite to replace it, or "
                                 f"choose another folder")
            files[name] = path
    options = {
        k: getattr(args, k)
        for k in ("breaks", "model", "space", "chains", "warmup", "samples", "target_accept",
                  "batch_size")
        if getattr(args, k) is not None
    }
    if args.ray is not None:
        options["ray_address"] = args.ray
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bb.SamplingWarning)
        fits = bb.fit_many(curves, seed=args.seed,
                           progress=sys.stderr.isatty() and not args.json, **options)
    time_s = time.perf_counter() - t0
    n_misfit = sum(issubclass(w.category, bb.MisfitWarning) for w in caught)
    n_warn = sum(issubclass(w.category, bb.SamplingWarning) for w in caught) - n_misfit
    if n_warn and not args.json:
        _say(f"warning: {n_warn} sampling warning(s); see max_r_hat, min_ess_bulk and "
             f"divergences below (refit those curves with more --warmup/--samples)")
    if n_misfit and not args.json:
        _say(f"warning: {n_misfit} curve(s) with residuals correlated along x (resid_lag1 "
             f"below): the form misses structure there and the bands are too narrow; fit "
             f"those curves with more breaks (bnsl-bayes compare, or fit --breaks auto)")
    drifts = [None] * len(fits)
    if args.drift:
        if not args.json:
            _say("leave-future-out refits on the first 75% of each fit range (--drift)...")
        drifts = bb.calibrate_drifts(fits, batch_size=args.batch_size)
    rows = [_summary_row(name, f, args.prob, d)
            for name, f, d in zip(curves, fits, drifts, strict=True)]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, f in zip(curves, fits, strict=True):
            f.save(files[name], overwrite=args.overwrite)
            rows[list(curves).index(name)]["file"] = str(files[name])
        _say(f"saved {len(fits)} fits to {out_dir}")
    if args.json:
        _emit_json({"model": fits[0].spec.name, "n_curves": len(fits), "prob": args.prob,
                    "seed": args.seed, "curves": rows, "time_s": time_s})
        return 0
    table = pd.DataFrame(rows).drop(columns=["file"], errors="ignore")
    print(_table_text(table), flush=True)
    print(f"{len(fits)} curves in {time_s:.1f} s", flush=True)
    return 0


def _add_fit_many_parser(sub: Any) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "fit-many", formatter_class=fmt, help="fit every curve of a long table in one batch",
        description=(
            "Fit one BNSL form to many curves with one compiled sampler (curves padded to a\n"
            "common length, the chains of all curves vectorized). DATA is a long CSV (one row\n"
            "per point or run, --group naming the columns that tell curves apart), '-' for\n"
            "standard input, or dataset:NAME[/PREFIX] for a bundled collection. Curve i (in\n"
            "table order) is fitted with seed S + i."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} fit-many dataset:revisiting/LM --json\n"
            f"  {PROG} fit-many runs.csv --group task,model --x params --y loss --out fits/\n"
            f"  {PROG} fit-many runs.csv --group task --ray auto   # spread over a Ray cluster"
        ),
    )
    p.add_argument("data", metavar="DATA", help="CSV path, '-', or dataset:NAME[/PREFIX]")
    _add_csv_columns(p, group=True)
    g = p.add_argument_group("model")
    g.add_argument("--breaks", type=int, metavar="N", help="number of breaks (default: 1)")
    g.add_argument("--model", metavar="NAME|PATH", help="a bundled model name or a .toml file")
    _add_space_and_cutoff(g, "per curve, log when every fitted y > 0")
    g = p.add_argument_group("output")
    g.add_argument("--prob", type=_prob, default=0.9, metavar="P",
                   help="probability of the bands behind held_out_covered (default: 0.9)")
    g.add_argument("--drift", action="store_true",
                   help="also refit each curve on the first 75%% of its fit range and score the "
                        "held-out points with bands widened by as much as the law strayed "
                        "there (drift_z, drift_scale; one more fit per curve, not on Ray)")
    g.add_argument("--out", metavar="DIR", help="save each fit to DIR/<curve>.nc")
    g.add_argument("--overwrite", action="store_true", help="let --out replace existing files")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout and nothing else")
    g = _add_sampler_options(p, "sampler (the same for every curve)",
                             "seed of the first curve; curve i gets seed + i")
    g.add_argument("--batch-size", type=int, metavar="N",
                   help="curves per compiled call (default: 1 on a CPU, all on a GPU)")
    g.add_argument("--ray", metavar="ADDRESS",
                   help="spread batches over Ray: 'local' or a cluster address (needs "
                        "bnsl-bayes[ray])")
    p.set_defaults(func=_cmd_fit_many)


# ---------------------------------------------------------------------------- compare
def _breaks_or_auto(text: str) -> int | str:
    """argparse type of ``fit --breaks``: a whole number >= 0, or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a whole number of breaks (e.g. 1) or 'auto'") from None


def _breaks_list(text: str) -> list[int]:
    """argparse type: ``"0,1,2"`` -> numbers of breaks (range checks are the API's)."""
    try:
        return [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated numbers of breaks, e.g. 0,1,2,3") from None


def _name_list(text: str) -> list[str]:
    """argparse type: ``"bnsl-1,my.toml"`` -> model names or paths."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated model names or .toml paths, e.g. bnsl-1,bnsl-2")
    return parts


def _cmd_compare(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    from .loo import COLUMNS, LOOWarning

    curve = _load_curve(args)
    options = {k: getattr(args, k)
               for k in ("space", "chains", "warmup", "samples", "target_accept")
               if getattr(args, k) is not None}
    if sys.stderr.isatty() and not args.json:
        _say("fitting each form (each new model shape compiles first; about a minute each)...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bb.SamplingWarning)
        warnings.simplefilter("always", LOOWarning)
        result = bb.compare(curve, models=args.models, breaks=args.breaks, seed=args.seed,
                            method=args.method, **options)
    for w in caught:
        if issubclass(w.category, bb.SamplingWarning | LOOWarning):
            _say(f"warning: {w.message}")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if args.json:
        _emit_json(result.to_dict())
        return 0
    shown = result.table.loc[:, [c for c in COLUMNS if c not in ("breaks", "n_points")]]
    text = shown.to_string(float_format=lambda v: f"{v:.4g}")
    print(f"PSIS-LOO comparison on {curve.name or 'curve'} ({int(curve.fit_mask.sum())} fit "
          f"points; rank 0 = highest elpd_loo; {args.method} weights):\n{text}\n"
          f"best: {result.best}\ntime: {result.time_s:.1f} s", flush=True)
    return 0


def _add_compare_parser(sub: Any) -> None:
    """The ``compare`` subcommand: rank BNSL forms of one curve by PSIS-LOO."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "compare", formatter_class=fmt, help="rank numbers of breaks or models by PSIS-LOO",
        description=(
            "Fit several BNSL forms (or the paper's baselines m1-m4) to one curve and rank\n"
            "them by PSIS-LOO (ArviZ), with stacking weights and Pareto-k warnings. DATA as\n"
            "for 'bnsl-bayes fit'."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} compare dataset:four_digit_addition\n"
            f"  {PROG} compare runs.csv --breaks 0,1,2 --json\n"
            f"  {PROG} compare runs.csv --models bnsl-1,my-form.toml\n"
            f"  {PROG} compare runs.csv --models bnsl-1,m1,m2,m3,m4"
        ),
    )
    p.add_argument("data", metavar="DATA", help="CSV path, '-' (stdin) or dataset:NAME")
    _add_csv_columns(p)
    g = p.add_argument_group("models")
    m = g.add_mutually_exclusive_group()
    m.add_argument("--breaks", type=_breaks_list, metavar="0,1,2,3",
                   help="numbers of breaks to compare (default: 0,1,2,3)")
    m.add_argument("--models", type=_name_list, metavar="A,B",
                   help="bundled model names or .toml files to compare")
    _add_space_and_cutoff(g, "log when every fitted y > 0, else linear")
    g.add_argument("--method", choices=("stacking", "BB-pseudo-BMA", "pseudo-BMA"),
                   default="stacking", help="model weights (default: stacking)")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout and nothing else")
    _add_sampler_options(p, "sampler (the same for every model)", "seed of every fit")
    p.set_defaults(func=_cmd_compare)


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bnsl-bayes`` and its subcommands.

    Returns
    -------
    argparse.ArgumentParser
    """
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG, formatter_class=fmt,
        description="Bayesian fitting and extrapolation of Broken Neural Scaling Laws.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # fit ---------------------------------------------------------------------
    p = sub.add_parser(
        "fit", formatter_class=fmt, help="fit a scaling curve and report the posterior",
        description=(
            "Fit a Broken Neural Scaling Law by NUTS and report the parameters, predictions and\n"
            "the held-out points. DATA is a CSV file (one row per point or per run), '-' for\n"
            "standard input, or dataset:NAME for a bundled curve (see 'bnsl-bayes datasets')."
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
                        "0 to 3 and keeps the best by PSIS-LOO")
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
    g.add_argument("--overwrite", action="store_true", help="let --out replace an existing file")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout and nothing else")
    _add_sampler_options(p, "sampler", "seed of the run")
    p.set_defaults(func=_cmd_fit)
    _add_fit_many_parser(sub)

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

    # datasets, models --------------------------------------------------------
    p = sub.add_parser("datasets", help="list the bundled datasets",
                       description="The bundled datasets, for 'bnsl-bayes fit dataset:NAME'.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_datasets)
    p = sub.add_parser("models", help="list the bundled model specifications",
                       description="The bundled models, for 'bnsl-bayes fit DATA --model NAME'.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_models)
    _add_seeds_parser(sub)
    _add_compare_parser(sub)
    return parser


# ---------------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bnsl-bayes`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 on bad input or usage (one line on standard error), 130
        when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    # compiled samplers kept between commands (speed only; skipped if the folder is unwritable)
    from .sampling.devices import use_compile_cache

    use_compile_cache(quiet=True)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        # DataError, SpecError, bad settings, FileExistsError, FileNotFoundError, ...
        _say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
