"""The model contract JSON that travels with every artifact (docs/CONTRACTS.md §2)."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema

from model.atomic import atomic_path
from model.pipeline.decode import VISIBILITY_THRESHOLD

# 2: optional joints, templates without faces, crop convention and licence; 3: vertices and joints about
# the crop centre, with the origin to add (docs/CONTRACTS.md §2).
CONTRACT_VERSION = 3
# 4: a deployment of chained models (`parts`). Only such contracts carry it, so apps that read 3 keep
# loading every single-file artifact.
PARTS_CONTRACT_VERSION = 4
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
CROP_FRAME = (
    "crop pixels of the model input about its centre: add origin_px for x right, y down from the top-left "
    "corner, pixel i centred at i + 0.5; z root-relative (mean vertex depth) in the same pixel units, "
    "positive away from the camera (weak perspective)"
)


def output_origin(contract: dict[str, Any]) -> tuple[float, float, float]:
    """What to add to an artifact's vertices and joints for crop pixels from the top-left corner.

    Contracts before version 3 described graphs that emitted that frame already: (0, 0, 0).
    """
    origin = contract["outputs"][0].get("origin_px")
    if origin is None:
        if contract.get("contract_version", CONTRACT_VERSION) >= 3:
            raise ContractError("a version 3 contract's vertices output must carry origin_px")
        return (0.0, 0.0, 0.0)
    return tuple(float(v) for v in origin)
TRACKED_TOOLS = ("torch", "coremltools", "litert-torch", "ai-edge-litert", "onnx", "onnxruntime", "anny")


class ContractError(ValueError):
    """A contract that does not validate against the schema."""


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON schema from export/schemas/."""
    return json.loads((SCHEMA_DIR / name).read_text())


def tool_versions(names: tuple[str, ...] = TRACKED_TOOLS) -> dict[str, str]:
    """Installed versions of `names` (default: the tools that shape an artifact); missing ones left out."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def artifact_sha256(path: Path) -> str:
    """sha256 of an artifact: its bytes, or a package's files in path order (an .mlpackage is a folder)."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]:
        h.update(f.read_bytes())
    return h.hexdigest()


