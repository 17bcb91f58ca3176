"""Entry point: python -m model.train (see model/train/loop.py)."""

import sys

from model.train.loop import main

sys.exit(main())
