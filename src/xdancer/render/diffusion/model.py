"""The denoising network of the diffusion renderer: UNet + ReferenceNet + temporal attention.

X-Dancer (arXiv 2502.17414, "Diffusion renderer") builds on Stable Diffusion 1.5 with
- a ReferenceNet: a trainable copy of the UNet run on the reference photo's latent; each self-attention
  layer of the denoiser also attends to the hidden states of the matching ReferenceNet layer
  (AnimateAnyone's spatial attention), which carries the person's appearance;
- AnimateDiff temporal modules: attention over the frames of a 16-frame window at every spatial
  position, after each spatial transformer; their output projection starts at zero, so a fresh
  model is exactly the image model (stage 1 trains without them);
- a motion guider (:mod:`.motion_decoder`) whose features are added at every UNet scale.

The reference attention is a pair of diffusers attention processors and the temporal modules sit in
forward hooks, so the UNet itself stays a stock ``UNet2DConditionModel`` whose weights load from an
SD-1.5 folder unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from diffusers.models.transformers.transformer_2d import Transformer2DModel
from einops import rearrange
from torch import nn

from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.motion_decoder import PoseCondition, build_guider, unet_feature_shapes


def build_unet(cfg: DiffusionRendererConfig) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=cfg.height // cfg.vae_factor,
        in_channels=cfg.latent_channels,
        out_channels=cfg.latent_channels,
        down_block_types=cfg.down_block_types,
        up_block_types=cfg.up_block_types,
        block_out_channels=cfg.unet_channels,
        layers_per_block=cfg.layers_per_block,
        attention_head_dim=cfg.attention_heads,
        norm_num_groups=cfg.unet_norm_groups,
        cross_attention_dim=cfg.cross_attention_dim,
    )


@dataclass
class _Shared:
    """The frame count of the window in the denoiser, read by the temporal-module hooks."""

    num_frames: int = 1


# The ReferenceNet's tokens travel as a cross-attention keyword (diffusers hands these to every
# attention processor), not as module state: gradient checkpointing recomputes attention blocks
# during backward, and must see the same tokens then.
BANK = "reference_bank"


class PlainProcessor(AttnProcessor2_0):
    """diffusers' attention, accepting (and ignoring) the reference bank keyword."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None,
                 reference_bank: dict | None = None):  # fmt: skip
        return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb)


class ReferenceWriteProcessor(PlainProcessor):
    """ReferenceNet self-attention: ordinary attention, and keep its input for the denoiser."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None,
                 reference_bank: dict | None = None):  # fmt: skip
        if reference_bank is not None:
            reference_bank[self.name] = hidden_states  # (B, N, C), normalised input of attn1
        return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb)


class ReferenceReadProcessor(PlainProcessor):
    """Denoiser self-attention whose keys and values also include the ReferenceNet's tokens.

    Queries stay the frame's own N tokens; keys/values are [frame tokens; reference tokens] (2N), so
    each position can copy appearance from anywhere in the reference photo.
    """

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None,
                 reference_bank: dict | None = None):  # fmt: skip
        ref = None if reference_bank is None else reference_bank.get(self.name)
        if ref is None:
            return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        # The batch is (b f): each reference serves the F frames of its window.
        ref = ref.repeat_interleave(hidden_states.shape[0] // ref.shape[0], dim=0)
        kv = torch.cat([hidden_states, ref], dim=1)  # (B*F, 2N, C)
        return super().__call__(attn, hidden_states, kv, attention_mask, temb)


def _self_attention_names(unet: UNet2DConditionModel) -> list[str]:
    return [name for name in unet.attn_processors if name.endswith("attn1.processor")]


def sinusoidal_positions(n: int, dim: int) -> torch.Tensor:
    """(n, dim) fixed sinusoidal frame-position codes (Vaswani et al. 2017), as AnimateDiff uses."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe


