"""`python -m model.tools.import_paper` (make import-paper): the authors' released weights -> `paper`.

The user requests the MeshPose weights from the authors (non-commercial research licence) and
keeps a checkout of their public repository. This tool reads, as data only:
- the network checkpoint (`torch.save` file; state dict at ["model"]["root"]) and the upsampler
  checkpoint (["model"]["VERTEX_UPSAMPLE"]) with `torch.load(weights_only=True)`: a file that
  needs code execution to load is refused;
- three constants of the checkout's `meshpose/architecture/decoders.py` (seam pairs, mesh-centre
  indices and weights), parsed with `ast` and never imported or run;
- optionally the user's SMPL model (faces and joint regressor; model/template/smpl.py's data-only
  loaders) for full-mesh faces and COCO-17 joints.
Every key and shape is checked against model/tools/paper_release_keys.json (names and shapes of
the release's tensors, shipped with this project; nothing of the release is). The weights are
mapped onto the `paper` network (module names differ), the upsampler is folded into one affine
map (docs/DESIGN.md §9), and one safetensors checkpoint is written with the deploy template
embedded and a header recording the sources, their sha256 and the licence. Any error: one line,
nothing written.
"""

from __future__ import annotations

import argparse
import ast
import json
import pickle
import re
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import file_sha256, save_checkpoint
from model.cli import run_main
from model.registry import get_variant

KEY_TABLE = Path(__file__).resolve().parent / "paper_release_keys.json"
DECODERS = Path("meshpose") / "architecture" / "decoders.py"
ENC = "model.model.0.encoder."
HEADS = "model.model.1.head_layers."
NUM_VERTICES = 518
FULL_VERTICES = 6890
HEAD_OF = {"SP_VERTEX_X": "x", "SP_VERTEX_Y": "y", "SP_VERTEX_Z": "z", "SP_VISIBILITY": "visibility"}


class ImportError_(ValueError):
    """A release file that cannot be imported; the message says which file and what to do."""


# -- key table and name mapping -----------------------------------------------------------------
def load_key_table() -> dict:
    """The release's tensor names, shapes and dtypes (root state dict, derived constants, upsampler)."""
    return json.loads(KEY_TABLE.read_text())


_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"conv(\d)\.(\w+)$"), "backbone.stem.{s0}.0.{1}"),
    (re.compile(r"bn(\d)\.(\w+)$"), "backbone.stem.{s0}.1.{1}"),
    (re.compile(r"layer1\.(\d+)\.conv(\d)\.(\w+)$"), "backbone.layer1.{0}.body.{s1}.0.{2}"),
    (re.compile(r"layer1\.(\d+)\.bn(\d)\.(\w+)$"), "backbone.layer1.{0}.body.{s1}.1.{2}"),
    (re.compile(r"layer1\.(\d+)\.downsample\.(\d)\.(\w+)$"), "backbone.layer1.{0}.short.{1}.{2}"),
    (re.compile(r"transition1\.0\.(\d)\.(\w+)$"), "backbone.transitions.0.0.{0}.{1}"),
    (re.compile(r"transition1\.1\.0\.(\d)\.(\w+)$"), "backbone.transitions.0.1.{0}.{1}"),
    (re.compile(r"transition2\.2\.0\.(\d)\.(\w+)$"), "backbone.transitions.1.{0}.{1}"),
    (re.compile(r"transition3\.3\.0\.(\d)\.(\w+)$"), "backbone.transitions.2.{0}.{1}"),
    (re.compile(r"stage(\d)\.(\d+)\.branches\.(\d+)\.(\d+)\.conv(\d)\.(\w+)$"),
     "backbone.stages.{st}.{1}.branches.{2}.{3}.body.{s4}.0.{5}"),
    (re.compile(r"stage(\d)\.(\d+)\.branches\.(\d+)\.(\d+)\.bn(\d)\.(\w+)$"),
     "backbone.stages.{st}.{1}.branches.{2}.{3}.body.{s4}.1.{5}"),
    # an upward (or same-level, in the last module) exchange: 1x1 conv (.0) and BN (.1), then a resize
    (re.compile(r"stage(\d)\.(\d+)\.fuse_layers\.(\d+)\.(\d+)\.(\d)\.(\w+)$"),
     "backbone.stages.{st}.{1}.fuse.{2}.{3}.proj.{4}.{5}"),
    # a downward exchange: a chain of strided 3x3 conv (.0) + BN (.1) steps
    (re.compile(r"stage(\d)\.(\d+)\.fuse_layers\.(\d+)\.(\d+)\.(\d+)\.(\d)\.(\w+)$"),
     "backbone.stages.{st}.{1}.fuse.{2}.{3}.{4}.{5}.{6}"),
]


