"""Change the frame rate of a pose sequence by linear interpolation in time."""

from __future__ import annotations

import math

import numpy as np

from xdancer.pose.sequence import PoseSequence


def resample_poses(seq: PoseSequence, fps: float) -> PoseSequence:
    """Resample ``seq`` to ``fps``, keeping its duration: frame j is at time j / fps.

    Coordinates are interpolated linearly between the two neighbouring source frames; a point's
    confidence is the smaller of its two neighbours' (a point seen in only one of them is not
    confidently known in between).
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if fps == seq.fps or len(seq) == 0:
        return PoseSequence(seq.keypoints.copy(), fps, seq.frame_size, dict(seq.meta))
    n_out = max(1, math.floor(len(seq) * fps / seq.fps + 1e-9))
    src_t = np.arange(n_out) * (seq.fps / fps)  # position of each output frame in source frames
    i0 = np.clip(np.floor(src_t).astype(int), 0, len(seq) - 1)
    i1 = np.clip(i0 + 1, 0, len(seq) - 1)
    w = (src_t - i0)[:, None, None].astype(np.float32)  # (T_out, 1, 1)
    a, b = seq.keypoints[i0], seq.keypoints[i1]
    out = np.empty_like(a)
    out[..., :2] = (1 - w) * a[..., :2] + w * b[..., :2]
    exact = (w[..., 0] == 0)  # on a source frame: keep its confidence as is
    out[..., 2] = np.where(exact, a[..., 2], np.minimum(a[..., 2], b[..., 2]))
    meta = dict(seq.meta, resampled_from_fps=seq.fps)
    return PoseSequence(out, fps, seq.frame_size, meta)
