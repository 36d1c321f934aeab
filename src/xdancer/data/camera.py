"""Virtual perspective cameras that film 3D motion capture like a phone video of a dancer.

X-Dancer trains on 2D poses from single-person videos (cropped to 896 x 512, H x W) and also uses
AIST++'s 3D dances projected to 2D. We film 3D joints (metres, y up, floor at y = 0) with a pinhole
camera placed at a random yaw around the dancer, a random height and distance, and a focal length
that frames the whole body in a portrait 512 x 896 frame. The camera pans with a slowly smoothed
root trajectory (like someone keeping the dancer in frame), so steps, sways and jumps still move
the body in the image while travel across a ballroom floor does not carry the dancer out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from xdancer.constants import CANVAS_HEIGHT, CANVAS_WIDTH

_UP = np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True)
class CameraConfig:
    """Ranges the virtual cameras are drawn from (uniformly), and the frame they film into.

    yaw_deg: direction of the camera around the dancer (0 = on the +z side of the capture space).
    distance_m, height_m: camera distance from the dancer's (smoothed) root and lens height.
    fill: the fraction of the frame height a standing dancer fills.
    follow_s: Gaussian sigma (seconds) of the root trajectory the camera pans with; larger values
        keep more of the dancer's travel in the image.
    margin: fraction of the frame kept free at the borders when the framing is checked.
    """

    width: int = CANVAS_WIDTH
    height: int = CANVAS_HEIGHT
    yaw_deg: tuple[float, float] = (-180.0, 180.0)
    distance_m: tuple[float, float] = (2.5, 4.5)
    height_m: tuple[float, float] = (0.8, 1.6)
    fill: tuple[float, float] = (0.62, 0.78)
    follow_s: float = 0.5
    margin: float = 0.03

    def __post_init__(self) -> None:
        for name in ("yaw_deg", "distance_m", "height_m", "fill"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValueError(f"{name} must be (low, high) with low <= high, got {(lo, hi)}")
        if self.distance_m[0] <= 0.5:
            raise ValueError("cameras must stand more than 0.5 m from the dancer")
        if not (0 < self.fill[0] and self.fill[1] <= 1):
            raise ValueError(f"fill must lie in (0, 1], got {self.fill}")
        if self.width <= 0 or self.height <= 0 or self.follow_s < 0 or not 0 <= self.margin < 0.4:
            raise ValueError("width/height must be positive, follow_s >= 0 and margin in [0, 0.4)")


@dataclass(frozen=True)
class VirtualCamera:
    """One drawn camera: yaw (degrees), distance and height (metres), fill (fraction of frame height)."""

    yaw_deg: float
    distance_m: float
    height_m: float
    fill: float

    def describe(self) -> str:
        return f"yaw{self.yaw_deg:+.0f}_d{self.distance_m:.1f}_h{self.height_m:.2f}_fill{self.fill:.2f}"


def sample_camera(rng: np.random.Generator, cfg: CameraConfig) -> VirtualCamera:
    return VirtualCamera(
        yaw_deg=float(rng.uniform(*cfg.yaw_deg)),
        distance_m=float(rng.uniform(*cfg.distance_m)),
        height_m=float(rng.uniform(*cfg.height_m)),
        fill=float(rng.uniform(*cfg.fill)),
    )


@dataclass
class Projection:
    """Result of filming: pixel coordinates, depth, and the camera centre per frame."""

    xy: np.ndarray  # (T, J, 2) pixels, origin top-left, y down
    depth: np.ndarray  # (T, J) metres along the optical axis
    camera_pos: np.ndarray  # (T, 3) camera centre in world coordinates
    focal_px: float


def film(joints: np.ndarray, root: np.ndarray, cam: VirtualCamera, cfg: CameraConfig, fps: float,
         body_height_m: float, valid: np.ndarray | None = None) -> Projection:  # fmt: skip
    """Project world joints (T, J, 3) (metres, y up, floor y = 0) to (T, J, 2) pixels.

    root: (T, 3) the dancer's root; the camera pans with its horizontal position smoothed over
    ``cfg.follow_s`` seconds. body_height_m: the dancer's standing height, used for the framing.
    valid: (T, J) bool, the joints that exist (only they count for the framing); default all.
    """
    joints = np.asarray(joints, dtype=np.float64)
    T = joints.shape[0]
    sigma = cfg.follow_s * fps
    target = root[:, [0, 2]].astype(np.float64)
    if sigma > 0 and T > 1:
        target = gaussian_filter1d(target, sigma, axis=0, mode="nearest")
    yaw = np.deg2rad(cam.yaw_deg)
    offset = np.array([np.sin(yaw), np.cos(yaw)]) * cam.distance_m
    cam_pos = np.stack([target[:, 0] + offset[0], np.full(T, cam.height_m), target[:, 1] + offset[1]], axis=1)
    # The camera aims at the middle of a standing body, so the whole dancer is centred in frame.
    look = np.stack([target[:, 0], np.full(T, body_height_m / 2), target[:, 1]], axis=1)
    fwd = look - cam_pos
    fwd /= np.linalg.norm(fwd, axis=1, keepdims=True)  # (T, 3)
    right = np.cross(fwd, _UP)
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    down = np.cross(fwd, right)  # image y grows downwards
    rel = joints - cam_pos[:, None, :]  # (T, J, 3)
    z = np.einsum("tjc,tc->tj", rel, fwd)
    x = np.einsum("tjc,tc->tj", rel, right)
    y = np.einsum("tjc,tc->tj", rel, down)
    z_safe = np.maximum(z, 1e-3)
    focal = cam.fill * cfg.height * cam.distance_m / body_height_m
    cx, cy = cfg.width / 2, cfg.height / 2
    # Zoom out if the dance leaves the frame (arms spread wider than a portrait frame, a jump):
    # 99.5% of frames must keep every joint inside the frame minus the margin.
    half_w, half_h = cfg.width / 2 * (1 - 2 * cfg.margin), cfg.height / 2 * (1 - 2 * cfg.margin)
    valid = np.ones(z.shape, dtype=bool) if valid is None else valid
    z_fit = np.maximum(z, 0.3)  # a joint closer than 30 cm cannot be framed: it leaves the frame
    reach = np.maximum(np.abs(x / z_fit) / half_w, np.abs(y / z_fit) / half_h)
    reach = np.where(valid, reach, 0.0).max(axis=1)
    worst = float(np.percentile(reach, 99.5)) * focal
    if worst > 1.0:
        focal /= worst
    xy = np.stack([focal * x / z_safe + cx, focal * y / z_safe + cy], axis=-1)
    return Projection(xy=xy.astype(np.float32), depth=z.astype(np.float32), camera_pos=cam_pos, focal_px=focal)


def in_frame(xy: np.ndarray, depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, J) bool: in front of the camera and inside the image."""
    return (depth > 0.05) & (xy[..., 0] >= 0) & (xy[..., 0] < width) & (xy[..., 1] >= 0) & (xy[..., 1] < height)


__all__ = ["CameraConfig", "VirtualCamera", "Projection", "sample_camera", "film", "in_frame"]
