"""Motion metrics on inputs whose answers are worked out by hand (in the comments)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from xdancer.eval import metrics as M
from xdancer.eval import motion_features as F
from xdancer.pose.skeleton import NUM_KEYPOINTS, kp

# A standing person facing the camera, in px (y down). Torso: neck (0, 0) to mid-hip (0, 100), so
# the torso length L is 100 px; the legs are 1.7 L long. The person's right side is on the image's left.
STANDING = {
    "nose": (0, -20), "neck": (0, 0), "right_eye": (-5, -25), "left_eye": (5, -25),
    "right_ear": (-10, -22), "left_ear": (10, -22),
    "right_shoulder": (-20, 0), "right_elbow": (-25, 40), "right_wrist": (-25, 80),
    "left_shoulder": (20, 0), "left_elbow": (25, 40), "left_wrist": (25, 80),
    "right_hip": (-10, 100), "right_knee": (-10, 185), "right_ankle": (-10, 270),
    "left_hip": (10, 100), "left_knee": (10, 185), "left_ankle": (10, 270),
    "right_heel": (-12, 275), "right_big_toe": (-5, 280), "right_small_toe": (-15, 280),
    "left_heel": (12, 275), "left_big_toe": (5, 280), "left_small_toe": (15, 280),
}  # fmt: skip
ORIGIN = np.array([300.0, 200.0])


def pose(overrides: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """(134, 3): the standing body + feet at confidence 1, face and hands unseen (confidence 0)."""
    out = np.zeros((NUM_KEYPOINTS, 3))
    for name, xy in {**STANDING, **(overrides or {})}.items():
        out[kp(name)] = (*(np.asarray(xy, float) + ORIGIN), 1.0)
    return out


def moving(offsets: np.ndarray) -> np.ndarray:
    """(T, 134, 3): the standing pose translated by offsets (T, 2) px."""
    seq = np.repeat(pose()[None], len(offsets), axis=0)
    seq[..., :2] += offsets[:, None, :]
    return seq


# --- beat alignment ------------------------------------------------------------------------------


def test_beat_align_score_by_hand():
    # music beats at 1.0 and 2.0 s; nearest dance beats 0.05 s and 0 s away; sigma 0.05 s:
    # (exp(-0.05^2 / (2 * 0.05^2)) + exp(0)) / 2 = (exp(-0.5) + 1) / 2
    assert M.beat_align_score([1.0, 2.0], [1.05, 2.0, 5.0]) == pytest.approx((np.exp(-0.5) + 1) / 2)
    # frames at 30 fps: 30 -> 1.0 s, 60 -> 2.0 s, dance 63 -> 2.1 s (0.1 s = 2 sigma): (1 + e^-2) / 2
    assert M.beat_align_score([30, 60], [30, 63], fps=30) == pytest.approx((1 + np.exp(-2)) / 2)
    # sigma stays in seconds: 3 frames at 60 fps off by 0.05 s with sigma 0.05 -> exp(-0.5)
    assert M.beat_align_score([60], [63], fps=60) == pytest.approx(np.exp(-0.5))
    assert M.beat_align_score([1.0], []) == 0.0
    with pytest.raises(ValueError, match="no music beats"):
        M.beat_align_score([], [1.0])
    with pytest.raises(ValueError, match="sigma"):
        M.beat_align_score([1.0], [1.0], sigma=0)


def test_beat_align_chance_by_hand():
    beats = np.arange(11.0)  # one beat per second, the dance on every beat
    # phases 0, 1/4, 1/2, 3/4 of the period: BAS 1 at phase 0; at the others every beat is >= 0.25 s
    # (5 sigma) from a dance beat, exp(-12.5) < 4e-6, so the mean is 1/4 up to 1e-5
    assert M.beat_align_chance(beats, beats, n_phases=4) == pytest.approx(0.25, abs=1e-5)
    assert np.isnan(M.beat_align_chance([1.0], [1.0]))


def swinging(fps: float = 30, seconds: float = 2.0) -> np.ndarray:
    """The whole body swings sideways, x = 20 sin(2 pi t): the speed vanishes at the turning points
    t = 0.25, 0.75, 1.25, 1.75 s, each the exact middle of a frame interval at 30 fps
    (0.25 s = (7 + 0.5) / 30), where the displacement is exactly 0."""
    t = np.arange(int(seconds * fps)) / fps
    return moving(np.stack([20 * np.sin(2 * np.pi * t), np.zeros_like(t)], axis=-1))


def test_dance_beats_are_speed_minima():
    beats = F.dance_beats(swinging(), fps=30)
    np.testing.assert_allclose(beats, [0.25, 0.75, 1.25, 1.75], atol=1e-9)


def test_dance_beats_ignore_unseen_points():
    seq = swinging()
    noise = np.random.default_rng(0).normal(0, 50, size=(len(seq), 2))
    seq[:, kp("left_wrist"), :2] += noise
    seq[:, kp("left_wrist"), 2] = 0.1  # below the 0.3 threshold: must not move the beats
    np.testing.assert_allclose(F.dance_beats(seq, fps=30), [0.25, 0.75, 1.25, 1.75], atol=1e-9)


def test_joint_speed_by_hand():
    # 3 px per frame to the right at 30 fps = 90 px/s for every seen joint
    seq = moving(np.stack([3.0 * np.arange(5), np.zeros(5)], axis=-1))
    np.testing.assert_allclose(F.joint_speed(seq, fps=30), 90.0)


def test_sequence_bas():
    seq = swinging()
    on_beat = [0.25, 0.75, 1.25, 1.75, 2.5]  # 2.5 s lies after the dance and does not count
    assert M.sequence_beat_align_score(seq, 30, on_beat) == pytest.approx(1.0)
    late = [0.30, 0.80, 1.30, 1.80]  # each 0.05 s late -> exp(-0.5)
    assert M.sequence_beat_align_score(seq, 30, late) == pytest.approx(np.exp(-0.5))


# --- diversity and Frechet distances ---------------------------------------------------------------


def test_diversity_by_hand():
    feats = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 8.0]])  # pair distances 5, 8, 5 -> mean 6
    assert M.diversity(feats) == pytest.approx(6.0)
    # real set [[0, 0], [4, 4]]: mean (2, 2), std (2, 2) -> every distance halves -> 3
    assert M.diversity(feats, real_features=np.array([[0.0, 0.0], [4.0, 4.0]])) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        M.diversity(feats[:1])


def test_paired_distance_by_hand():
    real = np.array([[0.0, 0.0], [4.0, 4.0]])  # mean (2, 2), std (2, 2)
    # each dance 2 units off its own real dance along x: 1 after normalising
    assert M.paired_distance(real + [2.0, 0.0], real) == pytest.approx(1.0)
    assert M.paired_distance(real, real) == 0.0
    # the same two dances handed to the other clips: each is sqrt(2^2 + 2^2) normalised units off
    assert M.paired_distance(real[::-1], real) == pytest.approx(np.sqrt(8.0))
    # set-level scores cannot see the swap
    assert M.fid_k(real[::-1], real) == pytest.approx(M.fid_k(real, real))
    with pytest.raises(ValueError):
        M.paired_distance(real[:1], real)


def test_frechet_distance_by_hand():
    # 1D: N(0, 4) vs N(1, 1): 1 + 4 + 1 - 2 * sqrt(4 * 1) = 2
    assert M.frechet_distance([0.0], [[4.0]], [1.0], [[1.0]]) == pytest.approx(2.0)
    # diagonal 2D: |(3, 4)|^2 + (1 + 4) + (4 + 9) - 2 (sqrt(1 * 4) + sqrt(4 * 9)) = 25 + 5 + 13 - 16 = 27
    assert M.frechet_distance([0, 0], np.diag([1.0, 4.0]), [3, 4], np.diag([4.0, 9.0])) == pytest.approx(27.0)
    # a singular (rank-1) covariance against itself: distance 0, no NaN
    s = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert M.frechet_distance([1, 2], s, [1, 2], s) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_matches_scipy_sqrtm(rng):
    a, b = rng.normal(size=(50, 6)), rng.normal(size=(40, 6)) * 2 + 1
    mu1, s1 = M.gaussian_stats(a)
    mu2, s2 = M.gaussian_stats(b)
    covmean = linalg.sqrtm(s1 @ s2).real
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    # fewer samples than dimensions: singular covariances, still finite and >= 0
    assert np.isfinite(M.feature_frechet_distance(a[:3], b[:4]))


def test_fid_k_and_fid_g_by_hand():
    real = np.array([[0.0], [2.0]])  # mean 1, std 1 -> normalised real [-1, 1], variance (N-1) 2
    gen = np.array([[2.0], [4.0]])  # normalised [1, 3], variance 2: 2^2 + 2 + 2 - 2 * 2 = 4
    assert M.fid_k(gen, real) == pytest.approx(4.0)
    assert M.fid_g(gen, real) == pytest.approx(4.0)
    assert M.fid_k(real, real) == pytest.approx(0.0, abs=1e-12)


# --- kinetic and geometric features ----------------------------------------------------------------


def ballistic(fps: float, scale: float = 1.0, seconds: float = 1.0) -> np.ndarray:
    """Whole body: x = 200 t px (2 L/s), y = 150 t^2 px (acceleration 300 px/s^2 = 3 L/s^2)."""
    t = np.arange(int(round(seconds * fps))) / fps
    return moving(np.stack([200 * t, 150 * t**2], axis=-1)) * np.array([scale, scale, 1.0])


def test_kinetic_features_by_hand():
    feats = F.kinetic_features(ballistic(30), fps=30).reshape(-1, 3)
    assert feats.shape == (24, 3)
    # every seen joint: horizontal kinetic energy 2^2 = 4 (L/s)^2, energy expenditure 3 L/s^2
    np.testing.assert_allclose(feats[:, 0], 4.0, rtol=1e-9)
    np.testing.assert_allclose(feats[:, 2], 3.0, rtol=1e-9)
    assert (feats[:, 1] > 0).all()  # falling: some vertical kinetic energy
    # the same motion at 60 fps and at twice the image size gives the same horizontal features
    other = F.kinetic_features(ballistic(60, scale=2.0), fps=60).reshape(-1, 3)
    np.testing.assert_allclose(other[:, [0, 2]], feats[:, [0, 2]], rtol=1e-9)
    # an unseen joint contributes zeros
    seq = ballistic(30)
    seq[:, kp("left_ear"), 2] = 0
    np.testing.assert_array_equal(F.kinetic_features(seq, fps=30).reshape(-1, 3)[kp("left_ear")], 0.0)


def test_geometric_features_static_pose():
    names = F.GEOMETRIC_FEATURE_NAMES
    arm_up = pose({"right_elbow": (-25, -40), "right_wrist": (-25, -80)})  # right hand above the head
    feats = dict(zip(names, F.geometric_features(np.repeat(arm_up[None], 10, axis=0), fps=30), strict=True))
    assert len(names) == 32
    assert feats["right_wrist_above_head"] == 1.0 and feats["left_wrist_above_head"] == 0.0
    assert feats["right_wrist_above_shoulder"] == 1.0 and feats["left_wrist_below_hip"] == 0.0
    assert feats["right_arm_raised"] == 1.0 and feats["left_arm_raised"] == 0.0  # 180 vs ~7 degrees
    assert feats["right_elbow_bent"] == 0.0  # straight arm: 180 degrees
    assert feats["hands_apart"] == 1.0  # wrists 0.5 apart horizontally, 1.6 vertically: 1.68 L > 1
    assert feats["torso_tilted"] == 0.0 and feats["crouched"] == 0.0  # ankles 1.7 L below the hip
    assert all(
        feats[n] == 0.0 for n in names if n.endswith(("_fast", "_moves_up", "_moves_out", "_approach"))
    )


def test_geometric_features_motion():
    names = F.GEOMETRIC_FEATURE_NAMES
    # 4 px per frame to the right at 30 fps = 120 px/s = 1.2 L/s: the root is fast (> 1 L/s),
    # the hands are not (< 2 L/s), the feet are not (< 1.5 L/s)
    feats = dict(
        zip(
            names,
            F.geometric_features(moving(np.stack([4.0 * np.arange(6), np.zeros(6)], -1)), 30),
            strict=True,
        )
    )
    assert feats["root_fast"] == 1.0
    assert feats["right_hand_fast"] == 0.0 and feats["right_foot_fast"] == 0.0


# --- foot skating -------------------------------------------------------------------------------


def test_foot_skating_by_hand():
    n = 10
    seq = np.repeat(pose()[None], n, axis=0)
    left = [kp(f"left_{p}") for p in ("ankle", "heel", "big_toe", "small_toe")]
    # the left foot slides 3 px per frame along the ground at 30 fps: 90 px/s = 0.9 L/s; the right
    # foot stays planted: mean over both feet in contact = (0.9 + 0) / 2
    seq[:, left, 0] += 3.0 * np.arange(n)[:, None]
    assert M.foot_skating(seq, fps=30) == pytest.approx(0.45)
    # lift the moving foot 50 px (0.5 L) off the ground: only the planted foot counts -> 0
    seq[:, left, 1] -= 50
    assert M.foot_skating(seq, fps=30) == pytest.approx(0.0)
    contact, _, scale = F.foot_contacts(seq, fps=30)
    assert scale == pytest.approx(100.0)
    assert not contact[:, 0].any() and contact[:, 1].all()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="keypoints"):
        F.dance_beats(np.zeros((10, 134)), fps=30)
    with pytest.raises(ValueError, match="fps"):
        F.joint_speed(swinging(), fps=0)
    seq = swinging()
    seq[:, kp("neck"), 2] = 0
    with pytest.raises(ValueError, match="body size"):
        F.kinetic_features(seq, fps=30)
