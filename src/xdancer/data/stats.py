"""Summaries of a built dataset: clips, minutes, genres, splits and keypoint coverage per part."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xdancer.data.dataset import DanceDataset, pose_path
from xdancer.pose.normalize import SEEN  # a keypoint counts as covered at or above this confidence
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import PART_NAMES, PARTS


@dataclass
class SourceStats:
    """One source (or the whole dataset under the name "all")."""

    source: str
    clips: int = 0
    groups: int = 0
    minutes: float = 0.0
    music_minutes: float = 0.0
    train_clips: int = 0
    val_clips: int = 0
    genres: dict[str, int] = field(default_factory=dict)
    # Part name -> share of (frame, keypoint) pairs seen with confidence >= SEEN, weighted by frames.
    coverage: dict[str, float] = field(default_factory=dict)


def dataset_stats(root: str | Path) -> list[SourceStats]:
    """Per-source rows followed by an "all" row. Reads every clip's poses once."""
    ds = DanceDataset(root)
    by_source: dict[str, list] = defaultdict(list)
    for c in ds.clips:
        by_source[c.source].append(c)
    rows = []
    seen_total = {p: 0.0 for p in PART_NAMES}
    frames_total = 0
    for source in sorted(by_source):
        clips = by_source[source]
        row = _rows(source, clips)
        seen = {p: 0.0 for p in PART_NAMES}
        frames = 0
        for c in clips:
            conf = PoseSequence.load(pose_path(ds.root, c.id)).confidence  # (T, 134)
            for p in PART_NAMES:
                seen[p] += float((conf[:, list(PARTS[p])] >= SEEN).mean(axis=1).sum())
            frames += conf.shape[0]
        row.coverage = {p: seen[p] / max(frames, 1) for p in PART_NAMES}
        for p in PART_NAMES:
            seen_total[p] += seen[p]
        frames_total += frames
        rows.append(row)
    total = _rows("all", ds.clips)
    total.coverage = {p: seen_total[p] / max(frames_total, 1) for p in PART_NAMES}
    rows.append(total)
    return rows


def _rows(source: str, clips: list) -> SourceStats:
    genres = Counter(c.genre or "unknown" for c in clips)
    return SourceStats(
        source=source,
        clips=len(clips),
        groups=len({c.group for c in clips}),
        minutes=sum(c.seconds for c in clips) / 60,
        music_minutes=sum(c.seconds for c in clips if c.has_music) / 60,
        train_clips=sum(c.split == "train" for c in clips),
        val_clips=sum(c.split == "val" for c in clips),
        genres=dict(sorted(genres.items())),
    )


_SHORT = {"upper_body": "upper", "lower_body": "lower", "head": "head", "left_hand": "l.hand", "right_hand": "r.hand"}


def stats_table(rows: list[SourceStats]):
    """Rich tables of :func:`dataset_stats` rows: one of sizes and coverage, one of genres."""
    from rich.console import Group
    from rich.table import Table

    table = Table(title="xdancer dataset (coverage: keypoints seen, per part)")
    for col in ("source", "clips", "dances", "min", "music min", "train/val", *(_SHORT[p] for p in PART_NAMES)):
        table.add_column(col, justify="left" if col == "source" else "right", no_wrap=True)
    for r in rows:
        table.add_row(
            r.source, str(r.clips), str(r.groups), f"{r.minutes:.1f}", f"{r.music_minutes:.1f}",
            f"{r.train_clips}/{r.val_clips}", *(f"{100 * r.coverage.get(p, 0):.0f}%" for p in PART_NAMES),
            end_section=r is rows[-2],
        )  # fmt: skip
    genres = Table(title="clips per genre")
    genres.add_column("source")
    genres.add_column("genre")
    genres.add_column("clips", justify="right")
    for r in rows[:-1]:
        for g, n in r.genres.items():
            genres.add_row(r.source, g, str(n))
    return Group(table, genres)


def stats_markdown(rows: list[SourceStats]) -> str:
    """The same table in Markdown (for docs)."""
    head = ["source", "clips", "dances", "minutes", "with music", "train/val", "genres"] + list(PART_NAMES)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.source, str(r.clips), str(r.groups), f"{r.minutes:.1f}", f"{r.music_minutes:.1f}",
                 f"{r.train_clips}/{r.val_clips}", ", ".join(f"{g} {n}" for g, n in r.genres.items())]  # fmt: skip
        cells += [f"{100 * r.coverage.get(p, 0):.0f}%" for p in PART_NAMES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def part_coverage(keypoints: np.ndarray) -> dict[str, float]:
    """Share of seen keypoints per tokenizer part in one (T, 134, 3) sequence."""
    conf = np.asarray(keypoints)[..., 2]
    return {p: float((conf[:, list(PARTS[p])] >= SEEN).mean()) for p in PART_NAMES}


__all__ = ["SourceStats", "dataset_stats", "stats_table", "stats_markdown", "part_coverage", "SEEN"]
