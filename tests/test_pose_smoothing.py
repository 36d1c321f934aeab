"""One Euro filter: steadies a still point, follows a fast move with little lag, restarts on gaps."""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.pose.smoothing import OneEuroConfig, OneEuroFilter, smooth_keypoints

FPS = 30.0
H = 1000.0  # frame height in px


def _run(xs: np.ndarray) -> np.ndarray:
    """Filter a (T,) track of x pixels (y held at 500) as one keypoint; returns filtered x."""
    t = np.arange(len(xs)) / FPS
    kps = np.zeros((len(xs), 1, 3), np.float32)
    kps[:, 0, 0], kps[:, 0, 1], kps[:, 0, 2] = xs, 500.0, 1.0
    return smooth_keypoints(kps, t, H)[:, 0, 0]


def test_noisy_constant_loses_most_of_its_jitter(rng):
    noisy = 400.0 + rng.normal(0.0, 3.0, size=300)  # 3 px of detector jitter around a still point
    out = _run(noisy)
    assert np.std(out[30:]) < 0.5 * np.std(noisy[30:])
    assert abs(np.mean(out[30:]) - 400.0) < 1.0  # no bias


def test_step_is_followed_within_a_few_frames():
    xs = np.r_[np.full(30, 200.0), np.full(30, 500.0)]  # a 300 px jump between two frames
    out = _run(xs)
    after = out[30:] - 200.0
    assert after[0] > 0.5 * 300  # more than half way on the very first frame
    assert after[3] > 0.95 * 300  # within 5 % after 4 frames (~0.13 s)


def test_fast_sweep_lags_little_slow_drift_is_smooth(rng):
    t = np.arange(90)
    fast = 100.0 + 25.0 * t  # 750 px/s: a fast arm swing in a 1000 px frame
    lag_fast = np.abs(_run(fast) - fast)[10:].max()
    assert lag_fast < 10.0  # within 10 px while moving 25 px per frame
    # The same filter with beta=0 (a plain low-pass) lags far more: the speed term is what helps.
    kps = np.zeros((90, 1, 3), np.float32)
    kps[:, 0, 0], kps[:, 0, 2] = fast, 1.0
    plain = smooth_keypoints(kps, t / FPS, H, OneEuroConfig(beta=0.0))[:, 0, 0]
    assert np.abs(plain - fast)[10:].max() > 5 * lag_fast


def test_unseen_points_stay_zero_and_restart_fresh():
    kps = np.zeros((5, 2, 3), np.float32)
    kps[:, 0] = (100.0, 100.0, 1.0)
    kps[2, 0] = 0.0  # lost in frame 2
    kps[3, 0] = (600.0, 600.0, 0.9)  # reappears elsewhere
    kps[:, 1] = (50.0, 50.0, 0.8)
    out = smooth_keypoints(kps, np.arange(5) / FPS, H)
    np.testing.assert_array_equal(out[2, 0], 0.0)
    np.testing.assert_allclose(out[3, 0], (600.0, 600.0, 0.9))  # no slide from the old spot
    np.testing.assert_allclose(out[:, 1, 2], 0.8)  # confidences untouched
    np.testing.assert_allclose(out[:, 1, :2], 50.0, atol=1e-4)


def test_filter_state_and_config_checks():
    f = OneEuroFilter()
    first = f(np.array([[1.0, 2.0]]), 0.0)
    np.testing.assert_array_equal(first, [[1.0, 2.0]])
    with pytest.raises(ValueError):
        OneEuroConfig(min_cutoff=0.0)
    with pytest.raises(ValueError):
        OneEuroConfig(beta=-1.0)
    with pytest.raises(ValueError):
        smooth_keypoints(np.zeros((3, 2, 3)), np.arange(2), H)
