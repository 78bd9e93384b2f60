"""``bnsl-bayes datasets`` and ``models``: what ships with the package."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    DATASET_PREFIX,
    PROG,
    _emit_json,
)


def _cmd_datasets(args: argparse.Namespace) -> int:
    from .. import datasets

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
    from ..spec import available_models, load_spec

    desc = {name: load_spec(name).description for name in available_models()}
    if args.json:
        _emit_json(desc)
    else:
        width = max(map(len, desc), default=0)
        lines = [f"{name:<{width}}  {text}" for name, text in desc.items()]
        lines.append(f"\nuse one with: {PROG} fit DATA --model NAME (or --model my-model.toml)")
        print("\n".join(lines), flush=True)
    return 0




def add_parsers(sub: Any) -> None:
    """Add ``datasets`` and ``models`` to the subcommands."""
    p = sub.add_parser("datasets", help="list the bundled datasets",
                       description="The bundled datasets, for 'bnsl-bayes fit dataset:NAME'.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_datasets)
    p = sub.add_parser("models", help="list the bundled model specifications",
                       description="The bundled models, for 'bnsl-bayes fit DATA --model NAME'.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_models)
