"""`python -m model.template.smpl`: a low-poly template from the user's own SMPL model and DensePose UV files.

The template has the same format as the shipped Anny template.

The user downloads, under their licences (never shipped with this project):
- an SMPL model: `SMPL_NEUTRAL.npz` (arrays) or the original `basicModel_*.pkl` /
  `SMPL_NEUTRAL.pkl` (a Python 2 pickle holding numpy arrays, a scipy sparse matrix and
  chumpy objects);
- DensePose's `UV_Processed.mat` (DensePoseData/UV_data): the seam-split copy of SMPL in which
  each UV vertex is one (SMPL vertex, part) pair: All_vertices (1-based SMPL index),
  All_FaceIndices (part 1..24 per face), All_Faces (1-based), All_U_norm, All_V_norm.

Loading executes no code: .npz without pickles, .mat through scipy, and .pkl through an
unpickler that builds only numpy arrays, scipy sparse matrices and inert stand-ins for
chumpy objects; any other global in the file is refused.

The template's charts are DensePose's own: every low-poly vertex is an SMPL vertex (the
same Voronoi remesh as the Anny builder), its part the DensePose part its faces carry, and
its (U, V) DensePose's for that (vertex, part) copy, so DensePose-COCO annotations land on it
exactly where DensePose put them.
"""

from __future__ import annotations

import argparse
import codecs
import copyreg
import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from model.cli import run_main
from model.template.asset import SMPL_TEMPLATE_NAME, TemplateError, save_template_arrays
from model.template.build import (
    COCO17,
    LSP14,
    SEGMENT_DENSITY,
    edge_graph,
    landmarkers,
    linear_upsampler,
    log,
    remesh_to_target,
    symmetry_map,
    template_arrays,
)
from model.template.parts import PART_NAMES, SEGMENTS

TEMPLATE_VERSION = "1"
DEFAULT_TARGET_VERTICES = 518
# SMPL: y up, subject faces +z, subject's left at +x. Ours: z up, faces -y, left at +x.
SMPL_TO_TEMPLATE = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
# SMPL joint (J_regressor row) of each COCO body keypoint.
SMPL_JOINT_OF = {
    "left_shoulder": 16, "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19, "left_wrist": 20,
    "right_wrist": 21, "left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5, "left_ankle": 7,
    "right_ankle": 8,
}
# SMPL surface vertices of the face keypoints, as the SMPLify family of fitting codes uses them.
SMPL_FACE_VERTICES = {"nose": 332, "left_eye": 2800, "right_eye": 6260, "left_ear": 583, "right_ear": 4071}
SMPL_KEYS = ("v_template", "f", "J_regressor")
UV_KEYS = ("All_vertices", "All_Faces", "All_FaceIndices", "All_U_norm", "All_V_norm")


class _InertObject:
    """Stand-in for a chumpy object in an SMPL pickle: keeps its state (the array is in 'x')."""

    def __setstate__(self, state) -> None:
        self.state = state


def _sparse_classes() -> dict[tuple[str, str], type]:
    import scipy.sparse

    out = {}
    for kind in ("csc", "csr", "coo"):
        cls = getattr(scipy.sparse, f"{kind}_matrix")
        for module in (f"scipy.sparse.{kind}", f"scipy.sparse._{kind}", "scipy.sparse"):
            out[(module, f"{kind}_matrix")] = cls
    return out


class SafeSmplUnpickler(pickle.Unpickler):
    """Unpickler for SMPL .pkl files that can build nothing but data (no code runs)."""

    def find_class(self, module: str, name: str):
        from numpy._core import multiarray

        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
            ("numpy.core.multiarray", "scalar"): multiarray.scalar,
            ("numpy._core.multiarray", "scalar"): multiarray.scalar,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("copy_reg", "_reconstructor"): copyreg._reconstructor,
            ("copyreg", "_reconstructor"): copyreg._reconstructor,
            ("__builtin__", "object"): object,
            ("builtins", "object"): object,
            # chumpy objects keep sets (e.g. _dirty_vars) in their state.
            ("__builtin__", "set"): set,
            ("builtins", "set"): set,
            # Protocol-2 pickles written by Python 3 store bytes as _codecs.encode(text, "latin1").
            ("_codecs", "encode"): codecs.encode,
            **_sparse_classes(),
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module == "chumpy" or module.startswith("chumpy."):
            return _InertObject
        raise pickle.UnpicklingError(f"refused global {module}.{name}: an SMPL file holds only arrays")


