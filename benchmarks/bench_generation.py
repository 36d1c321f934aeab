"""Motion generator speed: pose tokens for a 60-second dance (goal: <= 6 s on 2 CPU cores).

    python -m benchmarks.bench_generation [--seconds 60] [--repeats 3]

Times :func:`xdancer.generator.generate` (the GPT writing every token, window by window, with the
key/value cache) and the whole :class:`xdancer.choreograph.Choreographer` call (tokens + decoding
to poses), on synthetic music features. Uses the bundled models when present (weights do not change
the speed); an untrained model of the default config otherwise, and the notes say so. Wall-clock
and process CPU time are both reported: on a shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.common import peak_rss_mb, record
from xdancer.choreograph import DEFAULT_GUIDANCE
from xdancer.constants import POSE_FPS
from xdancer.errors import InputError
from xdancer.generator import GPTConfig, MotionGPT, SamplingConfig, generate, load_generator
from xdancer.music.features import GLOBAL_DIM, MUSIC_DIM, MusicFeatures


def synthetic_music(seconds: float) -> MusicFeatures:
    T = int(seconds * POSE_FPS)
    rng = np.random.default_rng(0)
    beats = np.arange(0, T, 15)
    return MusicFeatures(features=rng.normal(size=(T, MUSIC_DIM)).astype(np.float32), names=[f"f{i}" for i in range(MUSIC_DIM)],
                         fps=POSE_FPS, tempo_bpm=120.0, beat_times=beats / POSE_FPS, beat_frames=beats,
                         onset_envelope=np.zeros(T, np.float32), global_context=np.zeros(GLOBAL_DIM, np.float32))  # fmt: skip


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median process CPU seconds) of fn() after one warm-up run."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)), float(np.median(cpu))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)  # decoding runs single-threaded (see xdancer.choreograph.torch_threads)
    try:
        model, which = load_generator(device=args.device), "bundled default"
    except InputError:
        torch.manual_seed(0)
        model, which = MotionGPT(GPTConfig()).to(args.device).eval(), "untrained default-config model"
    cfg = model.cfg
    music = synthetic_music(args.seconds)
    feats = torch.from_numpy(music.features)[None].to(args.device)
    glob = torch.from_numpy(music.global_context)[None].to(args.device)
    n_tok = int(np.ceil(len(music) / cfg.temporal_stride))
    rows = []
    runs = [(1, 1.0), (4, 1.0)] + ([(1, DEFAULT_GUIDANCE)] if cfg.null_music else [])
    for batch, guidance in runs:
        f, g = feats.expand(batch, -1, -1), glob.expand(batch, -1)
        s = SamplingConfig(seed=0, guidance=guidance)
        wall, cpu = timed(lambda f=f, g=g, s=s: generate(model, n_tok, f, g, sampling=s), args.repeats)
        tokens = n_tok * cfg.tokens_per_frame
        label = f"GPT tokens, batch {batch}" + (f", guidance {guidance:g}" if guidance != 1.0 else "")
        rows.append([label, f"{args.seconds:g} s", f"{wall:.2f}", f"{cpu:.2f}",
                     f"{args.seconds * batch / wall:.1f}x", f"{wall / tokens * 1e3:.2f}"])  # fmt: skip
    try:
        from xdancer.choreograph import Choreographer

        chor = Choreographer(device=args.device)
        wall, cpu = timed(lambda: chor(music, seed=0, progress=False), args.repeats)
        rows.append(["choreograph (tokens + poses, default sampling)", f"{args.seconds:g} s", f"{wall:.2f}",
                     f"{cpu:.2f}", f"{args.seconds / wall:.1f}x", "-"])  # fmt: skip
    except InputError as e:
        rows.append(["choreograph (tokens + poses)", f"{args.seconds:g} s", "-", "-", "-", f"not timed: {e}"])
    notes = (
        f"Model: {which} ({model.num_params() / 1e6:.2f} M parameters, {cfg.n_layer} layers x {cfg.n_embd}); "
        f"{cfg.tokens_per_frame} tokens per token frame, temporal stride {cfg.temporal_stride}, "
        f"{cfg.window_frames}-frame windows with {cfg.overlap_frames} overlap; device {args.device}, "
        f"1 torch thread. Goal: 60 s of dance in <= 6 s. Peak RSS {peak_rss_mb():.0f} MiB."
    )
    record("Motion generator", ["what", "dance", "wall s", "CPU s", "x real time", "ms / token"], rows, notes)


if __name__ == "__main__":
    main()
