"""Per-sequence features of 2D whole-body dance: joint speed, dance beats, kinetic and geometric
features (the inputs of BAS, DIV, FID_k and FID_g), and foot contact with the ground line.

Every function takes ``keypoints`` (T, J, 3) = (x px, y px, confidence) in the layout of
:mod:`xdancer.pose.skeleton` (image coordinates: y grows downwards) and the frame rate, and returns
numpy arrays. Nothing here reads files.

Conventions, chosen so that sequences of different sizes and frame rates are comparable:

- Confidence: a point counts as seen when its confidence is >= ``conf_threshold`` (0.3, the drawing
  threshold). Gaps are filled by linear interpolation in time (:func:`fill_missing`); a point that is
  never seen contributes nothing (its features are 0).
- Length unit ``L``: the torso length (neck to mid-hip), median over the frames where those three
  points are seen (:func:`body_scale`). Kinetic and geometric features are in L and seconds, so
  they do not depend on the image resolution or on the frame rate.
- Joints: the 18 body points and 6 feet points (24, as many as the SMPL joints of the 3D metrics);
  face and fingers are left out because motion capture sources have none.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d
from scipy.signal import argrelextrema

from xdancer.pose.skeleton import BODY, FEET, kp

CONF_THRESHOLD = 0.3
MOTION_JOINTS: tuple[int, ...] = tuple(range(BODY.start, FEET.stop))
# Bailando smooths the joint speed with a Gaussian of sigma 5 frames at 60 fps; we keep it in seconds.
DANCE_BEAT_SMOOTH_SECONDS = 5.0 / 60.0
FOOT_POINTS: dict[str, tuple[int, ...]] = {
    side: tuple(kp(f"{side}_{n}") for n in ("ankle", "heel", "big_toe", "small_toe"))
    for side in ("left", "right")
}


def _keypoints(keypoints: np.ndarray, min_frames: int = 2) -> np.ndarray:
    kps = np.asarray(keypoints, dtype=np.float64)
    if kps.ndim != 3 or kps.shape[-1] != 3:
        raise ValueError(f"keypoints must be (T, J, 3) = (x, y, confidence), got shape {kps.shape}")
    if kps.shape[0] < min_frames:
        raise ValueError(f"need at least {min_frames} frames, got {kps.shape[0]}")
    if not np.isfinite(kps).all():
        raise ValueError("keypoints contain NaN or infinity")
    return kps


def _check_fps(fps: float) -> float:
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return float(fps)


def fill_missing(
    keypoints: np.ndarray, conf_threshold: float = CONF_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """Fill unseen points by linear interpolation in time (held constant before the first and
    after the last sighting). Returns ``xy`` (T, J, 2) and ``seen`` (J,) bool: seen at least once."""
    kps = _keypoints(keypoints, min_frames=1)
    xy = kps[..., :2].copy()
    ok = kps[..., 2] >= conf_threshold  # (T, J)
    seen = ok.any(axis=0)
    t = np.arange(len(kps))
    for j in np.flatnonzero(seen & ~ok.all(axis=0)):
        for c in range(2):
            xy[:, j, c] = np.interp(t, t[ok[:, j]], xy[ok[:, j], j, c])
    return xy, seen


def body_scale(keypoints: np.ndarray, conf_threshold: float = CONF_THRESHOLD) -> float:
    """Torso length L in pixels: median over frames of |neck - mid-hip| where all three are seen."""
    kps = _keypoints(keypoints, min_frames=1)
    idx = [kp("neck"), kp("right_hip"), kp("left_hip")]
    ok = (kps[:, idx, 2] >= conf_threshold).all(axis=1)
    if not ok.any():
        raise ValueError("cannot measure the body size: neck and both hips are never seen together")
    neck = kps[ok, idx[0], :2]
    mid_hip = 0.5 * (kps[ok, idx[1], :2] + kps[ok, idx[2], :2])
    scale = float(np.median(np.linalg.norm(neck - mid_hip, axis=-1)))
    if scale <= 0:
        raise ValueError("cannot measure the body size: the neck and mid-hip coincide")
    return scale


def joint_speed(
    keypoints: np.ndarray,
    fps: float,
    joints: tuple[int, ...] = MOTION_JOINTS,
    conf_threshold: float = CONF_THRESHOLD,
) -> np.ndarray:
    """Mean 2D joint speed (px/s) between consecutive frames: (T, J, 3) -> (T - 1,).

    Entry i is the motion from frame i to frame i + 1. Confidence-aware: a joint counts only when it
    is seen in both frames; where no joint is, the speed is interpolated from the neighbours (all
    zero when no joint is ever seen twice in a row).
    """
    kps = _keypoints(keypoints)[:, list(joints)]
    fps = _check_fps(fps)
    step = np.linalg.norm(np.diff(kps[..., :2], axis=0), axis=-1) * fps  # (T-1, J)
    ok = (kps[:-1, :, 2] >= conf_threshold) & (kps[1:, :, 2] >= conf_threshold)
    count = ok.sum(axis=1)
    speed = np.where(count > 0, (step * ok).sum(axis=1) / np.maximum(count, 1), np.nan)
    valid = count > 0
    if not valid.any():
        return np.zeros(len(speed))
    i = np.arange(len(speed))
    return np.interp(i, i[valid], speed[valid])


def smoothed_speed(
    keypoints: np.ndarray,
    fps: float,
    sigma_seconds: float = DANCE_BEAT_SMOOTH_SECONDS,
    joints: tuple[int, ...] = MOTION_JOINTS,
    conf_threshold: float = CONF_THRESHOLD,
) -> np.ndarray:
    """:func:`joint_speed` smoothed with a Gaussian of ``sigma_seconds`` (sigma_seconds * fps frames;
    5 frames at 60 fps, 2.5 frames at 30 fps by default), as in Bailando's reference code."""
    return smooth_speed(joint_speed(keypoints, fps, joints, conf_threshold), fps, sigma_seconds)


