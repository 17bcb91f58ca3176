"""`make parity`: run the artifacts already in artifacts/<variant>/ on the golden inputs again, without
converting anything, and print one parity table.

The reference is rebuilt from the checkpoint and template the artifacts were exported from (their
contracts name both hashes); an artifact of a different checkpoint or template is refused, by name,
rather than compared. CPU paths (a deployment of parts: its files chained on XNNPACK) and the Core ML fp16
simulation are re-run; the software-GPU rows take minutes and stay those of the export.
"""

from __future__ import annotations

from pathlib import Path

from export.artifact_run import artifact_runner, exported_artifacts, read_contract, runs_here
from export.contract import output_origin
from export.session import ExportError, ExportSession, log
from model.checkpoint import file_sha256


def rerun_parity(variant: str, ckpt: str | None, out_root: Path, template: str | None = None,
                 golden: int | None = None, strict: bool = False) -> ExportSession:
    """Rows of every artifact of `variant` under `out_root`, re-measured against PyTorch."""
    art = out_root / variant
    # SoC builds (make export-qnn) run only on their NPU or its simulator: their rows come from the export.
    try:
        found = exported_artifacts(art, f"meshpose_{variant}") if art.is_dir() else []
    except FileNotFoundError as exc:
        raise ExportError(str(exc)) from None
    artifacts = [p for p in found if runs_here(p, read_contract(p))]
    if not artifacts:
        raise ExportError(f"no exported model in {art}; run `make export VARIANT={variant}` first")
    session = ExportSession(variant, ckpt, out_root, template=template, golden=golden, strict=strict)
    have = file_sha256(session.ckpt) if session.ckpt else None
    tpl = session.template.sha256
    # Every artifact, not only the first: a folder can hold formats exported from different weights.
    wrong, other_frame = [], []
    for path in artifacts:
        contract = read_contract(path)
        want, want_tpl = contract["checkpoint"].get("sha256"), contract["template"].get("sha256")
        if want != have or want_tpl != tpl:
            wrong.append(f"{path.name} (checkpoint {str(want)[:12]}, template {str(want_tpl)[:12]})")
        elif output_origin(contract) != session.model.origin_px:
            other_frame.append(f"{path.name} (contract {contract.get('contract_version')})")
    if other_frame:  # e.g. contract 2 artifacts emit the corner frame: comparing them would show half a crop
        raise ExportError(f"{len(other_frame)} artifact(s) in {art} emit vertices about another origin than this "
                          f"toolchain's graph ({session.model.origin_px}): {', '.join(other_frame)}; export again")
    if wrong:
        raise ExportError(f"{len(wrong)} artifact(s) in {art} were exported from checkpoints or templates "
                          f"other than {session.ckpt or 'an untrained network'} ({str(have)[:12]}) with template "
                          f"{session.template.name} ({tpl[:12]}): {', '.join(wrong)}; pass CKPT=/TEMPLATE= "
                          f"the files they were exported from, or export again")
    for path in artifacts:
        contract = read_contract(path)
        precision, nhwc = contract["precision"], contract["input"]["layout"] == "NHWC"
        log(f"re-running {path.name}")
        run = artifact_runner(path, contract)
        if "parts" in contract:
            from export.tflite.two_part import XNNPACK_ROW

            session.parity(XNNPACK_ROW, "fp32", run)
        elif path.suffix == ".onnx":
            session.parity("onnxruntime-cpu", "fp32", run)
        elif path.suffix == ".tflite":
            label = {"fp32": "", "fp16-weights": "-fp16w", "int8": "-int8"}[precision]
            session.parity(f"tflite{'_nhwc' if nhwc else ''}{label}-xnnpack",
                           {"fp16-weights": "fp16"}.get(precision, precision), run)
        else:
            label = "" if precision == "fp16" else f"-{precision}"
            session.parity(f"coreml{label}-fp16-numpy-sim", "fp16" if precision == "fp16" else "int8", run)
    return session
