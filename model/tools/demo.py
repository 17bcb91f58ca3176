"""`python -m model.tools.demo` (make demo): the predicted mesh drawn over an image, plus a side view.

The person box (default: the whole image) is cropped to the model's aspect exactly as the
sample apps do (model.pipeline.crop), the network predicts the low-poly mesh, the template's
upsampler lifts it to the full body mesh, and the numpy rasteriser draws it shaded: over the
image (front) and turned 90 degrees about the vertical axis (side, from the subject's left).
Written as one PNG: input | overlay | side view.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model.data.raster import rasterize
from model.pipeline.crop import crop_from_box, crop_to_frame, sample_crop
from model.registry import get_variant

DEFAULT_TEST_IMAGE = Path("data/synthetic/test/images/000000.png")
MESH_RGB = np.array([110.0, 190.0, 255.0])


def default_image() -> tuple[np.ndarray, str]:
    """The first synthetic test render if `make data` ran, else a render of the template body."""
    if DEFAULT_TEST_IMAGE.is_file():
        return np.asarray(Image.open(DEFAULT_TEST_IMAGE).convert("RGB"), np.float32), str(DEFAULT_TEST_IMAGE)
    from model.data.synthetic import render_template_body

    return render_template_body(256, 192, seed=1000), "a render of the template body (seed 1000)"


def predict_mesh(net: torch.nn.Module, template, image: np.ndarray, box=None) -> tuple[np.ndarray, np.ndarray]:
    """Full-body mesh vertices (N, 3) in image pixels (z alike, away from the camera) and the
    low-poly visibility (V,) of the person in `box` [x0, y0, x1, y1] (default: the whole image)."""
    h_in, w_in = net.input_hw
    h, w = image.shape[:2]
    expand = 1.0 if box is None else get_variant(net.variant).crop.box_scale
    crop = crop_from_box(box if box is not None else [0, 0, w, h], w_in, h_in, expand=expand)
    x = torch.from_numpy(sample_crop(image, crop, w_in, h_in).transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        out = net(x, with_segmentation=False)
    low = out["vertices"][0].double().numpy()
    return crop_to_frame(template.upsample(low), crop), out["visibility"][0].numpy()


def shade(vertices: np.ndarray, faces: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) Lambert-shaded render (light from the camera) and its (H, W) coverage."""
    r = rasterize(vertices[:, :2], vertices[:, 2], faces, height, width)
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    lambert = 0.25 + 0.75 * np.abs(normal[:, 2])  # both windings: the side view mirrors one axis
    shaded = np.zeros((height, width, 3))
    shaded[r.mask] = lambert[r.face_id[r.mask], None] * MESH_RGB
    return shaded, r.mask


def side_view(vertices: np.ndarray, height: int, width: int) -> np.ndarray:
    """The mesh turned 90 degrees about the image's vertical axis, fitted into (height, width)."""
    centre = vertices.mean(axis=0)
    turned = np.stack([vertices[:, 2] - centre[2], vertices[:, 1] - centre[1], centre[0] - vertices[:, 0]], 1)
    span = np.ptp(turned[:, :2], axis=0).max() + 1e-9
    scale = 0.9 * min(height, width) / span
    turned[:, :2] = turned[:, :2] * scale + np.array([width / 2.0, height / 2.0])
    turned[:, 2] *= scale
    return turned


def compose(image: np.ndarray, vertices: np.ndarray, faces: np.ndarray, alpha: float = 0.65) -> np.ndarray:
    """input | overlay | side view, as one (H, 3W, 3) uint8 image."""
    h, w = image.shape[:2]
    front, covered = shade(vertices, faces, h, w)
    overlay = image.astype(np.float64).copy()
    overlay[covered] = (1 - alpha) * overlay[covered] + alpha * front[covered]
    side, side_covered = shade(side_view(vertices, h, w), faces, h, w)
    side[~side_covered] = 40.0
    return np.clip(np.concatenate([image, overlay, side], axis=1), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from model.build import create_model
    from model.checkpoint import load_checkpoint
    from model.template import load_template

    p = argparse.ArgumentParser(prog="python -m model.tools.demo", description=__doc__.splitlines()[0])
    p.add_argument("--image", type=Path, default=None, help="default: " + str(DEFAULT_TEST_IMAGE))
    p.add_argument("--box", default=None, help="person box x0,y0,x1,y1 in image pixels (default: whole image)")
    p.add_argument("--variant", default="xs")
    p.add_argument("--ckpt", type=Path, default=None, help="default: the shipped checkpoint of the variant")
    p.add_argument("--out", type=Path, default=Path("artifacts/demo/demo.png"))
    args = p.parse_args(argv)
    try:
        if args.image is not None:
            if not args.image.is_file():
                raise FileNotFoundError(f"image {args.image} not found")
            image, source = np.asarray(Image.open(args.image).convert("RGB"), np.float32), str(args.image)
        else:
            image, source = default_image()
        box = [float(v) for v in args.box.split(",")] if args.box else None
        if box is not None and len(box) != 4:
            raise ValueError(f"--box needs x0,y0,x1,y1, got {args.box!r}")
        template = load_template()
        net = create_model(args.variant, template).eval()
        ckpt = args.ckpt or get_variant(args.variant).checkpoint
        load_checkpoint(net, ckpt, variant=args.variant, template=template)
        vertices, visibility = predict_mesh(net, template, image, box)
        panel = compose(image, vertices, np.asarray(template.full_faces))
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(panel).save(args.out)
    print(f"{source}: {int((visibility > 0.5).sum())}/{len(visibility)} vertices visible; "
          f"wrote {args.out} (input | overlay | side view)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
