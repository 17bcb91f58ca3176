"""The export's parity report (artifacts/<variant>/parity.{json,md}) and the shared fixtures."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from export.contract import validate_contract, write_json_atomic
from export.fp16_audit import audit_fp16_ranges, audit_summary
from export.golden import build_fixtures, save_input_png
from export.parity import PathParity, markdown_table
from export.session import ExportSession, log


def write_common(session: ExportSession, stage: Path) -> None:
    """Golden fixtures, golden input PNGs and the fixture contract, shared by every format."""
    fixtures = stage / "fixtures"
    fixtures.mkdir(exist_ok=True)
    write_json_atomic(fixtures / "golden.json", build_fixtures(session.model))
    for i, x in enumerate(session.inputs):
        save_input_png(x, fixtures / f"golden_input_{i}.png")
    write_json_atomic(fixtures / "contract.json", session.contract("onnx", f"{session.name}.onnx", "fp32"))


def _same_source(prov: dict | None, checkpoint_sha256: str | None, template_sha256: str) -> bool:
    """True when `prov` (a row's provenance) names this checkpoint and template; False when it lacks them."""
    if not prov or "checkpoint_sha256" not in prov or "template_sha256" not in prov:
        return False
    return prov["checkpoint_sha256"] == checkpoint_sha256 and prov["template_sha256"] == template_sha256


def merge_same_source(old: dict, rows: list, checks: dict[str, object], same_source: Callable[[dict | None], bool],
                      now: str) -> tuple[dict[str, dict], dict[str, object]]:
    """This run's `rows` and `checks` merged with those of an earlier parity.json (`old`) of the same source.

    An old row is kept only when `same_source` accepts its provenance: a row of other weights (or one
    written before rows carried provenance) would report figures of a model that is not the one published.
    Old checks are kept only when `same_source` accepts the old report itself. `now` names this run's
    source in the log line that counts what was dropped.
    """
    fresh = {r.path for r in rows}
    old_rows = [r for r in old.get("paths", []) if r.get("path") not in fresh]
    kept = [r for r in old_rows if same_source(r.get("provenance"))]
    old_checks = old.get("checks", {}) if same_source(old) else {}
    dropped, dropped_checks = len(old_rows) - len(kept), len(old.get("checks", {})) - len(old_checks)
    if dropped or dropped_checks:
        log(f"parity report: dropped {dropped} earlier row(s) and {dropped_checks} earlier check(s) of "
            f"other weights or another template, or without provenance ({now} now)")
    paths = {r["path"]: r for r in kept}
    paths.update({r.path: r.to_dict() for r in rows})
    return paths, {**old_checks, **checks}


def merge_old_report(session: ExportSession, old: dict) -> tuple[dict[str, dict], dict[str, object]]:
    """Rows and checks of an earlier parity.json that may stand beside this session's (same checkpoint and
    template), merged with its own (merge_same_source)."""
    ckpt, tpl = session.provenance["checkpoint_sha256"], session.provenance["template_sha256"]
    return merge_same_source(old, session.rows, session.checks, lambda prov: _same_source(prov, ckpt, tpl),
                             f"checkpoint {str(ckpt)[:12]}, template {tpl[:12]}")


def build_report(session: ExportSession) -> dict:
    """This run's parity.json: its rows and checks plus those of earlier exports of the same weights."""
    old_path = session.out_dir / "parity.json"
    old = json.loads(old_path.read_text()) if old_path.is_file() else {}
    paths, checks = merge_old_report(session, old)
    return {
        "variant": session.variant,
        "checkpoint": session.model.checkpoint.path.name if session.model.checkpoint else "untrained",
        "checkpoint_sha256": session.provenance["checkpoint_sha256"],
        "template_sha256": session.provenance["template_sha256"],
        "host": f"{platform.system()} {platform.machine()}",
        "golden_inputs": f"{session.num_golden} deterministic renders of the template body (export/golden.py)",
        "paths": list(paths.values()),
        "checks": checks,
        "fp16_audit": audit_summary(audit_fp16_ranges(session.model, session.inputs)),
    }


def write_report(session: ExportSession, stage: Path) -> None:
    """Write artifacts/<variant>/parity.{json,md} into `stage`: this run's rows and checks, plus those of
    earlier exports from the same checkpoint and template (merge_old_report)."""
    report = build_report(session)
    checks, audit = report["checks"], report["fp16_audit"]
    write_json_atomic(stage / "parity.json", report)
    rows = [PathParity(**dict(r.items())) for r in report["paths"]]
    tpl = session.template
    weights = (f"Checkpoint: {report['checkpoint']} (sha256 {report['checkpoint_sha256']})."
               if report["checkpoint_sha256"]
               else "Checkpoint: none (untrained network, deterministic random weights).")
    md = [f"# Parity report: {session.variant}", "",
          f"{weights} Template: {tpl.name} v{tpl.version} (sha256 {report['template_sha256']}). "
          "Every row below was measured on these weights and this template.", "",
          f"Inputs: {report['golden_inputs']}. Reference: PyTorch fp32 on {report['host']}.", "",
          markdown_table(rows), "", "## Accelerator checks", ""]
    md += [f"- **{k}**: {v}" for k, v in checks.items()]
    md += ["", "## fp16 range audit", ""]
    flagged = audit["flagged"]
    md.append("No layer flagged." if not flagged else "\n".join(f"- {e['layer']}: {e['flag']}" for e in flagged))
    md += [f"- largest magnitude: {audit['largest'][0]['layer']} = {audit['largest'][0]['max_abs']:.1f} "
           f"(fp16 max {audit['fp16_max']:.0f})"]
    (stage / "parity.md").write_text("\n".join(md) + "\n")


def write_model_card(session: ExportSession, stage: Path) -> None:
    """artifacts/<variant>/MODEL_CARD.md: what was exported, from which weights, under which licence."""
    from model.tools.summary import count_macs

    spec, model, tpl = session.spec, session.model, session.template
    info = model.checkpoint
    from model.registry import weights_license

    lic = weights_license(spec, info.metadata if info else None)
    h, w = spec.input_hw
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model, model.example_input())
    terms = ("commercial use allowed" if lic.commercial_use else "**NON-COMMERCIAL USE ONLY**")
    lines = [
        f"# Model card: {spec.artifact_name} (generated by `make export`)",
        "",
        f"{spec.description}.",
        "",
        "## Licence",
        "",
        f"{lic.name}: {terms}. {lic.notice}",
        "",
        "## Weights",
        "",
    ]
    if info is None:
        lines.append("UNTRAINED: deterministic random initialisation (seed 0). Its outputs are not a body mesh.")
    else:
        lines += [f"- file: `{info.path.name}`, sha256 `{info.sha256}`, trained: {info.trained}",
                  f"- source: {info.metadata.get('source', 'trained by this project (see its model card)')}"]
        for name, src in json.loads(info.metadata.get("source_files", "{}")).items():
            lines.append(f"- {name}: `{src['file']}`, sha256 `{src['sha256']}`")
    scale, bias = spec.normalization
    shift = model.net.settings.normalization[1]
    normalised = (f"normalised as x * {scale:.6g} {bias:+g} in the graph" if not spec.fp16_rewrites else
                  f"x {shift:+g} in the graph, the x {scale:.6g} in the first convolution (fp16 rewrites)")
    lines += [
        "",
        "## Network and contract",
        "",
        f"- input `{model.input_name}`: RGB {h}x{w} in [0, 255], {normalised}",
        f"- crop: aspect-fitted person box x {spec.crop.box_scale:g}, pad colour {list(spec.crop.pad_rgb)}",
        f"- outputs: {', '.join(model.output_names)} (crop pixels, docs/DESIGN.md §5)",
        f"- size: {params / 1e6:.2f} M parameters, {macs / 1e9:.2f} GMACs (deploy graph, BN folded)",
        f"- template: {tpl.name} v{tpl.version} ({tpl.kind}), V = {tpl.num_vertices}, {tpl.num_faces} low-poly faces"
        + ("" if tpl.coco17 is not None else "; no landmarker: no joints output")
        + (f"; full mesh of {tpl.metadata['full_mesh_vertices']} vertices through its upsampler"
           if "full_mesh_vertices" in tpl.metadata else ""),
        "",
        "## Parity of this export",
        "",
        markdown_table(session.rows) if session.rows else "No path was run.",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in session.checks.items()]
    (stage / "MODEL_CARD.md").write_text("\n".join(lines) + "\n")


