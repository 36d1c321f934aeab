"""Warp renderer speed and memory: one-time set-up per photo, frames per second at 512 x 512 (render
only, and render + H.264 encode), and peak memory for a 3-minute dance streamed to an mp4.

    python benchmarks/bench_render.py [--seconds 180]

Needs ../shared/data/images. The driving dance is made from the photo's own pose (arms and forearms
swinging on sines, the body swaying), so it runs without a trained motion model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import peak_rss_mb, record  # noqa: E402

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"


def swing_dance(kps: np.ndarray, frames: int, fps: float) -> np.ndarray:
    """(frames, 134, 3) poses: the photo's pose with arms and forearms swinging and a body sway."""
    from xdancer.pose.skeleton import LEFT_HAND, RIGHT_HAND, kp

    def turn(k, pivot, idx, deg):
        a = np.deg2rad(deg)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        p = k[kp(pivot), :2].copy()
        k[idx, :2] = (k[idx, :2] - p) @ rot.T + p

    r_fore = [kp("right_wrist")] + list(range(RIGHT_HAND.start, RIGHT_HAND.stop))
    l_fore = [kp("left_wrist")] + list(range(LEFT_HAND.start, LEFT_HAND.stop))
    out = np.repeat(kps[None].astype(np.float64), frames, axis=0)
    t = np.arange(frames) / fps
    for i in range(frames):
        k = out[i]
        w = 2 * np.pi * t[i] * 0.5  # one swing every 2 s (a 120 bpm half-beat)
        turn(k, "right_elbow", r_fore, 50 * np.sin(2 * w))
        turn(k, "left_elbow", l_fore, -50 * np.sin(2 * w + 1))
        turn(k, "right_shoulder", [kp("right_elbow")] + r_fore, 60 * (0.5 + 0.5 * np.sin(w)))
        turn(k, "left_shoulder", [kp("left_elbow")] + l_fore, -60 * (0.5 + 0.5 * np.sin(w + 2)))
        k[:, 0] += 15 * np.sin(w / 2)
    return out.astype(np.float32)


