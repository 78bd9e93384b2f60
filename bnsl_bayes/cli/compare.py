"""``bnsl-bayes compare``: rank forms by PSIS-LOO."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only

    pass


from .common import (
    PROG,
    _add_csv_columns,
    _add_sampler_options,
    _add_space_and_cutoff,
    _breaks_list,
    _emit_json,
    _load_curve,
    _name_list,
    _sampler,
    _say,
    _warning_records,
)


def _cmd_compare(args: argparse.Namespace) -> int:
    import bnsl_bayes as bb

    from ..loo import COLUMNS, LOOWarning

    curve = _load_curve(args)
    options = {"sampler": _sampler(args)}
    if args.space is not None:
        options["space"] = args.space
    if sys.stderr.isatty() and not args.json:
        _say("fitting each form (each new model shape compiles first; about a minute each)...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bb.SamplingWarning)
        warnings.simplefilter("always", LOOWarning)
        result = bb.compare(curve, models=args.models, breaks=args.breaks, seed=args.seed,
                            method=args.method, **options)
    records = _warning_records(caught, (bb.SamplingWarning, LOOWarning))
    if args.json:
        _emit_json({**result.to_dict(), "warnings": records})
        return 0
    shown = result.table.loc[:, [c for c in COLUMNS
                                 if c not in ("breaks", "n_points", "problem")]]
    text = shown.to_string(float_format=lambda v: f"{v:.4g}")
    left_out = "".join(
        f"{'left out (weight 0)' if not row['eligible'] else 'unreliable PSIS-LOO'}: {k}: "
        f"{row['problem']}\n" for k, row in result.table.iterrows() if row["problem"])
    best = result.best or ("none (no model passed its sampling diagnostics; run longer: "
                           "--warmup 2000 --samples 2000, or compare fewer breaks)")
    what, score = (("log evidence", "log_evidence") if args.method == "evidence"
                   else ("PSIS-LOO", "elpd_loo"))
    print(f"{what} comparison on {curve.name or 'curve'} ({int(curve.fit_mask.sum())} fit "
          f"points; eligible models first, rank 0 = the highest {score} among them; "
          f"{args.method} weights):\n{text}\n{left_out}"
          f"best: {best}\ntime: {result.time_s:.1f} s", flush=True)
    return 0


#: ``bnsl_bayes.loo.METHODS``, spelled out so that ``--help`` does not import ArviZ.
METHODS = ("stacking", "BB-pseudo-BMA", "pseudo-BMA", "evidence")


def add_parser(sub: Any) -> None:
    """The ``compare`` subcommand: rank BNSL forms of one curve by PSIS-LOO."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "compare", formatter_class=fmt, help="rank numbers of breaks or models by PSIS-LOO",
        description=(
            "Fit several BNSL forms (or the paper's baselines m1-m4) to one curve and rank\n"
            "them by PSIS-LOO (ArviZ), with stacking weights and Pareto-k warnings. A model\n"
            "whose sampling failed its diagnostics (divergences, r_hat > 1.01, bulk ESS < 400)\n"
            "cannot be best, and one whose PSIS-LOO is unreliable (Pareto k > 0.7) ranks\n"
            "below the converged models whose PSIS-LOO is reliable; the models left out are\n"
            "listed below the others with weight 0 and the reason. DATA as for\n"
            "'bnsl-bayes fit'."
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
    g.add_argument("--method", choices=METHODS, default="stacking",
                   help="model weights (default: stacking); 'evidence' fits every form by "
                        "tempered SMC and ranks and weights them by their log evidence")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout and nothing else")
    _add_sampler_options(p, "sampler (the same for every model)", "seed of every fit")
    p.set_defaults(func=_cmd_compare)


