"""``python -m benchmarks NAME [args]``: run one speed benchmark; without NAME, list them."""

from pathlib import Path

from benchmarks._runner import run

raise SystemExit(run("benchmarks", Path(__file__).resolve().parent))
