"""Golden inputs and the app fixtures (docs/CONTRACTS.md §3).

The golden set is what the export gates run on, so it covers what an app meets, not only the
easiest inputs: rest-pose bodies (the first case, which the app fixtures use), posed bodies seen
from every side, truncated framings, occluders, small and large people, and the extremes of a
camera (very dark, over-exposed, blurred, no person, sensor noise, a covered lens). Posed bodies
come from the committed poses (export/golden_poses.py) lifted to the full mesh by the template's
upsampler and rendered by the data pipeline's renderer, so no Anny import is needed. Cases are
ordered round-robin over their kinds, so any prefix of the set is as varied as it can be; the
same case always gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from export.contract import CONTRACT_VERSION
from model.data.synthetic import RenderConfig, random_background, render_sample, render_template_body
from model.pipeline.crop import crop_from_box
from model.pipeline.decode import VISIBILITY_THRESHOLD, decode_outputs

FIXTURE_VERSION = 2  # 2: raw outputs about the crop centre, with the origin_px to add
GOLDEN_SEED = 5150
CALIBRATION_SEED = 6160
NUM_CALIBRATION = 256

# (kind, number of cases): 40 in all. Kinds that start from a posed body take one committed pose each.
GOLDEN_KINDS: tuple[tuple[str, int], ...] = (
    ("rest", 4), ("posed", 10), ("truncated", 5), ("occluded", 5), ("small", 3), ("dark", 2),
    ("large", 3), ("overexposed", 2), ("blurred", 2), ("no_person", 2), ("noise", 1), ("covered_lens", 1),
)
_POSED_KINDS = ("posed", "truncated", "occluded", "small", "large", "dark", "overexposed", "blurred")
_RENDER = {  # render settings per posed kind; the extremes post-process a plain posed render
    "truncated": {"truncation_probability": 1.0, "occluder_probability": 0.0},
    "occluded": {"truncation_probability": 0.0, "occluder_probability": 1.0},
    "small": {"truncation_probability": 0.0, "occluder_probability": 0.0, "expand_range": (1.9, 2.5)},
    "large": {"truncation_probability": 0.0, "occluder_probability": 0.0, "expand_range": (0.85, 1.0)},
}
_PLAIN = {"truncation_probability": 0.0, "occluder_probability": 0.0}


@dataclass(frozen=True)
class GoldenCase:
    """One input of the golden set: its kind, its number within the kind, and its name in reports."""

    kind: str
    index: int

    @property
    def name(self) -> str:
        """Report name, e.g. `truncated_2`."""
        return f"{self.kind}_{self.index}"


def golden_cases(count: int | None = None) -> list[GoldenCase]:
    """The first `count` cases (all 40 by default), round-robin over the kinds."""
    pools = [[GoldenCase(kind, i) for i in range(n)] for kind, n in GOLDEN_KINDS]
    order: list[GoldenCase] = []
    while any(pools):
        order += [pool.pop(0) for pool in pools if pool]
    if count is not None and not 1 <= count <= len(order):
        raise ValueError(f"the golden set has {len(order)} cases; asked for {count}")
    return order[:count]


def core_indices(cases: list[GoldenCase]) -> list[int]:
    """Positions of the core cases in `cases`: the rest-pose renders, whose gate always blocks publishing."""
    return [i for i, c in enumerate(cases) if c.kind == "rest"]


def _pose_number(case: GoldenCase) -> int:
    """Each posed case gets its own committed pose."""
    start = 0
    for kind, n in GOLDEN_KINDS:
        if kind == case.kind:
            return start + case.index
        if kind in _POSED_KINDS:
            start += n
    raise ValueError(case.kind)


def render_case(case: GoldenCase, height: int, width: int) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 255], integer-valued, of one golden case."""
    from PIL import Image, ImageFilter

    from export.golden_poses import load_poses
    from model.template import load_template

    if case.kind == "rest":  # the seeds of the original golden renders: fixtures and figures stay comparable
        return render_template_body(height, width, seed=1000 + case.index)
    rng = np.random.default_rng([GOLDEN_SEED, [k for k, _ in GOLDEN_KINDS].index(case.kind), case.index])
    if case.kind == "no_person":
        img = random_background(rng, height, width)
    elif case.kind == "noise":
        img = rng.uniform(0, 255, (height, width, 3))
    elif case.kind == "covered_lens":
        img = rng.normal(3.0, 1.5, (height, width, 3))
    else:
        template = load_template()
        body = template.upsample(load_poses(template.sha256)[_pose_number(case)].astype(np.float64))
        cfg = RenderConfig(height=height, width=width, **_RENDER.get(case.kind, _PLAIN))
        img = render_sample(body, template, rng, cfg)["image"].astype(np.float64)
        if case.kind == "dark":  # a dim room: little signal, relatively more sensor noise
            img = img * 0.06 + rng.normal(0, 1.5, img.shape)
        elif case.kind == "overexposed":
            img = img * 2.2 + 70
        elif case.kind == "blurred":  # defocus or motion
            pil = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
            img = np.asarray(pil.filter(ImageFilter.GaussianBlur(radius=3.0)), np.float64)
    return np.clip(np.rint(img), 0, 255).astype(np.float32)


def calibration_inputs(height: int, width: int, count: int = NUM_CALIBRATION, nhwc: bool = False) -> list[np.ndarray]:
    """`count` renders like the training data (random views, 20% truncated, 25% occluded) of the calibration
    poses, none of which is a golden pose: what int8 calibration sees is what the model meets, not the gate."""
    from export.golden_poses import load_poses
    from model.template import load_template

    template = load_template()
    poses = load_poses(template.sha256, "calibration")
    out = []
    for i in range(count):
        body = template.upsample(poses[i % len(poses)].astype(np.float64))
        img = render_sample(body, template, np.random.default_rng([CALIBRATION_SEED, i]),
                            RenderConfig(height=height, width=width))["image"].astype(np.float32)
        out.append(img[None] if nhwc else img.transpose(2, 0, 1)[None].copy())
    return out


def golden_inputs(height: int, width: int, count: int | None = None, nhwc: bool = False) -> list[np.ndarray]:
    """Model inputs of the first `count` golden cases, (1, 3, H, W) (or NHWC) float32 RGB in [0, 255]."""
    out = []
    for case in golden_cases(count):
        img = render_case(case, height, width)
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


def build_fixtures(model, threshold: float = VISIBILITY_THRESHOLD) -> dict[str, Any]:
    """Fixtures from the model's real outputs on golden input 0, decoded by model/pipeline/decode.py."""
    h, w = model.net.input_hw
    image = golden_inputs(h, w, count=1, nhwc=getattr(model, "nhwc", False))[0]
    raw = run_torch(model, image)
    cases = []
    for name, (fw, fh), box, vis_mult in FIXTURE_CASES:
        crop = crop_from_box(box, w, h)
        verts, vis = raw["vertices"][0], raw["visibility"][0] * vis_mult
        joints = raw["joints"][0] if "joints" in raw else np.zeros((0, 3))  # no landmarker: no joints
        dec = decode_outputs(verts, vis, joints, crop, w, h, threshold, origin=model.origin_px)
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
        "origin_px": list(model.origin_px),
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
