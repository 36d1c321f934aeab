"""Video reading and writing: round trips with music, timing, containers, atomic output, bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from xdancer.errors import InputError
from xdancer.music.io import load_audio
from xdancer.video.io import VideoWriter, probe_video, read_video, write_video

AAC_FRAME_SECONDS = 1024 / 48_000  # the encoder's block: the audio end is rounded up to one


def _frames(n: int, w: int, h: int) -> list[np.ndarray]:
    """Smooth gradients with a moving square: easy to compress, so pixel errors stay small."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for i in range(n):
        f = np.stack(
            [xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full_like(xx, (i * 5) % 256)], -1
        )
        f = f.astype(np.uint8)
        f[8:24, 4 + i : 20 + i] = 255
        out.append(f)
    return out


def _audio_duration(path: Path) -> float:
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        return float(s.duration * s.time_base)


def test_round_trip_with_music_wave(tmp_path):
    sr = 24_000
    t = np.arange(3 * sr) / sr
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # 3 s of music for a 1.5 s video
    frames = _frames(45, 96, 64)
    out = write_video(frames, tmp_path / "clip.mp4", 30, audio=(wave, sr))
    info = probe_video(out)
    assert (info.width, info.height, info.n_frames) == (96, 64, 45)
    assert info.fps == pytest.approx(30.0)
    assert info.has_audio and info.duration == pytest.approx(1.5, abs=1e-6)
    # The music is cut to the video's length (up to one AAC block).
    assert abs(_audio_duration(out) - 1.5) <= AAC_FRAME_SECONDS + 1e-6
    read = list(read_video(out))
    assert len(read) == 45
    times = np.array([ts for ts, _ in read])
    np.testing.assert_allclose(times, np.arange(45) / 30, atol=1e-6)
    err = np.abs(np.stack([f for _, f in read]).astype(int) - np.stack(frames).astype(int)).mean()
    assert err < 4.0, err
    back = load_audio(out)
    assert abs(back.size / sr - 1.5) <= AAC_FRAME_SECONDS + 1e-3
    # The tone survives: its spectrum peaks at 440 Hz.
    spec = np.abs(np.fft.rfft(back[2400:26400]))
    assert np.fft.rfftfreq(24000, 1 / sr)[spec.argmax()] == pytest.approx(440, abs=2)


def test_music_file_offset_and_padding_to_video_length(tmp_path):
    sr = 48_000
    # 1 s of silence then a tone: with audio_offset=1.0 the video starts on the tone.
    wave = np.concatenate([np.zeros(sr), 0.4 * np.sin(2 * np.pi * 330 * np.arange(sr) / sr)]).astype(
        np.float32
    )
    sf.write(tmp_path / "song.wav", np.stack([wave, wave], 1), sr)
    with VideoWriter(tmp_path / "a.mp4", 25, (64, 48), audio=tmp_path / "song.wav", audio_offset=1.0) as w:
        for f in _frames(50, 64, 48):  # 2 s of video, only 1 s of music left after the offset
            w.write(f)
    assert w.duration == pytest.approx(2.0)
    with av.open(str(tmp_path / "a.mp4")) as c:
        assert c.streams.audio[0].codec_context.channels == 2  # stereo kept
    back = load_audio(tmp_path / "a.mp4")
    assert abs(back.size / 24_000 - 2.0) <= AAC_FRAME_SECONDS + 1e-3  # padded with silence to 2 s
    assert np.abs(back[1200:22800]).max() > 0.2  # the tone plays from the start
    assert np.abs(back[26400:46000]).max() < 0.02  # then silence


def test_fractional_fps_and_odd_size(tmp_path):
    fps = Fraction(30000, 1001)
    out = write_video(_frames(12, 33, 21), tmp_path / "odd.mp4", fps)
    info = probe_video(out)
    assert (info.width, info.height) == (34, 22)  # padded to even for yuv420p
    assert info.fps == pytest.approx(30000 / 1001, rel=1e-6)
    assert not info.has_audio
    assert len(list(read_video(out))) == 12
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert c.streams.video[0].codec_context.name == "h264"


def test_output_is_browser_friendly(tmp_path):
    out = write_video(
        _frames(6, 32, 32), tmp_path / "web.mp4", 30, audio=(np.zeros(24000, np.float32) + 0.1, 24000)
    )
    head = out.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)  # faststart


