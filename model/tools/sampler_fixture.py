"""Writes tests/fixtures/sampler_cases.json: camera frame -> model input, by `model.pipeline.crop.sample_crop`.

The Kotlin (InputSamplerTest) and Swift (InputSamplerTests) suites require their samplers to
reproduce these values, so both apps crop by Python's bilinear rule, pad included:

    make sampler-fixture      (python -m model.tools.sampler_fixture)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from model.pipeline.crop import Crop, sample_crop

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sampler_cases.json"
FRAME_W, FRAME_H = 13, 9
ROW_PAD = 8  # bytes of padding per row, as CameraX adds: catches a sampler that ignores the stride
IN_W, IN_H = 6, 8
PAPER_PAD = (127.5, 0.0, 0.0)
CROPS = {
    "identity_corner": Crop(0.0, 0.0, 1.0),
    "downscale_inside": Crop(0.5, 0.25, 1.1),
    "upscale_fractional": Crop(3.3, 2.7, 0.37),
    "partly_outside_left_top": Crop(-2.6, -1.2, 1.4),
    "partly_outside_right_bottom": Crop(9.0, 5.5, 0.9),
    "fully_outside": Crop(40.0, 40.0, 1.0),
}


def build() -> dict:
    """The fixture: one padded RGBA frame and, per crop, Python's sampled input in HWC order."""
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, size=(FRAME_H, FRAME_W, 4), dtype=np.uint8)
    padded = np.full((FRAME_H, FRAME_W * 4 + ROW_PAD), 77, dtype=np.uint8)
    padded[:, : FRAME_W * 4] = rgba.reshape(FRAME_H, FRAME_W * 4)
    cases = []
    for name, crop in CROPS.items():
        hwc = sample_crop(rgba[..., :3], crop, IN_W, IN_H)
        # the release's pad for `paper` (crop.pad_rgb), where a crop reaches outside the frame
        padded_hwc = sample_crop(rgba[..., :3], crop, IN_W, IN_H, pad=PAPER_PAD)
        cases.append({"name": name, "crop": crop.to_dict(), "hwc": [round(float(v), 6) for v in hwc.ravel()],
                      "hwc_paper_pad": [round(float(v), 6) for v in padded_hwc.ravel()]})
    return {
        "generator": "python -m model.tools.sampler_fixture (model.pipeline.crop.sample_crop)",
        "frame": {"width": FRAME_W, "height": FRAME_H, "row_stride": FRAME_W * 4 + ROW_PAD,
                  "rgba": padded.ravel().tolist()},
        "input": {"width": IN_W, "height": IN_H},
        "paper_pad_rgb": list(PAPER_PAD),
        "cases": cases,
    }


def main() -> None:
    """Writes the fixture beside the other shared fixtures."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(), separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
