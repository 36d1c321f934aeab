"""Crop 2D keypoints from any video frame to the portrait canvas around the dancer.

X-Dancer crops its videos around the person to 896 x 512 (H x W). Keypoints detected in a landscape
or differently sized video are mapped the same way: one fixed crop per clip (a static camera stays
static), with the portrait aspect, holding the dancer's whole extent over the clip plus a margin,
scaled to the canvas. Points that fall outside the crop get confidence 0.
"""

from __future__ import annotations

import numpy as np

from xdancer.constants import CANVAS_HEIGHT, CANVAS_WIDTH

SEEN = 0.3


def portrait_crop(keypoints: np.ndarray, frame_size: tuple[int, int], out_size: tuple[int, int] = (CANVAS_WIDTH, CANVAS_HEIGHT),
                  margin: float = 0.08) -> tuple[np.ndarray, dict]:  # fmt: skip
    """(T, 134, 3) pixel keypoints of a ``frame_size`` video -> (keypoints in the ``out_size`` canvas,
    the crop as a dict: box [x0, y0, x1, y1] in source pixels and scale canvas px per source px).

    The crop is the smallest box of the canvas aspect that holds the 1st-99th percentile extent of
    the seen points (plus ``margin`` of its height on each side), centred on that extent; it may
    reach beyond the source frame (as padding would).
    """
    kps = np.asarray(keypoints, dtype=np.float32)
    ow, oh = out_size
    seen = kps[..., 2] >= SEEN
    if not seen.any():
        raise ValueError("no keypoint is seen: nothing to crop around")
    xy = kps[..., :2][seen]
    x0, y0 = np.percentile(xy, 1, axis=0)
    x1, y1 = np.percentile(xy, 99, axis=0)
    h = max(y1 - y0, 1.0) * (1 + 2 * margin)
    w = max(x1 - x0, 1.0) * (1 + 2 * margin)
    aspect = ow / oh
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    scale = oh / h
    out = kps.copy()
    out[..., 0] = (kps[..., 0] - box[0]) * scale
    out[..., 1] = (kps[..., 1] - box[1]) * scale
    inside = (out[..., 0] >= 0) & (out[..., 0] < ow) & (out[..., 1] >= 0) & (out[..., 1] < oh)
    out[..., 2] = np.where(inside, kps[..., 2], 0.0)
    out[..., :2] *= out[..., 2:3] > 0
    return out, {"box": [round(float(v), 2) for v in box], "scale": float(scale), "source_size": list(frame_size)}


__all__ = ["portrait_crop"]
