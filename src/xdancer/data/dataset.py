"""A built dance dataset on disk: ``manifest.csv`` + ``clips/<id>.npz`` (+ ``clips/<id>.music.npz``).

``clips/<id>.npz`` is a :class:`~xdancer.pose.PoseSequence` file (30 fps, 134 keypoints with
confidence, in the pixel frame of the clip's camera); ``clips/<id>.music.npz`` is the
:class:`~xdancer.music.features.MusicFeatures` file of the music under the clip (same 30 fps
frames, frame i of both covers time i / 30 s; with its beat frames), present when ``has_music``.

    ds = DanceDataset("work/dataset")
    for info in ds.split("train"):
        clip = ds.load(info.id)        # Clip(info, poses: PoseSequence, music: MusicFeatures | None)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xdancer.data.manifest import CLIPS_DIR, SPLITS, ClipInfo, read_manifest
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence

if TYPE_CHECKING:
    from xdancer.music.features import MusicFeatures


@dataclass
class Clip:
    """One clip: its manifest row, its poses, and its music features (None without music)."""

    info: ClipInfo
    poses: PoseSequence
    music: MusicFeatures | None


def pose_path(root: str | Path, clip_id: str) -> Path:
    return Path(root) / CLIPS_DIR / f"{clip_id}.npz"


def music_path(root: str | Path, clip_id: str) -> Path:
    return Path(root) / CLIPS_DIR / f"{clip_id}.music.npz"


def save_clip(root: str | Path, info: ClipInfo, poses: PoseSequence, music: MusicFeatures | None) -> None:
    """Write one clip's arrays (atomically, file by file); the manifest row is written by the builder."""
    if len(poses) != info.frames or abs(poses.fps - info.fps) > 1e-6:
        raise ValueError(f"clip {info.id}: poses ({len(poses)} frames at {poses.fps} fps) disagree with its info")
    if (music is not None) != info.has_music:
        raise ValueError(f"clip {info.id}: has_music={info.has_music} but music is {'given' if music else 'missing'}")
    if music is not None and len(music.features) != len(poses):
        raise ValueError(f"clip {info.id}: {len(music.features)} music frames for {len(poses)} pose frames")
    (Path(root) / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
    poses.save(pose_path(root, info.id))
    if music is not None:
        music.save(music_path(root, info.id))


class DanceDataset:
    """Read access to a built dataset folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"dataset folder not found: {self.root}")
        self.clips: list[ClipInfo] = read_manifest(self.root)
        self._by_id = {c.id: c for c in self.clips}

    def __len__(self) -> int:
        return len(self.clips)

    def __repr__(self) -> str:
        return f"DanceDataset({str(self.root)!r}, clips={len(self.clips)})"

    def info(self, clip_id: str) -> ClipInfo:
        try:
            return self._by_id[clip_id]
        except KeyError:
            raise InputError(f"no clip {clip_id!r} in {self.root} ({len(self.clips)} clips; see manifest.csv)") from None

    def split(self, name: str) -> list[ClipInfo]:
        if name not in SPLITS:
            raise InputError(f"split must be one of {SPLITS}, got {name!r}")
        return [c for c in self.clips if c.split == name]

    def load(self, clip_id: str) -> Clip:
        info = self.info(clip_id)
        poses = PoseSequence.load(pose_path(self.root, clip_id))
        music = None
        if info.has_music:
            from xdancer.music.features import MusicFeatures

            mpath = music_path(self.root, clip_id)
            if not mpath.is_file():
                raise InputError(f"clip {clip_id}: music features file missing: {mpath}")
            music = MusicFeatures.load(mpath)
        return Clip(info=info, poses=poses, music=music)


__all__ = ["Clip", "ClipInfo", "DanceDataset", "save_clip", "pose_path", "music_path"]
