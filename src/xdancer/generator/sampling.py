"""Sampling pose tokens from the GPT: temperature / top-k / top-p with a seeded generator, and
dances of any length by sliding windows with overlap (X-Dancer: 64-frame windows, 12-frame overlap).

A long dance is made window by window. Each new window starts with the last ``overlap_frames``
token frames of the previous one *as given tokens* (they are continued, never re-sampled), so the
motion runs straight through the join; its global motion context is ``n_context_frames`` frames
sampled uniformly from the previous window, and its music is the track's music at the window's
frames. Music is embedded once for the whole track.

Classifier-free guidance (``guidance`` g != 1, models trained with music dropout): every step runs
the dance twice, with its music and with the learned "no music" embeddings, and samples from
``uncond + g * (cond - uncond)`` logits (Ho & Salimans 2022; MusicGen), which strengthens what the
music asks for beyond what the model's likelihood alone puts on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from xdancer.generator.config import GPTConfig
from xdancer.generator.gpt import MotionGPT


@dataclass
class SamplingConfig:
    temperature: float = 1.0  # 0 = greedy (argmax)
    top_k: int | None = None  # keep the k most likely codes
    top_p: float | None = None  # keep the smallest set of codes whose probability reaches p
    seed: int = 0
    guidance: float = 1.0  # classifier-free guidance scale on the music (1 = none)

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p}")
        if not 0 <= self.guidance <= 10:
            raise ValueError(f"guidance must lie in [0, 10], got {self.guidance}")


def check_guidance(cfg: GPTConfig, guidance: float) -> None:
    """Refuse guidance (any scale but 1) for a model without the learned "no music" embeddings."""
    if guidance != 1.0 and not cfg.null_music:
        raise ValueError(
            "guidance needs a generator trained with music dropout (train with --set music_dropout=0.15)"
        )


def sample_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One code per row of logits (B, V) -> (B,) long."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # drop a code when the codes before it already reach top_p (the most likely one always stays)
        drop_sorted = (cum - sorted_logits.softmax(dim=-1)) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator).squeeze(-1)


def context_indices(start: int, end: int, n: int) -> torch.Tensor:
    """``n`` frame indices spread uniformly over [start, end) (repeats when the segment is short)."""
    if end <= start:
        raise ValueError(f"empty segment [{start}, {end})")
    return torch.from_numpy(np.round(np.linspace(start, end - 1, n)).astype(np.int64))


def window_starts(n_frames: int, window: int, overlap: int) -> list[int]:
    """Start frames of the windows covering ``n_frames`` (each window adds window - overlap frames)."""
    if window <= overlap:
        raise ValueError(f"window ({window}) must be longer than the overlap ({overlap})")
    starts = [0]
    while starts[-1] + window < n_frames:
        starts.append(starts[-1] + window - overlap)
    return starts


@torch.inference_mode()
def generate(
    model: MotionGPT,
    n_frames: int,
    music: torch.Tensor | None = None,
    global_context: torch.Tensor | None = None,
    prompt: torch.Tensor | None = None,
    sampling: SamplingConfig | None = None,
    batch: int | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Sample ``n_frames`` token frames: (B, n_frames, P, K) long.

    music: (B, T_pose, D) per-frame music of the whole dance (T_pose >= n_frames * stride is not
        required: the music embedding has one entry per token frame of the given music).
    global_context: (B, G) whole-track summary.
    prompt: (B, T0, P, K) token frames the dance starts with (e.g. the reference photo's pose);
        they are copied to the output unchanged.
    """
    cfg = model.cfg
    sampling = sampling or SamplingConfig()
    B = next(x.shape[0] for x in (music, global_context, prompt) if x is not None) if batch is None else batch
    n, W, Ov = cfg.tokens_per_frame, cfg.window_frames, cfg.overlap_frames
    device = model.head.weight.device
    gen = torch.Generator(device=device).manual_seed(sampling.seed)
    model.eval()
    check_guidance(cfg, sampling.guidance)
    guided = sampling.guidance != 1.0
    # Guidance runs 2B rows: the B dances with their music, then the same B without it.
    keep = torch.arange(2 * B, device=device) < B if guided else None
    rows = 2 * B if guided else B

    def both(x: torch.Tensor | None) -> torch.Tensor | None:
        return torch.cat([x, x]) if guided and x is not None else x

    music_emb = model.embed_music(both(music), keep)  # (rows, T_tok, C) for the whole track
    if music_emb is not None and music_emb.shape[1] < n_frames:
        raise ValueError(f"music covers {music_emb.shape[1]} token frames, {n_frames} requested")
    out = torch.zeros(B, n_frames, n, dtype=torch.long, device=device)  # (B, T, n)
    filled = 0
    if prompt is not None:
        filled = min(prompt.shape[1], n_frames)
        out[:, :filled] = prompt[:, :filled].reshape(B, -1, n)
    cache = model.new_cache(rows)
    global_context = both(global_context)
    emb = model.tok_emb.weight
    bar = tqdm(total=n_frames, desc="choreographing", unit="frame", disable=not progress)
    bar.update(filled)
    context = None
    for start in window_starts(n_frames, W, Ov):
        end = min(start + W, n_frames)
        if start > 0 and cfg.motion_context:
            prev = start - (W - Ov)  # the previous window: [prev, prev + W)
            context = both(out[:, context_indices(prev, prev + W, cfg.n_context_frames)])  # (rows, F, n)
        window_music = None if music_emb is None else music_emb[:, start:end]
        table = model.position_table(window_music, rows, end - start)  # (rows, (end-start) * n, C)
        # 1. prefill: prefix, BOS and every token already known in this window (overlap / prompt)
        known = both(out[:, start:filled].reshape(B, -1))  # (rows, m)
        if known.shape[1] >= (end - start) * n:
            continue
        cache.reset()
        bos = torch.full((rows, 1), model.bos, dtype=torch.long, device=device)
        prefix = model.prefix(rows, global_context, context, keep_music=keep)
        x = torch.cat([prefix, model.token_inputs(torch.cat([bos, known], 1), table)], 1)
        logits = model.forward_cached(x, cache)
        # 2. one token at a time; position j's input is the token at j - 1 plus j's slot/frame/music
        flat = out[:, start:end].view(B, -1)  # (B, (end-start) * n), a view: writes land in out
        for j in range(known.shape[1], flat.shape[1]):
            if guided:  # (2B, V) -> (B, V): uncond + g * (cond - uncond)
                logits = torch.lerp(logits[B:], logits[:B], sampling.guidance)
            tok = sample_logits(logits, sampling.temperature, sampling.top_k, sampling.top_p, gen)
            flat[:, j] = tok
            if (j + 1) % n == 0:
                bar.update(1)
            if j + 1 < flat.shape[1]:
                x = (F.embedding(both(tok), emb) + table[:, j + 1]).unsqueeze(1)  # (rows, 1, C)
                logits = model.forward_cached(x, cache)
        filled = end
    bar.close()
    return out.view(B, n_frames, cfg.n_parts, cfg.tokens_per_part)
