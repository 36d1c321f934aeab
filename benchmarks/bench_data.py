"""Data pipeline speed: importing motion capture and serving training windows.

    python -m benchmarks.bench_data

Measures (median of 3 runs after a warm-up, on ../shared/data): filming one Dance with Melody dance
with one virtual camera (3D -> 134-point 2D, 25 -> 30 fps, no music), parsing a BVH capture with
forward kinematics, and the rate of training windows (64 frames, augmented: mirror, jitter, tempo)
from a dataset of one dance filmed by three cameras.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from benchmarks.common import median_time, peak_rss_mb, record


def main() -> None:
    from xdancer.data.augment import AugmentConfig
    from xdancer.data.bvh import forward_kinematics, parse_bvh
    from xdancer.data.camera import CameraConfig
    from xdancer.data.dwm import load_dance, project_dance
    from xdancer.data.importer import build_dataset
    from xdancer.data.windows import MusicPoseWindowDataset

    data = os.environ.get("XDANCER_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    rows = []

    # 1. Film one dance (no music).
    folder = os.path.join(data, "dance_with_melody", "DANCE_W_1")
    dance = load_dance(folder)
    seconds = len(dance.joints) / 25
    t = median_time(lambda: project_dance(dance, np.random.default_rng(0), CameraConfig()), repeats=3)
    rows.append(["film one dance (1 camera)", f"{seconds:.0f} s of dance", f"{1000 * t:.0f} ms", f"{seconds / t:.0f}x real time"])

    # 2. BVH parse + forward kinematics.
    path = os.path.join(data, "mocap", "perfume_aachan.bvh")
    bvh = parse_bvh(path)
    t = median_time(lambda: forward_kinematics(parse_bvh(path)), repeats=3)
    rows.append(["BVH parse + FK", f"{len(bvh.motion)} frames x {len(bvh.joints)} joints", f"{1000 * t:.0f} ms",
                 f"{len(bvh.motion) / t:.0f} frames/s"])  # fmt: skip

    # 3. Training windows from a one-dance dataset (3 cameras, with music).
    with tempfile.TemporaryDirectory() as tmp:
        (first, *_) = build_dataset("dwm", folder, tmp, progress=False, views=3)
        ds = MusicPoseWindowDataset(tmp, first.split, 64, augment=AugmentConfig(), seed=0)
        n = min(len(ds), 300)

        def serve() -> None:
            for i in range(n):
                ds[i]

        t = median_time(serve, repeats=3)
        rows.append(["music + pose windows (augmented)", f"{n} windows of 64 frames", f"{1000 * t / n:.2f} ms/window",
                     f"{n / t:.0f} windows/s"])  # fmt: skip
    rows.append(["peak memory", "", f"{peak_rss_mb():.0f} MiB", ""])
    record("Data pipeline", ["step", "size", "time", "rate"], rows,
           notes=f"One process, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; the machine was shared with other work.")  # fmt: skip


if __name__ == "__main__":
    main()
