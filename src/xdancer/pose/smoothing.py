"""One Euro filter for keypoint tracks: steady when still, no lag when moving fast.

Casiez, Roussel & Vogel, "1 Euro Filter: A Simple Speed-based Low-pass Filter for Noisy Input in
Interactive Systems", CHI 2012. A first-order low-pass filter whose cut-off frequency rises with the
(filtered) speed of the signal:

    alpha(fc, dt) = 1 / (1 + 1 / (2 pi fc dt))
    dx_hat_i = alpha(d_cutoff) * (x_i - x_{i-1}) / dt + (1 - alpha(d_cutoff)) * dx_hat_{i-1}
    fc_i     = min_cutoff + beta * |dx_hat_i|
    x_hat_i  = alpha(fc_i) * x_i + (1 - alpha(fc_i)) * x_hat_{i-1}

Slow motion (small |dx_hat|) gets the low ``min_cutoff`` and loses its jitter; a fast move raises
the cut-off so the output keeps up with it. Coordinates are filtered in units of the frame height,
so the defaults behave the same at any resolution (speeds are in frame heights per second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class OneEuroConfig:
    """min_cutoff: Hz at rest (lower = steadier). beta: Hz added per frame-height/s of speed (higher =
    less lag on fast moves). d_cutoff: Hz of the low-pass on the speed estimate itself."""

    min_cutoff: float = 1.0
    beta: float = 20.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        if not self.min_cutoff > 0 or not self.d_cutoff > 0:
            raise ValueError("min_cutoff and d_cutoff must be positive frequencies (Hz)")
        if self.beta < 0:
            raise ValueError("beta must be >= 0")


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * cutoff * dt))


class OneEuroFilter:
    """Filters arrays of any fixed shape (..., D) over time, one independent filter per element.

    ``valid`` (shape ``x.shape[:-1]``) marks points observed in this frame; an unobserved point
    keeps no state, so when it reappears the filter restarts there instead of sliding in from
    where it was last seen.
    """

    def __init__(self, config: OneEuroConfig | None = None) -> None:
        self.config = config or OneEuroConfig()
        self._x: np.ndarray | None = None  # last filtered value
        self._dx: np.ndarray | None = None  # last filtered speed
        self._has: np.ndarray | None = None  # which elements have state
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float, valid: np.ndarray | None = None) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        valid = np.ones(x.shape[:-1], dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
        if self._x is None or self._t is None or t <= self._t:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            self._has = valid.copy()
            self._t = t
            return x.copy()
        c = self.config
        dt = t - self._t
        self._t = t
        has = self._has & valid  # (...,) elements that continue an existing track
        dx = (x - self._x) / dt
        a_d = _alpha(c.d_cutoff, dt)
        dx_hat = a_d * dx + (1.0 - a_d) * self._dx
        speed = np.linalg.norm(dx_hat, axis=-1, keepdims=True)  # (..., 1): one cut-off per point
        a = _alpha(c.min_cutoff + c.beta * speed, dt)
        x_hat = a * x + (1.0 - a) * self._x
        out = np.where(has[..., None], x_hat, x)
        self._dx = np.where(has[..., None], dx_hat, 0.0)
        self._x = out
        self._has = valid.copy()
        return out


def smooth_keypoints(
    keypoints: np.ndarray, times: np.ndarray, frame_height: float, config: OneEuroConfig | None = None
) -> np.ndarray:
    """One Euro smoothing of a (T, J, 3) [x px, y px, conf] track at ``times`` (T,) seconds.

    Positions are smoothed where confidence > 0; confidences are kept per frame, unsmoothed, and
    unseen points stay at (0, 0, 0).
    """
    kps = np.asarray(keypoints, dtype=np.float32)
    if kps.ndim != 3 or kps.shape[-1] != 3:
        raise ValueError(f"keypoints must be (T, J, 3), got {kps.shape}")
    if len(times) != len(kps):
        raise ValueError(f"{len(times)} times for {len(kps)} frames")
    filt = OneEuroFilter(config)
    out = kps.copy()
    for i in range(len(kps)):
        seen = kps[i, :, 2] > 0
        xy = filt(kps[i, :, :2] / frame_height, float(times[i]), seen) * frame_height  # (J, 2)
        out[i, :, :2] = np.where(seen[:, None], xy, 0.0)
    return out
