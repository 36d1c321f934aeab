"""Train the motion generator (X-Dancer's music-conditioned GPT) on pose tokens of a built dataset.

1. Every clip with music is tokenized once by the frozen tokenizer (poses normalised per sequence as
   :meth:`PoseTokenizer.encode_sequence` does); with ``augment`` its mirror image (left/right swap)
   is tokenized too, under the same music, and so are tempo changes of motion and music together
   (:func:`xdancer.data.augment.time_stretch`, at each of ``tempo_rates``).
2. Training windows of ``model.window_frames`` token frames are drawn at random starts, with the
   music around them (for the music convolution), the whole clip's music summary (global music
   context) and ``n_context_frames`` frames sampled uniformly from the segment one window-step
   earlier (global motion context), exactly where inference takes them from; windows near a clip's
   start, and a ``context_dropout`` share of the others, train the "no previous segment" case.
3. Next-token cross-entropy, AdamW, warm-up + cosine lr, gradient clipping; validation on fixed
   windows of the val split laid out as inference lays them; resumable checkpoints; a loss plot.

Paper: GPT-2 small/medium, 64-frame windows, batch 24, lr 1e-4, 300k steps on 8 A100s. The bundled
default is a 4-layer model trained for well under an hour on 2 CPU cores (configs/generator/default.yaml).

Run: ``xdancer train generator --config configs/generator/default.yaml`` or, on several GPUs,
``torchrun --nproc_per_node=N -m xdancer train generator --config ...``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xdancer.config import to_dict
from xdancer.errors import InputError
from xdancer.generator import MotionGPT, export_generator
from xdancer.generator.config import GPTConfig
from xdancer.generator.sampling import context_indices
from xdancer.pose.normalize import normalize
from xdancer.pose.skeleton import MIRROR_PERMUTATION
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


@dataclass
class GeneratorTrainConfig:
    """One training run.

    model: the GPT; its token layout and music sizes are taken from the tokenizer and the data.
    dataset: folder made by ``xdancer data build``; tokenizer: checkpoint ("" = the bundled default).
    init: a generator checkpoint to start from (fine-tuning, e.g. after the tokenizer was refined);
        "" = random initialisation. Its architecture must match ``model``.
    steps, batch_size, lr, warmup_steps, weight_decay, grad_clip: AdamW with cosine decay.
    augment, tempo_rates: mirror images and tempo changes (playback rates) of every training clip.
    context_dropout: share of windows trained without their motion context.
    music_dropout: share of windows trained without their music (the learned "no music" embeddings
        stand in), which makes classifier-free guidance possible at sampling; 0 = off.
    val_every / ckpt_every: steps between validations / resumable checkpoints.
    threads: torch CPU threads (0 = torch's default). out_dir: run folder; final model ``out_dir/generator``.
    """

    model: GPTConfig = field(default_factory=GPTConfig)
    dataset: str = "work/dataset"
    tokenizer: str = ""
    init: str = ""
    steps: int = 3000
    batch_size: int = 32
    lr: float = 5e-4
    warmup_steps: int = 100
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    augment: bool = True
    tempo_rates: tuple[float, ...] = (0.9, 1.1)
    context_dropout: float = 0.1
    music_dropout: float = 0.0
    val_every: int = 250
    val_batches: int = 8
    ckpt_every: int = 250
    seed: int = 0
    threads: int = 0
    out_dir: str = "outputs/generator"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "val_every", "val_batches", "ckpt_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.warmup_steps < 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("lr must be > 0; warmup_steps, weight_decay and grad_clip >= 0")
        if not 0 <= self.context_dropout <= 1:
            raise ValueError(f"context_dropout must lie in [0, 1], got {self.context_dropout}")
        if not 0 <= self.music_dropout < 1:
            raise ValueError(f"music_dropout must lie in [0, 1), got {self.music_dropout}")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")
        if any(not 0.5 <= r <= 2.0 for r in self.tempo_rates):
            raise ValueError(f"tempo_rates must lie in [0.5, 2], got {self.tempo_rates}")


@dataclass
class TokenClip:
    """One tokenized clip: tokens (T', n) long, music (T' * stride, D) float32, summary (G,) float32."""

    tokens: np.ndarray
    music: np.ndarray
    global_context: np.ndarray


def tokenize_split(dataset: str, split: str, tokenizer, augment: bool, tempo_rates: tuple[float, ...] = (),
                   enabled: bool = True) -> list[TokenClip]:  # fmt: skip
    """Tokenize every ``split`` clip that has music; with ``augment`` also its mirror image and its
    tempo changes (motion and music played at each of ``tempo_rates``)."""
    from xdancer.data.augment import time_stretch
    from xdancer.data.dataset import DanceDataset

    ds = DanceDataset(dataset)
    infos = [c for c in ds.split(split) if c.has_music]
    if not infos:
        raise InputError(f"dataset {dataset} has no {split!r} clips with music")
    S, out = tokenizer.temporal_stride, []
    for info in progress(infos, desc=f"tokenizing {split}", enabled=enabled):
        clip = ds.load(info.id)
        takes = [(clip.poses.keypoints, clip.music, augment)]
        if augment:
            takes += [(*time_stretch(clip.poses.keypoints, clip.music, rate), False) for rate in tempo_rates]
        for keypoints, music, with_mirror in takes:
            norm, _ = normalize(keypoints)
            pad = (-len(norm)) % S
            norm = np.concatenate([norm, np.repeat(norm[-1:], pad, axis=0)])
            feats = np.concatenate([music.features, np.repeat(music.features[-1:], pad, axis=0)]).astype(
                np.float32
            )
            variants = [norm]
            if with_mirror:
                mirrored = norm[:, MIRROR_PERMUTATION].copy()
                mirrored[..., 0] *= -1
                variants.append(mirrored)
            for v in variants:
                with torch.no_grad():
                    tokens = tokenizer.encode(v[None])[0].reshape(len(v) // S, -1).cpu().numpy()
                out.append(TokenClip(tokens, feats, music.global_context.astype(np.float32)))
    return out


def music_statistics(clips: list[TokenClip]) -> dict[str, np.ndarray]:
    """Mean and std of the frame-wise music and of the track summaries over the training clips."""
    frames = np.concatenate([c.music for c in clips])
    summaries = np.stack([c.global_context for c in clips])
    return {
        "music.mean": frames.mean(0), "music.std": frames.std(0) + 1e-3,
        "global_mean": summaries.mean(0), "global_std": summaries.std(0) + 1e-3,
    }  # fmt: skip


def window_batch(clips: list[TokenClip], picks: list[tuple[int, int, bool]], cfg: GPTConfig,
                 music_fill: np.ndarray) -> dict[str, torch.Tensor]:  # fmt: skip
    """Windows (clip index, start token frame, use motion context) -> a batch of tensors.

    tokens (B, W, n); music (B, (W + 2m) * S, D) from m token frames before the window to m after
    (music_fill where the clip has none: the mean, i.e. zero after normalisation, as the
    convolution's padding at a track's ends at inference); global_context (B, G);
    context_tokens (B, F, n) and context_mask (B,).
    """
    W, Ov, S, F = cfg.window_frames, cfg.overlap_frames, cfg.temporal_stride, cfg.n_context_frames
    m = cfg.music_kernel // 2
    B, n = len(picks), cfg.tokens_per_frame
    tokens = np.zeros((B, W, n), np.int64)
    music = np.repeat(np.repeat(music_fill[None, None], B, 0), (W + 2 * m) * S, 1).astype(np.float32)
    glob = np.zeros((B, cfg.global_dim), np.float32)
    ctx = np.zeros((B, F, n), np.int64)
    mask = np.zeros(B, bool)
    for i, (c, s, use_ctx) in enumerate(picks):
        clip = clips[c]
        tokens[i] = clip.tokens[s : s + W]
        lo, hi = (s - m) * S, (s + W + m) * S
        a, b = max(lo, 0), min(hi, len(clip.music))
        music[i, a - lo : b - lo] = clip.music[a:b]
        glob[i] = clip.global_context
        if use_ctx and s >= W - Ov:
            ctx[i] = clip.tokens[context_indices(s - W + Ov, s - W + Ov + W, F).numpy()]
            mask[i] = True
    t = torch.from_numpy
    return {"tokens": t(tokens), "music": t(music), "global_context": t(glob), "context_tokens": t(ctx),
            "context_mask": t(mask)}  # fmt: skip


def random_picks(clips: list[TokenClip], batch: int, cfg: GPTConfig, rng: np.random.Generator,
                 context_dropout: float) -> list[tuple[int, int, bool]]:  # fmt: skip
    W = cfg.window_frames
    lengths = np.array([max(len(c.tokens) - W + 1, 0) for c in clips], dtype=np.float64)
    which = rng.choice(len(clips), size=batch, p=lengths / lengths.sum())
    return [(int(c), int(rng.integers(0, lengths[c])), bool(rng.random() >= context_dropout)) for c in which]


def validation_picks(clips: list[TokenClip], cfg: GPTConfig, limit: int) -> list[tuple[int, int, bool]]:
    """Windows laid out as inference lays them (step W - overlap, context from the previous window)."""
    W, step = cfg.window_frames, cfg.window_frames - cfg.overlap_frames
    picks = [(c, s, True) for c, clip in enumerate(clips) for s in range(0, len(clip.tokens) - W + 1, step)]
    idx = np.linspace(0, len(picks) - 1, num=min(limit, len(picks))).round().astype(int)
    return [picks[i] for i in idx]


def batch_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], cfg: GPTConfig, device: torch.device,
               keep_music: torch.Tensor | None = None):  # fmt: skip
    b = {k: v.to(device) for k, v in batch.items()}
    keep = None if keep_music is None else keep_music.to(device)
    return model(b["tokens"], b["music"], b["global_context"], b["context_tokens"], b["context_mask"],
                 targets=b["tokens"], music_offset=cfg.music_kernel // 2, keep_music=keep)  # fmt: skip


@torch.no_grad()
def validate(model: MotionGPT, clips: list[TokenClip], picks: list, batch: int, fill: np.ndarray,
             device: torch.device) -> dict[str, float]:  # fmt: skip
    """Mean next-token loss and top-1 accuracy over the validation windows."""
    was = model.training
    model.eval()
    loss, correct, n = 0.0, 0, 0
    for i in range(0, len(picks), batch):
        b = window_batch(clips, picks[i : i + batch], model.cfg, fill)
        out = batch_loss(model, b, model.cfg, device)
        loss += float(out.loss) * len(b["tokens"])
        correct += int((out.logits.argmax(-1).cpu() == b["tokens"].reshape(len(b["tokens"]), -1)).sum())
        n += len(b["tokens"])
    model.train(was)
    return {
        "loss": loss / max(n, 1),
        "accuracy": correct / max(n * model.cfg.window_frames * model.cfg.tokens_per_frame, 1),
    }


def model_config_for(
    cfg: GPTConfig, tokenizer, clips: list[TokenClip], music_dropout: float = 0.0
) -> GPTConfig:
    """The configured GPT with the token layout of ``tokenizer``, the music sizes of the data and,
    when the music is dropped in training, the "no music" embeddings."""
    return dataclasses.replace(
        cfg, codebook_size=tokenizer.codebook_size, n_parts=tokenizer.num_parts,
        tokens_per_part=tokenizer.tokens_per_part, temporal_stride=tokenizer.temporal_stride,
        music_dim=clips[0].music.shape[1], global_dim=clips[0].global_context.shape[0],
        null_music=cfg.null_music or music_dropout > 0,
    )  # fmt: skip


def train_generator(cfg: GeneratorTrainConfig, resume: bool = True, device: str | None = None) -> Path:
    """Train per ``cfg``; returns the exported generator path (``cfg.out_dir/generator``).

    Resumable: if ``out_dir/last`` exists (and ``resume``), training continues from its step with its
    optimizer state. Under torchrun each process draws different windows (seed + rank).
    """
    dist = setup_distributed(device)
    try:
        return _train(cfg, dist, resume)
    finally:
        teardown_distributed()


def _train(cfg: GeneratorTrainConfig, dist: DistInfo, resume: bool) -> Path:
    from xdancer.choreograph import tokenizer_fingerprint
    from xdancer.tokenizer import load_tokenizer

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    rng = np.random.default_rng([cfg.seed, dist.rank])

    # 1. Data: tokens of every clip under the frozen tokenizer; music statistics for the model.
    tokenizer = load_tokenizer(cfg.tokenizer or None, device=dist.device)
    train_clips = tokenize_split(cfg.dataset, "train", tokenizer, cfg.augment, cfg.tempo_rates, dist.is_main)
    val_clips = tokenize_split(cfg.dataset, "val", tokenizer, False, enabled=dist.is_main)
    mcfg = model_config_for(cfg.model, tokenizer, train_clips, cfg.music_dropout)
    train_clips = [c for c in train_clips if len(c.tokens) >= mcfg.window_frames]
    val_clips = [c for c in val_clips if len(c.tokens) >= mcfg.window_frames]
    if not train_clips or not val_clips:
        raise InputError(
            f"need train and val clips of at least {mcfg.window_frames * mcfg.temporal_stride} frames"
        )
    stats = music_statistics(train_clips)
    fill = stats["music.mean"]
    val_picks = validation_picks(val_clips, mcfg, cfg.val_batches * cfg.batch_size)

    # 2. Model (music statistics in its buffers), optimiser; resume if a training state is there.
    model = MotionGPT(mcfg).to(dist.device)
    if cfg.init:
        from xdancer.generator import load_generator

        start = load_generator(cfg.init, device=dist.device)
        # a model trained without music dropout can start one with it: only the null embeddings are new
        if dataclasses.replace(start.cfg, null_music=mcfg.null_music) != mcfg or (
            start.cfg.null_music and not mcfg.null_music
        ):
            raise InputError(f"init checkpoint {cfg.init} has another architecture than the configured model")
        model.load_state_dict(start.state_dict(), strict=start.cfg == mcfg)  # else only null_* are missing
    buffers = dict(model.named_buffers())
    for key, value in stats.items():
        if key in buffers:
            buffers[key].copy_(torch.from_numpy(value))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2 or "emb" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg.lr, betas=(0.9, 0.95))  # fmt: skip
    state_path = out / "last"
    history: dict[str, list] = {"train": [], "val": [], "val_accuracy": []}
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
                             title="motion generator (next-token cross-entropy)")  # fmt: skip

    # 3. Loop.
    t0 = time.perf_counter() - elapsed
    bar = progress(total=cfg.steps, initial=step, desc="generator", enabled=dist.is_main)
    ddp_model.train()
    running, running_n = 0.0, 0
    while step < cfg.steps:
        set_lr(opt, cosine_lr(step, cfg.steps, cfg.lr, cfg.warmup_steps))
        picks = random_picks(train_clips, cfg.batch_size, mcfg, rng, cfg.context_dropout)
        keep = (
            torch.from_numpy(rng.random(cfg.batch_size) >= cfg.music_dropout) if cfg.music_dropout else None
        )
        result = batch_loss(ddp_model, window_batch(train_clips, picks, mcfg, fill), mcfg, dist.device, keep)
        opt.zero_grad(set_to_none=True)
        result.loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        running, running_n = running + float(result.loss.detach()), running_n + 1
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{running / running_n:.4f}")
        if step % cfg.val_every == 0 or step == cfg.steps:
            history["train"].append((step, all_reduce_mean(running / running_n, dist)))
            running, running_n = 0.0, 0
            v = validate(model, val_clips, val_picks, cfg.batch_size, fill, dist.device)
            history["val"].append((step, v["loss"]))
            history["val_accuracy"].append((step, v["accuracy"]))
            if dist.is_main:
                bar.write(f"step {step}: train {history['train'][-1][1]:.4f}  val {v['loss']:.4f}  "
                          f"val accuracy {v['accuracy']:.3f}")  # fmt: skip
        elapsed = time.perf_counter() - t0
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            save_state()
    bar.close()

    # 4. Export the inference checkpoint with its provenance and the tokenizer it speaks.
    final = out / "generator"
    if dist.is_main:
        extra = {"steps": step, "train_seconds": round(elapsed, 1), "train_config": to_dict(cfg),
                 "train_clips": len(train_clips), "val_clips": len(val_clips), "history": history,
                 "tokenizer": {"path": cfg.tokenizer or "bundled", "config": to_dict(tokenizer.config),
                               "fingerprint": tokenizer_fingerprint(tokenizer)}}  # fmt: skip
        export_generator(final, unwrap(ddp_model), extra)
        (out / "history.json").write_text(json.dumps(history))
    return final
