"""Typed configs of the pose tokenizer (model) and of its training run.

X-Dancer (../shared/docs/PAPER.md, "Compositional, confidence-aware VQ-VAE") uses 6 tokens per part per
frame from 512-entry codebooks of 6-d codes with no temporal downsampling: 30 tokens per frame, 900
per second of dance. That is far too many for a GPT that must write a minute of dance in a few seconds
on a CPU, so our default halves the frame rate of the tokens (``temporal_stride=2``) and uses one
token per part: 5 x 15 = 75 tokens per second (see docs/tokenizer.md). The paper's setting is
``configs/tokenizer/paper.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xdancer.constants import POSE_FPS

VARIANTS = ("multi_part", "single_codebook")
QUANTIZERS = ("vq", "fsq")
VELOCITY_POINTS = ("all", "torso")


@dataclass
class TokenizerConfig:
    """Architecture of the VQ-VAE.

    variant: "multi_part" (the paper: one encoder and codebook(s) per body part) or "single_codebook"
        (the paper's ablation: one encoder over the whole body and one codebook shared by all tokens;
        same number of tokens per frame so the two are compared at equal bit rate).
    tokens_per_part: K, tokens per part per token frame; each of the K has its own codebook.
    codebook_size, code_dim: entries per codebook and their dimension (paper: 512 and 6).
    temporal_stride: input frames per token frame (1, 2 or 4; paper: 1).
    hidden: channels of each part encoder (the single-codebook encoder uses ``single_hidden``).
    decoder_hidden: channels of the shared decoder.
    res_blocks: residual blocks per resolution in encoders and decoder.
    ema_decay, commitment_weight, dead_code_threshold: vector-quantize-pytorch's EMA decay,
        commitment loss weight, and expected usage below which a code is restarted from the batch.
    confidence_weight: weight of the confidence loss (binary cross-entropy) beside the coordinate L1.
    velocity_weight: weight of the L1 of the frame-to-frame motion (vqvae.velocity_loss) beside the
        coordinate L1 (0: coordinates and confidence only, the paper's loss).
    velocity_points: where the velocity loss looks: "all" points, or the "torso" only (neck,
        shoulders, hips), which steadies the body without flattening the limbs.
    lower_body_relative_weight: weight of the L1 of the lower body's points relative to the mid-hip
        (vqvae.lower_body_relative_loss). The plain L1 lets the decoder settle for an average leg,
        because a leg's own articulation is about as large as its whole reconstruction error;
        measuring the legs from the hips asks for the articulation itself (docs/tokenizer.md).
    quantizer: "vq" (learned codebooks with EMA updates, the paper's) or "fsq" (finite scalar
        quantisation, Mentzer et al. 2023: each token is a point of a fixed grid with ``fsq_levels``
        values per axis, reached through learned projections; no codebook to collapse, so a part that
        is rarely seen, like the hands, still has every code available). With "fsq",
        ``codebook_size`` must equal the product of ``fsq_levels`` and the EMA / dead-code / k-means
        options do not apply.
    fsq_levels: values per axis of the FSQ grid (default 8 x 8 x 8 = 512 codes).
    """

    variant: str = "multi_part"
    tokens_per_part: int = 1
    codebook_size: int = 512
    code_dim: int = 8
    temporal_stride: int = 2
    hidden: int = 64
    single_hidden: int = 144
    decoder_hidden: int = 128
    res_blocks: int = 2
    ema_decay: float = 0.99
    commitment_weight: float = 0.25
    dead_code_threshold: float = 2.0
    kmeans_init: bool = True
    confidence_weight: float = 0.1
    velocity_weight: float = 0.0
    velocity_points: str = "all"
    lower_body_relative_weight: float = 0.0
    quantizer: str = "vq"
    fsq_levels: tuple[int, ...] = (8, 8, 8)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.quantizer not in QUANTIZERS:
            raise ValueError(f"quantizer must be one of {QUANTIZERS}, got {self.quantizer!r}")
        if self.velocity_points not in VELOCITY_POINTS:
            raise ValueError(f"velocity_points must be one of {VELOCITY_POINTS}, got {self.velocity_points!r}")
        self.fsq_levels = tuple(int(n) for n in self.fsq_levels)
        if self.quantizer == "fsq":
            if not self.fsq_levels or min(self.fsq_levels) < 3:
                raise ValueError(f"fsq_levels must be values per axis >= 3, got {self.fsq_levels}")
            if math.prod(self.fsq_levels) != self.codebook_size:
                raise ValueError(
                    f"with quantizer fsq, codebook_size ({self.codebook_size}) must be the product of "
                    f"fsq_levels {self.fsq_levels} ({math.prod(self.fsq_levels)})"
                )
        for name in (
            "tokens_per_part",
            "codebook_size",
            "code_dim",
            "hidden",
            "single_hidden",
            "decoder_hidden",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.codebook_size < 2:
            raise ValueError("codebook_size must be at least 2")
        if self.temporal_stride not in (1, 2, 4):
            raise ValueError(f"temporal_stride must be 1, 2 or 4, got {self.temporal_stride}")
        if self.res_blocks < 0:
            raise ValueError("res_blocks must be >= 0")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1), got {self.ema_decay}")
        weights = (self.commitment_weight, self.confidence_weight, self.velocity_weight, self.lower_body_relative_weight)
        if min(*weights, self.dead_code_threshold) < 0:
            raise ValueError("loss weights and dead_code_threshold must be >= 0")

    @property
    def tokens_per_second(self) -> float:
        """Tokens the GPT must write per second of 30 fps dance (5 parts x K / stride x fps)."""
        return 5 * self.tokens_per_part * POSE_FPS / self.temporal_stride


@dataclass
class TokenizerTrainConfig:
    """One training run: the model, the data, the optimiser and the bookkeeping.

    dataset: folder made by ``xdancer data build`` (manifest.csv + clips/).
    window: frames per training window (a multiple of the temporal stride).
    steps, batch_size, lr, warmup_steps, weight_decay, grad_clip: AdamW with cosine decay.
    val_every / ckpt_every: steps between validations / resumable checkpoints.
    augment: mirror and scale/translation jitter in the body frame.
    detail_fraction: share of each batch drawn from clips that show hands or faces (detected
        videos; motion capture has neither), so the few such clips are not drowned out.
    threads: torch CPU threads (0 = leave torch's default).
    out_dir: run folder (checkpoints, loss curve); the final model is ``out_dir/tokenizer``.
    """

    model: TokenizerConfig = field(default_factory=TokenizerConfig)
    dataset: str = "work/dataset"
    window: int = 32
    steps: int = 6000
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    val_every: int = 500
    val_batches: int = 20
    ckpt_every: int = 500
    augment: bool = True
    detail_fraction: float = 0.25
    seed: int = 0
    threads: int = 0
    out_dir: str = "outputs/tokenizer"

    def __post_init__(self) -> None:
        if self.window < 1 or self.window % self.model.temporal_stride:
            raise ValueError(f"window ({self.window}) must be a positive multiple of temporal_stride")
        for name in ("steps", "batch_size", "val_every", "val_batches", "ckpt_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.warmup_steps < 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("lr must be > 0; warmup_steps, weight_decay and grad_clip >= 0")
        if not 0.0 <= self.detail_fraction <= 1.0:
            raise ValueError(f"detail_fraction must lie in [0, 1], got {self.detail_fraction}")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")
