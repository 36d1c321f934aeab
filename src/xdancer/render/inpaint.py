"""Background plate: the photo with the person removed, filled once per video.

The dancing person moves away from where they stood, so that area must show a plausible background
instead of a ghost of the original person. Classical single-image inpainting is available offline:

- ``telea``: fast marching (Telea, "An Image Inpainting Technique Based on the Fast Marching Method",
  J. Graphics Tools 2004), ``cv2.inpaint(..., INPAINT_TELEA)``.
- ``ns``: Navier-Stokes based (Bertalmio, Bertozzi & Sapiro, CVPR 2001), ``cv2.INPAINT_NS``.
- ``fsr_fast`` / ``fsr_best``: frequency-selective reconstruction (Genser et al., PCS 2018; Seiler et
  al., TIP 2015), ``cv2.xphoto.inpaint``.

Compared on full-body holes in the bundled test photos (docs/images/inpaint_comparison.png, filled at
256 rows): none of them invents real structure in a hole this large. Telea and NS give smooth fills
that continue the surrounding colours (NS and Telea look nearly the same); FSR continues some
straight edges but leaves blotchy, high-contrast patches and ringing on busy backgrounds (night
street, fireworks), and costs 0.5-3 s (fast) or 25-140 s (best) against 0.03-0.05 s for Telea. The
default is ``telea``. The plate is filled at a reduced working height and blended back only inside
the hole, so the rest of the background keeps its full sharpness.
"""

from __future__ import annotations

import cv2
import numpy as np

METHODS: tuple[str, ...] = ("telea", "ns", "fsr_fast", "fsr_best")


def hole_mask(alpha: np.ndarray, grow: int) -> np.ndarray:
    """Binary (H, W) uint8 hole: every pixel with any person alpha, grown by ``grow`` pixels so the
    soft edge and the colour bleed around the silhouette go too (else they ghost)."""
    hole = (alpha > 0.02).astype(np.uint8)
    if grow > 0:
        hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return hole


def inpaint(rgb: np.ndarray, hole: np.ndarray, method: str = "telea", radius: int = 5) -> np.ndarray:
    """Fill ``hole`` (H, W, non-zero = missing) in ``rgb`` (H, W, 3) uint8 with one of :data:`METHODS`."""
    if method not in METHODS:
        raise ValueError(f"unknown inpainting method {method!r}; choose one of {', '.join(METHODS)}")
    hole = (hole > 0).astype(np.uint8)
    if method in ("telea", "ns"):
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        return cv2.inpaint(rgb, hole, radius, flag)
    out = np.zeros_like(rgb)
    algo = cv2.xphoto.INPAINT_FSR_FAST if method == "fsr_fast" else cv2.xphoto.INPAINT_FSR_BEST
    # xphoto expects the mask of *valid* pixels, and BGR order for 3 channels.
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    cv2.xphoto.inpaint(bgr, (1 - hole) * 255, out, algo)
    return np.ascontiguousarray(out[..., ::-1])


def background_plate(
    rgb: np.ndarray, alpha: np.ndarray, method: str = "telea", work_height: int = 256, grow: float = 0.015
) -> np.ndarray:
    """The photo (H, W, 3) uint8 with the person (soft alpha (H, W)) removed and filled.

    The fill runs at ``work_height`` rows (cost grows with the hole area; a filled hole has no fine
    detail worth the full resolution) and is pasted back, upsampled, only inside the hole, so the
    rest of the background keeps its full sharpness. ``grow`` is the hole margin as a fraction of H.
    """
    h, w = rgb.shape[:2]
    hole = hole_mask(alpha, max(1, int(round(grow * h))))
    scale = min(1.0, work_height / h)
    if scale < 1.0:
        size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole, size, interpolation=cv2.INTER_NEAREST)
        small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
        filled = cv2.resize(inpaint(small, small_hole, method), (w, h), interpolation=cv2.INTER_CUBIC)
    else:
        filled = inpaint(rgb, hole, method)
    # Feather the paste-back over a few pixels so the seam between sharp and filled areas is soft.
    blend = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), max(1.0, 0.004 * h))
    blend = np.maximum(blend, hole.astype(np.float32))[..., None]
    return (filled * blend + rgb * (1.0 - blend)).round().astype(np.uint8)