def _as_array(value, key: str, path: Path) -> np.ndarray:
    if isinstance(value, _InertObject):
        state = value.state if isinstance(value.state, dict) else {}
        value = state.get("x")
    if hasattr(value, "toarray"):  # scipy sparse
        value = value.toarray()
    if not isinstance(value, np.ndarray):
        raise TemplateError(f"{path}: {key} is {type(value).__name__}, not an array")
    return value


def load_smpl(path: str | Path) -> dict[str, np.ndarray]:
    """v_template (N, 3), f (F, 3) and J_regressor (24, N) from an SMPL .npz or .pkl."""
    path = Path(path)
    if not path.is_file():
        raise TemplateError(f"SMPL model {path} not found (download it from the SMPL website)")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                raw = {k: z[k] for k in z.files if k in SMPL_KEYS}
        except ValueError as exc:  # object arrays need pickles: refused
            raise TemplateError(f"{path}: {exc} (store J_regressor dense in the .npz)") from None
    elif path.suffix == ".pkl":
        with path.open("rb") as f:
            data = SafeSmplUnpickler(f, encoding="latin1").load()
        if not isinstance(data, dict):
            raise TemplateError(f"{path}: expected a dict of arrays, found {type(data).__name__}")
        raw = {k: _as_array(v, k, path) for k, v in data.items() if k in SMPL_KEYS}
    else:
        raise TemplateError(f"{path}: expected an SMPL .npz or .pkl file")
    missing = [k for k in SMPL_KEYS if k not in raw]
    if missing:
        raise TemplateError(f"{path}: missing {', '.join(missing)}")
    v, f, j = (np.asarray(raw[k]) for k in SMPL_KEYS)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or j.shape != (24, len(v)):
        raise TemplateError(f"{path}: v_template {v.shape}, f {f.shape}, J_regressor {j.shape} "
                            "are not (N, 3), (F, 3), (24, N)")
    if f.min() < 0 or f.max() >= len(v):
        raise TemplateError(f"{path}: f indexes past the {len(v)} vertices")
    return {"v_template": v.astype(np.float64), "f": f.astype(np.int64), "J_regressor": j.astype(np.float64)}


def load_densepose_uv(path: str | Path, num_smpl_vertices: int) -> dict[str, np.ndarray]:
    """DensePose's UV_Processed.mat as 0-based arrays: vertex (K,), faces (G, 3), part (G,), uv (K, 2)."""
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise TemplateError(f"DensePose UV file {path} not found (UV_Processed.mat from DensePose's UV_data)")
    mat = loadmat(str(path))
    missing = [k for k in UV_KEYS if k not in mat]
    if missing:
        raise TemplateError(f"{path}: missing {', '.join(missing)}")
    vertex = np.asarray(mat["All_vertices"]).reshape(-1).astype(np.int64) - 1
    faces = np.asarray(mat["All_Faces"]).astype(np.int64) - 1
    part = np.asarray(mat["All_FaceIndices"]).reshape(-1).astype(np.int64)
    uv = np.stack([np.asarray(mat["All_U_norm"]).reshape(-1), np.asarray(mat["All_V_norm"]).reshape(-1)], 1)
    if faces.ndim != 2 or faces.shape[1] != 3 or len(part) != len(faces) or len(uv) != len(vertex):
        raise TemplateError(f"{path}: inconsistent shapes: All_Faces {faces.shape}, All_FaceIndices {part.shape}, "
                            f"UV {uv.shape}, All_vertices {vertex.shape}")
    if vertex.min() < 0 or vertex.max() >= num_smpl_vertices:
        raise TemplateError(f"{path}: All_vertices index past the SMPL model's {num_smpl_vertices} vertices")
    if faces.min() < 0 or faces.max() >= len(vertex) or part.min() < 1 or part.max() > 24:
        raise TemplateError(f"{path}: All_Faces or All_FaceIndices out of range")
    return {"vertex": vertex, "faces": faces, "part": part, "uv": np.clip(uv, 0.0, 1.0)}


