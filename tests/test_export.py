"""Export of the tiny variant through every path with its gates, contracts, fixtures and reports."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from export.cli import main as export_main
from export.contract import ContractError, load_schema, validate_contract
from model.cli import run_main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    code = export_main(["all", "--variant", "tiny", "--out", str(out)])
    assert code == 0
    return out / "tiny"


def test_every_artifact_with_its_contract(exported):
    for name in ("meshpose_tiny.onnx", "meshpose_tiny.tflite", "meshpose_tiny_fp16.tflite", "meshpose_tiny.mlpackage"):
        assert (exported / name).exists(), name
        contract = json.loads((exported / f"{name}.contract.json").read_text())
        validate_contract(contract)
        assert contract["artifact"] == name
        assert contract["checkpoint"]["trained"] is False  # no shipped tiny checkpoint: said plainly
    assert not list(exported.glob(".staging-*")) and not list(exported.glob(".*.tmp"))


def test_two_part_gpu_deployment_is_published_with_one_contract(exported):
    from export.artifact_run import exported_artifacts
    from export.contract import artifact_sha256

    contract = json.loads((exported / "meshpose_tiny_gpu_two_part.contract.json").read_text())
    validate_contract(contract)
    assert contract["contract_version"] == 4 and contract["artifact"] == "meshpose_tiny_gpu_two_part"
    assert not (exported / "meshpose_tiny_gpu_two_part").exists()  # a name, not a file
    backbone, heads = contract["parts"]
    assert (backbone["artifact"], heads["artifact"]) == ("meshpose_tiny_gpu_backbone.tflite",
                                                         "meshpose_tiny_gpu_heads.tflite")
    assert (backbone["gpu_precision"], heads["gpu_precision"]) == ("fp32", "fp16-fp32acc")
    for part in contract["parts"]:
        assert artifact_sha256(exported / part["artifact"]) == part["sha256"]
        assert not (exported / f"{part['artifact']}.contract.json").exists()  # the deployment's contract covers it
    assert [t["name"] for t in backbone["outputs"]] == [t["name"] for t in heads["inputs"]] == ["fine", "coarse"]
    assert contract["parity_gate"]["passed"] is True and "gpu_precision" not in contract
    # the single-file contracts stay version 3, so apps that read 3 keep loading them
    assert json.loads((exported / "meshpose_tiny.tflite.contract.json").read_text())["contract_version"] == 3
    listed = [p.name for p in exported_artifacts(exported, "meshpose_tiny")]
    assert "meshpose_tiny_gpu_two_part" in listed and "meshpose_tiny_gpu_backbone.tflite" not in listed


def test_make_eval_runs_the_two_part_deployment_by_name(exported, tmp_path, template):
    from export.artifact_run import artifact_hash, read_contract
    from export.evaluate import main as eval_main
    from tests.conftest import write_rest_body_split

    data = tmp_path / "d"
    write_rest_body_split(data / "test", template, range(100, 104))
    reports = {}
    for name in ("meshpose_tiny_gpu_two_part", "meshpose_tiny.tflite"):
        assert eval_main([str(exported / name), "--data", str(data)]) == 0
        reports[name] = json.loads((exported / f"eval_{name}.json").read_text())
        (exported / f"eval_{name}.json").unlink()  # the other tests see the export's files only
    two_part, one_file = reports["meshpose_tiny_gpu_two_part"], reports["meshpose_tiny.tflite"]
    deployment = exported / "meshpose_tiny_gpu_two_part"
    assert two_part["artifact"]["sha256"] == artifact_hash(deployment, read_contract(deployment))
    assert two_part["results"]["model"]["samples"] == 4
    # the same fp32 graph cut in two: the same figures as the one file, within fp32 noise
    key = "visible_vertex_2d_error_px_median"
    assert abs(two_part["results"]["model"][key] - one_file["results"]["model"][key]) < 1e-3


def test_make_parity_reruns_the_artifacts_without_converting(exported, capsys):
    from model.build import create_model
    from model.checkpoint import save_checkpoint
    from model.template import load_template

    before = {p: p.read_bytes() for p in exported.rglob("*") if p.is_file()}
    assert export_main(["parity", "--variant", "tiny", "--out", str(exported.parent)]) == 0
    table = capsys.readouterr().out
    report = {r["path"]: r for r in json.loads((exported / "parity.json").read_text())["paths"]}
    for path in ("onnxruntime-cpu", "tflite-xnnpack", "tflite-fp16w-xnnpack", "coreml-fp16-numpy-sim",
                 "tflite-two-part-xnnpack"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {path} |"))
        assert f"| {report[path]['err2d_max_px']:.4f} ({report[path]['worst_input']}) |" in row  # as at export time
    assert table.count("| path |") == 1  # one table
    # nothing converted or changed (coremltools rewrites the package manifest on load, with the same bytes)
    assert {p: p.read_bytes() for p in exported.rglob("*") if p.is_file()} == before
    # artifacts of other weights are refused, not compared
    other = exported.parent / "other.safetensors"
    save_checkpoint(create_model("tiny", load_template()), other, variant="tiny", template=load_template(),
                    trained=True)
    assert run_main(lambda: export_main(["parity", "--variant", "tiny", "--ckpt", str(other),
                                         "--out", str(exported.parent)])) == 2
    assert "were exported from checkpoint" in capsys.readouterr().err


def test_parity_report_gates_pass_and_cover_every_path(exported):
    report = json.loads((exported / "parity.json").read_text())
    paths = {r["path"]: r for r in report["paths"]}
    assert {"onnxruntime-cpu", "tflite-xnnpack", "tflite-fp16w-xnnpack", "coreml-fp16-numpy-sim"} <= set(paths)
    assert "tflite-gpu-fp16 (lavapipe, functional)" in paths
    # The GPU's other fp16 mode (fp32 accumulation) is measured beside the gated one and reported only; the
    # two-model deployment (backbone fp32, heads fp16 with fp32 accumulation) is published, so gated.
    beside = paths.pop("tflite-gpu-fp16-fp32acc (lavapipe, functional)")
    assert beside["passed"] is None and beside["gate"] == "report only" and beside["err2d_max_px"] < 0.5, beside
    assert {"tflite-gpu-two-part (lavapipe, functional)", "tflite-two-part-xnnpack"} <= set(paths)
    for row in paths.values():
        assert row["passed"] is True, row
    assert paths["onnxruntime-cpu"]["err2d_max_px"] <= 0.01
    assert any("fully accelerated" in v for v in report["checks"].values())
    assert any("ANE residency" in k and v.startswith("pass") for k, v in report["checks"].items())
    assert "fp16_audit" in report and (exported / "parity.md").read_text().startswith("# Parity report")


def test_fixtures_validate_and_decode_consistently(exported):
    import jsonschema

    from model.pipeline.crop import Crop
    from model.pipeline.decode import decode_outputs

    fixtures = json.loads((exported / "fixtures" / "golden.json").read_text())
    jsonschema.validate(fixtures, load_schema("fixtures.schema.json"))
    w, h = fixtures["input"]["width"], fixtures["input"]["height"]
    for case in fixtures["cases"]:
        raw = case["raw"]
        dec = decode_outputs(np.array(raw["vertices"]), np.array(raw["visibility"]), np.array(raw["joints"]),
                             Crop(**case["crop"]), w, h, origin=fixtures["origin_px"])
        assert np.allclose(dec.vertices, case["decoded"]["vertices"])
        assert dec.visible.tolist() == case["decoded"]["visible"]
    assert any(c["decoded"]["next_crop"] is None for c in fixtures["cases"])  # the re-detect case


def test_coreml_package_metadata_and_image_input(exported):
    from export.coreml.convert import load_mil_program

    _, spec = load_mil_program(exported / "meshpose_tiny.mlpackage")
    assert spec.description.input[0].type.WhichOneof("Type") == "imageType"
    assert [o.name for o in spec.description.output] == ["vertices", "visibility", "joints"]
    meta = dict(spec.description.metadata.userDefined)
    embedded = json.loads(meta["meshpose.contract"])
    validate_contract(embedded)
    # The package carries the same contract as its sidecar, the run's parity verdict included.
    assert embedded == json.loads((exported / "meshpose_tiny.mlpackage.contract.json").read_text())
    assert embedded["parity_gate"]["passed"] is True
    assert spec.description.metadata.author and spec.description.metadata.license


def test_contract_validation_rejects_bad_contracts(exported):
    contract = json.loads((exported / "meshpose_tiny.onnx.contract.json").read_text())
    bad = dict(contract, contract_version=4)
    with pytest.raises(ContractError, match="contract_version"):
        validate_contract(bad)
    bad = json.loads(json.dumps(contract))
    bad["outputs"][0]["shape"] = [1, 3, 3]
    with pytest.raises(ContractError):
        validate_contract(bad)


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "export", *args], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})


def test_bad_input_gives_one_line_errors(tmp_path, template):
    res = _run_cli("onnx", "--variant", "huge", "--out", str(tmp_path))
    assert res.returncode == 2 and "unknown variant 'huge'" in res.stderr and "known variants" in res.stderr
    res = _run_cli("onnx", "--variant", "tiny", "--ckpt", str(tmp_path / "none.safetensors"), "--out", str(tmp_path))
    assert res.returncode == 2 and "does not exist" in res.stderr
    from model.build import create_model
    from model.checkpoint import save_checkpoint

    ckpt = save_checkpoint(create_model("xs", template), tmp_path / "xs.safetensors", variant="xs",
                           template=template, trained=False)
    res = _run_cli("onnx", "--variant", "tiny", "--ckpt", str(ckpt), "--out", str(tmp_path / "a"))
    assert res.returncode == 2 and "trained for variant 'xs', not 'tiny'" in res.stderr
    assert not (tmp_path / "a" / "tiny" / "meshpose_tiny.onnx").exists()


class _Gathers(torch.nn.Module):
    input_name = "image"  # converters read the tensor names from the module, like a DeployModel's
    output_names = ("vertices", "visibility", "joints")

    def forward(self, image):
        flat = image.reshape(1, 3, -1)
        idx = flat[:, :1].argmax(dim=-1, keepdim=True).expand(1, 3, 1)
        v = torch.gather(flat, 2, idx)
        return v.reshape(1, 1, 3), v.reshape(1, 3), v.reshape(1, 1, 3)


def test_gpu_gate_fails_on_ops_the_delegate_does_not_take(tmp_path):
    from export.tflite import convert_tflite, run_gpu

    x = torch.rand(1, 3, 8, 8)
    path = convert_tflite(_Gathers(), x, tmp_path / "bad.tflite")
    assert run_gpu(path, {"image": x.numpy()}).fully_accelerated is False


def test_ane_gate_fails_on_gather(tmp_path):
    import coremltools as ct

    from export.coreml import check_ane_residency

    class Bad(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("idx", torch.tensor([0, 2]))

        def forward(self, x):
            return torch.index_select(x, 1, self.idx)

    prog = torch.export.export(Bad(), (torch.rand(1, 3, 8, 8),)).run_decompositions({})
    ml = ct.convert(prog, inputs=[ct.TensorType(name="x", shape=(1, 3, 8, 8))], convert_to="mlprogram",
                    minimum_deployment_target=ct.target.iOS17, compute_precision=ct.precision.FLOAT16)
    ml.save(str(tmp_path / "bad.mlpackage"))
    report = check_ane_residency(tmp_path / "bad.mlpackage")
    assert not report.ok and any("gather" in o for o in report.offending)


def test_gpu_precision_option_gates_that_precision_and_writes_it_into_the_contracts(tmp_path):
    code = export_main(["tflite", "--variant", "tiny", "--gpu-precision", "fp16-fp32acc", "--out", str(tmp_path)])
    assert code == 0
    out = tmp_path / "tiny"
    for contract in out.glob("*.tflite.contract.json"):
        assert json.loads(contract.read_text())["gpu_precision"] == "fp16-fp32acc", contract
    # the two-part deployment keeps its own precisions, one per part
    parts = json.loads((out / "meshpose_tiny_gpu_two_part.contract.json").read_text())["parts"]
    assert [p["gpu_precision"] for p in parts] == ["fp32", "fp16-fp32acc"]
    rows = {r["path"]: r for r in json.loads((out / "parity.json").read_text())["paths"]}
    gated = rows["tflite-gpu-fp16-fp32acc (lavapipe, functional)"]
    beside = rows["tflite-gpu-fp16 (lavapipe, functional)"]
    assert gated["passed"] is True and gated["gate"].startswith("fp16"), gated
    assert beside["passed"] is None and beside["gate"] == "report only", beside
    res = _run_cli("tflite", "--variant", "tiny", "--gpu-precision", "bf16", "--out", str(tmp_path / "b"))
    assert res.returncode == 2 and "invalid choice: 'bf16'" in res.stderr and "fp16-fp32acc" in res.stderr


def test_nhwc_tflite_export_for_camera_buffers(tmp_path):
    code = export_main(["tflite", "--variant", "tiny", "--nhwc", "--out", str(tmp_path)])
    assert code == 0
    out = tmp_path / "tiny"
    contract = json.loads((out / "meshpose_tiny_nhwc.tflite.contract.json").read_text())
    assert contract["input"]["layout"] == "NHWC" and contract["input"]["shape"] == [1, 128, 96, 3]
    report = json.loads((out / "parity.json").read_text())
    rows = {r["path"]: r for r in report["paths"]}
    assert rows["tflite_nhwc-xnnpack"]["passed"] and any(p.startswith("tflite_nhwc-gpu") for p in rows)
