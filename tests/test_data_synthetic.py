"""Synthetic renders: annotations consistent with the template, deterministic by seed.

The body is the template's rest mesh lifted to Anny's full mesh by the upsampler, so these
tests need no Anny import; `-m slow` also renders real Anny poses end to end.
"""

import copy
import json
import shutil

import numpy as np
import pytest

from model.data.synthetic import RenderConfig, render_sample


@pytest.fixture(scope="module")
def rest_body(template):
    return template.upsample(template.vertices.astype(np.float64))


def _render(template, body, seed):
    return render_sample(body, template, np.random.default_rng(seed), RenderConfig(occluder_probability=0.0,
                                                                                  truncation_probability=0.0))


def test_annotations_are_consistent_with_the_template(template, rest_body):
    s = _render(template, rest_body, 3)
    assert s["image"].shape == (256, 192, 3) and s["image"].dtype == np.uint8
    assert 3000 < s["mask"].sum() < 256 * 192 * 0.6
    assert len(s["dp_I"]) == 100
    assert (s["dp_I"] == template.face_parts[s["dp_face"]]).all()
    assert np.allclose(s["dp_bary"].sum(axis=1), 1.0) and (s["dp_UV"] >= 0).all() and (s["dp_UV"] <= 1).all()
    # DensePose points lie on the mask.
    px = np.floor(s["dp_xy"]).astype(int)
    assert s["mask"][px[:, 1], px[:, 0]].all()
    # The body is framed: its vertices are inside the crop and roughly half of them face the camera.
    v = s["vertices"]
    assert (v[:, 0] > -2).all() and (v[:, 0] < 194).all() and (v[:, 1] > -2).all() and (v[:, 1] < 258).all()
    assert 0.25 < s["visibility"].mean() < 0.8
    assert abs(v[:, 2].mean()) < 1e-6  # root-relative depth
    assert set(np.unique(s["keypoints"][:, 2])) <= {0, 1, 2}


def test_visible_vertices_are_on_the_near_side(template, rest_body):
    s = _render(template, rest_body, 5)
    vis, depth = s["visibility"], s["vertices"][:, 2]
    assert depth[vis].mean() < depth[~vis].mean()


def test_deterministic_by_seed(template, rest_body):
    a, b, c = _render(template, rest_body, 11), _render(template, rest_body, 11), _render(template, rest_body, 12)
    assert np.array_equal(a["image"], b["image"]) and np.array_equal(a["vertices"], b["vertices"])
    assert not np.array_equal(a["image"], c["image"])


@pytest.mark.slow
def test_generate_writes_a_densepose_coco_split(tmp_path):
    from pycocotools import mask as mask_utils

    from model.data.generate import main

    assert main(["--out", str(tmp_path), "--splits", "val", "--count", "8", "--workers", "1"]) == 0
    data = json.loads((tmp_path / "val" / "annotations.json").read_text())
    assert len(data["images"]) == 8 and len(data["annotations"]) == 8
    ann = data["annotations"][0]
    rle = dict(ann["segmentation"], counts=ann["segmentation"]["counts"].encode())
    assert mask_utils.area(rle) == ann["area"]
    assert all(0 <= x < 256.01 for x in ann["dp_x"]) and len(ann["keypoints"]) == 51
    assert (tmp_path / "val" / "preview.png").is_file()


def test_a_larger_count_keeps_what_an_earlier_run_rendered(tmp_path, template, monkeypatch):
    from model.data import generate as gen
    from tests.conftest import write_rest_body_split

    split = tmp_path / "val"
    write_rest_body_split(split, template, range(3))
    before = json.loads((split / "annotations.json").read_text())
    # Another description (not this split and seed): nothing is reused.
    assert gen.existing_records(split, gen.split_description("val", gen.SPLIT_SEEDS["val"])) == []
    before["info"]["description"] = gen.split_description("val", gen.SPLIT_SEEDS["val"])
    (split / "annotations.json").write_text(json.dumps(before))
    kept = gen.existing_records(split, before["info"]["description"])
    assert [r["annotation"] for r in kept] == before["annotations"]

    rendered = []

    def fake_render(job):  # a copy of sample 0 under the new index
        index = job[2]
        rendered.append(index)
        name = f"{index:06d}.png"
        shutil.copy(split / "images" / kept[0]["image"]["file_name"], split / "images" / name)
        rec = copy.deepcopy(kept[0])
        rec["image"].update(id=index + 1, file_name=name)
        rec["annotation"].update(id=index + 1, image_id=index + 1)
        return rec

    monkeypatch.setattr(gen, "make_one", fake_render)

    class SerialPool:  # the renderer is stubbed: check which indices would be rendered
        def __init__(self, *a, **k): pass
        def __enter__(self): return self
        def __exit__(self, *a): return False
        def imap(self, f, jobs, chunksize=1): return map(f, jobs)

    monkeypatch.setattr(gen.mp, "get_context", lambda _: type("Ctx", (), {"Pool": SerialPool})())
    gen.generate("val", 5, tmp_path, workers=1)
    assert rendered == [3, 4]
    after = json.loads((split / "annotations.json").read_text())
    assert after["annotations"][:3] == before["annotations"] and len(after["annotations"]) == 5
    rendered.clear()
    gen.generate("val", 2, tmp_path, workers=1)  # fewer: nothing rendered, the split is cut
    assert rendered == [] and len(json.loads((split / "annotations.json").read_text())["images"]) == 2
    (split / "images" / "000001.png").unlink()  # a missing image: start over
    assert gen.existing_records(split, before["info"]["description"]) == []
