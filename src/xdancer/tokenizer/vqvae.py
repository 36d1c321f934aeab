"""The compositional, confidence-aware VQ-VAE of X-Dancer (../shared/docs/PAPER.md, section 3).

Multi-part (the paper): each of the five parts of :data:`xdancer.pose.skeleton.PARTS` has its own 1D
temporal-convolution encoder over (x, y, confidence) and its own K codebooks; the quantised latents of
all parts are concatenated and decoded by ONE shared decoder whose per-part heads output coordinates
and confidences. Single-codebook (the paper's ablation): one encoder over all 134 points and one
codebook shared by all 5 x K tokens of a token frame.

Shapes: poses (B, T, 134, 3) normalised coordinates + confidence; tokens (B, T / stride, P=5, K) long.
Confidence-aware: undetected points (confidence 0) have their coordinates zeroed at the input and
weigh nothing in the coordinate loss, so they neither inform nor teach the model; the decoder still
learns to predict the confidence itself (binary cross-entropy), which tells the renderer what is
uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from xdancer.pose.skeleton import NUM_KEYPOINTS, PART_NAMES, PARTS, kp
from xdancer.tokenizer.config import TokenizerConfig
from xdancer.tokenizer.quantizer import Quantizer

NUM_PARTS = len(PART_NAMES)


@dataclass
class TokenizerOutput:
    """recon: (B, T, 134, 3) with confidence in [0, 1]; tokens: (B, T / stride, P, K);
    loss: total; losses: breakdown {"coord", "conf", "commit"}, plus "vel" and "rel" when those terms
    are weighted (detached floats for logging)."""

    recon: torch.Tensor
    tokens: torch.Tensor
    loss: torch.Tensor
    losses: dict[str, float]


class ResBlock1d(nn.Module):
    """Pre-activation residual block of two dilated temporal convolutions (as in Jukebox/Bailando)."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.GELU(),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _res_stack(channels: int, n: int) -> list[nn.Module]:
    return [ResBlock1d(channels, 3**i) for i in range(n)]


