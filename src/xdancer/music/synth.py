"""A synthesised groove: drums, bass, chords and a plucked arpeggio, made with numpy alone.

It is the bundled demo song (no licence questions, any tempo, any length) and a ground truth for
the beat tracker: beat k starts exactly at sample round(k * 60 / bpm * sr), where a kick (beats 1
and 3 of each bar) or a snare (beats 2 and 4) attacks. Hi-hats play the eighth notes, a crash marks
each 8-bar phrase (no fills: off-beat hits would blur the beat ground truth); the bass plays the chord roots, a pad
holds a four-chord loop (I-V-vi-IV in a key picked by the seed) and a pluck plays an arpeggio
pattern that the seed varies.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfilt

from xdancer.constants import SAMPLE_RATE

# Semitone offsets from the key's tonic of the chords of a I-V-vi-IV loop (root position triads).
_PROGRESSION = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))
_KEYS = (0, 2, 3, 5, 7, 9)  # C, D, D#, F, G, A as the tonic (MIDI note 48 + key = bass register)


def _hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def _add(out: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(out.size, start + sound.size)
    if end > start >= 0:
        out[start:end] += sound[: end - start]


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.35 * sr)) / sr
    freq = 48 + 110 * np.exp(-t / 0.03)  # the pitch drop that makes a kick thump
    phase = 2 * np.pi * np.cumsum(freq) / sr
    click = np.exp(-t / 0.002)
    return (np.sin(phase) * np.exp(-t / 0.12) + 0.3 * click).astype(np.float32)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    noise = sosfilt(butter(2, [1500, 8000], "bandpass", fs=sr, output="sos"), rng.standard_normal(t.size))
    tone = np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.04)
    return (0.9 * noise * np.exp(-t / 0.07) + 0.5 * tone).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator, decay: float) -> np.ndarray:
    t = np.arange(int(5 * decay * sr)) / sr
    noise = sosfilt(butter(2, 7000, "highpass", fs=sr, output="sos"), rng.standard_normal(t.size))
    return (noise * np.exp(-t / decay)).astype(np.float32)


@lru_cache(maxsize=256)  # a song repeats a handful of notes; synthesise each once
def _tone(
    freq: float, seconds: float, sr: int, harmonics: tuple[float, ...], attack: float, decay: float
) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    wave = sum(a * np.sin(2 * np.pi * freq * (h + 1) * t) for h, a in enumerate(harmonics))
    env = np.minimum(1.0, t / attack) * np.exp(-t / decay)
    release = np.minimum(1.0, (seconds - t) / 0.02)  # no click at the note's end
    out = (wave * env * release).astype(np.float32)
    out.setflags(write=False)  # shared through the cache
    return out


def synth_groove(
    bpm: float = 120.0, seconds: float = 10.0, sr: int = SAMPLE_RATE, seed: int = 0
) -> np.ndarray:
    """A 4/4 groove at ``bpm`` lasting ``seconds``: float32 mono (N,), N = round(seconds * sr),
    peak 0.9. Beat k (k = 0, 1, ...) attacks at sample round(k * 60 / bpm * sr)."""
    if not 30 <= bpm <= 300:
        raise ValueError(f"bpm must be in [30, 300], got {bpm}")
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    beat = 60.0 / bpm
    key = int(rng.choice(_KEYS))
    drums = np.zeros(n, np.float32)
    bass = np.zeros(n, np.float32)
    pad = np.zeros(n, np.float32)
    pluck = np.zeros(n, np.float32)

    kick, snare = _kick(sr), _snare(sr, rng)
    closed, opened, crash = _hat(sr, rng, 0.015), _hat(sr, rng, 0.08), _hat(sr, rng, 0.5)
    # One arpeggio pattern (indices into the chord's tones, an octave up) kept for the whole song,
    # so the melody repeats like a riff rather than wandering.
    pattern = rng.choice([0, 1, 2, 3, 4, 5], size=8, replace=True)
    n_beats = int(np.ceil(seconds / beat)) + 1
    for k in range(n_beats):
        at = int(round(k * beat * sr))
        if at >= n:
            break
        bar, pos = divmod(k, 4)
        chord = _PROGRESSION[bar % len(_PROGRESSION)]
        _add(drums, at, kick if pos in (0, 2) else 0.8 * snare)
        if pos == 0 and bar % 8 == 0:
            _add(drums, at, 0.3 * crash)  # marks each 8-bar phrase
        for half in (0, 1):
            hat_at = int(round((k + 0.5 * half) * beat * sr))
            open_hat = half == 1 and pos == 3 and bar % 2 == 1
            _add(drums, hat_at, 0.25 * (opened if open_hat else closed) * (1.0 if half == 0 else 0.7))
            root = 36 + key + chord[0]
            note = root + (12 if half == 1 and pos % 2 == 1 else 0)  # octave bounce on the off-beats
            _add(bass, hat_at, _tone(_hz(note), 0.48 * beat, sr, (1.0, 0.5, 0.25, 0.12), 0.005, 0.25))
            tones = [60 + key + c for c in chord] + [72 + key + c for c in chord]
            step = pattern[(2 * pos + half) % len(pattern)]
            _add(pluck, hat_at, _tone(_hz(tones[step]), 0.5 * beat, sr, (1.0, 0.35, 0.2, 0.1), 0.002, 0.12))
        if pos == 0:
            for c in chord:
                freq = _hz(60 + key + c)
                voice = _tone(freq, 4 * beat, sr, (1.0, 0.3, 0.1), 0.08, 3.0)
                detuned = _tone(freq * 1.004, 4 * beat, sr, (1.0, 0.3, 0.1), 0.08, 3.0)
                _add(pad, at, 0.5 * (voice + detuned))

    bass = sosfilt(butter(2, 400, "lowpass", fs=sr, output="sos"), bass).astype(np.float32)
    pad = sosfilt(butter(2, 2500, "lowpass", fs=sr, output="sos"), pad).astype(np.float32)
    mix = 1.0 * drums + 0.55 * bass + 0.12 * pad + 0.18 * pluck
    return (0.9 * mix / max(float(np.abs(mix).max()), 1e-9)).astype(np.float32)
