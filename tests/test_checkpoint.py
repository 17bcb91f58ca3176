"""Checkpoints: safetensors round trip, identity header, clear refusals."""

import dataclasses

import pytest
import torch
from safetensors.torch import save_file

from model.build import build_deploy_model, create_model
from model.checkpoint import (
    CheckpointError,
    extra_metadata,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)


def test_round_trip_restores_weights_and_header(tmp_path, template):
    torch.manual_seed(3)
    net = create_model("tiny", template)
    path = save_checkpoint(net, tmp_path / "tiny.safetensors", variant="tiny", template=template, trained=True)
    info = read_checkpoint_info(path)
    assert info.variant == "tiny" and info.trained and info.template_sha256 == template.sha256
    torch.manual_seed(4)
    other = create_model("tiny", template)
    load_checkpoint(other, path, variant="tiny", template=template)
    for (k, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k
    deploy = build_deploy_model("tiny", str(path), template=template)
    assert deploy.checkpoint.sha256 == info.sha256
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp file


def test_refuses_other_variant(tmp_path, template):
    path = save_checkpoint(create_model("tiny", template), tmp_path / "t.safetensors",
                           variant="tiny", template=template, trained=False)
    with pytest.raises(CheckpointError, match="trained for variant 'tiny', not 'xs'"):
        load_checkpoint(create_model("xs", template), path, variant="xs", template=template)


def test_refuses_other_template(tmp_path, template):
    path = save_checkpoint(create_model("tiny", template), tmp_path / "t.safetensors",
                           variant="tiny", template=template, trained=False)
    foreign = dataclasses.replace(template, sha256="0" * 64) if dataclasses.is_dataclass(template) else None
    if foreign is None:
        pytest.skip("template is not a dataclass")
    with pytest.raises(CheckpointError, match="made for template"):
        load_checkpoint(create_model("tiny", template), path, variant="tiny", template=foreign)


def test_refuses_foreign_and_corrupt_files(tmp_path, template):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="not a MeshPose checkpoint"):
        read_checkpoint_info(plain)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01not a safetensors file at all")
    with pytest.raises(CheckpointError, match="not a safetensors checkpoint"):
        read_checkpoint_info(junk)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint_info(tmp_path / "missing.safetensors")


def test_matching_weights_warm_start_a_changed_head(tmp_path, template):
    from model.checkpoint import load_matching_weights
    from model.network.meshpose import MeshPoseNet
    from model.registry import get_variant

    torch.manual_seed(5)
    old = create_model("tiny", template)
    path = save_checkpoint(old, tmp_path / "t.safetensors", variant="tiny", template=template, trained=True)
    spec = get_variant("tiny")
    settings = dataclasses.replace(spec.settings, lift_spatial_channels=5, lift_embed=24)
    torch.manual_seed(6)
    new = MeshPoseNet(spec.make_backbone(settings), settings, template)
    loaded, fresh = load_matching_weights(new, path, template=template)
    own, theirs = new.state_dict(), old.state_dict()
    assert all(torch.equal(own[k], theirs[k]) for k in loaded)
    assert "backbone.stem.0.weight" in loaded and "lift.to_bins.weight" in loaded
    # The new summary layers and the resized first linear layer keep their initialisation.
    assert {"lift.squeeze.0.weight", "lift.embed.weight", "lift.to_signal.weight"} <= set(fresh)
    assert not set(loaded) & set(fresh)
    foreign = dataclasses.replace(template, sha256="0" * 64)
    with pytest.raises(CheckpointError, match="made for template"):
        load_matching_weights(new, path, template=foreign)


@pytest.mark.parametrize("embed_template", [False, True])
def test_extra_metadata_is_what_came_in_through_extra(tmp_path, template, embed_template):
    """HEADER_KEYS lists every key save_checkpoint writes itself: a rewrite that carries extra_metadata over
    keeps the step and records, and never passes a stale header (or weights hash) back in as `extra`."""
    model = create_model("tiny", template)
    plain = save_checkpoint(model, tmp_path / "a.safetensors", variant="tiny", template=template, trained=True,
                            embed_template=embed_template)
    assert extra_metadata(read_checkpoint_info(plain).metadata) == {}
    extra = {"step": "7", "note": "x"}
    tagged = save_checkpoint(model, tmp_path / "b.safetensors", variant="tiny", template=template, trained=True,
                             extra=extra, embed_template=embed_template)
    assert extra_metadata(read_checkpoint_info(tagged).metadata) == extra


def test_extra_metadata_cannot_rewrite_the_header(tmp_path, template):
    """A header key in `extra` (say a stale `variant` or weights hash) is refused, and nothing is written."""
    model = create_model("tiny", template)
    for key in ("variant", "trained", "template_sha256"):
        with pytest.raises(ValueError, match=f"header keys \\['{key}'\\]"):
            save_checkpoint(model, tmp_path / "c.safetensors", variant="tiny", template=template, trained=True,
                            extra={key: "xs", "step": "1"})
    assert not (tmp_path / "c.safetensors").exists()
