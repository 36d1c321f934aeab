"""Is a dance aligned with its music? Three checks on one (motion, song, stated offset) pair.

Dance with Melody states that motion frame i plays at music time (start_position + i) / 25 s, but a
first look found beat alignment (BAS) at that offset no better than at random offsets. These checks
tell a wrong alignment from a weak beat signal:

1. **BAS against offsets**: Bailando's beat alignment score of the motion's beats (minima of the
   smoothed mean joint speed) against the song's beats at the stated offset, at random offsets of
   0.15-0.6 s either way, and over a grid of offsets (where is it best?).
2. **Tempo agreement**: the motion's dominant period (autocorrelation of its speed) against the
   song's beat period. It does not depend on the offset, and it does tell whether the motion was
   danced to this song's tempo; compared with the same motion against the other songs.
3. **Onset strength vs motion energy**: correlation of the song's onset envelope with the motion's
   speed as a function of the lag. With the right alignment the relation between the two (whatever
   its sign) is strongest at lag 0, and repeats with the beat period.

All functions are pure: arrays in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from xdancer.eval.metrics import BAS_SIGMA_SECONDS, beat_align_score
from xdancer.eval.motion_features import smooth_speed, speed_minima

# Period multiples that count as "the same tempo": half, one, two, three (a waltz bar), four and six
# beats (a waltz bar when the beat tracker counts eighth notes).
TEMPO_MULTIPLES = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0)


def mean_joint_speed(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T, J, D) positions -> (T - 1,) mean joint speed (units per second), entry i at (i + 0.5) / fps."""
    return np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=1) * fps


def bas_at(dance_beats: np.ndarray, song_beats: np.ndarray, music_start: float, duration: float) -> float:
    """BAS when motion time 0 is song time ``music_start``: music beats inside the motion count."""
    beats = song_beats - music_start
    beats = beats[(beats >= 0) & (beats < duration)]
    if beats.size == 0:
        return float("nan")
    return beat_align_score(beats, dance_beats, sigma=BAS_SIGMA_SECONDS)


def dominant_period(signal: np.ndarray, rate: float, min_s: float = 0.3, max_s: float = 2.5) -> float:
    """The period (s) of the highest autocorrelation peak of ``signal`` between ``min_s`` and ``max_s``."""
    x = signal - gaussian_filter1d(signal, 2.0 * rate, mode="reflect")  # drop slow drifts
    x = x - x.mean()
    n = len(x)
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    ac /= ac[0] + 1e-12
    lo, hi = int(min_s * rate), min(int(max_s * rate), n - 2)
    peaks = [i for i in range(max(lo, 1), hi) if ac[i] > ac[i - 1] and ac[i] >= ac[i + 1]]
    if not peaks:
        return float("nan")
    best = max(peaks, key=lambda i: ac[i])
    # Parabolic refinement of the peak between lag steps.
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return (best + shift) / rate


def tempo_error(period: float, beat_period: float) -> float:
    """Relative distance of ``period`` from the nearest of :data:`TEMPO_MULTIPLES` beat periods."""
    if not (np.isfinite(period) and beat_period > 0):
        return float("nan")
    return float(min(abs(period / (k * beat_period) - 1.0) for k in TEMPO_MULTIPLES))


def lagged_correlation(onset: np.ndarray, onset_rate: float, speed: np.ndarray, fps: float, music_start: float,
                       lags: np.ndarray, smooth_s: float = 0.05) -> np.ndarray:  # fmt: skip
    """Pearson correlation of the song's onset envelope (sampled at the motion's speed times shifted
    by each lag, seconds) with the motion's speed. (L,) for L lags; positive lag = music later."""
    t = (np.arange(len(speed)) + 0.5) / fps + music_start
    env = gaussian_filter1d(onset.astype(np.float64), smooth_s * onset_rate)
    env_t = np.arange(len(env)) / onset_rate
    s = gaussian_filter1d(speed, smooth_s * fps)
    s = (s - s.mean()) / (s.std() + 1e-12)
    out = np.full(len(lags), np.nan)
    for k, lag in enumerate(lags):
        tt = t + lag
        ok = (tt >= 0) & (tt <= env_t[-1])
        if ok.sum() < 10:
            continue
        e = np.interp(tt[ok], env_t, env)
        e = (e - e.mean()) / (e.std() + 1e-12)
        ss = s[ok]
        out[k] = float(np.mean(e * (ss - ss.mean())) / (ss.std() + 1e-12))
    return out


