"""Importer for "Dance with Melody" (Tang, Jia & Mao, ACM MM 2018): 3D ballroom dances with songs.

Each ``DANCE_<genre>_<n>/`` holds ``skeletons.npz`` (23 joints relative to the root + the root
trajectory, centimetres, y up, 25 fps), ``config.json`` (``start_position``: motion frame i plays at
music time (start_position + i) / 25 s) and ``audio.ogg``.

The joints are not labelled left and right. We told the sides apart from the data, in every dance:
with forward = left x up (right-handed, y up), the knees bend forward and the longer foot marker
(the toe) points forward only when 12-15 is the left arm and 16-20 the left leg. So:

    0, 1: head points (their midpoint is the head centre)      2: pelvis (root)
    3-4-5-6: right shoulder, elbow, wrist, hand                12-13-14-15: left arm, same order
    7-8-9: right hip, knee, ankle; 10 right heel, 11 right toe
    16-17-18: left hip, knee, ankle; 19 left heel, 20 left toe
    21, 22: hand-direction markers (unused)

Each dance is filmed by several virtual cameras (:mod:`xdancer.data.camera`), resampled to 30 fps,
and paired with the music features of its song from ``start_position / 25`` s on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d, minimum_filter1d

from xdancer.constants import POSE_FPS
from xdancer.data.body3d import film_whole_body, standing_height, whole_body_3d
from xdancer.data.camera import CameraConfig, sample_camera
from xdancer.data.importer import ImportedClip
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence

GENRES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}
LICENCE = "research use only (Dance with Melody, Tang et al. 2018; no licence published; commercial songs)"
DWM_FPS = 25

_JOINTS = {
    "right_shoulder": 3, "right_elbow": 4, "right_wrist": 5,
    "left_shoulder": 12, "left_elbow": 13, "left_wrist": 14,
    "right_hip": 7, "right_knee": 8, "right_ankle": 9, "right_heel": 10, "right_toe": 11,
    "left_hip": 16, "left_knee": 17, "left_ankle": 18, "left_heel": 19, "left_toe": 20,
}  # fmt: skip
_FOOT_POINTS = (9, 10, 11, 18, 19, 20)
# The body joints (all but the two hand-direction markers), for motion statistics.
MOTION_JOINTS = tuple(range(21))


@dataclass
class DwmDance:
    """One dance: world joints (T, 23, 3) in metres (y up, floor at 0), root (T, 3), 25 fps."""

    name: str
    genre: str
    joints: np.ndarray
    root: np.ndarray
    start_position: int
    audio: Path

    @property
    def music_offset_s(self) -> float:
        """Music time of motion frame 0 (the dataset's stated alignment)."""
        return self.start_position / DWM_FPS


def dance_folders(path: str | Path) -> list[Path]:
    """The ``DANCE_*`` folders under ``path`` (or ``path`` itself when it is one), sorted."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"Dance with Melody folder not found: {p}")
    if (p / "skeletons.npz").is_file():
        return [p]
    found = sorted(d for d in p.iterdir() if d.is_dir() and (d / "skeletons.npz").is_file())
    if not found:
        raise InputError(f"no DANCE_*/skeletons.npz under {p}: is this the Dance with Melody folder?")
    return found


def load_dance(folder: str | Path) -> DwmDance:
    folder = Path(folder)
    try:
        with np.load(folder / "skeletons.npz", allow_pickle=False) as z:
            rel = z["skeletons"].astype(np.float64)
            center = z["center"].astype(np.float64)
            fps = int(z["fps"]) if "fps" in z else DWM_FPS
        cfg = json.loads((folder / "config.json").read_text())
        start = int(cfg["start_position"])
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{folder} is not a readable Dance with Melody dance: {e}") from e
    if rel.ndim != 3 or rel.shape[1:] != (23, 3) or center.shape != (rel.shape[0], 3):
        raise InputError(f"{folder}: expected skeletons (T, 23, 3) and center (T, 3), got {rel.shape}, {center.shape}")
    if fps != DWM_FPS:
        raise InputError(f"{folder}: expected {DWM_FPS} fps motion, the file says {fps}")
    audio = folder / "audio.ogg"
    if not audio.is_file():
        raise InputError(f"{folder}: audio.ogg is missing")
    world = (rel + center[:, None, :]) / 100.0  # centimetres -> metres
    world[..., 1] -= floor_height(world[:, _FOOT_POINTS, 1].min(axis=1), DWM_FPS)[:, None]
    root = world[:, 2].copy()
    parts = folder.name.split("_")
    genre = GENRES.get(parts[1], "") if len(parts) >= 3 else ""
    return DwmDance(name=folder.name, genre=genre, joints=world, root=root, start_position=start, audio=audio)


def floor_height(lowest_foot: np.ndarray, fps: float, window_s: float = 2.0) -> np.ndarray:
    """(T,) height of the floor under the dancer, from the lowest foot point of each frame.

    Some captures drift upwards over a dance (the whole body floats up to 40 cm above the floor:
    inertial capture drift). Ballroom dancers keep a foot on the floor, so the floor is the lowest
    foot point's running minimum over ``window_s`` seconds, smoothed; rises onto the toes survive.
    """
    size = max(1, int(round(window_s * fps)))
    floor = minimum_filter1d(lowest_foot, size=size, mode="nearest")
    return gaussian_filter1d(floor, sigma=size / 4, mode="nearest")


def resample_linear(x: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """(T, ...) -> (floor(T * fps_out / fps_in), ...): frame j at time j / fps_out, linear in time."""
    n_out = int(np.floor(len(x) * fps_out / fps_in + 1e-9))
    src = np.arange(n_out) * (fps_in / fps_out)
    i0 = np.clip(np.floor(src).astype(int), 0, len(x) - 1)
    i1 = np.clip(i0 + 1, 0, len(x) - 1)
    w = (src - i0).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1 - w) * x[i0] + w * x[i1]


def dance_named_joints(joints: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 23, 3) -> named (T, 3) joints in the vocabulary of :mod:`xdancer.data.body3d`."""
    named = {name: joints[:, i] for name, i in _JOINTS.items()}
    named["head"] = (joints[:, 0] + joints[:, 1]) / 2
    return named


def project_dance(dance: DwmDance, rng: np.random.Generator, camera: CameraConfig) -> tuple[np.ndarray, str]:
    """Film one dance with one random camera: (keypoints (T30, 134, 3) at 30 fps, camera description)."""
    joints = resample_linear(dance.joints, DWM_FPS, POSE_FPS)
    root = resample_linear(dance.root, DWM_FPS, POSE_FPS)
    pts, conf = whole_body_3d(dance_named_joints(joints))
    cam = sample_camera(rng, camera)
    kps = film_whole_body(pts, conf, root, cam, camera, POSE_FPS, standing_height(pts))
    return kps, cam.describe()


def import_dwm(path: str | Path, *, views: int = 3, seed: int = 0, camera: CameraConfig | None = None,
               with_music: bool = True, max_seconds: float | None = None) -> Iterator[ImportedClip]:  # fmt: skip
    """Yield ``views`` clips per dance (one per virtual camera), with the song's music features.

    The random cameras of a dance come from ``seed`` and the dance's name, so importing one dance
    alone gives the same clips as importing the whole folder. ``max_seconds`` keeps only the start
    of each dance (quick looks and tests).
    """
    if views < 1:
        raise InputError(f"views must be at least 1, got {views}")
    if max_seconds is not None and not max_seconds > 1:
        raise InputError(f"max_seconds must be more than 1, got {max_seconds}")
    camera = camera or CameraConfig()
    for folder in dance_folders(path):
        dance = load_dance(folder)
        if max_seconds is not None:
            n = int(max_seconds * DWM_FPS)
            dance = replace(dance, joints=dance.joints[:n], root=dance.root[:n])
        music = None
        if with_music:
            from xdancer.music.features import music_features

            seconds = len(dance.joints) / DWM_FPS
            music = music_features(dance.audio, fps=POSE_FPS, offset=dance.music_offset_s, duration=seconds)
        name_seed = int.from_bytes(hashlib.sha256(dance.name.encode("utf-8")).digest()[:4], "little")
        rng = np.random.default_rng([seed, name_seed])
        for v in range(views):
            kps, cam_desc = project_dance(dance, rng, camera)
            poses = PoseSequence(
                kps, POSE_FPS, (camera.width, camera.height),
                meta={"source": "dwm", "dance": dance.name, "camera": cam_desc, "origin_fps": DWM_FPS,
                      "audio": str(dance.audio), "audio_offset_s": dance.music_offset_s},
            )  # fmt: skip
            yield ImportedClip(
                id=f"dwm_{dance.name}_v{v}", source="dwm", genre=dance.genre, group=f"dwm_{dance.name}",
                licence=LICENCE, poses=poses, music=music, camera=cam_desc, origin=str(folder),
            )  # fmt: skip


__all__ = ["DwmDance", "GENRES", "LICENCE", "dance_folders", "load_dance", "resample_linear",
           "dance_named_joints", "project_dance", "import_dwm"]  # fmt: skip
