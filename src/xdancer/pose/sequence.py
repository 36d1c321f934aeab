"""PoseSequence: a whole-body 2D pose track with its frame rate, frame size and provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xdancer.errors import InputError
from xdancer.io_utils import atomic_path
from xdancer.pose.skeleton import KEYPOINT_NAMES, NUM_KEYPOINTS

FORMAT_VERSION = 1


@dataclass
class PoseSequence:
    """T frames of 134 keypoints in the layout of :mod:`xdancer.pose.skeleton`.

    keypoints: float32 (T, 134, 3): x and y in pixels of a ``frame_size`` = (width, height) image,
        origin top-left, y down; then confidence in [0, 1] (0 = not seen; x, y then meaningless).
    fps: frames per second of the track.
    frame_size: (width, height) in pixels of the frame the coordinates refer to.
    meta: provenance, JSON-serialisable (source file, detector, chosen person, ...).
    """

    keypoints: np.ndarray
    fps: float
    frame_size: tuple[int, int]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kps = np.asarray(self.keypoints, dtype=np.float32)
        if kps.ndim != 3 or kps.shape[1:] != (NUM_KEYPOINTS, 3):
            raise ValueError(f"keypoints must be (T, {NUM_KEYPOINTS}, 3), got {kps.shape}")
        if not np.isfinite(kps).all():
            raise ValueError("keypoints contain NaN or infinity")
        conf = kps[..., 2]
        if conf.size and (conf.min() < 0 or conf.max() > 1):
            raise ValueError("confidences must lie in [0, 1]")
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        w, h = (int(v) for v in self.frame_size)
        if w <= 0 or h <= 0:
            raise ValueError(f"frame_size must be positive (width, height), got {self.frame_size}")
        self.keypoints = kps
        self.fps = float(self.fps)
        self.frame_size = (w, h)

    # --- basic properties -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self.keypoints.shape[0]

    @property
    def duration(self) -> float:
        """Length in seconds (frame i covers [i / fps, (i + 1) / fps))."""
        return len(self) / self.fps

    @property
    def xy(self) -> np.ndarray:
        """(T, 134, 2) pixel coordinates."""
        return self.keypoints[..., :2]

    @property
    def confidence(self) -> np.ndarray:
        """(T, 134) confidences."""
        return self.keypoints[..., 2]

    def slice(self, start: int, stop: int) -> PoseSequence:
        return PoseSequence(self.keypoints[start:stop].copy(), self.fps, self.frame_size, dict(self.meta))

    # --- persistence ----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write an .npz (atomically: no partial file is ever left behind)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise InputError(f"pose files are .npz; got {path.name!r}")
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(
                    f,
                    keypoints=self.keypoints,
                    fps=np.float64(self.fps),
                    frame_size=np.asarray(self.frame_size, dtype=np.int64),
                    meta=np.asarray(json.dumps(self.meta)),
                    format_version=np.int64(FORMAT_VERSION),
                )
        return path

    @classmethod
    def load(cls, path: str | Path) -> PoseSequence:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"pose file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "keypoints" not in z:
                    raise InputError(f"{path} is not an xdancer pose file (no 'keypoints' array)")
                meta = json.loads(str(z["meta"])) if "meta" in z else {}
                return cls(z["keypoints"], float(z["fps"]), tuple(int(v) for v in z["frame_size"]), meta)
        except InputError:
            raise
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"cannot read pose file {path}: {e}") from e

    def to_openpose_json(self, out_dir: str | Path, prefix: str = "frame") -> list[Path]:
        """Write one OpenPose-style JSON per frame (``pose_keypoints_2d`` etc., flat x, y, c lists).

        Body gets OpenPose's 18 points; ``foot_keypoints_2d`` the 6 feet; face and both hands in
        their own arrays, as tools that read OpenPose/DWPose output expect.
        """
        from xdancer.pose.skeleton import BODY, FACE, FEET, LEFT_HAND, RIGHT_HAND

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, frame in enumerate(self.keypoints):
            person = {
                "person_id": [-1],
                "pose_keypoints_2d": frame[BODY].reshape(-1).tolist(),
                "foot_keypoints_2d": frame[FEET].reshape(-1).tolist(),
                "face_keypoints_2d": frame[FACE].reshape(-1).tolist(),
                "hand_left_keypoints_2d": frame[LEFT_HAND].reshape(-1).tolist(),
                "hand_right_keypoints_2d": frame[RIGHT_HAND].reshape(-1).tolist(),
            }
            doc = {"version": 1.3, "people": [person], "canvas_width": self.frame_size[0],
                   "canvas_height": self.frame_size[1]}  # fmt: skip
            p = out_dir / f"{prefix}_{i:06d}_keypoints.json"
            with atomic_path(p) as tmp:
                tmp.write_text(json.dumps(doc))
            paths.append(p)
        return paths


__all__ = ["PoseSequence", "KEYPOINT_NAMES"]
