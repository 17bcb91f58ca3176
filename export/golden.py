"""Golden inputs and the app fixtures (docs/CONTRACTS.md §3).

Golden inputs are rendered bodies: the template's rest mesh, lifted to Anny's full mesh by
the upsampler, rendered by the data pipeline's renderer under seeded random views, colours,
lighting and backgrounds (no Anny import needed). The same seeds always give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from export.contract import CONTRACT_VERSION
from model.data.synthetic import render_template_body
from model.pipeline.crop import crop_from_box
from model.pipeline.decode import decode_outputs

FIXTURE_VERSION = 1


def golden_inputs(height: int, width: int, count: int = 4, nhwc: bool = False) -> list[np.ndarray]:
    """`count` deterministic model inputs, (1, 3, H, W) (or NHWC) float32 RGB in [0, 255]."""
    out = []
    for seed in range(count):
        img = render_template_body(height, width, seed=1000 + seed)
        out.append(img[None] if nhwc else img.transpose(2, 0, 1)[None].copy())
    return out


def run_torch(model: torch.nn.Module, image: np.ndarray) -> dict[str, np.ndarray]:
    """Run a DeployModel on one input; outputs by contract name, float64 numpy."""
    with torch.no_grad():
        outs = model(torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)))
    return {name: t.double().numpy() for name, t in zip(model.output_names, outs)}


# (name, frame size, person box, visibility multiplier): the last case forces a re-detection.
FIXTURE_CASES = (
    ("landscape_1080p", (1920, 1080), (800.0, 140.0, 1180.0, 1000.0), 1.0),
    ("portrait_720x1280_wide_box", (720, 1280), (60.0, 300.0, 660.0, 900.0), 1.0),
    ("low_visibility_redetect (raw visibility scaled by 0.1)", (1280, 720), (500.0, 100.0, 700.0, 650.0), 0.1),
)


def build_fixtures(model, threshold: float = 0.5) -> dict[str, Any]:
    """Fixtures from the model's real outputs on golden input 0, decoded by model/pipeline/decode.py."""
    h, w = model.net.input_hw
    image = golden_inputs(h, w, count=1, nhwc=getattr(model, "nhwc", False))[0]
    raw = run_torch(model, image)
    cases = []
    for name, (fw, fh), box, vis_mult in FIXTURE_CASES:
        crop = crop_from_box(box, w, h)
        verts, vis = raw["vertices"][0], raw["visibility"][0] * vis_mult
        joints = raw["joints"][0] if "joints" in raw else np.zeros((0, 3))  # no landmarker: no joints
        dec = decode_outputs(verts, vis, joints, crop, w, h, threshold)
        cases.append(
            {
                "name": name,
                "frame": {"width": fw, "height": fh},
                "person_box": list(box),
                "crop": crop.to_dict(),
                "raw": {"vertices": verts.tolist(), "visibility": vis.tolist(), "joints": joints.tolist()},
                "decoded": {
                    "vertices": dec.vertices.tolist(),
                    "visible": dec.visible.tolist(),
                    "joints": dec.joints.tolist(),
                    "visible_bounds": dec.visible_bounds,
                    "next_crop": dec.next_crop.to_dict() if dec.next_crop else None,
                },
            }
        )
    return {
        "fixture_version": FIXTURE_VERSION,
        "contract_version": CONTRACT_VERSION,
        "variant": model.variant,
        "visibility_threshold": threshold,
        "input": {"width": w, "height": h},
        "cases": cases,
    }


def save_input_png(image: np.ndarray, path: Path) -> Path:
    """Write a golden input as an 8-bit PNG (for the apps' benchmark mode and people to look at)."""
    from PIL import Image

    arr = image[0]
    if arr.shape[0] == 3:
        arr = arr.transpose(1, 2, 0)
    Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8)).save(path)
    return path
