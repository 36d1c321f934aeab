"""Per-frame music features at the pose frame rate, plus tempo, beats and a whole-track summary.

The default set is EDGE's 35-d librosa baseline (Tseng et al., CVPR 2023, as used for X-Dancer's
music conditioning before its learned encoder): onset envelope (1), MFCC (20), chroma CENS (12),
onset-peak one-hot (1), beat one-hot (1).

Alignment convention (shared with the pose and video frames): frame i is centred on time i / fps,
and a sound event at time t is marked on frame round(t * fps). A wave of N samples at ``sr`` gives
T = ceil(N * fps / sr) frames. When fps divides the sample rate, MFCC and chroma are computed with
hop = sr / fps (checked by exact division, so no rounding drift); otherwise on the nearest finer
grid and interpolated at the exact times i / fps. The onset envelope, onsets and beats are always computed
on the 200 Hz grid (5 ms): beats and onset peaks are placed on frame round(t * fps), and the
envelope column of frame i is the envelope's maximum over the times that round to frame i, so an
onset's peak and its one-hot share a frame at any fps (fps up to 200).
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from xdancer.constants import POSE_FPS, SAMPLE_RATE
from xdancer.errors import InputError
from xdancer.io_utils import atomic_path, check_input_file
from xdancer.music.beats import ANALYSIS_RATE, estimate_beats

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FEATURE_NAMES: tuple[str, ...] = (
    ("onset_envelope",)
    + tuple(f"mfcc_{i}" for i in range(20))
    + tuple(f"chroma_{p}" for p in PITCH_CLASSES)
    + ("onset_peak", "beat")
)
MUSIC_DIM = len(FEATURE_NAMES)  # 35, EDGE's baseline set
# Columns that vary smoothly (summarised by mean and std); the last two are event one-hots.
CONTINUOUS = MUSIC_DIM - 2
GLOBAL_NAMES: tuple[str, ...] = (
    tuple(f"mean_{n}" for n in FEATURE_NAMES[:CONTINUOUS])
    + tuple(f"std_{n}" for n in FEATURE_NAMES[:CONTINUOUS])
    + ("beats_per_second", "onsets_per_second", "pulse_clarity")
)
GLOBAL_DIM = len(GLOBAL_NAMES)

# EDGE smooths CENS chroma over 41 frames at 30 fps; the same span in seconds is kept at any rate.
CENS_SMOOTH_SECONDS = 41 / 30
MIN_SECONDS = 1.0  # shorter audio has no meaningful tempo
SILENCE_PEAK = 1e-4  # -80 dBFS: below this the track is treated as silent
FORMAT_VERSION = 1


@dataclass
class MusicFeatures:
    """Music features on the pose frame grid (frame i centred on time i / fps).

    features: float32 (T, D), columns named by ``names`` (FEATURE_NAMES for the default encoder).
    fps: frames per second of the grid. tempo_bpm: estimated tempo of the whole analysed audio.
    beat_times: float (B,) seconds; beat_frames: int (B,) = round(beat_times * fps), inside [0, T).
    onset_envelope: float32 (T,) onset strength per frame.
    global_context: float32 (G,) a summary of the whole analysed audio (``global_names``), the same
        for every slice of it: a global music context for the motion model.
    meta: provenance (source file, window, encoder), JSON-serialisable.
    """

    features: np.ndarray
    names: list[str]
    fps: float
    tempo_bpm: float
    beat_times: np.ndarray
    beat_frames: np.ndarray
    onset_envelope: np.ndarray
    global_context: np.ndarray
    global_names: list[str] = field(default_factory=lambda: list(GLOBAL_NAMES))
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.features = np.asarray(self.features, dtype=np.float32)
        if self.features.ndim != 2:
            raise ValueError(f"features must be (T, D), got {self.features.shape}")
        t, d = self.features.shape
        self.names = [str(n) for n in self.names]
        if len(self.names) != d:
            raise ValueError(f"{len(self.names)} names for {d} feature columns")
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        self.fps = float(self.fps)
        self.tempo_bpm = float(self.tempo_bpm)
        self.beat_times = np.asarray(self.beat_times, dtype=np.float64).reshape(-1)
        self.beat_frames = np.asarray(self.beat_frames, dtype=np.int64).reshape(-1)
        if self.beat_times.shape != self.beat_frames.shape:
            raise ValueError("beat_times and beat_frames must have the same length")
        if self.beat_frames.size and (self.beat_frames.min() < 0 or self.beat_frames.max() >= t):
            raise ValueError(f"beat_frames must lie in [0, {t})")
        self.onset_envelope = np.asarray(self.onset_envelope, dtype=np.float32).reshape(-1)
        if self.onset_envelope.shape != (t,):
            raise ValueError(f"onset_envelope must be ({t},), got {self.onset_envelope.shape}")
        self.global_context = np.asarray(self.global_context, dtype=np.float32).reshape(-1)
        self.global_names = [str(n) for n in self.global_names]
        if len(self.global_names) != self.global_context.size:
            raise ValueError(f"{len(self.global_names)} global names for {self.global_context.size} values")
        if not np.isfinite(self.features).all() or not np.isfinite(self.global_context).all():
            raise ValueError("music features contain NaN or infinity")

    def __len__(self) -> int:
        return self.features.shape[0]

    @property
    def dim(self) -> int:
        return self.features.shape[1]

    @property
    def duration(self) -> float:
        return len(self) / self.fps

    def column(self, name: str) -> np.ndarray:
        """One feature column (T,) by name, e.g. ``"beat"`` or ``"mfcc_0"``."""
        try:
            return self.features[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no feature named {name!r}; have {', '.join(self.names)}") from None

    def slice(self, start: int, stop: int | None = None) -> MusicFeatures:
        """Frames [start, stop) with beat times re-measured from the new frame 0.

        The global context still describes the whole analysed audio.
        """
        start, stop, _ = slice(start, stop).indices(len(self))
        if stop <= start:
            raise ValueError(f"empty slice [{start}, {stop}) of {len(self)} frames")
        keep = (self.beat_frames >= start) & (self.beat_frames < stop)
        meta = dict(self.meta)
        meta["slice"] = (
            [int(start), int(stop)]
            if "slice" not in meta
            else [meta["slice"][0] + start, meta["slice"][0] + stop]
        )
        return MusicFeatures(
            features=self.features[start:stop],
            names=list(self.names),
            fps=self.fps,
            tempo_bpm=self.tempo_bpm,
            beat_times=self.beat_times[keep] - start / self.fps,
            beat_frames=self.beat_frames[keep] - start,
            onset_envelope=self.onset_envelope[start:stop],
            global_context=self.global_context,
            global_names=list(self.global_names),
            meta=meta,
        )

    def save(self, path: str | Path) -> Path:
        """Write an .npz (no pickles) atomically."""
        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise InputError(f"music features are saved as .npz, got {path.name!r}")
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(
                    f,
                    format_version=np.int64(FORMAT_VERSION),
                    features=self.features,
                    names=np.array(self.names),
                    fps=np.float64(self.fps),
                    tempo_bpm=np.float64(self.tempo_bpm),
                    beat_times=self.beat_times,
                    beat_frames=self.beat_frames,
                    onset_envelope=self.onset_envelope,
                    global_context=self.global_context,
                    global_names=np.array(self.global_names),
                    meta=np.array(json.dumps(self.meta)),
                )
        return path

    @classmethod
    def load(cls, path: str | Path) -> MusicFeatures:
        p = check_input_file(path, "music features file")
        try:
            with np.load(p, allow_pickle=False) as z:
                return cls(
                    features=z["features"],
                    names=z["names"].tolist(),
                    fps=float(z["fps"]),
                    tempo_bpm=float(z["tempo_bpm"]),
                    beat_times=z["beat_times"],
                    beat_frames=z["beat_frames"],
                    onset_envelope=z["onset_envelope"],
                    global_context=z["global_context"],
                    global_names=z["global_names"].tolist(),
                    meta=json.loads(str(z["meta"])),
                )
        except (OSError, KeyError, ValueError) as e:
            raise InputError(f"not a music features file: {p} ({e})") from None


def fps_fraction(fps: float) -> Fraction:
    """The frame rate as an exact fraction (29.97 -> 2997/100, 30000/1001 stays exact)."""
    if not (isinstance(fps, numbers.Real) and fps > 0 and math.isfinite(fps)):
        raise InputError(f"fps must be a positive number, got {fps!r}")
    return Fraction(fps).limit_denominator(1001)


def num_frames(n_samples: int, sr: int, fps: float) -> int:
    """T = ceil(n_samples * fps / sr) in exact integer arithmetic."""
    f = fps_fraction(fps)
    return -(-n_samples * f.numerator // (sr * f.denominator))


def check_audio(wave: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 (N,) or a clear InputError for empty, too short, non-finite or silent audio."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise ValueError(f"wave must be mono (N,), got shape {wave.shape}")
    seconds = wave.size / sr
    if seconds < MIN_SECONDS:
        raise InputError(
            f"the audio is {seconds:.2f} s long; at least {MIN_SECONDS:.0f} s of music is needed"
        )
    if not np.isfinite(wave).all():
        raise InputError("the audio contains NaN or infinite samples")
    peak = float(np.abs(wave).max())
    if peak < SILENCE_PEAK:
        level = "-inf" if peak == 0 else f"{20 * math.log10(peak):.0f}"
        raise InputError(f"the audio is silent (peak level {level} dBFS); give a file with music in it")
    return wave


def _events_to_frames(times: np.ndarray, fps: Fraction, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame round(time * fps) of each event, and which events fall inside [0, T)."""
    frames = np.floor(np.asarray(times, dtype=np.float64) * float(fps) + 0.5).astype(np.int64)
    inside = (frames >= 0) & (frames < t)
    return frames[inside], inside


