"""Train the pose tokenizer (X-Dancer's multi-part VQ-VAE, or its single-codebook ablation).

Data: every train-split clip of a built dataset, normalised per sequence
(:func:`xdancer.pose.normalize.normalize`), cut into random windows of ``window`` frames; augmented by
mirroring (left/right swap) and small scale / translation jitter in the body frame. Validation: fixed
windows of the val split. Paper: AdamW, lr 2e-4, batch 2048, 40k steps on 8 A100s; ours is sized for
about an hour on 2 CPU cores (configs/tokenizer/default.yaml), with the paper's in paper.yaml.

Run: ``xdancer train tokenizer --config configs/tokenizer/default.yaml`` or, on several GPUs,
``torchrun --nproc_per_node=N -m xdancer train tokenizer --config ...``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xdancer.checkpoint import save_checkpoint
from xdancer.config import to_dict
from xdancer.errors import InputError
from xdancer.pose.normalize import PoseNormalizer, normalize
from xdancer.pose.skeleton import FACE, LEFT_HAND, MIRROR_PERMUTATION, RIGHT_HAND
from xdancer.tokenizer.config import TokenizerTrainConfig
from xdancer.tokenizer.vqvae import PoseVQVAE
from xdancer.train.common import (
    DistInfo,
    all_reduce_mean,
    cosine_lr,
    load_training_state,
    plot_loss_curves,
    progress,
    save_training_state,
    seed_everything,
    set_lr,
    setup_distributed,
    teardown_distributed,
    training_state_exists,
    unwrap,
    wrap_ddp,
)

SCALE_JITTER = 0.1  # +-10% body size
SHIFT_JITTER = 0.3  # +-0.3 torso lengths of global position
# A clip "shows detail" when at least this share of its hand or face points is seen.
DETAIL_MIN_SEEN = 0.1


@dataclass
class PoseWindows:
    """Normalised clips (each (T_i, 134, 3) float32) and the pixel scale of each, for windowing."""

    clips: list[np.ndarray]
    px_per_unit: np.ndarray  # (n_clips,) pixels of a 512-tall frame per normalised unit
    detailed: np.ndarray = field(init=False)  # (n_clips,) bool: shows hands or a face

    def __post_init__(self) -> None:
        self.detailed = np.array([has_detail(c) for c in self.clips], dtype=bool)

    def __len__(self) -> int:
        return len(self.clips)


def has_detail(clip: np.ndarray) -> bool:
    """Whether a (T, 134, 3) clip shows hands or a face in a useful share of its frames."""
    conf = clip[..., 2]
    hands = conf[:, LEFT_HAND.start : RIGHT_HAND.stop]
    return bool((hands > 0).mean() >= DETAIL_MIN_SEEN or (conf[:, FACE] > 0).mean() >= DETAIL_MIN_SEEN)


def load_windows_source(dataset: str, split: str, window: int) -> PoseWindows:
    """Normalised poses of every ``split`` clip at least ``window`` frames long."""
    from xdancer.data.dataset import DanceDataset
    from xdancer.eval.reconstruction import REFERENCE_HEIGHT

    ds = DanceDataset(dataset)
    clips, scales = [], []
    for info in ds.split(split):
        seq = ds.load(info.id).poses
        if len(seq) < window:
            continue
        norm, transform = normalize(seq.keypoints)
        clips.append(norm)
        scales.append(transform.scale * REFERENCE_HEIGHT / seq.frame_size[1])
    if not clips:
        raise InputError(f"dataset {dataset} has no {split!r} clips of at least {window} frames")
    return PoseWindows(clips, np.asarray(scales, dtype=np.float64))


def sample_batch(
    src: PoseWindows,
    batch: int,
    window: int,
    rng: np.random.Generator,
    augment: bool,
    detail_fraction: float = 0.0,
) -> np.ndarray:
    """(batch, window, 134, 3) random windows, clips drawn in proportion to their length.

    ``detail_fraction`` of the windows (rounded, when such clips exist) come from clips that show
    hands or faces: motion capture has neither, and detected videos are a small share of the data.
    """
    lengths = np.array([len(c) - window + 1 for c in src.clips], dtype=np.float64)
    detailed = src.detailed
    n_detail = int(round(detail_fraction * batch)) if detailed.any() and not detailed.all() else 0
    which = np.concatenate([
        rng.choice(len(src.clips), size=batch - n_detail, p=lengths / lengths.sum()),
        rng.choice(len(src.clips), size=n_detail, p=lengths * detailed / (lengths * detailed).sum()),
    ]).astype(int)  # fmt: skip
    out = np.empty((batch, window, *src.clips[0].shape[1:]), dtype=np.float32)
    for i, c in enumerate(which):
        start = rng.integers(0, len(src.clips[c]) - window + 1)
        out[i] = src.clips[c][start : start + window]
    if augment:
        out = augment_batch(out, rng)
    return out


def augment_batch(poses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror half the windows (x -> -x about the body frame's origin, left/right swapped), then
    jitter scale and global position; unseen points stay at 0."""
    out = poses.copy()
    flip = rng.random(len(out)) < 0.5
    out[flip] = out[flip][:, :, MIRROR_PERMUTATION]
    out[flip, ..., 0] *= -1
    b = len(out)
    scale = 1 + rng.uniform(-SCALE_JITTER, SCALE_JITTER, size=(b, 1, 1, 1))
    shift = rng.uniform(-SHIFT_JITTER, SHIFT_JITTER, size=(b, 1, 1, 2))
    seen = (out[..., 2:3] > 0).astype(np.float32)
    out[..., :2] = ((out[..., :2] * scale + shift) * seen).astype(np.float32)
    return out


