"""The import direction of docs/DESIGN.md §1: no module imports a layer above its own.

Read from the source with `ast` (nothing is imported), so a new upward import fails here with
the file and the module it reaches for.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# package prefix -> the project packages its modules may import (their own package always allowed)
ALLOWED = {
    "model.network": ("model.network", "model.checkpoint", "model.template", "model.atomic"),
    "model.template": ("model.template", "model.atomic", "model.cli"),
    "model.cli": ("model.process_memory",),  # the tools' entry and error path, used by every layer
    "model.process_memory": (),  # the allocator settings run_main applies: a leaf
    "model.pipeline": ("model.pipeline",),
    "model.checkpoint": ("model.atomic", "model.template"),
    "model.registry": ("model.network",),
    "model.build": ("model.registry", "model.network", "model.template", "model.checkpoint"),
    "model": ("model",),
    "export": ("export", "model"),
    "benchmarks": ("benchmarks", "export", "model"),
}
PROJECT = ("model", "export", "benchmarks")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _rule(module: str) -> tuple[str, tuple[str, ...]]:
    for prefix in sorted(ALLOWED, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, ALLOWED[prefix]
    raise AssertionError(f"no layer rule for {module}")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names if node.module in PROJECT]
    return [m for m in out if m.split(".")[0] in PROJECT]


SOURCES = sorted(p for pkg in PROJECT for p in (REPO / pkg).rglob("*.py"))


def upward_imports(path: Path, module: str) -> list[str]:
    """The imports of `path` (as module `module`) that reach a layer its own may not."""
    prefix, allowed = _rule(module)
    return [t for t in _imports(path) if not any(t == a or t.startswith(a + ".") for a in allowed + (prefix,))]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_upward_import(path):
    bad = upward_imports(path, _module_name(path))
    assert not bad, f"{path.relative_to(REPO)} imports {bad}: a layer above its own (docs/DESIGN.md §1)"


def test_pipeline_reference_needs_no_torch():
    for path in (REPO / "model" / "pipeline").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "torch" not in names, f"{path.relative_to(REPO)} imports torch; the pipeline reference is numpy only"


def test_the_rule_catches_an_upward_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import numpy\nfrom model.network.layers import ConvBNAct\nfrom export import parity\n")
    assert upward_imports(probe, "model.network.probe") == ["export", "export.parity"]
    assert upward_imports(probe, "benchmarks.probe") == []
