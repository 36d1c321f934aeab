"""How the diffusion renderer frames a person: one box around everything the person does.

X-Dancer trains and renders on crops around the person (896 x 512). Training crops each video with
the union of the person's keypoints over the video; rendering crops the photo with the union of its
pose and the dance's poses, so the model sees people framed as in training. The box is widened by a
margin and to the model's aspect ratio; where it leaves the picture, edge pixels fill it.
"""

from __future__ import annotations

import numpy as np

from xdancer.pose.normalize import SEEN  # keypoint confidence at which a point counts for the box


def person_box(
    keypoints: np.ndarray, frame_size: tuple[int, int], aspect: float, margin: float
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around every seen keypoint (any leading shape), widened by ``margin`` of its size on
    each side and to width / height = ``aspect``; the whole frame if nobody is seen."""
    w, h = frame_size
    seen = keypoints[..., 2] >= SEEN
    if not seen.any():
        x0, y0, x1, y1 = 0.0, 0.0, float(w), float(h)
    else:
        xy = keypoints[..., :2][seen]
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
        x0, x1, y0, y1 = x0 - mx, x1 + mx, y0 - my, y1 + my
    bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    if bw / bh < aspect:
        bw = bh * aspect
    else:
        bh = bw / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (
        int(round(cx - bw / 2)),
        int(round(cy - bh / 2)),
        int(round(cx + bw / 2)),
        int(round(cy + bh / 2)),
    )


def crop_frame(rgb: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    """Crop ``box`` (edge-padded where it leaves the frame) and resize to ``size`` = (W, H)."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:
        rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = rgb[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def crop_keypoints(
    keypoints: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]
) -> np.ndarray:
    """(..., 134, 3) keypoints in frame pixels -> pixels of the ``box`` crop resized to ``size``;
    unseen points (confidence 0) become all zeros."""
    out = np.array(keypoints, dtype=np.float32, copy=True)
    out[..., 0] = (out[..., 0] - box[0]) * size[0] / (box[2] - box[0])
    out[..., 1] = (out[..., 1] - box[1]) * size[1] / (box[3] - box[1])
    out[out[..., 2] <= 0] = 0.0
    return out
