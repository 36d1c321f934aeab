"""Frame metrics for renderer outputs: PSNR and SSIM against real frames (paired), and pose-detector
agreement (PCK) between the driving poses and the poses a detector finds on the rendered frames.

PCK is an identity-free check that the renderer moved the body where it was told to: a driving
keypoint counts as reproduced when the detector finds it within ``alpha`` torso lengths (neck to
mid-hip, median over the driving sequence) of where it was asked to be. Keypoints the driving pose
does not show (confidence < threshold) are not counted; ones the detector misses count as failures.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from xdancer.eval.motion_features import CONF_THRESHOLD, body_scale
from xdancer.pose.skeleton import BODY

PCK_ALPHA = 0.1
PCK_JOINTS: tuple[int, ...] = tuple(range(BODY.start, BODY.stop))


def _frame_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"frames must be two RGB images (H, W, 3) of one size, got {a.shape} and {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {a.dtype} and {b.dtype}")
    return a, b


def psnr(frame: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of a uint8 RGB frame against a reference (inf if identical)."""
    a, b = _frame_pair(frame, reference)
    if np.array_equal(a, b):
        return float("inf")
    return float(peak_signal_noise_ratio(b, a, data_range=255))


def ssim(frame: np.ndarray, reference: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004; scikit-image, 7 x 7 window, per channel, averaged)."""
    a, b = _frame_pair(frame, reference)
    return float(structural_similarity(b, a, data_range=255, channel_axis=-1))


def pck(
    driving: np.ndarray,
    detected: np.ndarray,
    alpha: float = PCK_ALPHA,
    joints: tuple[int, ...] = PCK_JOINTS,
    conf_threshold: float = CONF_THRESHOLD,
) -> float:
    """Percentage of correct keypoints (as a fraction) of ``detected`` (T, J, 3) against ``driving``
    (T, J, 3), both in the same pixel frame: |detected - driving| <= alpha * L, with L the driving
    sequence's torso length. The body's 18 points by default."""
    drv, det = np.asarray(driving, np.float64), np.asarray(detected, np.float64)
    if drv.shape != det.shape or drv.ndim != 3 or drv.shape[-1] != 3:
        raise ValueError(
            f"driving and detected poses must both be (T, J, 3), got {drv.shape} and {det.shape}"
        )
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    scale = body_scale(drv, conf_threshold)
    idx = list(joints)
    asked = drv[:, idx, 2] >= conf_threshold
    if not asked.any():
        raise ValueError("the driving poses show none of the evaluated keypoints")
    found = det[:, idx, 2] >= conf_threshold
    close = np.linalg.norm(det[:, idx, :2] - drv[:, idx, :2], axis=-1) <= alpha * scale
    return float((close & found)[asked].mean())


def rescale_keypoints(
    keypoints: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]
) -> np.ndarray:
    """Map (..., J, 3) pixel coordinates from a (W, H) frame to another (W', H') frame (same content)."""
    out = np.array(keypoints, dtype=np.float64, copy=True)
    out[..., 0] *= to_size[0] / from_size[0]
    out[..., 1] *= to_size[1] / from_size[1]
    return out
