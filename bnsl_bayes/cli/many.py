"""``bnsl-bayes fit-many``: many curves from one table."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..drift import Drift
    from ..result import Fit

from .common import (
    PROG,
    UsageError,
    _add_csv_columns,
    _add_sampler_options,
    _add_space_and_cutoff,
    _emit_json,
    _held_out_table,
    _load_curves,
    _num,
    _one_line,
    _prob,
    _sampler,
    _say,
    _slug,
    _table_text,
    _warning_records,
)


def _summary_row(name: str, fit: Fit, prob: float,
                 drift: Drift | None = None) -> dict[str, Any]:
    import numpy as np

    from ..checks import passes

    diag = fit.diagnostics()
    med = fit.parameters(prob)["median"]
    row: dict[str, Any] = {
        "curve": name, "n_fit": int(fit.curve.fit_mask.sum()), "space": fit.space,
        "converged": passes(diag),
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


def _failed_text(failed: list[dict[str, Any]]) -> str:
    """The curves whose fits did not pass their diagnostics, one line each."""
    from ..checks import failed_fits_message

    return failed_fits_message([
        (row["curve"], {k: float("nan") if row[k] is None else row[k]
                        for k in ("max_r_hat", "min_ess_bulk", "divergences")})
        for row in failed])


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
    options = {k: getattr(args, k) for k in ("breaks", "model", "space", "batch_size")
               if getattr(args, k) is not None}
    options["sampler"] = _sampler(args)
    if args.ray is not None:
        options["ray_address"] = args.ray
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bb.SamplingWarning)
        fits = bb.fit_many(curves, seed=args.seed, check=False,
                           progress=sys.stderr.isatty() and not args.json, **options)
    time_s = time.perf_counter() - t0
    records = _warning_records(caught, (bb.SamplingWarning,))
    # Each curve is checked on its own, so that its warnings carry its name: one line per
    # failing curve after the table (its warnings in the JSON) instead of a count of messages.
    per_curve: list[list[dict[str, str]]] = []
    for f in fits:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", bb.SamplingWarning)
            f.check()
        per_curve.append([{"category": w.category.__name__, "message": _one_line(w.message)}
                          for w in caught])
    n_misfit = sum(any(w["category"] == "MisfitWarning" for w in ws) for ws in per_curve)
    drifts = [None] * len(fits)
    if args.drift:
        if not args.json:
            _say("leave-future-out refits on the first 75% of each fit range (--drift)...")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", bb.SamplingWarning)
            drifts = bb.calibrate_drifts(fits, batch_size=args.batch_size)
        records += _warning_records(caught, (bb.SamplingWarning,))
    rows = [_summary_row(name, f, args.prob, d)
            for name, f, d in zip(curves, fits, drifts, strict=True)]
    failed = [row for row in rows if not row["converged"]]
    if failed:
        _say(f"warning: {len(failed)} of {len(rows)} curve(s) did not pass their diagnostics "
             f"({'converged: false' if args.json else 'listed after the table'}); refit "
             f"those curves with more --warmup/--samples")
    if n_misfit:
        _say(f"warning: {n_misfit} curve(s) with residuals correlated along x (resid_lag1): "
             f"the form misses structure there and the bands are too narrow; fit those curves "
             f"with more breaks (bnsl-bayes compare, or fit --breaks auto)")
    for row, ws in zip(rows, per_curve, strict=True):
        row["warnings"] = ws
        records += [{"curve": row["curve"], **w} for w in ws]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, f in zip(curves, fits, strict=True):
            f.save(files[name], overwrite=args.overwrite)
            rows[list(curves).index(name)]["file"] = str(files[name])
        _say(f"saved {len(fits)} fits to {out_dir}")
    if args.json:
        _emit_json({"model": fits[0].spec.name, "n_curves": len(fits), "prob": args.prob,
                    "seed": args.seed, "curves": rows, "warnings": records, "time_s": time_s})
        return 0
    table = pd.DataFrame(rows).drop(columns=["file", "warnings"], errors="ignore")
    out = [_table_text(table)]
    if failed:
        out += ["", _failed_text(failed)]
    out.append(f"{len(fits)} curves in {time_s:.1f} s")
    print("\n".join(out), flush=True)
    return 0


def add_parser(sub: Any) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "fit-many", formatter_class=fmt, help="fit every curve of a long table in one batch",
        usage=(f"{PROG} fit-many (CSV | -) --group COL[,COL...] [options]\n"
               f"       {PROG} fit-many dataset:NAME[/PREFIX] [options]"),
        description=(
            "Fit one BNSL form to many curves with one compiled sampler (curves padded to a\n"
            "common length). On a GPU the curves of a batch run together as vectorized\n"
            "lanes; on a CPU they run one after another (whatever --batch-size), each\n"
            "curve's chains spread over the cores. DATA is a long CSV (one row per point or\n"
            "run; --group, required then, names the columns that tell curves apart), '-' for\n"
            "standard input, or dataset:NAME[/PREFIX] for a bundled collection. Curve i (in\n"
            "table order) is fitted with seed S + i. Curves whose fits do not pass their\n"
            "diagnostics are named after the table (converged: false in the JSON)."
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


