"""The export's parity report (artifacts/<variant>/parity.{json,md}) and the shared fixtures."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from export.contract import write_json_atomic
from export.fp16_audit import audit_fp16_ranges, audit_summary
from export.golden import build_fixtures, save_input_png
from export.parity import PathParity, markdown_table
from export.session import NUM_GOLDEN, ExportSession


def write_common(session: ExportSession, stage: Path) -> None:
    """Golden fixtures, golden input PNGs and the fixture contract, shared by every format."""
    fixtures = stage / "fixtures"
    fixtures.mkdir(exist_ok=True)
    write_json_atomic(fixtures / "golden.json", build_fixtures(session.model))
    for i, x in enumerate(session.inputs):
        save_input_png(x, fixtures / f"golden_input_{i}.png")
    write_json_atomic(fixtures / "contract.json", session.contract("onnx", f"{session.name}.onnx", "fp32"))


def write_report(session: ExportSession, stage: Path) -> None:
    """Merge this run's parity rows and checks into artifacts/<variant>/parity.{json,md}."""
    old_path = session.out_dir / "parity.json"
    old = json.loads(old_path.read_text()) if old_path.is_file() else {}
    paths = {r["path"]: r for r in old.get("paths", [])}
    paths.update({r.path: r.to_dict() for r in session.rows})
    checks = old.get("checks", {})
    checks.update(session.checks)
    audit = audit_summary(audit_fp16_ranges(session.model, session.inputs))
    report = {
        "variant": session.variant,
        "checkpoint": session.model.checkpoint.path.name if session.model.checkpoint else "untrained",
        "host": f"{platform.system()} {platform.machine()}",
        "golden_inputs": f"{NUM_GOLDEN} deterministic renders of the template body (export/golden.py)",
        "paths": list(paths.values()),
        "checks": checks,
        "fp16_audit": audit,
    }
    write_json_atomic(stage / "parity.json", report)
    rows = [PathParity(**dict(r.items())) for r in report["paths"]]
    md = [f"# Parity report: {session.variant}", "", f"Checkpoint: {report['checkpoint']}. "
          f"Inputs: {report['golden_inputs']}. Reference: PyTorch fp32 on {report['host']}.", "",
          markdown_table(rows), "", "## Accelerator checks", ""]
    md += [f"- **{k}**: {v}" for k, v in checks.items()]
    md += ["", "## fp16 range audit", ""]
    flagged = audit["flagged"]
    md.append("No layer flagged." if not flagged else "\n".join(f"- {e['layer']}: {e['flag']}" for e in flagged))
    md += [f"- largest magnitude: {audit['largest'][0]['layer']} = {audit['largest'][0]['max_abs']:.1f} "
           f"(fp16 max {audit['fp16_max']:.0f})"]
    (stage / "parity.md").write_text("\n".join(md) + "\n")
