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
import sys
from collections.abc import Sequence

from . import compare, fit, info, many, seeds
from .common import PROG, _Parser, _say, _version

__all__ = ["build_parser", "main"]


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

    fit.add_parsers(sub, fmt)
    many.add_parser(sub)
    fit.add_reading_parsers(sub, fmt)
    info.add_parsers(sub)
    seeds.add_parser(sub)
    compare.add_parser(sub)
    return parser


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
    from ..sampling.devices import use_compile_cache

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
