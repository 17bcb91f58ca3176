"""The converted detector weights for the tests, or a skip that says why (no network for the pinned wheel)."""

from pathlib import Path

import pytest

from model.detector.spec import SOURCE, TFLITE_PATH, WEIGHTS_PATH


def detector_files() -> tuple[Path, Path]:
    """(.tflite, converted safetensors): fetched and converted like `make detector` when missing or stale."""
    from safetensors import safe_open

    from model.tools.blazepose_import import import_tflite, write_weights
    from model.tools.detector_fetch import FetchError, ensure_tflite

    try:
        tflite = ensure_tflite()
    except FetchError as exc:
        pytest.skip(f"BlazePose detector unavailable: {exc}")
    fresh = False
    if WEIGHTS_PATH.is_file():
        with safe_open(str(WEIGHTS_PATH), framework="pt") as f:
            fresh = (f.metadata() or {}).get("source_sha256") == SOURCE.tflite_sha256
    if not fresh:
        write_weights(import_tflite(TFLITE_PATH), WEIGHTS_PATH, SOURCE.tflite_sha256)
    return tflite, WEIGHTS_PATH
