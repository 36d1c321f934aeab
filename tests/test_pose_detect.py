"""Pose detection on real photos and videos, and the bad inputs it must refuse."""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.errors import InputError
from xdancer.image_io import load_image
from xdancer.pose.detect import DetectConfig, detect_image, detect_pose, detect_video
from xdancer.pose.skeleton import FACE_START, LEFT_HAND_START, RIGHT_HAND_START, kp
from xdancer.pose.smoothing import smooth_keypoints

STANDING_FULL_BODY = ("mimicmotion_demo1.jpg", "moore_anyone3.png", "animatex_ty_woman.jpg")
SEEN = 0.5
VIDEO_SECONDS = 0.5  # enough frames to show tracking; keeps the suite fast


def _y(k: np.ndarray, *names: str) -> float:
    """Mean y of points that must all be seen."""
    for n in names:
        assert k[kp(n), 2] >= SEEN, f"{n} not seen (confidence {k[kp(n), 2]:.2f})"
    return float(np.mean([k[kp(n), 1] for n in names]))


def _check_facing_camera(k: np.ndarray) -> None:
    """All the photos face the camera: the person's right is on the image's left, everywhere."""
    assert k[kp("right_shoulder"), 0] < k[kp("left_shoulder"), 0]
    assert k[kp("right_hip"), 0] < k[kp("left_hip"), 0]
    assert k[kp("right_eye"), 0] < k[kp("left_eye"), 0]
    if k[FACE_START, 2] > 0:  # iBUG jaw runs from the right ear (0) to the left (16); eyes 36 / 45
        assert k[FACE_START + 0, 0] < k[FACE_START + 8, 0] < k[FACE_START + 16, 0]
        assert k[FACE_START + 36, 0] < k[FACE_START + 45, 0]
        assert k[FACE_START + 8, 1] > k[FACE_START + 30, 1] > k[FACE_START + 19, 1]  # chin, nose, brow
        nose = k[kp("nose"), :2]
        face = k[FACE_START : FACE_START + 68, :2]
        assert face[:, 0].min() < nose[0] < face[:, 0].max() and face[:, 1].min() < nose[1] < face[:, 1].max()


def _check_hands_at_wrists(k: np.ndarray) -> None:
    """Each hand found sits on its own wrist (left hand on the left wrist)."""
    scale = abs(k[kp("left_shoulder"), 0] - k[kp("right_shoulder"), 0])
    for start, wrist in ((LEFT_HAND_START, "left_wrist"), (RIGHT_HAND_START, "right_wrist")):
        if k[start, 2] > 0 and k[kp(wrist), 2] > 0:
            assert np.linalg.norm(k[start, :2] - k[kp(wrist), :2]) < 0.5 * scale


@pytest.mark.parametrize(
    "name",
    [
        "mimicmotion_demo1.jpg",
        "moore_anyone3.png",
        "animatex_ty_woman.jpg",
        "moore_anyone1_anime.png",
        "musepose_ref.png",
    ],
)
def test_every_photo_has_one_person_with_plausible_anatomy(shared_data, name):
    path = shared_data / "images" / name
    seq = detect_pose(path)
    rgb = load_image(path)
    assert len(seq) == 1 and seq.frame_size == (rgb.shape[1], rgb.shape[0])
    assert seq.meta["people_in_view"] == 1
    k = seq.keypoints[0]
    head = _y(k, "nose")
    shoulders = _y(k, "left_shoulder", "right_shoulder")
    hips = _y(k, "left_hip", "right_hip")
    assert head < shoulders < hips
    if name in STANDING_FULL_BODY:
        knees = _y(k, "left_knee", "right_knee")
        ankles = _y(k, "left_ankle", "right_ankle")
        assert hips < knees < ankles
        assert ankles < _y(k, "left_big_toe", "right_big_toe") + 0.05 * (ankles - head)
    elif name == "moore_anyone1_anime.png":  # three-quarter body: legs leave the picture
        assert k[kp("left_ankle"), 2] == 0 and k[kp("right_ankle"), 2] == 0
    elif name == "musepose_ref.png":  # full body with arms raised above the head
        assert hips < _y(k, "left_knee", "right_knee")
        assert _y(k, "left_wrist", "right_wrist") < shoulders
    _check_facing_camera(k)
    _check_hands_at_wrists(k)
    np.testing.assert_array_equal(k[kp("left_small_toe")], 0.0)  # never invented


def test_astronaut_waist_up_is_one_person():
    from skimage import data

    k = detect_image(data.astronaut()).keypoints[0]
    assert _y(k, "nose") < _y(k, "left_shoulder", "right_shoulder")
    _check_facing_camera(k)
    assert k[kp("left_knee"), 2] == 0 and k[kp("left_ankle"), 2] == 0  # not in the picture


