import numpy as np
import pytest

from xdancer.pose import skeleton as sk


def test_layout_sizes_and_names():
    assert sk.NUM_KEYPOINTS == 134
    assert len(set(sk.KEYPOINT_NAMES)) == 134
    assert sk.kp("neck") == 1 and sk.kp("left_wrist") == 7 and sk.kp("right_ankle") == 10
    assert sk.kp("left_big_toe") == 18 and sk.kp("left_hand_wrist") == 92 and sk.kp("right_hand_wrist") == 113
    assert sum(sk.PART_SIZES.values()) == 134
    assert list(sk.PARTS) == list(sk.PART_NAMES)


def test_unknown_name_is_explained():
    with pytest.raises(KeyError, match="unknown keypoint"):
        sk.kp("left_tail")


def test_split_merge_round_trip(rng):
    poses = rng.random((2, 7, 134, 3)).astype(np.float32)
    parts = sk.split_parts(poses)
    assert parts["left_hand"].shape == (2, 7, 21, 3)
    assert parts["head"].shape == (2, 7, 73, 3)
    np.testing.assert_array_equal(sk.merge_parts(parts), poses)


def test_split_rejects_wrong_layout(rng):
    with pytest.raises(ValueError, match="134"):
        sk.split_parts(rng.random((3, 18, 3)))


def test_mirror_is_an_involution_and_swaps_sides(rng):
    poses = rng.random((4, 134, 3)).astype(np.float32) * 100
    m = sk.mirror(poses, width=100)
    np.testing.assert_allclose(sk.mirror(m, width=100), poses, rtol=0, atol=1e-4)
    # The mirrored left wrist is the old right wrist reflected.
    np.testing.assert_allclose(m[:, sk.kp("left_wrist"), 0], 100 - poses[:, sk.kp("right_wrist"), 0], atol=1e-4)
    np.testing.assert_allclose(m[:, sk.kp("nose"), 0], 100 - poses[:, sk.kp("nose"), 0], atol=1e-4)
    # Face: right eye corner 36 <-> left eye corner 45.
    np.testing.assert_array_equal(m[:, sk.FACE_START + 36, 1], poses[:, sk.FACE_START + 45, 1])


def test_bones_reference_valid_points():
    for a, b in sk.BODY_BONES + sk.FOOT_BONES + sk.HAND_BONES:
        assert 0 <= a < 134 and 0 <= b < 134 and a != b
    assert len(sk.BODY_COLORS) == 18
