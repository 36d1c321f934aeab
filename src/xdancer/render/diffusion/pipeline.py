"""DiffusionRenderer: the reference photo animated by a latent video diffusion model (X-Dancer's
renderer), behind the same Renderer interface as the warp and skeleton renderers.

    renderer = load_diffusion_renderer("work/renderer/renderer")
    for frame in renderer.render(photo, photo_pose, dance_poses, height=512): ...

The whole video's latents are denoised together: at each DDIM step every overlapping 16-frame window
predicts its frames and the predictions are blended (:mod:`.windows`); frames are decoded and
yielded one by one, so only the small latent video is held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from tqdm import tqdm

from xdancer.constants import POSE_FPS
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import PART_NAMES, PARTS
from xdancer.render.base import DEFAULT_HEIGHT
from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.framing import crop_frame, crop_keypoints, person_box
from xdancer.render.diffusion.model import DiffusionRendererModel
from xdancer.render.diffusion.motion_decoder import PoseCondition
from xdancer.render.diffusion.vae import decode, encode, images_to_tensor
from xdancer.render.diffusion.weights import load_renderer
from xdancer.render.diffusion.windows import blend, blend_weights, window_starts


def make_scheduler(cfg: DiffusionRendererConfig) -> DDIMScheduler:
    """SD-1.5's noise schedule; used for training (add_noise) and sampling (DDIM steps)."""
    return DDIMScheduler(
        num_train_timesteps=cfg.num_train_timesteps,
        beta_start=cfg.beta_start,
        beta_end=cfg.beta_end,
        beta_schedule=cfg.beta_schedule,
        prediction_type=cfg.prediction_type,
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def part_confidence(keypoints: np.ndarray) -> np.ndarray:
    """(T, 134, 3) -> (T, P) mean keypoint confidence of each tokenizer part (the motion decoder's
    confidence input: a part nobody saw contributes little)."""
    return np.stack([keypoints[:, list(PARTS[name]), 2].mean(axis=1) for name in PART_NAMES], axis=1).astype(
        np.float32
    )


def token_frames(tokens: torch.Tensor, n_frames: int, fps: float, stride: int) -> torch.Tensor:
    """Tokens (T', P, K) at 30 fps / stride -> one token row per pose frame: (n_frames, P*K)."""
    idx = np.floor(np.arange(n_frames) / fps * POSE_FPS / stride).astype(np.int64)
    idx = np.clip(idx, 0, tokens.shape[0] - 1)
    return tokens.flatten(1)[torch.from_numpy(idx)]


def pose_images(keypoints: np.ndarray, size: tuple[int, int], conf_threshold: float) -> torch.Tensor:
    """(F, 134, 3) keypoints in pixels of ``size`` = (W, H) -> skeleton images (F, 3, H, W) in [-1, 1]."""
    from xdancer.pose.draw import draw_pose

    w, h = size
    frames = [draw_pose(np.zeros((h, w, 3), np.uint8), k, conf_threshold) for k in keypoints]
    return images_to_tensor(frames)


class DiffusionRenderer:
    """Renderer protocol: ``output_size(reference_image, height)`` and ``render(...)`` -> frames."""

    def __init__(
        self,
        model: DiffusionRendererModel,
        vae: AutoencoderKL,
        *,
        tokenizer=None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        seed: int = 0,
        progress: bool = True,
    ) -> None:
        self.model, self.vae, self.cfg = model.eval(), vae.eval(), model.cfg
        self.scheduler = make_scheduler(self.cfg)
        self.num_inference_steps = num_inference_steps or self.cfg.num_inference_steps
        self.guidance_scale = self.cfg.guidance_scale if guidance_scale is None else guidance_scale
        if self.num_inference_steps <= 0 or self.guidance_scale < 1.0:
            raise InputError("num_inference_steps must be positive and guidance_scale >= 1")
        self.seed, self.progress = seed, progress
        self.tokenizer = tokenizer
        if self.cfg.guider == "motion_decoder" and tokenizer is None:
            from xdancer.tokenizer import load_tokenizer

            self.tokenizer = load_tokenizer(self.cfg.tokenizer_path)
        if self.tokenizer is not None:
            check_tokenizer(self.cfg, self.tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # --- geometry --------------------------------------------------------------------------------

    def output_size(self, reference_image: np.ndarray, height: int = DEFAULT_HEIGHT) -> tuple[int, int]:
        """(width, height) at the photo's aspect, both multiples of the model's size multiple."""
        m = self.cfg.size_multiple
        h, w = reference_image.shape[:2]
        out_h = max(m, int(round(height / m)) * m)
        return max(m, int(round(out_h * w / h / m)) * m), out_h

    # --- conditions --------------------------------------------------------------------------------

    def conditions(
        self, poses: PoseSequence, keypoints: np.ndarray, size: tuple[int, int]
    ) -> Callable[[int, int], PoseCondition]:
        """A function (start, stop) -> PoseCondition of those frames (batch 1). ``keypoints`` (T, 134, 3)
        are ``poses`` in the pixels of the output frame, ``size`` = (W, H).

        Tokens of the whole dance are computed once (small); skeleton images are drawn per window,
        so a long video never holds them all.
        """
        if self.cfg.guider == "motion_decoder":
            tokens = token_frames(
                self.tokenizer.encode_sequence(poses).cpu(), len(poses), poses.fps, self.cfg.token_stride
            )
            conf = torch.from_numpy(part_confidence(poses.keypoints))

            def by_tokens(start: int, stop: int) -> PoseCondition:
                return PoseCondition(tokens=tokens[None, start:stop], confidence=conf[None, start:stop])

            return by_tokens

        def by_images(start: int, stop: int) -> PoseCondition:
            return PoseCondition(
                images=pose_images(keypoints[start:stop], size, self.cfg.pose_conf_threshold)[None]
            )

        return by_images

    # --- the denoising loop ------------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self,
        ref_latent: torch.Tensor,
        condition: Callable[[int, int], PoseCondition],
        n_frames: int,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Reference latent (1, c, h, w) + per-frame conditions -> clean latents (T, c, h, w)."""
        cfg, model, device = self.cfg, self.model, self.device
        dtype = next(model.parameters()).dtype
        c, h, w = ref_latent.shape[1:]
        use_cfg = self.guidance_scale > 1.0

        # 1. The reference, once: with classifier-free guidance the unconditional branch sees a blank
        #    reference (training drops the reference with probability ref_drop_prob).
        ref_in = torch.cat([torch.zeros_like(ref_latent), ref_latent]) if use_cfg else ref_latent
        ref_state = model.encode_reference(ref_in.to(device, dtype))

        # 2. Windows and their blending weights.
        starts = window_starts(n_frames, cfg.window, cfg.window_overlap)
        weights = blend_weights(n_frames, starts, cfg.window, cfg.window_overlap)
        length = min(cfg.window, n_frames)

        # 3. Initial noise, drawn on the CPU so a seed gives the same video on every device.
        self.scheduler.set_timesteps(self.num_inference_steps, device=device)
        latents = torch.randn((n_frames, c, h, w), generator=generator).to(device, dtype)
        latents = latents * self.scheduler.init_noise_sigma

        # 4. Denoising loop: each step predicts every window, blends, and takes one DDIM step.
        for t in tqdm(self.scheduler.timesteps, desc="diffusion", unit="step", disable=not self.progress):
            preds = []
            for s in starts:
                x = latents[s : s + length][None]  # (1, F, c, h, w)
                motion = model.guide(condition(s, s + length).to(device, dtype), h, w)
                if use_cfg:
                    x = torch.cat([x, x])
                    motion = [torch.cat([m, m]) for m in motion]
                out = model.denoise(x, t.expand(x.shape[0]), ref_state, motion)
                if use_cfg:
                    uncond, cond = out.chunk(2)
                    out = uncond + self.guidance_scale * (cond - uncond)
                preds.append(out[0])
            pred = blend(preds, starts, weights, n_frames)
            latents = self.scheduler.step(pred, t, latents, eta=cfg.eta, generator=generator).prev_sample
        return latents

    def render(
        self,
        reference_image: np.ndarray,
        reference_pose: PoseSequence,
        poses: PoseSequence,
        *,
        height: int = DEFAULT_HEIGHT,
    ) -> Iterator[np.ndarray]:
        """Yield (H, W, 3) uint8 frames of the person in ``reference_image`` dancing ``poses``.

        The frames show the crop of the photo around the person (see :mod:`.framing`), at the photo's
        aspect ratio; the ReferenceNet reads the appearance from that crop.
        """
        from xdancer.render.skeleton import fit_to_frame

        # 1. Check inputs.
        if reference_image.ndim != 3 or reference_image.shape[2] != 3 or reference_image.dtype != np.uint8:
            raise InputError(
                f"reference image must be (H, W, 3) uint8 RGB, got {reference_image.shape} {reference_image.dtype}"
            )
        if len(poses) == 0:
            raise InputError("no poses to render")
        if height < self.cfg.size_multiple:
            raise InputError(f"height must be at least {self.cfg.size_multiple} px for this model")
        w, h = self.output_size(reference_image, height)

        # 2. Framing as in training: the photo cropped around the person's pose and all the dance's
        #    poses (fitted into the photo), at the output aspect; the poses follow the same crop.
        photo_size = (reference_image.shape[1], reference_image.shape[0])
        in_photo = fit_to_frame(poses, photo_size)  # (T, 134, 3) in photo pixels
        everyone = np.concatenate([reference_pose.keypoints, in_photo]) if len(reference_pose) else in_photo
        box = person_box(everyone, photo_size, w / h, self.cfg.crop_margin)
        ref = crop_frame(reference_image, box, (w, h))
        keypoints = crop_keypoints(in_photo, box, (w, h))
        vae_dtype = next(self.vae.parameters()).dtype
        with torch.no_grad():
            ref_latent = encode(self.vae, images_to_tensor(ref[None]).to(self.device, vae_dtype))

        # 3. Denoise the latent video.
        generator = torch.Generator().manual_seed(self.seed)
        latents = self.sample(ref_latent, self.conditions(poses, keypoints, (w, h)), len(poses), generator)

        # 4. Decode frame by frame.
        for z in latents:
            with torch.no_grad():
                img = decode(self.vae, z[None])
            yield ((img[0].float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def check_tokenizer(cfg: DiffusionRendererConfig, tokenizer) -> None:
    """The motion decoder's embedding sizes must be the tokenizer's."""
    have = (
        tokenizer.codebook_size,
        tokenizer.num_parts,
        tokenizer.tokens_per_part,
        tokenizer.temporal_stride,
    )
    want = (cfg.token_vocab, cfg.token_parts, cfg.tokens_per_part, cfg.token_stride)
    if have != want:
        raise InputError(
            f"the pose tokenizer (codebook {have[0]}, {have[1]} parts x {have[2]} tokens, stride {have[3]}) does not "
            f"match the renderer (codebook {want[0]}, {want[1]} x {want[2]}, stride {want[3]}); use the tokenizer it was trained with"
        )


def load_diffusion_renderer(
    path: str | Path | None, device: str | torch.device = "cpu", dtype: torch.dtype | None = None, **kwargs
) -> DiffusionRenderer:
    """A trained renderer checkpoint (``xdancer train renderer``) as a DiffusionRenderer; ``dtype``
    (e.g. torch.float16 on a GPU) casts the networks, fp32 by default."""
    if path is None:
        raise InputError(
            "the diffusion renderer needs a trained checkpoint: train one with `xdancer train renderer "
            "--config configs/render/diffusion_debug.yaml --videos VIDEO` and pass its path"
        )
    model, vae, _ = load_renderer(path, device=device)
    if dtype is not None:
        model, vae = model.to(dtype=dtype), vae.to(dtype=dtype)
    return DiffusionRenderer(model, vae, **kwargs)
