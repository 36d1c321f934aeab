"""Hands and head of the pose tokenizer, multi-part against single codebook, one video held out at a time.

    python -m benchmarks.bench_tokenizer_hands [--dataset work/dataset] [--out outputs/tokenizer_hands] [--jobs 2] [--steps 3500]

Only the detected videos show hands and faces, and a dataset split holds out one of them, so a
validation hand error rests on a few seconds of one person. This leave-one-video-out comparison
holds out each video in turn: for every fold a view of the dataset is written (its manifest with
that video in validation and the other videos in training, every other clip's split unchanged; the
clips themselves are linked, not copied), the multi-part and the single-codebook tokenizer are
trained on it with the bundled configs (``configs/tokenizer/default.yaml`` and
``single_codebook.yaml``, seed 0) for the same ``--steps``, and both are evaluated on the held-out
video alone (``xdancer eval tokenizer --source videos``). In the fold whose held-out video is the
dataset's own validation video, a bundled checkpoint trained for exactly ``--steps`` is used as it
is (same data, same command) unless ``--retrain-all``.

Trainings run ``--jobs`` at a time, one thread each (about 10 minutes per model on one CPU core at
3500 steps); a fold already trained under ``--out`` is reused. Prints per-fold and pooled
L1 errors (pooled: every held-out video's frames together, weighted by confidence as in one
evaluation) and writes the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.common import record
from xdancer.data.dataset import DanceDataset
from xdancer.data.manifest import CLIPS_DIR, write_manifest
from xdancer.eval.reconstruction import ROW_TITLES, evaluate_tokenizer, pooled_errors
from xdancer.tokenizer import ABLATION_CHECKPOINT, DEFAULT_CHECKPOINT, load_tokenizer

SOURCE = "videos"  # the clips with hands and faces
MODELS = {"multi-part": "configs/tokenizer/default.yaml", "single codebook": "configs/tokenizer/single_codebook.yaml"}
BUNDLED = {"multi-part": DEFAULT_CHECKPOINT, "single codebook": ABLATION_CHECKPOINT}


def fold_dataset(root: Path, held_out: str, out: Path) -> Path:
    """A view of ``root`` in which video group ``held_out`` is the validation video: a new manifest,
    the clips linked."""
    ds = DanceDataset(root)
    clips = [
        replace(c, split=("val" if c.group == held_out else "train")) if c.source == SOURCE else c
        for c in ds.clips
    ]
    out.mkdir(parents=True, exist_ok=True)
    link = out / CLIPS_DIR
    if not link.exists():
        link.symlink_to((root / CLIPS_DIR).resolve(), target_is_directory=True)
    write_manifest(out, clips)
    return out


def train_all(jobs: list[tuple[str, Path, Path]], parallel: int, steps: int) -> None:
    """Run ``xdancer train tokenizer`` for each (config, dataset, out_dir), ``parallel`` at a time."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    pending, running = list(jobs), []
    t0 = time.perf_counter()
    while pending or running:
        while pending and len(running) < parallel:
            config, dataset, out_dir = pending.pop(0)
            out_dir.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "xdancer", "train", "tokenizer", "--config", config,
                   "--set", f"dataset={dataset}", "--set", f"out_dir={out_dir}", "--set", f"steps={steps}"]  # fmt: skip
            log = open(out_dir / "train.log", "w")  # noqa: SIM115 (closed when the run ends)
            running.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log, out_dir))
            print(f"[{time.perf_counter() - t0:6.0f} s] training {out_dir}", flush=True)
        time.sleep(5)
        for item in list(running):
            proc, log, out_dir = item
            if proc.poll() is None:
                continue
            log.close()
            running.remove(item)
            if proc.returncode:
                raise SystemExit(f"training failed ({proc.returncode}); see {out_dir / 'train.log'}")
            print(f"[{time.perf_counter() - t0:6.0f} s] done {out_dir}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="work/dataset")
    ap.add_argument("--out", default="outputs/tokenizer_hands")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at a time (one thread each)")
    ap.add_argument("--steps", type=int, default=3500, help="training steps of every model (the comparison's schedule)")
    ap.add_argument("--retrain-all", action="store_true", help="also retrain the fold of the bundled pair")
    args = ap.parse_args()

    root, out = Path(args.dataset), Path(args.out)
    ds = DanceDataset(root)
    groups = sorted({c.group for c in ds.clips if c.source == SOURCE})
    own_val = {c.group for c in ds.split("val") if c.source == SOURCE}
    if len(groups) < 2:
        raise SystemExit(f"{root} has {len(groups)} {SOURCE} dances; a held-out comparison needs two or more")

    # The bundled pair stands in for the fold of the dataset's own validation video when it was trained
    # exactly as the other folds are (each checkpoint read once, not once per fold).
    reuse = len(own_val) == 1 and not args.retrain_all
    bundled_fits = {name: reuse and load_tokenizer(p).meta.get("steps") == args.steps for name, p in BUNDLED.items()}
    folds, jobs = {}, []
    for g in groups:
        data = fold_dataset(root, g, out / g / "dataset")
        ckpts = {}
        for name, config in MODELS.items():
            if g in own_val and bundled_fits[name]:
                ckpts[name] = BUNDLED[name]
                continue
            run_dir = out / g / Path(config).stem
            ckpts[name] = run_dir / "tokenizer"
            if not ckpts[name].with_suffix(".safetensors").is_file():
                jobs.append((config, data, run_dir))
        folds[g] = (data, ckpts)
    train_all(jobs, args.jobs, args.steps)

    reports = {name: {} for name in MODELS}
    for g, (data, ckpts) in folds.items():
        for name, ckpt in ckpts.items():
            reports[name][g] = evaluate_tokenizer(load_tokenizer(ckpt), str(data), "val", source=SOURCE,
                                                  progress=False)  # fmt: skip
    pooled = {name: pooled_errors(list(r.values())) for name, r in reports.items()}

    focus = ("head", "left_hand", "right_hand", "whole_body")
    header = ["held-out video", "frames"] + [f"{m} {ROW_TITLES[r]}" for m in MODELS for r in focus]
    frames = {g: reports["multi-part"][g].frames for g in groups}
    rows = [[g, frames[g]] + [f"{reports[m][g].errors[r]:.2f}" for m in MODELS for r in focus] for g in groups]
    rows.append(["**pooled**", sum(frames.values())] + [f"**{pooled[m][r]:.2f}**" for m in MODELS for r in focus])
    wins = {r: sum(reports["multi-part"][g].errors[r] < reports["single codebook"][g].errors[r] for g in groups)
            for r in focus}  # fmt: skip
    notes = (
        f"Leave-one-video-out over the {len(groups)} detected videos of {root} (the only clips with hands and "
        f"faces): per fold the two tokenizers are trained {args.steps} steps with {' and '.join(MODELS.values())} "
        f"on a dataset whose validation video is that one, and evaluated on it alone "
        f"(mean confidence-weighted L1, px of a 512-tall frame). Pooled: all held-out frames as one "
        f"evaluation. Multi-part lower in "
        + ", ".join(f"{ROW_TITLES[r]} {wins[r]}/{len(groups)}" for r in focus)
        + " folds. Upper and lower body, pooled: multi-part "
        + f"{pooled['multi-part']['upper_body']:.2f} / {pooled['multi-part']['lower_body']:.2f}, single codebook "
        + f"{pooled['single codebook']['upper_body']:.2f} / {pooled['single codebook']['lower_body']:.2f} px."
    )
    record("Pose tokenizer: hands and head, leave one video out", header, rows, notes)
    summary = {name: {"pooled": pooled[name], "folds": {g: rep.to_dict() for g, rep in r.items()}}
               for name, r in reports.items()}  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
