"""Atomic multi-file output: everything is written to a staging folder, then moved into place.

An export that fails or is interrupted leaves no half-written file under a final name:
the staging folder is removed on error, and each final name appears by a rename. A run that
decides not to publish (a failed parity gate) raises Discard inside the block: its stage is
removed and nothing under `final_dir` changes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


class Discard(Exception):
    """Raised inside `staged_output`: drop the stage, publish nothing; the with statement swallows it."""


def _replace(src: Path, target: Path) -> None:
    """Rename src over target; a directory target (an .mlpackage) is swapped out first."""
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(f".old-{target.name}-{os.getpid()}")
        target.rename(old)
        os.replace(src, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, target)


@contextmanager
def staged_output(final_dir: Path):
    """Yield a fresh staging directory; on success move each of its top-level entries into `final_dir`
    (on Discard or any error, move nothing)."""
    final_dir = Path(final_dir)
    final_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=final_dir, prefix=".staging-"))
    try:
        try:
            yield stage
        except Discard:
            return
        for entry in sorted(stage.iterdir()):
            if entry.is_dir() and (final_dir / entry.name).is_dir() and not entry.name.endswith(".mlpackage"):
                # Merge plain folders (fixtures/) file by file so other formats' files survive.
                for sub in sorted(entry.iterdir()):
                    _replace(sub, final_dir / entry.name / sub.name)
            else:
                _replace(entry, final_dir / entry.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
