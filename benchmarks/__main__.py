"""Entry point: python -m benchmarks ... (see benchmarks/cli.py)."""

from benchmarks.cli import main
from model.cli import run_main

raise SystemExit(run_main(main))