def gate_failures(rows: list[PathParity]) -> list[str]:
    """"<path>: <failure>" for every failure of this run that blocks publishing (empty: the run passed): the
    core gate's always, the whole golden set's where enforced (STRICT=1)."""
    return [f"{r.path}: {f}" for r in rows for f in r.blocking_failures()]


def unenforced_failures(rows: list[PathParity]) -> list[str]:
    """Failures over the whole golden set that do not block publishing (the run was not STRICT)."""
    return [f"{r.path}: {f}" for r in rows if r.passed is False and not r.enforced for f in r.failures]


def mark_contracts(stage: Path, failures: list[str], unenforced: list[str] | None = None) -> None:
    """Record this run's parity verdict in every contract it wrote (the sidecar JSON files and the copy
    inside each .mlpackage's metadata): `parity_gate` {passed, failures, unenforced_failures}, so an
    artifact published with KEEP_FAILED=1, or one that misses the whole golden set's gate of a run that
    did not enforce it, says so wherever its contract goes."""
    gate: dict[str, object] = {"passed": not failures}
    if failures:
        gate["failures"] = failures
    if unenforced:
        gate["unenforced_failures"] = unenforced
    for path in sorted([*stage.glob("*.contract.json"), *stage.glob("fixtures/contract.json")]):
        contract = json.loads(path.read_text())
        contract["parity_gate"] = gate
        validate_contract(contract)
        write_json_atomic(path, contract)
    packages = sorted(stage.glob("*.mlpackage"))
    if packages:
        from export.coreml.convert import set_embedded_parity_gate

        for package in packages:
            set_embedded_parity_gate(package, gate)


