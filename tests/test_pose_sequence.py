import json

import numpy as np
import pytest

from xdancer.errors import InputError
from xdancer.pose import PoseSequence


def _seq(rng, t=5):
    k = rng.random((t, 134, 3)).astype(np.float32)
    k[..., :2] *= 300
    return PoseSequence(k, fps=30, frame_size=(320, 480), meta={"source": "test"})


def test_save_load_round_trip(tmp_path, rng):
    seq = _seq(rng)
    path = seq.save(tmp_path / "p.npz")
    back = PoseSequence.load(path)
    np.testing.assert_array_equal(back.keypoints, seq.keypoints)
    assert back.fps == 30 and back.frame_size == (320, 480) and back.meta == {"source": "test"}
    assert back.duration == pytest.approx(5 / 30)
    assert [p.name for p in tmp_path.iterdir()] == ["p.npz"]  # no temp files left


def test_validation(rng):
    with pytest.raises(ValueError, match="134"):
        PoseSequence(np.zeros((3, 18, 3)), 30, (10, 10))
    bad = np.zeros((3, 134, 3))
    bad[0, 0, 2] = 2
    with pytest.raises(ValueError, match="confidence"):
        PoseSequence(bad, 30, (10, 10))
    with pytest.raises(ValueError, match="fps"):
        PoseSequence(np.zeros((3, 134, 3)), 0, (10, 10))


def test_load_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        PoseSequence.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read"):
        PoseSequence.load(junk)


def test_openpose_json_export(tmp_path, rng):
    seq = _seq(rng, t=2)
    paths = seq.to_openpose_json(tmp_path / "json")
    assert len(paths) == 2
    doc = json.loads(paths[1].read_text())
    person = doc["people"][0]
    assert len(person["pose_keypoints_2d"]) == 18 * 3
    assert len(person["face_keypoints_2d"]) == 68 * 3
    assert len(person["hand_right_keypoints_2d"]) == 21 * 3
    assert person["hand_left_keypoints_2d"][:3] == pytest.approx(seq.keypoints[1, 92].tolist())