def _fit_length(x: np.ndarray, t: int) -> np.ndarray:
    """(D, n) -> (D, t): librosa's centred frames number 1 + N // hop; cut or edge-pad to T."""
    if x.shape[-1] >= t:
        return x[..., :t]
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, t - x.shape[-1])], mode="edge")


def _pool_to_frames(env: np.ndarray, rate: int, fps: Fraction, t: int) -> np.ndarray:
    """(n,) samples at ``rate`` Hz -> (T,): the maximum over the samples whose time rounds to each frame."""
    frames = np.floor(np.arange(env.size) * float(fps) / rate + 0.5).astype(np.int64)
    keep = frames < t
    out = np.full(t, -np.inf)
    np.maximum.at(out, frames[keep], env[keep])
    filled = np.isfinite(out)
    if not filled.all():  # frames past the envelope's last sample
        out[~filled] = np.interp(np.flatnonzero(~filled), np.flatnonzero(filled), out[filled])
    return out.astype(np.float32)


def _spectral(y: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """(20 + 12, n) rows: 20 MFCC and 12 CENS chroma at ``hop``."""
    import librosa

    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, hop_length=hop)
    smooth = max(3, int(round(CENS_SMOOTH_SECONDS * sr / hop)))
    with warnings.catch_warnings():
        # Short clips make the lowest CQT octaves' filters longer than the signal, and tonally flat
        # ones leave the tuning estimate nothing to work on; both are harmless here.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large", category=UserWarning)
        warnings.filterwarnings("ignore", message="Trying to estimate tuning", category=UserWarning)
        chroma = librosa.feature.chroma_cens(y=y, sr=sr, hop_length=hop, n_chroma=12, win_len_smooth=smooth)
    n = min(mfcc.shape[-1], chroma.shape[-1])
    return np.concatenate([mfcc[:, :n], chroma[:, :n]], axis=0)