def keep_failed_report(stage: Path, failed_dir: Path) -> Path:
    """Move the staged parity.{json,md} of a run that failed its gate to `failed_dir` (replacing an older
    failed run's), so the user can read what failed while the published artifacts stay untouched."""
    failed_dir.mkdir(parents=True, exist_ok=True)
    for name in ("parity.json", "parity.md"):
        os.replace(stage / name, failed_dir / name)  # the stage is under the same folder: a rename
    return failed_dir


def drop_stale_failed_report(failed_dir: Path) -> Path | None:
    """Remove the report an earlier failed run left in `failed_dir`, once a later run has published: beside
    fresh artifacts it would describe a model that is not there. Returns the folder removed, or None."""
    if not failed_dir.is_dir():
        return None
    shutil.rmtree(failed_dir)
    return failed_dir


def print_summary(table: str, rows: list, checks: dict[str, object], out_dir: Path, published: bool = True) -> int:
    """The end of an export on the console: its parity `table`, the checks, the files; 1 when a gate failed.
    `published`: False when the run's files were discarded (a failed gate without --keep-failed)."""
    print(table)
    for k, v in checks.items():
        print(f"- {k}: {v}")
    if published:
        files = sorted(p.name for p in out_dir.iterdir() if not p.name.startswith("."))
        print(f"wrote {out_dir}: {', '.join(files)}")
    failed = [r.path for r in rows if r.blocking_failures()]
    if failed:
        print(f"PARITY GATE FAILED for {failed}", file=sys.stderr)
        return 1
    missed = [r.path for r in rows if r.passed is False and not r.enforced]
    if missed:
        print(f"note: {len(missed)} path(s) miss the gate over the whole golden set, which this run does not "
              f"enforce (STRICT=1 does): {missed}", file=sys.stderr)
    return 0
