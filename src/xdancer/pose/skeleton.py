"""The one whole-body 2D keypoint layout of the project (DWPose / OpenPose whole-body, 134 points).

Layout (index ranges, end exclusive), as produced by DWPose and consumed by pose-guided animation
tools (ControlNet-OpenPose, AnimateAnyone, MusePose, MimicMotion):

    [0, 18)     body: OpenPose-18 order, with the neck at 1
    [18, 24)    feet: COCO-WholeBody order (left big toe, left small toe, left heel, right ...)
    [24, 92)    face: the 68 iBUG / dlib landmarks
    [92, 113)   left hand: 21 points (wrist, then 4 per finger from thumb to little finger)
    [113, 134)  right hand: 21 points, same order

Each point carries (x, y, confidence in [0, 1]); confidence 0 means "not seen", never a guess.
"Left" and "right" are the person's own sides (OpenPose convention).

Everything that names keypoints lives here: names, bones for drawing, the five body parts of the
pose tokenizer (a partition of the 134 points, so split/merge is lossless), and the left/right
permutation used for mirroring.
"""

from __future__ import annotations

import numpy as np

# --- 1. Names ---------------------------------------------------------------------------------

BODY_NAMES: tuple[str, ...] = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
FOOT_NAMES: tuple[str, ...] = (
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
# iBUG-68: jaw 0-16, right brow 17-21, left brow 22-26, nose bridge 27-30, nose base 31-35,
# right eye 36-41, left eye 42-47, outer lip 48-59, inner lip 60-67 (person's own sides).
FACE_NAMES: tuple[str, ...] = tuple(
    [f"face_jaw_{i}" for i in range(17)]
    + [f"face_right_brow_{i}" for i in range(5)]
    + [f"face_left_brow_{i}" for i in range(5)]
    + [f"face_nose_bridge_{i}" for i in range(4)]
    + [f"face_nose_base_{i}" for i in range(5)]
    + [f"face_right_eye_{i}" for i in range(6)]
    + [f"face_left_eye_{i}" for i in range(6)]
    + [f"face_outer_lip_{i}" for i in range(12)]
    + [f"face_inner_lip_{i}" for i in range(8)]
)
HAND_POINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "little_mcp", "little_pip", "little_dip", "little_tip",
)  # fmt: skip

NUM_BODY, NUM_FOOT, NUM_FACE, NUM_HAND = 18, 6, 68, 21
BODY_START = 0
FOOT_START = BODY_START + NUM_BODY  # 18
FACE_START = FOOT_START + NUM_FOOT  # 24
LEFT_HAND_START = FACE_START + NUM_FACE  # 92
RIGHT_HAND_START = LEFT_HAND_START + NUM_HAND  # 113
NUM_KEYPOINTS = RIGHT_HAND_START + NUM_HAND  # 134

KEYPOINT_NAMES: tuple[str, ...] = (
    BODY_NAMES
    + FOOT_NAMES
    + FACE_NAMES
    + tuple(f"left_hand_{n}" for n in HAND_POINT_NAMES)
    + tuple(f"right_hand_{n}" for n in HAND_POINT_NAMES)
)
KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

if len(KEYPOINT_NAMES) != NUM_KEYPOINTS or len(FACE_NAMES) != NUM_FACE:
    raise RuntimeError("keypoint name tables disagree with the layout sizes")

BODY = slice(BODY_START, FOOT_START)
FEET = slice(FOOT_START, FACE_START)
FACE = slice(FACE_START, LEFT_HAND_START)
LEFT_HAND = slice(LEFT_HAND_START, RIGHT_HAND_START)
RIGHT_HAND = slice(RIGHT_HAND_START, NUM_KEYPOINTS)


def kp(name: str) -> int:
    """Index of a keypoint by name, e.g. ``kp("left_wrist") == 7``."""
    try:
        return KEYPOINT_INDEX[name]
    except KeyError:
        raise KeyError(f"unknown keypoint {name!r}; see xdancer.pose.skeleton.KEYPOINT_NAMES") from None


# --- 2. The five parts of the pose tokenizer ------------------------------------------------------
# X-Dancer tokenizes upper body, lower body, head, left hand and right hand separately. We make the
# parts a partition of the 134 points (each point in exactly one part) so that split/merge is exact.
# The hips belong to the lower body, the shoulders and neck to the upper body; the wrists appear in
# the upper body and again as point 0 of each hand, as in the layout itself.

PART_NAMES: tuple[str, ...] = ("upper_body", "lower_body", "head", "left_hand", "right_hand")

