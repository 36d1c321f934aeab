"""The latent space of the diffusion renderer: diffusers' AutoencoderKL.

Tiny configs build a small VAE from scratch (trained on the user's frames before the UNet, see
:mod:`xdancer.train.renderer`); the SD-1.5 config loads SD-1.5's VAE from a local folder. Nothing is
ever downloaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import load_file

from xdancer.errors import InputError
from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.model import build_unet


def build_vae(cfg: DiffusionRendererConfig) -> AutoencoderKL:
    n = len(cfg.vae_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=cfg.vae_channels,
        layers_per_block=cfg.vae_layers_per_block,
        latent_channels=cfg.latent_channels,
        norm_num_groups=cfg.vae_norm_groups,
        mid_block_add_attention=cfg.vae_mid_attention,
        sample_size=cfg.height,
        scaling_factor=cfg.vae_scaling_factor,
    )


def _weights_file(folder: Path, sub: str) -> Path:
    d = folder / sub
    for name in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"):
        if (d / name).is_file():
            return d / name
    raise InputError(
        f"no {sub}/diffusion_pytorch_model.safetensors in {folder}: pretrained_dir must be a Stable Diffusion 1.5 "
        "folder in diffusers layout (unet/ and vae/ with safetensors weights); .bin/.ckpt files are not loaded"
    )


def _load_into(module: torch.nn.Module, path: Path, what: str) -> None:
    try:
        state = load_file(str(path))
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {what} weights {path}: {e}") from e
    state = _modern_attention_names({k: v.float() for k, v in state.items()}, module.state_dict())
    hint = "use the sd15 preset for SD-1.5 weights"
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as e:  # same names, other shapes
        raise InputError(
            f"{what} weights in {path} do not fit the configured model ({str(e)[:300]}...); {hint}"
        ) from e
    if missing or unexpected:
        raise InputError(
            f"{what} weights in {path} do not fit the configured model ({len(missing)} missing, "
            f"{len(unexpected)} unexpected keys, e.g. {(missing + unexpected)[:3]}); {hint}"
        )


_LEGACY_ATTENTION = re.compile(r"\.(query|key|value|proj_attn)\.(weight|bias)$")
_MODERN = {"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}


def _modern_attention_names(
    state: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Older SD-1.5 VAE files name the bottleneck attention query/key/value/proj_attn (sometimes
    as 1x1 convolutions); today's diffusers modules call them to_q/to_k/to_v/to_out.0 (linear)."""
    out = {}
    for key, value in state.items():
        new = _LEGACY_ATTENTION.sub(lambda m: f".{_MODERN[m.group(1)]}.{m.group(2)}", key)
        if new in target and value.shape != target[new].shape and value.numel() == target[new].numel():
            value = value.reshape(target[new].shape)
        out[new] = value
    return out


def check_pretrained_dir(cfg: DiffusionRendererConfig) -> Path:
    if cfg.pretrained_dir is None:
        raise InputError("pretrained_dir is not set")
    folder = Path(cfg.pretrained_dir).expanduser()
    if not folder.is_dir():
        raise InputError(
            f"Stable Diffusion 1.5 folder not found: {folder} (download it yourself, e.g. the diffusers-format "
            "stable-diffusion-v1-5 repository, and set pretrained_dir to it; nothing is downloaded at run time)"
        )
    return folder


def load_pretrained(cfg: DiffusionRendererConfig) -> tuple[UNet2DConditionModel, AutoencoderKL]:
    """SD-1.5 UNet and VAE from ``cfg.pretrained_dir`` (diffusers layout), built to ``cfg``'s sizes."""
    folder = check_pretrained_dir(cfg)
    unet_file, vae_file = _weights_file(folder, "unet"), _weights_file(folder, "vae")
    unet, vae = build_unet(cfg), build_vae(cfg)
    _load_into(unet, unet_file, "UNet")
    _load_into(vae, vae_file, "VAE")
    return unet, vae


def images_to_tensor(frames: np.ndarray | list[np.ndarray]) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(np.stack(frames) if isinstance(frames, list) else frames))
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def tensor_to_images(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8 RGB."""
    x = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def encode(
    vae: AutoencoderKL, images: torch.Tensor, generator: torch.Generator | None = None, sample: bool = False
) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1] -> scaled latents (N, c, H/f, W/f). ``sample`` draws from the posterior
    (training); otherwise its mean (a deterministic reference)."""
    dist = vae.encode(images.to(vae.dtype)).latent_dist
    z = dist.sample(generator) if sample else dist.mean
    return z * vae.config.scaling_factor


def decode(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    """Scaled latents (N, c, h, w) -> images (N, 3, H, W) in [-1, 1]."""
    return vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
