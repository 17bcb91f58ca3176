"""Stand-in files in the layout of the MeshPose release, for the import tests.

Random tensors with the names, shapes and dtypes of the shipped key table (BN statistics random,
not identity), saved with torch.save like the release's checkpoints; a stand-in checkout with a
`meshpose/architecture/decoders.py` that defines the three constants the importer reads, with
random values (the release's own values are not needed, nor copied).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

KEY_TABLE = Path(__file__).resolve().parent.parent / "model" / "tools" / "paper_release_keys.json"


def _closes_residual_branch(key: str) -> bool:
    """The BN at the end of a residual block's branch (bn2 of a basic block, bn3 of a bottleneck)."""
    return ("branches." in key and ".bn2." in key) or ("layer1." in key and ".bn3." in key)


def random_tensor(key: str, shape: list[int], dtype: str, g: torch.Generator) -> torch.Tensor:
    """A plausible random value for one release tensor."""
    if key.endswith(".softargmax1D.positions"):
        return torch.arange(shape[0], dtype=torch.float32)
    if key.endswith(".grid"):
        rows, cols = torch.meshgrid(torch.arange(shape[0]), torch.arange(shape[1]), indexing="ij")
        return torch.stack([rows, cols], dim=-1)
    if dtype == "int64":
        return torch.randint(0, 1000, shape, generator=g)
    leaf = key.rsplit(".", 1)[1]
    if leaf == "running_var":
        return torch.rand(shape, generator=g) * 1.5 + 0.5
    if leaf == "running_mean":
        return torch.randn(shape, generator=g) * 0.1
    axis = _bin_axis(key)
    if axis is not None and key.endswith("conv_z_1.1.bias"):  # BN shift of the (256 x 64 bins) signal
        bins = torch.arange(64, dtype=torch.float32)
        bump = BUMP_HEIGHT * torch.exp(-0.5 * ((bins - BIN_OF_CROP_CENTRE[axis]) / BUMP_WIDTH) ** 2)
        return (bump.repeat(shape[0] // 64) + 0.05 * torch.randn(shape, generator=g))
    if axis is not None and key.endswith("conv_z_2.0.weight"):  # positive mean: the bump wins in every vertex
        return (1.0 + torch.randn(shape, generator=g)) * HEAD_SCALE["conv_z_2"] / np.sqrt(shape[1])
    if len(shape) == 1 and _head_of(key):  # the heads' output biases, scaled like their weights
        return torch.randn(shape, generator=g) * 0.05 * HEAD_SCALE[_head_of(key)]
    if len(shape) == 1:  # BN affine or a bias
        if leaf == "weight" and _closes_residual_branch(key):
            return 0.3 + 0.3 * torch.rand(shape, generator=g)
        if leaf == "weight":
            return 1.0 + 0.5 * (torch.rand(shape, generator=g) - 0.5)
        return torch.randn(shape, generator=g) * 0.05
    fan_in = int(np.prod(shape[1:]))
    return torch.randn(shape, generator=g) / np.sqrt(fan_in) * HEAD_SCALE.get(_head_of(key), 1.0)


# Output layers of the heads, scaled down so that their softmaxes are spread (beta * logit std about
# 1 for the heatmaps, bin-logit std about 0.3): random weights cannot make the single, sharp peak of
# a trained head, and a sharp random one has scattered maxima that any rounding flips between (a
# random checkpoint with unit-scale heads moves vertices by tens of pixels under fp16 weights alone).
HEAD_SCALE = {"SP_MESHPOSE": 0.03, "conv_z_2": 0.1}


# X, Y, Z bins peak near the bin whose value is the crop centre (release: x = 4 (6.75 E - 96) + 0.5,
# y = 4 (6.75 E - 72) + 0.5; z is made root-relative, any bin will do), like a trained lift whose
# vertices lie in the crop: random bins would put every vertex near bin 32, i.e. x = 467, y = 563 px,
# outside the 288 x 384 crop, where fp16 keeps a value only to 0.25-0.5 px.
BIN_OF_CROP_CENTRE = {"X": (143.5 / 4 + 96) / 6.75, "Y": (191.5 / 4 + 72) / 6.75, "Z": 32.0}
BUMP_HEIGHT, BUMP_WIDTH = 5.0, 3.0


def _bin_axis(key: str) -> str | None:
    for axis in ("X", "Y", "Z"):
        if f"SP_VERTEX_{axis}." in key:
            return axis
    return None


def _head_of(key: str) -> str:
    if "SP_MESHPOSE." in key:
        return "SP_MESHPOSE"
    return "conv_z_2" if ".conv_z_2." in key else ""


def calibration_images(count: int = 4) -> torch.Tensor:
    """Renders of the template body at the release's 384x288 (RGB in [0, 255]), seeds 2000.."""
    from model.data.synthetic import render_template_body

    return torch.from_numpy(np.stack([render_template_body(384, 288, 2000 + i).transpose(2, 0, 1)
                                      for i in range(count)]))


def write_release_files(folder: Path, seed: int = 0) -> dict:
    """Write ckpt, upsampler and repo stand-ins under `folder`; return their paths and contents.

    Batch-norm statistics are set from renders (tests/paper_reference.py calibrate_batchnorm) and perturbed,
    so that activations have a trained network's scale; with raw random statistics the features
    grow to thousands through the stages and every softmax is one-hot. The BN closing each residual
    branch gets a scale in [0.3, 0.6]: at 1 the random network is chaotic and amplifies rounding about
    80-fold (relative stride-4 feature error after rounding every layer to fp16: 3.9e-2 at 1, 1.8e-3 at
    0.5), which no trained network does; the fp16 gates would then measure the chaos, not the export.
    """
    from tests.paper_reference import calibrate_batchnorm

    table = json.loads(KEY_TABLE.read_text())
    g = torch.Generator().manual_seed(seed)
    root = {k: random_tensor(k, shape, dtype, g) for k, shape, dtype in table["root"]}
    calibrate_batchnorm(root, calibration_images(), seed)
    up = {k: random_tensor(k, shape, dtype, g) for k, shape, dtype in table["upsampler"]}
    folder.mkdir(parents=True, exist_ok=True)
    ckpt, upsampler = folder / "hrnet32.pth.tar", folder / "upsampler.pth.tar"
    torch.save({"model": {"root": root}, "epoch": 1}, ckpt)
    torch.save({"model": {"VERTEX_UPSAMPLE": up}}, upsampler)
    rng = np.random.default_rng(seed)
    order = rng.permutation(518)
    seams = [[int(a), int(b)] for a, b in order[:44].reshape(22, 2)]
    center = [int(i) for i in rng.choice(518, 16, replace=False)]
    weights = rng.random(16)
    weights = [float(w) for w in weights / weights.sum()]
    repo = folder / "repo"
    write_decoders(repo, seams, center, weights)
    return {"ckpt": ckpt, "upsampler": upsampler, "repo": repo, "root": root, "up": up, "seams": seams,
            "center_indices": center, "center_weights": weights}


def write_decoders(repo: Path, seams, center, weights, extra: str = "") -> Path:
    """A stand-in `meshpose/architecture/decoders.py` defining the importer's three constants."""
    src = repo / "meshpose" / "architecture" / "decoders.py"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(
        "import torch\n\n"
        f"MESH_CENTER_INDICES = {center!r}\n"
        f"MESH_CENTER_WEIGHTS = {weights!r}\n"
        f"VERTEX_SEAMS = {seams!r}\n"
        f"{extra}"
    )
    return src


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.paper_release DIR`: write the stand-in release files (to try the import without weights)."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m tests.paper_release", description=main.__doc__)
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    files = write_release_files(args.out, args.seed)
    print(f"PAPER_CKPT={files['ckpt']} PAPER_UPSAMPLER={files['upsampler']} PAPER_REPO={files['repo']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
