"""Warp renderer fidelity on whole dances: does a pose detector find the body where it was drawn?

    python -m benchmarks.bench_render_recovery [--seconds 10] [--every 10] [--seed 0]

The renderer tests (tests/test_render_warp.py) drive each photo with three poses made from its own
pose. This benchmark drives every photo in ../shared/data/images with whole dances:

- real: the dances detected in ../shared/data/videos/animatex_dance_1.mp4 and musepose_dance.mp4;
- generated: the bundled generator's dance for each song in ../shared/data/music (its first
  ``--seconds``, starting from the photo's pose, as ``xdancer dance`` does).

Every ``--every``-th frame is rendered at 512 rows; the detector looks for one person in a crop around
where the body was drawn (the retargeted rig joints, 0.6 torso lengths of margin: a busy street behind
the dancer has people of its own), and its 14 body joints (nose, neck, shoulders, elbows, wrists, hips,
knees, ankles) are compared with the rig joints the frame was drawn at: PCK at 0.1 of the torso length
(``xdancer.eval.video_metrics.pck``; a joint the detector misses counts as wrong). Frames in which the
driving dancer shows their back are counted apart: the photo shows the person's front, so the renderer
draws them from the front with left and right swapped (render/retarget.py), and the drawn joints are
named as drawn.

Reference row: the detector on the real videos' own frames, one at a time, against its tracked
detection of the whole video (how far the detector agrees with itself on real people).

Writes the table to docs/benchmarks.md and docs/images/render_recovery.png (per photo, the four
generated frames with the lowest PCK: green where the body was drawn, red where it was found).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.common import record
from xdancer.eval.motion_features import CONF_THRESHOLD
from xdancer.eval.video_metrics import PCK_ALPHA

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEOS = ("animatex_dance_1.mp4", "musepose_dance.mp4")
HEIGHT = 512
MARGIN = 0.6  # crop margin around the drawn joints, in torso lengths
JOINT_NAMES = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
               "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")  # fmt: skip
GROUPS = {
    "head and torso": ("nose", "neck", "right_shoulder", "left_shoulder", "right_hip", "left_hip"),
    "arms": ("right_elbow", "right_wrist", "left_elbow", "left_wrist"),
    "legs": ("right_knee", "right_ankle", "left_knee", "left_ankle"),
}


def torso_length(drawn: np.ndarray) -> float:
    """Neck to mid-hip of one (134, 3) pose, in pixels."""
    from xdancer.pose.skeleton import kp

    hips = 0.5 * (drawn[kp("right_hip"), :2] + drawn[kp("left_hip"), :2])
    return float(np.linalg.norm(drawn[kp("neck"), :2] - hips))


def detect_near(frame: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """(134, 3) keypoints the detector finds in ``frame`` (H, W, 3) near the drawn body ``drawn``
    (134, 3), in frame pixels; all zero (every joint missed) when it finds nobody."""
    from xdancer.errors import InputError
    from xdancer.pose.detect import detect_image

    h, w = frame.shape[:2]
    pts = drawn[drawn[:, 2] > 0, :2]
    margin = MARGIN * torso_length(drawn)
    x0, y0 = np.maximum(np.floor(pts.min(axis=0) - margin), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0) + margin), [w, h]).astype(int)
    try:
        found = detect_image(np.ascontiguousarray(frame[y0:y1, x0:x1]), allow_multiple=True).keypoints[0]
    except InputError:
        return np.zeros_like(drawn)
    found = found.astype(np.float64)
    found[:, 0] += x0
    found[:, 1] += y0
    return found


def recovery(renderer, prep, dance, every: int):
    """Render every ``every``-th frame of ``dance`` and look for the body in it.

    Returns the drawn keypoints (N, 134, 3): the rig joints at the 14 body points, confidence 1 where
    the photo's rig has the joint, the driving pose shows it and it lies in the frame, else 0 (left and
    right as the photo's, see retarget.py); the found keypoints (N, 134, 3); the back-to-camera flags
    (N,); the N frames. Every frame is retargeted, in order, as the renderer does (the retargeter holds
    angles from one frame to the next), and only the checked ones are rendered.
    """
    from xdancer.pose.skeleton import NUM_KEYPOINTS, kp
    from xdancer.render.rig import BONES, J

    retarget = renderer.retarget(prep, dance)
    w, h = prep.size
    # A photo cut at the waist draws no legs: only the joints of the bones the photo has are drawn.
    rigged = {j for bone, on in zip(BONES, retarget.active, strict=True) if on
              for j in (bone.parent_joint, bone.child_joint)}  # fmt: skip
    drawn, found, back, images = [], [], [], []
    for t in range(len(retarget)):
        fr = retarget.frame(t)
        if t % every:
            continue
        pose = np.zeros((NUM_KEYPOINTS, 3))
        for name in JOINT_NAMES:
            x, y = fr.joints[J[name]]
            shown = J[name] in rigged and retarget.drive[t, J[name], 2] >= CONF_THRESHOLD and 0 <= x < w and 0 <= y < h
            pose[kp(name)] = (x, y, float(shown))
        image = renderer.render_frame(prep, retarget.ref, fr)
        drawn.append(pose)
        found.append(detect_near(image, pose))
        back.append(fr.facing_away)
        images.append(image)
    return np.stack(drawn), np.stack(found), np.array(back), images


def scores(drawn: np.ndarray, found: np.ndarray, keep: np.ndarray) -> dict[str, float]:
    """PCK@0.1 over all 14 joints and per group, on the frames ``keep``; NaN where nothing is left."""
    from xdancer.eval.video_metrics import pck
    from xdancer.pose.skeleton import kp

    if keep.sum() == 0:
        return {k: float("nan") for k in ("all", *GROUPS)}
    d, f = drawn[keep], found[keep]
    out = {"all": pck(d, f, joints=tuple(kp(n) for n in JOINT_NAMES))}
    for group, names in GROUPS.items():
        joints = tuple(kp(n) for n in names)
        out[group] = pck(d, f, joints=joints) if (d[:, list(joints), 2] > 0).any() else float("nan")
    return out


def frame_pck(drawn: np.ndarray, found: np.ndarray) -> float:
    """PCK@0.1 of one frame (134, 3) pair (torso length of the drawn frame)."""
    from xdancer.pose.skeleton import kp

    idx = [kp(n) for n in JOINT_NAMES]
    asked = drawn[idx, 2] > 0
    close = np.linalg.norm(found[idx, :2] - drawn[idx, :2], axis=1) <= PCK_ALPHA * torso_length(drawn)
    ok = (found[idx, 2] >= CONF_THRESHOLD) & close
    return float(ok[asked].mean()) if asked.any() else 1.0


def marked(image: np.ndarray, drawn: np.ndarray, found: np.ndarray, height: int = 256) -> np.ndarray:
    """The frame with the drawn joints (green dots), the found ones (red rings) and a line between,
    scaled to ``height`` rows."""
    import cv2

    from xdancer.pose.skeleton import kp

    out = image.copy()
    for name in JOINT_NAMES:
        d, f = drawn[kp(name)], found[kp(name)]
        if d[2] <= 0:
            continue
        p = tuple(int(round(v)) for v in d[:2])
        cv2.circle(out, p, 4, (0, 220, 0), -1)
        if f[2] >= CONF_THRESHOLD:
            q = tuple(int(round(v)) for v in f[:2])
            cv2.line(out, p, q, (255, 255, 255), 1)
            cv2.circle(out, q, 5, (230, 0, 0), 2)
    h, w = out.shape[:2]
    return cv2.resize(out, (round(w * height / h), height), interpolation=cv2.INTER_AREA)


def detector_self_agreement(every: int) -> tuple[float, int]:
    """PCK@0.1 of single-image detection on the real videos' frames against the tracked detection."""
    from xdancer.eval.video_metrics import pck
    from xdancer.pose.detect import detect_video
    from xdancer.pose.skeleton import kp
    from xdancer.video.io import read_video

    drv, det = [], []
    for name in VIDEOS:
        dance = detect_video(SHARED / "videos" / name, progress=False)
        for t, (_, frame) in enumerate(read_video(SHARED / "videos" / name)):
            if t % every == 0 and t < len(dance):
                target = dance.keypoints[t].astype(np.float64)
                drv.append(target)
                det.append(detect_near(frame, np.where(target[:, 2:] >= CONF_THRESHOLD, target, 0.0)))
    joints = tuple(kp(n) for n in JOINT_NAMES)
    return pck(np.stack(drv), np.stack(det), joints=joints), len(drv)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of each generated dance")
    ap.add_argument("--every", type=int, default=10, help="render and check every N-th frame")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated dances")
    args = ap.parse_args()
    if not (SHARED / "images").is_dir():
        raise SystemExit(f"needs the test photos in {SHARED / 'images'}")

    from tqdm import tqdm

    from xdancer.choreograph import Choreographer
    from xdancer.image_io import load_image, save_image
    from xdancer.music.features import music_features
    from xdancer.pose.detect import detect_image, detect_video
    from xdancer.render.warp import WarpRenderer

    renderer = WarpRenderer()
    chor = Choreographer()
    real = {name: detect_video(SHARED / "videos" / name, progress=False) for name in VIDEOS}
    songs = {p.stem: music_features(p, duration=args.seconds, progress=False)
             for p in sorted((SHARED / "music").glob("*.ogg"))}  # fmt: skip
    rows, panels = [], []
    photos = sorted((SHARED / "images").iterdir())
    for path in tqdm(photos, desc="photos", unit="photo"):
        image = load_image(path)
        pose = detect_image(image)
        prep = renderer.prepare(image, pose, height=HEIGHT)
        sets = {"real": list(real.values())}
        sets["generated"] = [chor(music, reference_pose=pose, seconds=min(args.seconds, music.duration), seed=args.seed,
                                  progress=False)
                             for music in songs.values()]  # fmt: skip
        for kind, dances in sets.items():
            runs = [recovery(renderer, prep, dance, args.every) for dance in dances]
            drawn = np.concatenate([r[0] for r in runs])
            found = np.concatenate([r[1] for r in runs])
            back = np.concatenate([r[2] for r in runs])
            front = scores(drawn, found, ~back)
            rows.append([path.name, kind, len(back), int(back.sum()), f"{scores(drawn, found, np.ones_like(back))['all']:.2f}",
                         f"{front['all']:.2f}",
                         *(f"{front[g]:.2f}" for g in GROUPS), f"{scores(drawn, found, back)['all']:.2f}"])  # fmt: skip
            if kind == "generated":
                images = [im for r in runs for im in r[3]]
                per = [frame_pck(d, f) if not b else np.inf for d, f, b in zip(drawn, found, back, strict=True)]
                worst = sorted(np.argsort(per, kind="stable")[:4])
                panels.append(np.hstack([marked(images[i], drawn[i], found[i]) for i in worst]))
    agree, n = detector_self_agreement(args.every)
    rows.append(["(real video frames)", "detector vs itself", n, "-", f"{agree:.2f}", "-", "-", "-", "-", "-"])

    width = max(p.shape[1] for p in panels)
    sheet = np.vstack([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0))) for p in panels])
    out = Path(__file__).resolve().parents[1] / "docs" / "images" / "render_recovery.png"
    save_image(out, sheet)
    record(
        "Warp renderer: pose recovery on whole dances",
        ["photo", "dances", "frames", "of them back to camera", "PCK@0.1", "PCK@0.1 facing",
         *(f"{g} (facing)" for g in GROUPS), "PCK@0.1 back to camera"],
        rows,
        notes=(
            f"`python -m benchmarks.bench_render_recovery --seconds {args.seconds:g} --every {args.every} "
            f"--seed {args.seed}`: real = {', '.join(VIDEOS)}; generated = the bundled generator on the "
            f"{len(songs)} songs of ../shared/data/music ({args.seconds:g} s each, from the photo's pose); every "
            f"{args.every}th frame at {HEIGHT} rows. Pictures of the worst generated frames: "
            "docs/images/render_recovery.png."
        ),
    )


if __name__ == "__main__":
    main()
