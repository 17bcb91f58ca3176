"""Random Anny bodies: phenotypes across ages and builds, poses within joint limits.

Anny's local bone frames (checked here by rotating each bone and watching the mesh): the
bone's long axis is local y (twist), local x bends forward/backward, local z bends sideways.
Limits are conservative ranges of everyday poses (degrees), the right side mirrored.
"""

from __future__ import annotations

import warnings

import numpy as np

# bone stem -> ((x_min, x_max), (y_min, y_max), (z_min, z_max)) in degrees, for the left side.
JOINT_LIMITS: dict[str, tuple[tuple[float, float], ...]] = {
    "upperarm01": ((-40, 110), (-30, 30), (-15, 80)),
    "lowerarm01": ((0, 120), (-40, 40), (-5, 5)),
    "upperleg01": ((-80, 20), (-20, 20), (-25, 20)),
    "lowerleg01": ((0, 110), (-5, 5), (-3, 3)),
    "spine03": ((-15, 25), (-25, 25), (-15, 15)),
    "neck01": ((-20, 25), (-40, 40), (-15, 15)),
    "foot": ((-20, 25), (-10, 10), (-10, 10)),
}
PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")


def _rotation(angles_deg: np.ndarray) -> np.ndarray:
    """4x4 homogeneous rotation from intrinsic x, y, z angles."""
    ax, ay, az = np.deg2rad(angles_deg)
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    out = np.eye(4)
    out[:3, :3] = rx @ ry @ rz
    return out


class AnnySampler:
    """Posed, shaped Anny meshes (N = 13,718 vertices, metres, Anny's frame)."""

    def __init__(self) -> None:
        import anny
        import torch

        self.torch = torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = anny.create_fullbody_model()
        self.labels = list(self.model.bone_labels)

    def random_pose(self, rng: np.random.Generator, amount: float = 1.0) -> dict[str, np.ndarray]:
        """Per-bone local rotations within JOINT_LIMITS, scaled towards rest by `amount`."""
        pose = {}
        for stem, limits in JOINT_LIMITS.items():
            for side in (".L", ".R") if stem not in ("spine03", "neck01") else ("",):
                label = stem + side
                if label not in self.labels:
                    continue
                angles = np.array([rng.uniform(lo, hi) for lo, hi in limits]) * amount
                if side == ".R":  # mirror: sideways bend and twist change sign
                    angles[1:] *= -1
                pose[label] = _rotation(angles)
        return pose

    def random_phenotype(self, rng: np.random.Generator) -> dict[str, float]:
        """Phenotype values in [0, 1]; age skewed to adults, children included."""
        ph = {k: float(rng.uniform(0.0, 1.0)) for k in PHENOTYPES}
        ph["age"] = float(rng.beta(2.5, 1.5))
        return ph

    def mesh(self, pose: dict[str, np.ndarray], phenotype: dict[str, float]) -> np.ndarray:
        """(N, 3) float64 vertices for the given pose and phenotype."""
        t = self.torch
        with t.no_grad():
            out = self.model(
                pose_parameters={k: t.tensor(v, dtype=t.float64)[None] for k, v in pose.items()},
                phenotype_kwargs={k: t.tensor([v], dtype=t.float64) for k, v in phenotype.items()},
            )
        return out["vertices"][0].double().numpy()
