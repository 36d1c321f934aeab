"""Training augmentations: mirror, scale/translation jitter, and a tempo change of motion and music.

All work on pixel-space keypoints (T, 134, 3) (before normalisation) and, for the tempo change, on
the clip's :class:`~xdancer.music.features.MusicFeatures`, so the pair stays in sync:

- :func:`mirror_poses`: left/right swap through :func:`xdancer.pose.skeleton.mirror` (a dance and
  its mirror image are equally good dances to the same music).
- :func:`jitter`: a small zoom about the frame centre and a small shift (the dancer filmed a little
  nearer or off-centre).
- :func:`time_stretch`: play motion and music ``rate`` times faster (rate > 1) or slower. Motion is
  resampled linearly in time; continuous music features are resampled the same way; onset and beat
  events move to frame round(f / rate), the frame that now shows the motion of old frame f, so music
  beats stay on the motion's beats. Tempo and the per-second rates of the global context scale by
  ``rate``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from xdancer.pose.skeleton import mirror

if TYPE_CHECKING:
    from xdancer.music.features import MusicFeatures

# Music feature columns that are event one-hots (moved, not interpolated, by a time stretch).
EVENT_COLUMNS = ("onset_peak", "beat")
# Global-context entries that are rates per second (they scale with the tempo).
RATE_GLOBALS = ("beats_per_second", "onsets_per_second")


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the training augmentations (all drawn from the window's seed).

    mirror_p: chance of a left/right mirror. scale: (low, high) zoom about the frame centre.
    shift: largest shift as a fraction of the frame (x and y drawn separately).
    tempo: (low, high) playback rate of a time stretch; tempo_p: chance of one.
    """

    mirror_p: float = 0.5
    scale: tuple[float, float] = (0.9, 1.1)
    shift: float = 0.05
    tempo_p: float = 0.5
    tempo: tuple[float, float] = (0.9, 1.1)

    def __post_init__(self) -> None:
        if not (0 <= self.mirror_p <= 1 and 0 <= self.tempo_p <= 1):
            raise ValueError("mirror_p and tempo_p are probabilities in [0, 1]")
        if not (0 < self.scale[0] <= self.scale[1]):
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {self.scale}")
        if not (0 < self.tempo[0] <= self.tempo[1] <= 2.0):
            raise ValueError(f"tempo must be (low, high) with 0 < low <= high <= 2, got {self.tempo}")
        if not 0 <= self.shift < 0.5:
            raise ValueError(f"shift must be in [0, 0.5), got {self.shift}")


def mirror_poses(keypoints: np.ndarray, width: float) -> np.ndarray:
    """(..., 134, 3) mirrored about the frame's vertical centre line, left and right swapped."""
    out = mirror(keypoints, width)
    out[..., :2] *= out[..., 2:3] > 0  # unseen points keep x = y = 0
    return out


def jitter(keypoints: np.ndarray, frame_size: tuple[int, int], scale: float, shift: tuple[float, float]) -> np.ndarray:
    """Zoom (T, 134, 3) by ``scale`` about the frame centre and shift by ``shift`` (fractions of W, H)."""
    w, h = frame_size
    centre = np.array([w / 2, h / 2], dtype=np.float32)
    out = np.array(keypoints, dtype=np.float32, copy=True)
    out[..., :2] = (out[..., :2] - centre) * scale + centre + np.array([shift[0] * w, shift[1] * h], np.float32)
    out[..., :2] *= out[..., 2:3] > 0
    return out


def stretched_length(frames: int, rate: float) -> int:
    """Frames of a ``frames``-long sequence played ``rate`` times faster: frame j shows old time j * rate."""
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    return int(np.floor((frames - 1) / rate + 1e-9)) + 1


def _resample_rows(x: np.ndarray, rate: float, n_out: int) -> np.ndarray:
    """(T, ...) sampled at fractional positions j * rate, j < n_out, linear in time."""
    src = np.arange(n_out) * rate
    i0 = np.clip(np.floor(src).astype(int), 0, len(x) - 1)
    i1 = np.clip(i0 + 1, 0, len(x) - 1)
    w = (src - i0).reshape((-1,) + (1,) * (x.ndim - 1))
    return ((1 - w) * x[i0] + w * x[i1]).astype(x.dtype)


def stretch_poses(keypoints: np.ndarray, rate: float) -> np.ndarray:
    """(T, 134, 3) -> (T', 134, 3) played ``rate`` times faster; confidence: the smaller neighbour."""
    n = stretched_length(len(keypoints), rate)
    src = np.arange(n) * rate
    i0 = np.clip(np.floor(src).astype(int), 0, len(keypoints) - 1)
    i1 = np.clip(i0 + 1, 0, len(keypoints) - 1)
    out = _resample_rows(keypoints, rate, n)
    exact = np.isclose(src, i0)[:, None]
    out[..., 2] = np.where(exact, keypoints[i0, :, 2], np.minimum(keypoints[i0, :, 2], keypoints[i1, :, 2]))
    out[..., :2] *= out[..., 2:3] > 0
    return out


def _move_events(frames: np.ndarray, rate: float, n: int) -> np.ndarray:
    moved = np.floor(np.asarray(frames) / rate + 0.5).astype(np.int64)
    return np.unique(moved[(moved >= 0) & (moved < n)])


def stretch_music(music: MusicFeatures, rate: float) -> MusicFeatures:
    """Music features played ``rate`` times faster (see the module notes)."""
    n = stretched_length(len(music), rate)
    feats = _resample_rows(music.features, rate, n)
    beat_times = music.beat_times / rate
    beat_frames = np.floor(beat_times * music.fps + 0.5).astype(np.int64)
    keep = (beat_frames >= 0) & (beat_frames < n)
    beat_times, beat_frames = beat_times[keep], beat_frames[keep]
    for name in EVENT_COLUMNS:
        if name in music.names:
            col = music.names.index(name)
            events = np.flatnonzero(music.features[:, col] > 0.5)
            feats[:, col] = 0.0
            feats[beat_frames if name == "beat" else _move_events(events, rate, n), col] = 1.0
    glob = music.global_context.copy()
    for name in RATE_GLOBALS:
        if name in music.global_names:
            glob[music.global_names.index(name)] *= rate
    return replace(
        music,
        features=feats,
        onset_envelope=_resample_rows(music.onset_envelope, rate, n),
        beat_frames=beat_frames,
        beat_times=beat_times,
        tempo_bpm=music.tempo_bpm * rate,
        global_context=glob,
        meta=dict(music.meta, time_stretch=float(rate)),
    )


def time_stretch(keypoints: np.ndarray, music: MusicFeatures | None, rate: float) -> tuple[np.ndarray, MusicFeatures | None]:
    """Motion (T, 134, 3) and its music played ``rate`` times faster, still frame by frame in sync."""
    poses = stretch_poses(keypoints, rate)
    if music is None:
        return poses, None
    m = stretch_music(music, rate)
    n = min(len(poses), len(m))
    return poses[:n], (m if len(m) == n else m.slice(0, n))


__all__ = ["AugmentConfig", "mirror_poses", "jitter", "stretched_length", "stretch_poses", "stretch_music",
           "time_stretch", "EVENT_COLUMNS"]  # fmt: skip
