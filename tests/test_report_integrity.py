"""Export reports that cannot mislead (tiny variant, ONNX only): provenance on every parity row, rows
of other weights dropped, a failed gate publishes nothing unless --keep-failed, and `make parity`
names every artifact of another checkpoint or template."""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

import export.session
from export.cli import main as export_main
from export.contract import validate_contract

OTHER = "ab" * 32  # a sha256 that no checkpoint or template here has
CONTRACT = "meshpose_tiny.onnx.contract.json"


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """One passing ONNX export of the untrained tiny network: the artifacts the tests start from."""
    out = tmp_path_factory.mktemp("base")
    assert export_main(["onnx", "--variant", "tiny", "--out", str(out)]) == 0
    return out / "tiny"


@pytest.fixture
def artifacts(base, tmp_path) -> Path:
    """A private copy of the base export (the out root; the variant's folder is <root>/tiny)."""
    shutil.copytree(base, tmp_path / "tiny")
    return tmp_path


@pytest.fixture
def failing_gate(monkeypatch):
    """Every fp32 row fails its gate: the real comparison, with a max 2D error bound no path can meet."""
    real = export.session.compare_outputs
    monkeypatch.setattr(export.session, "compare_outputs",
                        lambda *a, **kw: real(*a, **{**kw, "fp32_max_px": -1.0}))


def test_rows_carry_provenance_and_passing_contracts_say_so(base):
    from model.template import load_template

    report = json.loads((base / "parity.json").read_text())
    tpl = load_template().sha256
    assert report["checkpoint_sha256"] is None and report["template_sha256"] == tpl  # untrained tiny
    (row,) = report["paths"]
    prov = row["provenance"]
    assert prov["checkpoint_sha256"] is None and prov["template_sha256"] == tpl
    assert "weights_sha256" not in prov  # no checkpoint, no weights hash
    assert prov["tools"]["torch"] and prov["tools"]["onnxruntime"]
    assert f"sha256 {tpl}" in (base / "parity.md").read_text().split("|")[0]  # stated once, above the table
    for path in (base / CONTRACT, base / "fixtures" / "contract.json"):
        contract = json.loads(path.read_text())
        assert contract["parity_gate"] == {"passed": True}
        validate_contract(contract)


def test_provenance_names_a_checkpoint_and_its_weights(tmp_path, template):
    from export.session import ExportSession
    from model.build import create_model
    from model.checkpoint import WEIGHTS_HASH_KEY, file_sha256, read_checkpoint_info, save_checkpoint

    ckpt = save_checkpoint(create_model("tiny", template), tmp_path / "c.safetensors", variant="tiny",
                           template=template, trained=True)
    prov = ExportSession("tiny", str(ckpt), tmp_path).provenance
    assert prov["checkpoint_sha256"] == file_sha256(ckpt)
    assert prov["weights_sha256"] == read_checkpoint_info(ckpt).metadata[WEIGHTS_HASH_KEY]
    assert prov["template_sha256"] == template.sha256


def test_rows_of_another_checkpoint_or_without_provenance_are_dropped(artifacts, capfd):
    art = artifacts / "tiny"
    old = json.loads((art / "parity.json").read_text())
    (row,) = old["paths"]
    stale = dict(row, path="tflite-xnnpack", provenance=dict(row["provenance"], checkpoint_sha256=OTHER))
    stale_tpl = dict(row, path="tflite-fp16w-xnnpack", provenance=dict(row["provenance"], template_sha256=OTHER))
    legacy = {k: v for k, v in dict(row, path="coreml-fp16-numpy-sim").items() if k != "provenance"}
    same = dict(row, path="tflite-int8-xnnpack", err2d_max_px=0.125)  # the same weights: kept
    old["paths"] = [row, stale, stale_tpl, legacy, same]
    old["checks"] = {"old check": "pass"}
    old["checkpoint_sha256"] = OTHER  # an earlier report of other weights: its checks go too
    (art / "parity.json").write_text(json.dumps(old))

    assert export_main(["onnx", "--variant", "tiny", "--out", str(artifacts)]) == 0
    out = capfd.readouterr().err  # progress lines go to the terminal's file descriptor
    assert "dropped 3 earlier row(s) and 1 earlier check(s)" in out
    report = json.loads((art / "parity.json").read_text())
    paths = {r["path"]: r for r in report["paths"]}
    assert set(paths) == {"onnxruntime-cpu", "tflite-int8-xnnpack"}
    assert paths["tflite-int8-xnnpack"]["err2d_max_px"] == 0.125
    assert paths["onnxruntime-cpu"]["provenance"]["template_sha256"] == report["template_sha256"]
    assert report["checks"] == {}
    md = (art / "parity.md").read_text()
    assert "| tflite-xnnpack |" not in md and "| coreml-fp16-numpy-sim |" not in md
    assert "| tflite-int8-xnnpack |" in md


