"""Entry point: python -m model.eval (see model/eval/run.py)."""

import sys

from model.eval.run import main

sys.exit(main())