class Encoder1d(nn.Module):
    """(B, C_in, T) -> (B, C_out, T / stride): conv, residual blocks, strided downsampling (x2 per step)."""

    def __init__(self, c_in: int, hidden: int, c_out: int, stride: int, res_blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(c_in, hidden, 3, padding=1), *_res_stack(hidden, res_blocks)]
        for _ in range(stride.bit_length() - 1):  # stride 1, 2, 4 -> 0, 1, 2 halvings
            layers += [nn.Conv1d(hidden, hidden, 4, stride=2, padding=1), *_res_stack(hidden, res_blocks)]
        layers += [nn.GELU(), nn.Conv1d(hidden, c_out, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder1d(nn.Module):
    """(B, C_in, T / stride) -> (B, hidden, T): conv, residual blocks, nearest upsampling + conv."""

    def __init__(self, c_in: int, hidden: int, stride: int, res_blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(c_in, hidden, 3, padding=1), *_res_stack(hidden, res_blocks)]
        for _ in range(stride.bit_length() - 1):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv1d(hidden, hidden, 3, padding=1),
                       *_res_stack(hidden, res_blocks)]  # fmt: skip
        layers.append(nn.GELU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def masked_input(poses: torch.Tensor) -> torch.Tensor:
    """(..., J, 3) -> (..., J, 3) with x, y zeroed where confidence is 0 (unseen points carry no value)."""
    seen = (poses[..., 2:3] > 0).to(poses.dtype)
    return torch.cat([poses[..., :2] * seen, poses[..., 2:3]], dim=-1)


def _part_mean(err: torch.Tensor, conf: torch.Tensor, parts: list[tuple[int, ...]]) -> torch.Tensor:
    """Confidence-weighted mean of ``err`` (..., 134), the sum of x and y errors, averaged per part and
    then over ``parts`` so a small part weighs as much as a large one."""
    losses = [err[..., list(idx)].sum() / (2 * conf[..., list(idx)].sum()).clamp_min(1e-6) for idx in parts]
    return torch.stack(losses).mean()


def pose_loss(
    recon_xy: torch.Tensor, conf_logits: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Confidence-weighted coordinate L1 (mean over parts that have any confidence) and confidence BCE.

    recon_xy (B, T, 134, 2), conf_logits (B, T, 134), target (B, T, 134, 3). Each part is averaged on
    its own so the 73-point head does not drown out the 6-point lower body.
    """
    conf = target[..., 2]
    err = (recon_xy - target[..., :2]).abs().sum(-1) * conf  # (B, T, 134); 0 where conf = 0
    coord = _part_mean(err, conf, list(PARTS.values()))
    conf_loss = F.binary_cross_entropy_with_logits(conf_logits, conf)
    return coord, conf_loss


TORSO = tuple(kp(n) for n in ("neck", "right_shoulder", "left_shoulder", "right_hip", "left_hip"))


def velocity_loss(recon_xy: torch.Tensor, target: torch.Tensor, points: str = "all") -> torch.Tensor:
    """Confidence-weighted L1 of the frame-to-frame motion, per part as in :func:`pose_loss`.

    recon_xy (B, T, 134, 2), target (B, T, 134, 3) -> scalar. A step counts where the point is seen in
    both frames. It punishes motion the decoder adds (jitter at the token rate) as much as motion it
    drops. points: "all" (every part) or "torso" (neck, shoulders, hips as one group). An L1 on motion
    is won by the median motion, so on arms and legs it flattens what the codes cannot pin down; the
    torso moves smoothly, and its jitter moves every other point with it.
    """
    conf = target[:, 1:, :, 2] * target[:, :-1, :, 2]  # (B, T-1, 134)
    err = (recon_xy.diff(dim=1) - target[..., :2].diff(dim=1)).abs().sum(-1) * conf
    return _part_mean(err, conf, list(PARTS.values()) if points == "all" else [TORSO])


_HIPS = (kp("right_hip"), kp("left_hip"))
_LEGS = tuple(i for i in PARTS["lower_body"] if i not in _HIPS)


def lower_body_relative_loss(recon_xy: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Confidence-weighted L1 of the knees, ankles and feet measured from the mid-hip.

    recon_xy (B, T, 134, 2), target (B, T, 134, 3) -> scalar. A point counts where it and both hips
    are seen. An error shared by the whole lower body (the body's place) cancels here; what is left is
    the legs' own articulation, which the plain L1 trades for an average leg.
    """
    hips = list(_HIPS)
    legs = list(_LEGS)
    conf = target[..., legs, 2] * target[..., hips, 2].prod(-1, keepdim=True)  # (B, T, L)
    rel_recon = recon_xy[..., legs, :] - recon_xy[..., hips, :].mean(-2, keepdim=True)
    rel_target = target[..., legs, :2] - target[..., hips, :2].mean(-2, keepdim=True)
    err = (rel_recon - rel_target).abs().sum(-1) * conf
    return _part_mean(err, conf, [tuple(range(len(legs)))])


class PoseVQVAE(nn.Module):
    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        k, d = cfg.tokens_per_part, cfg.code_dim
        self.part_index = [list(PARTS[name]) for name in PART_NAMES]
        qkw = dict(code_dim=d, codebook_size=cfg.codebook_size, decay=cfg.ema_decay,
                   commitment_weight=cfg.commitment_weight, dead_code_threshold=cfg.dead_code_threshold,
                   kmeans_init=cfg.kmeans_init, kind=cfg.quantizer, fsq_levels=cfg.fsq_levels)  # fmt: skip
        if cfg.variant == "multi_part":
            self.encoders = nn.ModuleList(
                Encoder1d(3 * len(idx), cfg.hidden, k * d, cfg.temporal_stride, cfg.res_blocks)
                for idx in self.part_index
            )
            self.quantizers = nn.ModuleList(
                Quantizer(heads=k, separate_codebooks=True, **qkw) for _ in self.part_index
            )
        else:
            self.encoders = nn.ModuleList(
                [
                    Encoder1d(
                        3 * NUM_KEYPOINTS,
                        cfg.single_hidden,
                        NUM_PARTS * k * d,
                        cfg.temporal_stride,
                        cfg.res_blocks,
                    )
                ]
            )
            self.quantizers = nn.ModuleList([Quantizer(heads=NUM_PARTS * k, separate_codebooks=False, **qkw)])
        self.decoder = Decoder1d(NUM_PARTS * k * d, cfg.decoder_hidden, cfg.temporal_stride, cfg.res_blocks)
        self.heads = nn.ModuleList(
            nn.Conv1d(cfg.decoder_hidden, 3 * len(idx), 3, padding=1) for idx in self.part_index
        )

    # --- shapes -----------------------------------------------------------------------------------

    def _check_poses(self, poses: torch.Tensor) -> None:
        if poses.ndim != 4 or poses.shape[2:] != (NUM_KEYPOINTS, 3):
            raise ValueError(f"poses must be (B, T, {NUM_KEYPOINTS}, 3), got {tuple(poses.shape)}")
        if poses.shape[1] == 0 or poses.shape[1] % self.cfg.temporal_stride:
            raise ValueError(
                f"T ({poses.shape[1]}) must be a positive multiple of temporal_stride ({self.cfg.temporal_stride})"
            )

    # --- encoder side -----------------------------------------------------------------------------

    def _encode_latents(self, poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """poses (B, T, 134, 3) -> quantised (B, T', P*K*D), tokens (B, T', P, K), commitment loss."""
        self._check_poses(poses)
        x = masked_input(poses)
        b, t = x.shape[:2]
        groups = self.part_index if self.cfg.variant == "multi_part" else [list(range(NUM_KEYPOINTS))]
        quantized, tokens, commit = [], [], x.new_zeros(())
        for idx, enc, q in zip(groups, self.encoders, self.quantizers, strict=True):
            xi = x[:, :, idx, :].reshape(b, t, -1).transpose(1, 2)  # (B, J_p * 3, T)
            z = enc(xi).transpose(1, 2)  # (B, T', K * D)
            out = q(z)
            quantized.append(out.quantized)
            tokens.append(out.indices)  # (B, T', K) or, single codebook, (B, T', P * K)
            commit = commit + out.commit_loss
        toks = torch.cat(tokens, dim=-1).reshape(b, -1, NUM_PARTS, self.cfg.tokens_per_part)
        return torch.cat(quantized, dim=-1), toks, commit

    def _lookup(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T', P, K) -> quantised latents (B, T', P*K*D)."""
        k = self.cfg.tokens_per_part
        if tokens.ndim != 4 or tokens.shape[2:] != (NUM_PARTS, k):
            raise ValueError(f"tokens must be (B, T', {NUM_PARTS}, {k}), got {tuple(tokens.shape)}")
        if self.cfg.variant == "multi_part":
            return torch.cat([q.lookup(tokens[:, :, p]) for p, q in enumerate(self.quantizers)], dim=-1)
        return self.quantizers[0].lookup(tokens.flatten(2))

    # --- decoder side -----------------------------------------------------------------------------

    def _decode_latents(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T', P*K*D) -> coordinates (B, T, 134, 2) and confidence logits (B, T, 134)."""
        h = self.decoder(latents.transpose(1, 2))  # (B, H, T)
        b, _, t = h.shape
        out = h.new_zeros(b, t, NUM_KEYPOINTS, 3)
        for idx, head in zip(self.part_index, self.heads, strict=True):
            out[:, :, idx, :] = head(h).transpose(1, 2).reshape(b, t, len(idx), 3)
        return out[..., :2], out[..., 2]

    # --- public API -------------------------------------------------------------------------------

    def forward(self, poses: torch.Tensor) -> TokenizerOutput:
        """Reconstruct ``poses`` (B, T, 134, 3) through the codebooks; loss per the paper + confidence."""
        latents, tokens, commit = self._encode_latents(poses)
        xy, logits = self._decode_latents(latents)
        coord, conf = pose_loss(xy, logits, poses)
        cfg = self.cfg
        loss = coord + cfg.confidence_weight * conf + commit
        losses = {"coord": float(coord.detach()), "conf": float(conf.detach()), "commit": float(commit.detach())}
        # The optional terms are computed only when they weigh something (the bundled loss has neither).
        if cfg.velocity_weight > 0:
            vel = velocity_loss(xy, poses, cfg.velocity_points)
            loss = loss + cfg.velocity_weight * vel
            losses["vel"] = float(vel.detach())
        if cfg.lower_body_relative_weight > 0:
            rel = lower_body_relative_loss(xy, poses)
            loss = loss + cfg.lower_body_relative_weight * rel
            losses["rel"] = float(rel.detach())
        recon = torch.cat([xy, torch.sigmoid(logits).unsqueeze(-1)], dim=-1)
        return TokenizerOutput(recon, tokens, loss, losses)

    @torch.no_grad()
    def encode(self, poses: torch.Tensor) -> torch.Tensor:
        """(B, T, 134, 3) normalised poses -> (B, T / stride, P, K) long tokens (no codebook update)."""
        was_training = self.training
        self.eval()
        try:
            return self._encode_latents(poses)[1]
        finally:
            self.train(was_training)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T', P, K) tokens -> (B, T' * stride, 134, 3) normalised poses, confidence in [0, 1]."""
        xy, logits = self._decode_latents(self._lookup(tokens.long()))
        return torch.cat([xy, torch.sigmoid(logits).unsqueeze(-1)], dim=-1)
