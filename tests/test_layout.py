"""The layout: no import cycle inside ``bnsl_bayes``; no test imports benchmark or validation code.

Imports are read from the source (``ast``), so an import inside a function counts as much as
one at the top of a module: a cycle hidden in a function still ties the modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bnsl_bayes"


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` (module ``name``) imports anywhere in its body."""
    base = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                mod = f"{anchor}.{node.module}" if node.module else anchor
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):
                out.add(t)
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports. The package's own ``__init__`` re-exports
    the public API from everywhere, so its outgoing edges are left out."""
    files = {_module_name(p, package): p for p in package.rglob("*.py")}
    known = set(files)
    graph = {m: _imports(p, m, known) for m, p in files.items()}
    graph[package.name] = set()
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_hidden_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\nfrom .b import g\n")
    (pkg / "a.py").write_text("from .b import g\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from . import a\n    return a\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import f\nimport pkg.b\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.b"}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    (pkg / "b.py").write_text("def g():\n    return 1\n")
    assert cycles(import_graph(pkg)) == []


def test_package_has_no_import_cycle():
    graph = import_graph(PACKAGE)
    found = cycles(graph)
    detail = [f"{' <-> '.join(c)}: " + ", ".join(f"{m} imports {t}" for m in c
                                                  for t in sorted(graph[m] & set(c)))
              for c in found]
    assert not found, "\n".join(detail)


#: The layers of the package, bottom to top (docs/architecture.md): a module imports only from
#: its own layer or below. A name stands for the module and, with a trailing dot, its package.
LAYERS = [
    ["errors", "law", "priors", "discrepancy"],
    ["tables"],
    ["data", "datasets"],
    ["standardize", "likelihood", "scoring", "pointfit"],
    ["forms."],
    ["spec"],
    ["sampling."],
    ["bands", "drift"],
    ["checks", "plot"],
    ["result"],
    ["fileformat", "loo"],
    ["fitting"],
    ["compare", "calibrate", "sbc", "seeds."],
    ["cli."],
]
def _layer(module: str) -> int:
    short = module.removeprefix("bnsl_bayes.")
    for i, names in enumerate(LAYERS):
        for n in names:
            if short == n.rstrip(".") or (n.endswith(".") and short.startswith(n)):
                return i
    raise AssertionError(f"{module} is in no layer of LAYERS: place it")


def test_imports_point_down_the_layers():
    graph = import_graph(PACKAGE)
    up = sorted((m, t) for m, targets in graph.items() if m != PACKAGE.name
                for t in targets if t != PACKAGE.name and _layer(t) > _layer(m))
    assert len(up) <= 1, up


def test_every_subpackage_ships_in_the_wheel():
    """pyproject lists the packages by name (models/ ships as bnsl_bayes.models): a new
    subpackage left out installs in editable mode and breaks a plain ``pip install .``."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {_module_name(p.parent / "__init__.py", PACKAGE)
             for p in PACKAGE.rglob("__init__.py")} | {"bnsl_bayes.models"}
    assert listed == found


def test_no_test_imports_benchmarks_or_validation():
    """Tests check the package; the scripts of benchmarks/ and validation/ check themselves
    (``python -m benchmarks self_check``, ``python -m validation self_check``)."""
    bad = []
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            elif (isinstance(node, ast.Call) and node.args
                  and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)
                  and getattr(node.func, "attr", getattr(node.func, "id", ""))
                  in ("import_module", "__import__", "spec_from_file_location")):
                names = [node.args[0].value]
            else:
                continue
            bad += [f"{path.name}:{node.lineno} {n}" for n in names
                    if n.split(".")[0] in ("benchmarks", "validation")]
        # a script's path or a ``python -m`` of it (this file names them only to forbid them)
        text = path.read_text(encoding="utf-8") if path != Path(__file__).resolve() else ""
        bad += [f"{path.name}: runs {d}/" for d in ("benchmarks", "validation")
                if f'"{d}"' in text or f"'{d}'" in text]
    assert not bad, bad
