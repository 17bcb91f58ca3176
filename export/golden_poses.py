"""The posed bodies of the golden set, stored as low-poly template vertices (export/assets/golden_poses.safetensors).

Rendering a posed body needs a posed mesh, and posing needs Anny, whose first start on a fresh
machine builds about 800 MB of cache in about 90 s (measured). The golden set must be cheap, so
the poses are sampled once from Anny by `make golden-poses` (this module's main) and committed as
the template's low-poly vertices (about 600 KB): 32 for the golden set and, from another seed, 64 for
the int8 calibration renders, so no gate input shares a body with calibration. Renders lift them to
the full mesh through the template's upsampler, as the rest-pose golden renders always did. The file
records the template it was made for; a different template is refused with the command that makes a
new file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from model.cli import run_main

POSES_PATH = Path(__file__).resolve().parent / "assets" / "golden_poses.safetensors"
NUM_POSES = 32
POSE_SEED = 4242
NUM_CALIBRATION_POSES = 64
CALIBRATION_POSE_SEED = 4343


class GoldenPosesError(RuntimeError):
    """The pose file is missing or was made for another template."""


def sample_poses(count: int = NUM_POSES, seed: int = POSE_SEED) -> np.ndarray:
    """(count, V, 3) float32 low-poly vertices (metres, Anny's frame) of seeded random Anny bodies."""
    from model.data.anny_sampler import AnnySampler
    from model.template import load_template

    sampler, template = AnnySampler(), load_template()
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        full = sampler.mesh(sampler.random_pose(rng, amount=rng.uniform(0.5, 1.0)), sampler.random_phenotype(rng))
        out.append(template.downsample(full))
    return np.stack(out).astype(np.float32)


def load_poses(template_sha256: str, which: str = "golden") -> np.ndarray:
    """The committed poses, `golden` or `calibration`; refused when they were made for another template."""
    from safetensors import safe_open

    if not POSES_PATH.is_file():
        raise GoldenPosesError(f"{POSES_PATH} is missing; run `make golden-poses`")
    with safe_open(str(POSES_PATH), "np") as f:
        meta = f.metadata() or {}
        poses = f.get_tensor({"golden": "low_poly_vertices", "calibration": "calibration_low_poly_vertices"}[which])
    if meta.get("template_sha256") != template_sha256:
        raise GoldenPosesError(f"{POSES_PATH.name} was made for template sha256 "
                               f"{meta.get('template_sha256', '?')[:12]}, not {template_sha256[:12]}: "
                               "run `make golden-poses`")
    return poses


def main(argv: list[str] | None = None) -> int:
    """Sample the poses from Anny and write the asset."""
    from safetensors.numpy import save_file

    from model.template import load_template

    p = argparse.ArgumentParser(prog="python -m export.golden_poses", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=POSES_PATH)
    args = p.parse_args(argv)
    template = load_template()
    print(f">> sampling {NUM_POSES} Anny bodies (seed {POSE_SEED}); Anny's first start builds its cache")
    poses = sample_poses()
    calibration = sample_poses(NUM_CALIBRATION_POSES, CALIBRATION_POSE_SEED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"template_sha256": template.sha256, "template": template.name, "seed": str(POSE_SEED),
            "calibration_seed": str(CALIBRATION_POSE_SEED), "pose_amount": json.dumps([0.5, 1.0]),
            "made_by": "python -m export.golden_poses"}
    save_file({"low_poly_vertices": poses, "calibration_low_poly_vertices": calibration}, str(args.out), metadata=meta)
    print(f"wrote {args.out} ({len(poses)} golden and {len(calibration)} calibration poses, "
          f"{args.out.stat().st_size / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
