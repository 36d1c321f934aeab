"""MediaPipe Holistic -> 134-point mapping, on synthetic landmarks with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.pose.mediapipe_map import (
    BLAZEPOSE,
    DIRECT,
    FACE_MESH_TO_IBUG68,
    UNOBSERVED,
    map_landmarks,
)
from xdancer.pose.skeleton import FACE, FACE_START, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND, kp

W, H = 640, 480


def _pose(rng: np.random.Generator) -> np.ndarray:
    pose = np.zeros((33, 3), np.float32)
    pose[:, :2] = rng.uniform(0.1, 0.9, size=(33, 2))
    pose[:, 2] = rng.uniform(0.5, 1.0, size=33)
    return pose


def test_no_body_means_nobody():
    out = map_landmarks(None, np.full((468, 2), 0.5), None, None, W, H)
    assert out.shape == (NUM_KEYPOINTS, 3) and not out.any()


def test_direct_points_scale_to_pixels_with_visibility(rng):
    pose = _pose(rng)
    out = map_landmarks(pose, None, None, None, W, H)
    for ours, theirs in DIRECT.items():
        j = BLAZEPOSE[theirs]
        np.testing.assert_allclose(out[kp(ours)], (pose[j, 0] * W, pose[j, 1] * H, pose[j, 2]), rtol=1e-5)
    # Sides are the person's own on both sides of the mapping.
    assert out[kp("left_wrist"), 0] == pytest.approx(pose[15, 0] * W)
    assert out[kp("right_big_toe"), 0] == pytest.approx(pose[32, 0] * W)


def test_neck_is_shoulder_midpoint_with_the_smaller_visibility(rng):
    pose = _pose(rng)
    pose[11] = (0.60, 0.30, 0.9)  # left shoulder
    pose[12] = (0.40, 0.34, 0.7)  # right shoulder
    out = map_landmarks(pose, None, None, None, W, H)
    np.testing.assert_allclose(out[kp("neck")], (0.5 * W, 0.32 * H, 0.7), rtol=1e-5)


def test_small_toes_are_never_invented(rng):
    out = map_landmarks(_pose(rng), None, None, None, W, H)
    for name in UNOBSERVED:
        np.testing.assert_array_equal(out[kp(name)], 0.0)


def test_points_outside_the_picture_are_unseen(rng):
    pose = _pose(rng)
    pose[BLAZEPOSE["left_ankle"]] = (0.5, 1.2, 0.95)  # below the bottom edge
    pose[BLAZEPOSE["right_knee"]] = (-0.1, 0.5, 0.99)
    out = map_landmarks(pose, None, None, None, W, H)
    np.testing.assert_array_equal(out[kp("left_ankle")], 0.0)
    np.testing.assert_array_equal(out[kp("right_knee")], 0.0)


def test_face_uses_the_68_point_table_and_averages_pairs(rng):
    pose = _pose(rng)
    face = rng.uniform(0.3, 0.6, size=(468, 2)).astype(np.float32)
    out = map_landmarks(pose, face, None, None, W, H)
    assert FACE_MESH_TO_IBUG68.min() >= 0 and FACE_MESH_TO_IBUG68.max() < 468
    # Jaw point 0 is mesh point 127; iBUG point 3 is the midpoint of mesh points 132 and 58.
    np.testing.assert_allclose(out[FACE_START, :2], face[127] * (W, H), rtol=1e-5)
    np.testing.assert_allclose(out[FACE_START + 3, :2], (face[132] + face[58]) / 2 * (W, H), rtol=1e-5)
    # Eye corners: 36 is mesh 33 (right eye, outer), 45 is mesh 263 (left eye, outer); chin 8 is 152.
    np.testing.assert_allclose(out[FACE_START + 36, :2], face[33] * (W, H), rtol=1e-5)
    np.testing.assert_allclose(out[FACE_START + 45, :2], face[263] * (W, H), rtol=1e-5)
    np.testing.assert_allclose(out[FACE_START + 8, :2], face[152] * (W, H), rtol=1e-5)
    # One shared confidence: the median visibility of BlazePose's face points.
    np.testing.assert_allclose(out[FACE, 2], np.median(pose[:11, 2]), rtol=1e-6)


def test_hands_keep_order_and_take_their_wrist_visibility(rng):
    pose = _pose(rng)
    left = rng.uniform(0.2, 0.4, size=(21, 2)).astype(np.float32)
    right = rng.uniform(0.6, 0.8, size=(21, 2)).astype(np.float32)
    out = map_landmarks(pose, None, left, None, W, H)
    np.testing.assert_allclose(out[LEFT_HAND, :2], left * (W, H), rtol=1e-5)
    np.testing.assert_allclose(out[LEFT_HAND, 2], pose[BLAZEPOSE["left_wrist"], 2])
    np.testing.assert_array_equal(out[RIGHT_HAND], 0.0)  # that hand was not found
    out = map_landmarks(pose, None, left, right, W, H)
    np.testing.assert_allclose(out[RIGHT_HAND, :2], right * (W, H), rtol=1e-5)
    np.testing.assert_allclose(out[RIGHT_HAND, 2], pose[BLAZEPOSE["right_wrist"], 2])


def test_bad_shapes_are_rejected(rng):
    with pytest.raises(ValueError):
        map_landmarks(np.zeros((17, 3)), None, None, None, W, H)
    with pytest.raises(ValueError):
        map_landmarks(_pose(rng), None, np.zeros((20, 2)), None, W, H)
