"""The `paper` variant and `make import-paper`: the authors' release, converted and checked.

A random checkpoint in the release's layout (tests/paper_release.py, from the shipped key table)
is imported, and the converted network is compared with an independent reference of the
release's forward pass written from its formulas (tests/paper_reference.py), which reads the
release-format keys directly.
"""

import json

import numpy as np
import pytest
import torch

from model.build import build_deploy_model, create_model, resolve_template
from model.checkpoint import load_checkpoint, read_checkpoint_info, read_embedded_template
from model.data.synthetic import render_template_body
from model.network.deploy import DeployModel
from model.tools.import_paper import import_release, load_key_table, main, map_release_key
from tests.paper_reference import release_forward, release_upsample
from tests.paper_release import write_decoders, write_release_files


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    files = write_release_files(folder)
    files["out"] = import_release(files["ckpt"], files["upsampler"], files["repo"], folder / "paper.safetensors",
                                  log=lambda msg: None)
    return files


def _image(seed: int) -> torch.Tensor:
    return torch.from_numpy(render_template_body(384, 288, seed).transpose(2, 0, 1)[None].copy())


def test_key_table_maps_one_to_one_onto_the_paper_network(template):
    from model.template.asset import placeholder_template

    own = create_model("paper", placeholder_template(518)).state_dict()
    table = load_key_table()
    mapped = {}
    for key, shape, _ in table["root"]:
        target = map_release_key(key)
        if target is None:
            assert key in table["derived"]
            continue
        assert target[0] not in mapped, f"{key} and {mapped.get(target[0])} both map to {target[0]}"
        mapped[target[0]] = key
        n = int(np.prod(shape))
        assert own[target[0]].numel() == n, f"{key} {shape} -> {target[0]} {tuple(own[target[0]].shape)}"
    assert set(mapped) == set(own)


def test_import_writes_one_checkpoint_with_the_deploy_template_and_its_sources(release):
    info = read_checkpoint_info(release["out"])
    assert info.variant == "paper" and info.trained
    assert json.loads(info.metadata["commercial_use"]) is False
    assert "non-commercial" in info.metadata["license_notice"]
    sources = json.loads(info.metadata["source_files"])
    from model.checkpoint import file_sha256

    assert sources["PAPER_CKPT"]["sha256"] == file_sha256(release["ckpt"])
    assert sources["PAPER_UPSAMPLER"]["sha256"] == file_sha256(release["upsampler"])
    tpl = read_embedded_template(release["out"])
    assert tpl.kind == "deploy" and tpl.num_vertices == 518 and tpl.num_faces == 0
    assert tpl.sha256 == info.template_sha256
    assert sorted(map(tuple, tpl.seam_pairs.tolist())) == sorted(map(tuple, release["seams"]))
    assert tpl.coco17 is None and tpl.upsample_matrix.shape == (6890, 518)


def test_conversion_is_exact_against_the_reference(release):
    """Built in float64 (BN folded in float64), the converted network reproduces the release's formulas."""
    tpl = resolve_template("paper", release["out"])
    net = create_model("paper", tpl)
    load_checkpoint(net, release["out"], variant="paper", template=tpl)
    model = DeployModel(net.double(), input_name="image", output_names=("vertices", "visibility"),
                        vertex_origin="corner").double()
    x = _image(1000)
    with torch.no_grad():
        vertices, visibility = model(x.double())
    ref = release_forward(release["root"], x, release["seams"])
    assert (vertices - ref["vertices"]).abs().max() <= 1e-3
    assert (visibility - ref["visibility"]).abs().max() <= 1e-5


def test_fp32_deploy_graph_stays_within_the_release_own_fp32_noise(release):
    """In fp32 nobody reproduces exact arithmetic: the release's own code is ~0.02 px off at its 27 px per
    regression bin. The exported graph (fp32, BN folded) may be off by no more than twice that."""
    model = build_deploy_model("paper", str(release["out"]))
    for seed in (1000, 1001):
        x = _image(seed)
        with torch.no_grad():
            vertices, visibility = model(x)
        vertices = vertices + torch.tensor(model.origin_px)  # the graph emits them about the crop centre
        exact = release_forward(release["root"], x, release["seams"])
        theirs = release_forward(release["root"], x, release["seams"], dtype=torch.float32)
        ours_err = (vertices.double() - exact["vertices"])[0, :, :2].norm(dim=-1).max()
        their_err = (theirs["vertices"].double() - exact["vertices"])[0, :, :2].norm(dim=-1).max()
        assert ours_err <= 2 * their_err + 1e-3, (float(ours_err), float(their_err))
        assert (visibility.double() - exact["visibility"]).abs().max() <= 1e-5


def test_two_part_deployment_composes_to_the_paper_graph(release):
    """The paper's HRNet makes no coarse map: its backbone part emits `fine` alone and the heads take it."""
    from model.network.deploy import DeployBackbone, DeployHeads

    model = build_deploy_model("paper", str(release["out"]))
    x = _image(1000)
    with torch.no_grad():
        whole = model(x)
        features = DeployBackbone(model)(x)
        parts = DeployHeads(model)(**features)
    assert list(features) == ["fine"]
    for name, value in zip(model.output_names, whole, strict=True):
        assert torch.equal(parts[name], value), name


