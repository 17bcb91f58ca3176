"""Entry point: python -m model.eval (see model/eval/run.py)."""

from model.cli import run_main
from model.eval.run import main

raise SystemExit(run_main(main))
