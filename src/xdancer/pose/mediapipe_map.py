"""MediaPipe Holistic landmarks -> the project's 134-point whole-body layout.

MediaPipe Holistic (mediapipe 0.10.21) reports, in coordinates normalised to the image (x / W, y / H):
  - BlazePose: 33 body points, each with a ``visibility`` in [0, 1];
  - Face Mesh: 468 points (no per-point score; present only when the face was found);
  - two hands of 21 points each (no per-point score; present only when that hand was found),
    already in the 21-point order of :data:`xdancer.pose.skeleton.HAND_POINT_NAMES`. Holistic's
    ``left_hand_landmarks`` is the person's own left hand (its crop comes from BlazePose's left
    wrist), which is also the convention of our layout.

Confidence rules (a point not seen gets confidence 0 and x = y = 0; nothing is invented):
  - body: BlazePose visibility. The neck, which BlazePose lacks, is the midpoint of the shoulders
    with the smaller of their two visibilities (as DWPose/OpenPose derive it from the shoulders).
  - feet: big toe <- BlazePose ``foot_index`` (the tip of the foot, over the big/second toe), heel <-
    ``heel``. BlazePose has no small-toe point and the small toe cannot be derived from two
    points without guessing the foot's width and roll, so the small toes always get confidence 0.
  - face: the 68 iBUG points from the 468-point mesh through the correspondence table of
    Peizhi Yan, "Mediapipe_2_Dlib_Landmarks" (github.com/PeizhiYan/Mediapipe_2_Dlib_Landmarks);
    where it names two mesh points, we take their midpoint. The mesh has no per-point score, so all
    68 points share the median visibility of BlazePose's 11 face points (nose, eyes, ears, mouth).
  - hands: the mesh has no per-point score either; all 21 points share the visibility of
    BlazePose's wrist on that side, the point the hand crop was taken from.
  - any point outside the image gets confidence 0: it was not seen in this picture.
"""

from __future__ import annotations

import numpy as np

from xdancer.pose.skeleton import (
    FACE,
    LEFT_HAND,
    NUM_FACE,
    NUM_HAND,
    NUM_KEYPOINTS,
    RIGHT_HAND,
    kp,
)

NUM_BLAZEPOSE = 33
NUM_FACE_MESH = 468

# BlazePose landmark indices (mediapipe.solutions.pose.PoseLandmark).
BLAZEPOSE: dict[str, int] = {
    "nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8,
    "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
    "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
    "left_heel": 29, "right_heel": 30, "left_foot_index": 31, "right_foot_index": 32,
}  # fmt: skip
BLAZEPOSE_FACE = tuple(range(11))  # nose, eyes (inner, centre, outer), ears, mouth corners

# Our point <- BlazePose point, for every point that BlazePose observes directly.
DIRECT: dict[str, str] = {
    **{name: name for name in (
        "nose", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
        "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
        "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_heel", "right_heel",
    )},
    "left_big_toe": "left_foot_index",
    "right_big_toe": "right_foot_index",
}  # fmt: skip
UNOBSERVED: tuple[str, ...] = ("left_small_toe", "right_small_toe")

# iBUG-68 point i = mean of face-mesh points FACE_MESH_TO_IBUG68[i] (pairs repeat one index where
# the published table names a single point). Order: jaw 0-16, right brow, left brow, nose bridge,
# nose base, right eye, left eye, outer lip, inner lip (person's own sides, as in skeleton.py).
FACE_MESH_TO_IBUG68: np.ndarray = np.array([
    (127, 127), (234, 234), (93, 93), (132, 58), (58, 172), (136, 136), (150, 150), (176, 176),
    (152, 152), (400, 400), (379, 379), (365, 365), (397, 288), (361, 361), (323, 323), (454, 454),
    (356, 356),
    (156, 156), (70, 63), (105, 105), (66, 66), (107, 55),
    (336, 285), (296, 296), (334, 334), (293, 300), (383, 383),
    (168, 6), (197, 195), (5, 5), (4, 4),
    (98, 98), (97, 97), (2, 2), (326, 326), (327, 327),
    (33, 33), (160, 160), (158, 158), (133, 133), (153, 153), (144, 144),
    (362, 362), (385, 385), (387, 387), (263, 263), (373, 373), (380, 380),
    (61, 61), (39, 39), (37, 37), (0, 0), (267, 267), (269, 269), (291, 291), (321, 321),
    (314, 314), (17, 17), (84, 84), (91, 91),
    (78, 78), (82, 82), (13, 13), (312, 312), (308, 308), (317, 317), (14, 14), (87, 87),
], dtype=np.int64)  # fmt: skip
if FACE_MESH_TO_IBUG68.shape != (NUM_FACE, 2):
    raise RuntimeError("the face-mesh table must give 68 iBUG points")