def map_release_key(key: str) -> tuple[str, str] | None:
    """Our state-dict name for a release key, with the reshape it needs ("same", "drop_last", "to_2d").

    None for the constants the release keeps in its state dict (bin positions, cell grid): ours
    are fixed buffers, checked separately.
    """
    if key.endswith(".softargmax1D.positions") or key.endswith(".grid"):
        return None
    if key.startswith(ENC):
        rest = key[len(ENC):]
        for pattern, target in _RULES:
            m = pattern.fullmatch(rest)
            if m:
                g = m.groups()
                fields = {"st": int(g[0]) - 2 if rest.startswith("stage") else None}
                for i, v in enumerate(g):
                    if v.isdigit():
                        fields[f"s{i}"] = int(v) - 1  # conv1/bn1 -> 0, ...
                return target.format(*g, **fields), "same"
        raise ImportError_(f"release key {key!r} has no counterpart in the paper network")
    if key.startswith(HEADS + "SP_MESHPOSE."):
        return "vertexpose.heatmaps." + key.rsplit(".", 1)[1], "same"
    m = re.fullmatch(re.escape(HEADS) + r"(SP_\w+)\.conv_z_(\d)\.(\d)\.(\w+)", key)
    if m and m.group(1) in HEAD_OF:
        head, layer, index, leaf = HEAD_OF[m.group(1)], m.group(2), m.group(3), m.group(4)
        if layer == "1":  # Conv1d 256 -> 16384 (k=1) and its BatchNorm1d
            reshape = "drop_last" if leaf == "weight" and index == "0" else "same"
            return f"lift.heads.{head}.expand.{index}.{leaf}", reshape
        return f"lift.heads.{head}.to_bins.{leaf}", "to_2d" if leaf == "weight" else "same"
    raise ImportError_(f"release key {key!r} has no counterpart in the paper network")


def _reshape(tensor: torch.Tensor, how: str) -> torch.Tensor:
    if how == "drop_last":
        return tensor[..., 0]
    if how == "to_2d":
        return tensor[..., None]
    return tensor


# -- reading the user's files ----------------------------------------------------------------------
def _torch_load(path: Path, what: str) -> dict:
    if not path.is_file():
        raise ImportError_(f"{what} {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportError_(f"{path}: refused: loading it would execute code beyond plain tensors "
                           f"({first}); only weights-only torch checkpoints are read") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportError_(f"{path} is truncated or not a torch checkpoint: {first}") from None
    if not isinstance(data, dict):
        raise ImportError_(f"{path}: expected a dict, found {type(data).__name__}")
    return data


