import numpy as np
import pytest

from xdancer.pose import PoseSequence
from xdancer.pose.resample import resample_poses


def _ramp(t, fps):
    k = np.zeros((t, 134, 3), np.float32)
    k[..., 0] = np.arange(t)[:, None] * 2.0  # x moves 2 px per frame
    k[..., 2] = 1.0
    return PoseSequence(k, fps, (100, 100))


def test_upsample_interpolates_linearly():
    out = resample_poses(_ramp(30, 30), 60)
    assert out.fps == 60 and len(out) == 60
    np.testing.assert_allclose(out.keypoints[:, 0, 0][:59], np.arange(59) * 1.0, atol=1e-5)


def test_downsample_keeps_duration():
    out = resample_poses(_ramp(30, 30), 24)
    assert len(out) == 24 and out.duration == pytest.approx(1.0)
    np.testing.assert_allclose(out.keypoints[5, 0, 0], 5 * 30 / 24 * 2.0, atol=1e-5)


def test_confidence_is_min_of_neighbours():
    seq = _ramp(4, 30)
    seq.keypoints[2, 7, 2] = 0.0
    out = resample_poses(seq, 60)
    assert out.keypoints[3, 7, 2] == 0.0  # between frames 1 and 2
    assert out.keypoints[4, 7, 2] == 0.0  # on frame 2 itself
    assert out.keypoints[2, 7, 2] == 1.0  # on frame 1


def test_same_fps_is_a_copy():
    seq = _ramp(5, 30)
    out = resample_poses(seq, 30)
    np.testing.assert_array_equal(out.keypoints, seq.keypoints)
    assert out.keypoints is not seq.keypoints
