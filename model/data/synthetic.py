"""Synthetic training samples: a random Anny body rendered into a person crop, with DensePose-style
annotations on the low-poly template, 2D/3D low-poly vertices, per-vertex visibility and COCO-17
keypoints. Deterministic by seed.

Camera: weak perspective looking along Anny's +y (the body faces the camera at yaw 0), image
x = body x, image y = -body z, depth = body y; the body is rotated about its vertical axis and
tilted slightly, then framed by a jittered person crop (sometimes cutting limbs: truncation), and
a random rectangle can occlude part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from model.data.raster import rasterize
from model.pipeline.crop import crop_from_box
from model.template.mesh_ops import closest_points

COCO_VISIBLE, COCO_OCCLUDED, COCO_OUTSIDE = 2, 1, 0


@dataclass(frozen=True)
class RenderConfig:
    """Crop size and sampling settings."""

    height: int = 256
    width: int = 192
    points_per_instance: int = 100
    occluder_probability: float = 0.25
    truncation_probability: float = 0.2
    visibility_depth_tolerance_m: float = 0.03
    # Crop size over the body's box: larger values frame a smaller person.
    expand_range: tuple[float, float] = (1.1, 1.4)


def _rot_z(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def _rot_x(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def random_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = rng.uniform(20, 230, 3)
    img = base + rng.uniform(-80, 80, (2, 3))[0] * xx[..., None] + rng.uniform(-80, 80, 3) * yy[..., None]
    freq = rng.uniform(3, 25, 2)
    img += rng.uniform(0, 25) * np.sin(freq[0] * xx + freq[1] * yy)[..., None]
    return img + rng.normal(0, rng.uniform(1, 8), (h, w, 3))


def _part_palette(rng: np.random.Generator) -> np.ndarray:
    """RGB per DensePose part (index 0 unused): skin, top, bottom, shoes."""
    skin = np.array([rng.uniform(90, 240), rng.uniform(60, 200), rng.uniform(40, 170)])
    skin[1] = min(skin[1], skin[0])
    skin[2] = min(skin[2], skin[1])
    top, bottom, shoes = rng.uniform(0, 255, (3, 3))
    pal = np.tile(skin, (25, 1))
    pal[[1, 2]] = top  # torso
    pal[[15, 16, 17, 18]] = top if rng.random() < 0.6 else skin  # upper arms: sleeves or not
    pal[[19, 20, 21, 22]] = top if rng.random() < 0.3 else skin
    pal[[7, 8, 9, 10]] = bottom
    pal[[11, 12, 13, 14]] = bottom if rng.random() < 0.7 else skin
    pal[[5, 6]] = shoes
    return pal


def render_sample(full_verts: np.ndarray, template, rng: np.random.Generator,
                  cfg: RenderConfig = RenderConfig(), full_faces: np.ndarray | None = None) -> dict[str, Any]:
    """Render one posed full Anny mesh (N, 3) into a crop with every annotation the training needs."""
    h, w = cfg.height, cfg.width
    rot = _rot_x(rng.uniform(-12, 12)) @ _rot_z(rng.uniform(-180, 180))
    body = full_verts @ rot.T
    low = template.downsample(body)  # (V, 3) posed low-poly, metres
    frame = np.stack([body[:, 0], -body[:, 2]], axis=1)
    lo, hi = frame.min(axis=0), frame.max(axis=0)
    box = [lo[0], lo[1], hi[0], hi[1]]
    if rng.random() < cfg.truncation_probability:  # frame only part of the body: limbs leave the crop
        cut = rng.uniform(0.3, 0.6)
        box = [lo[0], lo[1], hi[0], lo[1] + (hi[1] - lo[1]) * cut] if rng.random() < 0.5 else \
              [lo[0], hi[1] - (hi[1] - lo[1]) * cut, hi[0], hi[1]]
    crop = crop_from_box(box, w, h, expand=rng.uniform(*cfg.expand_range))
    jitter = rng.uniform(-0.06, 0.06, 2) * crop.scale * np.array([w, h])
    x0, y0 = crop.x0 + jitter[0], crop.y0 + jitter[1]
    to_px = lambda p: np.stack([(p[:, 0] - x0) / crop.scale, (-p[:, 2] - y0) / crop.scale], axis=1)  # noqa: E731
    full_px, low_px = to_px(body), to_px(low)
    full_depth = body[:, 1] / crop.scale  # pixels; larger = farther
    faces = full_faces if full_faces is not None else template.full_faces
    raster = rasterize(full_px, full_depth, faces, h, w)

    # Shading: per-face part colour (through each full vertex's nearest low-poly vertex), Lambert light.
    part_of_full = template.parts[template.upsample_index[:, 0]]
    pal = _part_palette(rng)
    tri = body[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    light = np.array([rng.uniform(-0.6, 0.6), -1.0, rng.uniform(-0.2, 0.8)])
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.abs(normals @ light)
    image = random_background(rng, h, w)
    m = raster.mask
    fid = raster.face_id[m]
    colour = pal[part_of_full[faces[fid, 0]]] * shade[fid, None]
    image[m] = colour * rng.uniform(0.8, 1.2) + rng.normal(0, 3, colour.shape)
    mask = m.copy()
    if rng.random() < cfg.occluder_probability:  # a random box in front of the person
        oh, ow = int(rng.uniform(0.15, 0.4) * h), int(rng.uniform(0.2, 0.6) * w)
        oy, ox = int(rng.uniform(0, h - oh)), int(rng.uniform(0, w - ow))
        image[oy : oy + oh, ox : ox + ow] = rng.uniform(0, 255, 3)
        mask[oy : oy + oh, ox : ox + ow] = False
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)

    # Per-vertex visibility: inside the crop, not occluded (z-buffer), not behind the occluder.
    low_depth = low[:, 1] / crop.scale
    px = np.floor(low_px).astype(int)
    inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
    visible = np.zeros(len(low), bool)
    tol = cfg.visibility_depth_tolerance_m / crop.scale
    ii = np.flatnonzero(inside)
    visible[ii] = mask[px[ii, 1], px[ii, 0]] & (low_depth[ii] <= raster.depth[px[ii, 1], px[ii, 0]] + tol)

    # DensePose points on the low-poly surface: sample foreground pixels, lift to 3D, snap to the template.
    ys, xs = np.nonzero(mask)
    n = min(cfg.points_per_instance, len(ys))
    pick = rng.choice(len(ys), n, replace=False) if n else np.zeros(0, int)
    ys, xs = ys[pick], xs[pick]
    f_hit = raster.face_id[ys, xs]
    p3 = (raster.bary[ys, xs][:, :, None] * body[faces[f_hit]]).sum(axis=1)
    low_face, low_bary, _ = closest_points(p3, low, template.faces)
    corners = template.faces[low_face]
    uv = (low_bary[:, :, None] * template.uv[corners]).sum(axis=1)

    verts3d = np.concatenate([low_px, (low_depth - low_depth.mean())[:, None]], axis=1)
    joints = template.coco17 @ verts3d
    top_vertex = template.coco17.argmax(axis=1)
    jx = np.floor(joints[:, :2]).astype(int)
    j_inside = (jx[:, 0] >= 0) & (jx[:, 0] < w) & (jx[:, 1] >= 0) & (jx[:, 1] < h)
    kp_vis = np.where(j_inside, np.where(visible[top_vertex], COCO_VISIBLE, COCO_OCCLUDED), COCO_OUTSIDE)
    if mask.any():
        my, mx = np.nonzero(mask)
        bbox = [float(mx.min()), float(my.min()), float(mx.max() + 1 - mx.min()), float(my.max() + 1 - my.min())]
    else:
        bbox = [0.0, 0.0, 0.0, 0.0]
    return {
        "image": image,
        "mask": mask,
        "bbox": bbox,
        "dp_xy": np.stack([xs + 0.5, ys + 0.5], axis=1),
        "dp_I": template.face_parts[low_face],
        "dp_UV": uv,
        "dp_face": low_face,
        "dp_bary": low_bary,
        "vertices": verts3d,
        "visibility": visible,
        "keypoints": np.concatenate([joints[:, :2], kp_vis[:, None]], axis=1),
        "crop_scale_m_per_px": crop.scale,
    }


def render_template_body(height: int, width: int, seed: int, template=None) -> np.ndarray:
    """(H, W, 3) float32 RGB render of the template's rest body (integer values in [0, 255]).

    The template's rest mesh lifted to the full mesh by its upsampler, rendered under a seeded
    random view, colours, lighting and background, without occluders or truncation (no Anny
    import needed). The same seed always gives the same bytes: golden inputs and demos use it.
    """
    if template is None:
        from model.template import load_template

        template = load_template()
    body = template.upsample(template.vertices.astype(np.float64))
    cfg = RenderConfig(height=height, width=width, occluder_probability=0.0, truncation_probability=0.0)
    return render_sample(body, template, np.random.default_rng(seed), cfg)["image"].astype(np.float32)