@dataclass
class AlignmentCheck:
    """The three checks for one dance (seconds, scores)."""

    bas_stated: float
    bas_random: float  # mean over random offsets of 0.15-0.6 s either way
    best_offset_s: float  # offset (added to the stated one) with the highest BAS in the grid
    bas_best: float
    dance_period_s: float
    beat_period_s: float
    tempo_error: float  # against this song
    tempo_error_others: float  # median against the other songs' beat periods
    corr_stated: float  # onset-speed correlation at lag 0
    corr_peak_lag_s: float  # lag of the strongest |correlation| within +-1 beat period
    corr_random: float  # mean |correlation| at the random offsets
    music_ac_at_dance_period: float  # autocorrelation of the song's onsets at the dance's period
    music_ac_others: float  # median of the same for the other dances' periods
    bas_heldout_fitted: float  # BAS on one half at the offset that is best on the other half
    bas_heldout_stated: float  # BAS on the same halves at the stated offset


def autocorrelation_at(signal: np.ndarray, rate: float, periods: list[float]) -> np.ndarray:
    """Normalised autocorrelation of a detrended ``signal`` at each period (s)."""
    x = signal - gaussian_filter1d(signal.astype(np.float64), 2.0 * rate, mode="reflect")
    x = x - x.mean()
    n = len(x)
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    ac /= ac[0] + 1e-12
    lags = np.asarray(periods, dtype=np.float64) * rate
    return np.interp(lags, np.arange(n), ac, left=np.nan, right=np.nan)


def heldout_bas(dance_beats: np.ndarray, song_beats: np.ndarray, music_start: float, duration: float,
                grid: np.ndarray) -> tuple[float, float]:  # fmt: skip
    """Fit the offset that maximises BAS on one half of the dance, score the other half with it;
    both ways round. Returns (held-out BAS at the fitted offsets, BAS of the same halves as stated).
    A constant misalignment would be found on one half and confirmed on the other."""
    half = duration / 2
    halves = [(0.0, half), (half, duration)]
    fitted, stated = [], []
    for k in (0, 1):
        (a0, a1), (b0, b1) = halves[k], halves[1 - k]
        da = dance_beats[(dance_beats >= a0) & (dance_beats < a1)] - a0
        db = dance_beats[(dance_beats >= b0) & (dance_beats < b1)] - b0
        scores = [bas_at(da, song_beats, music_start + a0 + o, a1 - a0) for o in grid]
        best = float(grid[int(np.nanargmax(scores))])
        fitted.append(bas_at(db, song_beats, music_start + b0 + best, b1 - b0))
        stated.append(bas_at(db, song_beats, music_start + b0, b1 - b0))
    return float(np.nanmean(fitted)), float(np.nanmean(stated))


def check_alignment(joints: np.ndarray, fps: float, song_beats: np.ndarray, onset: np.ndarray,
                    onset_rate: float, music_start: float, other_beat_periods: list[float],
                    rng: np.random.Generator, n_random: int = 20,
                    other_dance_periods: list[float] | None = None) -> AlignmentCheck:  # fmt: skip
    """Run the three checks on motion ``joints`` (T, J, D) at ``fps`` against one song.

    song_beats: the song's beat times (s) from its start; onset: its onset envelope at
    ``onset_rate``; music_start: the stated song time of motion frame 0.
    """
    speed = mean_joint_speed(joints, fps)
    beats = speed_minima(speed, fps)
    duration = len(joints) / fps
    signs = rng.choice([-1.0, 1.0], n_random)
    offsets = signs * rng.uniform(0.15, 0.6, n_random)
    bas_random = float(np.nanmean([bas_at(beats, song_beats, music_start + o, duration) for o in offsets]))
    grid = np.arange(-2.0, 2.0001, 0.02)
    bas_grid = np.array([bas_at(beats, song_beats, music_start + o, duration) for o in grid])
    best = int(np.nanargmax(bas_grid))
    beat_period = float(np.median(np.diff(song_beats))) if len(song_beats) > 1 else float("nan")
    period = dominant_period(smooth_speed(speed, fps), fps)
    others = [tempo_error(period, p) for p in other_beat_periods]
    lags = np.arange(-beat_period, beat_period + 1e-9, 0.02) if np.isfinite(beat_period) else np.zeros(1)
    corr = lagged_correlation(onset, onset_rate, speed, fps, music_start, lags)
    corr0 = float(lagged_correlation(onset, onset_rate, speed, fps, music_start, np.zeros(1))[0])
    corr_rand = lagged_correlation(onset, onset_rate, speed, fps, music_start, offsets)
    ac = autocorrelation_at(onset, onset_rate, [period] + list(other_dance_periods or []))
    held_fit, held_stated = heldout_bas(beats, song_beats, music_start, duration, grid)
    return AlignmentCheck(
        bas_stated=bas_at(beats, song_beats, music_start, duration),
        bas_random=bas_random,
        best_offset_s=float(grid[best]),
        bas_best=float(bas_grid[best]),
        dance_period_s=period,
        beat_period_s=beat_period,
        tempo_error=tempo_error(period, beat_period),
        tempo_error_others=float(np.nanmedian(others)) if np.isfinite(others).any() else float("nan"),
        corr_stated=corr0,
        corr_peak_lag_s=float(lags[int(np.nanargmax(np.abs(corr)))]),
        corr_random=float(np.nanmean(np.abs(corr_rand))),
        music_ac_at_dance_period=float(ac[0]),
        music_ac_others=float(np.nanmedian(ac[1:])) if len(ac) > 1 else float("nan"),
        bas_heldout_fitted=held_fit,
        bas_heldout_stated=held_stated,
    )


