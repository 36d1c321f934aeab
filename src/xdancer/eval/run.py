"""Evaluation runners: folders in, ``metrics.json`` (and a report) out. No metric math here.

Motion: ``evaluate_motion(generated_dir, real_dir)``. Each folder holds PoseSequence files
``<name>.npz``, each with its music beside it as ``<name>.music.npz`` (a MusicFeatures file; its
beat times are on the clock of the poses, frame i at i / fps), or is a built dataset folder
(``manifest.csv`` + ``clips/``), of which one split is used. Sequences without music get no BAS.

Comparable across runs: at most ``max_sequences`` per folder, chosen with ``seed`` when there are
more (sorted by name first), optionally cut to the first ``seconds``; the counts go into the results.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from xdancer.errors import InputError
from xdancer.eval import metrics as M
from xdancer.eval import motion_features as F
from xdancer.io_utils import atomic_path, check_output_path
from xdancer.pose.sequence import PoseSequence

MUSIC_SUFFIX = ".music.npz"


@dataclass
class MotionEvalConfig:
    """max_sequences: per folder (a seeded choice when there are more). seconds: cut every sequence
    to its first ``seconds`` (None = whole). split: the split used when a folder is a dataset;
    real_split: the one used for the real folder (None = ``split``; "train" with a generated "val" set
    measures the held-out ground truth against the training dances). bas_sigma: BAS sigma in
    seconds. plot_sequences: sequences drawn in the report's beat plots. music_only: leave out the
    sequences without music on both sides (e.g. motion capture without a song)."""

    max_sequences: int = 64
    seed: int = 0
    seconds: float | None = None
    split: str = "val"
    real_split: str | None = None
    bas_sigma: float = M.BAS_SIGMA_SECONDS
    conf_threshold: float = F.CONF_THRESHOLD
    plot_sequences: int = 4
    music_only: bool = False

    def __post_init__(self) -> None:
        if self.max_sequences < 2:
            raise ValueError(
                f"max_sequences must be >= 2 (diversity and FID need pairs), got {self.max_sequences}"
            )
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be positive, got {self.seconds}")
        for name in ("split", "real_split"):
            value = getattr(self, name)
            if value not in ("train", "val", "all") and not (name == "real_split" and value is None):
                raise ValueError(f"{name} must be train, val or all, got {value!r}")
        if not self.bas_sigma > 0:
            raise ValueError(f"bas_sigma must be positive, got {self.bas_sigma}")
        if not 0 <= self.conf_threshold <= 1:
            raise ValueError(f"conf_threshold must lie in [0, 1], got {self.conf_threshold}")
        if self.plot_sequences < 0:
            raise ValueError(f"plot_sequences must be >= 0, got {self.plot_sequences}")


@dataclass
class MotionItem:
    """One dance: its poses and the music beat times (s, on the poses' clock; None without music)."""

    name: str
    poses: PoseSequence
    music_beats: np.ndarray | None


def _music_beats(path: Path) -> np.ndarray | None:
    if not path.exists():
        return None
    from xdancer.music.features import MusicFeatures

    return MusicFeatures.load(path).beat_times


def load_motion_set(folder: str | Path, split: str = "val") -> list[MotionItem]:
    """The dances of a folder of PoseSequence files (music beside them) or of a dataset's split."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"not a folder: {root}")
    if (root / "manifest.csv").exists():
        from xdancer.data.dataset import DanceDataset

        ds = DanceDataset(root)
        infos = ds.clips if split == "all" else ds.split(split)
        items = []
        for info in infos:
            clip = ds.load(info.id)
            beats = clip.music.beat_times if clip.music is not None else None
            items.append(MotionItem(info.id, clip.poses, beats))
    else:
        files = sorted(p for p in root.glob("*.npz") if not p.name.endswith(MUSIC_SUFFIX))
        items = [
            MotionItem(p.stem, PoseSequence.load(p), _music_beats(p.with_name(p.stem + MUSIC_SUFFIX)))
            for p in files
        ]
    if not items:
        raise InputError(
            f"no pose sequences (.npz) found in {root}" + (f" (split {split!r})" if split else "")
        )
    return sorted(items, key=lambda it: it.name)


def choose(items: list[MotionItem], config: MotionEvalConfig) -> list[MotionItem]:
    """At most ``max_sequences`` items (a seeded choice, kept in name order), cut to ``seconds``."""
    if config.music_only:
        items = [it for it in items if it.music_beats is not None]
    if len(items) > config.max_sequences:
        keep = np.random.default_rng(config.seed).choice(len(items), config.max_sequences, replace=False)
        items = [items[i] for i in sorted(keep)]
    if config.seconds is not None:
        items = [
            MotionItem(it.name, it.poses.slice(0, int(round(config.seconds * it.poses.fps))), it.music_beats)
            for it in items
        ]
    return items


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _sequence_record(item: MotionItem, config: MotionEvalConfig) -> dict[str, Any]:
    kps, fps = item.poses.keypoints, item.poses.fps
    beats = F.dance_beats(kps, fps, conf_threshold=config.conf_threshold)
    rec: dict[str, Any] = {
        "name": item.name,
        "frames": len(item.poses),
        "fps": fps,
        "seconds": round(item.poses.duration, 3),
        "dance_beats": int(len(beats)),
        "foot_skating": M.foot_skating(kps, fps, conf_threshold=config.conf_threshold),
        "bas": None,
        "bas_chance": None,
        "music_beats": 0,
    }
    if item.music_beats is not None:
        music = item.music_beats[(item.music_beats >= 0) & (item.music_beats < item.poses.duration)]
        rec["music_beats"] = int(len(music))
        if len(music):
            rec["bas"] = M.beat_align_score(music, beats, sigma=config.bas_sigma)
            rec["bas_chance"] = _finite(M.beat_align_chance(music, beats, sigma=config.bas_sigma))
    return rec


def _describe_set(items: list[MotionItem], config: MotionEvalConfig, label: str, progress: bool):
    """Per-sequence records and feature matrices; sequences whose features cannot be computed
    (e.g. no torso ever seen) are listed as skipped with the reason."""
    records, kinetic, geometric, skipped = [], [], [], []
    for item in tqdm(items, desc=f"{label} features", unit="seq", disable=not progress):
        kps, fps = item.poses.keypoints, item.poses.fps
        try:
            kinetic.append(F.kinetic_features(kps, fps, conf_threshold=config.conf_threshold))
            geometric.append(F.geometric_features(kps, fps, conf_threshold=config.conf_threshold))
            records.append(_sequence_record(item, config))
        except ValueError as e:
            skipped.append({"name": item.name, "reason": str(e)})
    return records, np.array(kinetic), np.array(geometric), skipped


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def _paired_k(gen_rec: list[dict], gen_k: np.ndarray, real_rec: list[dict], real_k: np.ndarray) -> float | None:
    """Paired kinetic distance when both sides hold the same sequence names (a generated dance per
    real clip, named after it), else None."""
    gen_names = [r["name"] for r in gen_rec]
    real_index = {r["name"]: i for i, r in enumerate(real_rec)}
    if sorted(gen_names) != sorted(real_index):
        return None
    return M.paired_distance(gen_k, real_k[[real_index[n] for n in gen_names]])


def evaluate_motion(
    generated_dir: str | Path,
    real_dir: str | Path,
    config: MotionEvalConfig | None = None,
    output: str | Path | None = None,
    report: str | Path | None = None,
    progress: bool = True,
    labels: tuple[str, str] = ("generated", "real"),
) -> dict[str, Any]:
    """BAS, DIV_k / DIV_g, FID_k / FID_g and foot skating of generated dances against real ones.

    Writes ``output`` (metrics.json) and ``report`` (.html or .png) when given; returns the results.
    ``labels`` name the two sides in the report (e.g. ("held-out dances", "training dances")).
    """
    config = config or MotionEvalConfig()
    if output is not None:
        check_output_path(output, (".json",))
    if report is not None:
        check_output_path(report, (".html", ".png"))
    gen_items = choose(load_motion_set(generated_dir, config.split), config)
    real_items = choose(load_motion_set(real_dir, config.real_split or config.split), config)
    gen_rec, gen_k, gen_g, gen_skip = _describe_set(gen_items, config, "generated", progress)
    real_rec, real_k, real_g, real_skip = _describe_set(real_items, config, "real", progress)
    if len(gen_rec) < 2 or len(real_rec) < 2:
        raise InputError(
            f"need at least 2 usable sequences on each side, got {len(gen_rec)} generated and {len(real_rec)} real"
        )

    def summary(records, k, g, skipped, folder) -> dict[str, Any]:
        return {
            "folder": str(folder),
            "n_sequences": len(records),
            "n_with_music": sum(r["bas"] is not None for r in records),
            "seconds_total": round(sum(r["seconds"] for r in records), 2),
            "bas": _mean([r["bas"] for r in records]),
            "bas_chance": _mean([r["bas_chance"] for r in records]),
            "div_k": M.diversity(k, real_k),
            "div_g": M.diversity(g, real_g),
            "foot_skating": _mean([r["foot_skating"] for r in records]),
            "skipped": skipped,
        }

    results: dict[str, Any] = {
        "config": asdict(config),
        "labels": {"generated": labels[0], "real": labels[1]},
        "generated": summary(gen_rec, gen_k, gen_g, gen_skip, generated_dir),
        "real": summary(real_rec, real_k, real_g, real_skip, real_dir),
        "sequences": {"generated": gen_rec, "real": real_rec},
        "units": {
            "bas": f"Bailando's beat alignment score, sigma {config.bas_sigma} s, higher is better",
            "bas_chance": "mean BAS against the music beats shifted over one beat period (chance level)",
            "div_k": "mean pairwise distance of kinetic features z-normalised with the real set's statistics",
            "div_g": "the same for geometric features",
            "fid_k": "Frechet distance of normalised kinetic features to the real set, lower is better",
            "fid_g": "the same for geometric features",
            "paired_k": "mean distance of each sequence's normalised kinetic features to those of the real "
            "sequence of the same name (null unless both sides hold the same names), lower is better",
            "foot_skating": "mean horizontal speed of feet touching the ground line, torso lengths per second",
        },
    }
    results["generated"]["fid_k"] = M.fid_k(gen_k, real_k)
    results["generated"]["fid_g"] = M.fid_g(gen_g, real_g)
    results["generated"]["paired_k"] = _paired_k(gen_rec, gen_k, real_rec, real_k)
    if output is not None:
        write_json(results, output)
    if report is not None:
        from xdancer.eval.report import write_motion_report

        write_motion_report(report, results, gen_items, real_items, config)
    return results


def write_json(results: dict[str, Any], path: str | Path) -> Path:
    """Write results as JSON (atomically); non-finite numbers become null."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, float | np.floating):
            return _finite(float(x))
        if isinstance(x, np.integer):
            return int(x)
        return x

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(clean(results), indent=2) + "\n")
    return path


