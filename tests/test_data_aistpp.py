"""AIST++ importer on a small fixture in its format (built here), and the safe pickle reader."""

import json
import os
import pickle

import numpy as np
import pytest
import soundfile as sf

from xdancer.constants import SAMPLE_RATE
from xdancer.data.aistpp import COCO17, coco17_to_layout, import_aistpp, load_keypoints2d, safe_load_pickle
from xdancer.data.dataset import DanceDataset
from xdancer.data.importer import build_dataset
from xdancer.errors import InputError
from xdancer.music.synth import synth_groove
from xdancer.pose.skeleton import kp

SEQ = "gBR_sBM_cAll_d04_mBR0_ch01"


def _coco_track(T=180, views=2, rng=None):
    """A standing COCO-17 person in 1920 x 1080 frames, swaying, at 60 fps."""
    base = {
        "nose": (960, 300), "left_eye": (975, 285), "right_eye": (945, 285), "left_ear": (990, 295),
        "right_ear": (930, 295), "left_shoulder": (1040, 400), "right_shoulder": (880, 400),
        "left_elbow": (1070, 520), "right_elbow": (850, 520), "left_wrist": (1080, 630),
        "right_wrist": (840, 630), "left_hip": (1010, 650), "right_hip": (910, 650),
        "left_knee": (1015, 810), "right_knee": (905, 810), "left_ankle": (1020, 960), "right_ankle": (900, 960),
    }  # fmt: skip
    xy = np.array([base[n] for n in COCO17], np.float32)
    t = np.arange(T)[:, None]
    track = np.zeros((views, T, 17, 3), np.float32)
    for v in range(views):
        track[v, :, :, 0] = xy[:, 0] + 40 * np.sin(2 * np.pi * t / 60) + 30 * v
        track[v, :, :, 1] = xy[:, 1]
        track[v, :, :, 2] = 0.9
    return track


@pytest.fixture
def aist_root(tmp_path):
    root = tmp_path / "aist"
    (root / "keypoints2d").mkdir(parents=True)
    (root / "wav").mkdir()
    kps = _coco_track()
    with open(root / "keypoints2d" / f"{SEQ}.pkl", "wb") as f:
        pickle.dump({"keypoints2d": kps, "det_scores": np.ones((2, 180)), "timestamps": np.arange(180) * 16}, f)
    np.savez(root / "keypoints2d" / "gPO_sBM_cAll_d10_mPO1_ch02.npz", keypoints2d=kps)
    (root / "keypoints2d" / "gJB_sBM_cAll_d08_mJB2_ch03.json").write_text(json.dumps({"keypoints2d": kps.tolist()}))
    for music in ("mBR0", "mPO1", "mJB2"):
        sf.write(root / "wav" / f"{music}.wav", synth_groove(120, 4.0, seed=1), SAMPLE_RATE)
    (root / "ignore_list.txt").write_text("gJB_sBM_cAll_d08_mJB2_ch03\n")
    return root


def test_import_fixture(aist_root, tmp_path):
    rows = build_dataset("aistpp", aist_root, tmp_path / "ds", progress=False, views=(0, 1))
    assert sorted(r.id for r in rows) == [f"aistpp_{SEQ}_v0", f"aistpp_{SEQ}_v1",
                                          "aistpp_gPO_sBM_cAll_d10_mPO1_ch02_v0", "aistpp_gPO_sBM_cAll_d10_mPO1_ch02_v1"]
    ds = DanceDataset(tmp_path / "ds")
    clip = ds.load(f"aistpp_{SEQ}_v1")
    assert clip.info.genre == "break" and clip.info.has_music and clip.info.group == "aistpp_mBR0"
    k = clip.poses.keypoints
    assert clip.poses.fps == 30 and len(k) == 90  # 180 frames at 60 fps = 3 s
    assert len(clip.music.features) == 90 and len(clip.music.beat_frames) >= 4  # 120 bpm groove
    # Layout: COCO points where they belong, neck between the shoulders, feet/face/hands unseen.
    assert k[0, kp("left_shoulder"), 0] > k[0, kp("right_shoulder"), 0]
    np.testing.assert_allclose(k[:, kp("neck"), :2], k[:, [kp("left_shoulder"), kp("right_shoulder")], :2].mean(1), atol=1e-3)
    assert (k[:, 18:, 2] == 0).all() and (k[:, :18, 2] > 0.8).all()
    # Cropped to the portrait canvas with the dancer inside it.
    assert clip.poses.frame_size == (512, 896)
    assert k[..., 0].max() < 512 and k[..., 1].max() < 896 and k[:, :18, :2].min() > 0
    # The sway (40 px in 1080p) survives the crop: x of the nose moves with a 1 s period.
    nose = k[:, kp("nose"), 0]
    assert nose.max() - nose.min() > 10


def test_layout_mapping():
    coco = _coco_track(T=2, views=1)[0]
    out = coco17_to_layout(coco)
    for i, name in enumerate(COCO17):
        np.testing.assert_allclose(out[:, kp(name)], coco[:, i])


def test_json_and_npz_forms_read_the_same(aist_root):
    a = load_keypoints2d(aist_root / "keypoints2d" / f"{SEQ}.pkl")
    b = load_keypoints2d(aist_root / "keypoints2d" / "gPO_sBM_cAll_d10_mPO1_ch02.npz")
    c = load_keypoints2d(aist_root / "keypoints2d" / "gJB_sBM_cAll_d08_mJB2_ch03.json")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, c)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_safe_pickle_refuses_code(tmp_path):
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"keypoints2d": _Evil()}))
    with pytest.raises(InputError, match="refusing"):
        safe_load_pickle(bad)
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps({"a": np.arange(3.0), "b": [1, "x"]}))
    assert safe_load_pickle(ok)["b"] == [1, "x"]


def test_missing_music_is_an_input_error(aist_root):
    (aist_root / "wav" / "mBR0.wav").unlink()
    with pytest.raises(InputError, match="music"):
        list(import_aistpp(aist_root))
