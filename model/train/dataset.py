"""Samples in the DensePose-COCO layout (synthetic renders; the fields real data also has) as tensors,
with augmentation: horizontal flip through the template's mirror vertices, in-plane scale and rotation
about the crop centre, colour jitter and, where asked, the extremes a phone camera meets (very dark,
over-exposed, blurred, a small person far away) and frames with no person at all (negatives: every
vertex invisible, an empty mask, no mesh loss).

Augmentation draws from np.random.default_rng([seed, epoch, index]), so a sample's augmentation
depends only on those three numbers (what makes resuming a run bit-for-bit possible).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model.cli import InputError, read_json

# COCO-17 left/right swap under a horizontal flip.
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
CAMERA_EXTREMES = ("dark", "overexposed", "blurred", "far")


class MeshPoseDataset:
    """Reads <split>/annotations.json and its images; `get(i, epoch, seed)` returns a dict of tensors."""

    def __init__(self, split_dir: str | Path, template, points: int = 100, flip_probability: float = 0.5,
                 colour_jitter: float = 0.2, scale_jitter: float = 0.0, rotation_deg: float = 0.0,
                 extreme_probability: float = 0.0, negative_probability: float = 0.0) -> None:
        self.dir = Path(split_dir)
        path = self.dir / "annotations.json"
        data = read_json(path, "annotations file", ("info", "images", "annotations"),
                         hint="`make data` writes the synthetic splits")
        if not isinstance(data["info"], dict) or not all(isinstance(data[k], list) for k in ("images", "annotations")):
            raise InputError(f"annotations file {path}: 'info' must be an object, 'images' and 'annotations' lists")
        if data["info"].get("template_sha256") not in (None, template.sha256):
            raise ValueError(f"{path} was made for another template ({data['info']['template_sha256'][:12]})")
        self.images = {im["id"]: im for im in data["images"]}
        self.anns = data["annotations"]
        self.template = template
        self.points = points
        self.flip_probability = flip_probability
        self.colour_jitter = colour_jitter
        self.scale_jitter = scale_jitter
        self.rotation_deg = rotation_deg
        self.extreme_probability = extreme_probability
        self.negative_probability = negative_probability
        self.mirror = template.mirror_index()

    def __len__(self) -> int:
        return len(self.anns)

    def get(self, index: int, epoch: int = 0, seed: int = 0, augment: bool = True) -> dict[str, torch.Tensor]:
        """One sample as tensors (see the keys below)."""
        ann = self.anns[index]
        meta = self.images[ann["image_id"]]
        image = np.asarray(Image.open(self.dir / "images" / meta["file_name"]).convert("RGB"), np.float32)
        w = image.shape[1]
        from pycocotools import mask as mask_utils

        seg = dict(ann["segmentation"], counts=ann["segmentation"]["counts"].encode())
        mask = mask_utils.decode(seg).astype(np.float32)
        verts = np.asarray(ann["vertices"], np.float32)
        vis = np.asarray(ann["vertex_visibility"], np.float32)
        bx, by, bw, bh = ann["bbox"]
        dp = np.stack([bx + np.asarray(ann["dp_x"]) * bw / 256.0, by + np.asarray(ann["dp_y"]) * bh / 256.0], 1)
        faces = self.template.faces[np.asarray(ann["dp_face"], np.int64)].astype(np.int64)
        bary = np.asarray(ann["dp_bary"], np.float32)
        kp = np.asarray(ann["keypoints"], np.float32).reshape(17, 3)
        rng = np.random.default_rng([seed, epoch, index])
        if augment and rng.random() < self.flip_probability:
            image, mask = image[:, ::-1].copy(), mask[:, ::-1].copy()
            verts = verts[self.mirror].copy()
            verts[:, 0] = w - verts[:, 0]
            vis = vis[self.mirror]
            dp[:, 0] = w - dp[:, 0]
            faces = self.mirror[faces]  # the mirror point: same barycentrics of the mirror vertices
            kp = kp[COCO_FLIP].copy()
            kp[:, 0] = w - kp[:, 0]
        if augment and (self.scale_jitter or self.rotation_deg):
            scale = 1 + rng.uniform(-self.scale_jitter, self.scale_jitter)
            angle = np.deg2rad(rng.uniform(-self.rotation_deg, self.rotation_deg))
            image, mask, verts, vis, dp, dp_keep, kp = _scale_rotate(image, mask, verts, vis, dp, kp, scale, angle)
            faces, bary = faces[dp_keep], bary[dp_keep]
        if augment and self.colour_jitter:
            gain = 1 + rng.uniform(-self.colour_jitter, self.colour_jitter, 3)
            bias = rng.uniform(-20, 20) * self.colour_jitter
            image = np.clip(image * gain + bias, 0, 255).astype(np.float32)
        # Drawn after the ones above so that runs without them keep their augmentation streams.
        if augment and self.extreme_probability and rng.random() < self.extreme_probability:
            kind = CAMERA_EXTREMES[int(rng.integers(len(CAMERA_EXTREMES)))]
            image, mask, verts, vis, dp, keep, kp = camera_extreme(kind, rng, image, mask, verts, vis, dp, kp)
            faces, bary = faces[keep], bary[keep]
        has_person = 1.0
        if augment and self.negative_probability and rng.random() < self.negative_probability:
            image, has_person = empty_frame(rng, *image.shape[:2]), 0.0
            mask, vis, dp = np.zeros_like(mask), np.zeros_like(vis), dp[:0]
            faces, bary = faces[:0], bary[:0]
            kp = kp.copy()
            kp[:, 2] = 0
        n = min(len(dp), self.points)
        valid = np.zeros(self.points, np.float32)
        valid[:n] = 1
        pad = lambda a, fill=0: np.concatenate([a[:n], np.full((self.points - n, *a.shape[1:]), fill, a.dtype)])  # noqa: E731
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
            "mask": torch.from_numpy(mask),
            "vertices": torch.from_numpy(verts),
            "visibility": torch.from_numpy(vis),
            "dp_points": torch.from_numpy(pad(dp.astype(np.float32))),
            "dp_face_vertices": torch.from_numpy(pad(faces)),
            "dp_bary": torch.from_numpy(pad(bary, 1 / 3)),
            "dp_valid": torch.from_numpy(valid),
            "keypoints": torch.from_numpy(kp),
            "has_person": torch.tensor(has_person),
        }

    def batch(self, indices: list[int], epoch: int, seed: int, augment: bool = True) -> dict[str, torch.Tensor]:
        """Stack samples into a batch."""
        items = [self.get(i, epoch, seed, augment) for i in indices]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def _warp(channels: np.ndarray, inverse: np.ndarray, resample: int) -> np.ndarray:
    """Each (h, w) float channel resampled at inverse @ (x, y, 1) (PIL samples pixel centres)."""
    h, w = channels.shape[:2]
    coeffs = tuple(inverse[:2].reshape(-1))
    planes = [Image.fromarray(np.ascontiguousarray(channels[..., c]), mode="F").transform(
        (w, h), Image.Transform.AFFINE, coeffs, resample=resample, fillcolor=0.0) for c in range(channels.shape[2])]
    return np.stack([np.asarray(p, np.float32) for p in planes], axis=-1)


def _scale_rotate(image, mask, verts, vis, dp, kp, scale: float, angle: float):
    """The sample as a camera rolled by `angle` and zoomed by `scale` about the crop centre would
    see it: points move by the similarity, depths scale (they are in crop pixels); what leaves the
    crop becomes invisible, dense points there are dropped (returned keep mask)."""
    h, w = mask.shape
    centre = np.array([w / 2.0, h / 2.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = np.eye(3)
    forward[:2, :2], forward[:2, 2] = rot, centre - rot @ centre
    inverse = np.linalg.inv(forward)
    move = lambda p: p @ rot.T + forward[:2, 2]  # noqa: E731
    inside = lambda p: (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)  # noqa: E731
    image = np.clip(_warp(image, inverse, Image.Resampling.BILINEAR), 0, 255)
    mask = (_warp(mask[..., None], inverse, Image.Resampling.BILINEAR)[..., 0] > 0.5).astype(np.float32)
    verts = np.concatenate([move(verts[:, :2]), verts[:, 2:] * scale], axis=1).astype(np.float32)
    vis = vis * inside(verts)
    dp = move(dp)
    keep = inside(dp)
    kp = kp.copy()
    kp[:, :2] = move(kp[:, :2])
    kp[~inside(kp), 2] = 0
    return image, mask, verts, vis.astype(np.float32), dp[keep], keep, kp


def camera_extreme(kind: str, rng: np.random.Generator, image, mask, verts, vis, dp, kp):
    """The sample as a phone camera at its limits would see it: `dark` (a dim room: gain 0.04-0.15 and
    sensor noise), `overexposed` (gain 1.8-2.6 plus 40-90, clipped), `blurred` (defocus or motion,
    Gaussian radius 1.5-3.5 px) or `far` (the person at 0.45-0.75 of the size, the uncovered border
    filled by a fresh background). Returns the arrays and the keep mask of the dense points."""
    from PIL import ImageFilter

    from model.data.synthetic import random_background

    keep = np.ones(len(dp), bool)
    if kind == "dark":
        image = image * rng.uniform(0.04, 0.15) + rng.normal(0, rng.uniform(0.5, 2.5), image.shape)
    elif kind == "overexposed":
        image = image * rng.uniform(1.8, 2.6) + rng.uniform(40, 90)
    elif kind == "blurred":
        pil = Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8))
        image = np.asarray(pil.filter(ImageFilter.GaussianBlur(radius=rng.uniform(1.5, 3.5))), np.float32)
    elif kind == "far":
        h, w = mask.shape
        covered = np.ones((h, w, 1), np.float32)
        stacked = np.concatenate([image, covered], axis=-1)
        stacked, mask, verts, vis, dp, keep, kp = _scale_rotate(stacked, mask, verts, vis, dp, kp,
                                                                rng.uniform(0.45, 0.75), 0.0)
        cover = stacked[..., 3:]
        image = stacked[..., :3] * cover + random_background(rng, h, w) * (1 - cover)
    else:
        raise ValueError(f"unknown camera extreme {kind!r}; known: {', '.join(CAMERA_EXTREMES)}")
    return np.clip(image, 0, 255).astype(np.float32), mask, verts, vis, dp, keep, kp


EMPTY_FRAME_KINDS = ("background", "noise", "covered_lens")


def empty_frame(rng: np.random.Generator, h: int, w: int, kind: str | None = None) -> np.ndarray:
    """A frame with no person: a background, sensor noise (uniform random pixels) or a covered lens (near
    black); `kind` (one of EMPTY_FRAME_KINDS) picks one, None draws it from `rng`."""
    from model.data.synthetic import random_background

    if kind is None:
        kind = EMPTY_FRAME_KINDS[int(rng.integers(3))]
    if kind == "background":
        img = random_background(rng, h, w)
    elif kind == "noise":
        img = rng.uniform(0, 255, (h, w, 3))
    elif kind == "covered_lens":
        img = rng.normal(rng.uniform(0, 12), rng.uniform(0.5, 3), (h, w, 3))
    else:
        raise ValueError(f"unknown empty frame {kind!r}; known: {', '.join(EMPTY_FRAME_KINDS)}")
    return np.clip(img, 0, 255).astype(np.float32)
