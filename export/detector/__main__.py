"""`python -m export.detector`: see export/detector/cli.py."""

from export.detector.cli import main
from model.cli import run_main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
