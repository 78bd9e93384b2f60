"""What the subcommands share: argument types, column options, data loading, output."""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..data import Curve
    from ..drift import Drift
    from ..result import Fit

__all__ = ["PROG", "UsageError"]

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
#: The seed and sampler defaults of :func:`bnsl_bayes.fit` (``SamplerConfig()``), for the help
#: texts: reading them from the API would import JAX before ``--help`` answers
#: (tests/test_cli.py keeps them equal).
FIT_DEFAULTS: dict[str, Any] = {
    "seed": 0, "chains": 4, "warmup": 1000, "samples": 1000, "target_accept": 0.95}


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


#: The sampler options of the sampling subcommands: the attribute argparse stores each in, and
#: the SamplerConfig field it sets (``--sampler``, not ``--method``: compare's ``--method`` is
#: the weighting of its models).
SAMPLER_OPTIONS = {"chains": "chains", "warmup": "warmup", "samples": "samples",
                   "target_accept": "target_accept", "sampler_method": "method",
                   "particles": "particles"}


def _sampler(args: argparse.Namespace, default: Any = None) -> Any:
    """The :class:`~bnsl_bayes.SamplerConfig` of the command: ``default`` (fit's when None)
    with the sampler options given on the command line."""
    from dataclasses import replace

    from ..sampling.nuts import SamplerConfig

    given = {field: getattr(args, dest) for dest, field in SAMPLER_OPTIONS.items()
             if getattr(args, dest, None) is not None}
    return replace(SamplerConfig() if default is None else default, **given)


def _add_sampler_choice(g: Any) -> None:
    """--sampler and --particles, shared by every sampling subcommand."""
    g.add_argument("--sampler", dest="sampler_method", choices=("auto", "nuts", "smc"),
                   help="NUTS, tempered SMC, or auto = NUTS and then SMC where NUTS's "
                        "diagnostics fail (default: auto)")
    g.add_argument("--particles", type=int, metavar="N",
                   help="particles of each SMC run; with --sampler auto, runs of a quarter "
                        "of N, up to 16 pooled per chain (default: 1000)")


def _warning_records(caught: Sequence[warnings.WarningMessage],
                     own: tuple[type[Warning], ...]) -> list[dict[str, str]]:
    """Show caught warnings on standard error and return them for the JSON output.

    The package's own warnings (``own``) are one line each, ``bnsl-bayes: warning: ...``; any
    other is shown as Python shows it. Each record is ``{"category": class name, "message":
    text}``.
    """
    records = []
    for w in caught:
        if issubclass(w.category, own):
            _say(f"warning: {w.message}")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        records.append({"category": w.category.__name__, "message": _one_line(w.message)})
    return records


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
    from .. import datasets
    from ..data import Curve

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




def _law_text(text: str) -> dict[str, Any]:
    """argparse type: ``"a=0.41,b=2.28,c0=0.055,c1=5.66,d1=612,f1=0.059"`` -> a law mapping."""
    example = "a=0.41,b=2.28,c0=0.055,c1=5.66,d1=612,f1=0.059"
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
                f"{part.strip()!r}: expected NAME=NUMBER pairs such as {example}")
        if name in ("a", "b", "c0"):
            law[name] = v
        elif name[:1] in per and name[1:].isdigit() and int(name[1:]) >= 1:
            per[name[0]][int(name[1:])] = v
        else:
            raise argparse.ArgumentTypeError(
                f"{name!r}: unknown parameter; use a, b, c0 and c1, d1, f1, c2, ... per break")
    n = max((max(v) for v in per.values() if v), default=0)
    missing = [k for k in ("a", "b", "c0") if k not in law]
    missing += [f"{k}{i}" for i in range(1, n + 1) for k in per if i not in per[k]]
    if missing:
        raise argparse.ArgumentTypeError(
            f"missing {', '.join(missing)}: give a, b, c0 and c1, d1, f1 per break (c2, d2, "
            f"f2 for a second one), e.g. {example}")
    for k, vals in per.items():
        law[k] = [vals[i] for i in range(1, n + 1)]
    return law


def _int_list(text: str) -> list[int]:
    """argparse type: ``"1,10,100"`` -> whole numbers (range checks are the API's)."""
    try:
        return [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated whole numbers, e.g. 1,10,100") from None




def _add_csv_columns(p: argparse.ArgumentParser, *, group: bool = False) -> None:
    """The 'CSV columns' options shared by fit, fit-many and compare (and --group for
    fit-many)."""
    g = p.add_argument_group("CSV columns (not for dataset:NAME)")
    if group:
        g.add_argument("--group", metavar="COL[,COL...]",
                       help="required with a CSV: the columns that tell the curves apart "
                            "(e.g. task,model)")
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
    d = FIT_DEFAULTS
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
    _add_sampler_choice(g)
    return g


# ---------------------------------------------------------------------------- fit-many
def _slug(name: str) -> str:
    """A file name from a curve name (``IC/bird_5/MiX/B/16`` -> ``IC_bird_5_MiX_B_16``)."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "curve"


def _load_curves(args: argparse.Namespace) -> dict[str, Curve]:
    """The curves of a fit-many call: a bundled collection, or a long CSV split by --group."""
    from .. import datasets
    from ..data import Curve
    from ..tables import read_table

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
    curves = Curve.group(table, groups, **columns)
    if args.fit_upto is not None:
        curves = {k: c.fit_upto(args.fit_upto) for k, c in curves.items()}
    return curves




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


