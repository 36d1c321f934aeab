"""Retargeting a dancer who turns round (render/retarget.py) on a synthetic standing pose: the photo
shows the front, so a dancer seen from behind drives the limb on each side of the image with the limb
they show there, and a dancer in profile does not flicker between the two."""

from __future__ import annotations

import numpy as np

from xdancer.pose.skeleton import MIRROR_PERMUTATION, NUM_KEYPOINTS, kp
from xdancer.render.retarget import TURN_SPAN, Retargeter
from xdancer.render.rig import J

# A person facing the camera, arms hanging: their right side is on the image's left.
STANDING = {
    "nose": (100, 80), "right_eye": (96, 76), "left_eye": (104, 76), "neck": (100, 100),
    "right_shoulder": (80, 100), "right_elbow": (76, 140), "right_wrist": (74, 180),
    "left_shoulder": (120, 100), "left_elbow": (124, 140), "left_wrist": (126, 180),
    "right_hip": (90, 200), "right_knee": (90, 260), "right_ankle": (90, 320),
    "left_hip": (110, 200), "left_knee": (110, 260), "left_ankle": (110, 320),
}  # fmt: skip


def standing() -> np.ndarray:
    kps = np.zeros((NUM_KEYPOINTS, 3))
    for name, xy in STANDING.items():
        kps[kp(name)] = (*xy, 1.0)
    return kps


def after_standing(pose: np.ndarray) -> np.ndarray:
    """Rig joints (J, 2) of ``pose`` retargeted onto the standing photo after nine standing frames
    (the dance's typical bone lengths are the standing ones)."""
    retarget = Retargeter(standing(), np.stack([standing()] * 9 + [pose]))
    for t in range(9):
        retarget.frame(t)
    return retarget.frame(9).joints


def test_a_dancer_seen_from_behind_raises_the_arm_on_the_same_side_of_the_image():
    front = standing()
    back = front[MIRROR_PERMUTATION].copy()  # the same figure seen from behind: labels swapped
    # Seen from behind, the dancer's right arm is on the image's right; they raise it.
    back[kp("right_elbow"), :2] = (135, 70)
    back[kp("right_wrist"), :2] = (145, 35)
    retarget = Retargeter(front, np.stack([front, back]))
    still, turned = retarget.frame(0), retarget.frame(1)
    assert not still.facing_away and turned.facing_away
    shoulder_y = turned.joints[J["neck"], 1]
    # The photo's left arm -- on the image's right -- goes up; its right arm stays down.
    assert turned.joints[J["left_wrist"], 1] < shoulder_y - 30
    assert turned.joints[J["left_wrist"], 0] > turned.joints[J["neck"], 0]
    assert turned.joints[J["right_wrist"], 1] > shoulder_y + 30
    # The shoulders keep the photo's side: no arm crosses the body to reach its own side.
    assert turned.joints[J["right_shoulder"], 0] < turned.joints[J["left_shoulder"], 0]
    np.testing.assert_allclose(turned.joints[J["right_wrist"]], still.joints[J["right_wrist"]], atol=1.0)


def test_a_dancer_in_profile_does_not_flicker_between_front_and_back():
    spans = [40, 30, 5, -5, 5, -30, -40, -5, 5, -5, 30, 40]  # left shoulder x minus right shoulder x
    frames = []
    for span in spans:
        k = standing()
        k[kp("right_shoulder"), 0] = 100 - span / 2
        k[kp("left_shoulder"), 0] = 100 + span / 2
        frames.append(k)
    retarget = Retargeter(standing(), np.stack(frames))
    turned = [retarget.frame(t).facing_away for t in range(len(spans))]
    assert TURN_SPAN * 40 > 5  # the wobble lies inside the band that holds the state
    assert turned == [False] * 5 + [True] * 5 + [False] * 2


def test_a_dancer_in_profile_keeps_the_photos_shoulder_line():
    """Seen side-on, the dancer's shoulders nearly meet (one a little above the other); the photo's
    torso keeps its width, so the arms stay on its shoulders: the shoulder line keeps at least
    GIRDLE_MIN_STRETCH of its width and turns no more than GIRDLE_TURN."""
    from xdancer.render.retarget import GIRDLE_MIN_STRETCH, GIRDLE_TURN

    front = standing()
    profile = front.copy()
    profile[kp("right_shoulder"), :2] = (98, 96)
    profile[kp("left_shoulder"), :2] = (102, 106)
    profile[kp("right_hip"), :2] = (99, 200)
    profile[kp("left_hip"), :2] = (101, 200)
    joints = after_standing(profile)
    for a, b, photo_width in (("right_shoulder", "left_shoulder", 40.0), ("right_hip", "left_hip", 20.0)):
        line = joints[J[b]] - joints[J[a]]
        assert np.linalg.norm(line) >= GIRDLE_MIN_STRETCH * photo_width - 0.5
        assert abs(np.arctan2(line[1], line[0])) <= GIRDLE_TURN + 1e-6


def test_the_legs_keep_the_dancers_direction_below_a_held_hip_line():
    """Side-on, the driving hip line stands nearly upright; the retargeted one keeps the photo's, and
    the thighs still hang the way the dancer's do instead of turning with the hip line they left."""
    front = standing()
    profile = front.copy()
    profile[kp("right_hip"), :2] = (101, 190)
    profile[kp("left_hip"), :2] = (99, 210)
    for side in ("right", "left"):
        profile[kp(f"{side}_knee"), :2] = (100, 265)
        profile[kp(f"{side}_ankle"), :2] = (100, 325)
    joints = after_standing(profile)
    for side in ("right", "left"):
        thigh = joints[J[f"{side}_knee"]] - joints[J[f"{side}_hip"]]
        assert abs(np.degrees(np.arctan2(thigh[0], thigh[1]))) < 10  # hanging straight down
        assert joints[J[f"{side}_ankle"], 1] > joints[J[f"{side}_knee"], 1] > joints[J[f"{side}_hip"], 1]