# --- video -----------------------------------------------------------------------------------------

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv")


@dataclass
class VideoEvalConfig:
    """max_clips_per_video: 16-frame FVD clips taken from the start of each video. max_frames: frames
    per video for PSNR / SSIM / PCK (None = all). pck_alpha: PCK threshold in torso lengths.
    fvd: compute FVD when real videos are given (loads the I3D network)."""

    max_clips_per_video: int = 16
    max_frames: int | None = 300
    pck_alpha: float = 0.1
    conf_threshold: float = F.CONF_THRESHOLD
    fvd: bool = True

    def __post_init__(self) -> None:
        if self.max_clips_per_video < 1:
            raise ValueError(f"max_clips_per_video must be >= 1, got {self.max_clips_per_video}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {self.max_frames}")
        if not self.pck_alpha > 0:
            raise ValueError(f"pck_alpha must be positive, got {self.pck_alpha}")


def _videos(folder: str | Path) -> dict[str, Path]:
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"not a folder: {root}")
    return {p.stem: p for p in sorted(root.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES}


def _paired_frame_metrics(generated: Path, real: Path, max_frames: int | None) -> dict[str, Any]:
    import cv2

    from xdancer.eval.video_metrics import psnr, ssim
    from xdancer.video.io import read_video

    psnrs, ssims = [], []
    for (_, a), (_, b) in zip(read_video(generated), read_video(real), strict=False):
        if max_frames is not None and len(psnrs) >= max_frames:
            break
        if b.shape != a.shape:
            b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
        psnrs.append(psnr(a, b))
        ssims.append(ssim(a, b))
    finite = [v for v in psnrs if math.isfinite(v)]
    return {
        "psnr": float(np.mean(finite)) if finite else None,
        "ssim": float(np.mean(ssims)),
        "frames": len(ssims),
    }


def _pose_agreement(video: Path, driving: PoseSequence, config: VideoEvalConfig) -> dict[str, Any]:
    from xdancer.eval.video_metrics import pck, rescale_keypoints
    from xdancer.pose.detect import detect_video

    detected = detect_video(video, progress=False, max_frames=config.max_frames)
    # match frames by time, and bring the driving poses into the video's pixel frame
    idx = np.round(np.arange(len(detected)) / detected.fps * driving.fps).astype(int)
    keep = idx < len(driving)
    drv = rescale_keypoints(driving.keypoints[idx[keep]], driving.frame_size, detected.frame_size)
    value = pck(drv, detected.keypoints[keep], alpha=config.pck_alpha, conf_threshold=config.conf_threshold)
    return {"pck": value, "frames": int(keep.sum())}


def evaluate_video(
    generated_dir: str | Path,
    real_dir: str | Path | None = None,
    poses_dir: str | Path | None = None,
    config: VideoEvalConfig | None = None,
    output: str | Path | None = None,
    report: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Video metrics of the rendered videos in ``generated_dir``:

    - FVD against all videos of ``real_dir`` (I3D, non-overlapping 16-frame clips from the start);
    - PSNR / SSIM against the real video of the same name, when there is one (frame by frame);
    - PCK@alpha between the driving poses ``<name>.npz`` (in ``poses_dir``, else beside the video)
      and the poses the detector finds on the rendered frames.
    """
    config = config or VideoEvalConfig()
    if output is not None:
        check_output_path(output, (".json",))
    if report is not None:
        check_output_path(report, (".html", ".png"))
    generated = _videos(generated_dir)
    if not generated:
        raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {generated_dir}")
    real = _videos(real_dir) if real_dir is not None else {}
    pose_root = Path(poses_dir) if poses_dir is not None else Path(generated_dir)
    per_video: list[dict[str, Any]] = []
    for name, path in tqdm(generated.items(), desc="videos", unit="video", disable=not progress):
        rec: dict[str, Any] = {"name": name}
        if name in real:
            rec.update(_paired_frame_metrics(path, real[name], config.max_frames))
        pose_file = pose_root / f"{name}.npz"
        if pose_file.exists():
            rec.update(_pose_agreement(path, PoseSequence.load(pose_file), config))
        per_video.append(rec)
    results: dict[str, Any] = {
        "config": asdict(config),
        "generated": {"folder": str(generated_dir), "n_videos": len(generated)},
        "videos": per_video,
        "psnr": _mean([r.get("psnr") for r in per_video]),
        "ssim": _mean([r.get("ssim") for r in per_video]),
        "pck": _mean([r.get("pck") for r in per_video]),
        "n_paired": sum("ssim" in r for r in per_video),
        "n_with_poses": sum("pck" in r for r in per_video),
        "fvd": None,
    }
    if real and config.fvd:
        from xdancer.eval.fvd import fvd, load_i3d, video_features

        model = load_i3d()
        n = config.max_clips_per_video
        gen_f = np.concatenate([video_features(p, model, max_clips=n) for p in generated.values()])
        real_f = np.concatenate([video_features(p, model, max_clips=n) for p in real.values()])
        results.update(
            fvd=fvd(real_f, gen_f),
            fvd_clips_generated=len(gen_f),
            fvd_clips_real=len(real_f),
            real_folder=str(real_dir),
        )
    if output is not None:
        write_json(results, output)
    if report is not None:
        from xdancer.eval.report import write_video_report

        write_video_report(report, results)
    return results
