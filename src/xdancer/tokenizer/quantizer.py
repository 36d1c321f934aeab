"""A thin wrapper over vector-quantize-pytorch's quantisers with a structured output.

``kind="vq"``: ``VectorQuantize``. EMA codebook updates and the commitment loss follow X-Dancer
(VQ-VAE-2 style); dead codes (expected usage below ``dead_code_threshold``) are restarted from the
current batch. ``heads`` tokens are drawn per time step, either each from its own codebook
(``separate_codebooks=True``, the multi-part tokenizer's K tokens per part) or all from one shared
codebook (the single-codebook ablation).

``kind="fsq"``: ``FSQ`` (finite scalar quantisation). Each of the ``heads`` tokens is a point of one
fixed grid (``fsq_levels`` values per axis), reached through a learned projection of the input and
mapped back by another; there is no codebook to learn, so none can collapse. The grid is shared by
construction; ``separate_codebooks`` has no meaning here (a multi-part model still has one quantiser,
with its own projections, per part).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from vector_quantize_pytorch import FSQ, VectorQuantize


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
        kind: str = "vq",
        fsq_levels: tuple[int, ...] = (8, 8, 8),
    ) -> None:
        super().__init__()
        self.heads = heads
        self.code_dim = code_dim
        self.codebook_size = codebook_size
        self.kind = kind
        if kind == "fsq":
            # (B, N, heads * code_dim) -> project to heads * len(levels) -> round to the grid -> back.
            self.fsq = FSQ(levels=list(fsq_levels), dim=heads * code_dim, num_codebooks=heads,
                           keep_num_codebooks_dim=True)  # fmt: skip
            return
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
        if self.kind == "fsq":
            quantized, indices = self.fsq(z)  # indices (B, N, heads) int32
            indices = indices.long()
            return QuantizerOutput(quantized, indices, z.new_zeros(()))
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
        if self.kind == "fsq":
            # The grid points of the ids (B, N, heads, len(levels)), mapped back to the latent size. Read
            # from the implicit codebook (cast with the module) so a bfloat16 / float16 model decodes too.
            codes = self.fsq.implicit_codebook[indices].flatten(-2)
            return self.fsq.project_out(codes)
        codebook = self.vq.codebook  # (size, code_dim) shared, or (heads, size, code_dim) separate
        if codebook.ndim == 2:
            codes = codebook[indices]  # (B, N, heads, code_dim)
        else:
            heads = torch.arange(self.heads, device=indices.device)
            codes = codebook[heads, indices]  # (B, N, heads, code_dim)
        return codes.flatten(-2)
