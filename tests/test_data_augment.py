"""Augmentations: mirror is an involution, jitter keeps unseen points at zero, a tempo change keeps
the music's beats on the motion's beats."""

import numpy as np
import pytest

from xdancer.data.augment import (
    AugmentConfig,
    jitter,
    mirror_poses,
    stretch_poses,
    stretched_length,
    time_stretch,
)
from xdancer.eval.motion_features import dance_beats
from xdancer.music.features import FEATURE_NAMES, GLOBAL_NAMES, MusicFeatures
from xdancer.pose.skeleton import NUM_KEYPOINTS, kp


def _poses(rng, T=20):
    kps = np.zeros((T, NUM_KEYPOINTS, 3), np.float32)
    kps[:, :24, :2] = rng.uniform(0, 500, (T, 24, 2))
    kps[:, :24, 2] = rng.uniform(0.3, 1, (T, 24))
    return kps


def test_mirrored_mirror_is_identity(rng):
    kps = _poses(rng)
    once = mirror_poses(kps, 512)
    assert not np.allclose(once, kps)
    np.testing.assert_allclose(mirror_poses(once, 512), kps, atol=1e-4)
    # The left wrist of the mirror is the right wrist of the original, reflected.
    assert once[0, kp("left_wrist"), 0] == pytest.approx(512 - kps[0, kp("right_wrist"), 0], abs=1e-4)


def test_jitter_moves_seen_points_only(rng):
    kps = _poses(rng)
    out = jitter(kps, (512, 896), 1.1, (0.05, -0.02))
    np.testing.assert_allclose(out[..., :2][:, :24], (kps[:, :24, :2] - [256, 448]) * 1.1 + [256, 448] + [25.6, -17.92], atol=1e-3)
    assert (out[:, 24:] == 0).all()


def _beat_motion(beat_frames, T):
    """A body that moves fast between beats and stops on them: zero speed 0.3 frame after each beat
    frame b (off the frame grid, so the frame-to-frame speeds around it never tie)."""
    t = np.arange(T, dtype=np.float64) - 0.3
    phase = np.interp(t, beat_frames, np.arange(len(beat_frames)))  # 1 per beat interval
    x = 200 + 40 * (phase - np.sin(2 * np.pi * phase) / (2 * np.pi))  # velocity ~ 1 - cos: 0 on beats
    kps = np.zeros((T, NUM_KEYPOINTS, 3), np.float32)
    kps[:, :24, 0] = x[:, None] + np.arange(24)
    kps[:, :24, 1] = 400 + np.arange(24)
    kps[:, :24, 2] = 1.0
    return kps


def _music(beat_frames, T, fps=30.0):
    feats = np.zeros((T, len(FEATURE_NAMES)), np.float32)
    feats[:, 0] = np.linspace(0, 1, T)
    feats[beat_frames, FEATURE_NAMES.index("beat")] = 1.0
    glob = np.zeros(len(GLOBAL_NAMES), np.float32)
    glob[GLOBAL_NAMES.index("beats_per_second")] = 2.0
    return MusicFeatures(feats, list(FEATURE_NAMES), fps, 120.0, beat_frames / fps, beat_frames, feats[:, 0], glob)


@pytest.mark.parametrize("rate", [0.85, 1.0, 1.15])
def test_time_stretch_keeps_beats_on_motion_beats(rate):
    fps, T = 30.0, 300
    beats = np.arange(15, T - 15, 15)  # 120 bpm
    kps, music = _beat_motion(beats, T), _music(beats, T)
    motion_beats = np.round(dance_beats(kps, fps, sigma_seconds=1 / 60) * fps - 0.5)
    assert all(np.abs(motion_beats - b).min() <= 1 for b in beats[1:-1])  # the fixture is right

    k2, m2 = time_stretch(kps, music, rate)
    assert len(k2) == len(m2) == stretched_length(T, rate)
    assert m2.tempo_bpm == pytest.approx(120 * rate)
    assert m2.global_context[GLOBAL_NAMES.index("beats_per_second")] == pytest.approx(2 * rate)
    np.testing.assert_array_equal(np.flatnonzero(m2.column("beat")), m2.beat_frames)
    stretched_motion_beats = dance_beats(k2, fps, sigma_seconds=1 / 60) * fps - 0.5
    inside = m2.beat_frames[1:-1]
    assert len(inside) >= 12
    for b in inside:  # every music beat still sits on a motion beat
        assert np.abs(stretched_motion_beats - b).min() <= 1.5  # 50 ms, the BAS sigma


def test_stretch_poses_reaches_the_right_source_frames(rng):
    kps = _poses(rng, T=31)
    out = stretch_poses(kps, 1.5)
    assert len(out) == 21  # frames 0, 1.5, ..., 30
    np.testing.assert_allclose(out[2], kps[3], atol=1e-5)
    np.testing.assert_allclose(out[1, :24, :2], (kps[1, :24, :2] + kps[2, :24, :2]) / 2, atol=1e-4)


def test_config_validation():
    with pytest.raises(ValueError):
        AugmentConfig(mirror_p=1.5)
    with pytest.raises(ValueError):
        AugmentConfig(tempo=(1.2, 1.1))
