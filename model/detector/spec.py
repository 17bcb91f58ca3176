"""What the person detector is and where it comes from: one place for pins, paths and names.

The weights are MediaPipe's BlazePose person detector, `pose_detection.tflite`, taken from
the `mediapipe` wheel on PyPI (Apache-2.0, see LICENSE in the wheel). Nothing of MediaPipe
is committed: `make detector` downloads the pinned wheel into .cache/, checks both hashes,
extracts the .tflite (and the wheel's LICENSE) under model/checkpoints/vendor/ and converts
the weights to safetensors there (all git-ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DetectorSource:
    """The pinned wheel, the member we extract, and the hashes that make the fetch reproducible."""

    package: str = "mediapipe"
    version: str = "0.10.14"
    # pip is told this exact platform so every host downloads the same file (the .tflite inside is
    # the same model on every platform; the hash pins this wheel).
    wheel: str = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    pip_platform: str = "manylinux_2_17_x86_64"
    pip_python_version: str = "3.11"
    pip_abi: str = "cp311"
    wheel_sha256: str = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
    tflite_member: str = "mediapipe/modules/pose_detection/pose_detection.tflite"
    tflite_sha256: str = "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"
    license_member: str = "mediapipe-0.10.14.dist-info/LICENSE"
    license_name: str = "Apache-2.0"


SOURCE = DetectorSource()
CACHE_DIR = REPO / ".cache" / "detector"
VENDOR_DIR = REPO / "model" / "checkpoints" / "vendor"
TFLITE_PATH = VENDOR_DIR / "pose_detection.tflite"
LICENSE_PATH = VENDOR_DIR / "LICENSE.mediapipe"
WEIGHTS_PATH = VENDOR_DIR / "blazepose_detector.safetensors"

NAME = "blazepose_detector"
INPUT_NAME = "image"
OUTPUT_NAMES = ("regressors", "scores")
# MediaPipe's ImageToTensorCalculator maps RGB [0, 255] to [-1, 1] (output_tensor_float_range in the
# PoseDetectionCpu graph of the wheel): x * scale + bias.
NORMALIZATION = (1.0 / 127.5, -1.0)
LICENSE_NOTICE = (
    "BlazePose person detector weights by Google (MediaPipe pose_detection.tflite from the mediapipe "
    f"{SOURCE.version} wheel), Apache-2.0; converted to PyTorch/Core ML/TFLite/ONNX by this project. "
    "The licence text is the wheel's LICENSE, copied beside every export."
)
