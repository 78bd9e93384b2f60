"""``python -m validation NAME [args]``: run one validation; without NAME, list them."""

from pathlib import Path

from benchmarks._runner import run

raise SystemExit(run("validation", Path(__file__).resolve().parent))
