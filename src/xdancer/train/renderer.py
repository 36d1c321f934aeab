"""Training the diffusion renderer on videos of people, in X-Dancer's two stages.

    0. (only without SD-1.5 weights) the VAE, from scratch, on the frames: a tiny model needs its
       own latent space; with SD-1.5 the pretrained VAE stays frozen.
    1. UNet + ReferenceNet (with the reference context and the motion guider, without which a pose
       could not be followed) on pairs of frames of one video: a reference frame and a target frame.
    2. Motion guider + temporal modules on clips of ``window`` consecutive frames; the image model
       is frozen. (X-Dancer names its motion decoder in this stage; we let stage 1 start it.)

Per-person mode (``mode: per_person``) fine-tunes a trained renderer (``init_from``) on one video
of the person to animate and holds its last ``val_frames`` frames out to measure PSNR.

Every run is resumable (``out_dir/last``), seeded, works under torchrun (DDP) and uses autocast on
GPUs only; the exported renderer is ``out_dir/<name>`` (see :mod:`xdancer.render.diffusion.weights`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xdancer.checkpoint import checkpoint_paths
from xdancer.config import from_dict, to_dict
from xdancer.errors import InputError
from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.model import DiffusionRendererModel
from xdancer.render.diffusion.pipeline import check_tokenizer, make_scheduler
from xdancer.render.diffusion.vae import build_vae, images_to_tensor, load_pretrained
from xdancer.render.diffusion.weights import load_renderer, save_renderer
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
)
from xdancer.train.renderer_data import VideoClip, clip_condition, load_videos

PHASES = ("vae", "stage1", "stage2")
MIXED_PRECISION = ("no", "fp16", "bf16")
MODES = ("general", "per_person")


@dataclass
class RendererTrainConfig:
    model: DiffusionRendererConfig = field(default_factory=DiffusionRendererConfig)
    out_dir: str = "work/renderer"
    name: str = "renderer"
    mode: str = "general"
    init_from: str | None = None  # a trained renderer to start from (required for per_person)
    seed: int = 0
    # Data: frames are cropped around the person (static camera: one box per video) and resized.
    max_frames: int | None = 300  # per video, after taking every frame_stride-th frame
    frame_stride: int = 1  # consecutive video frames are near-duplicates at 24-30 fps
    pose_cache: str | None = None  # where detected poses are cached (default: out_dir/cache)
    val_frames: int = 0  # last frames of each video held out (per_person: measure PSNR there)
    # Phase 0: the VAE (skipped with SD-1.5 weights or init_from).
    vae_steps: int = 300
    vae_lr: float = 1e-3
    vae_batch: int = 4
    vae_kl_weight: float = 1e-6
    # Stage 1: pairs of frames.
    stage1_steps: int = 1000
    stage1_batch: int = 4
    stage1_lr: float = 1e-4
    ref_drop_prob: float = 0.1  # reference dropped (zeros) so classifier-free guidance can be used
    # Stage 2: clips of model.window frames.
    stage2_steps: int = 500
    stage2_batch: int = 1
    stage2_lr: float = 1e-4
    warmup_steps: int = 50
    weight_decay: float = 1e-2
    grad_clip: float = 1.0
    mixed_precision: str = "bf16"  # GPU only; CPU runs in fp32
    ckpt_every: int = 250
    log_every: int = 50
    threads: int = 0  # torch CPU threads (0 = torch's default)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "per_person" and self.init_from is None:
            raise ValueError("per_person fine-tunes a trained renderer: set init_from")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}")
        for name in ("vae_steps", "stage1_steps", "stage2_steps", "val_frames", "warmup_steps", "threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("frame_stride", "vae_batch", "stage1_batch", "stage2_batch", "ckpt_every", "log_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_frames is not None and self.max_frames < 2:
            raise ValueError("max_frames must be at least 2 (a reference and a target)")
        if not 0 <= self.ref_drop_prob < 1:
            raise ValueError("ref_drop_prob must be in [0, 1)")

    def phase_steps(self, train_vae: bool) -> dict[str, int]:
        return {
            "vae": self.vae_steps if train_vae else 0,
            "stage1": self.stage1_steps,
            "stage2": self.stage2_steps,
        }


class _Bundle(nn.Module):
    """Everything trainable in one module, so one training-state file holds it."""

    def __init__(self, model: DiffusionRendererModel, vae: nn.Module):
        super().__init__()
        self.model, self.vae = model, vae

    def forward(
        self, noisy=None, timesteps=None, ref_latent=None, cond=None, vae_images=None, kl_weight: float = 0.0
    ):
        """The VAE loss of ``vae_images``, or the denoiser's prediction (one entry point for DDP)."""
        if vae_images is not None:
            return _vae_loss(self.vae, vae_images, kl_weight)
        return self.model(noisy, timesteps, ref_latent, cond)