def extract_features(wave: np.ndarray, sr: int = SAMPLE_RATE, fps: float = POSE_FPS) -> MusicFeatures:
    """EDGE's 35-d features of mono ``wave`` (N,) on the frame grid of ``fps``; (T, 35) with
    T = ceil(N * fps / sr). Raises InputError for audio shorter than 1 s or silent audio."""
    f = fps_fraction(fps)
    if f > ANALYSIS_RATE:
        raise InputError(f"music features go up to {ANALYSIS_RATE} fps, got {float(f):g}")
    wave = check_audio(wave, sr)
    t = num_frames(wave.size, sr, f)
    if sr != SAMPLE_RATE:
        import soxr

        wave = soxr.resample(wave, sr, SAMPLE_RATE).astype(np.float32)
    sr = SAMPLE_RATE
    tempo, beats, peaks, fine_env = estimate_beats(wave, sr)

    frame_hop = Fraction(sr) / f
    if frame_hop.denominator == 1:
        spec = _fit_length(_spectral(wave, sr, int(frame_hop)), t)  # (32, T)
    else:
        # The largest hop (a multiple of 8, for the CQT's octave downsampling) that is no coarser
        # than a frame; the rows are then interpolated at the exact frame times.
        hop = max(8, int(frame_hop) // 8 * 8)
        fine = _spectral(wave, sr, hop)  # (32, n) on a grid slightly finer than the frames
        fine_times = np.arange(fine.shape[1]) * hop / sr
        frame_times = np.arange(t) / float(f)
        spec = np.stack([np.interp(frame_times, fine_times, row) for row in fine])

    beat_frames, inside = _events_to_frames(beats, f, t)
    beat_times = beats[inside]
    onehots = np.zeros((2, t), np.float32)
    onehots[0, _events_to_frames(peaks, f, t)[0]] = 1.0
    onehots[1, beat_frames] = 1.0
    env = _pool_to_frames(fine_env, ANALYSIS_RATE, f, t)
    features = np.concatenate([env[None], spec, onehots], axis=0).T.astype(np.float32)  # (T, 35)

    seconds = wave.size / sr
    pulse = float(env[beat_frames].mean() / (env.mean() + 1e-8)) if beat_frames.size else 0.0
    global_context = np.concatenate(
        [
            features[:, :CONTINUOUS].mean(axis=0),
            features[:, :CONTINUOUS].std(axis=0),
            [tempo / 60.0, peaks.size / seconds, pulse],
        ]
    ).astype(np.float32)
    return MusicFeatures(
        features=features,
        names=list(FEATURE_NAMES),
        fps=float(f),
        tempo_bpm=tempo,
        beat_times=beat_times,
        beat_frames=beat_frames,
        onset_envelope=env,
        global_context=global_context,
        meta={"encoder": "librosa35", "sample_rate": sr},
    )


def music_features(
    path: str | Path,
    fps: float = POSE_FPS,
    offset: float = 0.0,
    duration: float | None = None,
    *,
    encoder: str = "librosa35",
    model_path: str | Path | None = None,
    progress: bool = False,
    return_wave: bool = False,
) -> MusicFeatures | tuple[MusicFeatures, np.ndarray]:
    """Load ``[offset, offset + duration)`` seconds of an audio (or video) file and extract its
    features with the named encoder (see :mod:`xdancer.music.encoders`).

    Raises InputError for a missing, corrupt or non-audio file, silent or too-short audio, or a
    whole track over the length limit. With ``return_wave`` also returns the mono 24 kHz samples.
    """
    from tqdm import tqdm

    from xdancer.music.encoders import get_encoder
    from xdancer.music.io import load_audio

    enc = get_encoder(encoder, model_path)
    fps_fraction(fps)
    wave = load_audio(path, SAMPLE_RATE, offset=offset, duration=duration)
    check_audio(wave, SAMPLE_RATE)  # silent or too short: say so before any progress bar
    # The bar appears only when the analysis takes more than a second (long songs, the first call).
    with tqdm(
        total=1,
        desc=f"analysing {len(wave) / SAMPLE_RATE:.0f} s of music",
        disable=not progress,
        leave=False,
        delay=1.0,
    ):
        feats = enc.encode(wave, SAMPLE_RATE, fps)
    feats.meta.update({"source": str(path), "offset": float(offset), "duration": len(wave) / SAMPLE_RATE})
    return (feats, wave) if return_wave else feats
