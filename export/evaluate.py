"""`make eval ARTIFACT=...`: the accuracy of an exported .onnx, .tflite or .mlpackage itself.

The artifact runs on the synthetic test split with the same metrics as `make eval` runs on the PyTorch network.

What ships is what is measured: an fp16 or int8 artifact gets its own figures (vertex error, MPJPE,
PA-MPJPE, PVE, visibility accuracy, keypoint AP; the mask and DensePose metrics need outputs the deploy
graph does not have). The report lies beside the artifact as eval_<artifact file>.json and records the
artifact's sha256, so the benchmark report can place that artifact's own accuracy beside its speed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from export.artifact_run import RUNNABLE, artifact_hash, artifact_runner, runs_here
from export.contract import output_origin
from model.atomic import atomic_path
from model.cli import InputError, read_json, remove_outputs, run_main


def predictor(path: Path, contract: dict):
    """A callable (1, 3, H, W) image tensor -> {"vertices", "visibility"} tensors, running the artifact.

    Vertices come back in crop pixels from the top-left corner (the contract's origin added), the frame
    the evaluation's ground truth is in.
    """
    run = artifact_runner(path, contract)
    origin = np.asarray(output_origin(contract), np.float64)

    def predict(image: torch.Tensor) -> dict[str, torch.Tensor]:
        out = run(image.numpy().astype(np.float32))
        vertices = (np.asarray(out["vertices"], np.float64) + origin).astype(np.float32)
        return {"vertices": torch.from_numpy(vertices),
                "visibility": torch.from_numpy(np.asarray(out["visibility"], np.float32))}

    return predict


def evaluate_artifact(path: Path, data: Path, split: str = "test", limit: int | None = None) -> dict:
    """The evaluation report of one artifact (and the path it belongs at)."""
    from model.eval.run import evaluate
    from model.template import load_template

    if not path.exists() and not path.with_name(path.name + ".contract.json").is_file():
        raise InputError(f"artifact {path} not found; export it first (make export VARIANT=...)")
    contract = read_json(path.with_name(path.name + ".contract.json"), "contract", ("variant", "checkpoint"),
                         hint="every export writes one beside its artifact")
    if not runs_here(path, contract):
        raise InputError(f"{path}: only {', '.join(RUNNABLE)} exports run here (SoC builds run on their NPU)")
    template = load_template()
    if contract["template"]["sha256"] != template.sha256:
        raise InputError(f"{path} was exported for template {contract['template']['name']}; the synthetic data "
                         f"is rendered on {template.name} (sha256 {template.sha256[:12]})")
    result = evaluate(predictor(path, contract), data / split, template, None, limit)
    model = result["model"]
    return {"variant": contract["variant"],
            "artifact": {"file": path.name, "sha256": artifact_hash(path, contract), "format": contract["format"],
                         "precision": contract["precision"]},
            "checkpoint_sha256": contract["checkpoint"].get("sha256"), "split": split,
            "headline": {"name": "keypoint AP (synthetic test)", "value": model["keypoint_AP"]},
            "results": result}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m export.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("artifact", type=Path)
    p.add_argument("--data", type=Path, default=Path("data/synthetic"))
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)
    out = args.artifact.with_name(f"eval_{args.artifact.name}.json")
    remove_outputs(out)
    report = evaluate_artifact(args.artifact, args.data, args.split, args.limit)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=1) + "\n")
    from model.eval.run import markdown

    print(markdown(report["results"]))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