@pytest.mark.parametrize("which", ["gradient", "rocket"])
def test_picture_without_a_person_is_refused(which):
    from skimage import data

    rgb = (
        np.tile(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))
        if which == "gradient"
        else data.rocket()
    )
    with pytest.raises(InputError, match="no person"):
        detect_image(rgb)


@pytest.fixture(scope="module")
def two_people(shared_data) -> np.ndarray:
    import cv2

    a = load_image(shared_data / "images" / "moore_anyone3.png")
    b = load_image(shared_data / "images" / "mimicmotion_demo1.jpg")
    h = a.shape[0]
    b = cv2.resize(b, (round(b.shape[1] * h / b.shape[0]), h), interpolation=cv2.INTER_AREA)
    return np.concatenate([a, b], axis=1)  # two real photos side by side


def test_two_people_are_refused_with_the_count(two_people):
    with pytest.raises(InputError, match="2 people"):
        detect_image(two_people)


def test_two_people_allowed_picks_the_largest_most_central(two_people):
    seq = detect_image(two_people, allow_multiple=True)
    meta = seq.meta
    assert meta["people_in_view"] == 2 and "largest" in meta["chosen_person"]["rule"]
    x0, y0, x1, y1 = meta["chosen_person"]["box"]
    k = seq.keypoints[0]
    seen = k[:, 2] > 0
    assert seen.sum() > 40
    assert (k[seen, 0] >= x0 - 0.2 * (x1 - x0)).all() and (k[seen, 0] <= x1 + 0.2 * (x1 - x0)).all()
    assert len(meta["chosen_person"]["others"]) == 1
    other = meta["chosen_person"]["others"][0]
    assert other["score"] <= 1.0 and (x1 - x0) * (y1 - y0) >= 0.5 * (other["x1"] - other["x0"]) * (
        other["y1"] - other["y0"]
    )


def test_detect_pose_dispatch_and_bad_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        detect_pose(tmp_path / "nobody.png")
    (tmp_path / "pose.txt").write_text("hello")
    with pytest.raises(InputError, match="unsupported file type"):
        detect_pose(tmp_path / "pose.txt")
    (tmp_path / "fake.jpg").write_text("not a photo at all" * 10)
    with pytest.raises(InputError, match="not an image"):
        detect_pose(tmp_path / "fake.jpg")
    (tmp_path / "fake.mp4").write_bytes(b"\x00\x01nonsense" * 100)
    with pytest.raises(InputError):
        detect_pose(tmp_path / "fake.mp4")
    with pytest.raises(InputError):
        detect_image(np.zeros((10, 10), np.uint8))


def test_config_is_validated():
    with pytest.raises(ValueError):
        DetectConfig(max_seconds=0)
    with pytest.raises(ValueError):
        DetectConfig(min_detection_confidence=2.0)
    assert DetectConfig(one_euro={"beta": 5.0}).one_euro.beta == 5.0


@pytest.mark.parametrize(
    "name",
    [
        "animatex_dance_1.mp4",
        "animatex_dance_2.mp4",
        "animatex_source_video_noaudio.mp4",
        "mgt_dancer.avi",
        "musepose_dance.mp4",
    ],
)
def test_every_video_yields_a_pose_track(shared_data, name):
    from xdancer.video.io import probe_video

    path = shared_data / "videos" / name
    info = probe_video(path)
    seq = detect_video(path, progress=False, max_seconds=VIDEO_SECONDS)
    assert seq.fps == pytest.approx(info.fps) and seq.frame_size == (info.width, info.height)
    assert len(seq) == int(np.ceil(VIDEO_SECONDS * info.fps))
    body = seq.confidence[:, :18]
    assert (body >= SEEN).sum(axis=1).min() >= 8  # the dancer is tracked in every frame
    assert seq.meta["frames_with_person"] == len(seq) and seq.meta["people_in_view"] == 1
    assert "chosen_person" in seq.meta and seq.meta["smoothing"] is not None
    # Upright dancer: head above hips in every frame where both are seen.
    k = seq.keypoints
    both = (k[:, kp("nose"), 2] > SEEN) & (k[:, kp("right_hip"), 2] > SEEN)
    assert (k[both, kp("nose"), 1] < k[both, kp("right_hip"), 1]).all()


