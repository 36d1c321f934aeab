"""Pose tokenizer throughput: encode and decode a 60-second dance (1800 frames at 30 fps) on CPU.

    python -m benchmarks.bench_tokenizer [--threads 2]

Uses the bundled default when it is present (weights do not change the speed of a convolutional
model; a freshly initialised default-config model is timed otherwise, and the notes say so).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.common import median_time, peak_rss_mb, record
from xdancer.constants import POSE_FPS
from xdancer.errors import InputError
from xdancer.pose.skeleton import NUM_KEYPOINTS
from xdancer.tokenizer import PoseTokenizer, load_tokenizer
from xdancer.tokenizer.config import TokenizerConfig
from xdancer.tokenizer.vqvae import PoseVQVAE

SECONDS = 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        tok, which = load_tokenizer(), "bundled default"
    except InputError:
        torch.manual_seed(0)
        tok, which = PoseTokenizer(PoseVQVAE(TokenizerConfig()).eval()), "untrained default config"
    frames = SECONDS * POSE_FPS
    rng = np.random.default_rng(0)
    poses = torch.as_tensor(rng.normal(size=(1, frames, NUM_KEYPOINTS, 3)).astype(np.float32))
    poses[..., 2] = 1.0
    tokens = tok.encode(poses)
    rows = []
    for name, fn in (("encode 60 s", lambda: tok.encode(poses)), ("decode 60 s", lambda: tok.decode(tokens))):
        t = median_time(fn, repeats=5)
        rows.append([name, f"{t * 1000:.1f}", f"{frames / t:,.0f}", f"{SECONDS / t:,.0f}x"])
    n_params = sum(p.numel() for p in tok.model.parameters())
    notes = (
        f"Model: {which}, {n_params / 1e6:.2f} M parameters, {tok.tokens_per_second:.0f} tokens per second of dance "
        f"({tok.num_parts} parts x {tok.tokens_per_part} per {tok.temporal_stride} frames). Batch 1, "
        f"{args.threads} threads, fp32. Peak RSS {peak_rss_mb():.0f} MiB."
    )
    record("Pose tokenizer", ["operation", "ms", "frames/s", "real time"], rows, notes)


if __name__ == "__main__":
    main()