def validation_windows(src: PoseWindows, window: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic non-overlapping windows: ((N, window, 134, 3), (N,) px per unit), at most ``limit``."""
    wins, scales = [], []
    for clip, px in zip(src.clips, src.px_per_unit, strict=True):
        for start in range(0, len(clip) - window + 1, window):
            wins.append(clip[start : start + window])
            scales.append(px)
    idx = np.linspace(0, len(wins) - 1, num=min(limit, len(wins))).round().astype(int)
    return np.stack([wins[i] for i in idx]), np.asarray(scales)[idx]


@torch.no_grad()
def validate(
    model: PoseVQVAE, windows: np.ndarray, scales: np.ndarray, batch: int, device: torch.device
) -> dict[str, float]:
    """Mean loss and whole-body pixel error over the validation windows (eval mode, no codebook update)."""
    from xdancer.eval.reconstruction import WHOLE_BODY, part_error_sums

    was = model.training
    model.eval()
    loss_sum, n, err, w = 0.0, 0, 0.0, 0.0
    for i in range(0, len(windows), batch):
        x = torch.as_tensor(windows[i : i + batch], device=device)
        out = model(x)
        loss_sum += float(out.loss) * len(x)
        n += len(x)
        s = part_error_sums(windows[i : i + batch], out.recon.float().cpu().numpy(), scales[i : i + batch])[
            WHOLE_BODY
        ]
        err, w = err + s.abs_sum, w + s.weight
    model.train(was)
    return {"loss": loss_sum / max(n, 1), "px_error": err / w if w > 0 else float("nan")}


def export_tokenizer(path: str | Path, model: PoseVQVAE, normalizer: PoseNormalizer, extra: dict) -> Path:
    """Write the inference checkpoint: weights + {config, normalizer, ...} (loadable by load_tokenizer)."""
    meta = {
        "config": to_dict(model.cfg),
        "normalizer": normalizer.to_dict(),
        "kind": "xdancer.tokenizer",
        **extra,
    }
    return save_checkpoint(path, dict(model.state_dict()), meta)


def train_tokenizer(cfg: TokenizerTrainConfig, resume: bool = True, device: str | None = None) -> Path:
    """Train per ``cfg``; returns the exported tokenizer path (``cfg.out_dir/tokenizer``).

    Resumable: if ``out_dir/last`` exists (and ``resume``), training continues from its step with its
    optimizer state. Under torchrun each process draws different windows (seed + rank).
    """
    dist = setup_distributed(device)
    try:
        return _train(cfg, dist, resume)
    finally:
        teardown_distributed()


def _train(cfg: TokenizerTrainConfig, dist: DistInfo, resume: bool) -> Path:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    rng = np.random.default_rng([cfg.seed, dist.rank])

    # 1. Data: normalised clips; the dataset statistics go into the checkpoint with the model.
    train_src = load_windows_source(cfg.dataset, "train", cfg.window)
    val_src = load_windows_source(cfg.dataset, "val", cfg.window)
    normalizer = PoseNormalizer.fit(train_src.clips)
    val_x, val_px = validation_windows(val_src, cfg.window, cfg.val_batches * cfg.batch_size)

    # 2. Model, optimiser; resume if a training state is there.
    model = PoseVQVAE(cfg.model).to(dist.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state_path = out / "last"
    history: dict[str, list] = {"train": [], "val": [], "val_px": []}
    step, elapsed = 0, 0.0
    if resume and training_state_exists(state_path):
        meta = load_training_state(state_path, model, opt, dist.device)
        step, history, elapsed = int(meta["step"]), meta["history"], float(meta.get("elapsed_s", 0.0))
        rng = np.random.default_rng([cfg.seed, dist.rank, step])
    ddp_model = wrap_ddp(model, dist)

    def save_state() -> None:
        if dist.is_main:
            save_training_state(state_path, model, opt, step,
                                {"config": to_dict(cfg), "history": history, "elapsed_s": elapsed})  # fmt: skip
            plot_loss_curves({"train loss": history["train"], "val loss": history["val"]}, out / "loss.png",
                             title=f"pose tokenizer ({cfg.model.variant})")  # fmt: skip

    # 3. Loop: warm-up + cosine lr, gradient clipping, periodic validation and checkpoints.
    t0 = time.perf_counter() - elapsed
    bar = progress(total=cfg.steps, initial=step, desc=f"tokenizer {cfg.model.variant}", enabled=dist.is_main)
    ddp_model.train()
    running, running_n = 0.0, 0
    while step < cfg.steps:
        set_lr(opt, cosine_lr(step, cfg.steps, cfg.lr, cfg.warmup_steps))
        x = torch.as_tensor(
            sample_batch(train_src, cfg.batch_size, cfg.window, rng, cfg.augment, cfg.detail_fraction),
            device=dist.device,
        )
        result = ddp_model(x)
        opt.zero_grad(set_to_none=True)
        result.loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        running, running_n = running + float(result.loss.detach()), running_n + 1
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{running / running_n:.4f}", coord=f"{result.losses['coord']:.4f}")
        if step % cfg.val_every == 0 or step == cfg.steps:
            history["train"].append((step, all_reduce_mean(running / running_n, dist)))
            running, running_n = 0.0, 0
            v = validate(model, val_x, val_px, cfg.batch_size, dist.device)
            history["val"].append((step, v["loss"]))
            history["val_px"].append((step, v["px_error"]))
            if dist.is_main:
                bar.write(f"step {step}: train {history['train'][-1][1]:.4f}  val {v['loss']:.4f}  "
                          f"val whole-body error {v['px_error']:.2f} px")  # fmt: skip
        elapsed = time.perf_counter() - t0
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            save_state()
    bar.close()

    # 4. Export the inference checkpoint (weights, config, normaliser statistics, provenance).
    final = out / "tokenizer"
    if dist.is_main:
        extra = {"steps": step, "train_seconds": round(elapsed, 1), "train_config": to_dict(cfg),
                 "train_clips": len(train_src), "val_clips": len(val_src), "history": history}  # fmt: skip
        export_tokenizer(final, unwrap(ddp_model), normalizer, extra)
        (out / "history.json").write_text(json.dumps(history))
    return final
