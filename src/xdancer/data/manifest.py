"""The dataset manifest: one CSV row per clip, and the deterministic train/validation split.

A dataset folder holds ``manifest.csv`` and ``clips/<id>.npz``. The manifest is the only index: no
metadata is parsed out of file names. Several sources can be built into one folder; rebuilding a
source replaces that source's rows and leaves the others alone.

The split is by *group* (a dance: every camera view and every clip cut from one performance shares
its group), never by frame or clip, so no validation dance is seen in training from another angle.
A group's split comes from a hash of its name, so it does not depend on the order of the build; a
genre that hashing left without a validation dance gets its dance with the smallest hash held out.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from xdancer.errors import InputError
from xdancer.io_utils import atomic_path

MANIFEST_NAME = "manifest.csv"
CLIPS_DIR = "clips"
SPLITS = ("train", "val")


@dataclass(frozen=True)
class ClipInfo:
    """One manifest row.

    id: file-name-safe clip id (``clips/<id>.npz``). source: importer (dwm, videos, bvh, aistpp).
    genre: dance genre when known, else "". fps / frames: of the stored poses (30 fps).
    has_music: music features are stored with the poses. split: "train" or "val". licence: the
    licence terms of the material the clip was made from. group: the performance the clip comes
    from (the unit of the split). width / height: the pose frame size in pixels. camera: a short
    description of the (virtual) camera. origin: the file the clip was made from.
    """

    id: str
    source: str
    genre: str
    fps: float
    frames: int
    has_music: bool
    split: str
    licence: str
    group: str
    width: int
    height: int
    camera: str = ""
    origin: str = ""

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if not self.id or any(c in self.id for c in "/\\ ,"):
            raise ValueError(f"clip id must be a non-empty name without slashes, spaces or commas: {self.id!r}")

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


_COLUMNS = tuple(f.name for f in fields(ClipInfo))


# A build of at least this many groups always has a validation group, and so does every stratum
# (genre) of at least MIN_STRATUM_HELD_OUT groups.
MIN_GROUPS_HELD_OUT = 5
MIN_STRATUM_HELD_OUT = 4


def _digest(group: str) -> bytes:
    """SHA-256 of the group's name: the hash behind its split and the order of held-out groups."""
    return hashlib.sha256(group.encode("utf-8")).digest()


def split_of(group: str, val_fraction: float = 0.1) -> str:
    """Deterministic split of a group: its SHA-256 mapped to [0, 1) against ``val_fraction``."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    h = int.from_bytes(_digest(group)[:8], "big") / 2**64
    return "val" if h < val_fraction else "train"


def assign_splits(
    groups: list[str], val_fraction: float = 0.1, strata: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Split for every group, still deterministic: if hashing leaves validation empty while there are
    at least MIN_GROUPS_HELD_OUT groups, the group with the smallest hash goes to validation.

    ``strata`` (group -> stratum, e.g. the dance's genre; "" = none) holds out one group of every
    stratum that has at least MIN_STRATUM_HELD_OUT groups and none in validation by hash, so that
    validation covers every well-represented genre (a hash alone held out only waltzes of Dance
    with Melody's four genres)."""
    uniq = sorted(set(groups))
    out = {g: split_of(g, val_fraction) for g in uniq}
    if val_fraction <= 0:
        return out
    pools = [(uniq, MIN_GROUPS_HELD_OUT)]
    by_stratum: dict[str, list[str]] = {}
    for g in uniq:
        if strata and strata.get(g):
            by_stratum.setdefault(strata[g], []).append(g)
    pools += [(pool, MIN_STRATUM_HELD_OUT) for pool in by_stratum.values()]
    for pool, least in pools:
        if len(pool) >= least and all(out[g] == "train" for g in pool):
            out[min(pool, key=_digest)] = "val"
    return out


def read_manifest(root: str | Path) -> list[ClipInfo]:
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise InputError(f"{root} is not an xdancer dataset: {MANIFEST_NAME} is missing (build one with `xdancer data build`)")
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = set(_COLUMNS[:11]) - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path} lacks the column(s) {sorted(missing)}")
        for n, r in enumerate(reader, start=2):
            try:
                rows.append(
                    ClipInfo(
                        id=r["id"], source=r["source"], genre=r["genre"], fps=float(r["fps"]),
                        frames=int(r["frames"]), has_music=r["has_music"].strip().lower() == "true",
                        split=r["split"], licence=r["licence"], group=r["group"], width=int(r["width"]),
                        height=int(r["height"]), camera=r.get("camera", ""), origin=r.get("origin", ""),
                    )  # fmt: skip
                )
            except (ValueError, TypeError) as e:
                raise InputError(f"{path}, line {n}: {e}") from e
    return rows


def write_manifest(root: str | Path, clips: list[ClipInfo]) -> Path:
    """Write the manifest atomically, rows sorted by id."""
    ids = [c.id for c in clips]
    if len(set(ids)) != len(ids):
        raise ValueError("clip ids must be unique")
    path = Path(root) / MANIFEST_NAME
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(_COLUMNS))
            w.writeheader()
            for c in sorted(clips, key=lambda c: c.id):
                w.writerow(asdict(c))
    return path


def merge_source(root: str | Path, source: str, new: list[ClipInfo]) -> list[ClipInfo]:
    """Rows of ``root``'s manifest from other sources, plus ``new`` (which replace ``source``)."""
    root = Path(root)
    old = read_manifest(root) if (root / MANIFEST_NAME).is_file() else []
    kept = [c for c in old if c.source != source]
    return kept + list(new)


__all__ = ["ClipInfo", "split_of", "assign_splits", "read_manifest", "write_manifest", "merge_source",
           "MANIFEST_NAME", "CLIPS_DIR", "SPLITS"]  # fmt: skip
