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
    import matplotlib.pyplot as plt

    try:
        for i, cell in enumerate(code[1:], start=1):
            exec(compile(cell, f"{notebook}[{i}]", "exec"), namespace)
    finally:
        plt.close("all")
    assert "fit" in namespace and namespace["covered"].sum() >= 2
    if notebook == "walkthrough.ipynb":
        assert list(namespace["comparison"].table.index) != []
        assert set(namespace["comparison"].fits) == {"bnsl-0", "bnsl-1", "bnsl-2"}
        assert {"c1", "d1", "f1"} <= set(namespace["summary"].index)


def test_walkthrough_shows_what_it_promises_and_is_stored_executed():
    """A reader on the web sees the notebook's stored outputs: every code cell was run, in
    order, and the plots are there (PNG), within a size a web viewer opens quickly."""
    path = EXAMPLES / "walkthrough.ipynb"
    assert path.stat().st_size < 2_000_000
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code"]
    code = "\n".join("".join(c["source"]) for c in cells)
    for call in ("bb.compare(", "plot_trace(", "az.plot_rank(", "az.plot_energy(",
                 "az.plot_pair(", "az.plot_loo_pit(", "bb.plot_fits("):
        assert call in code, f"the introduction promises {call}"
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    images = [o for c in cells for o in c["outputs"] if "image/png" in o.get("data", {})]
    assert len(images) >= 8  # trace, rank, energy, pair, LOO-PIT, the family, the fit twice
    assert not [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    text = "".join("".join(o.get("text", "")) for c in cells for o in c["outputs"])
    assert "best:" in text and "influential points (Pareto k > 0.7):" in text