def vertex_parts_and_charts(uvdata: dict[str, np.ndarray], num_vertices: int):
    """Majority DensePose part of each SMPL vertex, and (SMPL vertex, part) -> mean (U, V) of its copies."""
    counts = np.zeros((num_vertices, 25), np.int64)
    corner_vertex = uvdata["vertex"][uvdata["faces"]]  # (G, 3) SMPL vertices
    np.add.at(counts, (corner_vertex.reshape(-1), np.repeat(uvdata["part"], 3)), 1)
    parts = counts.argmax(axis=1).astype(np.int32)
    copies: dict[tuple[int, int], list[int]] = {}
    for g, tri in enumerate(uvdata["faces"]):
        for k in tri:
            copies.setdefault((int(uvdata["vertex"][k]), int(uvdata["part"][g])), []).append(int(k))
    chart = {key: uvdata["uv"][sorted(set(ks))].mean(axis=0) for key, ks in copies.items()}
    return parts, chart


def mirror_parts_from_data(parts: np.ndarray, mirror: np.ndarray) -> dict[int, int]:
    """Mirror part of each part, read off the mesh: the part where most of its vertices' mirror
    images land. DensePose's own flip table swaps parts 23 and 24 (its head halves are left and
    right), unlike this project's Anny template (head back and front); the data decides."""
    out = {}
    for p in np.unique(parts):
        out[int(p)] = int(np.bincount(parts[mirror[parts == p]], minlength=25).argmax())
    return out


