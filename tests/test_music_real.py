"""Music analysis on the real songs and videos in ../shared/data (skipped where absent).

Real recordings have no annotated beats, so the checks use ground truths we can construct:
click tracks synthesised at a known BPM (the song's estimate, with the song's beat phase), a time
stretch by a known factor, and the agreement of independent halves of a steady song.
"""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.music.features import MUSIC_DIM, estimate_beats, music_features
from xdancer.music.io import load_audio
from xdancer.video.io import probe_video, read_video

SR = 24_000
SONGS = [
    "vibe_ace",
    "choice_drum_bass",
    "hungarian_dance_5",
    "sweet_waltz",
    "solo_trumpet_90bpm",
    "sugar_plum_fairy",
]
# Songs with a steady pulse (the others are rubato classical pieces or a 5 s unaccompanied solo).
STEADY = ["vibe_ace", "choice_drum_bass", "sweet_waltz"]


def _song(shared_data, name):
    return shared_data / "music" / f"{name}.ogg"


def _clicks(times: np.ndarray, n: int) -> np.ndarray:
    y = np.zeros(n, np.float32)
    t = np.arange(int(0.05 * SR)) / SR
    burst = (np.sin(2 * np.pi * 2000 * t) * np.exp(-t / 0.005)).astype(np.float32)
    for s in np.round(times * SR).astype(int):
        m = min(burst.size, n - s)
        if m > 0:
            y[s : s + m] += burst[:m]
    return y


@pytest.mark.parametrize("name", SONGS)
def test_real_songs_give_sane_features(shared_data, name):
    feats = music_features(_song(shared_data, name), duration=20.0)
    seconds = feats.meta["duration"]
    assert len(feats) == int(np.ceil(seconds * 30 - 1e-9))
    assert feats.features.shape[1] == MUSIC_DIM and np.isfinite(feats.features).all()
    assert 60 <= feats.tempo_bpm <= 200
    assert np.all(np.diff(feats.beat_times) > 0)
    # Frame round(t * fps), halves rounded up.
    np.testing.assert_array_equal(feats.beat_frames, np.floor(feats.beat_times * 30 + 0.5).astype(int))
    if name != "solo_trumpet_90bpm":  # an unaccompanied 5 s phrase has no steady pulse to count
        # Beats cover the piece at roughly the tempo (rubato pieces drift, so only a loose count).
        expected = seconds * feats.tempo_bpm / 60
        assert 0.5 * expected <= len(feats.beat_times) <= 1.2 * expected


@pytest.mark.parametrize("name", STEADY)
def test_steady_songs_agree_with_a_click_track(shared_data, name):
    wave = load_audio(_song(shared_data, name), duration=25.0)
    tempo, beats, _, _ = estimate_beats(wave)
    period = 60.0 / tempo
    # The median inter-beat interval matches the tempo (the beats really are that regular).
    assert 60 / np.median(np.diff(beats)) == pytest.approx(tempo, rel=0.02)
    # A click track at the song's tempo (a known BPM) and phase, analysed on its own.
    angles = 2 * np.pi * beats / period
    phase = np.angle(np.exp(1j * angles).mean()) * period / (2 * np.pi)  # circular mean of the beat phase
    grid = phase + np.arange(0, 400) * period
    grid = grid[(grid >= 0) & (grid < wave.size / SR - 0.05)]
    click_tempo, click_beats, _, _ = estimate_beats(_clicks(grid, wave.size))
    assert click_tempo == pytest.approx(tempo, rel=0.02)
    # The song's beats fall on the click track's beats.
    near = np.abs(beats[:, None] - click_beats[None]).min(axis=1)
    assert np.mean(near < 0.07) >= 0.85


@pytest.mark.parametrize("name", STEADY)
def test_steady_songs_halves_agree(shared_data, name):
    wave = load_audio(_song(shared_data, name), duration=40.0)
    half = wave.size // 2
    assert estimate_beats(wave[half:])[0] == pytest.approx(estimate_beats(wave[:half])[0], rel=0.02)


def test_time_stretched_song_scales_the_tempo(shared_data):
    import librosa

    wave = load_audio(_song(shared_data, "choice_drum_bass"), duration=12.0)
    tempo = estimate_beats(wave)[0]
    assert tempo == pytest.approx(136.0, rel=0.02)  # librosa's documentation reports 135.99 bpm
    for rate in (0.9, 1.1):
        stretched = librosa.effects.time_stretch(wave, rate=rate)
        assert estimate_beats(stretched)[0] == pytest.approx(rate * tempo, rel=0.02)


@pytest.mark.parametrize("name", ["musepose_dance.mp4", "animatex_dance_1.mp4", "mgt_dancer.avi"])
def test_real_videos_audio_and_frames(shared_data, name):
    path = shared_data / "videos" / name
    info = probe_video(path)
    assert info.has_audio and info.fps > 0 and info.width > 0 and info.height > 0
    audio = load_audio(path)
    assert audio.size / SR == pytest.approx(info.duration, abs=0.1)
    frames = []
    for t, rgb in read_video(path):
        frames.append(t)
        assert rgb.shape == (info.height, info.width, 3) and rgb.dtype == np.uint8
        if len(frames) == 10:
            break
    steps = np.diff(frames) * info.fps
    # Whole frame steps (the AVI capture really skips its frame 1, and says so in its timestamps).
    np.testing.assert_allclose(steps, np.round(steps), atol=0.05)
    assert steps.min() >= 1 - 0.05 and np.median(steps) == pytest.approx(1, abs=0.05)


def test_real_video_without_sound(shared_data):
    from xdancer.errors import InputError

    path = shared_data / "videos" / "animatex_source_video_noaudio.mp4"
    assert not probe_video(path).has_audio
    with pytest.raises(InputError, match="no audio track"):
        load_audio(path)
