"""Training data of the diffusion renderer: frames of videos of people, cropped around the person,
with their whole-body poses (and pose tokens) in the cropped frame's pixels.

X-Dancer crops its videos around the person to 896 x 512 (H x W); with a static camera one box per
video suffices (:mod:`xdancer.render.diffusion.framing`, which inference frames the photo with too).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from xdancer.errors import InputError
from xdancer.io_utils import check_input_file
from xdancer.pose.sequence import PoseSequence
from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.framing import crop_frame, crop_keypoints, person_box
from xdancer.render.diffusion.motion_decoder import PoseCondition
from xdancer.render.diffusion.pipeline import part_confidence, pose_images, token_frames

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


@dataclass
class VideoClip:
    """One video, ready to sample from. frames (N, H, W, 3) uint8; keypoints (N, 134, 3) in those
    pixels; tokens (N, P*K) long per frame (motion decoder) or None; confidence (N, P);
    the first ``n_train`` frames are for training, the rest are held out."""

    name: str
    frames: np.ndarray
    keypoints: np.ndarray
    tokens: torch.Tensor | None
    confidence: torch.Tensor
    fps: float
    n_train: int
    # (N, 2c, h, w): VAE posterior mean and std of every frame, filled once the VAE is fixed.
    latents: torch.Tensor | None = None


def list_videos(path: str | Path) -> list[Path]:
    """A video file, or the videos in a folder (sorted by name)."""
    p = Path(path).expanduser()
    if p.is_dir():
        found = sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file())
        if not found:
            raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in folder {p}")
        return found
    return [check_input_file(p, "video")]


def _poses(path: Path, cache: Path, max_frames: int | None, progress: bool) -> PoseSequence:
    """Detected poses of a video's first ``max_frames`` frames, cached beside the training run
    (detection is the slow part)."""
    from xdancer.pose.detect import detect_video

    cached = cache / f"{path.stem}.{max_frames or 'all'}.poses.npz"
    if cached.is_file():
        return PoseSequence.load(cached)
    seq = detect_video(path, progress=progress, max_frames=max_frames)
    cache.mkdir(parents=True, exist_ok=True)
    seq.save(cached)
    return seq


def load_video(path: Path, cfg: DiffusionRendererConfig, cache: Path, tokenizer, max_frames: int | None,
               val_frames: int, stride: int = 1, progress: bool = True) -> VideoClip:  # fmt: skip
    """Every ``stride``-th frame of ``path``, at most ``max_frames`` of them. Poses are tracked, and
    tokenized, on every frame (the tokenizer sees the motion at its real rate), then subsampled."""
    from xdancer.video.io import read_video

    full = _poses(path, cache, None if max_frames is None else (max_frames - 1) * stride + 1, progress)
    keep = np.arange(0, len(full), stride)
    n = len(keep)
    if n - val_frames < 2:
        raise InputError(
            f"{path.name}: {n} frames leave fewer than 2 for training after holding out {val_frames}"
        )
    size = (cfg.width, cfg.height)
    box = person_box(full.keypoints, full.frame_size, cfg.width / cfg.height, cfg.crop_margin)
    frames = np.stack(
        [crop_frame(rgb, box, size) for _, rgb in islice(read_video(path), 0, n * stride, stride)]
    )
    if len(frames) != n:
        raise InputError(f"{path.name}: read {len(frames)} frames but detected poses in {n}")
    full_kps = crop_keypoints(full.keypoints, box, size)
    kps = full_kps[keep]
    tokens = None
    if tokenizer is not None:
        # The whole video is tokenized at once (per-sequence normalisation, as a whole dance is).
        crop_seq = PoseSequence(full_kps, full.fps, size, {"source": str(path)})
        encoded = tokenizer.encode_sequence(crop_seq).cpu()
        tokens = token_frames(encoded, len(full), full.fps, tokenizer.temporal_stride)[torch.from_numpy(keep)]
    fps = full.fps / stride
    return VideoClip(
        path.stem, frames, kps, tokens, torch.from_numpy(part_confidence(kps)), fps, n - val_frames
    )


def load_videos(videos: list[Path], cfg: DiffusionRendererConfig, cache: Path, tokenizer, max_frames: int | None,
                val_frames: int, stride: int = 1, progress: bool = True) -> list[VideoClip]:  # fmt: skip
    if not videos:
        raise InputError("no training videos given")
    return [load_video(v, cfg, cache, tokenizer, max_frames, val_frames, stride, progress) for v in videos]


def clip_condition(clip: VideoClip, frames: np.ndarray, cfg: DiffusionRendererConfig) -> PoseCondition:
    """Condition for frame indices ``frames`` (B, F) of one video."""
    if cfg.guider == "motion_decoder":
        return PoseCondition(
            tokens=clip.tokens[torch.from_numpy(frames)], confidence=clip.confidence[torch.from_numpy(frames)]
        )
    size = (cfg.width, cfg.height)
    imgs = torch.stack([pose_images(clip.keypoints[row], size, cfg.pose_conf_threshold) for row in frames])
    return PoseCondition(images=imgs)  # (B, F, 3, H, W)
