"""DiffusionRendererConfig: every size and setting of the diffusion renderer, saved in its checkpoints.

Two presets: ``tiny()`` (a few channels, trains from scratch on a CPU in minutes; used by the tests)
and ``sd15()`` (Stable Diffusion 1.5 UNet and VAE sizes, as X-Dancer uses, for GPU training from a
local SD-1.5 folder).
"""

from __future__ import annotations

from dataclasses import dataclass

GUIDERS = ("motion_decoder", "pose_image")
PREDICTION_TYPES = ("epsilon", "v_prediction")
CROSS_ATTN_DOWN, PLAIN_DOWN = "CrossAttnDownBlock2D", "DownBlock2D"
CROSS_ATTN_UP, PLAIN_UP = "CrossAttnUpBlock2D", "UpBlock2D"


@dataclass
class DiffusionRendererConfig:
    # --- Frames. X-Dancer renders 896 x 512 (H x W) crops around the person. ----------------------
    height: int = 64
    width: int = 64

    # --- VAE (diffusers AutoencoderKL). len(vae_channels) - 1 downsamplings of 2 each. -------------
    vae_channels: tuple[int, ...] = (16, 32, 32)
    vae_layers_per_block: int = 1
    vae_norm_groups: int = 8
    vae_mid_attention: bool = False  # SD-1.5 has self-attention in the VAE bottleneck
    latent_channels: int = 4
    # SD-1.5's value; a VAE trained from scratch replaces it with 1 / std of its training latents.
    vae_scaling_factor: float = 0.18215

    # --- UNet (diffusers UNet2DConditionModel), shared by the denoiser and the ReferenceNet. -------
    unet_channels: tuple[int, ...] = (32, 64)
    # Attention only at the coarse level of the tiny model: full-resolution attention dominates CPU time.
    down_block_types: tuple[str, ...] = (PLAIN_DOWN, CROSS_ATTN_DOWN)
    up_block_types: tuple[str, ...] = (CROSS_ATTN_UP, PLAIN_UP)
    layers_per_block: int = 1
    attention_heads: int = 4  # diffusers calls this "attention_head_dim" (SD-1.5: 8 heads)
    unet_norm_groups: int = 8
    cross_attention_dim: int = 32
    # Cross-attention context: context_grid x context_grid tokens pooled from the reference latent
    # (SD's CLIP text tokens have no meaning here and CLIP cannot be downloaded).
    context_grid: int = 2

    # --- Temporal attention (AnimateDiff-style), over windows of `window` frames. ------------------
    window: int = 16
    window_overlap: int = 4
    temporal_heads: int = 4
    temporal_max_frames: int = 32

    # --- Motion guidance: the paper's motion decoder, or the pose-image guider (ablation). ---------
    guider: str = "motion_decoder"
    token_vocab: int = 512  # codebook size of the pose tokenizer
    token_parts: int = 5  # upper body, lower body, head, left hand, right hand
    tokens_per_part: int = 1
    token_stride: int = 1  # pose frames per token frame (the tokenizer's temporal stride)
    tokenizer_path: str | None = None  # None = the bundled default tokenizer
    motion_dim: int = 64  # token embedding width and channels of the learned 2D map
    motion_map_size: tuple[int, int] = (8, 8)  # (h, w) of the learned map before resizing
    guider_channels: tuple[int, ...] = (16, 32)  # pose-image guider convs (each halves the size)
    pose_conf_threshold: float = 0.3
    crop_margin: float = 0.15  # framing: the person's box widened by this fraction on each side

    # --- Diffusion (DDPM training, DDIM sampling; SD-1.5's noise schedule). -----------------------
    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"
    prediction_type: str = "epsilon"
    num_inference_steps: int = 25
    guidance_scale: float = 1.0  # 1 = no classifier-free guidance (one UNet pass per step)
    eta: float = 0.0

    # --- Weights. ----------------------------------------------------------------------------------
    # A diffusers-layout SD-1.5 folder (unet/ and vae/ with *.safetensors) to start from; None = random.
    pretrained_dir: str | None = None
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        for name in ("height", "width", "latent_channels", "layers_per_block", "attention_heads",
                     "cross_attention_dim", "context_grid", "window", "temporal_heads", "token_vocab",
                     "token_parts", "tokens_per_part", "token_stride", "motion_dim",
                     "num_train_timesteps", "num_inference_steps"):  # fmt: skip
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.vae_channels or not self.unet_channels or not self.guider_channels:
            raise ValueError("vae_channels, unet_channels and guider_channels must not be empty")
        if len(self.down_block_types) != len(self.unet_channels) or len(self.up_block_types) != len(
            self.unet_channels
        ):
            raise ValueError("down_block_types and up_block_types need one entry per unet_channels entry")
        if not set(self.down_block_types) <= {CROSS_ATTN_DOWN, PLAIN_DOWN}:
            raise ValueError(f"down_block_types must be {CROSS_ATTN_DOWN} or {PLAIN_DOWN}")
        if not set(self.up_block_types) <= {CROSS_ATTN_UP, PLAIN_UP}:
            raise ValueError(f"up_block_types must be {CROSS_ATTN_UP} or {PLAIN_UP}")
        if CROSS_ATTN_DOWN not in self.down_block_types:
            raise ValueError(
                "at least one down block must have attention (the ReferenceNet attends through it)"
            )
        for c in self.unet_channels:
            if c % self.unet_norm_groups or c % self.attention_heads or c % self.temporal_heads:
                raise ValueError(
                    f"unet channel {c} must be divisible by unet_norm_groups, attention_heads and temporal_heads"
                )
        for c in self.vae_channels:
            if c % self.vae_norm_groups:
                raise ValueError(
                    f"vae channel {c} must be divisible by vae_norm_groups={self.vae_norm_groups}"
                )
        if self.height % self.size_multiple or self.width % self.size_multiple:
            raise ValueError(
                f"height and width must be multiples of {self.size_multiple} (VAE and UNet downsampling)"
            )
        if not 0 <= self.window_overlap < self.window:
            raise ValueError(f"window_overlap must be in [0, window), got {self.window_overlap}")
        if self.window > self.temporal_max_frames:
            raise ValueError("window must not exceed temporal_max_frames")
        if self.guider not in GUIDERS:
            raise ValueError(f"guider must be one of {GUIDERS}, got {self.guider!r}")
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type must be one of {PREDICTION_TYPES}")
        if self.guidance_scale < 1.0:
            raise ValueError("guidance_scale must be >= 1 (1 turns classifier-free guidance off)")
        if not 0.0 <= self.eta <= 1.0:
            raise ValueError("eta must be in [0, 1]")
        if not 0.0 < self.vae_scaling_factor:
            raise ValueError("vae_scaling_factor must be positive")
        if self.crop_margin < 0:
            raise ValueError("crop_margin must be >= 0")
        if len(self.motion_map_size) != 2 or min(self.motion_map_size) <= 0:
            raise ValueError("motion_map_size must be (h, w) with positive sizes")

    # --- Derived sizes ---------------------------------------------------------------------------

    @property
    def vae_factor(self) -> int:
        """Pixels per latent cell along each axis (8 for SD-1.5)."""
        return 2 ** (len(self.vae_channels) - 1)

    @property
    def size_multiple(self) -> int:
        """Frame sizes must divide by this: the VAE, then every UNet downsampling, halve them."""
        return self.vae_factor * 2 ** (len(self.unet_channels) - 1)

    @property
    def tokens_per_frame(self) -> int:
        return self.token_parts * self.tokens_per_part

    @property
    def uses_cfg(self) -> bool:
        return self.guidance_scale > 1.0

    # --- Presets ---------------------------------------------------------------------------------

    @classmethod
    def tiny(cls, **overrides) -> DiffusionRendererConfig:
        """A few channels, two levels: trains from scratch on a CPU (tests, debugging)."""
        return cls(**overrides)

    @classmethod
    def sd15(cls, **overrides) -> DiffusionRendererConfig:
        """Stable Diffusion 1.5 sizes (860M-parameter UNet) at X-Dancer's 896 x 512 output."""
        base = dict(
            height=896,
            width=512,
            vae_channels=(128, 256, 512, 512),
            vae_layers_per_block=2,
            vae_norm_groups=32,
            vae_mid_attention=True,
            unet_channels=(320, 640, 1280, 1280),
            down_block_types=(CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, PLAIN_DOWN),
            up_block_types=(PLAIN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP),
            layers_per_block=2,
            attention_heads=8,
            unet_norm_groups=32,
            cross_attention_dim=768,
            context_grid=4,
            temporal_heads=8,
            motion_dim=320,
            motion_map_size=(14, 8),
            guider_channels=(16, 32, 96, 256),
            guidance_scale=2.0,
            gradient_checkpointing=True,
        )
        base.update(overrides)
        return cls(**base)
