"""Importer for dance videos with their music: whole-body poses (with hands and face) by detection.

For each video in a folder: track one person with :func:`xdancer.pose.detect.detect_video`,
resample the track to 30 fps, cut it into clips where the person is seen (gaps longer than
``max_gap_s`` split it; pieces shorter than ``min_seconds`` are dropped), crop each clip to the
portrait canvas around the dancer (:mod:`xdancer.data.crop`), and compute the music features of
the video's own audio track over the same frames (aligned by construction). Videos without audio, or
with a silent track, give clips without music (tokenizer data).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from xdancer.constants import CANVAS_HEIGHT, CANVAS_WIDTH, POSE_FPS
from xdancer.data.crop import portrait_crop
from xdancer.data.importer import ImportedClip
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")

# The videos of the project's development data (see ../shared/data/README.md).
_KNOWN_LICENCES = {
    "musepose_dance": "MIT (TMElyralab/MusePose assets)",
    "animatex_dance_1": "Apache-2.0 (antgroup/animate-x; third-party footage)",
    "animatex_dance_2": "Apache-2.0 (antgroup/animate-x)",
    "animatex_source_video_noaudio": "Apache-2.0 (antgroup/animate-x)",
    "mgt_dancer": "GPL-3.0 (fourMs/MGT-python examples)",
}


def video_files(path: str | Path) -> list[Path]:
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{p.name} is not a video ({', '.join(VIDEO_SUFFIXES)})")
        return [p]
    if not p.is_dir():
        raise InputError(f"video file or folder not found: {p}")
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {p}")
    return files


def person_segments(seen: np.ndarray, fps: float, min_seconds: float = 2.0, max_gap_s: float = 0.5) -> list[tuple[int, int]]:
    """[start, stop) frame ranges where a person is seen, bridging gaps up to ``max_gap_s``; ranges
    shorter than ``min_seconds`` are dropped. seen: (T,) bool."""
    idx = np.flatnonzero(seen)
    if idx.size == 0:
        return []
    max_gap = max(1, int(round(max_gap_s * fps)))
    breaks = np.flatnonzero(np.diff(idx) > max_gap)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    stops = np.concatenate([idx[breaks] + 1, [idx[-1] + 1]])
    min_len = int(np.ceil(min_seconds * fps))
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a >= min_len]


def _licence(f: Path, default: str | None) -> str:
    for cand in (f.with_suffix(".LICENSE.txt"), f.parent / "LICENSE.txt", f.parent / "LICENSE"):
        if cand.is_file():
            return cand.read_text(errors="replace").strip().splitlines()[0][:200]
    return default or _KNOWN_LICENCES.get(f.stem, "unknown: check the video's source before training on it")


def _detect(f: Path, cache_dir: Path | None, progress: bool) -> PoseSequence:
    """``detect_video(f)``, kept in ``cache_dir`` under a key of the file's name, size and time of
    change and the detector's name, so rebuilding a folder only detects new or changed videos."""
    from xdancer.pose.detect import DETECTOR, detect_video

    if cache_dir is None:
        return detect_video(f, progress=progress)
    st = f.stat()
    key = hashlib.sha256(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}|{DETECTOR}".encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"{f.stem}-{key}.npz"
    if cached.is_file():
        return PoseSequence.load(cached)
    seq = detect_video(f, progress=progress)
    cached.parent.mkdir(parents=True, exist_ok=True)
    seq.save(cached)
    return seq


def import_videos(path: str | Path, *, min_seconds: float = 2.0, max_gap_s: float = 0.5, licence: str | None = None,
                  cache_dir: str | Path | None = None, progress: bool = True) -> Iterator[ImportedClip]:  # fmt: skip
    """Yield one clip per tracked stretch of each video (see the module notes). With ``cache_dir``,
    pose tracks are kept there and reused while a video is unchanged."""
    from xdancer.music.features import music_features
    from xdancer.pose.detect import is_person
    from xdancer.pose.resample import resample_poses
    from xdancer.video.io import probe_video

    for f in video_files(path):
        info = probe_video(f)
        seq = resample_poses(_detect(f, cache_dir, progress), POSE_FPS)
        seen = np.array([is_person(k) for k in seq.keypoints])
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", f.stem)
        for k, (a, b) in enumerate(person_segments(seen, POSE_FPS, min_seconds, max_gap_s)):
            kps, crop = portrait_crop(seq.keypoints[a:b], seq.frame_size)
            music = None
            if info.has_audio:
                try:
                    music = music_features(f, fps=POSE_FPS, offset=a / POSE_FPS, duration=(b - a) / POSE_FPS)
                except InputError:
                    music = None  # a silent or unreadable track: the clip still serves the tokenizer
            meta = dict(seq.meta, source="videos", file=f.name, crop=crop, start_frame=a,
                        audio=str(f) if music is not None else None, audio_offset_s=a / POSE_FPS)  # fmt: skip
            yield ImportedClip(
                id=f"videos_{stem}_{k}", source="videos", genre="", group=f"videos_{stem}",
                licence=_licence(f, licence), poses=PoseSequence(kps, POSE_FPS, (CANVAS_WIDTH, CANVAS_HEIGHT), meta),
                music=music, camera="video", origin=str(f),
            )  # fmt: skip


__all__ = ["import_videos", "video_files", "person_segments", "VIDEO_SUFFIXES"]
