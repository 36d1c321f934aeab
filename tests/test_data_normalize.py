"""Pose normalisation: per-sequence origin and scale, exact inverse, statistics round trip."""

import numpy as np
import pytest
import torch

from xdancer.pose.normalize import (
    PoseNormalizer,
    SequenceTransform,
    denormalize,
    normalize,
    sequence_transform,
)
from xdancer.pose.skeleton import NUM_KEYPOINTS, kp


def _sequence(rng, T=12):
    kps = np.zeros((T, NUM_KEYPOINTS, 3), np.float32)
    kps[:, :24, :2] = rng.uniform(100, 400, (T, 24, 2))
    kps[:, :24, 2] = 1.0
    kps[:, kp("neck"), :2] = [250, 300]
    kps[:, kp("right_hip"), :2] = [230, 450]
    kps[:, kp("left_hip"), :2] = [270, 450]
    kps[:, :, 0] += np.arange(T)[:, None] * 5.0  # the dancer walks right
    return kps


def test_round_trip_and_global_motion_survives(rng):
    kps = _sequence(rng)
    normed, tf = normalize(kps)
    assert tf.origin == pytest.approx((250.0, 450.0))  # hip midpoint of frame 0
    assert tf.scale == pytest.approx(150.0)  # neck to hip midpoint
    back = denormalize(normed, tf)
    seen = kps[..., 2] > 0
    np.testing.assert_allclose(back[seen], kps[seen], atol=1e-3)
    # One transform for the whole sequence: the root drifts right in normalised units too.
    root = normed[:, [kp("right_hip"), kp("left_hip")], 0].mean(axis=1)
    np.testing.assert_allclose(np.diff(root), 5.0 / 150.0, atol=1e-5)
    assert (normed[:, 24:, :2] == 0).all()  # unseen points are zero


def test_denormalize_torch_matches_numpy(rng):
    kps = _sequence(rng)
    normed, tf = normalize(kps)
    t = denormalize(torch.from_numpy(normed), tf)
    np.testing.assert_allclose(t.numpy(), denormalize(normed, tf), atol=1e-4)


def test_transform_fallbacks_and_validation():
    kps = np.zeros((3, NUM_KEYPOINTS, 3), np.float32)
    kps[:, kp("nose")] = [10, 20, 1]
    tf = sequence_transform(kps)
    assert tf.origin == (10.0, 20.0)
    assert tf.scale > 0
    assert SequenceTransform.from_dict(tf.to_dict()) == tf
    with pytest.raises(ValueError):
        SequenceTransform(origin=(0.0, 0.0), scale=0.0)
    with pytest.raises(ValueError):
        sequence_transform(np.zeros((0, NUM_KEYPOINTS, 3)))


def test_normalizer_statistics_round_trip(rng):
    seqs = [normalize(_sequence(rng))[0] for _ in range(3)]
    stats = PoseNormalizer.fit(seqs)
    again = PoseNormalizer.from_dict(stats.to_dict())
    assert again.to_dict() == stats.to_dict()
    x = seqs[0]
    z = stats.standardize(x)
    seen = x[..., 2] > 0
    np.testing.assert_allclose(stats.unstandardize(z)[seen], x[seen], atol=1e-4)
    allz = np.concatenate([stats.standardize(s) for s in seqs])
    np.testing.assert_allclose(allz[:, :24, :2].mean(axis=0), 0, atol=1e-4)
    # Keypoints never seen keep mean 0 / std 1, and torch tensors work the same.
    assert np.asarray(stats.std)[100].tolist() == [1.0, 1.0]
    zt = stats.standardize(torch.from_numpy(x))
    np.testing.assert_allclose(zt.numpy(), z, atol=1e-5)