def chart_uv(vertex: int, part: int, chart: dict, positions: np.ndarray) -> tuple[np.ndarray, bool]:
    """(U, V) of an SMPL vertex on a part's chart; where DensePose has no copy of the vertex in that
    part, the (U, V) of the nearest vertex that has one (returned flag: True if exact)."""
    if (vertex, part) in chart:
        return chart[(vertex, part)], True
    same = [v for (v, p) in chart if p == part]
    nearest = same[int(np.argmin(np.linalg.norm(positions[same] - positions[vertex], axis=1)))]
    return chart[(nearest, part)], False


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def coco17_rows(smpl: dict[str, np.ndarray], vertices: np.ndarray,
                face_vertices: dict[str, int] | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """(17, N) convex weights giving COCO-17 keypoints from an SMPL mesh, and the face vertices used.

    Body keypoints are SMPL's J_regressor joints (rows normalised); nose, eyes and ears are single
    surface vertices (`face_vertices`, default SMPL's). `vertices` (N, 3) in a frame where the
    subject's left is +x decides which eye/ear is left, whatever the ids were named.
    """
    n = len(vertices)
    face_vertices = dict(face_vertices or SMPL_FACE_VERTICES)
    if set(face_vertices) != set(SMPL_FACE_VERTICES) or max(face_vertices.values()) >= n:
        raise TemplateError(f"face keypoint vertices {face_vertices} do not fit a {n}-vertex model; "
                            f"pass one vertex for each of {sorted(SMPL_FACE_VERTICES)}")
    for left, right in (("left_eye", "right_eye"), ("left_ear", "right_ear")):
        if vertices[face_vertices[left], 0] < vertices[face_vertices[right], 0]:
            face_vertices[left], face_vertices[right] = face_vertices[right], face_vertices[left]
    joints = smpl["J_regressor"] / smpl["J_regressor"].sum(axis=1, keepdims=True)
    rows = np.zeros((17, n))
    for i, name in enumerate(COCO17):
        if name in SMPL_JOINT_OF:
            rows[i] = joints[SMPL_JOINT_OF[name]]
        else:
            rows[i, face_vertices[name]] = 1.0
    return rows, face_vertices


def build_from_smpl(smpl_path: str | Path, uv_path: str | Path, target_vertices: int = DEFAULT_TARGET_VERTICES,
                    face_vertices: dict[str, int] | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All template arrays and metadata from the user's SMPL and UV files.

    `face_vertices`: SMPL vertex of nose, eyes and ears (default: SMPL's, for 6,890-vertex models).
    """
    smpl_path, uv_path = Path(smpl_path), Path(uv_path)
    smpl = load_smpl(smpl_path)
    full_v = smpl["v_template"] @ SMPL_TO_TEMPLATE.T
    full_f = smpl["f"]
    n = len(full_v)
    coco_full, face_vertices = coco17_rows(smpl, full_v, face_vertices)
    uvdata = load_densepose_uv(uv_path, n)
    log(f"SMPL: {n} vertices, {len(full_f)} faces; DensePose UV: {len(uvdata['vertex'])} copies, "
        f"{len(uvdata['faces'])} faces, parts {sorted(set(uvdata['part'].tolist()))}")
    full_parts, chart = vertex_parts_and_charts(uvdata, n)

    # Thin limbs need denser seeds to keep both halves of their parts (as for Anny).
    segment_of_part = {p: seg for seg, ps in SEGMENTS.items() for p in ps}
    density = np.array([SEGMENT_DENSITY.get(segment_of_part.get(int(p), ""), 1.0) for p in full_parts])
    graph = edge_graph(full_v, full_f, density)
    mirror = cKDTree(full_v).query(full_v * np.array([-1.0, 1.0, 1.0]))[1]
    total, num_base, _, seeds, faces, origin, parts, seams, face_parts = remesh_to_target(
        full_v, full_f, graph, mirror, target_vertices, lambda s: full_parts[s])
    log(f"remeshed: {num_base} vertices + {len(seams)} seam duplicates = {total}, {len(faces)} faces")

    part_mirror = mirror_parts_from_data(full_parts, mirror)
    log(f"part mirror from the mesh: {part_mirror}")
    source = seeds[origin]  # SMPL vertex of every low-poly vertex
    vertices = full_v[source]
    looked_up = [chart_uv(int(v), int(p), chart, full_v) for v, p in zip(source, parts)]
    uv = np.array([u for u, _ in looked_up])
    exact = int(sum(ok for _, ok in looked_up))
    log(f"charts: {exact}/{total} vertices carry DensePose's own (U, V), the rest their part's nearest")
    upsample_index, up_weight = linear_upsampler(full_v, vertices, faces, parts)
    up_err = np.linalg.norm((up_weight[:, :, None] * vertices[upsample_index]).sum(1) - full_v, axis=1)

    coco17, lsp14 = landmarkers(coco_full, upsample_index, up_weight, vertices, parts)
    downsampler = (np.repeat(source[:, None], 3, axis=1), np.tile(np.array([1.0, 0.0, 0.0]), (total, 1)))
    arrays = template_arrays(vertices, faces, face_parts, parts, uv, seams, symmetry_map(vertices, parts, part_mirror),
                             coco17, lsp14, (upsample_index, up_weight), downsampler, full_f)
    meta = {
        "name": SMPL_TEMPLATE_NAME,
        "version": TEMPLATE_VERSION,
        "source": f"SMPL v_template ({smpl_path.name}) and DensePose charts ({uv_path.name}), user-supplied",
        "smpl_file_sha256": _sha256(smpl_path),
        "uv_file_sha256": _sha256(uv_path),
        "target_vertices": str(target_vertices),
        "remesh_seeds": str(num_base),
        "remesh": "geodesic farthest-point seeds (left/right symmetric), Voronoi dual, manifold cleanup",
        "frame": "metres; z up, subject faces -y, subject's left at +x (SMPL rotated: y up -> z up)",
        "charts": f"DensePose UV_Processed; {exact}/{total} vertices exact, others nearest in their part",
        "coco17_names": json.dumps(COCO17),
        "lsp14_names": json.dumps(LSP14),
        "coco17_source": "SMPL J_regressor joints; nose, eyes, ears at SMPL vertices " + json.dumps(face_vertices),
        "part_names": json.dumps({str(k): v for k, v in PART_NAMES.items()}),
        "full_mesh_vertices": str(n),
        "upsampler_rest_max_error_mm": f"{up_err.max() * 1e3:.3f}",
    }
    return arrays, meta


def main(argv: list[str] | None = None) -> int:
    """Build and write a template from SMPL + DensePose UV files."""
    from model.template.asset import load_template

    p = argparse.ArgumentParser(prog="python -m model.template.smpl", description=__doc__.splitlines()[0])
    p.add_argument("--smpl", type=Path, required=True, help="SMPL_NEUTRAL.npz or basicModel_*.pkl")
    p.add_argument("--uv", type=Path, required=True, help="DensePose UV_Processed.mat")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--vertices", type=int, default=DEFAULT_TARGET_VERTICES, help="target vertex count")
    p.add_argument("--face-vertices", type=json.loads, default=None,
                   help='JSON {"nose": i, "left_eye": i, ...}: face keypoint vertices (default: SMPL\'s)')
    args = p.parse_args(argv)
    try:
        arrays, meta = build_from_smpl(args.smpl, args.uv, args.vertices, args.face_vertices)
        save_template_arrays(args.out, arrays, meta)
        tpl = load_template(args.out, use_cache=False)
    except (TemplateError, pickle.UnpicklingError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB): {tpl.name} V={tpl.num_vertices}, "
          f"F={tpl.num_faces}, seams={len(tpl.seam_pairs)}, sha256={tpl.sha256[:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
