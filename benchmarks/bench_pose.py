"""Pose detection time per frame: photos (image mode, people check included) and videos (tracking).

    python -m benchmarks.bench_pose [--frames 48]

Photos: the median of 5 runs of ``detect_image`` after one warm-up (models already open), split
into the people check (face detection + segmentation) and Holistic. Videos: ``detect_video`` on the
first N frames (decoding, tracking, mapping and One Euro smoothing included), and the decoding
alone, so the detector's own share is visible. Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from benchmarks.common import median_time, peak_rss_mb, record

PHOTOS = ("moore_anyone3.png", "mimicmotion_demo1.jpg")
VIDEOS = ("animatex_dance_1.mp4", "musepose_dance.mp4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48, help="video frames per measurement")
    args = parser.parse_args()

    from xdancer.image_io import load_image
    from xdancer.pose.detect import _detect_views, _static_models, detect_image, detect_video
    from xdancer.video.io import probe_video, read_video

    data = os.environ.get(
        "XDANCER_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
    )
    rows = []

    def cpu_seconds() -> float:
        """CPU time of this process, all threads: unlike wall time, barely moved by other work."""
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    # 1. Photos.
    holistic, finder = _static_models(0.5)
    for name in PHOTOS:
        rgb = load_image(os.path.join(data, "images", name))
        total = median_time(lambda rgb=rgb: detect_image(rgb))
        c0 = cpu_seconds()
        detect_image(rgb)
        cpu = cpu_seconds() - c0
        people = median_time(lambda rgb=rgb: finder.find(rgb))
        pose = median_time(lambda rgb=rgb: _detect_views(holistic, rgb))
        size = f"{rgb.shape[1]}x{rgb.shape[0]}"
        rows.append([f"photo {name}", size, f"{1000 * total:.0f}", f"{1000 * cpu:.0f}", f"{1 / total:.1f}",
                     f"people check {1000 * people:.0f} ms, Holistic {1000 * pose:.0f} ms"])  # fmt: skip

    # 2. Videos (tracking mode).
    for name in VIDEOS:
        path = os.path.join(data, "videos", name)
        info = probe_video(path)
        t0 = time.perf_counter()
        for i, _ in enumerate(read_video(path)):
            if i + 1 >= args.frames:
                break
        decode = (time.perf_counter() - t0) / args.frames
        t0, c0 = time.perf_counter(), cpu_seconds()
        seq = detect_video(path, progress=False, max_frames=args.frames)
        per_frame = (time.perf_counter() - t0) / len(seq)
        cpu = (cpu_seconds() - c0) / len(seq)
        rows.append([f"video {name}", f"{info.width}x{info.height}", f"{1000 * per_frame:.0f}", f"{1000 * cpu:.0f}",
                     f"{1 / per_frame:.1f}",
                     f"{len(seq)} frames, decoding alone {1000 * decode:.0f} ms/frame; "
                     f"{per_frame * info.fps:.1f} s per second of {info.fps:g} fps video"])  # fmt: skip

    record(
        "Pose detection",
        ["input", "size", "wall ms / frame", "CPU ms / frame", "frames / s (wall)", "notes"],
        rows,
        notes=(
            "MediaPipe Holistic (model_complexity=1) from mediapipe 0.10.21 via `xdancer.pose.detect`. "
            "Photo times are for a person found in the first view; photos that need another view "
            "(half size, border, mirrored) cost one Holistic run more per view tried. "
            f"Peak RSS {peak_rss_mb():.0f} MiB. Load average over the run: {os.getloadavg()[1]:.1f} "
            f"on {os.cpu_count()} cores; with other work running, wall times are longer than on an idle "
            "machine, while CPU time (all of this process's threads) is what the detection itself costs."
        ),
    )


if __name__ == "__main__":
    main()
