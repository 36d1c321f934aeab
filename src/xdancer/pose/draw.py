"""Skeleton pictures in the OpenPose / ControlNet style, over a photo or on black.

The look follows ControlNet's ``draw_bodypose`` / ``draw_handpose`` (lllyasviel/ControlNet,
annotator/openpose/util.py) as DWPose also draws it: body limbs as filled ellipses in the 17
OpenPose colours at 60 % opacity, body joints as discs in the 18 point colours, hand bones in a
rainbow (hue by bone) with blue joints, face points as small white dots. The feet, which OpenPose-18
lacks, are drawn like limbs in the colour of their ankle. Sizes scale with the picture (ControlNet's
stick width 4 is for 512 px) so skeletons look the same at any resolution.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterable, Iterator

import numpy as np

from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import (
    BODY_BONES,
    BODY_COLORS,
    FACE,
    FOOT_BONES,
    HAND_BONES_LOCAL,
    LEFT_HAND_START,
    NUM_HAND,
    NUM_KEYPOINTS,
    RIGHT_HAND_START,
    kp,
)

REFERENCE_SIDE = 512  # px at which ControlNet's sizes (stick 4, joint 4, hand 2, face 3) apply
LIMB_OPACITY = 0.6
HAND_JOINT_COLOR = (0, 0, 255)
FACE_COLOR = (255, 255, 255)
HAND_COLORS: tuple[tuple[int, int, int], ...] = tuple(
    tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(i / len(HAND_BONES_LOCAL), 1.0, 1.0))
    for i in range(len(HAND_BONES_LOCAL))
)


def _sizes(h: int, w: int) -> tuple[int, int, int, int]:
    s = min(h, w) / REFERENCE_SIDE
    return (
        max(int(round(4 * s)), 1),
        max(int(round(4 * s)), 1),
        max(int(round(2 * s)), 1),
        max(int(round(3 * s)), 1),
    )


def draw_pose(canvas_rgb: np.ndarray, keypoints: np.ndarray, conf_threshold: float = 0.3) -> np.ndarray:
    """Draw (134, 3) [x px, y px, conf] keypoints onto a copy of ``canvas_rgb`` (H, W, 3) uint8.

    Points with confidence below ``conf_threshold`` (and bones touching them) are not drawn.
    """
    import cv2

    canvas = np.ascontiguousarray(np.asarray(canvas_rgb, dtype=np.uint8)).copy()
    if canvas.ndim != 3 or canvas.shape[2] != 3:
        raise ValueError(f"canvas must be (H, W, 3) uint8 RGB, got {canvas.shape}")
    kps = np.asarray(keypoints, dtype=np.float32)
    if kps.shape != (NUM_KEYPOINTS, 3):
        raise ValueError(f"keypoints must be ({NUM_KEYPOINTS}, 3), got {kps.shape}")
    h, w = canvas.shape[:2]
    stick, joint, hand_w, face_r = _sizes(h, w)
    seen = kps[:, 2] >= conf_threshold
    xy = kps[:, :2]

    # 1. Limbs (body and feet) as ellipses, blended at 60 % like ControlNet.
    limbs = [(a, b, BODY_COLORS[i]) for i, (a, b) in enumerate(BODY_BONES)]
    limbs += [
        (a, b, BODY_COLORS[kp("left_ankle") if i < 3 else kp("right_ankle")])
        for i, (a, b) in enumerate(FOOT_BONES)
    ]
    layer = canvas.copy()
    for a, b, color in limbs:
        if not (seen[a] and seen[b]):
            continue
        (x0, y0), (x1, y1) = xy[a], xy[b]
        length = math.hypot(x1 - x0, y1 - y0)
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        centre = (int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2)))
        poly = cv2.ellipse2Poly(centre, (int(length / 2), stick), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(layer, poly, color)
    canvas = cv2.addWeighted(canvas, 1.0 - LIMB_OPACITY, layer, LIMB_OPACITY, 0)

    # 2. Body joints in the point colours.
    for i, color in enumerate(BODY_COLORS):
        if seen[i]:
            cv2.circle(canvas, _pt(xy[i]), joint, color, thickness=-1, lineType=cv2.LINE_AA)

    # 3. Hands: rainbow bones, blue joints.
    for start in (LEFT_HAND_START, RIGHT_HAND_START):
        for (a, b), color in zip(HAND_BONES_LOCAL, HAND_COLORS, strict=True):
            if seen[start + a] and seen[start + b]:
                cv2.line(canvas, _pt(xy[start + a]), _pt(xy[start + b]), color, hand_w, lineType=cv2.LINE_AA)
        for j in range(start, start + NUM_HAND):
            if seen[j]:
                cv2.circle(canvas, _pt(xy[j]), hand_w + 1, HAND_JOINT_COLOR, thickness=-1)

    # 4. Face points.
    for j in range(FACE.start, FACE.stop):
        if seen[j]:
            cv2.circle(canvas, _pt(xy[j]), max(face_r - 1, 1), FACE_COLOR, thickness=-1)
    return canvas


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def skeleton_frames(
    seq: PoseSequence,
    background: np.ndarray | Iterable[np.ndarray] | None = None,
    size: tuple[int, int] | None = None,
    conf_threshold: float = 0.3,
) -> Iterator[np.ndarray]:
    """Yield one (H, W, 3) uint8 picture per frame of ``seq``.

    background: None (black), one (H, W, 3) image under every frame, a (T, H, W, 3) array, or an
        iterable of frames (e.g. the source video, streamed).
    size: (width, height) of the output; default: the background's size, else ``seq.frame_size``.
        Keypoints are scaled from ``seq.frame_size`` to it; backgrounds are resized to it.
    """
    import cv2

    bg_iter: Iterator[np.ndarray] | None = None
    still: np.ndarray | None = None
    if background is not None:
        if isinstance(background, np.ndarray) and background.ndim == 3:
            still = background
        else:
            bg_iter = iter(background)
    for t in range(len(seq)):
        bg = still if bg_iter is None else next(bg_iter, None)
        if bg_iter is not None and bg is None:
            raise ValueError(f"background ran out after {t} frames of {len(seq)}")
        if size is not None:
            w, h = size
        elif bg is not None:
            h, w = bg.shape[:2]
        else:
            w, h = seq.frame_size
        if bg is None:
            canvas = np.zeros((h, w, 3), dtype=np.uint8)
        elif bg.shape[:2] != (h, w):
            canvas = cv2.resize(np.ascontiguousarray(bg), (w, h), interpolation=cv2.INTER_AREA)
        else:
            canvas = bg
        kps = seq.keypoints[t].copy()
        kps[:, 0] *= w / seq.frame_size[0]
        kps[:, 1] *= h / seq.frame_size[1]
        yield draw_pose(canvas, kps, conf_threshold)
