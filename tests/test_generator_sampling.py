"""Sampling: top-k / top-p / temperature, seeds, batching, and sliding windows spliced without a seam."""

from __future__ import annotations

import pytest
import torch

from tests.test_generator_model import tiny
from xdancer.generator import MotionGPT, SamplingConfig, generate, sample_logits
from xdancer.generator.sampling import context_indices, window_starts


def test_sample_logits_filters():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[0.0, 3.0, 2.0, 1.0, -1.0]]).repeat(500, 1)
    assert (sample_logits(logits, 0.0) == 1).all()  # greedy
    assert (sample_logits(logits, 1.0, top_k=1, generator=g) == 1).all()
    top2 = sample_logits(logits, 1.0, top_k=2, generator=g)
    assert set(top2.tolist()) == {1, 2}
    assert (sample_logits(logits, 1.0, top_p=0.01, generator=g) == 1).all()
    # p(1) = 0.64, p(2) = 0.24: top_p = 0.8 keeps exactly codes 1 and 2
    assert set(sample_logits(logits, 1.0, top_p=0.8, generator=g).tolist()) == {1, 2}
    hot = sample_logits(logits, 0.05, generator=g)
    assert (hot == 1).float().mean() > 0.99  # low temperature ~ greedy
    wide = sample_logits(logits, 1.0, generator=g)
    assert len(set(wide.tolist())) >= 4


@pytest.mark.parametrize(
    "bad", [dict(temperature=-1), dict(top_k=0), dict(top_p=0.0), dict(top_p=1.5), dict(guidance=-1)]
)
def test_sampling_config_validation(bad):
    with pytest.raises(ValueError):
        SamplingConfig(**bad)


def test_window_layout():
    assert window_starts(6, 6, 2) == [0]
    assert window_starts(7, 6, 2) == [0, 4]
    assert window_starts(20, 6, 2) == [0, 4, 8, 12, 16]
    assert context_indices(4, 10, 4).tolist() == [4, 6, 7, 9]
    with pytest.raises(ValueError):
        window_starts(10, 4, 4)


