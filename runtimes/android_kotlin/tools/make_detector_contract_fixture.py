"""Writes the person detector's contract, as `make export-detector` writes it for the float32 TFLite, for
the Kotlin DetectorContract tests (core/src/test/resources/detector_contract.json).

The contract comes from export/detector/contract.py itself; only the model object is a stand-in (the
contract reads its input size, tensor names and weight hashes, here those of tests/fixtures/
detector_golden.json), so no weights or converter are needed. Run from the repository root:

    PYTHONPATH=. .venv/bin/python runtimes/android_kotlin/tools/make_detector_contract_fixture.py
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from export.detector.contract import build_detector_contract
from model.detector.spec import INPUT_NAME, NAME, OUTPUT_NAMES
from model.pipeline.detector import INPUT_SIZE

ROOT = Path(__file__).resolve().parents[3]
OUT = Path(__file__).resolve().parents[1] / "core/src/test/resources/detector_contract.json"


def main() -> None:
    weights = json.loads((ROOT / "tests/fixtures/detector_golden.json").read_text())["weights"]
    model = SimpleNamespace(net=SimpleNamespace(input_hw=(INPUT_SIZE, INPUT_SIZE)), weights=weights,
                            input_name=INPUT_NAME, output_names=OUTPUT_NAMES)
    contract = build_detector_contract(model, fmt="tflite", artifact=f"{NAME}.tflite", precision="fp32")
    OUT.write_text(json.dumps(contract, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
