"""The committed app fixtures (read by the Swift and Kotlin suites) are valid and self-consistent."""

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from export.contract import ContractError, load_schema, validate_contract
from model.pipeline.crop import Crop, crop_from_box
from model.pipeline.decode import decode_outputs

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_golden_fixture_schema_and_decoding():
    fx = json.loads((FIXTURES / "golden_xs.json").read_text())
    jsonschema.validate(fx, load_schema("fixtures.schema.json"))
    w, h = fx["input"]["width"], fx["input"]["height"]
    for case in fx["cases"]:
        assert Crop(**case["crop"]) == crop_from_box(case["person_box"], w, h)
        raw = case["raw"]
        dec = decode_outputs(np.array(raw["vertices"]), np.array(raw["visibility"]), np.array(raw["joints"]),
                             Crop(**case["crop"]), w, h, fx["visibility_threshold"], origin=fx["origin_px"])
        assert np.allclose(dec.vertices, case["decoded"]["vertices"], atol=1e-9)
        assert np.allclose(dec.joints, case["decoded"]["joints"], atol=1e-9)
        assert dec.visible.tolist() == case["decoded"]["visible"]
        assert (dec.next_crop.to_dict() if dec.next_crop else None) == case["decoded"]["next_crop"]


def test_sample_contract_validates_and_matches_fixture():
    contract = json.loads((FIXTURES / "contract_xs.json").read_text())
    validate_contract(contract)
    fx = json.loads((FIXTURES / "golden_xs.json").read_text())
    v = contract["template"]["num_vertices"]
    assert len(fx["cases"][0]["raw"]["vertices"]) == v
    assert contract["input"]["width"] == fx["input"]["width"]


def test_golden_fixture_meshes_land_on_their_person_boxes():
    """The raw outputs are about the crop centre (contract v3): decoding without origin_px would put the rest-pose
    mesh half a crop up and to the left of its person box, outside it."""
    fx = json.loads((FIXTURES / "golden_xs.json").read_text())
    w, h = fx["input"]["width"], fx["input"]["height"]
    assert fx["origin_px"] == [w / 2, h / 2, 0.0]
    for case in fx["cases"]:
        bounds = case["decoded"]["visible_bounds"]
        if bounds is None:
            continue
        bx0, by0, bx1, by1 = case["person_box"]
        cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        assert bx0 < cx < bx1 and by0 < cy < by1, (case["name"], bounds, case["person_box"])


def test_two_part_contract_fixture_chains_to_the_one_file_contract():
    """The apps' fixture of the two-part GPU deployment (version 4): its parts chain from the one-file contract's
    input to its outputs, backbone at the GPU's fp32, heads in fp16 with fp32 accumulation."""
    two_part = json.loads((FIXTURES / "contract_xs_gpu_two_part.json").read_text())
    one_file = json.loads((FIXTURES / "contract_xs.json").read_text())
    validate_contract(two_part)
    assert two_part["contract_version"] == 4 and two_part["artifact"] == "meshpose_xs_gpu_two_part"
    assert [p["gpu_precision"] for p in two_part["parts"]] == ["fp32", "fp16-fp32acc"]
    assert two_part["input"] == one_file["input"] and two_part["outputs"] == one_file["outputs"]
    assert two_part["checkpoint"]["sha256"] == one_file["checkpoint"]["sha256"]
    broken = json.loads(json.dumps(two_part))
    broken["parts"][1]["inputs"][0]["shape"] = [1, 64, 32, 48]
    with pytest.raises(ContractError, match="parts\\[1\\]"):
        validate_contract(broken)