def test_old_checks_kept_only_for_the_same_weights_and_template():
    from export.report import merge_old_report

    prov = {"checkpoint_sha256": "c" * 64, "template_sha256": "t" * 64}
    session = SimpleNamespace(provenance=prov, rows=[], checks={"new": "pass"})
    same = {**prov, "checks": {"old": "pass"}, "paths": []}
    assert merge_old_report(session, same)[1] == {"old": "pass", "new": "pass"}
    for other in ({**same, "template_sha256": OTHER}, {"checks": {"old": "pass"}, "paths": []}):
        assert merge_old_report(session, other)[1] == {"new": "pass"}


def test_failed_gate_publishes_nothing_and_keeps_its_report_apart(artifacts, failing_gate, capsys):
    art = artifacts / "tiny"
    before = _files(art)
    assert export_main(["onnx", "--variant", "tiny", "--out", str(artifacts)]) == 1
    res = capsys.readouterr()
    assert f"gate failed: nothing published; previous artifacts kept; the failed run's report is in {art / 'failed'}" \
        in res.err
    assert "wrote " not in res.out
    after = _files(art)
    failed = {k: after.pop(k) for k in list(after) if k.startswith("failed/")}
    assert after == before  # byte for byte, and no new file
    assert sorted(failed) == ["failed/parity.json", "failed/parity.md"]
    assert not list(art.glob(".staging-*"))
    report = json.loads(failed["failed/parity.json"])
    row = next(r for r in report["paths"] if r["path"] == "onnxruntime-cpu")
    assert row["passed"] is False and "> -1.0 px" in row["failures"][0]
    assert "FAIL" in failed["failed/parity.md"].decode()


def test_failed_gate_into_an_empty_folder_publishes_no_model(tmp_path, failing_gate):
    assert export_main(["onnx", "--variant", "tiny", "--out", str(tmp_path)]) == 1
    art = tmp_path / "tiny"
    assert sorted(str(p.relative_to(art)) for p in art.rglob("*")) == ["failed", "failed/parity.json",
                                                                        "failed/parity.md"]


def test_a_later_passing_run_removes_the_failed_runs_report(artifacts, monkeypatch, capsys):
    art = artifacts / "tiny"
    real = export.session.compare_outputs
    with monkeypatch.context() as m:
        m.setattr(export.session, "compare_outputs", lambda *a, **kw: real(*a, **{**kw, "fp32_max_px": -1.0}))
        assert export_main(["onnx", "--variant", "tiny", "--out", str(artifacts)]) == 1
    assert (art / "failed" / "parity.json").is_file()
    capsys.readouterr()
    assert export_main(["onnx", "--variant", "tiny", "--out", str(artifacts)]) == 0
    assert not (art / "failed").exists()
    assert f"removed {art / 'failed'}: the report of an earlier run whose gate failed" in capsys.readouterr().out


def test_keep_failed_publishes_with_contracts_marked_failed(artifacts, failing_gate, capsys):
    art = artifacts / "tiny"
    before = _files(art)
    assert export_main(["onnx", "--variant", "tiny", "--out", str(artifacts), "--keep-failed"]) == 1
    assert "published anyway" in capsys.readouterr().err
    assert not (art / "failed").exists()
    assert _files(art)[CONTRACT] != before[CONTRACT]
    for path in (art / CONTRACT, art / "fixtures" / "contract.json"):
        contract = json.loads(path.read_text())
        validate_contract(contract)
        gate = contract["parity_gate"]
        assert gate["passed"] is False
        assert len(gate["failures"]) == 1 and gate["failures"][0].startswith("onnxruntime-cpu: core: max 2D error")
    rows = {r["path"]: r for r in json.loads((art / "parity.json").read_text())["paths"]}
    assert rows["onnxruntime-cpu"]["passed"] is False