PARTS: dict[str, tuple[int, ...]] = {
    "upper_body": tuple(
        kp(n)
        for n in (
            "neck",
            "right_shoulder", "right_elbow", "right_wrist",
            "left_shoulder", "left_elbow", "left_wrist",
        )  # fmt: skip
    ),
    "lower_body": tuple(
        kp(n) for n in ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")
    )
    + tuple(range(FEET.start, FEET.stop)),
    "head": tuple(kp(n) for n in ("nose", "right_eye", "left_eye", "right_ear", "left_ear"))
    + tuple(range(FACE.start, FACE.stop)),
    "left_hand": tuple(range(LEFT_HAND.start, LEFT_HAND.stop)),
    "right_hand": tuple(range(RIGHT_HAND.start, RIGHT_HAND.stop)),
}
PART_SIZES: dict[str, int] = {name: len(idx) for name, idx in PARTS.items()}

_all = sorted(i for idx in PARTS.values() for i in idx)
if _all != list(range(NUM_KEYPOINTS)):
    raise RuntimeError("the five tokenizer parts must partition the 134 keypoints")
del _all


def split_parts(poses: np.ndarray) -> dict[str, np.ndarray]:
    """(..., 134, C) -> {part: (..., J_part, C)}; works for numpy arrays and torch tensors."""
    if poses.shape[-2] != NUM_KEYPOINTS:
        raise ValueError(f"expected {NUM_KEYPOINTS} keypoints on axis -2, got shape {tuple(poses.shape)}")
    return {name: poses[..., list(idx), :] for name, idx in PARTS.items()}


def merge_parts(parts: dict[str, np.ndarray]) -> np.ndarray:
    """Inverse of :func:`split_parts`: {part: (..., J_part, C)} -> (..., 134, C) (numpy)."""
    missing = set(PART_NAMES) - set(parts)
    if missing:
        raise ValueError(f"missing parts: {sorted(missing)}")
    first = np.asarray(parts[PART_NAMES[0]])
    out = np.zeros(first.shape[:-2] + (NUM_KEYPOINTS, first.shape[-1]), dtype=first.dtype)
    for name, idx in PARTS.items():
        out[..., list(idx), :] = parts[name]
    return out


# --- 3. Bones for drawing (OpenPose conventions and colours) --------------------------------------

# OpenPose-18 limbs, in the order of the classic colour wheel used by ControlNet's draw_bodypose.
BODY_BONES: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)  # fmt: skip
BODY_COLORS: tuple[tuple[int, int, int], ...] = (  # RGB, one per body point (and per bone above)
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip
FOOT_BONES: tuple[tuple[int, int], ...] = (
    (kp("left_ankle"), kp("left_heel")), (kp("left_ankle"), kp("left_big_toe")),
    (kp("left_big_toe"), kp("left_small_toe")),
    (kp("right_ankle"), kp("right_heel")), (kp("right_ankle"), kp("right_big_toe")),
    (kp("right_big_toe"), kp("right_small_toe")),
)  # fmt: skip
# Hand bones within one 21-point hand (add LEFT_HAND_START / RIGHT_HAND_START).
HAND_BONES_LOCAL: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
    (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip
HAND_BONES: tuple[tuple[int, int], ...] = tuple(
    (a + s, b + s) for s in (LEFT_HAND_START, RIGHT_HAND_START) for a, b in HAND_BONES_LOCAL
)

# --- 4. Mirroring: the permutation that swaps left and right ---------------------------------------


def _mirror_permutation() -> np.ndarray:
    perm = np.arange(NUM_KEYPOINTS)
    for i, name in enumerate(KEYPOINT_NAMES):
        if name.startswith("face_"):
            continue
        for a, b in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(a):
                perm[i] = KEYPOINT_INDEX[b + name[len(a) :]]
    # iBUG-68 face: the image-space mirror of each landmark (the standard 68-point flip table).
    face_flip = (
        list(range(16, -1, -1))  # jaw
        + list(range(26, 21, -1)) + list(range(21, 16, -1))  # brows swap
        + [27, 28, 29, 30]  # nose bridge
        + [35, 34, 33, 32, 31]  # nose base
        + [45, 44, 43, 42, 47, 46]  # right eye <- left eye
        + [39, 38, 37, 36, 41, 40]  # left eye <- right eye
        + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lip
        + [64, 63, 62, 61, 60, 67, 66, 65]  # inner lip
    )  # fmt: skip
    perm[FACE] = np.asarray(face_flip) + FACE_START
    return perm


MIRROR_PERMUTATION: np.ndarray = _mirror_permutation()
if not np.array_equal(MIRROR_PERMUTATION[MIRROR_PERMUTATION], np.arange(NUM_KEYPOINTS)):
    raise RuntimeError("the mirror permutation must be an involution")


def mirror(poses: np.ndarray, width: float) -> np.ndarray:
    """Mirror (..., 134, 3) poses about the vertical centre line of an image ``width`` pixels wide.

    x -> width - x, and every left point swaps with its right twin so the result is anatomically
    consistent (a mirrored mirror is the identity).
    """
    out = np.array(poses[..., MIRROR_PERMUTATION, :], copy=True)
    out[..., 0] = width - out[..., 0]
    return out