def test_smoothing_steadies_a_real_track_without_dragging_it(shared_data):
    path = shared_data / "videos" / "animatex_dance_1.mp4"
    raw = detect_video(path, progress=False, config=DetectConfig(smooth=False, max_frames=24))
    times = np.arange(len(raw)) / raw.fps
    smooth = smooth_keypoints(raw.keypoints, times, raw.frame_size[1])
    body = slice(0, 18)
    seen = (raw.keypoints[:, body, 2] > 0).all(axis=0)
    r, s = raw.keypoints[:, body][:, seen, :2], smooth[:, body][:, seen, :2]
    jerk = lambda x: np.abs(np.diff(x, n=2, axis=0)).mean()  # noqa: E731
    assert jerk(s) < 0.8 * jerk(r)
    assert np.abs(s - r).mean() < 0.01 * raw.frame_size[1]  # within 1 % of the frame height on average
    np.testing.assert_array_equal(smooth[..., 2], raw.keypoints[..., 2])


def test_saved_pose_round_trips(tmp_path, shared_data):
    seq = detect_pose(shared_data / "images" / "moore_anyone3.png")
    back = type(seq).load(seq.save(tmp_path / "p.npz"))
    np.testing.assert_array_equal(back.keypoints, seq.keypoints)
    assert back.meta == seq.meta


def test_video_with_two_dancers_tracks_the_chosen_one(tmp_path, shared_data):
    import itertools

    from xdancer.video.io import read_video, write_video

    videos = shared_data / "videos"
    left = read_video(videos / "animatex_dance_1.mp4")
    right = read_video(videos / "animatex_dance_2.mp4")
    frames = [
        np.concatenate([a, b], axis=1)
        for (_, a), (_, b) in itertools.islice(zip(left, right, strict=False), 10)
    ]
    path = write_video(frames, tmp_path / "pair.mp4", 24)
    seq = detect_video(path, progress=False)
    assert seq.meta["people_in_view"] == 2 and len(seq) == 10
    x0, _, x1, _ = seq.meta["chosen_person"]["crop"]
    seen = seq.keypoints[..., 2] > 0
    xs = seq.keypoints[..., 0][seen]
    assert (xs >= x0).all() and (xs < x1).all()  # every point on the chosen dancer's side
    assert (seq.confidence[:, :18] >= SEEN).sum(axis=1).min() >= 8


def test_video_without_a_person_or_truncated_is_refused(tmp_path, shared_data):
    from xdancer.video.io import write_video

    ramp = np.tile(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))
    empty = write_video([np.roll(ramp, 8 * i, axis=1) for i in range(8)], tmp_path / "empty.mp4", 24)
    with pytest.raises(InputError, match="no person found in any of the 8 frames"):
        detect_video(empty, progress=False)
    cut = tmp_path / "cut.avi"
    cut.write_bytes((shared_data / "videos" / "mgt_dancer.avi").read_bytes()[:30_000])
    with pytest.raises(InputError, match="truncated"):
        detect_video(cut, progress=False)


def test_same_photo_same_pose_whatever_came_before():
    from skimage import data

    photo = data.astronaut()
    first = detect_image(photo).keypoints
    detect_image(np.ascontiguousarray(photo[:, ::-1]))  # a different picture in between
    np.testing.assert_array_equal(detect_image(photo).keypoints, first)
    np.testing.assert_array_equal(detect_image(photo).keypoints, first)


@pytest.mark.slow
def test_whole_video_track_is_continuous(shared_data):
    """A whole dance (8 s): the person is seen throughout and no body point teleports."""
    seq = detect_video(shared_data / "videos" / "animatex_dance_1.mp4", progress=False)
    assert len(seq) == 194 and seq.meta["frames_with_person"] == len(seq)
    k = seq.keypoints[:, :18]
    both = (k[1:, :, 2] > SEEN) & (k[:-1, :, 2] > SEEN)  # (T-1, 18) seen in consecutive frames
    step = np.linalg.norm(np.diff(k[..., :2], axis=0), axis=-1)[both]
    assert np.percentile(step, 99) < 0.1 * seq.frame_size[1]  # under 10 % of the height per frame
    assert (seq.confidence[:, FACE_START] > 0).mean() > 0.8


def test_large_photo_gives_the_same_pose_in_its_own_pixels(shared_data):
    import cv2

    photo = load_image(shared_data / "images" / "moore_anyone3.png")  # 614 x 922
    small = detect_image(photo).keypoints[0]
    big = detect_image(cv2.resize(photo, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)).keypoints[0]
    seen = (small[:, 2] > SEEN) & (big[:, 2] > SEEN)
    assert seen.sum() > 120
    err = np.abs(big[seen, :2] / 3.0 - small[seen, :2]).max(axis=-1)
    assert err.max() < 0.01 * photo.shape[0]  # within 1 % of the height, in the big photo's pixels
