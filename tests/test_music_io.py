"""Audio loading: every format, exact windows, resampling, bounded memory, bad input."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from xdancer.errors import InputError
from xdancer.music.io import MAX_AUDIO_SECONDS, audio_duration, load_audio

SR = 24_000


def _tone(seconds: float, sr: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([y] * channels, 1) if channels > 1 else y


def _write_m4a(path: Path, wave: np.ndarray, sr: int) -> None:
    with av.open(str(path), "w", format="ipod") as c:
        s = c.add_stream("aac", rate=sr, layout="mono")
        frame = av.AudioFrame.from_ndarray(wave[None].astype(np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = sr, 0
        for p in list(s.encode(frame)) + list(s.encode(None)):
            c.mux(p)


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / sr)[spec.argmax()])


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "m4a"])
def test_every_format_loads_mono_resampled(tmp_path, ext):
    sr = 44_100
    stereo = _tone(2.0, sr, 440.0, channels=2)
    path = tmp_path / f"tone.{ext}"
    if ext == "m4a":
        _write_m4a(path, stereo[:, 0], sr)
    else:
        sf.write(path, stereo, sr)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert y.size / SR == pytest.approx(2.0, abs=0.03)  # lossy codecs may pad by a block
    assert _peak_hz(y[2400:-2400], SR) == pytest.approx(440, abs=3)
    assert 0.3 < np.abs(y[2400:-2400]).max() < 0.5  # mono is the channel mean, not the sum
    assert audio_duration(path) == pytest.approx(2.0, abs=0.05)


def test_other_sample_rates(tmp_path):
    sf.write(tmp_path / "a.wav", _tone(1.0, 22_050, 1000.0), 22_050)
    y = load_audio(tmp_path / "a.wav", sr=16_000)
    assert y.size == 16_000
    assert _peak_hz(y, 16_000) == pytest.approx(1000, abs=2)


def test_window_is_sample_exact(tmp_path):
    rng = np.random.default_rng(0)
    y = (0.2 * rng.standard_normal(12 * SR)).astype(np.float32)
    sf.write(tmp_path / "noise.wav", y, SR, subtype="FLOAT")
    for offset, duration in [(0.0, 1.5), (3.25, 2.0), (9.0, None)]:
        w = load_audio(tmp_path / "noise.wav", offset=offset, duration=duration)
        start = int(offset * SR)
        stop = y.size if duration is None else start + int(duration * SR)
        np.testing.assert_allclose(w, y[start:stop], atol=1e-6)


@pytest.mark.parametrize("ext", ["ogg", "mp3", "m4a"])
def test_window_of_a_compressed_file_matches_the_whole(tmp_path, ext):
    rng = np.random.default_rng(1)
    t = np.arange(8 * SR) / SR
    y = (0.3 * np.sin(2 * np.pi * (200 + 50 * t) * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    path = tmp_path / f"sweep.{ext}"
    if ext == "m4a":
        _write_m4a(path, y, SR)
    else:
        sf.write(path, y, SR)
    whole = load_audio(path)
    part = load_audio(path, offset=5.0, duration=2.0)  # reached by seeking
    assert part.size == 2 * SR
    ref = whole[5 * SR : 7 * SR]
    lag = np.argmax(np.correlate(part[1000:3000], ref[900:3100], "valid")) - 100
    assert lag == 0
    assert np.abs(part - ref).max() < 0.05


def test_audio_track_of_a_video(tmp_path):
    from xdancer.video.io import write_video

    frames = (np.zeros((32, 32, 3), np.uint8) for _ in range(30))
    out = write_video(frames, tmp_path / "v.mp4", 30, audio=(_tone(3.0, SR, 660.0), SR))
    y = load_audio(out)
    assert y.size / SR == pytest.approx(1.0, abs=1e-3)  # cut to the video, not the 3 s tone
    assert _peak_hz(y[2400:-2400], SR) == pytest.approx(660, abs=3)


def test_bad_input(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_audio(tmp_path / "missing.mp3")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "notes.mp3").write_text("these are lyrics, not audio\n" * 100)
    with pytest.raises(InputError, match="not a readable audio"):
        load_audio(tmp_path / "notes.mp3")
    # A real WAV header followed by random bytes in place of the data chunk's framing.
    sf.write(tmp_path / "ok.flac", _tone(2.0, SR), SR)
    data = bytearray((tmp_path / "ok.flac").read_bytes())
    data[:4] = b"XXXX"
    (tmp_path / "corrupt.flac").write_bytes(bytes(data))
    with pytest.raises(InputError):
        load_audio(tmp_path / "corrupt.flac")
    garbage = np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    (tmp_path / "garbage.ogg").write_bytes(garbage)
    with pytest.raises(InputError):
        load_audio(tmp_path / "garbage.ogg")
    with pytest.raises(InputError, match="past the end"):
        load_audio(tmp_path / "ok.flac", offset=5.0)
    with pytest.raises(InputError, match=">= 0"):
        load_audio(tmp_path / "ok.flac", offset=-1.0)


def test_video_without_audio_track(tmp_path):
    from xdancer.video.io import write_video

    out = write_video([np.zeros((32, 32, 3), np.uint8)] * 5, tmp_path / "silent_film.mp4", 30)
    with pytest.raises(InputError, match="no audio track"):
        load_audio(out)


def _write_long_wav(path: Path, minutes: float, sr: int = 8000) -> None:
    """A long file written block by block, never held in memory."""
    block = (0.1 * np.sin(2 * np.pi * 220 * np.arange(sr * 10) / sr)).astype(np.float32)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for _ in range(int(minutes * 6)):
            f.write(block)


def test_twenty_minute_file_is_refused_whole_but_windows_work(tmp_path):
    path = tmp_path / "long.wav"
    _write_long_wav(path, 20)
    assert audio_duration(path) == pytest.approx(1200, abs=0.1)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="--start"):
            load_audio(path)
        _, peak_refused = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        w = load_audio(path, offset=900.0, duration=30.0)
        _, peak_window = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert w.size == 30 * SR
    assert np.abs(w).max() == pytest.approx(0.1, abs=0.01)
    # 30 s of float32 at 24 kHz is 2.9 MB; the whole file would be 115 MB at 24 kHz.
    assert peak_refused < 5e6, peak_refused
    assert peak_window < 15e6, peak_window
    with pytest.raises(InputError, match="limit"):
        load_audio(path, duration=MAX_AUDIO_SECONDS + 60)


def test_twenty_minute_file_resident_memory(tmp_path):
    """The process's peak resident memory (FFmpeg's buffers included, which tracemalloc cannot see)
    grows by a few MB for a 30 s window of a 20-minute file and for refusing the whole file."""
    path = tmp_path / "long.wav"
    _write_long_wav(path, 20)
    code = f"""
import resource
from xdancer.errors import InputError
from xdancer.music.io import load_audio
load_audio({str(path)!r}, duration=1.0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_audio({str(path)!r})
except InputError:
    pass
w = load_audio({str(path)!r}, offset=1000.0, duration=30.0)
print(w.size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, grown_kib = (int(v) for v in r.stdout.split())
    assert n == 30 * SR
    assert grown_kib < 40_000, grown_kib  # the whole file at 24 kHz float32 would be 115 MB
