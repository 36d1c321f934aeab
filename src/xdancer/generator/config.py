"""GPTConfig: the shape of the music-conditioned pose-token GPT (X-Dancer, "GPT motion generator").

Everything about the token layout comes from the pose tokenizer (parts, tokens per part, codebook
size, temporal stride); everything about the music comes from the feature extractor (per-frame
dimension, whole-track summary dimension). The three conditionings of the paper can be switched off
one by one for ablations.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdancer.music.features import GLOBAL_DIM, MUSIC_DIM
from xdancer.pose.skeleton import PART_NAMES


@dataclass
class GPTConfig:
    # --- token layout (from the tokenizer) --------------------------------------------------------
    codebook_size: int = 512  # codes per part codebook; all parts share this size
    n_parts: int = len(PART_NAMES)  # upper body, lower body, head, left hand, right hand (paper order)
    tokens_per_part: int = 1  # K: tokens per part per token frame
    temporal_stride: int = 2  # pose frames per token frame (the tokenizer's downsampling)
    # --- music (from xdancer.music.features) -----------------------------------------------------
    music_dim: int = MUSIC_DIM  # per-frame feature size D (EDGE's 35-d librosa set by default)
    global_dim: int = GLOBAL_DIM  # size G of MusicFeatures.global_context
    # --- windows (paper: 64-frame windows, 12-frame overlap, in pose frames) ---------------------
    window_frames: int = 32  # token frames per window (64 pose frames at stride 2)
    overlap_frames: int = 6  # token frames carried from one window into the next (12 pose frames)
    # --- transformer ------------------------------------------------------------------------------
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 160
    dropout: float = 0.1
    # --- conditionings (paper: a, b, c); each can be switched off for ablation ---------------------
    global_music: bool = True  # (a) start tokens from the whole track's summary
    n_global_tokens: int = 2  # how many start tokens the summary is projected to
    local_music: bool = True  # (b) each frame's projected music added to that frame's token embeddings
    music_kernel: int = 5  # token frames of music seen per frame (centred: music is known in advance)
    motion_context: bool = True  # (c) frames sampled uniformly from the previous segment, as prefix
    n_context_frames: int = 8
    # --- classifier-free guidance on the music (Ho & Salimans 2022; MusicGen) ----------------------
    null_music: bool = False  # learned "no music" embeddings, trained by music dropout; enable guidance

    def __post_init__(self) -> None:
        positive = (
            "codebook_size", "n_parts", "tokens_per_part", "temporal_stride", "music_dim", "global_dim",
            "window_frames", "n_layer", "n_head", "n_embd", "n_global_tokens", "music_kernel",
            "n_context_frames",
        )  # fmt: skip
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"GPTConfig.{name} must be positive, got {getattr(self, name)}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0 <= self.overlap_frames < self.window_frames:
            raise ValueError(
                f"overlap_frames must lie in [0, window_frames={self.window_frames}), got {self.overlap_frames}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.music_kernel % 2 != 1:
            raise ValueError(f"music_kernel must be odd (centred on the frame), got {self.music_kernel}")

    @property
    def tokens_per_frame(self) -> int:
        return self.n_parts * self.tokens_per_part

    @property
    def n_prefix(self) -> int:
        """Positions before the first pose token: global music tokens, then motion-context frames."""
        return (self.n_global_tokens if self.global_music else 0) + (
            self.n_context_frames if self.motion_context else 0
        )

    @property
    def block_size(self) -> int:
        """Longest sequence the model sees: prefix + one window of pose tokens."""
        return self.n_prefix + self.window_frames * self.tokens_per_frame
