"""Diffusion renderer checkpoints: model and VAE tensors in one safetensors file, config in its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL

from xdancer.checkpoint import load_checkpoint, save_checkpoint
from xdancer.config import from_dict, to_dict
from xdancer.errors import InputError
from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.model import DiffusionRendererModel
from xdancer.render.diffusion.vae import build_vae

KIND = "xdancer.diffusion_renderer"


def save_renderer(path: str | Path, model: DiffusionRendererModel, vae: AutoencoderKL, **meta: Any) -> Path:
    """Write ``path.safetensors`` + ``path.json``; ``meta`` adds training state (step, stage, ...)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"vae.{k}": v for k, v in vae.state_dict().items()})
    return save_checkpoint(path, tensors, {"kind": KIND, "config": to_dict(model.cfg), **meta})


def load_renderer(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[DiffusionRendererModel, AutoencoderKL, dict]:
    """Inverse of :func:`save_renderer`: (model, vae, meta), in eval mode on ``device``."""
    tensors, meta = load_checkpoint(path, device="cpu")
    if meta.get("kind") != KIND:
        raise InputError(f"{path} is not a diffusion renderer checkpoint (kind {meta.get('kind')!r})")
    try:
        cfg = from_dict(DiffusionRendererConfig, meta["config"])
        model, vae = DiffusionRendererModel(cfg), build_vae(cfg)
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        vae.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("vae.")})
    except (KeyError, RuntimeError, ValueError) as e:
        raise InputError(f"{path} is not a compatible diffusion renderer checkpoint: {e}") from e
    return model.to(device).eval(), vae.to(device).eval(), meta