def smooth_speed(speed: np.ndarray, fps: float, sigma_seconds: float = DANCE_BEAT_SMOOTH_SECONDS) -> np.ndarray:
    """Any per-interval speed (T - 1,) smoothed with a Gaussian of ``sigma_seconds``."""
    if not sigma_seconds > 0:
        raise ValueError(f"sigma_seconds must be positive, got {sigma_seconds}")
    return gaussian_filter1d(speed, sigma=sigma_seconds * _check_fps(fps), mode="reflect")


def speed_minima(speed: np.ndarray, fps: float, sigma_seconds: float = DANCE_BEAT_SMOOTH_SECONDS) -> np.ndarray:
    """Dance beats in seconds from a per-interval speed (T - 1,) whose entry i is the speed between
    frames i and i + 1: the strict local minima after :func:`smooth_speed`, each placed at the
    middle of its interval, time (i + 0.5) / fps."""
    minima = argrelextrema(smooth_speed(speed, fps, sigma_seconds), np.less)[0]
    return (minima + 0.5) / float(fps)


def dance_beats(
    keypoints: np.ndarray,
    fps: float,
    sigma_seconds: float = DANCE_BEAT_SMOOTH_SECONDS,
    joints: tuple[int, ...] = MOTION_JOINTS,
    conf_threshold: float = CONF_THRESHOLD,
) -> np.ndarray:
    """Dance beats in seconds: the strict local minima of the smoothed mean joint speed.

    The speed between frames i and i + 1 is placed at the middle of that interval, time
    (i + 0.5) / fps. (Bailando's code labels it frame i, half a frame earlier; at 30 fps that is 17 ms,
    which matters next to a 50 ms BAS sigma.)
    """
    return speed_minima(joint_speed(keypoints, fps, joints, conf_threshold), fps, sigma_seconds)


