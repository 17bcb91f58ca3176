"""The detector's contract JSON: everything an app needs to feed the model and decode its outputs.

Validated against export/schemas/detector_contract.schema.json. Constants come from
model/pipeline/detector.py (the reference the Swift and Kotlin ports mirror) and
model/detector/spec.py (source, names, licence), never repeated here.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from export.contract import ContractError, check_schema, image_input, tool_versions
from model.detector import spec
from model.pipeline import detector as ref

CONTRACT_VERSION = 1
ANCHORS_FILE = "detector_anchors.json"
INPUT_FRAME = ("detector input pixels: x right, y down, origin at the top-left corner of the 224x224 input, "
               "relative to the anchor's centre (anchor centre * 224)")
REGRESSOR_LAYOUT = ["box_cx", "box_cy", "box_w", "box_h", "mid_hip_x", "mid_hip_y", "full_body_scale_x",
                    "full_body_scale_y", "mid_shoulder_x", "mid_shoulder_y", "upper_body_scale_x", "upper_body_scale_y"]


def anchors_payload() -> dict[str, Any]:
    """The anchors file: (x_center, y_center) per anchor, normalised input coordinates, in output order."""
    anchors = ref.generate_anchors()
    if not np.all(anchors[:, 2:] == 1.0):
        raise ContractError("the detector's anchors are expected to be 1 x 1 (fixed_anchor_size)")
    return {"count": int(anchors.shape[0]), "layout": ["x_center", "y_center"], "width": 1.0, "height": 1.0,
            "anchors": anchors[:, :2].tolist()}


def build_detector_contract(model, *, fmt: str, artifact: str, precision: str, nhwc: bool = False,
                            normalization_baked_in: bool = True, input_dtype: str = "float32") -> dict[str, Any]:
    """Contract of a DetectorDeploy exported to `fmt` as file `artifact`."""
    h, w = model.net.input_hw
    n = ref.DECODE_OPTIONS.num_boxes
    weights = model.weights or {}
    scale, bias = spec.NORMALIZATION
    contract = {
        "contract_version": CONTRACT_VERSION,
        "kind": "person_detector",
        "name": spec.NAME,
        "variant": "detector",
        "format": fmt,
        "precision": precision,
        "artifact": artifact,
        "description": ("BlazePose person detector (MediaPipe pose_detection): SSD anchors -> face box and 4 body "
                        "keypoints per person; the person box comes from the keypoints (model/pipeline/detector.py)."),
        "checkpoint": {"trained": True, "sha256": weights.get("sha256"), "source": weights.get("source"),
                       "source_sha256": weights.get("source_sha256")},
        "license": {"name": spec.SOURCE.license_name, "commercial_use": True, "notice": spec.LICENSE_NOTICE,
                    "file": "LICENSE.mediapipe"},
        "input": {
            **image_input(model.input_name, h, w, nhwc=nhwc, dtype=input_dtype, scale=scale, bias=bias,
                          baked_in=normalization_baked_in),
            "letterbox": {
                "rule": "keep aspect ratio; the frame centred in a square of side max(W, H), scaled to 224x224 "
                        "with s = max(W, H) / 224, x0 = W/2 - 112 s, y0 = H/2 - 112 s; input pixel (u, v) is the frame "
                        "sampled bilinearly at pixel index (x0 + s u, y0 + s v) with pixel centres at integers "
                        "(MediaPipe's corner mapping), rounded to an integer; detections map back by "
                        "frame = (x0, y0) + 224 s * normalised input coordinates",
                "pad_rgb": [ref.PAD_VALUE] * 3,
                "reference": "model/pipeline/detector.py letterbox, letterbox_image",
            },
        },
        "outputs": [
            {"name": model.output_names[0], "shape": [1, n, ref.DECODE_OPTIONS.num_coords], "dtype": "float32",
             "units": "input pixels", "frame": INPUT_FRAME, "layout": REGRESSOR_LAYOUT},
            {"name": model.output_names[1], "shape": [1, n, 1], "dtype": "float32", "units": "logit",
             "frame": "per anchor; probability = sigmoid(clip(logit, -100, 100))"},
        ],
        "anchors": {**asdict(ref.ANCHOR_OPTIONS), "count": n, "file": ANCHORS_FILE},
        "decoding": asdict(ref.DECODE_OPTIONS),
        "nms": {"algorithm": "weighted", "overlap": "intersection_over_union", **asdict(ref.NMS_OPTIONS)},
        "keypoints": list(ref.KEYPOINT_NAMES),
        "person_box": {
            "rule": "square around the circle centred at the mid_hip keypoint through the full_body_scale keypoint "
                    "([cx - r, cy - r, cx + r, cy + r] in frame pixels), not clipped to the frame",
            "roi": asdict(ref.ROI_OPTIONS),
            "max_people": ref.DEFAULT_MAX_PEOPLE,
        },
        "tools": tool_versions(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    validate_detector_contract(contract)
    return contract


def validate_detector_contract(contract: dict[str, Any]) -> None:
    """Raise ContractError with the first schema violation, if any."""
    check_schema(contract, "detector_contract.schema.json", "detector contract")
    n = contract["anchors"]["count"]
    if contract["outputs"][0]["shape"][1] != n or contract["outputs"][1]["shape"][1] != n:
        raise ContractError(f"output shapes {[o['shape'] for o in contract['outputs']]} do not have {n} anchors")
