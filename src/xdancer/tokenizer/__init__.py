"""Pose tokenizer: whole-body pose sequences <-> discrete tokens (X-Dancer's multi-part VQ-VAE).

    tok = load_tokenizer()                      # the bundled default
    tokens = tok.encode(normalized)             # (B, T, 134, 3) -> (B, T / stride, 5, K) long
    poses = tok.decode(tokens)                  # -> (B, T, 134, 3) normalised, confidence in [0, 1]
    tokens = tok.encode_sequence(seq)           # PoseSequence in pixels -> (T', 5, K)
    seq2 = tok.decode_sequence(tokens, seq.fps, seq.frame_size, transform=sequence_transform(seq.keypoints))

"Normalised" means :func:`xdancer.pose.normalize.normalize`: per-sequence root-relative translation
and torso-length scale. The dataset statistics of the training poses (:class:`PoseNormalizer`) travel
in the checkpoint and are exposed as ``tokenizer.normalizer``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from xdancer.checkpoint import load_checkpoint
from xdancer.config import from_dict
from xdancer.constants import CANVAS_HEIGHT, CANVAS_WIDTH, POSE_FPS
from xdancer.errors import InputError
from xdancer.pose.normalize import SEEN, PoseNormalizer, SequenceTransform, denormalize, normalize
from xdancer.pose.resample import resample_poses
from xdancer.pose.sequence import PoseSequence
from xdancer.tokenizer.config import TokenizerConfig, TokenizerTrainConfig
from xdancer.tokenizer.vqvae import NUM_PARTS, PoseVQVAE, TokenizerOutput

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "tokenizer"
DEFAULT_CHECKPOINT = BUNDLED_DIR / "tokenizer"
# The paper's ablation (one encoder, one codebook), trained on the same data for the same steps.
ABLATION_CHECKPOINT = BUNDLED_DIR / "single_codebook"

# Where decode_sequence puts a dance when no transform is given: torso length a quarter of the frame
# height (a full-body dancer framed like X-Dancer's 896 x 512 crops), and the whole dance -- every
# seen point of every frame (``SEEN``, the drawing threshold too: fainter points are not drawn), steps
# and travel included -- inside the frame with a margin, shrunk only when it would not fit otherwise.
DEFAULT_TORSO_FRACTION = 0.25
FRAME_MARGIN = 0.04  # of the frame height, on every side


def default_transform(normalized: np.ndarray, frame_size: tuple[int, int]) -> SequenceTransform:
    """Pixel placement of a normalised dance (T, 134, 3) in a (width, height) frame, for decoding
    without a reference: centred on the span of its seen points, torso a quarter of the height."""
    w, h = frame_size
    margin = FRAME_MARGIN * h
    seen = normalized[..., 2] >= SEEN
    if not seen.any():
        return SequenceTransform(origin=(w / 2, h / 2), scale=DEFAULT_TORSO_FRACTION * h)
    xy = normalized[..., :2][seen]  # (N, 2)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    scale = min(DEFAULT_TORSO_FRACTION * h, (w - 2 * margin) / span[0], (h - 2 * margin) / span[1])
    centre = (lo + hi) / 2
    return SequenceTransform(origin=(w / 2 - scale * centre[0], h / 2 - scale * centre[1]), scale=float(scale))


class PoseTokenizer:
    """A trained :class:`PoseVQVAE` (in eval mode) with its normaliser statistics."""

    def __init__(
        self, model: PoseVQVAE, normalizer: PoseNormalizer | None = None, meta: dict | None = None
    ) -> None:
        self.model = model.eval()
        self.config: TokenizerConfig = model.cfg
        self.normalizer = normalizer or PoseNormalizer.identity()
        self.meta = meta or {}

    # --- sizes the generator builds on -----------------------------------------------------------

    @property
    def temporal_stride(self) -> int:
        return self.config.temporal_stride

    @property
    def tokens_per_part(self) -> int:
        return self.config.tokens_per_part

    @property
    def num_parts(self) -> int:
        return NUM_PARTS

    @property
    def tokens_per_frame(self) -> int:
        """Tokens per token frame (one token frame = ``temporal_stride`` pose frames): P x K."""
        return NUM_PARTS * self.config.tokens_per_part

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    @property
    def tokens_per_second(self) -> float:
        return self.config.tokens_per_second

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> PoseTokenizer:
        self.model.to(device=device, dtype=dtype)
        return self

    # --- tensors ----------------------------------------------------------------------------------

    def encode(self, poses: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Normalised (B, T, 134, 3) -> tokens (B, T / stride, P, K) long (T a multiple of the stride)."""
        x = torch.as_tensor(poses).to(device=self.device, dtype=self.dtype)
        return self.model.encode(x)

    def decode(self, tokens: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Tokens (B, T', P, K) -> normalised (B, T' * stride, 134, 3), confidence in [0, 1]."""
        t = torch.as_tensor(tokens, device=self.device).long()
        return self.model.decode(t)

    def reconstruct(self, poses: torch.Tensor) -> TokenizerOutput:
        """Full forward pass in eval mode (reconstruction, tokens and the losses)."""
        with torch.no_grad():
            return self.model(poses.to(device=self.device, dtype=self.dtype))

    # --- pose sequences ---------------------------------------------------------------------------

    def encode_sequence(self, seq: PoseSequence) -> torch.Tensor:
        """A pixel-space PoseSequence -> tokens (T', P, K), T' = ceil(T / stride) at 30 fps.

        The sequence is resampled to 30 fps if needed, normalised in its own body frame, and padded
        at the end (repeating the last frame) to a multiple of the temporal stride.
        """
        if len(seq) == 0:
            raise InputError("cannot tokenize an empty pose sequence")
        if seq.fps != POSE_FPS:
            seq = resample_poses(seq, POSE_FPS)
        norm, _ = normalize(seq.keypoints)
        pad = (-len(norm)) % self.temporal_stride
        if pad:
            norm = np.concatenate([norm, np.repeat(norm[-1:], pad, axis=0)])
        return self.encode(norm[None])[0]

    def decode_sequence(
        self,
        tokens: torch.Tensor | np.ndarray,
        fps: float = POSE_FPS,
        frame_size: tuple[int, int] = (CANVAS_WIDTH, CANVAS_HEIGHT),
        transform: SequenceTransform | None = None,
    ) -> PoseSequence:
        """Tokens (T', P, K) -> PoseSequence of T' * stride frames in pixels of ``frame_size``.

        ``transform`` places the body frame in pixels (e.g. ``sequence_transform`` of the reference
        pose); by default the whole dance is centred in the frame, torso a quarter of the frame
        height (less if the dance would not fit otherwise). The
        tokenizer works at 30 fps; another ``fps`` resamples the decoded poses.
        """
        t = torch.as_tensor(tokens)
        if t.ndim != 3:
            raise InputError(f"decode_sequence takes tokens (T', {NUM_PARTS}, K), got shape {tuple(t.shape)}")
        norm = self.decode(t[None])[0].float().cpu().numpy()
        norm[..., 2] = np.clip(norm[..., 2], 0.0, 1.0)
        pixels = denormalize(norm, transform or default_transform(norm, frame_size))
        seq = PoseSequence(pixels, POSE_FPS, frame_size, {"source": "xdancer.tokenizer"})
        return seq if fps == POSE_FPS else resample_poses(seq, fps)


def tokenizer_from_checkpoint(tensors: dict[str, torch.Tensor], meta: dict) -> PoseTokenizer:
    cfg = from_dict(TokenizerConfig, meta["config"])
    model = PoseVQVAE(cfg)
    model.load_state_dict(tensors)
    norm = PoseNormalizer.from_dict(meta["normalizer"]) if meta.get("normalizer") else None
    return PoseTokenizer(model, norm, meta)


def load_tokenizer(path: str | Path | None = None, device: str | torch.device = "cpu") -> PoseTokenizer:
    """Load a tokenizer checkpoint (``foo`` = ``foo.safetensors`` + ``foo.json``); None = the bundled default."""
    p = DEFAULT_CHECKPOINT if path is None else Path(path)
    if p.parent == BUNDLED_DIR and not p.with_name(p.name + ".safetensors").is_file():
        raise InputError(
            f"the bundled tokenizer is missing ({p}.safetensors); train one with `xdancer train tokenizer`"
        )
    tensors, meta = load_checkpoint(p, device=device)
    if "config" not in meta:
        raise InputError(f"{p} is not a tokenizer checkpoint (no config in its JSON)")
    try:
        return tokenizer_from_checkpoint(tensors, meta).to(device)
    except (KeyError, RuntimeError, ValueError) as e:
        raise InputError(f"{p} is not a compatible tokenizer checkpoint: {e}") from e


__all__ = [
    "PoseTokenizer",
    "PoseVQVAE",
    "TokenizerConfig",
    "TokenizerTrainConfig",
    "TokenizerOutput",
    "load_tokenizer",
    "DEFAULT_CHECKPOINT",
    "ABLATION_CHECKPOINT",
    "default_transform",
]
