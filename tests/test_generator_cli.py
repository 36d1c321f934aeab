"""``xdancer choreograph`` end to end (tiny untrained checkpoints) and its refusals of bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.test_generator_choreograph import tiny_checkpoints
from xdancer.cli import main
from xdancer.music.synth import synth_groove
from xdancer.pose.sequence import PoseSequence


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    tiny_checkpoints(root)
    sf.write(root / "song.wav", synth_groove(120, 3.0), 24000)
    return root


def test_choreograph_writes_poses_and_a_skeleton_video(setup, capsys):
    r = setup
    args = ["choreograph", str(r / "song.wav"), "--seconds", "2", "--seed", "3", "-o", str(r / "dance.npz"),
            "--video", str(r / "dance.mp4"), "--generator", str(r / "gen"), "--tokenizer", str(r / "tok")]  # fmt: skip
    assert main(args) == 0
    dance = PoseSequence.load(r / "dance.npz")
    assert len(dance) == 60 and dance.fps == 30 and dance.meta["seed"] == 3
    assert (r / "dance.mp4").stat().st_size > 1000
    again = r / "again.npz"
    assert main([*args[:7], str(again), "--generator", str(r / "gen"), "--tokenizer", str(r / "tok")]) == 0
    np.testing.assert_array_equal(PoseSequence.load(again).keypoints, dance.keypoints)


@pytest.mark.parametrize("extra, message", [
    (["--seconds", "-1"], "positive"), (["--temperature", "-2"], "temperature"),
    (["-o", "dance.txt"], ".npz"), (["--video", "x.avi"], ".mp4"), (["--guidance", "-1"], "guidance"),
    (["--guidance", "2"], "music dropout"),  # this generator was trained without it
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(setup, capsys, extra, message, tmp_path):
    r = setup
    out = tmp_path / "d.npz"
    args = ["choreograph", str(r / "song.wav"), "-o", str(out), "--generator", str(r / "gen"),
            "--tokenizer", str(r / "tok"), *extra]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_missing_music_file(tmp_path, capsys):
    assert main(["choreograph", str(tmp_path / "nope.mp3"), "-o", str(tmp_path / "d.npz")]) == 2
    assert "not found" in capsys.readouterr().err
