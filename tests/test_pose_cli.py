"""``xdancer pose``: outputs on success; one-line errors, exit code 2 and no files on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xdancer.cli import main
from xdancer.errors import InputError
from xdancer.image_io import load_image, save_image
from xdancer.pose import PoseSequence


def _run(capfd, *argv: str) -> tuple[int, str]:
    rc = main(["pose", *argv])
    err = capfd.readouterr().err
    return rc, err


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("xdancer: error: ")
    return lines[0]


@pytest.fixture
def photo(shared_data):
    return shared_data / "images" / "moore_anyone3.png"


def test_photo_to_npz_overlay_and_json(tmp_path, capfd, photo):
    out, png, js = tmp_path / "p.npz", tmp_path / "p.png", tmp_path / "json"
    rc, err = _run(capfd, str(photo), "-o", str(out), "--overlay", str(png), "--json", str(js))
    assert rc == 0, err
    seq = PoseSequence.load(out)
    assert len(seq) == 1 and seq.meta["source"] == str(photo)
    overlay = load_image(png)
    assert overlay.shape == load_image(photo).shape
    assert not np.array_equal(overlay, load_image(photo))  # the skeleton is on it
    (frame,) = sorted(js.iterdir())
    doc = json.loads(frame.read_text())
    assert len(doc["people"][0]["pose_keypoints_2d"]) == 18 * 3
    rc, _ = _run(capfd, str(photo), "-o", str(out), "--overlay", str(png), "--on-black")
    assert rc == 0 and load_image(png)[:5, :5].sum() == 0


def test_video_overlay_has_the_frames_and_sound(tmp_path, capfd, shared_data):
    from xdancer.video.io import probe_video

    src = shared_data / "videos" / "animatex_dance_1.mp4"
    out, mp4 = tmp_path / "v.npz", tmp_path / "v.mp4"
    rc, err = _run(capfd, str(src), "-o", str(out), "--overlay", str(mp4), "--max-seconds", "0.5", "--quiet")
    assert rc == 0, err
    seq = PoseSequence.load(out)
    info = probe_video(mp4)
    assert len(seq) == 12 and info.n_frames == len(seq) and info.has_audio
    assert (info.width, info.height) == seq.frame_size


def test_missing_input(tmp_path, capfd):
    rc, err = _run(capfd, str(tmp_path / "gone.jpg"), "-o", str(tmp_path / "p.npz"))
    assert rc == 2 and "not found" in _one_line_error(err)
    assert list(tmp_path.iterdir()) == []


def test_not_an_image_and_corrupt_image(tmp_path, capfd, rng):
    (tmp_path / "words.png").write_text("no pixels here\n" * 50)
    rc, err = _run(capfd, str(tmp_path / "words.png"), "-o", str(tmp_path / "p.npz"))
    assert rc == 2 and "not an image" in _one_line_error(err)
    whole = save_image(tmp_path / "whole.jpg", rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
    (tmp_path / "cut.jpg").write_bytes(whole.read_bytes()[:4000])
    rc, err = _run(capfd, str(tmp_path / "cut.jpg"), "-o", str(tmp_path / "p.npz"))
    assert rc == 2 and "corrupt or truncated" in _one_line_error(err)
    assert not (tmp_path / "p.npz").exists()


def test_no_person_and_several_people(tmp_path, capfd):
    from skimage import data

    save_image(tmp_path / "rocket.png", data.rocket())
    rc, err = _run(capfd, str(tmp_path / "rocket.png"), "-o", str(tmp_path / "p.npz"))
    assert rc == 2 and "no person" in _one_line_error(err)
    pair = np.concatenate([data.astronaut(), data.astronaut()], axis=1)
    save_image(tmp_path / "pair.png", pair)
    rc, err = _run(capfd, str(tmp_path / "pair.png"), "-o", str(tmp_path / "p.npz"))
    assert rc == 2 and "2 people" in _one_line_error(err)
    assert not (tmp_path / "p.npz").exists()
    rc, err = _run(capfd, str(tmp_path / "pair.png"), "-o", str(tmp_path / "p.npz"), "--allow-multiple")
    assert rc == 0, err
    assert PoseSequence.load(tmp_path / "p.npz").meta["people_in_view"] == 2


@pytest.mark.parametrize(
    "outputs",
    [
        ("-o", "{d}/missing/p.npz"),
        ("-o", "{d}/p.txt"),
        ("-o", "/proc/p.npz"),
        ("-o", "{d}/p.npz", "--overlay", "{d}/p.gif"),
        ("-o", "{d}/p.npz", "--json", "{d}/afile"),
        ("-o", "{d}/p.npz", "--max-seconds", "-1"),
    ],
)
def test_unwritable_or_bad_outputs_fail_early_and_leave_nothing(tmp_path, capfd, photo, outputs):
    (tmp_path / "afile").write_text("x")
    argv = [a.format(d=tmp_path) for a in outputs]
    rc, err = _run(capfd, str(photo), *argv)
    assert rc == 2
    _one_line_error(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_failure_while_writing_leaves_no_partial_file(tmp_path, shared_data, monkeypatch):
    import xdancer.pose.draw as draw
    from xdancer.pose.extract import extract_pose

    real = draw.skeleton_frames

    def breaks_midway(*args, **kwargs):
        for i, frame in enumerate(real(*args, **kwargs)):
            if i == 3:
                raise OSError(28, "No space left on device")
            yield frame

    monkeypatch.setattr(draw, "skeleton_frames", breaks_midway)
    src = shared_data / "videos" / "animatex_dance_2.mp4"
    from xdancer.pose.detect import DetectConfig

    with pytest.raises(InputError, match="No space left"):
        extract_pose(
            src,
            tmp_path / "v.npz",
            overlay=tmp_path / "v.mp4",
            config=DetectConfig(max_frames=6),
            progress=False,
        )
    assert list(tmp_path.iterdir()) == []