def _phase_at(step: int, steps: dict[str, int]) -> tuple[str, int, int]:
    """(phase, its first global step, its length) for global ``step``."""
    start = 0
    for phase in PHASES:
        if step < start + steps[phase]:
            return phase, start, steps[phase]
        start += steps[phase]
    return "done", start, 0


def _trainable(bundle: _Bundle, phase: str) -> list[nn.Parameter]:
    for p in bundle.parameters():
        p.requires_grad_(False)
    params = (
        list(bundle.vae.parameters())
        if phase == "vae"
        else bundle.model.stage_parameters(1 if phase == "stage1" else 2)
    )
    for p in params:
        p.requires_grad_(True)
    return params


def _autocast(cfg: RendererTrainConfig, device: torch.device):
    if device.type != "cuda" or cfg.mixed_precision == "no":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast("cuda", dtype=torch.bfloat16 if cfg.mixed_precision == "bf16" else torch.float16)


def _sample_indices(
    clip: VideoClip, batch: int, frames: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Reference frame (B,) and target frames (B, F): consecutive targets, an independent reference."""
    n = clip.n_train
    f = min(frames, n)
    starts = rng.integers(0, n - f + 1, size=batch)
    targets = starts[:, None] + np.arange(f)[None]
    refs = rng.integers(0, n, size=batch)
    return refs, targets


def _vae_loss(vae: nn.Module, images: torch.Tensor, kl_weight: float) -> torch.Tensor:
    dist = vae.encode(images).latent_dist
    recon = vae.decode(dist.sample(), return_dict=False)[0]
    return F.l1_loss(recon, images) + F.mse_loss(recon, images) + kl_weight * dist.kl().mean()


@torch.no_grad()
def _cache_latents(vae: nn.Module, clips: list[VideoClip], device: torch.device, batch: int = 4) -> None:
    """Encode every frame once with the (now frozen) VAE: the diffusion stages then never run it.
    The latents stay in CPU memory (a GPU holds only each batch's)."""
    for clip in clips:
        parts = []
        for i in range(0, len(clip.frames), batch):
            dist = vae.encode(images_to_tensor(clip.frames[i : i + batch]).to(device)).latent_dist
            parts.append(torch.cat([dist.mean, dist.std], dim=1).float().cpu())
        clip.latents = torch.cat(parts)


def _sample_latents(
    clip: VideoClip, idx: np.ndarray, scale: float, g: torch.Generator, device: torch.device
) -> torch.Tensor:
    """Scaled latents of frames ``idx`` (any shape S) -> (*S, c, h, w), drawn from the posterior."""
    mean, std = clip.latents[torch.from_numpy(idx.reshape(-1))].to(device).chunk(2, dim=1)
    z = mean + std * torch.randn(mean.shape, generator=g).to(device)
    return (z * scale).unflatten(0, idx.shape)


@torch.no_grad()
def _latent_scale(vae: nn.Module, clips: list[VideoClip], device: torch.device) -> float:
    """1 / std of the VAE's latents (SD's recipe for ``scaling_factor``), so noise and data match."""
    zs = []
    for clip in clips:
        for i in range(0, min(clip.n_train, 64), 8):
            x = images_to_tensor(clip.frames[i : i + 8]).to(device)
            zs.append(vae.encode(x).latent_dist.mean.flatten())
    return float(1.0 / torch.cat(zs).std().clamp_min(1e-6))


def train_renderer(
    cfg: RendererTrainConfig, videos: list[str | Path], resume: bool = True, device: str | None = None
) -> Path:
    """Train per ``cfg`` on ``videos``; returns the exported renderer path (``out_dir/name``)."""
    dist = setup_distributed(device)
    try:
        return _train(cfg, [Path(v) for v in videos], dist, resume)
    finally:
        teardown_distributed()


def _build(cfg: RendererTrainConfig) -> tuple[DiffusionRendererModel, nn.Module, bool]:
    """(model, vae, train_vae?) from init_from (its own model config), SD-1.5 weights or scratch."""
    if cfg.init_from is not None:
        model, vae, _ = load_renderer(cfg.init_from)
        return model.train(), vae, False
    if cfg.model.pretrained_dir is not None:
        unet, vae = load_pretrained(cfg.model)
        return DiffusionRendererModel(cfg.model, unet=unet), vae, False
    return DiffusionRendererModel(cfg.model), build_vae(cfg.model), True


def _checkpoint_meta(path: str | Path) -> dict:
    json_path = checkpoint_paths(path)[1]
    if not json_path.is_file():
        raise InputError(f"checkpoint not found: {json_path}")
    return json.loads(json_path.read_text())


def _train(cfg: RendererTrainConfig, videos: list[Path], dist: DistInfo, resume: bool) -> Path:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.mode == "per_person" and len(videos) != 1:
        raise InputError(f"per_person mode fine-tunes on one video of the person, got {len(videos)} videos")
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)

    # 1. Token sizes from the tokenizer (a fine-tuned renderer keeps the config it was trained with).
    tokenizer = None
    if cfg.init_from is not None:
        cfg = dataclasses.replace(
            cfg, model=from_dict(DiffusionRendererConfig, _checkpoint_meta(cfg.init_from)["config"])
        )
    if cfg.model.guider == "motion_decoder":
        from xdancer.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(cfg.model.tokenizer_path)
        if cfg.init_from is not None:
            check_tokenizer(cfg.model, tokenizer)
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(
            cfg.model, token_vocab=tokenizer.codebook_size, token_parts=tokenizer.num_parts,
            tokens_per_part=tokenizer.tokens_per_part, token_stride=tokenizer.temporal_stride))  # fmt: skip

    # 2. Data (poses are detected once and cached in out_dir/cache).
    cache = Path(cfg.pose_cache) if cfg.pose_cache else out / "cache"
    clips = load_videos(videos, cfg.model, cache, tokenizer, cfg.max_frames, cfg.val_frames,
                        cfg.frame_stride, progress=dist.is_main)  # fmt: skip

    # 3. Model, VAE, noise schedule.
    model, vae, train_vae = _build(cfg)
    bundle = _Bundle(model, vae).to(dist.device)
    scheduler = make_scheduler(cfg.model)
    steps = cfg.phase_steps(train_vae)
    total = sum(steps.values())

    # 4. Resume: the global step tells the phase; the optimizer state is only reused within its phase.
    state_path = out / "last"
    step, elapsed, history = 0, 0.0, {p: [] for p in PHASES}
    saved_meta: dict | None = None
    if resume and training_state_exists(state_path):
        saved_meta = _checkpoint_meta(state_path)
        load_training_state(state_path, bundle, None, dist.device)
        step, elapsed, history = (
            int(saved_meta["step"]),
            float(saved_meta["elapsed_s"]),
            saved_meta["history"],
        )
        vae.register_to_config(scaling_factor=saved_meta["config"]["model"]["vae_scaling_factor"])
        cfg = dataclasses.replace(
            cfg, model=dataclasses.replace(cfg.model, vae_scaling_factor=vae.config.scaling_factor)
        )
        model.cfg = cfg.model

    # 5. The phases in order, each with its own parameters, optimizer and cosine schedule.
    t0 = time.perf_counter() - elapsed
    bar = progress(total=total, initial=step, desc="renderer", enabled=dist.is_main)
    while step < total:
        phase, start, length = _phase_at(step, steps)
        params = _trainable(bundle, phase)
        lr = {"vae": cfg.vae_lr, "stage1": cfg.stage1_lr, "stage2": cfg.stage2_lr}[phase]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
        if saved_meta is not None and saved_meta.get("phase") == phase and int(saved_meta["step"]) == step:
            load_training_state(state_path, bundle, opt, dist.device)
        saved_meta = None
        if phase != "vae" and clips[0].latents is None:
            _cache_latents(vae, clips, dist.device)
        ddp = bundle
        if dist.distributed:
            ids = [dist.device.index] if dist.device.type == "cuda" else None
            # In stage 1 the ReferenceNet's output layers get no gradient (only its attention inputs are read).
            ddp = nn.parallel.DistributedDataParallel(
                bundle, device_ids=ids, find_unused_parameters=phase == "stage1"
            )
        scaler = torch.amp.GradScaler(
            "cuda", enabled=dist.device.type == "cuda" and cfg.mixed_precision == "fp16"
        )
        bundle.train()
        running: list[float] = []
        while step < start + length:
            rng = np.random.default_rng([cfg.seed, dist.rank, step])
            set_lr(opt, cosine_lr(step - start, length, lr, min(cfg.warmup_steps, length // 10)))
            with _autocast(cfg, dist.device):
                loss = _loss(phase, ddp, bundle, clips, cfg, scheduler, rng, dist.device)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            step += 1
            running.append(loss.item())
            bar.update(1)
            bar.set_postfix(phase=phase, loss=f"{np.mean(running[-20:]):.4f}")
            if step % cfg.log_every == 0 or step == start + length:
                history[phase].append((step, all_reduce_mean(float(np.mean(running)), dist)))
                running = []
            if phase == "vae" and step == start + length:
                # The latent scale is fixed once the VAE is trained (SD's scaling_factor recipe).
                scale = _latent_scale(vae, clips, dist.device)
                vae.register_to_config(scaling_factor=scale)
                cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, vae_scaling_factor=scale))
                model.cfg = cfg.model
            elapsed = time.perf_counter() - t0
            if dist.is_main and (step % cfg.ckpt_every == 0 or step == start + length):
                save_training_state(state_path, bundle, opt, step, {"config": to_dict(cfg), "phase": phase,
                                    "history": history, "elapsed_s": elapsed})  # fmt: skip
                if step % cfg.ckpt_every == 0:
                    plot_loss_curves(
                        {f"{p} loss": history[p] for p in PHASES},
                        out / "loss.png",
                        title="diffusion renderer",
                    )
    bar.close()

    # 6. Export the renderer (and, in per-person mode, its PSNR on the held-out frames).
    final = out / cfg.name
    if dist.is_main:
        extra = {"steps": step, "train_seconds": round(elapsed, 1), "train_config": to_dict(cfg), "history": history,
                 "videos": [str(v) for v in videos], "frames": {c.name: c.n_train for c in clips}}  # fmt: skip
        if cfg.val_frames > 0:
            from xdancer.train.renderer_eval import validate

            extra["val"] = validate(model, vae, clips, tokenizer, progress=False)
            bar.write(f"held-out frames: {extra['val']}")
        save_renderer(final, model, vae, **extra)
        plot_loss_curves(
            {f"{p} loss": history[p] for p in PHASES}, out / "loss.png", title="diffusion renderer"
        )
        (out / "history.json").write_text(json.dumps(history))
    return final


def _loss(phase: str, ddp: nn.Module, bundle: _Bundle, clips: list[VideoClip], cfg: RendererTrainConfig,
          scheduler, rng: np.random.Generator, device: torch.device) -> torch.Tensor:  # fmt: skip
    """One batch of ``phase``'s objective (from one randomly chosen video)."""
    clip = clips[int(rng.integers(len(clips)))]
    mcfg = cfg.model
    if phase == "vae":
        idx = rng.integers(0, clip.n_train, size=cfg.vae_batch)
        x = images_to_tensor(clip.frames[idx]).to(device)
        if rng.random() < 0.5:  # mirrored frames: twice the views of a few frames
            x = x.flip(-1)
        return ddp(vae_images=x, kl_weight=cfg.vae_kl_weight)

    batch, frames = (cfg.stage1_batch, 1) if phase == "stage1" else (cfg.stage2_batch, mcfg.window)
    refs, targets = _sample_indices(clip, batch, frames, rng)
    with torch.no_grad():
        g = torch.Generator().manual_seed(int(rng.integers(2**31)))
        scale = bundle.vae.config.scaling_factor
        ref_lat = (
            clip.latents[torch.from_numpy(refs)].to(device).chunk(2, dim=1)[0] * scale
        )  # (B, c, h, w), mean
        lat = _sample_latents(clip, targets, scale, g, device)  # (B, F, c, h, w)
        drop = torch.from_numpy(rng.random(batch) < cfg.ref_drop_prob).to(device)
        ref_lat = torch.where(drop[:, None, None, None], torch.zeros_like(ref_lat), ref_lat)
        noise = torch.randn(lat.shape, generator=g).to(device)
        t = torch.from_numpy(rng.integers(0, mcfg.num_train_timesteps, size=batch)).to(device)
        noisy = scheduler.add_noise(lat, noise, t)
        target = noise if mcfg.prediction_type == "epsilon" else scheduler.get_velocity(lat, noise, t)
    pred = ddp(noisy, t, ref_lat, clip_condition(clip, targets, mcfg).to(device))
    return F.mse_loss(pred.float(), target.float())
