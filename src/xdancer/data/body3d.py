"""3D motion-capture joints -> the 134-point whole-body layout, filmed by a virtual camera.

Motion capture (Dance with Melody, BVH) gives a sparse 3D skeleton: shoulders, elbows, wrists,
hips, knees, ankles, a head and usually toes and heels. The 2D layout needs more: the OpenPose neck,
nose, eyes and ears, and both toes and the heel of each foot. We derive those from their neighbours
in a body frame (head centre + torso facing direction), using average human proportions, and mark
what cannot be known (68 face landmarks, 42 finger points) with confidence 0. Nose, eyes and ears
get confidence 0 when they face away from the camera, as a 2D detector would not see them.
"""

from __future__ import annotations

import numpy as np

from xdancer.data.camera import CameraConfig, VirtualCamera, film, in_frame
from xdancer.pose.skeleton import NUM_KEYPOINTS, kp

_UP = np.array([0.0, 1.0, 0.0])

# Joints an importer must provide, (T, 3) each, metres, y up (person's own left and right).
REQUIRED = (
    "head", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
)  # fmt: skip
# Optional: "neck", "right_toe", "left_toe", "right_heel", "left_heel".

_DIRECT = (
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
)  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _horizontal(v: np.ndarray) -> np.ndarray:
    return _unit(v * np.array([1.0, 0.0, 1.0]))


def body_frame(j: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(left (T, 3), forward (T, 3)): the torso's left direction and horizontal facing direction.

    With y up in a right-handed frame, forward = left x up (a person facing +z has their left at +x).
    """
    left = _unit(j["left_shoulder"] - j["right_shoulder"] + j["left_hip"] - j["right_hip"])
    forward = _horizontal(np.cross(left, _UP))
    return left, forward


def whole_body_3d(j: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Named 3D joints -> (points (T, 134, 3) world metres, confidence (T, 134)) before filming."""
    missing = [n for n in REQUIRED if n not in j]
    if missing:
        raise ValueError(f"3D skeleton lacks joints {missing}")
    T = len(j["head"])
    pts = np.zeros((T, NUM_KEYPOINTS, 3))
    conf = np.zeros((T, NUM_KEYPOINTS), dtype=np.float32)

    def put(name: str, value: np.ndarray) -> None:
        pts[:, kp(name)] = value
        conf[:, kp(name)] = 1.0

    for name in _DIRECT:
        put(name, j[name])
    neck = j.get("neck", (j["left_shoulder"] + j["right_shoulder"]) / 2)
    put("neck", neck)

    # Head: a frame from the head centre, the neck-to-head direction and the torso facing. Offsets
    # are average adult proportions (metres): nose 10 cm in front of the head centre, eyes 3 cm
    # higher and 3.2 cm to each side, ears 7.5 cm to each side.
    left, forward = body_frame(j)
    head = j["head"]
    head_up = _unit(head - neck)
    head_fwd = _unit(forward - (forward * head_up).sum(-1, keepdims=True) * head_up)
    head_left = _unit(np.cross(head_up, head_fwd))
    put("nose", head + 0.10 * head_fwd - 0.01 * head_up)
    put("right_eye", head + 0.08 * head_fwd + 0.03 * head_up - 0.032 * head_left)
    put("left_eye", head + 0.08 * head_fwd + 0.03 * head_up + 0.032 * head_left)
    put("right_ear", head + 0.0 * head_fwd + 0.01 * head_up - 0.075 * head_left)
    put("left_ear", head + 0.0 * head_fwd + 0.01 * head_up + 0.075 * head_left)

    # Feet: the toe marker becomes the big toe (moved 2 cm inwards) and the small toe (4 cm
    # outwards, 3 cm back); a missing heel sits 5 cm behind and 6 cm below the ankle.
    for side, sign in (("left", 1.0), ("right", -1.0)):
        ankle = j[f"{side}_ankle"]
        toe = j.get(f"{side}_toe")
        if toe is None:
            toe = ankle + 0.15 * forward - 0.06 * _UP
        foot_fwd = _horizontal(toe - ankle)
        outward = sign * _unit(np.cross(_UP, foot_fwd))  # the foot's outer side
        heel = j.get(f"{side}_heel", ankle - 0.05 * foot_fwd - 0.06 * _UP)
        put(f"{side}_big_toe", toe - 0.02 * outward)
        put(f"{side}_small_toe", toe + 0.04 * outward - 0.03 * foot_fwd)
        put(f"{side}_heel", heel)
    return pts, conf


def _facing_visibility(pts: np.ndarray, cam_pos: np.ndarray) -> dict[str, np.ndarray]:
    """(T,) bool per head point: seen by a camera at ``cam_pos`` (T, 3)?"""
    head = (pts[:, kp("left_ear")] + pts[:, kp("right_ear")]) / 2
    to_cam = _unit(cam_pos - head)
    face_fwd = _unit(pts[:, kp("nose")] - head)
    head_left = _unit(pts[:, kp("left_ear")] - pts[:, kp("right_ear")])
    facing = (face_fwd * to_cam).sum(-1)
    side = (head_left * to_cam).sum(-1)  # > 0: the left side of the head faces the camera
    return {
        "nose": facing > -0.2,
        "left_eye": (facing > 0.0) & (side > -0.7),
        "right_eye": (facing > 0.0) & (side < 0.7),
        "left_ear": side > -0.25,
        "right_ear": side < 0.25,
    }


def film_whole_body(pts: np.ndarray, conf: np.ndarray, root: np.ndarray, cam: VirtualCamera, cfg: CameraConfig,
                    fps: float, body_height_m: float) -> np.ndarray:  # fmt: skip
    """Film (T, 134, 3) world points -> (T, 134, 3) [x px, y px, confidence] keypoints."""
    proj = film(pts, root, cam, cfg, fps, body_height_m, valid=conf > 0)
    c = conf.copy()
    for name, seen in _facing_visibility(pts, proj.camera_pos).items():
        c[:, kp(name)] *= seen
    c *= in_frame(proj.xy, proj.depth, cfg.width, cfg.height)
    out = np.concatenate([proj.xy, c[..., None]], axis=-1).astype(np.float32)
    out[..., :2] *= (c[..., None] > 0)
    return out


def standing_height(pts: np.ndarray) -> float:
    """A dancer's standing height (metres): the 90th percentile of the head-point height above the
    floor (y = 0), plus 10 cm from the eyes to the top of the head."""
    eyes = pts[:, [kp("left_eye"), kp("right_eye")], 1].mean(axis=1)
    return float(np.percentile(eyes, 90)) + 0.10


__all__ = ["REQUIRED", "body_frame", "whole_body_3d", "film_whole_body", "standing_height"]
