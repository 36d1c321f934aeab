"""Dance with Melody importer on one real dance: sides, projection, frame rate, music alignment."""

import numpy as np
import pytest

from xdancer.data.body3d import body_frame
from xdancer.data.dwm import dance_named_joints, import_dwm, load_dance
from xdancer.pose.skeleton import kp

DANCE = "DANCE_C_2"


@pytest.fixture(scope="module")
def dance_dir(shared_data):
    return shared_data / "dance_with_melody" / DANCE


def test_left_and_right_are_anatomical(dance_dir):
    """With our side labels, knees bend forward and toes point forward (forward = left x up)."""
    j = dance_named_joints(load_dance(dance_dir).joints)
    _, fwd = body_frame(j)
    for side in ("left", "right"):
        knee_bend = j[f"{side}_knee"] - (j[f"{side}_hip"] + j[f"{side}_ankle"]) / 2
        toe = j[f"{side}_toe"] - j[f"{side}_ankle"]
        heel = j[f"{side}_heel"] - j[f"{side}_ankle"]
        assert (knee_bend * fwd).sum(-1).mean() > 0.03  # metres
        assert (toe * fwd).sum(-1).mean() > 0.05 and (heel * fwd).sum(-1).mean() < 0


def test_import_one_dance(dance_dir):
    clips = list(import_dwm(dance_dir, views=2, seed=0, max_seconds=12))
    assert [c.id for c in clips] == [f"dwm_{DANCE}_v0", f"dwm_{DANCE}_v1"]
    a, b = clips
    assert a.camera != b.camera and a.group == b.group == f"dwm_{DANCE}" and a.genre == "cha-cha"
    k = a.poses.keypoints
    n25 = 12 * 25
    assert a.poses.fps == 30 and len(k) == int(n25 * 30 / 25)
    assert a.poses.frame_size == (512, 896)
    # Upright and framed: neck above hips above ankles; the body fills a good part of the frame.
    neck_y, hip_y = k[:, kp("neck"), 1], k[:, [kp("left_hip"), kp("right_hip")], 1].mean(1)
    ankle_y = k[:, [kp("left_ankle"), kp("right_ankle")], 1].mean(1)
    assert (neck_y < hip_y).mean() > 0.99 and (hip_y < ankle_y).mean() > 0.99
    assert np.median(ankle_y - neck_y) > 0.3 * 896
    # Body and feet seen, face landmarks and fingers not.
    assert (k[:, 1:14, 2] == 1).mean() > 0.98 and (k[:, 24:, 2] == 0).all()
    # Reproducible cameras.
    again = next(iter(import_dwm(dance_dir, views=1, seed=0, with_music=False, max_seconds=12)))
    np.testing.assert_array_equal(again.poses.keypoints, k)
    # Music: the song from start_position / 25 s, on the same 30 fps frames.
    m = a.music
    assert m is not None and m.fps == 30
    assert abs(len(m.features) - len(k)) <= 1
    assert m.meta["offset"] == pytest.approx(load_dance(dance_dir).start_position / 25)
    assert 100 < m.tempo_bpm < 140  # cha-cha
