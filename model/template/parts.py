"""DensePose part vocabulary and its mapping from Anny's bones.

Fine parts 1..24 follow DensePose (docs/DESIGN.md §6). Of each front/back pair the first
index is the back half and the second the front half, as in DensePose's own colour
tables (1 torso back, 2 torso front, 7 upper leg right back, 9 front, ...). DensePose
splits the arms inner/outer; this template splits every pair back/front (documented
simplification).
"""

from __future__ import annotations

# Coarse body segments (the 14 dp_masks regions), each with its (back, front) fine parts.
SEGMENTS: dict[str, tuple[int, ...]] = {
    "torso": (1, 2),
    "hand_right": (3,),
    "hand_left": (4,),
    "foot_left": (5,),
    "foot_right": (6,),
    "upper_leg_right": (7, 9),
    "upper_leg_left": (8, 10),
    "lower_leg_right": (11, 13),
    "lower_leg_left": (12, 14),
    "upper_arm_left": (15, 17),
    "upper_arm_right": (16, 18),
    "lower_arm_left": (19, 21),
    "lower_arm_right": (20, 22),
    "head": (23, 24),
}

PART_NAMES: dict[int, str] = {
    1: "torso back", 2: "torso front", 3: "right hand", 4: "left hand", 5: "left foot", 6: "right foot",
    7: "upper leg right back", 8: "upper leg left back", 9: "upper leg right front", 10: "upper leg left front",
    11: "lower leg right back", 12: "lower leg left back", 13: "lower leg right front", 14: "lower leg left front",
    15: "upper arm left back", 16: "upper arm right back", 17: "upper arm left front", 18: "upper arm right front",
    19: "lower arm left back", 20: "lower arm right back", 21: "lower arm left front", 22: "lower arm right front",
    23: "head back", 24: "head front",
}

# Left <-> right mirror of fine parts (an involution; torso, head map to themselves).
MIRROR_PART: dict[int, int] = {1: 1, 2: 2, 3: 4, 4: 3, 5: 6, 6: 5, 23: 23, 24: 24}
for _a, _b in ((7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22)):
    MIRROR_PART[_a], MIRROR_PART[_b] = _b, _a


def segment_of_bone(label: str) -> str:
    """Body segment of an Anny bone label (Anny: '.L' is the subject's left, at +x)."""
    side = "left" if label.endswith(".L") else "right" if label.endswith(".R") else None
    stem = label.split(".")[0]
    if stem.startswith(("upperleg",)):
        return f"upper_leg_{side}"
    if stem.startswith("lowerleg"):
        return f"lower_leg_{side}"
    if stem.startswith(("foot", "toe")):
        return f"foot_{side}"
    if stem.startswith("upperarm"):
        return f"upper_arm_{side}"
    if stem.startswith("lowerarm"):
        return f"lower_arm_{side}"
    if stem.startswith(("wrist", "finger", "metacarpal")):
        return f"hand_{side}"
    if stem in ("root", "pelvis", "breast", "clavicle", "shoulder01") or stem.startswith("spine"):
        return "torso"
    return "head"  # neck, head, jaw and every facial bone