def test_make_parity_names_every_artifact_of_other_weights_or_template(artifacts, template, capsys):
    from model.build import create_model
    from model.checkpoint import save_checkpoint

    art = artifacts / "tiny"
    # A second artifact of the same model, whose contract says another template: only it is named.
    shutil.copyfile(art / "meshpose_tiny.onnx", art / "meshpose_tiny_b.onnx")
    contract = json.loads((art / CONTRACT).read_text())
    contract["template"]["sha256"] = OTHER
    (art / "meshpose_tiny_b.onnx.contract.json").write_text(json.dumps(contract))
    assert export_main(["parity", "--variant", "tiny", "--out", str(artifacts)]) == 2
    err = capsys.readouterr().err
    assert "1 artifact(s)" in err and "meshpose_tiny_b.onnx (checkpoint None, template abababababab)" in err
    assert "meshpose_tiny.onnx " not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1  # one line

    # Against another checkpoint both artifacts are named.
    other = save_checkpoint(create_model("tiny", template), artifacts / "other.safetensors", variant="tiny",
                            template=template, trained=True)
    assert export_main(["parity", "--variant", "tiny", "--ckpt", str(other), "--out", str(artifacts)]) == 2
    err = capsys.readouterr().err
    assert "2 artifact(s)" in err and "meshpose_tiny.onnx (checkpoint None" in err
    assert "meshpose_tiny_b.onnx (checkpoint None" in err and "were exported from checkpoint" in err

    # The matching artifacts alone re-run.
    (art / "meshpose_tiny_b.onnx").unlink()
    (art / "meshpose_tiny_b.onnx.contract.json").unlink()
    assert export_main(["parity", "--variant", "tiny", "--out", str(artifacts)]) == 0


def test_make_parity_refuses_artifacts_that_emit_another_frame(artifacts, capsys):
    """A contract 2 artifact emits vertices from the crop's corner; against today's centred reference every
    vertex would be half a crop off, so `make parity` names it instead of reporting that as error."""
    art = artifacts / "tiny"
    contract = json.loads((art / CONTRACT).read_text())
    contract["contract_version"] = 2
    for output in contract["outputs"]:
        output.pop("origin_px", None)
    (art / CONTRACT).write_text(json.dumps(contract))
    assert export_main(["parity", "--variant", "tiny", "--out", str(artifacts)]) == 2
    err = capsys.readouterr().err
    assert "emit vertices about another origin" in err and "meshpose_tiny.onnx (contract 2)" in err


def test_an_artifact_folder_lists_a_deployment_once_and_refuses_what_it_cannot_run(tmp_path):
    """A deployment of parts is listed by its name and its part files not on their own; a model file without a
    contract, or a deployment whose part is missing, is named rather than skipped."""
    from export.artifact_run import artifact_runner, exported_artifacts, read_contract

    deployment = {"artifact": "meshpose_tiny_gpu_two_part", "input": {"name": "image", "layout": "NCHW"},
                  "parts": [{"artifact": "meshpose_tiny_gpu_backbone.tflite"},
                            {"artifact": "meshpose_tiny_gpu_heads.tflite"}]}
    (tmp_path / "meshpose_tiny_gpu_two_part.contract.json").write_text(json.dumps(deployment))
    (tmp_path / "meshpose_tiny_gpu_backbone.tflite").write_bytes(b"part")
    (tmp_path / "meshpose_tiny.onnx").write_bytes(b"model")
    (tmp_path / CONTRACT).write_text("{}")
    listed = [p.name for p in exported_artifacts(tmp_path, "meshpose_tiny")]
    assert listed == ["meshpose_tiny.onnx", "meshpose_tiny_gpu_two_part"]
    path = tmp_path / "meshpose_tiny_gpu_two_part"
    with pytest.raises(FileNotFoundError, match=r"meshpose_tiny_gpu_heads\.tflite missing"):
        artifact_runner(path, read_contract(path))
    (tmp_path / "meshpose_tiny_fp16.tflite").write_bytes(b"stray")
    with pytest.raises(FileNotFoundError, match=r"no contract beside meshpose_tiny_fp16\.tflite"):
        exported_artifacts(tmp_path, "meshpose_tiny")
