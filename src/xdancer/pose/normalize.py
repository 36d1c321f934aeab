"""Pose normalisation: per-sequence root-relative translation and body-size scale.

The motion models see poses in a body-centred frame, not in pixels, so that a dancer filmed large or
small, left or right in the frame, looks the same to them. We normalise *per sequence*, not per
frame: one origin (the root of the first frame where it is seen) and one scale (the median torso
length over the sequence) for the whole sequence, so the dancer's global motion (stepping, jumping,
travelling) survives as a change of root position, as X-Dancer's 2D poses keep it.

    normalised xy = (pixel xy - origin) / scale          (T, 134, 2), torso length ~ 1
    pixel xy      = normalised xy * scale + origin       (the exact inverse)

Confidence passes through unchanged; points with confidence 0 get x = y = 0 in the normalised form
(their pixel position is meaningless, and zeros keep them out of the models' statistics).

:class:`PoseNormalizer` adds dataset statistics on top: the per-keypoint mean and standard deviation
of the normalised coordinates of the training set (``standardize`` / ``unstandardize``). It
serialises to a plain dict (``to_dict`` / ``from_dict``) that trainers store in model checkpoints,
so a model always decodes with the statistics it was trained with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from xdancer.pose.skeleton import NUM_KEYPOINTS, kp

_NECK = kp("neck")
_HIPS = (kp("right_hip"), kp("left_hip"))
_SHOULDERS = (kp("right_shoulder"), kp("left_shoulder"))

# A point is "seen" for anchoring and statistics at or above this confidence.
SEEN = 0.3
# Scale used when no torso is ever seen (a head-and-hands clip): pixels per normalised unit. A
# sequence without a torso cannot be sized by its body, so it keeps a fixed, documented scale.
FALLBACK_SCALE = 200.0


@dataclass(frozen=True)
class SequenceTransform:
    """Where one sequence's body frame sits in pixels: ``pixel = normalised * scale + origin``."""

    origin: tuple[float, float]
    scale: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a positive number, got {self.scale}")
        if not all(np.isfinite(v) for v in self.origin):
            raise ValueError(f"origin must be finite, got {self.origin}")

    def to_dict(self) -> dict[str, Any]:
        return {"origin": [float(v) for v in self.origin], "scale": float(self.scale)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SequenceTransform:
        return cls(origin=(float(d["origin"][0]), float(d["origin"][1])), scale=float(d["scale"]))


def _root(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root point per frame: the hip midpoint, else the neck, else the shoulder midpoint.

    frames: (T, 134, 3) -> (root (T, 2), seen (T,) bool).
    """
    conf = frames[..., 2]
    xy = frames[..., :2]
    hips = (conf[:, _HIPS[0]] >= SEEN) & (conf[:, _HIPS[1]] >= SEEN)
    neck = conf[:, _NECK] >= SEEN
    shoulders = (conf[:, _SHOULDERS[0]] >= SEEN) & (conf[:, _SHOULDERS[1]] >= SEEN)
    root = np.zeros(frames.shape[:1] + (2,), dtype=np.float64)
    root[shoulders] = xy[shoulders][:, list(_SHOULDERS)].mean(axis=1)
    root[neck] = xy[neck, _NECK]
    root[hips] = xy[hips][:, list(_HIPS)].mean(axis=1)
    return root, hips | neck | shoulders


def _torso_lengths(frames: np.ndarray) -> np.ndarray:
    """Neck to hip-midpoint distance (pixels) in each frame where all three points are seen."""
    conf = frames[..., 2]
    ok = (conf[:, _NECK] >= SEEN) & (conf[:, _HIPS[0]] >= SEEN) & (conf[:, _HIPS[1]] >= SEEN)
    if not ok.any():
        return np.zeros(0)
    xy = frames[ok][..., :2].astype(np.float64)
    hip_mid = xy[:, list(_HIPS)].mean(axis=1)
    return np.linalg.norm(xy[:, _NECK] - hip_mid, axis=-1)


def sequence_transform(keypoints: np.ndarray) -> SequenceTransform:
    """The per-sequence body frame of (T, 134, 3) pixel keypoints (T >= 1).

    origin: the root (hip midpoint, else neck, else shoulder midpoint) of the first frame where it
        is seen; the mean of all seen points when no frame shows it.
    scale: the median torso length (neck to hip midpoint) over the frames that show it, else
        :data:`FALLBACK_SCALE`.
    """
    frames = np.asarray(keypoints, dtype=np.float64)
    if frames.ndim != 3 or frames.shape[1:] != (NUM_KEYPOINTS, 3) or len(frames) == 0:
        raise ValueError(f"expected keypoints (T>=1, {NUM_KEYPOINTS}, 3), got {frames.shape}")
    root, seen = _root(frames)
    if seen.any():
        origin = root[int(np.argmax(seen))]
    else:
        vis = frames[..., 2] >= SEEN
        origin = frames[..., :2][vis].mean(axis=0) if vis.any() else np.zeros(2)
    torso = _torso_lengths(frames)
    torso = torso[torso > 1e-3]
    scale = float(np.median(torso)) if len(torso) else FALLBACK_SCALE
    return SequenceTransform(origin=(float(origin[0]), float(origin[1])), scale=scale)


def normalize(keypoints: np.ndarray, transform: SequenceTransform | None = None) -> tuple[np.ndarray, SequenceTransform]:
    """Pixel (T, 134, 3) -> (normalised (T, 134, 3) float32, the transform used).

    Pass ``transform`` to normalise with another sequence's frame (e.g. a generated continuation in
    the frame of the reference pose); by default the sequence's own frame is computed.
    """
    kps = np.asarray(keypoints, dtype=np.float32)
    if transform is None:
        transform = sequence_transform(kps)
    out = kps.copy()
    out[..., :2] = (kps[..., :2] - np.asarray(transform.origin, dtype=np.float32)) / np.float32(transform.scale)
    out[..., :2] *= (kps[..., 2:3] > 0).astype(np.float32)
    return out, transform


def denormalize(normalized: Any, transform: SequenceTransform) -> Any:
    """Normalised (..., 134, 3) -> pixels, the inverse of :func:`normalize` for points with conf > 0.

    Works on numpy arrays and torch tensors alike (only arithmetic on the last axis).
    """
    xy = normalized[..., :2] * transform.scale
    x = xy[..., 0:1] + transform.origin[0]
    y = xy[..., 1:2] + transform.origin[1]
    if isinstance(normalized, np.ndarray):
        return np.concatenate([x, y, normalized[..., 2:3]], axis=-1).astype(normalized.dtype)
    import torch

    return torch.cat([x, y, normalized[..., 2:3]], dim=-1)


@dataclass
class PoseNormalizer:
    """Dataset statistics of normalised poses, stored in model checkpoints.

    mean, std: per keypoint and coordinate, (134, 2) as nested lists (JSON-friendly), computed over
    the seen points of the training set. Keypoints never seen (e.g. faces in motion capture) get
    mean 0 and std 1, so standardising leaves them at 0.
    """

    mean: list[list[float]]
    std: list[list[float]]
    seen_threshold: float = SEEN
    frames: int = 0

    def __post_init__(self) -> None:
        m, s = np.asarray(self.mean, dtype=np.float64), np.asarray(self.std, dtype=np.float64)
        if m.shape != (NUM_KEYPOINTS, 2) or s.shape != (NUM_KEYPOINTS, 2):
            raise ValueError(f"mean and std must be ({NUM_KEYPOINTS}, 2), got {m.shape} and {s.shape}")
        if not (np.isfinite(m).all() and np.isfinite(s).all() and (s > 0).all()):
            raise ValueError("mean must be finite and std finite and positive")

    @classmethod
    def identity(cls) -> PoseNormalizer:
        return cls(mean=np.zeros((NUM_KEYPOINTS, 2)).tolist(), std=np.ones((NUM_KEYPOINTS, 2)).tolist())

    @classmethod
    def fit(cls, sequences: Iterable[np.ndarray], min_std: float = 1e-2) -> PoseNormalizer:
        """Statistics of normalised (T, 134, 3) sequences (outputs of :func:`normalize`)."""
        total = np.zeros((NUM_KEYPOINTS, 2))
        total_sq = np.zeros((NUM_KEYPOINTS, 2))
        count = np.zeros((NUM_KEYPOINTS, 1))
        frames = 0
        for seq in sequences:
            seq = np.asarray(seq, dtype=np.float64)
            w = (seq[..., 2:3] >= SEEN).astype(np.float64)  # (T, 134, 1)
            total += (seq[..., :2] * w).sum(axis=0)
            total_sq += (seq[..., :2] ** 2 * w).sum(axis=0)
            count += w.sum(axis=0)
            frames += len(seq)
        n = np.maximum(count, 1.0)
        mean = np.where(count > 0, total / n, 0.0)
        var = np.where(count > 1, total_sq / n - mean**2, 1.0)
        std = np.maximum(np.sqrt(np.maximum(var, 0.0)), min_std)
        return cls(mean=mean.tolist(), std=std.tolist(), frames=frames)

    def _arrays(self, like: Any) -> tuple[Any, Any]:
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        if isinstance(like, np.ndarray):
            return mean, std
        import torch

        return (torch.as_tensor(mean, device=like.device, dtype=like.dtype),
                torch.as_tensor(std, device=like.device, dtype=like.dtype))  # fmt: skip

    def standardize(self, normalized: Any) -> Any:
        """(..., 134, 3) normalised -> xy standardised per keypoint; confidence unchanged; unseen xy 0."""
        mean, std = self._arrays(normalized)
        xy = (normalized[..., :2] - mean) / std * (normalized[..., 2:3] > 0)
        return _with_xy(normalized, xy)

    def unstandardize(self, standardized: Any) -> Any:
        mean, std = self._arrays(standardized)
        return _with_xy(standardized, standardized[..., :2] * std + mean)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": np.asarray(self.mean).tolist(), "std": np.asarray(self.std).tolist(),
                "seen_threshold": float(self.seen_threshold), "frames": int(self.frames)}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoseNormalizer:
        return cls(mean=d["mean"], std=d["std"], seen_threshold=float(d.get("seen_threshold", SEEN)),
                   frames=int(d.get("frames", 0)))  # fmt: skip


def _with_xy(like: Any, xy: Any) -> Any:
    if isinstance(like, np.ndarray):
        return np.concatenate([xy, like[..., 2:3]], axis=-1).astype(like.dtype)
    import torch

    return torch.cat([xy, like[..., 2:3]], dim=-1)


__all__ = ["SequenceTransform", "sequence_transform", "normalize", "denormalize", "PoseNormalizer"]
