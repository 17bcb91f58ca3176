"""`python -m export.detector`: see export/detector/cli.py."""

from export.detector.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