def map_landmarks(
    pose: np.ndarray | None,
    face: np.ndarray | None,
    left_hand: np.ndarray | None,
    right_hand: np.ndarray | None,
    width: int,
    height: int,
) -> np.ndarray:
    """Map normalised Holistic landmarks to (134, 3) float32 [x px, y px, confidence].

    pose: (33, 3) [x, y, visibility], x and y normalised to the image; None when no body was found
        (then the result is all zeros: a face or hand alone is not a person to animate).
    face: (468, 2) normalised or None. left_hand / right_hand: (21, 2) normalised or None.
    """
    out = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float32)
    if pose is None:
        return out
    pose = np.asarray(pose, dtype=np.float32)
    if pose.shape != (NUM_BLAZEPOSE, 3):
        raise ValueError(f"BlazePose landmarks must be (33, 3), got {pose.shape}")
    scale = np.array([width, height], dtype=np.float32)
    vis = np.clip(pose[:, 2], 0.0, 1.0)

    # 1. Body and feet points that BlazePose observes directly.
    for ours, theirs in DIRECT.items():
        j = BLAZEPOSE[theirs]
        out[kp(ours)] = (*(pose[j, :2] * scale), vis[j])

    # 2. Neck = shoulder midpoint, seen only as well as the less visible shoulder.
    ls, rs = BLAZEPOSE["left_shoulder"], BLAZEPOSE["right_shoulder"]
    out[kp("neck")] = (*((pose[ls, :2] + pose[rs, :2]) / 2 * scale), min(vis[ls], vis[rs]))

    # 3. Face: 68 iBUG points from the mesh, one shared confidence.
    if face is not None:
        face = np.asarray(face, dtype=np.float32)
        if face.shape[0] < NUM_FACE_MESH:
            raise ValueError(f"face mesh must have {NUM_FACE_MESH} points, got {face.shape[0]}")
        xy = face[FACE_MESH_TO_IBUG68, :2].mean(axis=1)  # (68, 2)
        out[FACE, :2] = xy * scale
        out[FACE, 2] = float(np.median(vis[list(BLAZEPOSE_FACE)]))

    # 4. Hands: 21 points in our order already; confidence of the wrist the crop came from.
    for hand, sl, wrist in ((left_hand, LEFT_HAND, "left_wrist"), (right_hand, RIGHT_HAND, "right_wrist")):
        if hand is None:
            continue
        hand = np.asarray(hand, dtype=np.float32)
        if hand.shape[0] != NUM_HAND:
            raise ValueError(f"hand landmarks must be (21, 2+), got {hand.shape}")
        out[sl, :2] = hand[:, :2] * scale
        out[sl, 2] = vis[BLAZEPOSE[wrist]]

    # 5. Nothing outside the picture counts as seen; unseen points carry no coordinates.
    inside = (out[:, 0] >= 0) & (out[:, 0] < width) & (out[:, 1] >= 0) & (out[:, 1] < height)
    out[~inside, 2] = 0.0
    out[out[:, 2] <= 0.0] = 0.0
    return out


def holistic_arrays(result) -> tuple[np.ndarray | None, ...]:
    """A ``mediapipe.solutions.holistic.Holistic.process`` result -> (pose, face, left, right) arrays."""

    def xy(landmarks) -> np.ndarray | None:
        if landmarks is None:
            return None
        return np.array([(lm.x, lm.y) for lm in landmarks.landmark], dtype=np.float32)

    pose = None
    if result.pose_landmarks is not None:
        pose = np.array(
            [(lm.x, lm.y, lm.visibility) for lm in result.pose_landmarks.landmark], dtype=np.float32
        )
    return pose, xy(result.face_landmarks), xy(result.left_hand_landmarks), xy(result.right_hand_landmarks)