def image_input(name: str, h: int, w: int, *, nhwc: bool, dtype: str, scale, bias, baked_in: bool) -> dict[str, Any]:
    """The contract's `input` block of an RGB image model (shared by the mesh model's and the detector's)."""
    return {
        "name": name,
        "shape": [1, h, w, 3] if nhwc else [1, 3, h, w],
        "layout": "NHWC" if nhwc else "NCHW",
        "dtype": dtype,
        "color_order": "RGB",
        "value_range": [0, 255],
        "normalization": {"scale": scale, "bias": bias, "baked_in": baked_in},
        "height": h,
        "width": w,
    }


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
    gpu_precision: str | None = None,
) -> dict[str, Any]:
    """Contract for a DeployModel exported to `fmt` as file `artifact` (the variant's spec fills the rest;
    `gpu_precision` overrides the variant's GPU precision)."""
    from model.registry import get_variant, weights_license

    spec = get_variant(model.variant)
    lic = weights_license(spec, model.checkpoint.metadata if model.checkpoint else None)
    h, w = spec.input_hw
    v = model.num_vertices
    ckpt = model.checkpoint
    # What the graph's first step applies: after the fp16 rewrites, centring (the scale is in the stem).
    scale, bias = model.net.settings.normalization
    origin = list(model.origin_px)
    outputs = {
        "vertices": {"name": "vertices", "shape": [1, v, 3], "dtype": "float32", "units": "pixels",
                     "frame": CROP_FRAME, "origin_px": origin},
        "visibility": {"name": "visibility", "shape": [1, v], "dtype": "float32", "units": "probability",
                       "frame": "per vertex"},
        "joints": {"name": "joints", "shape": [1, 17, 3], "dtype": "float32", "units": "pixels", "frame": CROP_FRAME,
                   "origin_px": origin},
    }
    full_n = template.metadata.get("full_mesh_vertices")
    full_faces = template.full_faces
    contract = {
        "contract_version": CONTRACT_VERSION,
        "name": spec.artifact_name,
        "variant": model.variant,
        "format": fmt,
        "precision": precision,
        "artifact": artifact,
        "description": spec.description,
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
            "kind": template.kind,
        },
        "input": image_input(model.input_name, h, w, nhwc=nhwc, dtype=input_dtype, scale=scale, bias=bias,
                             baked_in=normalization_baked_in),
        "outputs": [outputs[name] for name in model.output_names],
        "mesh": {
            "faces": [] if template.faces is None else [[int(i) for i in f] for f in template.faces],
            "full_mesh": None if full_n is None else {
                "num_vertices": int(full_n), "num_faces": 0 if full_faces is None else len(full_faces)},
            "note": template.metadata.get("faces", "low-poly faces of the template"),
        },
        "joints": {"landmarker": "coco17", "names": list(template.coco17_names)} if "joints" in model.output_names
        else None,
        "crop": {"box_scale": spec.crop.box_scale, "pad_rgb": list(spec.crop.pad_rgb)},
        "gpu_precision": gpu_precision or spec.gpu_precision,
        "license": {"name": lic.name, "commercial_use": lic.commercial_use, "notice": lic.notice},
        "visibility_threshold": VISIBILITY_THRESHOLD,
        "tools": tool_versions(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    validate_contract(contract)
    return contract


def check_schema(contract: dict[str, Any], schema: str, what: str = "contract") -> None:
    """Raise ContractError naming the first place where `contract` breaks export/schemas/`schema`."""
    try:
        jsonschema.validate(contract, load_schema(schema))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
        raise ContractError(f"{what} invalid at {where}: {exc.message}") from None


def validate_contract(contract: dict[str, Any]) -> None:
    """Raise ContractError with the first schema violation, if any."""
    check_schema(contract, "contract.schema.json")
    v = contract["template"]["num_vertices"]
    if contract["outputs"][0]["shape"] != [1, v, 3]:
        raise ContractError(f"vertices output shape {contract['outputs'][0]['shape']} does not match V={v}")
    if any(max(f) >= v for f in contract["mesh"]["faces"]):
        raise ContractError("mesh faces index past the template's vertex count")
    has_joints = len(contract["outputs"]) == 3
    if has_joints != (contract["joints"] is not None):
        raise ContractError("a joints output and the joints section come together")
    if ("parts" in contract) != (contract["contract_version"] == PARTS_CONTRACT_VERSION):
        raise ContractError(f"parts and contract_version {PARTS_CONTRACT_VERSION} come together")
    if "parts" in contract:
        check_parts_chain(contract)


def check_parts_chain(contract: dict[str, Any]) -> None:
    """Raise ContractError unless the parts chain: the first takes the contract's input, each next one the
    previous one's outputs (by name and shape), and the last gives the contract's outputs."""
    if "gpu_precision" in contract:
        raise ContractError("a deployment of parts has a gpu_precision per part, not one for the whole")
    parts = contract["parts"]
    expected = [{"name": contract["input"]["name"], "shape": contract["input"]["shape"]}]
    for i, part in enumerate(parts):
        given = [{"name": t["name"], "shape": t["shape"]} for t in part["inputs"]]
        if sorted(given, key=str) != sorted(expected, key=str):
            raise ContractError(f"parts[{i}] ({part['artifact']}) takes {given}, but is fed {expected}")
        expected = [{"name": t["name"], "shape": t["shape"]} for t in part["outputs"]]
    final = [{"name": o["name"], "shape": o["shape"]} for o in contract["outputs"]]
    if expected != final:
        raise ContractError(f"the last part gives {expected}, not the contract's outputs {final}")


def build_parts_contract(single: dict[str, Any], deployment: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The contract of a deployment of chained models: `single` (the contract of the same graph as one file)
    with `parts` (export/tflite/two_part.py's `contract_parts`), version 4, and `deployment` as its artifact."""
    contract = {k: v for k, v in single.items() if k not in ("gpu_precision", "parity_gate")}
    contract.update(contract_version=PARTS_CONTRACT_VERSION, artifact=deployment, parts=parts)
    validate_contract(contract)
    return contract


def write_json_atomic(path: str | os.PathLike, payload: Any) -> Path:
    """Write JSON to a temp file beside `path`, then rename, so readers never see half a file."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    return Path(path)