class TemporalAttention(nn.Module):
    """AnimateDiff motion module: self-attention across the F frames at each spatial position."""

    def __init__(self, channels: int, heads: int, groups: int, max_frames: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.proj_in = nn.Linear(channels, channels)
        self.register_buffer("positions", sinusoidal_positions(max_frames, channels), persistent=False)
        self.norm_attn = nn.LayerNorm(channels)
        self.attn = Attention(query_dim=channels, heads=heads, dim_head=channels // heads)
        self.norm_ff = nn.LayerNorm(channels)
        self.ff = FeedForward(channels, activation_fn="geglu")
        self.proj_out = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj_out.weight)  # zero output: a fresh module is the identity
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        # x (B*F, C, h, w) -> tokens (B*h*w, F, C) -> attention over F -> back to (B*F, C, h, w)
        bf, c, h, w = x.shape
        if num_frames > self.positions.shape[0]:
            raise ValueError(
                f"a window of {num_frames} frames exceeds temporal_max_frames={self.positions.shape[0]}"
            )
        t = rearrange(self.norm(x), "(b f) c h w -> (b h w) f c", f=num_frames)
        t = self.proj_in(t) + self.positions[:num_frames].to(t.dtype)
        t = t + self.attn(self.norm_attn(t))
        t = t + self.ff(self.norm_ff(t))
        t = rearrange(self.proj_out(t), "(b h w) f c -> (b f) c h w", h=h, w=w)
        return x + t


class ReferenceContext(nn.Module):
    """Cross-attention context from the reference latent: a small conv net pooled to a grid of tokens.

    SD-1.5's cross-attention reads CLIP text tokens; X-Dancer does not say what it feeds there. We
    use the reference itself (as AnimateAnyone does with a CLIP image embedding), via a learned
    encoder, since no CLIP weights are at hand offline.
    """

    def __init__(self, cfg: DiffusionRendererConfig):
        super().__init__()
        c = cfg.unet_channels[0]
        self.grid = cfg.context_grid
        self.conv = nn.Sequential(
            nn.Conv2d(cfg.latent_channels, c, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1),
            nn.SiLU(),
        )
        self.proj = nn.Linear(c, cfg.cross_attention_dim)
        self.pos = nn.Parameter(torch.randn(self.grid * self.grid, cfg.cross_attention_dim) * 0.02)

    def forward(self, ref_latent: torch.Tensor) -> torch.Tensor:
        # (B, c, h, w) -> (B, grid*grid, cross_attention_dim)
        x = F.adaptive_avg_pool2d(self.conv(ref_latent), self.grid)
        return self.proj(rearrange(x, "b c h w -> b (h w) c")) + self.pos


@dataclass
class ReferenceState:
    """What the denoiser needs from the reference, computed once per video: ReferenceNet
    self-attention inputs per layer (each (B, N, C)) and the cross-attention context (B, L, D)."""

    bank: dict[str, torch.Tensor]
    context: torch.Tensor


class DiffusionRendererModel(nn.Module):
    """Denoiser UNet + ReferenceNet + temporal modules + motion guider + reference context.

    Shapes: noisy latents (B, F, c, h, w), timesteps (B,), reference latent (B, c, h, w),
    pose condition for (B, F) frames -> predicted noise (or v) (B, F, c, h, w).
    """

    def __init__(self, cfg: DiffusionRendererConfig, unet: UNet2DConditionModel | None = None):
        super().__init__()
        self.cfg = cfg
        self.unet = unet if unet is not None else build_unet(cfg)
        self.reference_net = build_unet(cfg)
        self.reference_net.load_state_dict(self.unet.state_dict())  # "a trainable copy of the UNet"
        self.context = ReferenceContext(cfg)
        self.guider = build_guider(cfg)
        self._shared = _Shared()
        self._install_reference_attention()
        self.temporal = nn.ModuleList()
        self._install_temporal_modules()
        if cfg.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
            self.reference_net.enable_gradient_checkpointing()

    # --- construction ----------------------------------------------------------------------------

    def _install_reference_attention(self) -> None:
        names = _self_attention_names(self.unet)
        write = {n: ReferenceWriteProcessor(n) for n in names}
        read = {n: ReferenceReadProcessor(n) for n in names}
        self.reference_net.set_attn_processor(
            {**{k: PlainProcessor() for k in self.reference_net.attn_processors}, **write}
        )
        self.unet.set_attn_processor({**{k: PlainProcessor() for k in self.unet.attn_processors}, **read})

    def _install_temporal_modules(self) -> None:
        cfg = self.cfg
        for module in self.unet.modules():
            if not isinstance(module, Transformer2DModel):
                continue
            ch = module.in_channels
            temporal = TemporalAttention(
                ch, cfg.temporal_heads, module.norm.num_groups, cfg.temporal_max_frames
            )
            self.temporal.append(temporal)
            module.register_forward_hook(self._temporal_hook(temporal))

    def _temporal_hook(self, temporal: TemporalAttention):
        shared = self._shared

        def hook(module: nn.Module, args, output):
            if shared.num_frames <= 1:  # single images (stage 1, the ReferenceNet path): image model
                return output
            if isinstance(output, tuple):
                return (temporal(output[0], shared.num_frames), *output[1:])
            output.sample = temporal(output.sample, shared.num_frames)
            return output

        return hook

    # --- parameter groups of the two training stages -------------------------------------------------

    def stage_parameters(self, stage: int) -> list[nn.Parameter]:
        """Stage 1: UNet + ReferenceNet (+ reference context and guider, needed to render a pose);
        stage 2: motion guider + temporal modules (X-Dancer trains the motion decoder here)."""
        if stage == 1:
            mods = [self.unet, self.reference_net, self.context, self.guider]
        elif stage == 2:
            mods = [self.guider, self.temporal]
        else:
            raise ValueError(f"stage must be 1 or 2, got {stage}")
        return [p for m in mods for p in m.parameters()]

    # --- forward ---------------------------------------------------------------------------------

    def encode_reference(self, ref_latent: torch.Tensor) -> ReferenceState:
        """Run the ReferenceNet once on the clean reference latent (B, c, h, w) at timestep 0."""
        context = self.context(ref_latent)
        bank: dict[str, torch.Tensor] = {}
        t0 = torch.zeros(ref_latent.shape[0], device=ref_latent.device, dtype=torch.long)
        self.reference_net(ref_latent, t0, encoder_hidden_states=context, cross_attention_kwargs={BANK: bank},
                           return_dict=False)  # fmt: skip
        return ReferenceState(bank=bank, context=context)

    def guide(self, cond: PoseCondition, latent_h: int, latent_w: int) -> list[torch.Tensor]:
        """Motion features for each UNet down block, (B*F, C_i, h_i, w_i)."""
        return self.guider(cond, unet_feature_shapes(self.cfg, latent_h, latent_w))

    def denoise(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, ref: ReferenceState, motion: list[torch.Tensor]
    ) -> torch.Tensor:
        """noisy (B, F, c, h, w), timesteps (B,) -> model output (B, F, c, h, w)."""
        b, f = noisy.shape[:2]
        x = noisy.flatten(0, 1)  # (B*F, c, h, w), frames of one window adjacent
        t = timesteps.repeat_interleave(f)
        context = ref.context.repeat_interleave(f, dim=0)
        self._shared.num_frames = f
        try:
            out = self.unet(
                x,
                t,
                encoder_hidden_states=context,
                cross_attention_kwargs={BANK: ref.bank},
                down_intrablock_additional_residuals=list(motion),
                return_dict=False,
            )[0]
        finally:
            self._shared.num_frames = 1
        return out.unflatten(0, (b, f))

    def forward(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, ref_latent: torch.Tensor, cond: PoseCondition
    ) -> torch.Tensor:
        ref = self.encode_reference(ref_latent)
        return self.denoise(noisy, timesteps, ref, self.guide(cond, noisy.shape[-2], noisy.shape[-1]))
