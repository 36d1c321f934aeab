"""Diffusion renderer network: config presets, shapes, ReferenceNet attention, temporal modules,
motion guidance."""

from __future__ import annotations

import pytest
import torch

from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.model import DiffusionRendererModel, ReferenceReadProcessor
from xdancer.render.diffusion.motion_decoder import PoseCondition, unet_feature_shapes

B, F, H, W = 2, 3, 8, 8  # latent sizes of a 32 x 32 tiny frame


def _cond(cfg: DiffusionRendererConfig, b: int = B, f: int = F, seed: int = 0) -> PoseCondition:
    g = torch.Generator().manual_seed(seed)
    return PoseCondition(
        tokens=torch.randint(0, cfg.token_vocab, (b, f, cfg.tokens_per_frame), generator=g),
        confidence=torch.rand(b, f, cfg.token_parts, generator=g),
        images=torch.rand(b, f, 3, H * cfg.vae_factor, W * cfg.vae_factor, generator=g) * 2 - 1,
    )


@pytest.fixture(scope="module")
def model() -> DiffusionRendererModel:
    torch.manual_seed(0)
    return DiffusionRendererModel(DiffusionRendererConfig.tiny(height=32, width=32)).eval()


def test_presets_and_validation():
    sd = DiffusionRendererConfig.sd15()
    assert (sd.height, sd.width, sd.vae_factor, sd.cross_attention_dim) == (896, 512, 8, 768)
    assert sd.unet_channels == (320, 640, 1280, 1280) and sd.size_multiple == 64
    with pytest.raises(ValueError, match="guider"):
        DiffusionRendererConfig(guider="openpose")
    with pytest.raises(ValueError, match="multiples"):
        DiffusionRendererConfig(height=60)
    with pytest.raises(ValueError, match="window_overlap"):
        DiffusionRendererConfig(window=4, window_overlap=4)


def test_output_shape_and_reference_attention(model):
    cfg = model.cfg
    x, t = torch.randn(B, F, cfg.latent_channels, H, W), torch.tensor([10, 900])
    ref_a, ref_b = torch.randn(2, B, cfg.latent_channels, H, W)
    with torch.no_grad():
        state = model.encode_reference(ref_a)
        n_read = sum(isinstance(p, ReferenceReadProcessor) for p in model.unet.attn_processors.values())
        assert n_read > 0 and set(state.bank) == {
            k for k, p in model.unet.attn_processors.items() if isinstance(p, ReferenceReadProcessor)
        }
        motion = model.guide(_cond(cfg), H, W)
        out_a = model.denoise(x, t, state, motion)
        out_b = model.denoise(x, t, model.encode_reference(ref_b), motion)
        # Same context tokens, no ReferenceNet tokens: only the ReferenceNet path differs from out_a.
        no_bank = model.denoise(x, t, type(state)(bank={}, context=state.context), motion)
    assert out_a.shape == x.shape
    assert not torch.allclose(out_a, out_b, atol=1e-5)
    assert (out_a - no_bank).abs().max() > 1e-4


def test_temporal_modules_start_as_identity_and_then_mix_frames(model):
    cfg = model.cfg
    x, t = torch.randn(1, F, cfg.latent_channels, H, W), torch.tensor([500])
    ref = torch.randn(1, cfg.latent_channels, H, W)
    cond = _cond(cfg, b=1)
    with torch.no_grad():
        video = model(x, t, ref, cond)
        frames = torch.cat([model(x[:, i : i + 1], t, ref, cond.frames(i, i + 1)) for i in range(F)], dim=1)
        assert torch.allclose(video, frames, atol=1e-5)  # zero-initialised output: the image model
        for m in model.temporal:
            torch.nn.init.normal_(m.proj_out.weight, std=0.02)
        mixed = model(x, t, ref, cond)
        for m in model.temporal:
            torch.nn.init.zeros_(m.proj_out.weight)
    assert not torch.allclose(mixed, frames, atol=1e-4)


