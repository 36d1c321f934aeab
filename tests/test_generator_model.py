"""The motion GPT: causality, key/value cache against the uncached forward, conditionings, config checks."""

from __future__ import annotations

import pytest
import torch

from xdancer.generator import GPTConfig, MotionGPT


def tiny(**kw) -> GPTConfig:
    base = dict(codebook_size=16, n_layer=2, n_head=2, n_embd=32, window_frames=6, overlap_frames=2,
                dropout=0.0, music_dim=4, global_dim=3, temporal_stride=2, tokens_per_part=1)  # fmt: skip
    base.update(kw)
    return GPTConfig(**base)


def inputs(cfg: GPTConfig, B: int = 2, T: int | None = None, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    T = T or cfg.window_frames
    return dict(
        tokens=torch.randint(0, cfg.codebook_size, (B, T, cfg.n_parts, cfg.tokens_per_part), generator=g),
        music=torch.randn(B, T * cfg.temporal_stride, cfg.music_dim, generator=g),
        global_context=torch.randn(B, cfg.global_dim, generator=g),
        context_tokens=torch.randint(
            0, cfg.codebook_size, (B, cfg.n_context_frames, cfg.n_parts, cfg.tokens_per_part), generator=g
        ),
    )


def test_logits_shape_and_loss():
    cfg = tiny()
    model = MotionGPT(cfg).eval()
    x = inputs(cfg)
    out = model(**x)
    N = cfg.window_frames * cfg.tokens_per_frame
    assert out.logits.shape == (2, N, cfg.codebook_size) and out.loss is None
    out = model(**x, targets=x["tokens"])
    assert out.logits.shape == (2, N, cfg.codebook_size)
    assert abs(float(out.loss.detach()) - torch.log(torch.tensor(16.0))) < 0.5  # near uniform at init


@pytest.mark.parametrize("flags", [{}, {"global_music": False}, {"local_music": False}, {"motion_context": False},
                                   {"global_music": False, "local_music": False, "motion_context": False}])  # fmt: skip
def test_causality_future_tokens_never_change_past_logits(flags):
    cfg = tiny(**flags)
    model = MotionGPT(cfg).eval()
    x = inputs(cfg)
    base = model(**x).logits
    n = cfg.tokens_per_frame
    for j in (0, 3, n, 2 * n + 1, cfg.window_frames * n - 1):
        changed = {**x, "tokens": x["tokens"].clone()}
        flat = changed["tokens"].view(2, -1)
        flat[:, j] = (flat[:, j] + 1) % cfg.codebook_size
        new = model(**changed).logits
        # logits[:, i] scores token i from tokens < i: rows 0..j are untouched, row j+1 must move
        torch.testing.assert_close(new[:, : j + 1], base[:, : j + 1])
        if j + 1 < new.shape[1]:
            assert not torch.allclose(new[:, j + 1], base[:, j + 1])


def test_frame_music_reaches_its_own_frame_only_through_the_convolution_window():
    cfg = tiny(music_kernel=1)
    model = MotionGPT(cfg).eval()
    x = inputs(cfg)
    base = model(**x).logits
    changed = {**x, "music": x["music"].clone()}
    t = 3
    changed["music"][:, t * cfg.temporal_stride] += 5.0  # the music of token frame t
    new = model(**changed).logits
    n = cfg.tokens_per_frame
    torch.testing.assert_close(new[:, : t * n], base[:, : t * n])  # earlier frames do not hear it
    assert not torch.allclose(new[:, t * n], base[:, t * n])  # frame t's first token does


def test_conditionings_are_used():
    cfg = tiny()
    model = MotionGPT(cfg).eval()
    x = inputs(cfg)
    base = model(**x).logits
    assert not torch.allclose(model(**{**x, "global_context": x["global_context"] + 1}).logits, base)
    other_ctx = (x["context_tokens"] + 1) % cfg.codebook_size
    assert not torch.allclose(model(**{**x, "context_tokens": other_ctx}).logits, base)
    none = model(**{**x, "context_tokens": None}).logits
    masked = model(**x, context_mask=torch.tensor([False, False])).logits
    torch.testing.assert_close(none, masked)  # mask False == "no previous segment"


@pytest.mark.parametrize("flags", [{}, {"global_music": False, "motion_context": False}])
def test_kv_cache_equals_uncached_forward(flags):
    cfg = tiny(**flags)
    model = MotionGPT(cfg).eval()
    x = inputs(cfg)
    ref = model(**x).logits  # (B, N, V)
    B, N = 2, cfg.window_frames * cfg.tokens_per_frame
    flat = x["tokens"].reshape(B, -1)
    table = model.position_table(model.embed_music(x["music"]), B, cfg.window_frames)
    seq = torch.cat([torch.full((B, 1), model.bos), flat], 1)
    cache = model.new_cache(B)
    m = 7  # prefill prefix + 7 positions at once, then one position at a time
    with torch.no_grad():
        prefix = model.prefix(B, x["global_context"], x["context_tokens"])
        got = [model.forward_cached(torch.cat([prefix, model.token_inputs(seq[:, :m], table)], 1), cache)]
        for j in range(m, N):
            got.append(model.forward_cached(model.token_inputs(seq[:, j : j + 1], table, j), cache))
    torch.testing.assert_close(torch.stack(got, 1), ref[:, m - 1 :], atol=1e-5, rtol=1e-4)
    assert cache.length == cfg.n_prefix + N


def test_cache_refuses_overflow():
    cfg = tiny()
    model = MotionGPT(cfg).eval()
    cache = model.new_cache(1)
    with pytest.raises(ValueError, match="cache"):
        model.forward_cached(torch.zeros(1, cfg.block_size + 1, cfg.n_embd), cache)


def test_missing_music_is_a_clear_error():
    cfg = tiny()
    model = MotionGPT(cfg)
    x = inputs(cfg)
    with pytest.raises(ValueError, match="music"):
        model(**{**x, "music": None})
    with pytest.raises(ValueError, match="global_context"):
        model(**{**x, "global_context": None})


@pytest.mark.parametrize("bad", [dict(n_embd=30, n_head=4), dict(overlap_frames=6, window_frames=6),
                                 dict(codebook_size=0), dict(dropout=1.0), dict(music_kernel=4)])  # fmt: skip
def test_config_validation(bad):
    with pytest.raises(ValueError):
        tiny(**bad)


def test_dropped_music_is_not_heard_and_needs_null_embeddings():
    torch.manual_seed(0)
    cfg = tiny(null_music=True)
    model = MotionGPT(cfg).eval()
    a, b = inputs(cfg, seed=0), inputs(cfg, seed=1)
    b["tokens"], b["context_tokens"] = a["tokens"], a["context_tokens"]  # same dance, other music
    keep = torch.tensor([True, False])
    la, lb = model(**a, keep_music=keep).logits, model(**b, keep_music=keep).logits
    assert torch.equal(la[1], lb[1])  # the dropped row hears the same "no music"
    assert not torch.allclose(la[0], lb[0])  # the kept row hears its own
    with pytest.raises(ValueError, match="null_music"):
        MotionGPT(tiny())(**a, keep_music=keep)