def _state_at(data: dict, path: Path, *keys: str) -> dict[str, torch.Tensor]:
    node = data
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            where = "".join(f"[{k!r}]" for k in keys)
            raise ImportError_(f"{path} has no state dict at {where} (is it the other release file?)")
        node = node[k]
    bad = [k for k, v in node.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ImportError_(f"{path}: entries {bad[:3]} of the state dict are not tensors")
    return dict(node)


def check_against_table(state: dict[str, torch.Tensor], rows: list, path: Path, optional: set[str]) -> list[str]:
    """Every tabled key present with its shape and dtype (optional ones checked if present);
    returns the extra keys, which are ignored (the release's own loader is not strict either)."""
    expected = {k: (tuple(shape), dtype) for k, shape, dtype in rows}
    missing = [k for k in expected if k not in state and k not in optional]
    if missing:
        raise ImportError_(f"{path}: {len(missing)} release tensors missing, e.g. {missing[:3]} "
                           "(not the MeshPose release checkpoint?)")
    for k, (shape, dtype) in expected.items():
        if k in state:
            t = state[k]
            if tuple(t.shape) != shape or str(t.dtype).replace("torch.", "") != dtype:
                raise ImportError_(f"{path}: {k} is {str(t.dtype).replace('torch.', '')} {tuple(t.shape)}, "
                                   f"the release has {dtype} {shape}")
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise ImportError_(f"{path}: {k} holds non-finite values")
    return sorted(set(state) - set(expected))


def check_derived_constants(state: dict[str, torch.Tensor], path: Path) -> None:
    """The release's stored bin positions and cell grid must be the plain index ranges our network assumes."""
    for k, t in state.items():
        if k.endswith(".softargmax1D.positions") and not torch.equal(t, torch.arange(64, dtype=t.dtype)):
            raise ImportError_(f"{path}: {k} is not 0..63; the paper network assumes integer bin positions")
        if k.endswith(".grid"):
            rows, cols = torch.meshgrid(torch.arange(t.shape[0]), torch.arange(t.shape[1]), indexing="ij")
            if not torch.equal(t, torch.stack([rows, cols], dim=-1).to(t.dtype)):
                raise ImportError_(f"{path}: {k} is not the (row, column) cell grid the paper network assumes")


def read_repo_constants(repo: Path) -> dict[str, list]:
    """Seam pairs and mesh-centre indices/weights from the user's checkout, parsed as data (ast)."""
    src = Path(repo) / DECODERS
    if not src.is_file():
        raise ImportError_(f"PAPER_REPO={repo} has no {DECODERS}: pass your checkout of Snapchat/MeshPose")
    try:
        tree = ast.parse(src.read_text(), filename=str(src))
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{src} is not readable Python source: {exc}") from None
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("VERTEX_SEAMS", "MESH_CENTER_INDICES", "MESH_CENTER_WEIGHTS"):
                try:
                    found[name] = ast.literal_eval(node.value)
                except ValueError:
                    raise ImportError_(f"{src}: {name} is not a literal list") from None
    missing = sorted({"VERTEX_SEAMS", "MESH_CENTER_INDICES", "MESH_CENTER_WEIGHTS"} - set(found))
    if missing:
        raise ImportError_(f"{src} does not define {', '.join(missing)} (another version of the release?)")
    seams, idx, w = found["VERTEX_SEAMS"], found["MESH_CENTER_INDICES"], found["MESH_CENTER_WEIGHTS"]
    pairs_ok = isinstance(seams, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in seams)
    flat = [v for pair in seams for v in pair] if pairs_ok else None
    if flat is None or not all(isinstance(v, int) and 0 <= v < NUM_VERTICES for v in flat):
        raise ImportError_(f"{src}: VERTEX_SEAMS must be pairs of vertex indices in 0..{NUM_VERTICES - 1}")
    if len(set(flat)) != len(flat):
        raise ImportError_(f"{src}: VERTEX_SEAMS pairs overlap; the release averages each pair once, in order, "
                           "and this importer only reproduces that for disjoint pairs")
    if len(idx) != len(w) or not idx or not all(isinstance(v, int) and 0 <= v < NUM_VERTICES for v in idx):
        raise ImportError_(f"{src}: MESH_CENTER_INDICES and MESH_CENTER_WEIGHTS must be equally long, "
                           f"indices in 0..{NUM_VERTICES - 1}")
    return {"seams": [list(p) for p in seams], "center_indices": list(idx), "center_weights": [float(x) for x in w]}


# -- folding ---------------------------------------------------------------------------------------
def fold_upsampler(up: dict[str, torch.Tensor], center_indices: list[int], center_weights: list[float]):
    """The release's full mesh, full = W2 (W1 (v - c) + b1) + b2 + c with c = sum_k w_k v[i_k], as
    one (N, V) matrix M and bias b: full = M v + b (b added to x, y and z alike). Exact: with
    C the (1, V) centre row, M = W2 W1 (I - 1 C) + 1 C and b = W2 b1 + b2."""
    w1, b1 = up["upsampling.weight"].double(), up["upsampling.bias"].double()
    w2, b2 = up["upsampling2.weight"].double(), up["upsampling2.bias"].double()
    v = w1.shape[1]
    c = torch.zeros(1, v, dtype=torch.float64)
    for i, wt in zip(center_indices, center_weights):
        c[0, i] += wt
    ones_v = torch.ones(v, 1, dtype=torch.float64)
    ones_n = torch.ones(w2.shape[0], 1, dtype=torch.float64)
    m = w2 @ w1 @ (torch.eye(v, dtype=torch.float64) - ones_v @ c) + ones_n @ c
    b = w2 @ b1 + b2
    return m.numpy(), b.numpy(), float(c.sum())


# -- the import ------------------------------------------------------------------------------------
def build_release_template(up_matrix: np.ndarray, up_bias: np.ndarray, seams: list, smpl: Path | None,
                           sources: dict) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays and header of the deploy template: seams, folded upsampler, and with SMPL faces + COCO-17."""
    from model.registry import PAPER_WEIGHTS
    from model.template.asset import RELEASE_TEMPLATE_NAME
    from model.template.build import COCO17

    arrays = {
        "seam_pairs": np.asarray(seams, np.int32).reshape(-1, 2),
        "upsample_matrix": up_matrix.astype(np.float32),
        "upsample_bias": up_bias.astype(np.float32),
    }
    meta = {
        "name": RELEASE_TEMPLATE_NAME, "version": "1", "kind": "deploy",
        "num_vertices": str(NUM_VERTICES), "full_mesh_vertices": str(up_matrix.shape[0]),
        "description": "the MeshPose release's 518-vertex template as far as inference needs it: seam pairs, "
                       "its learned upsampler folded into one affine map to the 6,890-vertex SMPL topology",
        "license": f"{PAPER_WEIGHTS.name}: {PAPER_WEIGHTS.notice}",
        "sources": json.dumps(sources, sort_keys=True),
        "faces": "absent: the release does not publish a triangulation of its 518 vertices",
    }
    if smpl is not None:
        from model.template.smpl import coco17_rows, load_smpl

        model = load_smpl(smpl)
        if len(model["v_template"]) != up_matrix.shape[0]:
            raise ImportError_(f"SMPL={smpl} has {len(model['v_template'])} vertices; the release's upsampler "
                               f"gives {up_matrix.shape[0]}")
        rows, face_vertices = coco17_rows(model, model["v_template"])
        arrays["full_faces"] = model["f"].astype(np.int32)
        arrays["coco17"] = (rows @ up_matrix.astype(np.float64)).astype(np.float32)
        arrays["coco17_bias"] = (rows @ up_bias.astype(np.float64)).astype(np.float32)
        meta["coco17_names"] = json.dumps(COCO17)
        meta["coco17_source"] = ("SMPL J_regressor joints and face vertices " + json.dumps(face_vertices)
                                 + ", composed with the folded upsampler")
        meta["faces"] = "full-mesh faces from the user's SMPL model; no low-poly triangulation"
    return arrays, meta


def import_release(ckpt: Path, upsampler: Path, repo: Path, out: Path, smpl: Path | None = None,
                   log=print) -> Path:
    """Read, check, convert and write; returns the written checkpoint. Raises ImportError_."""
    from model.build import create_model
    from model.template.asset import template_from_arrays

    table = load_key_table()
    derived = set(table["derived"])
    root = _state_at(_torch_load(Path(ckpt), "PAPER_CKPT"), Path(ckpt), "model", "root")
    extra = check_against_table(root, table["root"], Path(ckpt), optional=derived)
    check_derived_constants(root, Path(ckpt))
    up = _state_at(_torch_load(Path(upsampler), "PAPER_UPSAMPLER"), Path(upsampler), "model", "VERTEX_UPSAMPLE")
    up_extra = check_against_table(up, table["upsampler"], Path(upsampler), optional=set())
    consts = read_repo_constants(Path(repo))
    log(f"read {len(root)} tensors from {ckpt} ({len(extra)} not in the release table, ignored"
        + (f": {extra[:3]}" if extra else "") + f"), {len(up)} from {upsampler}"
        + (f" ({len(up_extra)} extra, ignored)" if up_extra else "")
        + f"; {len(consts['seams'])} seam pairs and {len(consts['center_indices'])} centre vertices from {repo}")

    up_matrix, up_bias, center_sum = fold_upsampler(up, consts["center_indices"], consts["center_weights"])
    if abs(center_sum - 1.0) > 1e-3:
        raise ImportError_(f"{repo}/{DECODERS}: MESH_CENTER_WEIGHTS sum to {center_sum:.6f}, not 1: the folded "
                           "upsampler would not follow the mesh when it moves")
    sources = {
        "PAPER_CKPT": {"file": Path(ckpt).name, "sha256": file_sha256(ckpt)},
        "PAPER_UPSAMPLER": {"file": Path(upsampler).name, "sha256": file_sha256(upsampler)},
        "PAPER_REPO": {"file": str(DECODERS), "sha256": file_sha256(Path(repo) / DECODERS)},
    }
    if smpl is not None:
        if not Path(smpl).is_file():
            raise ImportError_(f"SMPL={smpl} does not exist")
        sources["SMPL"] = {"file": Path(smpl).name, "sha256": file_sha256(smpl)}
    arrays, meta = build_release_template(up_matrix, up_bias, consts["seams"], smpl, sources)
    template = template_from_arrays(arrays, meta, "imported release template")

    net = create_model("paper", template)
    ours = {}
    for key, tensor in root.items():
        if key in extra:
            continue
        mapped = map_release_key(key)
        if mapped is not None:
            ours[mapped[0]] = _reshape(tensor, mapped[1])
    result = net.load_state_dict(ours, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ImportError_(f"the mapped weights do not fit the paper network: missing {result.missing_keys[:3]}, "
                           f"unexpected {result.unexpected_keys[:3]}")
    for name, t in net.state_dict().items():
        if t.shape != ours[name].shape:
            raise ImportError_(f"{name}: mapped shape {tuple(ours[name].shape)} differs from {tuple(t.shape)}")
    spec = get_variant("paper")
    header = {
        "source": "the authors' MeshPose release (Snapchat/MeshPose), imported by model/tools/import_paper.py",
        "source_files": json.dumps(sources, sort_keys=True),
        "license": spec.license.name,
        "license_notice": spec.license.notice,
        "commercial_use": json.dumps(spec.license.commercial_use),
        "imported_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(net, out, variant="paper", template=template, trained=True, extra=header, embed_template=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m model.tools.import_paper", description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", type=Path, required=True, help="hrnet32_checkpoint_EXTERNAL.pth.tar (PAPER_CKPT)")
    p.add_argument("--upsampler", type=Path, required=True,
                   help="upsampler_checkpoint_EXTERNAL.pth.tar (PAPER_UPSAMPLER)")
    p.add_argument("--repo", type=Path, required=True, help="your checkout of Snapchat/MeshPose (PAPER_REPO)")
    p.add_argument("--smpl", type=Path, default=None, help="optional SMPL model (.npz or .pkl): faces and joints")
    p.add_argument("--out", type=Path, default=get_variant("paper").checkpoint)
    args = p.parse_args(argv)
    from model.template import TemplateError

    def log(msg: str) -> None:
        print(f">> {msg}", file=sys.stderr, flush=True)

    try:
        out = import_release(args.ckpt, args.upsampler, args.repo, args.out, args.smpl, log=log)
    except (ImportError_, TemplateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spec = get_variant("paper")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB): variant paper, template embedded"
          f"{' with SMPL faces and COCO-17 joints' if args.smpl else ' (no faces, no joints: pass SMPL=... for them)'}")
    print(f"LICENCE: {spec.license.name}. {spec.license.notice}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
