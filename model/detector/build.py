"""The deployed person-detector graph with the converted MediaPipe weights (model/detector/spec.py)."""

from __future__ import annotations

from pathlib import Path

from model.detector.spec import INPUT_NAME, NORMALIZATION, OUTPUT_NAMES, WEIGHTS_PATH
from model.network.blazepose_detector import BlazePoseDetector, DetectorDeploy, load_detector_weights


def build_detector(weights: str | Path | None = None, *, normalize_in_graph: bool = True,
                   nhwc: bool = False) -> DetectorDeploy:
    """DetectorDeploy holding `weights` (default: the converted file of `make detector`).

    Raises model.checkpoint.CheckpointError, saying to run `make detector`, when the file is missing:
    the detector has no untrained fallback (random weights would find nobody).
    """
    net = BlazePoseDetector()
    header = load_detector_weights(net, Path(weights) if weights else WEIGHTS_PATH)
    scale, bias = NORMALIZATION
    model = DetectorDeploy(net, input_name=INPUT_NAME, output_names=OUTPUT_NAMES, scale=scale, bias=bias,
                           normalize_in_graph=normalize_in_graph, nhwc=nhwc)
    model.weights = header
    return model.eval()
