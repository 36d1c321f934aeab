"""``xdancer music``: outputs, exit codes and no partial files on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from xdancer.cli import main
from xdancer.music.features import MUSIC_DIM, MusicFeatures
from xdancer.music.synth import synth_groove

SR = 24_000


@pytest.fixture(scope="module")
def groove(tmp_path_factory):
    path = tmp_path_factory.mktemp("music") / "groove.wav"
    sf.write(path, synth_groove(120, 6.0, seed=0), SR)
    return path


def test_features_and_plot(groove, tmp_path, capsys):
    out, png = tmp_path / "f.npz", tmp_path / "beats.png"
    assert main(["music", str(groove), "-o", str(out), "--plot", str(png), "--fps", "25"]) == 0
    feats = MusicFeatures.load(out)
    assert feats.features.shape == (150, MUSIC_DIM) and feats.fps == 25
    assert feats.tempo_bpm == pytest.approx(120, rel=0.02)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "120.0 bpm" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beats.png", "f.npz"]


def test_window_options(groove, tmp_path):
    out = tmp_path / "w.npz"
    assert main(["music", str(groove), "-o", str(out), "--start", "2", "--seconds", "3"]) == 0
    assert len(MusicFeatures.load(out)) == 90


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "not found"),
        ("text", "not a readable audio"),
        ("silent", "silent"),
        ("short", "0.20 s"),
        ("outdir", "does not exist"),
        ("suffix", "must end in"),
        ("fps", "--fps"),
        ("encoder", "unknown music encoder"),
    ],
)
def test_bad_input_exits_2_without_output(groove, tmp_path, capsys, case, message):
    audio, out = groove, tmp_path / "f.npz"
    extra: list[str] = []
    if case == "missing":
        audio = tmp_path / "nope.mp3"
    elif case == "text":
        audio = tmp_path / "lyrics.mp3"
        audio.write_text("la la la\n" * 200)
    elif case == "silent":
        audio = tmp_path / "silence.wav"
        sf.write(audio, np.zeros(3 * SR, np.float32), SR)
    elif case == "short":
        audio = tmp_path / "blip.wav"
        sf.write(audio, synth_groove(120, 0.2), SR)
    elif case == "outdir":
        out = tmp_path / "no" / "such" / "f.npz"
    elif case == "suffix":
        out = tmp_path / "f.csv"
    elif case == "fps":
        extra = ["--fps", "0"]
    elif case == "encoder":
        extra = ["--encoder", "nonsense"]
    before = set(tmp_path.iterdir())
    assert main(["music", str(audio), "-o", str(out), "--plot", str(tmp_path / "p.png"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xdancer: error:") and message in err and len(err.splitlines()) == 1
    assert set(tmp_path.iterdir()) == before  # no partial features or plot


def test_long_file_asks_for_a_window(tmp_path, capsys):
    path = tmp_path / "long.wav"
    block = (0.1 * np.sin(2 * np.pi * 220 * np.arange(8000 * 10) / 8000)).astype(np.float32)
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as f:
        for _ in range(66):  # 11 minutes
            f.write(block)
    assert main(["music", str(path), "-o", str(tmp_path / "f.npz")]) == 2
    assert "--start" in capsys.readouterr().err
    assert not (tmp_path / "f.npz").exists()


def test_console_script_exit_code(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "xdancer", "music", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "f.npz")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "audio file not found" in r.stderr


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into read-only folders"
)
def test_read_only_output_folder(groove, tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main(["music", str(groove), "-o", str(folder / "f.npz")]) == 2
        assert "not writable" in capsys.readouterr().err
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
