"""Virtual cameras: image handedness, facing visibility, framing."""

import numpy as np
import pytest

from xdancer.data.body3d import film_whole_body, standing_height, whole_body_3d
from xdancer.data.camera import CameraConfig, VirtualCamera, film
from xdancer.pose.skeleton import kp


def _standing_person(T=10, facing=(0.0, 0.0, 1.0)):
    """A person at the origin facing ``facing`` (horizontal), arms out to the sides, y up, metres."""
    f = np.asarray(facing, float) / np.linalg.norm(facing)
    left = np.cross([0.0, 1.0, 0.0], f)  # y x forward = the person's left
    pts = {
        "head": [0, 1.6, 0], "right_shoulder": [-0.2, 1.45, 0], "left_shoulder": [0.2, 1.45, 0],
        "right_elbow": [-0.5, 1.45, 0], "left_elbow": [0.5, 1.45, 0], "right_wrist": [-0.75, 1.45, 0],
        "left_wrist": [0.75, 1.45, 0], "right_hip": [-0.1, 0.95, 0], "left_hip": [0.1, 0.95, 0],
        "right_knee": [-0.1, 0.5, 0.03], "left_knee": [0.1, 0.5, 0.03], "right_ankle": [-0.1, 0.08, 0],
        "left_ankle": [0.1, 0.08, 0],
    }  # fmt: skip
    out = {}
    for name, (x, y, z) in pts.items():  # x along the person's left, z along their facing
        p = x * left + np.array([0.0, y, 0.0]) + z * f
        out[name] = np.repeat(p[None], T, axis=0)
    return out


def _film(joints, yaw=0.0):
    pts, conf = whole_body_3d(joints)
    root = (joints["left_hip"] + joints["right_hip"]) / 2
    cfg = CameraConfig()
    return film_whole_body(pts, conf, root, VirtualCamera(yaw, 3.0, 1.2, 0.7), cfg, 30, standing_height(pts))


def test_facing_the_camera_puts_the_left_hand_on_the_image_right():
    k = _film(_standing_person(facing=(0, 0, 1)), yaw=0.0)  # camera on the +z side, the person faces it
    assert k[0, kp("left_wrist"), 0] > 256 > k[0, kp("right_wrist"), 0]
    assert k[0, kp("nose"), 2] == 1 and k[0, kp("left_eye"), 2] == 1
    assert k[0, kp("neck"), 1] < k[0, kp("left_hip"), 1] < k[0, kp("left_ankle"), 1]  # upright, y down


def test_seen_from_behind():
    k = _film(_standing_person(facing=(0, 0, -1)), yaw=0.0)
    assert k[0, kp("left_wrist"), 0] < 256 < k[0, kp("right_wrist"), 0]
    assert k[0, kp("nose"), 2] == 0 and k[0, kp("left_eye"), 2] == 0 and k[0, kp("left_ear"), 2] == 1


def test_profile_hides_the_far_ear():
    k = _film(_standing_person(facing=(1, 0, 0)), yaw=0.0)  # the camera sees the person's right side
    assert k[0, kp("right_ear"), 2] == 1 and k[0, kp("left_ear"), 2] == 0


def _spread_args():
    joints = _standing_person()
    pts, conf = whole_body_3d(joints)
    root = (joints["left_hip"] + joints["right_hip"]) / 2
    return pts[:, conf[0] > 0], root, VirtualCamera(0, 3.0, 1.2, 0.7)


def test_framing_fills_the_frame_as_asked():
    joints = _standing_person()
    for side, x in (("left", 0.25), ("right", -0.25)):  # arms down: the body fits a portrait frame
        joints[f"{side}_elbow"] = np.repeat([[x, 1.2, 0.0]], 10, axis=0)
        joints[f"{side}_wrist"] = np.repeat([[x, 0.95, 0.0]], 10, axis=0)
    pts, conf = whole_body_3d(joints)
    height = standing_height(pts)
    p = film(pts, (joints["left_hip"] + joints["right_hip"]) / 2, VirtualCamera(0, 3.0, 1.2, 0.7), CameraConfig(), 30,
             height, valid=conf > 0)  # fmt: skip
    assert p.focal_px == pytest.approx(0.7 * 896 * 3.0 / height)  # no zoom-out needed
    # Arms spread wider than a portrait frame: the camera zooms out to keep the hands inside.
    spread = film(*_spread_args(), CameraConfig(), 30, height)
    assert spread.focal_px < p.focal_px and spread.xy[..., 0].min() >= 0 and spread.xy[..., 0].max() <= 512
    # The middle of the standing body is at the image centre.
    mid = np.array([[[0.0, height / 2, 0.0]]]).repeat(10, axis=0)
    centre = film(mid, mid[:, 0], VirtualCamera(0, 3.0, 1.2, 0.7), CameraConfig(), 30, height)
    np.testing.assert_allclose(centre.xy[0, 0], [256, 448], atol=1e-3)