def test_folded_upsampler_reproduces_the_release_full_mesh(release):
    tpl = read_embedded_template(release["out"])
    ref = release_forward(release["root"], _image(1000), release["seams"])
    theirs = release_upsample(release["up"], ref["vertices_release"], release["center_indices"],
                              release["center_weights"])
    shift = (ref["vertices"] - ref["vertices_release"])[:, :1]  # our frame: +0.5 on x, y; z root-relative
    ours = tpl.upsample(ref["vertices"][0])
    assert torch.allclose(ours, (theirs + shift)[0], atol=1e-3)


def test_smpl_gives_full_mesh_faces_and_coco_joints(release, tmp_path):
    rng = np.random.default_rng(3)
    smpl = tmp_path / "SMPL_NEUTRAL.npz"
    v = rng.normal(size=(6890, 3))
    faces = rng.integers(0, 6890, size=(13776, 3))
    j_reg = rng.random((24, 6890)) * (rng.random((24, 6890)) < 0.01)
    np.savez(smpl, v_template=v, f=faces, J_regressor=j_reg)
    out = import_release(release["ckpt"], release["upsampler"], release["repo"], tmp_path / "p.safetensors",
                         smpl=smpl, log=lambda msg: None)
    model = build_deploy_model("paper", str(out))
    assert model.output_names == ("vertices", "visibility", "joints")
    assert model.template.full_faces.shape == (13776, 3)
    x = _image(1000)
    with torch.no_grad():
        vertices, _, joints = model(x)
    from model.template.smpl import coco17_rows, load_smpl

    rows, _ = coco17_rows(load_smpl(smpl), v)
    full = model.template.upsample(vertices[0].double().numpy())
    assert np.abs(joints[0].numpy() - rows @ full).max() < 1e-2


class Payload:
    """An object a weights-only unpickler must refuse to build."""


def _assert_refused(capsys, argv, needle, out):
    code = main(argv + ["--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert not out.exists() and not list(out.parent.glob(".*" + out.name + "*"))


def test_refusals_are_one_line_and_write_nothing(release, tmp_path, capsys):
    ok = ["--upsampler", str(release["upsampler"]), "--repo", str(release["repo"])]
    out = tmp_path / "out" / "paper.safetensors"
    out.parent.mkdir()
    # truncated checkpoint
    cut = tmp_path / "cut.pth.tar"
    cut.write_bytes(release["ckpt"].read_bytes()[: 1 << 20])
    _assert_refused(capsys, ["--ckpt", str(cut)] + ok, "truncated or not a torch checkpoint", out)
    # a pickle that needs code to load
    evil = tmp_path / "evil.pth.tar"
    torch.save({"model": {"root": {}}, "extra": Payload()}, evil)
    _assert_refused(capsys, ["--ckpt", str(evil)] + ok, "refused: loading it would execute code", out)
    # the upsampler file given as the network checkpoint
    _assert_refused(capsys, ["--ckpt", str(release["upsampler"])] + ok, "no state dict at ['model']['root']", out)
    # missing upsampler
    _assert_refused(capsys, ["--ckpt", str(release["ckpt"]), "--upsampler", str(tmp_path / "none.pth.tar"),
                             "--repo", str(release["repo"])], "does not exist", out)
    # a checkout without the decoders module, and one without the constants
    base = ["--ckpt", str(release["ckpt"]), "--upsampler", str(release["upsampler"])]
    _assert_refused(capsys, base + ["--repo", str(tmp_path)], "has no meshpose/architecture/decoders.py", out)
    bad_repo = tmp_path / "bad_repo"
    src = write_decoders(bad_repo, release["seams"], release["center_indices"], release["center_weights"])
    src.write_text(src.read_text().replace("VERTEX_SEAMS", "OTHER_NAME"))
    _assert_refused(capsys, base + ["--repo", str(bad_repo)], "does not define VERTEX_SEAMS", out)
    overlap = tmp_path / "overlap_repo"
    write_decoders(overlap, [[1, 2], [2, 3]], release["center_indices"], release["center_weights"])
    _assert_refused(capsys, base + ["--repo", str(overlap)], "pairs overlap", out)


def test_wrong_keys_and_shapes_are_named(release, tmp_path, capsys):
    ok = ["--upsampler", str(release["upsampler"]), "--repo", str(release["repo"])]
    out = tmp_path / "paper.safetensors"
    key = "model.model.1.head_layers.SP_MESHPOSE.bias"
    renamed = dict(release["root"])
    renamed["model.model.1.head_layers.SP_MESHPOSE.bias_renamed"] = renamed.pop(key)
    path = tmp_path / "renamed.pth.tar"
    torch.save({"model": {"root": renamed}}, path)
    _assert_refused(capsys, ["--ckpt", str(path)] + ok, key, out)
    reshaped = dict(release["root"])
    reshaped[key] = torch.zeros(517)
    torch.save({"model": {"root": reshaped}}, path)
    _assert_refused(capsys, ["--ckpt", str(path)] + ok, "the release has float32 (518,)", out)


def test_cli_writes_the_checkpoint_and_states_the_licence(release, tmp_path, capsys):
    out = tmp_path / "paper.safetensors"
    code = main(["--ckpt", str(release["ckpt"]), "--upsampler", str(release["upsampler"]),
                 "--repo", str(release["repo"]), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and out.is_file()
    assert "LICENCE" in text and "non-commercial" in text
