"""Measuring a trained diffusion renderer on frames of its training videos: render chosen frames
from a reference frame with the poses (and whole-video tokens) training used; PSNR and SSIM."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from xdancer.render.diffusion.model import DiffusionRendererModel
from xdancer.render.diffusion.motion_decoder import PoseCondition
from xdancer.render.diffusion.vae import encode, images_to_tensor
from xdancer.train.renderer_data import VideoClip, clip_condition


@torch.no_grad()
def validate(model: DiffusionRendererModel, vae: nn.Module, clips: list[VideoClip], tokenizer=None,
             num_inference_steps: int | None = None, seed: int = 0, progress: bool = False) -> dict[str, float]:  # fmt: skip
    """PSNR / SSIM (dB / [0, 1]) of the held-out frames of each clip, rendered from its first frame."""
    from skimage.metrics import structural_similarity

    from xdancer.render.diffusion.pipeline import DiffusionRenderer

    renderer = DiffusionRenderer(model, vae, tokenizer=tokenizer, num_inference_steps=num_inference_steps,
                                 seed=seed, progress=progress)  # fmt: skip
    psnr, ssim = [], []
    for clip in clips:
        held = np.arange(clip.n_train, len(clip.frames))
        if len(held) == 0:
            continue
        frames = render_frames(renderer, clip, 0, held)
        for pred, true in zip(frames, clip.frames[held], strict=True):
            psnr.append(psnr_db(pred, true))
            ssim.append(float(structural_similarity(pred, true, channel_axis=2, data_range=255)))
    if not psnr:
        return {}
    return {"psnr_db": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "frames": len(psnr)}


def render_frames(renderer, clip: VideoClip, ref_index: int, frames: np.ndarray) -> np.ndarray:
    """Render frames ``frames`` of a training video from its frame ``ref_index`` with the poses (and
    the whole-video tokens) training used: (N, H, W, 3) uint8."""
    from xdancer.render.diffusion.vae import decode, tensor_to_images

    cfg = renderer.cfg
    device = renderer.device
    ref_lat = encode(renderer.vae, images_to_tensor(clip.frames[ref_index : ref_index + 1]).to(device))

    def condition(start: int, stop: int) -> PoseCondition:
        return clip_condition(clip, frames[None, start:stop], cfg)

    latents = renderer.sample(ref_lat, condition, len(frames), torch.Generator().manual_seed(renderer.seed))
    return np.concatenate([tensor_to_images(decode(renderer.vae, z[None])) for z in latents])


def psnr_db(pred: np.ndarray, true: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images, in dB."""
    mse = float(np.mean((pred.astype(np.float64) - true.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
