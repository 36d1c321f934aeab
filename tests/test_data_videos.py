"""Video importer on a short real dance clip with its music."""

import numpy as np
import pytest

from xdancer.data.videos import import_videos, person_segments
from xdancer.pose.skeleton import LEFT_HAND, RIGHT_HAND, kp


def test_person_segments():
    seen = np.zeros(100, bool)
    seen[10:40] = True
    seen[42:70] = True  # a 2-frame gap is bridged
    seen[90:95] = True  # too short
    assert person_segments(seen, fps=10, min_seconds=1.0, max_gap_s=0.3) == [(10, 70)]
    assert person_segments(np.zeros(5, bool), fps=10) == []


@pytest.fixture(scope="module")
def short_video(shared_data, tmp_path_factory):
    """The first 2.5 s of a real dance video, with its audio."""
    from xdancer.video.io import VideoWriter, probe_video, read_video

    src = shared_data / "videos" / "animatex_dance_1.mp4"
    info = probe_video(src)
    out = tmp_path_factory.mktemp("videos") / "dance_clip.mp4"
    n = int(2.5 * info.fps)
    with VideoWriter(out, info.fps, (info.width, info.height), audio=src) as w:
        for i, (_, rgb) in enumerate(read_video(src)):
            if i >= n:
                break
            w.write(rgb)
    return out


def test_import_short_video(short_video, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (clip,) = list(import_videos(short_video.parent, min_seconds=1.0, cache_dir=cache, progress=False))
    assert clip.id == "videos_dance_clip_0" and clip.group == "videos_dance_clip"
    seq = clip.poses
    assert seq.fps == 30 and seq.frame_size == (512, 896)
    assert 60 <= len(seq) <= 76  # 2.5 s at 30 fps, less any frames without the dancer
    k = seq.keypoints
    # A person, upright, inside the portrait canvas, with hands and face seen part of the time.
    ok = (k[:, [kp("neck"), kp("left_hip"), kp("right_hip")], 2] >= 0.3).all(axis=1)
    assert ok.mean() > 0.9
    assert (k[ok, kp("neck"), 1] < k[ok, kp("left_hip"), 1]).all()
    seen = k[..., 2] > 0
    assert (k[..., 0][seen] < 512).all() and (k[..., 1][seen] < 896).all()
    assert (k[:, 24:92, 2] > 0.3).mean() > 0.5
    assert max((k[:, LEFT_HAND, 2] > 0.3).mean(), (k[:, RIGHT_HAND, 2] > 0.3).mean()) > 0.2
    # Its own music, on the same frames.
    assert clip.music is not None and abs(len(clip.music.features) - len(seq)) <= 1
    assert seq.meta["audio"] == str(short_video)
    # A second import reuses the cached pose track: no detection runs.
    import xdancer.pose.detect as detect

    def no_detection(*args, **kwargs):
        raise AssertionError("detect_video ran although the track is cached")

    monkeypatch.setattr(detect, "detect_video", no_detection)
    (again,) = list(import_videos(short_video.parent, min_seconds=1.0, cache_dir=cache, progress=False))
    np.testing.assert_array_equal(again.poses.keypoints, seq.keypoints)