def setup(B=2, frames=17, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = tiny(**kw)
    model = MotionGPT(cfg).eval()
    g = torch.Generator().manual_seed(seed + 1)
    music = torch.randn(B, frames * cfg.temporal_stride, cfg.music_dim, generator=g)
    glob = torch.randn(B, cfg.global_dim, generator=g)
    return cfg, model, music, glob


def reference_greedy(model: MotionGPT, n_frames: int, music, glob, prompt=None) -> torch.Tensor:
    """Greedy windows written with the uncached forward only (slow, obviously right)."""
    cfg = model.cfg
    B, n, W, Ov = music.shape[0], cfg.tokens_per_frame, cfg.window_frames, cfg.overlap_frames
    emb = model.embed_music(music)
    out = torch.zeros(B, n_frames, n, dtype=torch.long)
    filled = 0 if prompt is None else prompt.shape[1]
    if prompt is not None:
        out[:, :filled] = prompt.reshape(B, filled, n)
    ctx, start = None, 0
    while True:
        end = min(start + W, n_frames)
        if start > 0:
            ctx = out[:, context_indices(start - (W - Ov), start + Ov, cfg.n_context_frames)]
        flat = out[:, start:end].reshape(B, -1).clone()
        for j in range((filled - start) * n, flat.shape[1]):
            x = model.prefix(B, glob, ctx)
            table = model.position_table(emb[:, start:end], B, end - start)
            seq = torch.cat([torch.full((B, 1), model.bos), flat[:, :j]], 1)
            h = torch.cat([x, model.token_inputs(seq, table)], 1)
            for block in model.blocks:
                h = block(h)
            logits = model.head(model.ln_f(h[:, -1]))
            flat[:, j] = logits.argmax(-1)
        out[:, start:end] = flat.view(B, end - start, n)
        filled = end
        if end == n_frames:
            return out
        start = end - Ov


def test_windows_are_spliced_by_continuing_the_overlap():
    cfg, model, music, glob = setup(frames=17)
    prompt = torch.randint(0, cfg.codebook_size, (2, 1, cfg.n_parts, cfg.tokens_per_part))
    got = generate(model, 17, music, glob, prompt=prompt, sampling=SamplingConfig(temperature=0))
    assert got.shape == (2, 17, cfg.n_parts, cfg.tokens_per_part)
    assert torch.equal(got[:, :1], prompt)  # the dance starts from the given pose tokens
    with torch.no_grad():
        ref = reference_greedy(model, 17, music, glob, prompt)
    # every window (17 frames = 4 windows of 6 with overlap 2) continues the previous one's last
    # two frames as given tokens, with context from the previous window and the track's music
    assert torch.equal(got.view(2, 17, -1), ref)


def test_overlap_is_not_resampled():
    """Sampled (not greedy) windows: the first window alone equals the first frames of the long dance."""
    cfg, model, music, glob = setup(frames=17)
    s = SamplingConfig(temperature=1.0, seed=3)
    long = generate(model, 17, music, glob, sampling=s)
    short = generate(
        model, cfg.window_frames, music[:, : cfg.window_frames * cfg.temporal_stride], glob, sampling=s
    )
    assert torch.equal(long[:, : cfg.window_frames], short)


def test_determinism_under_a_seed():
    cfg, model, music, glob = setup()
    a = generate(model, 13, music, glob, sampling=SamplingConfig(seed=7, top_k=8, top_p=0.9))
    b = generate(model, 13, music, glob, sampling=SamplingConfig(seed=7, top_k=8, top_p=0.9))
    c = generate(model, 13, music, glob, sampling=SamplingConfig(seed=8, top_k=8, top_p=0.9))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_batched_generation_equals_one_at_a_time():
    cfg, model, music, glob = setup(B=3, frames=11)
    greedy = SamplingConfig(temperature=0)
    both = generate(model, 11, music, glob, sampling=greedy)
    for i in range(3):
        one = generate(model, 11, music[i : i + 1], glob[i : i + 1], sampling=greedy)
        assert torch.equal(both[i : i + 1], one)
    assert not torch.equal(both[0], both[1])  # different music, different dances


def test_unconditioned_model_needs_a_batch_size_and_short_music_is_refused():
    cfg, model, music, glob = setup(global_music=False, local_music=False)
    out = generate(model, 9, batch=2, sampling=SamplingConfig(seed=1))
    assert out.shape[:2] == (2, 9)
    cfg, model, music, glob = setup(frames=5)
    with pytest.raises(ValueError, match="music covers"):
        generate(model, 9, music, glob)


def test_guided_greedy_equals_the_uncached_reference():
    """uncond + g (cond - uncond) at every position, with the uncached forward written out by hand."""
    cfg, model, music, glob = setup(B=2, frames=6, null_music=True)
    W, g = cfg.window_frames, 2.5
    got = generate(model, W, music, glob, sampling=SamplingConfig(temperature=0, guidance=g)).reshape(2, -1)
    flat = torch.zeros(2, 0, dtype=torch.long)
    no_music = torch.zeros(2, dtype=torch.bool)  # keep_music False: every row drops its music
    with torch.no_grad():
        for _ in range(W * cfg.tokens_per_frame):
            cond = model(flat, music, glob).logits[:, -1]
            uncond = model(flat, music, glob, keep_music=no_music).logits[:, -1]
            flat = torch.cat([flat, (uncond + g * (cond - uncond)).argmax(-1, keepdim=True)], 1)
    assert torch.equal(got, flat)


def test_guidance_zero_ignores_the_music_and_needs_a_null_model():
    cfg, model, music, glob = setup(null_music=True)
    other = (torch.randn_like(music), torch.randn_like(glob))
    for guidance, same in ((0.0, True), (1.0, False)):
        s = SamplingConfig(seed=2, guidance=guidance)
        assert (
            torch.equal(generate(model, 13, music, glob, sampling=s), generate(model, 13, *other, sampling=s))
            == same
        )
    cfg, model, music, glob = setup()
    with pytest.raises(ValueError, match="music dropout"):
        generate(model, 13, music, glob, sampling=SamplingConfig(guidance=2.0))
