"""The model contract JSON that travels with every artifact (docs/CONTRACTS.md §2)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema

from model.atomic import atomic_path

CONTRACT_VERSION = 1
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
VISIBILITY_THRESHOLD = 0.5
CROP_FRAME = (
    "crop pixels of the model input: x right, y down, origin at the top-left corner, "
    "pixel i centred at i + 0.5; z root-relative (mean vertex depth) in the same pixel units, "
    "positive away from the camera (weak perspective)"
)
TRACKED_TOOLS = ("torch", "coremltools", "litert-torch", "ai-edge-litert", "onnx", "onnxruntime", "anny")


class ContractError(ValueError):
    """A contract that does not validate against the schema."""


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON schema from export/schemas/."""
    return json.loads((SCHEMA_DIR / name).read_text())


def tool_versions() -> dict[str, str]:
    """Installed versions of the tools that shape an artifact."""
    out = {}
    for name in TRACKED_TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def build_contract(
    model,
    template,
    *,
    fmt: str,
    artifact: str,
    precision: str,
    nhwc: bool = False,
    normalization_baked_in: bool = True,
    input_dtype: str = "float32",
) -> dict[str, Any]:
    """Contract of a DeployModel exported to `fmt` as file `artifact`."""
    h, w = model.net.input_hw
    v = model.num_vertices
    ckpt = model.checkpoint
    contract = {
        "contract_version": CONTRACT_VERSION,
        "name": f"meshpose_{model.variant}",
        "variant": model.variant,
        "format": fmt,
        "precision": precision,
        "artifact": artifact,
        "description": "MeshPose 3D human mesh recovery from a person crop (VertexPose heatmaps + 1-D lift).",
        "checkpoint": {
            "sha256": ckpt.sha256 if ckpt else None,
            "trained": bool(ckpt and ckpt.trained),
            "source": str(ckpt.path.name) if ckpt else "untrained: deterministic random initialisation (seed 0)",
        },
        "template": {
            "name": template.name,
            "version": str(template.version),
            "sha256": template.sha256,
            "num_vertices": int(template.num_vertices),
            "num_faces": int(template.num_faces),
        },
        "input": {
            "name": "image",
            "shape": [1, h, w, 3] if nhwc else [1, 3, h, w],
            "layout": "NHWC" if nhwc else "NCHW",
            "dtype": input_dtype,
            "color_order": "RGB",
            "value_range": [0, 255],
            "normalization": {"scale": 1 / 127.5, "bias": -1.0, "baked_in": normalization_baked_in},
            "height": h,
            "width": w,
        },
        "outputs": [
            {"name": "vertices", "shape": [1, v, 3], "dtype": "float32", "units": "pixels", "frame": CROP_FRAME},
            {"name": "visibility", "shape": [1, v], "dtype": "float32", "units": "probability", "frame": "per vertex"},
            {"name": "joints", "shape": [1, 17, 3], "dtype": "float32", "units": "pixels", "frame": CROP_FRAME},
        ],
        "mesh": {"faces": [[int(i) for i in f] for f in template.faces]},
        "joints": {"landmarker": "coco17", "names": list(template.coco17_names)},
        "visibility_threshold": VISIBILITY_THRESHOLD,
        "tools": tool_versions(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    validate_contract(contract)
    return contract


def validate_contract(contract: dict[str, Any]) -> None:
    """Raise ContractError with the first schema violation, if any."""
    try:
        jsonschema.validate(contract, load_schema("contract.schema.json"))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
        raise ContractError(f"contract invalid at {where}: {exc.message}") from None
    v = contract["template"]["num_vertices"]
    if contract["outputs"][0]["shape"] != [1, v, 3]:
        raise ContractError(f"vertices output shape {contract['outputs'][0]['shape']} does not match V={v}")
    if any(max(f) >= v for f in contract["mesh"]["faces"]):
        raise ContractError("mesh faces index past the template's vertex count")


def write_json_atomic(path: str | os.PathLike, payload: Any) -> Path:
    """Write JSON to a temp file beside `path`, then rename, so readers never see half a file."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    return Path(path)
