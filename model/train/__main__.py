"""Entry point: python -m model.train (see model/train/loop.py)."""

from model.cli import run_main
from model.train.loop import main

raise SystemExit(run_main(main))