def test_reads_avi_mov_webm(tmp_path):
    sr = 48_000
    specs = {"avi": ("mpeg4", "mp3"), "mov": ("libx264", "aac"), "webm": ("libvpx-vp9", "libopus")}
    for ext, (vcodec, acodec) in specs.items():
        path = tmp_path / f"clip.{ext}"
        with av.open(str(path), "w") as c:
            vs = c.add_stream(vcodec, rate=25)
            vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
            aus = c.add_stream(acodec, rate=sr, layout="mono")
            for i, f in enumerate(_frames(25, 64, 48)):
                frame = av.VideoFrame.from_ndarray(f, format="rgb24")
                frame.pts = i
                for p in vs.encode(frame):
                    c.mux(p)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            af.sample_rate, af.pts = sr, 0
            for p in list(aus.encode(af)) + list(aus.encode(None)):
                c.mux(p)
            for p in vs.encode(None):
                c.mux(p)
        info = probe_video(path)
        assert (info.width, info.height) == (64, 48), ext
        assert info.fps == pytest.approx(25), ext
        frames = list(read_video(path))
        assert len(frames) == 25, ext
        assert frames[0][1].shape == (48, 64, 3)
        audio = load_audio(path)
        assert audio.size / 24_000 == pytest.approx(1.0, abs=0.05), ext


def test_failure_inside_the_block_leaves_nothing(tmp_path):
    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="renderer failed"):
        with VideoWriter(out, 30, (32, 32)) as w:
            w.write(_frames(1, 32, 32)[0])
            raise RuntimeError("renderer failed")
    assert list(tmp_path.iterdir()) == []


def test_wrong_frame_shape_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="frame must be"):
        write_video(
            [np.zeros((32, 32, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)], tmp_path / "x.mp4", 30
        )
    assert list(tmp_path.iterdir()) == []


def test_bad_output_paths(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "x.mp4", 30, (32, 32))
    with pytest.raises(InputError, match="must end in"):
        VideoWriter(tmp_path / "x.gif", 30, (32, 32))
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(InputError, match="folder"):
        VideoWriter(tmp_path / "dir.mp4", 30, (32, 32))
    (tmp_path / "dir.mp4").rmdir()
    with pytest.raises(InputError, match="fps"):
        VideoWriter(tmp_path / "x.mp4", 0, (32, 32))
    with pytest.raises(InputError, match="no samples after"):
        write_video(
            [np.zeros((32, 32, 3), np.uint8)],
            tmp_path / "x.mp4",
            30,
            audio=(np.ones(100), 24_000),
            audio_offset=1.0,
        )
    with pytest.raises(InputError, match="audio file not found"):
        VideoWriter(tmp_path / "x.mp4", 30, (32, 32), audio=tmp_path / "nope.wav")
    (tmp_path / "notes.txt").write_text("not music")
    with pytest.raises(InputError, match="not a readable audio"):
        with VideoWriter(tmp_path / "x.mp4", 30, (32, 32), audio=tmp_path / "notes.txt"):
            pass
    (tmp_path / "notes.txt").unlink()
    assert list(tmp_path.iterdir()) == []


def test_bad_input_videos(tmp_path):
    with pytest.raises(InputError, match="not found"):
        probe_video(tmp_path / "nope.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(InputError, match="not a readable video"):
        list(read_video(text))
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError):
        probe_video(garbage)
    sound = tmp_path / "song.wav"
    sf.write(sound, np.zeros(2400, np.float32), 24_000)
    with pytest.raises(InputError, match="no video track"):
        probe_video(sound)


def test_truncated_video_fails_cleanly_or_yields_a_prefix(tmp_path):
    out = write_video(_frames(30, 64, 48), tmp_path / "full.mp4", 30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    try:
        frames = list(read_video(cut))
    except InputError as e:
        assert "cut.mp4" in str(e)
    else:
        assert 0 < len(frames) < 30


def test_display_rotation_is_applied(tmp_path):
    """Phones store portrait video as landscape frames plus a rotation; players turn it upright."""
    path = tmp_path / "phone.mp4"
    img = np.zeros((32, 64, 3), np.uint8)
    img[:8, :8] = 255  # the stored frame's top-left corner
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
        s.set_display_rotation(-90)  # shown turned 90 degrees clockwise
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    info = probe_video(path)
    assert (info.width, info.height) == (32, 64)
    _, rgb = next(read_video(path))
    assert rgb.shape == (64, 32, 3)
    assert rgb[:8, -8:].mean() > 200 and rgb[:8, :8].mean() < 50  # the corner is now top-right