def _normalised_positions(
    keypoints: np.ndarray, joints: tuple[int, ...], conf_threshold: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Filled positions of ``joints`` in torso lengths: (T, J', 2), seen (J',), L in px."""
    scale = body_scale(keypoints, conf_threshold)
    xy, seen = fill_missing(keypoints, conf_threshold)
    return xy[:, list(joints)] / scale, seen[list(joints)], scale


def _window_mean(x: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Mean of x[first[i] : last[i] + 1] along axis 0, for every i (cumulative sums)."""
    csum = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    count = (last - first + 1).reshape((-1,) + (1,) * (x.ndim - 1))
    return (csum[last + 1] - csum[first]) / count


def kinetic_features(
    keypoints: np.ndarray,
    fps: float,
    joints: tuple[int, ...] = MOTION_JOINTS,
    window: int = 2,
    conf_threshold: float = CONF_THRESHOLD,
) -> np.ndarray:
    """Kinetic features adapted to 2D: (T, J, 3) -> (3 * J',), per joint (in this order)
    the average horizontal kinetic energy, the average vertical kinetic energy and the average energy
    expenditure (AIST++ / Bailando "kinetic" features, with x horizontal and image y vertical).

    For each frame i = 1 .. T - 1 the velocity is averaged over the frame differences i - window ..
    i + window that exist (v_t = (p_t - p_{t-1}) * fps), and the acceleration likewise over the
    second differences (a_t = (p_{t+1} - 2 p_t + p_{t-1}) * fps^2); kinetic energy is the squared
    velocity component (no 1/2, unit mass), energy expenditure the norm of the acceleration; each is
    then averaged over the T - 1 frames. Units: L^2/s^2 and L/s^2. Unseen joints give zeros.
    """
    fps = _check_fps(fps)
    if window < 1:
        raise ValueError(f"window must be >= 1 frame, got {window}")
    xy, seen, _ = _normalised_positions(_keypoints(keypoints, min_frames=3), joints, conf_threshold)
    n = len(xy)
    i = np.arange(1, n)  # the frames whose features are averaged
    vel = np.diff(xy, axis=0) * fps  # (T-1, J, 2); row k is v_{k+1}
    v_mean = _window_mean(vel, np.maximum(i - window, 1) - 1, np.minimum(i + window, n - 1) - 1)
    acc = np.diff(xy, n=2, axis=0) * fps**2  # (T-2, J, 2); row m is a_{m+1}
    a_mean = _window_mean(acc, np.maximum(i - window, 1) - 1, np.minimum(i + window, n - 2) - 1)
    feats = np.stack(
        [
            (v_mean[..., 0] ** 2).mean(axis=0),
            (v_mean[..., 1] ** 2).mean(axis=0),
            np.linalg.norm(a_mean, axis=-1).mean(axis=0),
        ],
        axis=-1,
    )  # (J', 3)
    feats[~seen] = 0.0
    return feats.reshape(-1)


# --- geometric (Muller-style boolean) features ----------------------------------------------------
# Relations between body points in the image plane (Muller, Roder & Clausen 2005; Bailando's
# "manual" features), re-made for 2D: "above" means higher in the image, distances are in torso
# lengths L and speeds in L/s. Each feature is the fraction of frames 1 .. T-1 where the relation
# holds. Thresholds are ours (the 3D ones use depth, which 2D poses lack); they are stated here.

GEOMETRIC_FEATURE_NAMES: tuple[str, ...] = (
    "right_wrist_above_head", "left_wrist_above_head",
    "right_wrist_above_shoulder", "left_wrist_above_shoulder",
    "right_wrist_below_hip", "left_wrist_below_hip",
    "right_elbow_bent", "left_elbow_bent",  # inner angle < 110 degrees
    "right_knee_bent", "left_knee_bent",  # inner angle < 150 degrees
    "right_arm_raised", "left_arm_raised",  # upper arm > 45 degrees from the torso axis
    "right_thigh_raised", "left_thigh_raised",  # thigh > 50 degrees from the torso axis
    "hands_apart",  # wrists more than 1 L apart
    "feet_apart",  # ankles more than 0.6 L apart horizontally
    "arms_crossed", "legs_crossed",  # wrists (ankles) in the opposite left-right order to the shoulders (hips)
    "right_foot_raised", "left_foot_raised",  # ankle more than 0.2 L above the other one
    "torso_tilted",  # neck more than 25 degrees from straight above the mid-hip
    "crouched",  # lower ankle less than 1.3 L below the mid-hip
    "right_hand_fast", "left_hand_fast",  # wrist speed > 2 L/s
    "right_foot_fast", "left_foot_fast",  # ankle speed > 1.5 L/s
    "root_fast",  # mid-hip speed > 1 L/s
    "right_hand_moves_up", "left_hand_moves_up",  # wrist velocity relative to the neck along the torso, up, > 1 L/s
    "right_hand_moves_out", "left_hand_moves_out",  # wrist moving away from the neck > 1 L/s
    "hands_approach",  # wrists closing in on each other > 1 L/s
)  # fmt: skip


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between 2D vectors (..., 2) in degrees; NaN for zero-length vectors."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _along(v: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Component of v along direction (both (..., 2)); NaN where direction has zero length."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (v * direction).sum(-1) / np.linalg.norm(direction, axis=-1)


def geometric_features(
    keypoints: np.ndarray, fps: float, conf_threshold: float = CONF_THRESHOLD
) -> np.ndarray:
    """Boolean relations between joints, averaged over frames: (T, J, 3) -> (32,) in [0, 1], in the
    order of :data:`GEOMETRIC_FEATURE_NAMES`. A relation that involves a point never seen is 0."""
    fps = _check_fps(fps)
    kps = _keypoints(keypoints)
    names = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
             "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")  # fmt: skip
    xy, seen, _ = _normalised_positions(kps, tuple(kp(n) for n in names), conf_threshold)
    p = {n: xy[1:, i] for i, n in enumerate(names)}  # frames 1 .. T-1, (T-1, 2), y down
    v = {n: np.diff(xy[:, i], axis=0) * fps for i, n in enumerate(names)}  # velocity into frame t
    ok = dict(zip(names, seen, strict=True))
    p["mid_hip"] = 0.5 * (p["right_hip"] + p["left_hip"])
    v["mid_hip"] = 0.5 * (v["right_hip"] + v["left_hip"])
    ok["mid_hip"] = ok["right_hip"] and ok["left_hip"]
    up = np.array([0.0, -1.0])
    torso_down = p["mid_hip"] - p["neck"]
    rel: list[tuple[np.ndarray, tuple[str, ...]]] = []

    def add(value: np.ndarray, *used: str) -> None:
        rel.append((value, used))

    for s in ("right", "left"):
        add(p[f"{s}_wrist"][:, 1] < p["nose"][:, 1], f"{s}_wrist", "nose")
    for s in ("right", "left"):
        add(p[f"{s}_wrist"][:, 1] < p[f"{s}_shoulder"][:, 1], f"{s}_wrist", f"{s}_shoulder")
    for s in ("right", "left"):
        add(p[f"{s}_wrist"][:, 1] > p["mid_hip"][:, 1], f"{s}_wrist", "mid_hip")
    for s in ("right", "left"):
        inner = _angle_deg(p[f"{s}_shoulder"] - p[f"{s}_elbow"], p[f"{s}_wrist"] - p[f"{s}_elbow"])
        add(inner < 110, f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist")
    for s in ("right", "left"):
        inner = _angle_deg(p[f"{s}_hip"] - p[f"{s}_knee"], p[f"{s}_ankle"] - p[f"{s}_knee"])
        add(inner < 150, f"{s}_hip", f"{s}_knee", f"{s}_ankle")
    for s in ("right", "left"):
        add(
            _angle_deg(torso_down, p[f"{s}_elbow"] - p[f"{s}_shoulder"]) > 45,
            "neck",
            "mid_hip",
            f"{s}_shoulder",
            f"{s}_elbow",
        )
    for s in ("right", "left"):
        add(
            _angle_deg(torso_down, p[f"{s}_knee"] - p[f"{s}_hip"]) > 50,
            "neck",
            "mid_hip",
            f"{s}_hip",
            f"{s}_knee",
        )
    add(np.linalg.norm(p["right_wrist"] - p["left_wrist"], axis=-1) > 1.0, "right_wrist", "left_wrist")
    add(np.abs(p["right_ankle"][:, 0] - p["left_ankle"][:, 0]) > 0.6, "right_ankle", "left_ankle")
    for a, b in (("wrist", "shoulder"), ("ankle", "hip")):
        order = (p[f"right_{a}"][:, 0] - p[f"left_{a}"][:, 0]) * (
            p[f"right_{b}"][:, 0] - p[f"left_{b}"][:, 0]
        )
        add(order < 0, f"right_{a}", f"left_{a}", f"right_{b}", f"left_{b}")
    for s, o in (("right", "left"), ("left", "right")):
        add(p[f"{s}_ankle"][:, 1] < p[f"{o}_ankle"][:, 1] - 0.2, f"{s}_ankle", f"{o}_ankle")
    add(_angle_deg(-torso_down, up) > 25, "neck", "mid_hip")
    lower_ankle = np.maximum(p["right_ankle"][:, 1], p["left_ankle"][:, 1])
    add(lower_ankle - p["mid_hip"][:, 1] < 1.3, "right_ankle", "left_ankle", "mid_hip")
    for s in ("right", "left"):
        add(np.linalg.norm(v[f"{s}_wrist"], axis=-1) > 2.0, f"{s}_wrist")
    for s in ("right", "left"):
        add(np.linalg.norm(v[f"{s}_ankle"], axis=-1) > 1.5, f"{s}_ankle")
    add(np.linalg.norm(v["mid_hip"], axis=-1) > 1.0, "mid_hip")
    for s in ("right", "left"):
        add(_along(v[f"{s}_wrist"] - v["neck"], -torso_down) > 1.0, f"{s}_wrist", "neck", "mid_hip")
    for s in ("right", "left"):
        add(_along(v[f"{s}_wrist"] - v["neck"], p[f"{s}_wrist"] - p["neck"]) > 1.0, f"{s}_wrist", "neck")
    wrist_gap = p["right_wrist"] - p["left_wrist"]
    add(_along(v["right_wrist"] - v["left_wrist"], wrist_gap) < -1.0, "right_wrist", "left_wrist")

    if len(rel) != len(GEOMETRIC_FEATURE_NAMES):
        raise RuntimeError("geometric relations and their names disagree")
    return np.array([value.mean() if all(ok[u] for u in used) else 0.0 for value, used in rel])


# --- foot contact with the ground line ------------------------------------------------------------


def foot_contacts(
    keypoints: np.ndarray,
    fps: float,
    contact_tolerance: float = 0.05,
    ground_window_seconds: float = 1.0,
    conf_threshold: float = CONF_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Which foot touches the ground in each frame, seen from a static camera.

    A foot's height is its lowest seen point (ankle, heel, toes) in the image; the ground line at
    frame t is the lowest foot point within +-ground_window_seconds / 2 (so it follows a dancer who
    moves in depth, and a jump shorter than the window does not lift the ground); a foot is in contact
    while it is within ``contact_tolerance`` torso lengths of the ground line.

    Returns ``contact`` (T, 2) bool for (left, right), ``foot_x`` (T, 2) the horizontal position of
    each foot (mean x of its seen points, px), and L (px). A foot never seen is never in contact.
    """
    fps = _check_fps(fps)
    kps = _keypoints(keypoints)
    scale = body_scale(kps, conf_threshold)
    xy, seen = fill_missing(kps, conf_threshold)
    n = len(kps)
    foot_y = np.full((n, 2), -np.inf)
    foot_x = np.zeros((n, 2))
    for k, side in enumerate(("left", "right")):
        idx = [j for j in FOOT_POINTS[side] if seen[j]]
        if idx:
            foot_y[:, k] = xy[:, idx, 1].max(axis=1)
            foot_x[:, k] = xy[:, idx, 0].mean(axis=1)
    if not np.isfinite(foot_y).any():
        return np.zeros((n, 2), bool), foot_x, scale
    size = max(1, int(round(ground_window_seconds * fps)) // 2 * 2 + 1)
    ground = maximum_filter1d(foot_y.max(axis=1), size=size, mode="nearest")
    contact = (ground[:, None] - foot_y) <= contact_tolerance * scale
    return contact, foot_x, scale


def kinetic_energy_curve(
    keypoints: np.ndarray, fps: float, conf_threshold: float = CONF_THRESHOLD
) -> np.ndarray:
    """Mean squared joint speed per frame step, in (torso lengths / s)^2: (T, J, 3) -> (T - 1,).

    Over the 24 body and feet points, gaps filled as in :func:`fill_missing` (unseen points left out).
    """
    fps = _check_fps(fps)
    xy, seen, _ = _normalised_positions(_keypoints(keypoints), MOTION_JOINTS, conf_threshold)
    if not seen.any():
        return np.zeros(len(xy) - 1)
    speed2 = (np.diff(xy[:, seen], axis=0) ** 2).sum(-1) * fps**2  # (T-1, J_seen)
    return speed2.mean(axis=1)
