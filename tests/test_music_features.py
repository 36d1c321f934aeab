"""Music features: frame alignment, tempo and beats against click tracks and the synthesised groove,
bad audio, saving, slicing and the encoder registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from xdancer.errors import InputError
from xdancer.music.encoders import available_encoders, get_encoder, register_encoder
from xdancer.music.features import (
    FEATURE_NAMES,
    GLOBAL_DIM,
    MUSIC_DIM,
    MusicFeatures,
    extract_features,
    music_features,
    num_frames,
)
from xdancer.music.synth import synth_groove

SR = 24_000


def clicks(times: np.ndarray, seconds: float, sr: int = SR) -> np.ndarray:
    """A click track: a 5 ms decaying 2 kHz burst starting at each time."""
    y = np.zeros(int(round(seconds * sr)), np.float32)
    t = np.arange(int(0.05 * sr)) / sr
    burst = (np.sin(2 * np.pi * 2000 * t) * np.exp(-t / 0.005)).astype(np.float32)
    for s in np.round(np.asarray(times) * sr).astype(int):
        n = min(burst.size, y.size - s)
        y[s : s + n] += burst[:n]
    return y


def nearest_errors(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.abs(found[:, None] - truth[None]).min(axis=1)


def test_feature_layout():
    assert MUSIC_DIM == 35 == len(FEATURE_NAMES)
    assert FEATURE_NAMES[0] == "onset_envelope" and FEATURE_NAMES[-2:] == ("onset_peak", "beat")
    assert sum(n.startswith("mfcc_") for n in FEATURE_NAMES) == 20
    assert sum(n.startswith("chroma_") for n in FEATURE_NAMES) == 12


@pytest.mark.parametrize("fps", [30, 25, 24, 60, 29.97, 7.5])
def test_frame_count_and_alignment(fps):
    seconds = 6.3
    rng = np.random.default_rng(int(fps * 100))
    # Clicks placed near frame centres (well clear of the half-frame boundaries), at
    # irregular spacings so the beat tracker cannot supply them; the onset peaks must find them.
    frames = np.sort(rng.choice(np.arange(3, int((seconds - 0.3) * fps)), size=8, replace=False))
    frames = frames[np.diff(np.r_[-99, frames]) > max(4, 0.2 * fps)]
    jitter = min(0.008, 0.2 / fps)  # at 60 fps half a frame is only 8.3 ms
    times = frames / fps + rng.uniform(-jitter, jitter, frames.size)
    wave = clicks(times, seconds) + 1e-3 * rng.standard_normal(int(seconds * SR)).astype(np.float32)
    feats = extract_features(wave, SR, fps)
    expected_t = math.ceil(round(seconds * SR) * fps / SR - 1e-9)
    assert len(feats) == expected_t == num_frames(round(seconds * SR), SR, fps)
    assert feats.features.shape == (expected_t, MUSIC_DIM)
    assert feats.fps == pytest.approx(fps)
    peak_frames = np.flatnonzero(feats.column("onset_peak"))
    # Events are timed on a 5 ms grid: exact frames up to 30 fps, within one frame at 60.
    slack = 0 if fps <= 30 else 1
    assert all(np.abs(peak_frames - f).min() <= slack for f in frames)
    # The onset envelope column peaks on the click frames too.
    env = feats.onset_envelope
    for f in frames:
        assert env[f - slack : f + slack + 1].max() == env[max(0, f - 2) : f + 3].max()


def test_click_frames_at_the_pose_rate():
    """A click at time t lands on frame round(t * 30): the convention of the whole project."""
    bpm = 100.0
    times = 0.5 + np.arange(30) * 60 / bpm
    times = np.round(times * 30) / 30 + 0.006 * np.sin(np.arange(30))  # near frame centres
    feats = extract_features(clicks(times, 20.0), SR, 30)
    expected = np.round(times * 30).astype(int)
    assert np.array_equal(np.flatnonzero(feats.column("beat")), feats.beat_frames)
    assert set(feats.beat_frames.tolist()) <= set(expected.tolist())
    assert len(feats.beat_frames) >= 27
    np.testing.assert_array_equal(feats.beat_frames, np.round(feats.beat_times * 30).astype(int))


@pytest.mark.parametrize("bpm", [72.0, 105.0, 123.0, 150.0])
def test_tempo_of_click_tracks_within_two_percent(bpm):
    times = 0.25 + np.arange(0, 15, 60 / bpm)
    times = times[times < 15.5]
    feats = extract_features(clicks(times, 16.0), SR)
    assert feats.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert feats.tempo_bpm == pytest.approx(bpm, rel=0.002)  # the line fit is much finer than 2 %
    assert nearest_errors(feats.beat_times, times).max() < 0.012
    assert len(feats.beat_times) >= len(times) - 3


@pytest.mark.parametrize("bpm", [88.0, 136.0])
def test_groove_beats_land_on_its_grid(bpm):
    seconds = 12.0
    wave = synth_groove(bpm, seconds, seed=3)
    assert wave.dtype == np.float32 and wave.size == seconds * SR
    assert np.abs(wave).max() == pytest.approx(0.9, abs=1e-4)
    grid = np.arange(0, seconds, 60 / bpm)
    feats = extract_features(wave)
    assert feats.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert nearest_errors(feats.beat_times, grid).max() < 0.02
    assert len(feats.beat_times) >= len(grid) - 3
    # Beat frames sit within half a frame (plus 20 ms) of the grid times.
    assert nearest_errors(feats.beat_frames / 30, grid).max() <= 0.5 / 30 + 0.02


def test_groove_is_reproducible_and_seed_dependent():
    a = synth_groove(120, 4.0, seed=1)
    np.testing.assert_array_equal(a, synth_groove(120, 4.0, seed=1))
    assert not np.array_equal(a, synth_groove(120, 4.0, seed=2))
    # The kick lands on sample 0 of beat 0 and 2: the attack starts exactly on the grid.
    beat = int(0.5 * SR)
    assert (
        np.abs(a[:20]).max() > 0.05
        and np.abs(a[2 * beat - 200 : 2 * beat - 20]).max() < np.abs(a[2 * beat : 2 * beat + 200]).max()
    )


def test_other_input_rate_gives_the_same_grid():
    wave = synth_groove(120, 5.0, sr=22_050, seed=0)
    feats = extract_features(wave, 22_050, 30)
    assert len(feats) == math.ceil(wave.size * 30 / 22_050)
    assert feats.tempo_bpm == pytest.approx(120, rel=0.02)


def test_silent_short_and_broken_audio():
    with pytest.raises(InputError, match="silent"):
        extract_features(np.zeros(3 * SR, np.float32))
    with pytest.raises(InputError, match="silent"):
        extract_features(np.full(3 * SR, 1e-6, np.float32))
    with pytest.raises(InputError, match="0.20 s"):
        extract_features(synth_groove(120, 0.2))
    bad = synth_groove(120, 2.0)
    bad[100] = np.nan
    with pytest.raises(InputError, match="NaN"):
        extract_features(bad)
    with pytest.raises(InputError, match="fps"):
        extract_features(synth_groove(120, 2.0), SR, 0)
    with pytest.raises(InputError, match="fps"):
        extract_features(synth_groove(120, 2.0), SR, 1000)


def test_files_silent_or_too_short_fail_cleanly(tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(5 * SR, np.float32), SR)
    with pytest.raises(InputError, match="silent"):
        music_features(tmp_path / "silence.wav")
    sf.write(tmp_path / "blip.wav", synth_groove(120, 0.2), SR)
    with pytest.raises(InputError, match="at least"):
        music_features(tmp_path / "blip.wav")


def test_save_load_slice_and_global_context(tmp_path):
    sf.write(tmp_path / "g.wav", synth_groove(128, 8.0, seed=0), SR)
    feats = music_features(tmp_path / "g.wav")
    assert feats.meta["source"].endswith("g.wav") and feats.meta["encoder"] == "librosa35"
    assert feats.global_context.shape == (GLOBAL_DIM,)
    assert feats.global_context[-3] == pytest.approx(feats.tempo_bpm / 60)
    path = feats.save(tmp_path / "f.npz")
    back = MusicFeatures.load(path)
    np.testing.assert_array_equal(back.features, feats.features)
    np.testing.assert_array_equal(back.beat_frames, feats.beat_frames)
    assert back.names == feats.names and back.meta == feats.meta and back.tempo_bpm == feats.tempo_bpm
    part = feats.slice(60, 150)
    assert len(part) == 90
    np.testing.assert_array_equal(part.features, feats.features[60:150])
    np.testing.assert_array_equal(np.flatnonzero(part.column("beat")), part.beat_frames)
    np.testing.assert_allclose(
        part.beat_times + 2.0, feats.beat_times[(feats.beat_frames >= 60) & (feats.beat_frames < 150)]
    )
    other = extract_features(synth_groove(90, 8.0, seed=5))
    assert not np.allclose(other.global_context, feats.global_context)
    with pytest.raises(InputError, match=".npz"):
        feats.save(tmp_path / "f.json")
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(InputError):
        MusicFeatures.load(tmp_path / "bad.npz")


def test_window_of_a_file(tmp_path):
    sf.write(tmp_path / "g.wav", synth_groove(120, 12.0, seed=0), SR)
    feats = music_features(tmp_path / "g.wav", offset=4.0, duration=5.0, fps=25)
    assert len(feats) == 125 and feats.fps == 25
    assert feats.meta["offset"] == 4.0 and feats.meta["duration"] == pytest.approx(5.0)
    # Beats stay on the song's grid (every 0.5 s from t = 0), now measured from the window start.
    assert nearest_errors(feats.beat_times + 4.0, np.arange(0, 12, 0.5)).max() < 0.02


class _EnergyEncoder:
    """A toy encoder: per-frame RMS energy, with the default beats (what a plug-in would do)."""

    name = "energy"
    dim = 1

    def __init__(self, model_path=None):
        self.scale = 1.0 if model_path is None else float(open(model_path).read())

    def encode(self, wave, sr, fps):
        base = extract_features(wave, sr, fps)
        hop = sr / fps
        rms = [
            np.sqrt(np.mean(wave[int(max(0, (i - 0.5) * hop)) : int((i + 0.5) * hop)] ** 2))
            for i in range(len(base))
        ]
        return MusicFeatures(
            features=self.scale * np.asarray(rms)[:, None],
            names=["rms"],
            fps=base.fps,
            tempo_bpm=base.tempo_bpm,
            beat_times=base.beat_times,
            beat_frames=base.beat_frames,
            onset_envelope=base.onset_envelope,
            global_context=base.global_context,
            meta={"encoder": self.name},
        )


def test_encoder_registry(tmp_path):
    assert "librosa35" in available_encoders()
    assert get_encoder().dim == MUSIC_DIM
    register_encoder("energy-test", _EnergyEncoder, replace=True)
    assert "energy-test" in available_encoders()
    with pytest.raises(ValueError, match="already registered"):
        register_encoder("energy-test", _EnergyEncoder)
    (tmp_path / "model.txt").write_text("2.0")
    sf.write(tmp_path / "g.wav", synth_groove(120, 3.0), SR)
    feats = music_features(tmp_path / "g.wav", encoder="energy-test", model_path=tmp_path / "model.txt")
    assert feats.features.shape == (90, 1) and feats.names == ["rms"]
    plain = music_features(tmp_path / "g.wav", encoder="energy-test")
    np.testing.assert_allclose(feats.features, 2 * plain.features, rtol=1e-6)
    with pytest.raises(InputError, match="unknown music encoder"):
        get_encoder("no-such-encoder")
    with pytest.raises(InputError, match="model not found"):
        get_encoder("energy-test", tmp_path / "missing.bin")
    with pytest.raises(InputError, match="has no model"):
        get_encoder("librosa35", tmp_path / "model.txt")
