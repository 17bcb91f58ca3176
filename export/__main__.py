"""Entry point: python -m export ... (see export/cli.py)."""

from export.cli import main
from model.cli import run_main

raise SystemExit(run_main(main))
