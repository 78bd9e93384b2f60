"""Every example runs, with a small budget, so the examples never go stale."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    out = tmp_path / "figure.png"
    monkeypatch.setattr(sys, "argv", [script, "--quick", "--out", str(out)])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "covered" in printed or "median" in printed


def _notebook_code(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("notebook", sorted(p.name for p in EXAMPLES.glob("*.ipynb")))
def test_notebook_runs(notebook, monkeypatch):
    """Execute every code cell in order, in one namespace, with the small budget switched on."""
    import matplotlib

    matplotlib.use("Agg")
    code = _notebook_code(EXAMPLES / notebook)
    assert code[0].startswith("QUICK = False"), "first code cell must hold the QUICK switch"
    namespace: dict = {"__name__": "__main__"}
    exec(compile("QUICK = True", f"{notebook}[0]", "exec"), namespace)
    for i, cell in enumerate(code[1:], start=1):
        exec(compile(cell, f"{notebook}[{i}]", "exec"), namespace)
    assert "fit" in namespace and namespace["covered"].sum() >= 2
