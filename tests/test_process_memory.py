"""The allocator settings every tool applies at start (model/process_memory.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from model.process_memory import OPT_OUT_ENV, USER_TUNING_ENV

PROBE = "from model.process_memory import keep_freed_memory; print(keep_freed_memory())"


def _probe(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in USER_TUNING_ENV + ("GLIBC_TUNABLES", OPT_OUT_ENV)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])  # the probe imports the project
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_applied_on_glibc_and_refused_when_the_user_chose():
    assert _probe({}) == "True"
    assert _probe({"MESHPOSE_DEFAULT_MALLOC": "1"}) == "False"
    assert _probe({"MALLOC_TOP_PAD_": "0"}) == "False"  # the user's own glibc tuning wins
    assert _probe({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}) == "False"
    assert _probe({"MALLOC_ARENA_MAX": "2"}) == "True"  # another parameter: ours still apply
    assert _probe({"MESHPOSE_DEFAULT_MALLOC": "0"}) == "True"


def test_every_tool_entry_applies_it(monkeypatch):
    from model import cli

    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(1) or True)
    assert cli.run_main(lambda: 0) == 0
    assert calls == [1]