def check_dwm(path: str, seed: int = 0, progress: bool = True) -> dict[str, AlignmentCheck]:
    """The three checks for every Dance with Melody dance under ``path`` (3D joints at 25 fps)."""
    from tqdm import tqdm

    from xdancer.constants import SAMPLE_RATE
    from xdancer.data.dwm import DWM_FPS, MOTION_JOINTS, dance_folders, load_dance
    from xdancer.music.features import ANALYSIS_RATE, estimate_beats
    from xdancer.music.io import load_audio

    dances, songs = [], []
    for folder in tqdm(dance_folders(path), desc="songs", disable=not progress):
        dance = load_dance(folder)
        _, beats, _, env = estimate_beats(load_audio(dance.audio, SAMPLE_RATE), SAMPLE_RATE)
        dances.append(dance)
        songs.append((beats, env))
    periods = [float(np.median(np.diff(b))) for b, _ in songs]
    motions = [d.joints[:, list(MOTION_JOINTS)] for d in dances]
    dance_periods = [dominant_period(smooth_speed(mean_joint_speed(m, DWM_FPS), DWM_FPS), DWM_FPS) for m in motions]
    rng = np.random.default_rng(seed)
    out = {}
    for i, (dance, (beats, env)) in enumerate(zip(dances, songs, strict=True)):
        others = [p for j, p in enumerate(periods) if j != i]
        other_dances = [p for j, p in enumerate(dance_periods) if j != i and np.isfinite(p)]
        out[dance.name] = check_alignment(motions[i], DWM_FPS, beats, env, ANALYSIS_RATE, dance.music_offset_s,
                                          others, rng, other_dance_periods=other_dances)  # fmt: skip
    return out


_GENRE_NAMES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}


def plot_alignment(results: dict[str, AlignmentCheck], path: str) -> str:
    """A PNG of the checks: BAS stated vs random offsets, BAS held out vs stated, and the song's
    periodicity at its own dance's period vs at the other dances' periods (one point per dance)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xdancer.io_utils import atomic_path

    names = list(results)
    genre = [n.split("_")[1] if n.count("_") >= 2 else "?" for n in names]
    colours = {"C": "tab:red", "R": "tab:purple", "T": "tab:green", "W": "tab:blue"}
    pairs = (
        ("bas_random", "bas_stated", "BAS at random offsets (0.15-0.6 s)", "BAS at the stated alignment"),
        ("bas_heldout_stated", "bas_heldout_fitted", "BAS of a half, stated offset",
         "BAS of a half, offset fitted on the other half"),
        ("music_ac_others", "music_ac_at_dance_period", "song onset autocorrelation at other dances' periods",
         "... at its own dance's period"),
    )  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, (xk, yk, xl, yl) in zip(axes, pairs, strict=True):
        x = np.array([getattr(results[n], xk) for n in names])
        y = np.array([getattr(results[n], yk) for n in names])
        for g, c in colours.items():
            m = np.array([k == g for k in genre])
            ax.scatter(x[m], y[m], s=18, color=c, label=_GENRE_NAMES[g])
        ok = np.isfinite(x) & np.isfinite(y)
        lo, hi = float(min(x[ok].min(), y[ok].min())), float(max(x[ok].max(), y[ok].max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(f"above the line: {int((y[ok] > x[ok]).sum())} of {int(ok.sum())}")
    axes[0].legend(loc="upper left")
    fig.suptitle("Dance with Melody: music alignment checks (one point per dance)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
    return path


__all__ = ["AlignmentCheck", "check_alignment", "check_dwm", "plot_alignment", "mean_joint_speed", "speed_minima",
           "bas_at", "dominant_period", "tempo_error", "lagged_correlation", "TEMPO_MULTIPLES"]  # fmt: skip
