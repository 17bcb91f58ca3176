"""The device registry (benchmarks/devices.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REGISTRY = Path(__file__).resolve().parent / "devices.json"


class UnknownDevice(KeyError):
    """A device name that is not in the registry."""

    def __str__(self) -> str:
        return str(self.args[0])


@cache
def devices() -> dict[str, dict[str, Any]]:
    """All registered devices by name."""
    return json.loads(REGISTRY.read_text())["devices"]


def get_device(name: str) -> dict[str, Any]:
    """One device, with the known names in the error."""
    try:
        return {"name": name, **devices()[name]}
    except KeyError:
        raise UnknownDevice(f"unknown device {name!r}; known devices: {', '.join(devices())}") from None
