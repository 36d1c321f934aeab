"""A thin wrapper over vector-quantize-pytorch's ``VectorQuantize`` with a structured output.

EMA codebook updates and the commitment loss follow X-Dancer (VQ-VAE-2 style); dead codes (expected
usage below ``dead_code_threshold``) are restarted from the current batch, which keeps small
codebooks fully used. ``heads`` tokens are drawn per time step, either each from its own codebook
(``separate_codebooks=True``, the multi-part tokenizer's K tokens per part) or all from one shared
codebook (the single-codebook ablation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from vector_quantize_pytorch import VectorQuantize


@dataclass
class QuantizerOutput:
    """quantized: (B, N, heads * code_dim); indices: (B, N, heads) long; commit_loss: scalar."""

    quantized: torch.Tensor
    indices: torch.Tensor
    commit_loss: torch.Tensor


class Quantizer(nn.Module):
    def __init__(
        self,
        code_dim: int,
        codebook_size: int,
        heads: int,
        separate_codebooks: bool,
        decay: float,
        commitment_weight: float,
        dead_code_threshold: float,
        kmeans_init: bool,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.code_dim = code_dim
        self.codebook_size = codebook_size
        self.vq = VectorQuantize(
            dim=heads * code_dim,  # input already has heads * code_dim channels: no projection
            codebook_size=codebook_size,
            codebook_dim=code_dim,
            heads=heads,
            separate_codebook_per_head=separate_codebooks,
            decay=decay,
            commitment_weight=commitment_weight,
            threshold_ema_dead_code=dead_code_threshold,
            kmeans_init=kmeans_init,
            kmeans_iters=10,
        )

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        """z: (B, N, heads * code_dim) -> quantized latents, code indices and commitment loss."""
        quantized, indices, loss = self.vq(z)
        if indices.ndim == 2:  # one head: (B, N) -> (B, N, 1)
            indices = indices.unsqueeze(-1)
        return QuantizerOutput(quantized, indices, loss.sum())

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, N, heads) long -> (B, N, heads * code_dim), the codes a forward pass would return."""
        if indices.ndim != 3 or indices.shape[-1] != self.heads:
            raise ValueError(f"expected indices (B, N, {self.heads}), got {tuple(indices.shape)}")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= self.codebook_size):
            raise ValueError(
                f"token ids must lie in [0, {self.codebook_size}), got {int(indices.min())}..{int(indices.max())}"
            )
        codebook = self.vq.codebook  # (size, code_dim) shared, or (heads, size, code_dim) separate
        if codebook.ndim == 2:
            codes = codebook[indices]  # (B, N, heads, code_dim)
        else:
            heads = torch.arange(self.heads, device=indices.device)
            codes = codebook[heads, indices]  # (B, N, heads, code_dim)
        return codes.flatten(-2)
