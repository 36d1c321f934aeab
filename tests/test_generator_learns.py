"""A tiny GPT learns a music-to-motion rule: every part's token flips (0 <-> 1) on every beat."""

from __future__ import annotations

import torch

from xdancer.generator import GPTConfig, MotionGPT, SamplingConfig, generate


def beat_data(B: int, T: int, g: torch.Generator):
    """Music (B, T, 2) = (beat one-hot, noise); tokens (B, T, 5, 1) = number of beats so far, mod 2."""
    gaps = torch.randint(3, 7, (B, T), generator=g)
    beats = torch.zeros(B, T)
    for b in range(B):
        t = int(torch.randint(0, 4, (1,), generator=g))
        i = 0
        while t < T:
            beats[b, t] = 1
            t += int(gaps[b, i])
            i += 1
    music = torch.stack([beats, torch.randn(B, T, generator=g)], dim=-1)
    state = beats.cumsum(1).long() % 2  # (B, T)
    return music, state[:, :, None, None].expand(B, T, 5, 1).contiguous()


def test_tiny_model_learns_to_flip_on_every_beat():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    cfg = GPTConfig(codebook_size=4, tokens_per_part=1, temporal_stride=1, music_dim=2, global_dim=1,
                    window_frames=12, overlap_frames=3, n_layer=2, n_head=2, n_embd=48, dropout=0.0,
                    music_kernel=1, global_music=False, motion_context=False)  # fmt: skip
    model = MotionGPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(250):
        music, tokens = beat_data(32, cfg.window_frames, g)
        loss = model(tokens, music, targets=tokens).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.1

    # new songs, longer than a window: the generated dance must flip exactly on the beats
    music, truth = beat_data(8, 40, torch.Generator().manual_seed(123))
    out = generate(model, 40, music, sampling=SamplingConfig(temperature=0.7, seed=0))
    flips = (out[:, 1:, 0, 0] != out[:, :-1, 0, 0]).float()  # (B, T-1)
    beats = music[:, 1:, 0]
    accuracy = (flips == beats).float().mean()
    assert accuracy > 0.95, f"flip-on-beat accuracy {accuracy:.3f}"
    assert (out[:, :, 1:] == out[:, :, :1]).float().mean() > 0.95  # the other parts follow within the frame
    assert beats.sum() > 40  # the check is about many beats
