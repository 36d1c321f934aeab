"""Torch datasets of fixed-length training windows cut from a built dance dataset.

- :class:`PoseWindowDataset`: normalised pose windows for the pose tokenizer (all clips, with or
  without music).
- :class:`MusicPoseWindowDataset`: pose windows with the music features of the same frames, beat
  one-hots and the global music context, for the motion generator (clips with music only).

Windows start every ``stride`` frames of every clip of the split. Each item is normalised in its own
body frame (:func:`xdancer.pose.normalize.normalize`: origin = the window's first root, scale = its
median torso length), as the generator starts each dance from the reference photo's pose. With
``augment``, each item draws mirror / jitter / tempo from ``np.random.default_rng([seed, epoch,
index])``: reproducible, and different every epoch after :meth:`set_epoch`.

Shapes of one item: poses (T, 134, 3) float32 [x, y, confidence]; music (T, D); beats (T,);
global_context (G,). A DataLoader stacks them into (B, T, 134, 3), (B, T, D), ...
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from xdancer.data.augment import AugmentConfig, jitter, mirror_poses, stretched_length, time_stretch
from xdancer.data.dataset import DanceDataset
from xdancer.errors import InputError
from xdancer.pose.normalize import PoseNormalizer, SequenceTransform, normalize


class PoseWindowDataset(Dataset):
    """Fixed-length normalised pose windows of one split of a dataset.

    dataset: a :class:`DanceDataset` or its folder. window: frames per item. stride: frames between
    window starts (default window // 2). sources: keep only these sources (e.g. ("dwm", "videos")).
    normalizer: dataset statistics to standardise with (``None``: normalised coordinates as they are).
    """

    needs_music = False

    def __init__(self, dataset: DanceDataset | str | Path, split: str = "train", window: int = 64,
                 augment: AugmentConfig | None = None, seed: int = 0, stride: int | None = None,
                 sources: tuple[str, ...] | None = None, normalizer: PoseNormalizer | None = None):  # fmt: skip
        if window < 2:
            raise ValueError(f"window must be at least 2 frames, got {window}")
        self.dataset = dataset if isinstance(dataset, DanceDataset) else DanceDataset(dataset)
        self.window, self.augment, self.seed, self.normalizer = window, augment, seed, normalizer
        self.stride = stride or max(1, window // 2)
        self.epoch = 0
        infos = [c for c in self.dataset.split(split) if sources is None or c.source in sources]
        if self.needs_music:
            infos = [c for c in infos if c.has_music]
        infos = [c for c in infos if c.frames >= window]
        if not infos:
            raise InputError(f"no {split} clips of at least {window} frames"
                             f"{' with music' if self.needs_music else ''} in {self.dataset.root}")  # fmt: skip
        self.clips = [self.dataset.load(c.id) for c in infos]
        self.index: list[tuple[int, int]] = []  # (clip, start frame)
        for ci, clip in enumerate(self.clips):
            n = len(clip.poses)
            starts = list(range(0, n - window + 1, self.stride))
            if starts[-1] != n - window:
                starts.append(n - window)
            self.index += [(ci, s) for s in starts]

    def set_epoch(self, epoch: int) -> None:
        """Draw different augmentations in each epoch (still reproducible from the seed)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.index)

    def _window(self, i: int) -> tuple[np.ndarray, object, tuple[int, int]]:
        """Pixel keypoints (window, 134, 3) and music (or None) of item i, augmented."""
        ci, start = self.index[i]
        clip = self.clips[ci]
        music = clip.music if self.needs_music else None
        size = clip.poses.frame_size
        if self.augment is None:
            kps = clip.poses.keypoints[start : start + self.window]
            return kps, (None if music is None else music.slice(start, start + self.window)), size
        a = self.augment
        rng = np.random.default_rng([self.seed, self.epoch, i])
        rate = float(rng.uniform(*a.tempo)) if rng.random() < a.tempo_p else 1.0
        n = len(clip.poses)
        need = min(n, int(np.ceil((self.window - 1) * rate)) + 2)
        if stretched_length(need, rate) < self.window:
            rate = 1.0
            need = self.window
        start = min(start, n - need)
        kps = clip.poses.keypoints[start : start + need]
        m = None if music is None else music.slice(start, start + need)
        if rate != 1.0:
            kps, m = time_stretch(kps, m, rate)
        kps = kps[: self.window]
        m = None if m is None else m.slice(0, self.window)
        if rng.random() < a.mirror_p:
            kps = mirror_poses(kps, size[0])
        kps = jitter(kps, size, float(rng.uniform(*a.scale)), tuple(rng.uniform(-a.shift, a.shift, 2)))
        return kps, m, size

    def _poses(self, kps: np.ndarray) -> tuple[torch.Tensor, SequenceTransform]:
        normed, transform = normalize(kps)
        if self.normalizer is not None:
            normed = self.normalizer.standardize(normed)
        return torch.from_numpy(np.ascontiguousarray(normed, dtype=np.float32)), transform

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        kps, _, _ = self._window(i)
        poses, transform = self._poses(kps)
        return {"poses": poses, "origin": torch.tensor(transform.origin), "scale": torch.tensor(transform.scale)}


class MusicPoseWindowDataset(PoseWindowDataset):
    """Pose windows with their music: poses (T, 134, 3), music (T, D), beats (T,), global_context (G,)."""

    needs_music = True

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        kps, music, _ = self._window(i)
        poses, transform = self._poses(kps)
        beats = np.zeros(self.window, dtype=np.float32)
        beats[music.beat_frames] = 1.0
        return {
            "poses": poses,
            "music": torch.from_numpy(np.ascontiguousarray(music.features, dtype=np.float32)),
            "beats": torch.from_numpy(beats),
            "global_context": torch.from_numpy(np.ascontiguousarray(music.global_context, dtype=np.float32)),
            "origin": torch.tensor(transform.origin),
            "scale": torch.tensor(transform.scale),
        }


def fit_normalizer(dataset: DanceDataset | str | Path, split: str = "train", window: int = 64,
                   sources: tuple[str, ...] | None = None) -> PoseNormalizer:  # fmt: skip
    """:class:`PoseNormalizer` statistics of the (un-augmented) normalised windows of a split."""
    ds = PoseWindowDataset(dataset, split, window, augment=None, sources=sources, stride=window)
    return PoseNormalizer.fit(ds[i]["poses"].numpy() for i in range(len(ds)))


__all__ = ["PoseWindowDataset", "MusicPoseWindowDataset", "fit_normalizer"]
