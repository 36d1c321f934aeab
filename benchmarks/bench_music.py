"""Music and video I/O speed: feature extraction per second of audio, audio decoding, and H.264
encoding / decoding at 512 x 512. Run: ``python -m benchmarks.bench_music`` (writes docs/benchmarks.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.common import median_time, peak_rss_mb, record
from xdancer.constants import SAMPLE_RATE
from xdancer.music.features import extract_features
from xdancer.music.io import load_audio
from xdancer.music.synth import synth_groove
from xdancer.video.io import VideoWriter, read_video

SHARED_SONG = Path(__file__).resolve().parents[2] / "shared" / "data" / "music" / "vibe_ace.ogg"


def _frames(n: int, size: int = 512) -> list[np.ndarray]:
    """Moving gradients plus noise: harder to compress than flat colour, like rendered video."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    out = []
    for i in range(n):
        base = np.stack([(xx + 4 * i) % 256, (yy + 2 * i) % 256, (xx + yy) // 4 % 256], -1)
        out.append(np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8))
    return out


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        groove = synth_groove(120, 60.0, seed=0)
        extract_features(groove[: 5 * SAMPLE_RATE])  # librosa compiles its numba kernels on first use
        for seconds in (10, 60):
            wave = groove[: seconds * SAMPLE_RATE]
            t = median_time(lambda w=wave: extract_features(w), repeats=3, warmup=0)
            rows.append([f"features, synth groove {seconds} s", f"{t:.2f} s", f"{1000 * t / seconds:.1f} ms"])
        wave30 = groove[: 30 * SAMPLE_RATE]
        t = median_time(lambda: extract_features(wave30, fps=29.97), repeats=3, warmup=0)
        rows.append(
            ["features at 29.97 fps (interpolated grid), 30 s", f"{t:.2f} s", f"{1000 * t / 30:.1f} ms"]
        )
        t = median_time(lambda: synth_groove(120, 60.0, seed=1), repeats=3, warmup=0)
        rows.append(["synth_groove, 60 s", f"{t:.2f} s", f"{1000 * t / 60:.1f} ms"])
        if SHARED_SONG.exists():
            song = load_audio(SHARED_SONG)
            t = median_time(lambda: extract_features(song), repeats=3, warmup=0)
            n = song.size / SAMPLE_RATE
            rows.append([f"features, vibe_ace.ogg ({n:.0f} s)", f"{t:.2f} s", f"{1000 * t / n:.1f} ms"])
            t = median_time(lambda: load_audio(SHARED_SONG), repeats=3)
            rows.append(
                [f"decode + resample vibe_ace.ogg ({n:.0f} s)", f"{t:.2f} s", f"{1000 * t / n:.1f} ms"]
            )

        frames = _frames(90)
        sf.write(tmp / "music.wav", groove[: 10 * SAMPLE_RATE], SAMPLE_RATE)

        def encode(audio):
            with VideoWriter(tmp / "bench.mp4", 30, (512, 512), audio=audio) as w:
                for f in frames:
                    w.write(f)

        t_enc = median_time(lambda: encode(None), repeats=3)
        t_enc_audio = median_time(lambda: encode(tmp / "music.wav"), repeats=3)
        n_read = sum(1 for _ in read_video(tmp / "bench.mp4"))
        t_dec = median_time(lambda: sum(1 for _ in read_video(tmp / "bench.mp4")), repeats=3)
        size_mb = (tmp / "bench.mp4").stat().st_size / 1e6
    video_rows = [
        [
            "encode H.264 512x512 (veryfast, crf 20)",
            f"{len(frames) / t_enc:.0f} fps",
            f"{1000 * t_enc / len(frames):.1f} ms",
        ],
        [
            "encode + mux AAC music",
            f"{len(frames) / t_enc_audio:.0f} fps",
            f"{1000 * t_enc_audio / len(frames):.1f} ms",
        ],
        ["decode to RGB 512x512", f"{n_read / t_dec:.0f} fps", f"{1000 * t_dec / n_read:.1f} ms"],
    ]
    record(
        "Music features",
        ["what", "time", "per second of audio"],
        rows,
        notes=(
            "EDGE's 35-d set at 30 fps (onset envelope, 20 MFCC, 12 CENS chroma, onset peaks, beats) plus "
            "tempo, beats and the global context, single-threaded (`OMP_NUM_THREADS=1`), after librosa's "
            f"one-off numba compilation (~5-15 s on the first call of a process). Peak RSS {peak_rss_mb():.0f} MiB."
        ),
    )
    record(
        "Video I/O",
        ["what", "speed", "per frame"],
        video_rows,
        notes=(
            f"{len(frames)} frames of textured 512x512 video (3 s, {size_mb:.1f} MB mp4 with music); PyAV/libx264 "
            "with its default threading. The 2 cores are shared with other jobs, so speeds are lower bounds."
        ),
    )


if __name__ == "__main__":
    main()
