"""Distillation (make distill): a student learns a teacher's outputs on unlabelled frames."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from model.build import create_model
from model.checkpoint import save_checkpoint
from model.data.synthetic import render_template_body
from model.train.distill import DistillConfig, DistillError, distill, label, main


@pytest.fixture(scope="module")
def teacher_and_frames(tmp_path_factory, template):
    root = tmp_path_factory.mktemp("distill")
    torch.manual_seed(3)
    teacher = create_model("tiny", template)
    with torch.no_grad():  # a teacher whose outputs vary with the image: not the zero-bias initialisation
        for p in teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ckpt = save_checkpoint(teacher, root / "teacher.safetensors", variant="tiny", template=template, trained=True)
    frames = root / "frames"
    frames.mkdir()
    for i in range(30):
        Image.fromarray(render_template_body(120, 160, 3000 + i).astype(np.uint8)).save(frames / f"{i:03d}.png")
    labels = label(ckpt, frames, root / "labels", use_detector=False)
    return ckpt, frames, labels, root


def test_labels_hold_every_frame_the_teacher_outputs_and_its_template(teacher_and_frames, template):
    _, _, labels, _ = teacher_and_frames
    index = json.loads((labels / "labels.json").read_text())
    assert len(index["records"]) == 30 and index["heldout"] == [0, 10, 20]
    assert index["teacher"]["variant"] == "tiny" and "whole frame" in index["box_source"]
    from safetensors.numpy import load_file

    arrays = load_file(str(labels / "labels.safetensors"))
    assert arrays["vertices"].shape == (30, template.num_vertices, 3) and arrays["joints"].shape == (30, 17, 3)
    # the boxes are the whole 160 x 120 frames: teacher vertices lie around the frame, in frame pixels
    assert 0 < np.median(arrays["vertices"][..., 0]) < 160
    from model.template import load_template

    assert load_template(labels / "template.safetensors").sha256 == template.sha256


def test_student_disagreement_with_the_teacher_falls(teacher_and_frames):
    _, _, labels, root = teacher_and_frames
    cfg = DistillConfig(variant="tiny", batch_size=4, max_steps=100, warmup_steps=5, log_every=20, save_every=50,
                        lr=5e-3)
    distill(cfg, labels, root / "student")
    report = json.loads((root / "student" / "distill_report.json").read_text())
    assert report["after"]["median_2d_px"] < 0.8 * report["before"]["median_2d_px"], report
    assert report["after"]["samples"] == 3


def test_resume_repeats_the_run_bit_for_bit(teacher_and_frames, monkeypatch):
    """A run stopped right after its step-6 save and resumed ends with the same weights as one that was not."""
    from safetensors.torch import load_file

    import model.train.distill as module

    _, _, labels, root = teacher_and_frames
    cfg = DistillConfig(variant="tiny", batch_size=4, max_steps=12, warmup_steps=2, log_every=4, save_every=6)
    straight = distill(cfg, labels, root / "straight")
    real = module.run_steps

    def stopped_after_first_save(*args, **kwargs):
        save = args[8]

        def save_then_stop(step):
            save(step)
            raise KeyboardInterrupt

        return real(*args[:8], save_then_stop, *args[9:], **kwargs)

    monkeypatch.setattr(module, "run_steps", stopped_after_first_save)
    with pytest.raises(KeyboardInterrupt):
        distill(cfg, labels, root / "resumed")
    monkeypatch.setattr(module, "run_steps", real)
    resumed = distill(cfg, labels, root / "resumed", resume=True)
    a, b = load_file(str(straight)), load_file(str(resumed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_video_is_labelled_frame_by_frame(teacher_and_frames, tmp_path):
    import cv2

    ckpt, frames, _, _ = teacher_and_frames
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for png in sorted(frames.iterdir())[:8]:
        writer.write(np.asarray(Image.open(png))[:, :, ::-1].copy())
    writer.release()
    out = label(ckpt, video, tmp_path / "labels", every=2, use_detector=False)
    index = json.loads((out / "labels.json").read_text())
    assert [r["source"] for r in index["records"]] == [f"clip_{i:06d}" for i in (0, 2, 4, 6)]


def test_bad_inputs_are_one_line_errors(teacher_and_frames, tmp_path, capsys):
    ckpt = teacher_and_frames[0]
    (tmp_path / "empty").mkdir()
    out = str(tmp_path / "l")
    assert main(["label", "--teacher", str(ckpt), "--images", str(tmp_path / "empty"), "--out", out]) == 2
    assert "holds no image" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    assert main(["label", "--teacher", str(ckpt), "--images", str(tmp_path / "notes.txt"), "--out",
                 str(tmp_path / "l")]) == 2
    assert "neither a folder of images nor a video" in capsys.readouterr().err
    assert main(["train", "--labels", str(tmp_path / "none"), "--student", "tiny", "--out", str(tmp_path / "s")]) == 2
    assert "is missing: run the labelling first" in capsys.readouterr().err


def test_synthetic_renders_need_the_teacher_template(teacher_and_frames, tmp_path):
    from model.template.asset import placeholder_template, save_template_arrays, template_arrays_of

    _, _, labels, _ = teacher_and_frames
    other = tmp_path / "labels"
    other.mkdir()
    for name in ("labels.json", "labels.safetensors"):
        (other / name).write_bytes((labels / name).read_bytes())
    (other / "frames").symlink_to(labels / "frames")
    stand_in = placeholder_template(514)
    save_template_arrays(other / "template.safetensors", template_arrays_of(stand_in), stand_in.metadata)
    with pytest.raises(DistillError, match="not the one the synthetic renders are labelled on"):
        distill(DistillConfig(variant="tiny", batch_size=4, max_steps=2, synthetic_ratio=0.5), other, tmp_path / "s")


def test_a_student_of_non_commercial_weights_carries_their_licence(teacher_and_frames, template, tmp_path):
    from model.checkpoint import read_checkpoint_info
    from model.registry import get_variant, weights_license

    _, frames, _, _ = teacher_and_frames
    teacher = save_checkpoint(create_model("tiny", template), tmp_path / "t.safetensors", variant="tiny",
                              template=template, trained=True,
                              extra={"license": "research only", "commercial_use": "false",
                                     "license_notice": "non-commercial research purposes only"})
    labels = label(teacher, frames, tmp_path / "labels", limit=12, use_detector=False)
    student = distill(DistillConfig(variant="tiny", batch_size=4, max_steps=2, warmup_steps=1), labels,
                      tmp_path / "student")
    lic = weights_license(get_variant("tiny"), read_checkpoint_info(student).metadata)
    assert lic.commercial_use is False and "non-commercial" in lic.notice
