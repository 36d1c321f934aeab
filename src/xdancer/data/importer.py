"""What every importer yields (:class:`ImportedClip`), and the build that writes them to a dataset.

``build_dataset(source, path, out)`` runs one importer over ``path``, trims poses and music to a
common length, assigns each clip the split of its group (:func:`xdancer.data.manifest.assign_splits`)
and writes ``clips/<id>.npz`` (+ ``.music.npz``) and the manifest. Rebuilding a source replaces
its clips; the other sources in the folder stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from xdancer.data.dataset import music_path, pose_path, save_clip
from xdancer.data.manifest import CLIPS_DIR, ClipInfo, assign_splits, merge_source, write_manifest
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence

if TYPE_CHECKING:
    from xdancer.music.features import MusicFeatures

SOURCES = ("dwm", "videos", "bvh", "aistpp")
CACHE_DIR = "cache"  # inside a dataset folder: intermediate results worth keeping between builds


@dataclass
class ImportedClip:
    """One clip from an importer, before it has a split. ``group``: the performance it comes from."""

    id: str
    source: str
    genre: str
    group: str
    licence: str
    poses: PoseSequence
    music: MusicFeatures | None
    camera: str = ""
    origin: str = ""


def align_lengths(clip: ImportedClip) -> ImportedClip:
    """Cut poses and music to the shorter of the two, so frame i of both is the same moment."""
    if clip.music is None:
        return clip
    n = min(len(clip.poses), len(clip.music.features))
    if n < 1:
        raise InputError(f"clip {clip.id}: no frames where both motion and music exist")
    return replace(clip, poses=clip.poses.slice(0, n), music=clip.music.slice(0, n))


def _importer(source: str) -> Callable[..., Iterable[ImportedClip]]:
    if source == "dwm":
        from xdancer.data.dwm import import_dwm

        return import_dwm
    if source == "bvh":
        from xdancer.data.bvh import import_bvh

        return import_bvh
    if source == "videos":
        from xdancer.data.videos import import_videos

        return import_videos
    if source == "aistpp":
        from xdancer.data.aistpp import import_aistpp

        return import_aistpp
    raise InputError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")


def build_dataset(source: str, path: str | Path, out: str | Path, *, val_fraction: float = 0.1,
                  progress: bool = True, **options: Any) -> list[ClipInfo]:  # fmt: skip
    """Import ``path`` with the ``source`` importer into the dataset folder ``out``.

    options: passed to the importer (e.g. ``views=3, seed=0`` for dwm). Returns the new rows.
    """
    importer = _importer(source)
    path, out = Path(path), Path(out)
    if source == "videos":
        # Pose detection is the slow part: keep the tracks beside the dataset for the next build.
        options.setdefault("cache_dir", out / CACHE_DIR / "videos")
    if not path.exists():
        raise InputError(f"{source} input not found: {path}")
    if out.exists() and not out.is_dir():
        raise InputError(f"dataset output is a file, expected a folder: {out}")
    out.mkdir(parents=True, exist_ok=True)
    (out / CLIPS_DIR).mkdir(exist_ok=True)
    infos: list[ClipInfo] = []
    new_paths: set[Path] = set()
    bar = tqdm(importer(path, **options), desc=f"import {source}", unit="clip", disable=not progress)
    for clip in bar:
        # Arrays are written as they come, so memory stays flat; only the split waits for the end.
        clip = align_lengths(clip)
        info = _info(clip, split="train")
        save_clip(out, info, clip.poses, clip.music)
        new_paths |= {pose_path(out, clip.id), music_path(out, clip.id)}
        infos.append(info)
        bar.set_postfix_str(clip.id)
    if not infos:
        raise InputError(f"the {source} importer found nothing to import in {path}")
    splits = assign_splits([c.group for c in infos], val_fraction, strata={c.group: c.genre for c in infos})
    rows = [replace(c, split=splits[c.group]) for c in infos]
    all_rows = merge_source(out, source, rows)
    _remove_stale(out, source, new_paths)
    write_manifest(out, all_rows)
    return rows


def _info(clip: ImportedClip, split: str) -> ClipInfo:
    return ClipInfo(
        id=clip.id, source=clip.source, genre=clip.genre, fps=clip.poses.fps,
        frames=len(clip.poses),
        has_music=clip.music is not None, split=split, licence=clip.licence, group=clip.group,
        width=clip.poses.frame_size[0], height=clip.poses.frame_size[1], camera=clip.camera, origin=clip.origin,
    )  # fmt: skip


def _remove_stale(out: Path, source: str, keep: set[Path]) -> None:
    """Delete clip files of ``source`` that this build did not write: clips an earlier build listed
    and files an interrupted build left behind (clip ids start with their source's name)."""
    from xdancer.data.manifest import MANIFEST_NAME, read_manifest

    stale = {p for p in (out / CLIPS_DIR).glob(f"{source}_*.npz")}
    if (out / MANIFEST_NAME).is_file():
        for c in read_manifest(out):
            if c.source == source:
                stale |= {pose_path(out, c.id), music_path(out, c.id)}
    for p in stale - keep:
        if p.exists():
            p.unlink()


__all__ = ["ImportedClip", "SOURCES", "build_dataset", "align_lengths"]