def square_photo(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Pad a portrait photo left and right (edge colours) to a square; returns it and the x offset."""
    import cv2

    h, w = image.shape[:2]
    pad = max(0, (h - w) // 2)
    return cv2.copyMakeBorder(image, 0, 0, pad, h - w - pad, cv2.BORDER_REPLICATE), pad


def per_triangle_warp(prep, verts: np.ndarray, order: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The alternative texture mapping, for comparison: one cv2.warpAffine per triangle."""
    import cv2

    np.copyto(out, prep.background)
    src = prep.uv.astype(np.float32)
    dst = verts.astype(np.float32)
    h, w = out.shape[:2]
    for f in order:
        t = prep.mesh.triangles[f]
        x0, y0 = np.floor(dst[t].min(axis=0)).astype(int)
        x1, y1 = np.ceil(dst[t].max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        m = cv2.getAffineTransform(src[t], (dst[t] - (x0, y0)).astype(np.float32))
        patch = cv2.warpAffine(prep.rgba, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round(dst[t] - (x0, y0)).astype(np.int32), 1)
        a = patch[..., 3:4].astype(np.float32) / 255.0 * mask[..., None]
        region = out[y0:y1, x0:x1]
        region[:] = (patch[..., :3] * mask[..., None] + region * (1 - a)).clip(0, 255).astype(np.uint8)
    return out


def lbs_vs_arap(square: np.ndarray, ref, rows: list) -> None:
    """Locality: turn only the right forearm by 35 degrees; how far do vertices that the forearm
    does not drive move, and how many changed pixels lie outside the forearm's reach?"""
    from xdancer.pose.skeleton import RIGHT_HAND, kp
    from xdancer.render.retarget import Retargeter
    from xdancer.render.rig import BONE_INDEX
    from xdancer.render.warp import WarpRenderer, WarpRendererConfig

    for name in ("lbs", "arap"):
        r = WarpRenderer(WarpRendererConfig(deformation=name))
        prep = r.prepare(square, ref, height=512)
        kps = prep.reference_kps
        turned = kps.copy()
        idx = [kp("right_wrist")] + list(range(RIGHT_HAND.start, RIGHT_HAND.stop))
        a = np.deg2rad(35)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        p = kps[kp("right_elbow"), :2]
        turned[idx, :2] = (kps[idx, :2] - p) @ rot.T + p
        rt = Retargeter(kps, np.stack([kps, turned]))
        still = r.deform(prep, rt.ref, rt.frame(0))
        moved = r.deform(prep, rt.ref, rt.frame(1))
        lbs = WarpRenderer(WarpRendererConfig())
        lprep = lbs.prepare(square, ref, height=512)
        driven = lprep.weights[:, [BONE_INDEX["right_forearm"], BONE_INDEX["right_hand"]]].sum(axis=1) > 0.01
        others = np.linalg.norm(moved - still, axis=1)[~driven]  # the two set-ups build the same mesh
        rest = np.linalg.norm(still - prep.mesh.vertices, axis=1)
        rows.append([f"forearm turn, {name}", "512x512",
                     f"other vertices move max {others.max():.2f} px, mean {others.mean():.3f} px",
                     f"rest pose reproduced to {rest.max():.3f} px"])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the memory run")
    parser.add_argument("--frames", type=int, default=300, help="frames for the speed runs")
    args = parser.parse_args()

    from xdancer.image_io import load_image
    from xdancer.pose.detect import detect_image
    from xdancer.pose.sequence import PoseSequence
    from xdancer.render.warp import WarpRenderer
    from xdancer.video.io import VideoWriter

    renderer = WarpRenderer()
    rows = []
    # 1. Set-up per photo (segmentation, inpainting, mesh, rig), median of 3, after one warm-up.
    photos = sorted(p for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg"))
    poses = {}
    for path in photos:
        image = load_image(path)
        poses[path] = (image, detect_image(image))
    renderer.prepare(*poses[photos[0]], height=512)
    for path in photos:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            prep = renderer.prepare(*poses[path], height=512)
            times.append(time.perf_counter() - t0)
        rows.append([f"set-up {path.name}", f"{prep.size[0]}x{prep.size[1]}", f"{np.median(times):.2f} s",
                     f"{len(prep.mesh.vertices)} vertices, {len(prep.mesh.triangles)} triangles"])  # fmt: skip

    # 2. Frames per second at 512 x 512 (the photo padded to a square).
    image, pose = poses[IMAGES / "moore_anyone3.png"]
    square, pad = square_photo(image)
    kps = pose.keypoints.copy()
    kps[..., 0] += pad
    ref = PoseSequence(kps, 30, (square.shape[1], square.shape[0]))
    prep = renderer.prepare(square, ref, height=512)
    dance = PoseSequence(swing_dance(prep.reference_kps, args.frames, 30), 30, prep.size)

    # Wall-clock speed depends on what else the machine runs; the process's CPU time per frame does
    # not (much), so both are given: "CPU fps" = frames per CPU-second of this process.
    def speed(label: str, run) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        n = run()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        rows.append([label, "512x512", f"{n / dt:.1f} fps wall, {n / dc:.1f} fps CPU",
                     f"{1000 * dt / n:.1f} ms/frame wall, {1000 * dc / n:.1f} ms CPU"])  # fmt: skip

    for name in ("lbs", "arap"):
        r = WarpRenderer(type(renderer.config)(deformation=name))
        p = r.prepare(square, ref, height=512)
        speed(f"render only ({name})", lambda r=r, p=p: sum(1 for _ in r.frames(p, dance)))
    # Texture mapping: the id-buffer dense map (used) against one warpAffine per triangle.
    from xdancer.render.retarget import Retargeter

    rt = Retargeter(prep.reference_kps, dance.keypoints)
    frames = [rt.frame(t) for t in range(min(60, len(dance)))]
    out = np.empty((prep.size[1], prep.size[0], 3), np.uint8)

    def dense() -> int:
        for f in frames:
            renderer.render_frame(prep, rt.ref, f, out)
        return len(frames)

    def triangles() -> int:
        for f in frames:
            per_triangle_warp(prep, renderer.deform(prep, rt.ref, f), renderer.draw_order(prep), out)
        return len(frames)

    speed("texture: id buffer + one remap", dense)
    speed("texture: warpAffine per triangle", triangles)
    lbs_vs_arap(square, ref, rows)

    with tempfile.TemporaryDirectory() as tmp:

        def encode() -> int:
            with VideoWriter(Path(tmp) / "speed.mp4", 30, prep.size) as writer:
                for frame in renderer.frames(prep, dance):
                    writer.write(frame)
            return len(dance)

        speed("render + H.264 encode (lbs)", encode)

        # 3. Peak memory for a whole dance, streamed to an mp4 with music.
        long = PoseSequence(swing_dance(prep.reference_kps, int(args.seconds * 30), 30), 30, prep.size)
        music = IMAGES.parent / "music" / "vibe_ace.ogg"
        t0 = time.perf_counter()
        with VideoWriter(
            Path(tmp) / "long.mp4", 30, prep.size, audio=music if music.exists() else None
        ) as writer:
            for frame in renderer.frames(prep, long):
                writer.write(frame)
        dt = time.perf_counter() - t0
        rows.append([f"{args.seconds:.0f} s dance to mp4 (lbs)", "512x512", f"{len(long) / dt:.1f} fps wall",
                     f"peak RSS {peak_rss_mb():.0f} MiB (whole process)"])  # fmt: skip
    load = os.getloadavg()[1]  # over the last 5 minutes, about the length of this run
    record("Warp renderer", ["what", "size", "result", "notes"], rows,
           notes="`python benchmarks/bench_render.py`. Set-up excludes the photo's pose detection (median of 3 "
           "after a warm-up that loads the segmentation model). Load average over the run: "
           f"{load:.1f} on {os.cpu_count()} logical CPUs; with other jobs on the cores, wall-clock speeds are "
           "lower bounds. CPU fps is frames per CPU-second of this process.")  # fmt: skip


if __name__ == "__main__":
    main()
