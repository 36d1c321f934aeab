"""Long videos: overlapping 16-frame windows blended in latent space without seams."""

from __future__ import annotations

import pytest
import torch

from xdancer.render.diffusion.windows import blend, blend_weights, window_starts


@pytest.mark.parametrize("n", [1, 5, 16, 17, 30, 61, 100])
@pytest.mark.parametrize("window,overlap", [(16, 4), (16, 0), (16, 8), (4, 1)])
def test_windows_cover_every_frame_and_weights_sum_to_one(n, window, overlap):
    starts = window_starts(n, window, overlap)
    length = min(window, n)
    assert starts[0] == 0 and starts[-1] + length == n
    assert all(b > a for a, b in zip(starts, starts[1:], strict=False))
    assert all(
        b - a <= window - overlap for a, b in zip(starts, starts[1:], strict=False)
    )  # at least `overlap` shared
    w = blend_weights(n, starts, window, overlap)
    assert w.shape == (len(starts), length) and (w >= 0).all()
    total = torch.zeros(n)
    for s, ws in zip(starts, w, strict=True):
        total[s : s + length] += ws
    assert torch.allclose(total, torch.ones(n), atol=1e-6)


@pytest.mark.parametrize("n", [16, 40, 77])
def test_agreeing_windows_pass_through_unchanged(n):
    window, overlap = 16, 4
    starts = window_starts(n, window, overlap)
    w = blend_weights(n, starts, window, overlap)
    constant = torch.full((n, 4, 3, 2), 0.7)
    out = blend([constant[s : s + window] for s in starts], starts, w, n)
    assert torch.allclose(out, constant, atol=1e-6)
    video = torch.randn(n, 4, 3, 2, generator=torch.Generator().manual_seed(n))  # any video, windows agree
    out = blend([video[s : s + window] for s in starts], starts, w, n)
    assert torch.allclose(out, video, atol=1e-5)


def test_disagreeing_windows_meet_without_a_seam():
    n, window, overlap = 28, 16, 4  # two windows: frames 0-15 and 12-27
    starts = window_starts(n, window, overlap)
    assert starts == [0, 12]
    w = blend_weights(n, starts, window, overlap)
    a, b = torch.zeros(window, 1), torch.ones(window, 1)
    out = blend([a, b], starts, w, n)[:, 0]
    steps = out[1:] - out[:-1]
    assert (steps >= -1e-7).all()  # monotone from one window's value to the other's
    assert steps.max() <= 1.0 / overlap + 1e-6  # the jump is spread over the overlap, not one cut
    assert out[:12].eq(0).all() and out[16:].eq(1).all()


def test_bad_windows():
    with pytest.raises(ValueError):
        window_starts(0, 16, 4)
    with pytest.raises(ValueError):
        window_starts(20, 16, 16)
