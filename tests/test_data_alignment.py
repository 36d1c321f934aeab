"""Alignment checks on synthetic dances whose answer is known."""

import numpy as np
import pytest

from xdancer.data.alignment import check_alignment, dominant_period, plot_alignment, tempo_error

FPS = 25.0


def _beat_dance(beats, seconds, rng):
    """3D joints whose mean speed drops to zero on each beat (times in motion seconds)."""
    t = np.arange(int(seconds * FPS)) / FPS
    phase = np.interp(t, beats, np.arange(len(beats)))
    x = phase - np.sin(2 * np.pi * phase) / (2 * np.pi)  # speed ~ 1 - cos: zero on beats
    joints = np.zeros((len(t), 5, 3))
    joints[..., 0] = 0.3 * x[:, None] + rng.normal(0, 1e-4, (len(t), 5))
    return joints


def test_dominant_period_and_tempo_error():
    t = np.arange(0, 60, 1 / FPS)
    assert dominant_period(np.sin(2 * np.pi * t / 2.07), FPS) == pytest.approx(2.07, rel=0.02)
    assert tempo_error(2.07, 0.69) == pytest.approx(0.0, abs=1e-3)  # one waltz bar of three beats
    assert tempo_error(1.0, 0.69) > 0.2


def test_a_truly_aligned_dance_beats_random_offsets(rng, tmp_path):
    period, start, seconds = 0.5, 3.0, 40.0
    song_beats = np.arange(0.25, 60, period)
    dance = _beat_dance(song_beats[song_beats >= start] - start, seconds, rng)
    onset = np.zeros(60 * 200)
    onset[(song_beats * 200).astype(int)] = 1.0
    res = check_alignment(dance, FPS, song_beats, onset, 200.0, start, [0.7, 0.45], rng, n_random=20,
                          other_dance_periods=[1.4, 0.9])  # fmt: skip
    assert res.bas_stated > 0.8 and res.bas_random < 0.5
    assert res.bas_heldout_fitted == pytest.approx(res.bas_stated, abs=0.05)  # nothing to correct
    assert res.tempo_error < 0.05
    png = plot_alignment({"DANCE_W_1": res, "DANCE_C_2": res}, str(tmp_path / "a.png"))
    assert (tmp_path / "a.png").stat().st_size > 1000 and png.endswith("a.png")


def test_a_constant_misalignment_is_found_on_held_out_halves(rng):
    period, start, seconds = 0.5, 3.0, 40.0
    song_beats = np.arange(0.25, 60, period)
    true_start = start + 0.17  # the dataset's stated offset is 170 ms off
    dance = _beat_dance(song_beats[song_beats >= true_start] - true_start, seconds, rng)
    onset = np.zeros(60 * 200)
    res = check_alignment(dance, FPS, song_beats, onset, 200.0, start, [0.7], rng, other_dance_periods=[1.4])
    assert res.bas_stated < 0.1
    assert res.bas_heldout_fitted > 0.8  # fitted on one half, it holds on the other
    k = (res.best_offset_s - 0.17) / period  # beats repeat: 0.17 s plus any whole number of beats
    assert abs(k - round(k)) * period <= 0.021
