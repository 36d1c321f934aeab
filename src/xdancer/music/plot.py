"""A picture of the music analysis: waveform, onset envelope with beats and onset peaks, chroma."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xdancer.io_utils import atomic_path, check_output_path
from xdancer.music.features import PITCH_CLASSES, MusicFeatures


def _min_max_envelope(wave: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin minimum and maximum, so a long waveform draws fast and without aliasing."""
    bins = max(1, min(bins, wave.size))
    edges = np.linspace(0, wave.size, bins + 1).astype(np.int64)
    lo = np.minimum.reduceat(wave, edges[:-1])
    hi = np.maximum.reduceat(wave, edges[:-1])
    return lo, hi


def plot_music(
    features: MusicFeatures,
    path: str | Path,
    wave: np.ndarray | None = None,
    sr: int | None = None,
    title: str | None = None,
) -> Path:
    """Save a PNG: the waveform (when ``wave`` and ``sr`` are given), the onset envelope with the
    beats (red lines) and onset peaks (dots), and the chroma over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = check_output_path(path, (".png",))
    t = np.arange(len(features)) / features.fps  # frame i is centred on i / fps
    panels = 3 if wave is not None and sr else 2
    fig, axes = plt.subplots(panels, 1, figsize=(12, 2.4 * panels), sharex=True, constrained_layout=True)
    axes = list(np.atleast_1d(axes))
    if panels == 3:
        ax = axes.pop(0)
        lo, hi = _min_max_envelope(np.asarray(wave, np.float32), 3000)
        xs = np.linspace(0, wave.size / sr, lo.size)
        ax.fill_between(xs, lo, hi, color="0.35", linewidth=0)
        ax.set_ylabel("waveform")
        ax.set_ylim(-1.05, 1.05)
        for b in features.beat_times:
            ax.axvline(b, color="tab:red", alpha=0.35, linewidth=0.7)

    ax = axes[0]
    env = features.onset_envelope
    ax.plot(t, env, color="tab:blue", linewidth=0.8, label="onset strength")
    if "onset_peak" in features.names:
        peaks = features.column("onset_peak") > 0
        ax.plot(t[peaks], env[peaks], ".", color="tab:orange", markersize=5, label="onset peaks")
    for i, b in enumerate(features.beat_times):
        ax.axvline(b, color="tab:red", alpha=0.6, linewidth=0.8, label="beats" if i == 0 else None)
    ax.set_ylabel("onsets / beats")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[1]
    chroma_cols = [i for i, n in enumerate(features.names) if n.startswith("chroma_")]
    if chroma_cols:
        ax.imshow(
            features.features[:, chroma_cols].T,
            aspect="auto",
            origin="lower",
            extent=(t[0] - 0.5 / features.fps, t[-1] + 0.5 / features.fps, -0.5, len(chroma_cols) - 0.5),
            cmap="magma",
            interpolation="nearest",
        )
        ax.set_yticks(range(len(chroma_cols)), PITCH_CLASSES[: len(chroma_cols)], fontsize=7)
        ax.set_ylabel("chroma")
    else:
        ax.imshow(features.features.T, aspect="auto", origin="lower", cmap="magma", interpolation="nearest")
        ax.set_ylabel("features")
    ax.set_xlabel("time (s)")
    heading = title or features.meta.get("source", "music")
    fig.suptitle(
        f"{Path(str(heading)).name}: {features.tempo_bpm:.1f} bpm, {len(features.beat_times)} beats, "
        f"{len(features)} frames at {features.fps:g} fps"
    )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
