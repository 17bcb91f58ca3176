"""Every bad input a newcomer met answers in one line that names the file, and leaves nothing written.

Each case runs a tool's entry point through model.cli.run_main, the path every `python -m` tool takes.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from model.cli import EXIT_ERROR, EXIT_INTERRUPTED, read_image, run_main


def one_line_error(capsys, code: int) -> str:
    """The stderr of a failed run: exactly one line, `error: ...`, no traceback."""
    err = capsys.readouterr().err.strip()
    assert code == EXIT_ERROR, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


def synthetic_split(root, annotations: str) -> None:
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    for split in ("train", "test"):
        (root / split / "annotations.json").write_text(annotations)


@pytest.mark.parametrize("content, expect", [
    ('{"info": {}, "images": [], "annotations": [{"id": 1, "bbox"', "not valid JSON (line 1, column"),
    ('{"info": {}, "images": []}', "lacks 'annotations'"),
    ("\x89PNG\r\n", "not"),
])
def test_eval_on_a_broken_annotations_file_names_it(tmp_path, capsys, content, expect):
    from model.eval.run import main

    synthetic_split(tmp_path / "data", content)
    out = tmp_path / "eval.json"
    err = one_line_error(capsys, run_main(lambda: main(["--data", str(tmp_path / "data"), "--out", str(out)])))
    assert str(tmp_path / "data" / "train" / "annotations.json") in err and expect in err
    assert not out.exists()


def test_failed_eval_removes_the_earlier_report(tmp_path, capsys):
    from model.eval.run import main

    out = tmp_path / "eval.json"
    out.write_text("{}")
    code = run_main(lambda: main(["--data", str(tmp_path / "missing"), "--out", str(out)]))
    err = one_line_error(capsys, code)
    assert "not found" in err and "make data" in err
    assert not out.exists()


def test_train_on_a_keyless_annotations_file_names_it(tmp_path, capsys):
    from model.train.loop import main

    synthetic_split(tmp_path / "data", json.dumps({"images": [], "annotations": []}))
    runs = tmp_path / "runs"
    code = main(["--variant", "tiny", "--data", str(tmp_path / "data"), "--out", str(runs), "--max-steps", "1"])
    err = one_line_error(capsys, code)
    assert "annotations.json" in err and "lacks 'info'" in err
    assert not runs.exists() or not any(runs.rglob("*.safetensors"))


def test_densepose_loader_answers_in_one_line(tmp_path, capsys):
    from model.data.densepose_coco import main

    bad = tmp_path / "densepose.json"
    bad.write_text('{"images": [')
    err = one_line_error(capsys, run_main(lambda: main([str(bad)])))
    assert str(bad) in err and "not valid JSON" in err


def test_images_outside_the_size_limits_are_refused_from_their_header(tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("1", (10000, 10000)).save(huge)  # 1-bit: a small file whose header says 10000x10000
    with pytest.raises(ValueError, match=r"huge.png is 10000x10000; images of 32 to 4096 pixels a side"):
        read_image(huge)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    with pytest.raises(ValueError, match=r"tiny\.png is 1x1"):
        read_image(tiny)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"notes\.jpg is not a readable image"):
        read_image(text)


def test_demo_refuses_a_huge_image_without_writing(tmp_path, capsys):
    from model.tools.demo import main

    huge = tmp_path / "huge.png"
    Image.new("1", (10000, 10000)).save(huge)
    out, js = tmp_path / "demo.png", tmp_path / "demo.json"
    out.write_bytes(b"an earlier run's picture")
    code = run_main(lambda: main(["--image", str(huge), "--variant", "tiny", "--out", str(out), "--json", str(js)]))
    err = one_line_error(capsys, code)
    assert "10000x10000" in err and "resize it first" in err
    assert not out.exists() and not js.exists()


@pytest.fixture()
def tiny_checkpoint(tmp_path, template):
    from model.build import create_model
    from model.checkpoint import save_checkpoint

    torch.manual_seed(0)
    return save_checkpoint(create_model("tiny", template), tmp_path / "tiny.safetensors", variant="tiny",
                           template=template, trained=False)


def test_a_checkpoint_with_damaged_weights_is_refused_by_name(tiny_checkpoint, template):
    from model.build import create_model
    from model.checkpoint import CheckpointError, load_checkpoint

    data = bytearray(tiny_checkpoint.read_bytes())
    data[-8192:-4096] = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    tiny_checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"tiny.safetensors: its weights do not match the hash .* damaged"):
        load_checkpoint(create_model("tiny", template), tiny_checkpoint, variant="tiny", template=template)


def test_a_checkpoint_without_a_weights_hash_is_refused_until_rehashed(tiny_checkpoint, template):
    from safetensors.torch import load_file, safe_open, save_file

    from model.build import create_model
    from model.checkpoint import WEIGHTS_HASH_KEY, CheckpointError, load_checkpoint
    from model.tools.rehash_checkpoint import rehash

    with safe_open(str(tiny_checkpoint), framework="pt") as f:
        meta = dict(f.metadata())
    del meta[WEIGHTS_HASH_KEY]
    save_file(load_file(str(tiny_checkpoint)), str(tiny_checkpoint), metadata=meta)
    with pytest.raises(CheckpointError, match=r"records no weights_sha256.*rehash_checkpoint"):
        load_checkpoint(create_model("tiny", template), tiny_checkpoint, variant="tiny", template=template)
    assert "recorded weights hash" in rehash(tiny_checkpoint)
    load_checkpoint(create_model("tiny", template), tiny_checkpoint, variant="tiny", template=template)
    assert "verified" in rehash(tiny_checkpoint)


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_pickle_named_safetensors_is_refused_as_a_pickle(tmp_path, writer):
    from model.checkpoint import CheckpointError, read_checkpoint_info

    path = tmp_path / "weights.safetensors"
    if writer == "torch.save":
        torch.save({"w": torch.zeros(2)}, path)
    else:
        path.write_bytes(pickle.dumps({"w": [0.0, 0.0]}, protocol=4))
    with pytest.raises(CheckpointError, match=r"weights.safetensors is a .*(zip|pickle).*pickles can execute code"):
        read_checkpoint_info(path)


def test_ctrl_c_ends_with_one_line(capsys):
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run_main(interrupted) == EXIT_INTERRUPTED
    err = capsys.readouterr().err.strip()
    assert err.startswith("interrupted") and len(err.splitlines()) == 1


def test_unexpected_errors_are_one_line_and_debug_keeps_the_traceback(capsys, monkeypatch):
    def bug() -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.delenv("DEBUG", raising=False)
    err = one_line_error(capsys, run_main(bug))
    assert "ZeroDivisionError" in err and "DEBUG=1" in err
    monkeypatch.setenv("DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        run_main(bug)


def test_third_party_output_goes_to_the_log_and_progress_to_the_terminal(tmp_path, capfd):
    import os

    from model.cli import say, third_party_output_to

    log = tmp_path / "logs" / "export.log"
    with third_party_output_to(log):
        os.write(2, b"native plugin noise\n")  # what C++ libraries write
        print("python converter noise")
        say(">> progress")
    out, err = capfd.readouterr()
    assert ">> progress" in err and "noise" not in out + err
    text = log.read_text()
    assert "native plugin noise" in text and "python converter noise" in text and "progress" not in text
    print("after")  # the streams are back
    assert capfd.readouterr().out == "after\n"


def test_fit_downscales_a_large_image_instead_of_refusing_it(tmp_path):
    wide = tmp_path / "wide.png"
    Image.fromarray(np.full((150, 300, 3), 200, np.uint8)).save(wide)
    with pytest.raises(ValueError, match=r"wide\.png is 300x150.*FIT=1"):
        read_image(wide, max_side=100)
    small = read_image(wide, max_side=100, fit=True)
    assert small.shape == (50, 100, 3) and abs(int(small[25, 50, 0]) - 200) <= 1


def test_eval_of_a_candidate_checkpoint_goes_beside_it_not_over_the_shipped_figures(tmp_path):
    from model.eval.run import default_eval_path
    from model.registry import get_variant

    shipped = get_variant("xs").checkpoint
    assert default_eval_path("xs", shipped) == Path("artifacts/xs/eval.json")
    assert default_eval_path("xs", None) == Path("artifacts/xs/eval.json")  # the untrained network
    assert default_eval_path("xs", tmp_path / "run" / "meshpose_xs.safetensors") == tmp_path / "run" / "eval.json"
