"""Every tool's `--help` opens with a whole sentence.

The command-line tools take their argparse description from the first line of their module docstring
(`description=__doc__.splitlines()[0]`), so that line has to be the docstring's complete summary, with
the details after a blank line (PEP 257); a summary wrapped onto a second line prints cut off mid-sentence.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_LINE_DESCRIPTION = "__doc__.splitlines()[0]"


def _tools_with_first_line_help() -> list[Path]:
    files = [p for package in ("model", "export", "benchmarks") for p in sorted((ROOT / package).rglob("*.py"))]
    return [p for p in files if FIRST_LINE_DESCRIPTION in p.read_text(encoding="utf-8")]


def test_the_tools_are_found() -> None:
    # A guard for the scan itself: the training loop, the exporter and the benchmark harness use the pattern.
    found = {p.relative_to(ROOT).as_posix() for p in _tools_with_first_line_help()}
    assert {"model/train/loop.py", "export/cli.py", "benchmarks/cli.py"} <= found


@pytest.mark.parametrize("path", _tools_with_first_line_help(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_help_summary_is_one_whole_line(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
    assert doc, f"{path.name} builds its --help from a module docstring it does not have"
    lines = doc.splitlines()
    assert lines[0].rstrip().endswith("."), f"--help would print a cut-off summary: {lines[0]!r}"
    assert len(lines) == 1 or not lines[1].strip(), f"the summary goes on past its first line: {lines[1]!r}"
