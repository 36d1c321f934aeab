"""Motion guidance for the diffusion renderer: features added to the denoising UNet at every scale.

- :class:`MotionDecoder` is X-Dancer's (arXiv 2502.17414, "Diffusion renderer"): a learned 2D feature
  map into which each frame's pose tokens, with their confidences, are injected by AdaIN, then
  resized to each UNet scale and added to its features.
- :class:`PoseImageGuider` is the usual alternative (AnimateAnyone's pose guider): a small conv net
  over the rendered skeleton image. Both inject through the same path, so they compare as an ablation.

Both return one feature map per UNet down block, in the shapes of :func:`unet_feature_shapes`; the UNet
adds them inside its down blocks (diffusers' ``down_intrablock_additional_residuals``, the T2I-Adapter
path). Their output convolutions start at zero (ControlNet's "zero convolution"), so an untrained
guider leaves the image model unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from xdancer.render.diffusion.config import PLAIN_DOWN, DiffusionRendererConfig


@dataclass
class PoseCondition:
    """Per-frame pose input of a batch of windows (B windows of F frames).

    tokens: (B, F, P*K) long pose-token ids (motion decoder), with
    confidence: (B, F, P) float in [0, 1], the mean keypoint confidence of each part in that frame;
    images: (B, F, 3, H, W) float in [-1, 1], rendered skeletons (pose-image guider).
    """

    tokens: torch.Tensor | None = None
    confidence: torch.Tensor | None = None
    images: torch.Tensor | None = None

    @property
    def shape(self) -> tuple[int, int]:
        ref = self.tokens if self.tokens is not None else self.images
        if ref is None:
            raise ValueError("a PoseCondition needs tokens or images")
        return int(ref.shape[0]), int(ref.shape[1])

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> PoseCondition:
        return PoseCondition(
            tokens=None if self.tokens is None else self.tokens.to(device),
            confidence=None
            if self.confidence is None
            else self.confidence.to(device, dtype or self.confidence.dtype),
            images=None if self.images is None else self.images.to(device, dtype or self.images.dtype),
        )

    def frames(self, start: int, stop: int) -> PoseCondition:
        """The same condition for frames [start, stop) of each window."""
        return PoseCondition(
            tokens=None if self.tokens is None else self.tokens[:, start:stop],
            confidence=None if self.confidence is None else self.confidence[:, start:stop],
            images=None if self.images is None else self.images[:, start:stop],
        )


def unet_feature_shapes(
    cfg: DiffusionRendererConfig, latent_h: int, latent_w: int
) -> list[tuple[int, int, int]]:
    """(channels, h, w) of the residual each UNet down block takes.

    diffusers adds it before the downsampler in attention blocks and after it in plain blocks.
    """
    shapes = []
    n = len(cfg.unet_channels)
    for i, (ch, kind) in enumerate(zip(cfg.unet_channels, cfg.down_block_types, strict=True)):
        scale = 2**i
        if kind == PLAIN_DOWN and i < n - 1:
            scale *= 2
        shapes.append((ch, latent_h // scale, latent_w // scale))
    return shapes


def _zero_conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def _groups(channels: int) -> int:
    return math.gcd(channels, 32)


class AdaIN(nn.Module):
    """Adaptive instance normalisation (Huang & Belongie 2017): normalise each channel, then scale
    and shift it by amounts predicted from a style vector (here: one frame's pose code)."""

    def __init__(self, channels: int, style_dim: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.affine = nn.Linear(style_dim, 2 * channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        # x (N, C, h, w), style (N, D) -> (N, C, h, w)
        gamma, beta = self.affine(style)[:, :, None, None].chunk(2, dim=1)
        return self.norm(x) * (1 + gamma) + beta


class _AdaINBlock(nn.Module):
    def __init__(self, channels: int, style_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.ada1 = AdaIN(channels, style_dim)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.ada2 = AdaIN(channels, style_dim)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.ada1(self.conv1(x), style))
        h = F.silu(self.ada2(self.conv2(h), style))
        return x + h


class MotionDecoder(nn.Module):
    """Pose tokens + confidences of each frame -> UNet-scale feature maps (X-Dancer's motion decoder).

    Each frame's P*K tokens are embedded (token id + slot embedding + embedded part confidence, so an
    unseen hand counts for less), flattened and mapped to a style vector; a learned 2D map is then
    modulated by that vector through AdaIN blocks, coarse scale first, resized up to each finer scale.
    """

    def __init__(self, cfg: DiffusionRendererConfig):
        super().__init__()
        d = cfg.motion_dim
        self.cfg = cfg
        self.token_embed = nn.Embedding(cfg.token_vocab, d)
        self.slot_embed = nn.Parameter(torch.randn(cfg.tokens_per_frame, d) * 0.02)
        self.conf_embed = nn.Linear(1, d)
        self.style = nn.Sequential(nn.Linear(cfg.tokens_per_frame * d, 2 * d), nn.SiLU(), nn.Linear(2 * d, d))
        self.base_map = nn.Parameter(torch.randn(1, d, *cfg.motion_map_size))
        self.blocks = nn.ModuleList(_AdaINBlock(d, d) for _ in cfg.unet_channels)
        self.out = nn.ModuleList(_zero_conv(d, ch) for ch in cfg.unet_channels)

    def encode_frames(self, tokens: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """tokens (N, P*K) long, confidence (N, P) -> style (N, D)."""
        cfg = self.cfg
        if tokens.shape[-1] != cfg.tokens_per_frame or confidence.shape[-1] != cfg.token_parts:
            raise ValueError(
                f"expected {cfg.tokens_per_frame} tokens and {cfg.token_parts} confidences per frame, "
                f"got {tuple(tokens.shape)} and {tuple(confidence.shape)}"
            )
        conf = confidence.repeat_interleave(cfg.tokens_per_part, dim=-1)[..., None]  # (N, P*K, 1)
        e = self.token_embed(tokens) + self.slot_embed + self.conf_embed(conf.to(self.slot_embed.dtype))
        return self.style(e.flatten(1))  # (N, P*K*D) -> (N, D)

    def forward(self, cond: PoseCondition, shapes: list[tuple[int, int, int]]) -> list[torch.Tensor]:
        if cond.tokens is None or cond.confidence is None:
            raise ValueError("the motion decoder needs pose tokens and confidences")
        b, f = cond.shape
        style = self.encode_frames(cond.tokens.flatten(0, 1), cond.confidence.flatten(0, 1))  # (B*F, D)
        x = self.base_map.expand(b * f, -1, -1, -1)
        feats: list[torch.Tensor] = [torch.empty(0)] * len(shapes)
        # Coarse to fine: the deepest block first, each finer scale continues from the coarser one.
        for i in reversed(range(len(shapes))):
            _, h, w = shapes[i]
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
            x = self.blocks[i](x, style)
            feats[i] = self.out[i](x)  # (B*F, C_i, h_i, w_i)
        return feats


class PoseImageGuider(nn.Module):
    """Skeleton image -> UNet-scale feature maps (the pose guider of AnimateAnyone-style renderers)."""

    def __init__(self, cfg: DiffusionRendererConfig):
        super().__init__()
        n_down = len(cfg.vae_channels) - 1
        if len(cfg.guider_channels) < n_down:
            raise ValueError(f"guider_channels needs at least {n_down} entries to reach the latent size")
        layers: list[nn.Module] = []
        cin = 3
        for i, c in enumerate(cfg.guider_channels):
            layers += [nn.Conv2d(cin, c, 3, stride=2 if i < n_down else 1, padding=1), nn.SiLU()]
            cin = c
        self.stem = nn.Sequential(*layers)
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(cin, cin, 3, padding=1),
                nn.GroupNorm(_groups(cin), cin),
                nn.SiLU(),
                _zero_conv(cin, ch),
            )
            for ch in cfg.unet_channels
        )

    def forward(self, cond: PoseCondition, shapes: list[tuple[int, int, int]]) -> list[torch.Tensor]:
        if cond.images is None:
            raise ValueError("the pose-image guider needs skeleton images")
        x = self.stem(cond.images.flatten(0, 1))  # (B*F, 3, H, W) -> (B*F, C, h, w) at the latent size
        feats = []
        for head, (_, h, w) in zip(self.heads, shapes, strict=True):
            xi = x if x.shape[-2:] == (h, w) else F.adaptive_avg_pool2d(x, (h, w))
            feats.append(head(xi))
        return feats


def build_guider(cfg: DiffusionRendererConfig) -> nn.Module:
    return MotionDecoder(cfg) if cfg.guider == "motion_decoder" else PoseImageGuider(cfg)
