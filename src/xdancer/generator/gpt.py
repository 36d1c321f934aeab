"""The music-conditioned pose-token GPT of X-Dancer ("GPT motion generator"), nanoGPT-style.

Sequence layout of one window (positions left to right, all causal):

    [global music tokens (a)] [motion-context frames (c)] [BOS, x_0, x_1, ..., x_{N-2}]

where x_j is the j-th pose token of the window in frame-major order: frame t holds
``n_parts * tokens_per_part`` tokens, parts in the paper's order (upper body, lower body, head,
left hand, right hand). Position j of the pose part predicts x_j, so its input embedding is

    tok(x_{j-1} or BOS) + slot(j % n) + frame(j // n) + music(j // n)            (b: local sync)

i.e. every position carries the slot, frame and music of the token it is about to write; the
music of a frame is thus combined with that frame's motion tokens (Bailando / X-Dancer (b)).
A motion-context frame is one prefix position: the sum of its token and slot embeddings, so eight
frames of the previous segment cost eight positions instead of ``8 n`` (our choice, for speed).

Inference uses a preallocated key/value cache (:class:`KVCache`) so each new token costs one
position of work; ``forward`` is the uncached reference the cache is tested against.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from xdancer.generator.config import GPTConfig


class GPTOutput(NamedTuple):
    logits: torch.Tensor  # (B, L, V)
    loss: torch.Tensor | None


class KVCache:
    """Keys and values of every layer, written in place, and a decoding copy of the weights.

    kv: (n_layer, 2, B, n_head, block_size, head_dim), preallocated once per dance so no step
    allocates. The weights are snapshot when the cache is made (linear weights transposed for
    ``addmm``): make a new cache after changing the model.
    """

    def __init__(self, model: MotionGPT, batch: int):
        cfg, p = model.cfg, model.head.weight
        shape = (cfg.n_layer, 2, batch, cfg.n_head, cfg.block_size, cfg.n_embd // cfg.n_head)
        self.kv = torch.zeros(shape, device=p.device, dtype=p.dtype)
        self.length = 0
        with torch.no_grad():
            self.layers = [
                (b.ln_1.weight, b.ln_1.bias, b.attn.c_attn.bias, b.attn.c_attn.weight.t().contiguous(),
                 b.attn.c_proj.bias, b.attn.c_proj.weight.t().contiguous(), b.ln_2.weight, b.ln_2.bias,
                 b.mlp[0].bias, b.mlp[0].weight.t().contiguous(), b.mlp[2].bias, b.mlp[2].weight.t().contiguous())
                for b in model.blocks
            ]  # fmt: skip
            self.final = (model.ln_f.weight, model.ln_f.bias, model.head.weight.t().contiguous())

    def reset(self) -> None:
        self.length = 0


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, L, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, L, hs)
        k = k.view(B, L, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, L, self.n_head, C // self.n_head).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        y = y.transpose(1, 2).reshape(B, L, C)
        return F.dropout(self.c_proj(y), p, self.training)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
            nn.GELU(approximate="tanh"),
            nn.Linear(4 * cfg.n_embd, cfg.n_embd),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class MusicEncoder(nn.Module):
    """Per-frame music (B, T_pose, D) -> one embedding per token frame (B, T_tok, C).

    The ``temporal_stride`` pose frames of a token frame are concatenated, then a centred 1D
    convolution over ``music_kernel`` token frames lets each frame hear the beat just before and
    after it (the whole track is known before generation, so looking ahead is allowed).
    """

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.stride = cfg.temporal_stride
        self.conv = nn.Conv1d(
            cfg.temporal_stride * cfg.music_dim, cfg.n_embd, cfg.music_kernel, padding=cfg.music_kernel // 2
        )
        self.out = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.register_buffer("mean", torch.zeros(cfg.music_dim))
        self.register_buffer("std", torch.ones(cfg.music_dim))

    def forward(self, music: torch.Tensor) -> torch.Tensor:
        B, T, D = music.shape
        music = (music - self.mean) / self.std
        pad = (-T) % self.stride  # a partial last token frame repeats its last pose frame
        if pad:
            music = torch.cat([music, music[:, -1:].expand(B, pad, D)], dim=1)
        frames = music.reshape(B, -1, self.stride * D)  # (B, T_tok, S*D)
        h = self.conv(frames.transpose(1, 2)).transpose(1, 2)  # (B, T_tok, C)
        return self.out(F.gelu(h))


class MotionGPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        C, n = cfg.n_embd, cfg.tokens_per_frame
        self.tok_emb = nn.Embedding(cfg.codebook_size + 1, C)  # last row: BOS
        self.bos = cfg.codebook_size
        self.slot_emb = nn.Parameter(torch.zeros(n, C))
        self.frame_emb = nn.Parameter(torch.zeros(cfg.window_frames, C))
        if cfg.local_music:
            self.music = MusicEncoder(cfg)
        if cfg.global_music:
            self.global_proj = nn.Sequential(
                nn.Linear(cfg.global_dim, C), nn.GELU(), nn.Linear(C, cfg.n_global_tokens * C)
            )
            self.register_buffer("global_mean", torch.zeros(cfg.global_dim))
            self.register_buffer("global_std", torch.ones(cfg.global_dim))
        if cfg.null_music:  # what a position hears when the music is dropped (guidance's other half)
            self.null_music = nn.Parameter(torch.zeros(C))
            self.null_global = nn.Parameter(torch.zeros(cfg.n_global_tokens, C))
        if cfg.motion_context:
            self.ctx_emb = nn.Parameter(torch.zeros(cfg.n_context_frames, C))
            self.ctx_null = nn.Parameter(torch.zeros(cfg.n_context_frames, C))  # "no previous segment"
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(C)
        self.head = nn.Linear(C, cfg.codebook_size, bias=False)
        self.apply(self._init_weights)
        for p in (self.slot_emb, self.frame_emb):
            nn.init.normal_(p, std=0.02)
        if cfg.null_music:
            nn.init.normal_(self.null_music, std=0.02)
            nn.init.normal_(self.null_global, std=0.02)
        if cfg.motion_context:
            nn.init.normal_(self.ctx_emb, std=0.02)
            nn.init.normal_(self.ctx_null, std=0.02)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # --- conditioning -----------------------------------------------------------------------------

    def _check_keep(self, keep: torch.Tensor | None) -> None:
        if keep is not None and not self.cfg.null_music:
            raise ValueError(
                "this model has no 'no music' embedding (null_music=False): it cannot drop the music"
            )

    def embed_music(
        self, music: torch.Tensor | None, keep: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """(B, T_pose, D) per-frame music -> (B, T_tok, C), or None when local sync is off.

        keep: optional (B,) bool; rows where it is False hear the learned "no music" embedding.
        """
        if not self.cfg.local_music:
            return None
        if music is None:
            raise ValueError("this model uses frame-wise music (local_music=True): pass music")
        emb = self.music(music)
        self._check_keep(keep)
        if keep is not None:
            emb = torch.where(keep.view(-1, 1, 1), emb, self.null_music.to(emb))
        return emb

    def prefix(
        self,
        batch: int,
        global_context: torch.Tensor | None = None,
        context_tokens: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        keep_music: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Prefix embeddings (B, n_prefix, C).

        global_context: (B, G) whole-track summary (conditioning a).
        context_tokens: (B, F, P, K) frames sampled from the previous segment (conditioning c), or
            None for "no previous segment"; context_mask (B,) bool marks rows that have one.
        keep_music: optional (B,) bool; rows where it is False get the learned "no music" start tokens.
        """
        cfg, parts = self.cfg, []
        device, dtype = self.slot_emb.device, self.slot_emb.dtype
        if cfg.global_music:
            if global_context is None:
                raise ValueError(
                    "this model uses the global music context (global_music=True): pass global_context"
                )
            g = (global_context.to(dtype) - self.global_mean) / self.global_std
            tokens = self.global_proj(g).view(batch, cfg.n_global_tokens, cfg.n_embd)
            self._check_keep(keep_music)
            if keep_music is not None:
                tokens = torch.where(keep_music.view(batch, 1, 1), tokens, self.null_global.to(tokens))
            parts.append(tokens)
        if cfg.motion_context:
            null = self.ctx_null.unsqueeze(0).expand(batch, -1, -1)
            if context_tokens is None:
                parts.append(null)
            else:
                flat = context_tokens.reshape(batch, cfg.n_context_frames, cfg.tokens_per_frame)  # (B, F, n)
                frames = (self.tok_emb(flat) + self.slot_emb).sum(dim=2) + self.ctx_emb  # (B, F, C)
                if context_mask is not None:
                    frames = torch.where(context_mask.view(batch, 1, 1), frames, null)
                parts.append(frames)
        if not parts:
            return torch.zeros(batch, 0, cfg.n_embd, device=device, dtype=dtype)
        return torch.cat(parts, dim=1)

    def position_table(self, music_emb: torch.Tensor | None, batch: int, n_frames: int) -> torch.Tensor:
        """Everything but the previous token, per pose-token position: (B, n_frames * n, C).

        music_emb: (B, >= n_frames, C) music of the window's frames (its first n_frames are used).
        """
        cfg = self.cfg
        if n_frames > cfg.window_frames:
            raise ValueError(f"a window holds at most {cfg.window_frames} token frames, got {n_frames}")
        table = self.frame_emb[:n_frames, None, :] + self.slot_emb[None, :, :]  # (T, n, C)
        table = table.unsqueeze(0).expand(batch, -1, -1, -1)
        if cfg.local_music:
            if music_emb is None or music_emb.shape[1] < n_frames:
                raise ValueError(f"need frame-wise music for {n_frames} token frames")
            table = table + music_emb[:, :n_frames, None, :]
        return table.reshape(batch, n_frames * cfg.tokens_per_frame, cfg.n_embd)

    def token_inputs(self, tokens: torch.Tensor, table: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Inputs of pose positions start .. start+L-1, given the L tokens before them: (B, L, C).

        tokens: (B, L) long; tokens[:, i] is the token at position start+i-1 (start=0: BOS first).
        """
        return self.tok_emb(tokens) + table[:, start : start + tokens.shape[1]]

    # --- uncached forward (training, and the reference for the cache) ---------------------------

    def forward(
        self,
        tokens: torch.Tensor,
        music: torch.Tensor | None = None,
        global_context: torch.Tensor | None = None,
        context_tokens: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        music_offset: int = 0,
        keep_music: torch.Tensor | None = None,
    ) -> GPTOutput:
        """Next-token logits for a window.

        tokens: (B, T, P, K) pose tokens of the window, or (B, N) already flat (frame-major).
        music: (B, T_pose, D) per-frame music covering the window, starting ``music_offset`` token
            frames before it (music around the window's edges, heard by the music convolution).
        targets: (B, T, P, K) / (B, N) tokens to score; when given, ``tokens`` are usually the same
            tensor and the loss is the mean next-token cross-entropy.
        keep_music: optional (B,) bool; False rows are trained / scored without music (music dropout).
        Returns logits (B, L, V): logits[:, j] scores pose token j given tokens 0 .. j-1 (and the
        prefix); L = N with targets (and the loss), else N + 1 (capped at the window's length).
        """
        cfg = self.cfg
        B = tokens.shape[0]
        flat = tokens.reshape(B, -1)  # (B, N)
        N = flat.shape[1]
        bos = torch.full((B, 1), self.bos, dtype=torch.long, device=flat.device)
        # a full window has no position after its last token: scoring stops at the window's end
        L = N if targets is not None else min(N + 1, cfg.window_frames * cfg.tokens_per_frame)
        inputs = torch.cat([bos, flat], dim=1)[:, :L]
        music_emb = self.embed_music(music, keep_music)
        if music_emb is not None:
            music_emb = music_emb[:, music_offset:]
        table = self.position_table(music_emb, B, -(-L // cfg.tokens_per_frame))
        prefix = self.prefix(B, global_context, context_tokens, context_mask, keep_music)
        x = torch.cat([prefix, self.token_inputs(inputs, table)], dim=1)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x[:, cfg.n_prefix :]))  # (B, L, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return GPTOutput(logits, loss)

    # --- cached forward (generation) --------------------------------------------------------------

    def new_cache(self, batch: int) -> KVCache:
        return KVCache(self, batch)

    def forward_cached(self, x: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Run input embeddings x (B, L, C) after the cache's contents; logits of the last position (B, V).

        The same computation as the blocks of :meth:`forward` (tested equal), written as a flat
        sequence of fused ops on 2D activations: one new token costs ~12 kernel calls per layer and
        no allocation in the cache, which is what makes a minute of dance take seconds on a CPU.
        """
        cfg = self.cfg
        B, L, C = x.shape
        nh, hs = cfg.n_head, C // cfg.n_head
        start, end = cache.length, cache.length + L
        if end > cfg.block_size:
            raise ValueError(f"the cache holds {cfg.block_size} positions; window too long")
        mask = None
        if L > 1:  # query i sits at absolute position start + i and may see keys 0 .. start + i
            mask = torch.ones(L, end, dtype=torch.bool, device=x.device).tril(diagonal=start)
        h = x.reshape(B * L, C)
        for i, (g1, b1, bqkv, wqkv, bo, wo, g2, b2, bf, wf, bp, wp) in enumerate(cache.layers):
            a = F.layer_norm(h, (C,), g1, b1)
            qkv = torch.addmm(bqkv, a, wqkv).view(B, L, 3, nh, hs).permute(2, 0, 3, 1, 4)  # (3, B, nh, L, hs)
            cache.kv[i, :, :, :, start:end] = qkv[1:]
            y = F.scaled_dot_product_attention(
                qkv[0], cache.kv[i, 0, :, :, :end], cache.kv[i, 1, :, :, :end], attn_mask=mask
            )
            h = torch.addmm(bo, y.transpose(1, 2).reshape(B * L, C), wo).add_(h)
            a = F.gelu(torch.addmm(bf, F.layer_norm(h, (C,), g2, b2), wf), approximate="tanh")
            h = torch.addmm(bp, a, wp).add_(h)
        cache.length = end
        g, b, w = cache.final
        last = h.view(B, L, C)[:, -1]
        return F.layer_norm(last, (C,), g, b) @ w
