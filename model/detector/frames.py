"""Camera-like frames with people for the detector's fixtures and export parity, built from pinned packages.

No image file is committed: each frame is made from matplotlib's sample photo `grace_hopper.jpg`
(shipped in the pinned matplotlib wheel) or from this project's own renderer (a render of the
template body, model.data.synthetic), so `make detector-fixtures` rebuilds the same pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

BACKGROUND = (96, 104, 112)


def grace_hopper() -> Image.Image:
    """matplotlib's sample portrait (512x600 RGB)."""
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return Image.open(f).convert("RGB")


def _template_render(height: int, width: int, seed: int) -> Image.Image:
    from model.data.synthetic import render_template_body

    return Image.fromarray(np.clip(np.rint(render_template_body(height, width, seed=seed)), 0, 255).astype(np.uint8))


def fixture_frames() -> list[tuple[str, np.ndarray]]:
    """(name, (H, W, 3) uint8 RGB frame): portrait photo, two people landscape, portrait render, empty landscape."""
    hop = grace_hopper()
    two = Image.new("RGB", (1600, 720), BACKGROUND)
    small = hop.resize((368, 432), Image.BILINEAR)
    for cx in (400, 1200):  # two copies, far enough apart to stay two detections
        two.paste(small, (cx - small.width // 2, 720 - small.height))
    portrait = Image.new("RGB", (720, 1280), BACKGROUND)
    portrait.paste(_template_render(640, 480, seed=1001), (120, 400))
    yy, xx = np.mgrid[0:480, 0:640]
    empty = np.stack([xx * 255 / 639, yy * 255 / 479, (xx + yy) * 255 / 1118], -1)
    return [
        ("portrait_photo_512x600", np.asarray(hop)),
        ("landscape_two_people_1600x720", np.asarray(two)),
        ("portrait_render_720x1280", np.asarray(portrait)),
        ("landscape_empty_640x480", np.rint(empty).astype(np.uint8)),
    ]
