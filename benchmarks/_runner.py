"""The one runner of a folder of scripts: ``python -m benchmarks NAME [args]``.

Each script of the folder (a module with a ``main(argv)``) is run by its file name; without a
name the runner lists the scripts with the first line of each docstring (read from the file, so
listing imports nothing). Run from the repository root, so that the scripts import the package
and each other as ``benchmarks.*`` and ``validation.*``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from pathlib import Path


def scripts(folder: Path) -> dict[str, str]:
    """The scripts of ``folder`` (names not starting with ``_``) and their one-line summaries."""
    out = {}
    for path in sorted(folder.glob("*.py")):
        if not path.stem.startswith("_"):
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            out[path.stem] = doc.strip().splitlines()[0] if doc.strip() else ""
    return out


def run(package: str, folder: Path, argv: list[str] | None = None) -> int:
    """Run ``package``'s script named by ``argv[0]`` with the rest; list the scripts without one.

    Returns the exit status: the script's ``main`` result when it is an int, else 0; 2 for an
    unknown name.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    known = scripts(folder)
    if not argv or argv[0] in ("-h", "--help"):
        width = max(map(len, known), default=0)
        print(f"usage: python -m {package} NAME [args]   (NAME --help: its options)\n")
        for name, summary in known.items():
            print(f"  {name:<{width}}  {summary}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in known:
        print(f"python -m {package}: no script {name!r}; one of: {', '.join(known)}",
              file=sys.stderr)
        return 2
    module = importlib.import_module(f"{package}.{name}")
    sys.argv = [f"python -m {package} {name}", *rest]  # argparse's prog in usage lines
    result = module.main(rest)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def run_checks(doc: str, cheap, fitting, argv: list[str] | None = None) -> int:
    """A self-check script's main: run the ``cheap`` checks, and ``fitting`` ones unless
    ``--quick``; print one line per check; 1 if any failed, else 0."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the checks that fit")
    args = parser.parse_args(argv)
    failed = 0
    for check in (*cheap, *(() if args.quick else fitting)):
        try:
            check()
        except AssertionError as err:
            failed += 1
            print(f"FAIL {check.__name__}: {err}")
        else:
            print(f"ok   {check.__name__}")
    return 1 if failed else 0
