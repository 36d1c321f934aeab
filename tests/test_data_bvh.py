"""BVH: parser and forward kinematics on a hand-made file with known answers, and a real capture."""

import numpy as np
import pytest

from xdancer.data.body3d import body_frame
from xdancer.data.bvh import forward_kinematics, import_bvh, named_joints, parse_bvh, to_metres_y_up
from xdancer.errors import InputError
from xdancer.pose.skeleton import kp

TINY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Arm
  {
    OFFSET 10 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 5 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
1 2 3 0 0 0 0 0 0
0 0 0 90 0 0 0 90 0
"""


def test_forward_kinematics_known_answer(tmp_path):
    f = tmp_path / "tiny.bvh"
    f.write_text(TINY)
    bvh = parse_bvh(f)
    assert bvh.fps == 2.0 and [j.name for j in bvh.joints] == ["Hips", "Arm"]
    pos, ends = forward_kinematics(bvh)
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [11, 2, 3]], atol=1e-9)
    np.testing.assert_allclose(ends[0, 1], [16, 2, 3], atol=1e-9)
    # Frame 1: the root turns 90 degrees about z, so the arm points up (+y); the arm then turns
    # 90 degrees about its x axis, which is along the bone: the end site stays on the bone's line.
    np.testing.assert_allclose(pos[1, 1], [0, 10, 0], atol=1e-9)
    np.testing.assert_allclose(ends[1, 1], [0, 15, 0], atol=1e-9)


def test_rotation_order_follows_the_channel_list(tmp_path):
    # The arm lists Z then X: its rotation is Rz(90) @ Rx(90), which differs from Rx(90) @ Rz(90).
    text = TINY.replace("0 0 0 90 0 0 0 90 0", "0 0 0 0 0 0 90 90 0").replace("OFFSET 5 0 0", "OFFSET 0 0 5")
    f = tmp_path / "order.bvh"
    f.write_text(text)
    _, ends = forward_kinematics(parse_bvh(f))
    rz = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    rx = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0.0]])
    expected = np.array([10, 0, 0]) + rz @ rx @ np.array([0, 0, 5.0])
    np.testing.assert_allclose(ends[1, 1], expected, atol=1e-9)
    assert not np.allclose(expected, np.array([10, 0, 0]) + rx @ rz @ np.array([0, 0, 5.0]))


def test_bad_bvh_is_an_input_error(tmp_path):
    f = tmp_path / "bad.bvh"
    f.write_text(TINY.replace("Frames: 2", "Frames: 3"))
    with pytest.raises(InputError):
        parse_bvh(f)
    f.write_text("not a bvh")
    with pytest.raises(InputError):
        parse_bvh(f)


def test_real_capture_jumping_jacks(shared_data):
    path = shared_data / "mocap" / "cmu_jumping_jacks.bvh"
    bvh = parse_bvh(path)
    pos, ends = forward_kinematics(bvh)
    # Rigid bones: every joint keeps its distance to its parent through the capture.
    for j, joint in enumerate(bvh.joints):
        if joint.parent >= 0:
            length = np.linalg.norm(pos[:, j] - pos[:, joint.parent], axis=1)
            assert length.std() < 1e-6 * max(length.mean(), 1)
    # The file's Left/Right labels agree with the anatomical rule used for unlabelled captures:
    # with forward = left x up, knees bend forward and toes point forward.
    j = to_metres_y_up(named_joints(bvh, pos, ends))
    _, fwd = body_frame(j)
    for side in ("left", "right"):
        assert ((j[f"{side}_knee"] - (j[f"{side}_hip"] + j[f"{side}_ankle"]) / 2) * fwd).sum(-1).mean() > 0.05
        assert ((j[f"{side}_toe"] - j[f"{side}_ankle"]) * fwd).sum(-1).mean() > 0.05
    (clip,) = list(import_bvh(path, views=1))
    k = clip.poses.keypoints
    assert clip.music is None and clip.poses.fps == 30 and len(k) == 124
    body = k[:, :18]
    assert (body[:, [kp("neck"), kp("left_hip"), kp("right_hip")], 2] == 1).all()
    # Upright: head above hips above ankles in the image (y down), in every frame.
    neck_y, hip_y = k[:, kp("neck"), 1], k[:, [kp("left_hip"), kp("right_hip")], 1].mean(axis=1)
    ankle_y = k[:, [kp("left_ankle"), kp("right_ankle")], 1].mean(axis=1)
    assert (neck_y < hip_y).all() and (hip_y < ankle_y).all()
    # Jumping jacks: the wrists swing from below the shoulders to above the head.
    wrist_y = k[:, [kp("left_wrist"), kp("right_wrist")], 1].mean(axis=1)
    assert (wrist_y > neck_y).any() and (wrist_y < neck_y - 0.5 * (hip_y - neck_y)).any()
    # Hands and face are unknown in motion capture.
    assert (k[:, 24:, 2] == 0).all()
