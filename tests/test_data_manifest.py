"""Manifest and split: deterministic, by group (never by frame or clip), rebuilds replace one source."""

import hashlib

import numpy as np
import pytest

from xdancer.data.dataset import DanceDataset, save_clip
from xdancer.data.importer import ImportedClip, build_dataset
from xdancer.data.manifest import ClipInfo, assign_splits, read_manifest, split_of, write_manifest
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import NUM_KEYPOINTS


def test_split_is_deterministic_and_by_group():
    groups = [f"dance_{i}" for i in range(200)]
    a = assign_splits(groups, 0.1)
    b = assign_splits(list(reversed(groups)) + groups[:5], 0.1)  # order and repeats do not matter
    assert a == b
    n_val = sum(v == "val" for v in a.values())
    assert 8 <= n_val <= 35  # about 10 %
    # A group's split does not depend on which other groups are present.
    assert all(split_of(g, 0.1) == a[g] for g in groups)
    # Few groups that all hash to train: one is still held out.
    small = [g for g in groups if a[g] == "train"][:6]
    assert list(assign_splits(small, 0.1).values()).count("val") == 1


def test_split_holds_out_a_group_of_every_well_represented_genre():
    groups = [f"dance_{i}" for i in range(200)]
    by_hash = assign_splits(groups, 0.1)
    trains = [g for g in groups if by_hash[g] == "train"]
    waltz = groups[:40]  # some of these hash to validation
    chacha, tango = trains[-4:], trains[-6:-4]  # all hash to train
    strata = {g: "waltz" for g in waltz} | {g: "cha-cha" for g in chacha} | {g: "tango" for g in tango}
    pool = waltz + chacha + tango + ["unlabelled"]
    a = assign_splits(pool, 0.1, strata)
    assert a == assign_splits(list(reversed(pool)), 0.1, strata)
    assert [g for g in chacha if a[g] == "val"] == [min(chacha, key=lambda g: hashlib.sha256(g.encode()).digest())]
    assert all(a[g] == "train" for g in tango)  # too few to hold one out
    assert all(a[g] == by_hash[g] for g in waltz)  # hashing already held some out
    assert all(a[g] == split_of(g, 0.1) for g in pool if g not in chacha)


def test_manifest_round_trip(tmp_path):
    rows = [ClipInfo(id=f"c{i}", source="bvh", genre="waltz" if i else "", fps=30.0, frames=10 + i, has_music=bool(i % 2),
                     split="train", licence="MIT, or so", group="g", width=512, height=896) for i in range(3)]
    write_manifest(tmp_path, rows)
    assert read_manifest(tmp_path) == rows
    with pytest.raises(ValueError):
        ClipInfo(id="a/b", source="x", genre="", fps=30, frames=1, has_music=False, split="train", licence="", group="g", width=1, height=1)
    with pytest.raises(InputError):
        read_manifest(tmp_path / "missing")


def _fake_importer(path, n=4, frames=12):
    for i in range(n):
        kps = np.zeros((frames, NUM_KEYPOINTS, 3), np.float32)
        kps[:, :18] = [100 + i, 200, 1.0]
        yield ImportedClip(id=f"fake_{i}", source="bvh", genre="", group=f"g{i // 2}", licence="test",
                           poses=PoseSequence(kps, 30, (512, 896)), music=None)


def test_build_replaces_its_source_and_keeps_others(tmp_path, monkeypatch):
    import xdancer.data.importer as importer

    monkeypatch.setattr(importer, "_importer", lambda source: _fake_importer)
    out = tmp_path / "ds"
    other = ClipInfo(id="keep_me", source="dwm", genre="", fps=30.0, frames=12, has_music=False, split="val",
                     licence="x", group="k", width=512, height=896)
    kps = np.zeros((12, NUM_KEYPOINTS, 3), np.float32)
    save_clip(out, other, PoseSequence(kps, 30, (512, 896)), None)
    write_manifest(out, [other])
    orphan = out / "clips" / "bvh_left_by_an_interrupted_build.npz"
    orphan.write_bytes(b"x")
    rows = build_dataset("bvh", tmp_path, out, progress=False)
    assert not orphan.exists()
    again = build_dataset("bvh", tmp_path, out, progress=False, n=2)  # a smaller rebuild
    assert [r.id for r in rows] == [f"fake_{i}" for i in range(4)]
    ds = DanceDataset(out)
    assert sorted(c.id for c in ds.clips) == ["fake_0", "fake_1", "keep_me"]
    assert not (out / "clips" / "fake_3.npz").exists()  # stale clips of the source are gone
    # Clips of one group share a split.
    assert len({r.split for r in again}) == 1
    clip = ds.load("fake_1")
    assert clip.music is None and clip.poses.keypoints[0, 0, 0] == 101
