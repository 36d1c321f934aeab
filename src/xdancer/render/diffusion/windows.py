"""Long videos from a model that sees 16-frame windows: overlapping windows blended in latent space.

At every denoising step each window predicts its frames; a frame covered by several windows takes a
weighted mean of their predictions, with weights that ramp linearly across the overlap so that no
window boundary shows (AnimateAnyone / MimicMotion do the same progressive latent fusion). The
weights of each frame sum to 1, so a prediction that agrees across windows passes through unchanged.
"""

from __future__ import annotations

import torch


def window_starts(n_frames: int, window: int, overlap: int) -> list[int]:
    """First frame of each window; the last window ends at the last frame. n_frames <= window: [0]."""
    if n_frames <= 0:
        raise ValueError("a video needs at least one frame")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window), got {overlap} for window {window}")
    if n_frames <= window:
        return [0]
    stride = window - overlap
    starts = list(range(0, n_frames - window + 1, stride))
    if starts[-1] + window < n_frames:
        starts.append(n_frames - window)
    return starts


def blend_weights(n_frames: int, starts: list[int], window: int, overlap: int) -> torch.Tensor:
    """(n_windows, window_len) weights; for every frame, its windows' weights sum to exactly 1.

    Each window's raw weight is a trapezoid rising over its first ``overlap`` frames and falling over
    its last ones, so a frame's weight moves smoothly from one window to the next across the overlap.
    """
    length = min(window, n_frames)
    i = torch.arange(length, dtype=torch.float64)
    ramp = float(overlap + 1)
    raw = torch.minimum(
        torch.ones(length, dtype=torch.float64), torch.minimum((i + 1) / ramp, (length - i) / ramp)
    )
    total = torch.zeros(n_frames, dtype=torch.float64)
    for s in starts:
        total[s : s + length] += raw
    if (total <= 0).any():
        raise ValueError("the windows do not cover every frame")
    return torch.stack([raw / total[s : s + length] for s in starts]).float()


def blend(
    values: list[torch.Tensor], starts: list[int], weights: torch.Tensor, n_frames: int
) -> torch.Tensor:
    """Window values [(L, ...)] -> (n_frames, ...) weighted per frame by ``weights`` (n_windows, L)."""
    out = torch.zeros((n_frames, *values[0].shape[1:]), dtype=values[0].dtype, device=values[0].device)
    for v, s, w in zip(values, starts, weights, strict=True):
        w = w.to(v.device, v.dtype).view(-1, *([1] * (v.ndim - 1)))
        out[s : s + v.shape[0]] += v * w
    return out
