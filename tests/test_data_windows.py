"""Training windows: shapes, per-window normalisation, music in sync, reproducible augmentation."""

import numpy as np
import pytest
import torch

from xdancer.data.augment import AugmentConfig
from xdancer.data.dataset import save_clip
from xdancer.data.manifest import ClipInfo, write_manifest
from xdancer.data.windows import MusicPoseWindowDataset, PoseWindowDataset, fit_normalizer
from xdancer.music.features import FEATURE_NAMES, GLOBAL_NAMES, MusicFeatures
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import NUM_KEYPOINTS, kp


def _clip(rng, T, with_music):
    kps = np.zeros((T, NUM_KEYPOINTS, 3), np.float32)
    kps[:, :24, :2] = rng.uniform(150, 350, (T, 24, 2))
    kps[:, :24, 2] = 1.0
    kps[:, kp("neck"), :2] = [256, 300]
    kps[:, kp("right_hip"), :2] = [236, 450]
    kps[:, kp("left_hip"), :2] = [276, 450]
    music = None
    if with_music:
        beats = np.arange(5, T, 15)
        feats = np.zeros((T, len(FEATURE_NAMES)), np.float32)
        feats[:, 0] = np.arange(T)  # frame index, to check the sync
        feats[beats, FEATURE_NAMES.index("beat")] = 1
        music = MusicFeatures(feats, list(FEATURE_NAMES), 30.0, 120.0, beats / 30, beats, feats[:, 0],
                              np.zeros(len(GLOBAL_NAMES), np.float32))
    return kps, music


@pytest.fixture
def dataset(tmp_path, rng):
    rows = []
    for i, (T, music, split) in enumerate([(100, True, "train"), (80, False, "train"), (70, True, "val"), (20, True, "train")]):
        kps, m = _clip(rng, T, music)
        info = ClipInfo(id=f"c{i}", source="test", genre="", fps=30.0, frames=T, has_music=music, split=split,
                        licence="test", group=f"g{i}", width=512, height=896)
        save_clip(tmp_path, info, PoseSequence(kps, 30, (512, 896)), m)
        rows.append(info)
    write_manifest(tmp_path, rows)
    return tmp_path


def test_pose_windows(dataset):
    ds = PoseWindowDataset(dataset, "train", window=32)
    # c0: starts 0, 16, ..., 64 and 68 (the tail); c1: 0, 16, 32, 48; c3 is shorter than a window.
    assert len(ds) == 6 + 4
    item = ds[0]
    assert item["poses"].shape == (32, NUM_KEYPOINTS, 3) and item["poses"].dtype == torch.float32
    hips = item["poses"][0, [kp("right_hip"), kp("left_hip")], :2].mean(0)
    torch.testing.assert_close(hips, torch.zeros(2))  # origin: the first frame's hip midpoint
    neck = item["poses"][0, kp("neck"), :2]
    assert neck.norm().item() == pytest.approx(1.0, abs=1e-5)  # scale: torso length
    assert len(PoseWindowDataset(dataset, "val", window=32)) == 4  # 0, 16, 32 and 38


def test_music_windows_stay_in_sync(dataset):
    ds = MusicPoseWindowDataset(dataset, "train", window=32, augment=AugmentConfig(tempo_p=1.0), seed=3)
    assert len(ds) == 6  # only c0 has music and is long enough
    for i in range(len(ds)):
        item = ds[i]
        assert item["music"].shape == (32, len(FEATURE_NAMES)) and item["beats"].shape == (32,)
        frame = item["music"][:, 0].numpy()  # source frame index under each window frame
        rate = np.diff(frame).mean()
        assert 0.9 - 1e-3 <= rate <= 1.1 + 1e-3
        # Each beat one-hot sits on the stretched source frame of a beat (5, 20, 35, ...).
        beat_src = frame[item["beats"].numpy() > 0]
        assert len(beat_src) >= 1 and np.all(np.abs((beat_src - 5) / 15 - np.round((beat_src - 5) / 15)) * 15 <= rate / 2 + 1e-3)


def test_augmentation_is_reproducible_and_varies_by_epoch(dataset):
    aug = AugmentConfig(mirror_p=0.5, tempo_p=0.5)
    a = PoseWindowDataset(dataset, "train", window=32, augment=aug, seed=7)
    b = PoseWindowDataset(dataset, "train", window=32, augment=aug, seed=7)
    torch.testing.assert_close(a[2]["poses"], b[2]["poses"])
    b.set_epoch(1)
    assert not torch.allclose(a[2]["poses"], b[2]["poses"])


def test_fit_normalizer(dataset):
    stats = fit_normalizer(dataset, window=32)
    assert np.asarray(stats.mean).shape == (NUM_KEYPOINTS, 2)
    ds = PoseWindowDataset(dataset, "train", window=32, normalizer=stats)
    assert ds[0]["poses"][:, kp("nose"), :2].abs().max() < 10
