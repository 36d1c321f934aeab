"""`xdancer dance` on bad input: one clear line, exit code 2, no output file left behind."""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.cli import main


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    from xdancer.demo import write_demo_files

    return write_demo_files(tmp_path_factory.mktemp("demo"), seconds=4)


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    err = capsys.readouterr().err.strip()
    return code, err


def _no_output(folder):
    return [p.name for p in folder.iterdir() if p.suffix in (".mp4", ".npz") or ".tmp" in p.name] == []


@pytest.mark.parametrize(
    "argv_tail,needle",
    [
        (["--seconds", "0.1"], "seconds must be between"),
        (["--height", "10"], "height must be between"),
        (["--height", "513"], "and even"),
        (["--fps", "500"], "fps must be between"),
        (["--temperature", "0"], "temperature must be between"),
        (["--top-p", "1.5"], "top_p"),
        (["--guidance", "20"], "guidance must be between"),
        (["--start", "-1"], "start must be"),
    ],
)
def test_absurd_options(capsys, tmp_path, good_files, argv_tail, needle):
    photo, song = good_files
    code, err = _run(capsys, "dance", photo, song, "-o", tmp_path / "out.mp4", *argv_tail)
    assert code == 2 and needle in err and len(err.splitlines()) == 1
    assert _no_output(tmp_path)


def test_missing_and_wrong_files(capsys, tmp_path, good_files):
    photo, song = good_files
    code, err = _run(capsys, "dance", tmp_path / "nope.jpg", song, "-o", tmp_path / "out.mp4")
    assert code == 2 and "photo not found" in err
    code, err = _run(capsys, "dance", photo, tmp_path / "nope.mp3", "-o", tmp_path / "out.mp4")
    assert code == 2 and "music file not found" in err
    code, err = _run(capsys, "dance", photo, song, "-o", tmp_path / "out.avi")
    assert code == 2 and ".mp4" in err
    code, err = _run(capsys, "dance", photo, song, "-o", tmp_path / "missing_dir" / "out.mp4")
    assert code == 2 and "does not exist" in err
    assert _no_output(tmp_path)


def test_not_a_photo_and_no_person(capsys, tmp_path, good_files):
    from xdancer.image_io import save_image

    _, song = good_files
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    code, err = _run(capsys, "dance", text, song, "-o", tmp_path / "out.mp4")
    assert code == 2 and "image" in err.lower()
    empty = save_image(tmp_path / "wall.png", np.tile(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], (256, 1, 3)))
    code, err = _run(capsys, "dance", empty, song, "-o", tmp_path / "out.mp4")
    assert code == 2 and "no person" in err.lower()
    assert _no_output(tmp_path)


def test_silent_and_too_short_songs(capsys, tmp_path, good_files):
    import soundfile as sf

    photo, _ = good_files
    silent, short = tmp_path / "silent.wav", tmp_path / "short.wav"
    sf.write(silent, np.zeros(24000 * 5, np.float32), 24000)
    sf.write(short, 0.3 * np.sin(np.arange(4800) / 5).astype(np.float32), 24000)
    for song, needle in ((silent, "silent"), (short, "at least 1 s")):
        code, err = _run(capsys, "dance", photo, song, "-o", tmp_path / "out.mp4")
        assert code == 2 and needle in err.lower(), err
    assert _no_output(tmp_path)
