"""make demo: the predicted mesh over the image and from the side, as one PNG."""

import numpy as np
from PIL import Image

from model.cli import run_main
from model.tools.demo import compose, main, side_view


def test_demo_writes_input_overlay_and_side_view(tmp_path, template):
    from model.build import create_model
    from model.checkpoint import save_checkpoint

    image = np.zeros((160, 120, 3), np.uint8)
    image[20:150, 40:80] = 200
    Image.fromarray(image).save(tmp_path / "in.png")
    ckpt = tmp_path / "tiny.safetensors"
    save_checkpoint(create_model("tiny", template), ckpt, variant="tiny", template=template, trained=False)
    out, js = tmp_path / "demo.png", tmp_path / "demo.json"
    assert main(["--image", str(tmp_path / "in.png"), "--variant", "tiny", "--ckpt", str(ckpt),
                 "--out", str(out), "--json", str(js)]) == 0
    panel = np.asarray(Image.open(out))
    assert panel.shape == (160, 360, 3)
    assert np.array_equal(panel[:, :120], image)
    # a failed run answers in one line and leaves no earlier run's picture or JSON behind
    assert out.is_file() and js.is_file()
    assert run_main(lambda: main(["--image", str(tmp_path / "in.png"), "--variant", "tiny", "--ckpt", str(ckpt),
                                  "--box", "1,2,3", "--out", str(out), "--json", str(js)])) == 2
    assert not out.exists() and not js.exists()
    assert run_main(lambda: main(["--image", str(tmp_path / "nope.png"), "--variant", "tiny", "--ckpt", str(ckpt),
                                  "--out", str(out), "--json", str(js)])) == 2
    # a given box: one person, reported in demo.json in frame pixels
    assert main(["--image", str(tmp_path / "in.png"), "--variant", "tiny", "--ckpt", str(ckpt), "--box",
                 "30,10,90,150", "--out", str(out), "--json", str(js)]) == 0
    import json

    people = json.loads(js.read_text())["people"]
    assert len(people) == 1 and people[0]["track_id"] == 1 and people[0]["box"][2] > people[0]["box"][0]
    assert len(people[0]["joints"]) == 17 and len(people[0]["vertices"]) == template.num_vertices
    assert json.loads(js.read_text())["dropped"] == 0


def test_demo_says_when_the_network_sees_nobody_in_the_box(tmp_path, template, monkeypatch, capsys):
    import json

    from model.build import create_model
    from model.checkpoint import save_checkpoint
    from model.tools.demo import MeshRunner

    Image.fromarray(np.full((160, 120, 3), 90, np.uint8)).save(tmp_path / "in.png")
    ckpt = tmp_path / "tiny.safetensors"
    save_checkpoint(create_model("tiny", template), ckpt, variant="tiny", template=template, trained=False)
    see_nothing = MeshRunner.__call__

    def blind(self, frame, crops):  # what the synthetic-only xs does on real photos: no vertex visible
        outs = see_nothing(self, frame, crops)
        for out in outs:
            out["visibility"][:] = 0.0
        return outs

    monkeypatch.setattr(MeshRunner, "__call__", blind)
    js = tmp_path / "demo.json"
    assert main(["--image", str(tmp_path / "in.png"), "--variant", "tiny", "--ckpt", str(ckpt), "--box=-30,-10,90,150",
                 "--out", str(tmp_path / "demo.png"), "--json", str(js)]) == 0
    record = json.loads(js.read_text())
    assert record["people"] == [] and record["dropped"] == 1
    assert "0 people from the given box (1 dropped: the network called under 10% of the vertices visible" in \
        capsys.readouterr().out


def test_demo_video_writes_an_mp4_and_per_frame_people(tmp_path, template):
    import json

    import cv2

    from model.build import create_model
    from model.checkpoint import save_checkpoint

    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 128))
    for i in range(6):
        frame = np.zeros((128, 160, 3), np.uint8)
        frame[20:120, 40 + 4 * i:80 + 4 * i] = 200
        writer.write(frame)
    writer.release()
    ckpt = tmp_path / "tiny.safetensors"
    save_checkpoint(create_model("tiny", template), ckpt, variant="tiny", template=template, trained=False)
    out, js = tmp_path / "demo.mp4", tmp_path / "demo.json"
    assert main(["--video", str(video), "--variant", "tiny", "--ckpt", str(ckpt), "--out", str(out),
                 "--json", str(js)]) == 0
    assert out.stat().st_size > 0 and cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == 6
    frames = json.loads(js.read_text())["frames"]
    assert [f["frame"] for f in frames] == list(range(6))


def test_compose_draws_the_mesh_where_it_is(template):
    # The template body standing in a 256x192 image, 200 pixels tall, feet at the bottom.
    v = template.upsample(template.vertices.astype(np.float64))
    body = np.stack([v[:, 0], -v[:, 2], -v[:, 1]], 1)  # x right, y down, z away from the camera
    body = (body - body.min(0)) / np.ptp(body[:, 1]) * 200 + np.array([60.0, 28.0, 0.0])
    image = np.full((256, 192, 3), 10.0)
    panel = compose(image, body, np.asarray(template.full_faces))
    overlay, side = panel[:, 192:384].astype(int), panel[:, 384:].astype(int)
    drawn = np.abs(overlay - 10).sum(-1) > 0
    ys, xs = np.nonzero(drawn)
    assert abs(ys.min() - 28) <= 2 and abs(ys.max() - 228) <= 2
    assert abs(xs.min() - body[:, 0].min()) <= 2 and abs(xs.max() - body[:, 0].max()) <= 2
    assert (side != 40).any(axis=-1).mean() > 0.02
    # The side view swaps width for depth: the body's front-to-back extent becomes its width.
    turned = side_view(body, 256, 192)
    assert np.ptp(turned[:, 0]) < np.ptp(body[:, 0])
