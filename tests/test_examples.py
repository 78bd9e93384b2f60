"""Every example runs, with a small budget, so the examples never go stale."""

from __future__ import annotations

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
