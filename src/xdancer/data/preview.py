"""Look at a dataset clip: its skeletons drawn in OpenPose colours, with its music, as an mp4."""

from __future__ import annotations

from pathlib import Path

from xdancer.data.dataset import DanceDataset
from xdancer.errors import InputError
from xdancer.io_utils import check_output_path


def clip_audio(poses_meta: dict) -> tuple[Path | None, float]:
    """The music file under a clip and the time (s) of its frame 0, from the clip's provenance."""
    audio = poses_meta.get("audio")
    if not audio or not Path(audio).is_file():
        return None, 0.0
    return Path(audio), float(poses_meta.get("audio_offset_s", 0.0))


def preview_clip(root: str | Path, clip_id: str, out: str | Path, *, start_s: float = 0.0,
                 seconds: float | None = None, with_music: bool = True, progress: bool = True) -> Path:  # fmt: skip
    """Write ``out`` (.mp4): the clip's skeletons from ``start_s`` for ``seconds`` (default: to the end),
    with the clip's music where its source file is still where it was imported from."""
    from tqdm import tqdm

    from xdancer.pose.draw import skeleton_frames
    from xdancer.video.io import VideoWriter

    out = check_output_path(out, (".mp4",))
    clip = DanceDataset(root).load(clip_id)
    seq = clip.poses
    first = int(round(start_s * seq.fps))
    if not 0 <= first < len(seq):
        raise InputError(f"start {start_s} s is outside the clip ({len(seq) / seq.fps:.1f} s)")
    last = len(seq) if seconds is None else min(len(seq), first + max(1, int(round(seconds * seq.fps))))
    seq = seq.slice(first, last)
    audio, offset = clip_audio(clip.poses.meta) if with_music else (None, 0.0)
    with VideoWriter(out, seq.fps, seq.frame_size, audio=audio, audio_offset=offset + first / seq.fps) as w:
        for frame in tqdm(skeleton_frames(seq), total=len(seq), desc="preview", unit="frame", disable=not progress):
            w.write(frame)
    return out


__all__ = ["preview_clip", "clip_audio"]
