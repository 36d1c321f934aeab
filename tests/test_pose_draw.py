"""Skeleton drawing: OpenPose colours where the bones are, nothing for unseen points, sequences."""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.pose.draw import HAND_JOINT_COLOR, LIMB_OPACITY, draw_pose, skeleton_frames
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import BODY_BONES, BODY_COLORS, LEFT_HAND_START, NUM_KEYPOINTS, kp


def _standing(w: int = 512, h: int = 512) -> np.ndarray:
    k = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    pts = {
        "nose": (256, 80), "neck": (256, 140), "right_shoulder": (196, 140), "right_elbow": (176, 220),
        "right_wrist": (166, 300), "left_shoulder": (316, 140), "left_elbow": (336, 220),
        "left_wrist": (346, 300), "right_hip": (226, 300), "right_knee": (226, 390),
        "right_ankle": (226, 480), "left_hip": (286, 300), "left_knee": (286, 390),
        "left_ankle": (286, 480), "right_eye": (246, 70), "left_eye": (266, 70),
        "right_ear": (236, 76), "left_ear": (276, 76),
    }  # fmt: skip
    for name, (x, y) in pts.items():
        k[kp(name)] = (x * w / 512, y * h / 512, 1.0)
    return k


def test_limb_colour_and_joint_colour_on_black():
    k = _standing()
    out = draw_pose(np.zeros((512, 512, 3), np.uint8), k)
    assert out.dtype == np.uint8 and out.shape == (512, 512, 3)
    # Midway along the thigh right_hip -> right_knee (bone 7 of OpenPose's list): its colour at 60 %.
    bone = BODY_BONES.index((kp("right_hip"), kp("right_knee")))
    expected = np.round(LIMB_OPACITY * np.array(BODY_COLORS[bone]))
    np.testing.assert_allclose(out[345, 226], expected, atol=2)
    # The right knee joint is a disc in the knee's own colour, drawn over the limbs.
    np.testing.assert_array_equal(out[390, 226], BODY_COLORS[kp("right_knee")])
    assert out[10, 10].sum() == 0  # background untouched


def test_unseen_points_and_their_bones_are_not_drawn():
    k = _standing()
    k[kp("right_knee"), 2] = 0.1  # below the 0.3 threshold
    out = draw_pose(np.zeros((512, 512, 3), np.uint8), k)
    assert out[345, 226].sum() == 0 and out[390, 226].sum() == 0 and out[435, 226].sum() == 0
    assert not draw_pose(np.zeros((64, 64, 3), np.uint8), np.zeros((NUM_KEYPOINTS, 3))).any()


def test_hands_are_drawn_with_blue_joints():
    k = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    k[LEFT_HAND_START] = (100, 100, 1.0)
    k[LEFT_HAND_START + 1] = (140, 100, 1.0)
    out = draw_pose(np.zeros((256, 256, 3), np.uint8), k)
    np.testing.assert_array_equal(out[100, 100], HAND_JOINT_COLOR)
    assert out[100, 120].any()  # the bone between them


def test_draw_does_not_modify_its_input_and_checks_shapes():
    canvas = np.full((128, 128, 3), 50, np.uint8)
    draw_pose(canvas, _standing(128, 128))
    assert (canvas == 50).all()
    with pytest.raises(ValueError):
        draw_pose(canvas, np.zeros((18, 3)))


def test_skeleton_frames_scale_to_size_and_follow_backgrounds():
    kps = np.stack([_standing(256, 256)] * 3)
    seq = PoseSequence(kps, fps=30, frame_size=(256, 256))
    frames = list(skeleton_frames(seq))
    assert len(frames) == 3 and frames[0].shape == (256, 256, 3)
    big = list(skeleton_frames(seq, size=(512, 512)))
    np.testing.assert_array_equal(big[0][390, 226], BODY_COLORS[kp("right_knee")])  # scaled x2
    grey = np.full((128, 128, 3), 90, np.uint8)
    over = next(skeleton_frames(seq, background=grey))
    assert over.shape == (128, 128, 3) and (over[2, 2] == 90).all()
    streamed = list(skeleton_frames(seq, background=(grey for _ in range(3))))
    assert len(streamed) == 3
    with pytest.raises(ValueError, match="ran out"):
        list(skeleton_frames(seq, background=[grey]))