@pytest.mark.parametrize("guider", ["motion_decoder", "pose_image"])
def test_guider_features_fit_every_unet_scale(guider):
    # SD-1.5's block layout (attention in the first three levels, a plain last level) at tiny widths.
    cfg = DiffusionRendererConfig(
        height=64, width=64, guider=guider, unet_channels=(16, 16, 32, 32), vae_channels=(8, 8, 8),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, attention_heads=2, temporal_heads=2,
        guider_channels=(8, 8), motion_dim=16,
    )  # fmt: skip
    torch.manual_seed(0)
    m = DiffusionRendererModel(cfg).eval()
    h = w = 64 // cfg.vae_factor
    shapes = unet_feature_shapes(cfg, h, w)
    assert shapes == [(16, 16, 16), (16, 8, 8), (32, 4, 4), (32, 2, 2)]
    cond = PoseCondition(
        tokens=torch.randint(0, cfg.token_vocab, (1, 2, cfg.tokens_per_frame)),
        confidence=torch.rand(1, 2, cfg.token_parts),
        images=torch.rand(1, 2, 3, 64, 64),
    )
    with torch.no_grad():
        feats = m.guide(cond, h, w)
    assert [tuple(f.shape[1:]) for f in feats] == shapes and all(f.shape[0] == 2 for f in feats)
    assert all(float(f.abs().max()) == 0.0 for f in feats)  # zero convolutions: no effect before training
    x, t, ref = (
        torch.randn(1, 2, cfg.latent_channels, h, w),
        torch.tensor([3]),
        torch.randn(1, cfg.latent_channels, h, w),
    )
    with torch.no_grad():
        before = m(x, t, ref, cond)
        for out in m.guider.out if guider == "motion_decoder" else [hd[-1] for hd in m.guider.heads]:
            torch.nn.init.normal_(out.weight, std=0.1)
        after = m(x, t, ref, cond)
        other = PoseCondition(
            tokens=(cond.tokens + 1) % cfg.token_vocab, confidence=cond.confidence, images=-cond.images
        )
        moved = m(x, t, ref, other)
    assert after.shape == x.shape
    assert not torch.allclose(before, after, atol=1e-5)
    assert not torch.allclose(after, moved, atol=1e-5)  # the output follows the pose


def test_motion_decoder_uses_confidence():
    cfg = DiffusionRendererConfig.tiny()
    torch.manual_seed(0)
    m = DiffusionRendererModel(cfg).guider
    tokens = torch.randint(0, cfg.token_vocab, (4, cfg.tokens_per_frame))
    a = m.encode_frames(tokens, torch.ones(4, cfg.token_parts))
    b = m.encode_frames(tokens, torch.zeros(4, cfg.token_parts))
    assert a.shape == (4, cfg.motion_dim) and not torch.allclose(a, b)
    with pytest.raises(ValueError, match="tokens"):
        m.encode_frames(tokens[:, :2], torch.ones(4, cfg.token_parts))


def test_stage_gradients_reach_the_right_modules_and_the_loss_falls():
    cfg = DiffusionRendererConfig.tiny(height=32, width=32, guider="pose_image")
    torch.manual_seed(0)
    m = DiffusionRendererModel(cfg)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(2, 2, cfg.latent_channels, H, W, generator=g)
    noise = torch.randn(x0.shape, generator=g)
    ref = torch.randn(2, cfg.latent_channels, H, W, generator=g)
    t = torch.tensor([300, 700])
    cond = _cond(cfg, b=2, f=2)
    # Stage 1 trains UNet, ReferenceNet (through the attention it feeds), context and guider.
    for p in m.parameters():
        p.requires_grad_(False)
    params = m.stage_parameters(1)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=1e-3)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.mse_loss(m(x0 + noise, t, ref, cond), noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    ref_grads = [p.grad for n, p in m.reference_net.named_parameters() if "attn1" in n and p.grad is not None]
    assert ref_grads and any(float(gr.abs().max()) > 0 for gr in ref_grads)
    assert all(p.grad is None for p in m.temporal.parameters())
    # Stage 2: temporal modules and guider only; the image model stays fixed.
    for p in m.parameters():
        p.requires_grad_(False)
        p.grad = None
    for p in m.stage_parameters(2):
        p.requires_grad_(True)
    torch.nn.functional.mse_loss(m(x0 + noise, t, ref, cond), noise).backward()
    assert all(p.grad is None for p in m.unet.parameters())
    assert any(p.grad is not None and float(p.grad.abs().max()) > 0 for p in m.temporal.parameters())


def test_gradient_checkpointing_gives_the_same_gradients():
    # Checkpointed attention blocks are recomputed during backward: the ReferenceNet tokens and the
    # frame count must reach them then too (the SD-1.5 preset trains this way).
    grads = []
    for checkpointing in (False, True):
        cfg = DiffusionRendererConfig.tiny(height=32, width=32, gradient_checkpointing=checkpointing)
        torch.manual_seed(0)
        m = DiffusionRendererModel(cfg).train()
        for t in m.temporal:
            torch.nn.init.normal_(t.proj_out.weight, std=0.02)
        g = torch.Generator().manual_seed(2)
        x = torch.randn(1, 3, cfg.latent_channels, H, W, generator=g)
        ref = torch.randn(1, cfg.latent_channels, H, W, generator=g)
        m(x, torch.tensor([400]), ref, _cond(cfg, b=1)).square().mean().backward()
        grads.append(
            torch.cat([p.grad.flatten() for p in m.reference_net.parameters() if p.grad is not None])
        )
    assert grads[0].abs().max() > 0 and torch.allclose(grads[0], grads[1], atol=1e-6)
