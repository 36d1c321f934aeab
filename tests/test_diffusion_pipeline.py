"""DiffusionRenderer: the DDIM loop, the Renderer interface, checkpoints and SD-1.5 folder loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.render.base import Renderer
from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.model import DiffusionRendererModel, build_unet
from xdancer.render.diffusion.pipeline import (
    DiffusionRenderer,
    load_diffusion_renderer,
    make_scheduler,
    token_frames,
)
from xdancer.render.diffusion.vae import build_vae, load_pretrained
from xdancer.render.diffusion.weights import load_renderer, save_renderer

CFG = DiffusionRendererConfig.tiny(
    guider="pose_image", height=32, width=32, window=4, window_overlap=1, num_inference_steps=3
)


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    return DiffusionRendererModel(CFG).eval(), build_vae(CFG).eval()


def _inputs(n: int = 6, size=(40, 48)):
    rng = np.random.default_rng(0)
    w, h = size
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    kps = np.zeros((n, 134, 3), np.float32)
    kps[..., 0] = rng.uniform(0, w, (n, 134))
    kps[..., 1] = rng.uniform(0, h, (n, 134))
    kps[..., 2] = 1.0
    poses = PoseSequence(kps, 30.0, (w, h))
    return image, poses.slice(0, 1), poses


def test_ddim_schedule_and_one_unet_pass_per_window_and_step(parts, monkeypatch):
    model, vae = parts
    sched = make_scheduler(CFG)
    sched.set_timesteps(CFG.num_inference_steps)
    ts = sched.timesteps.tolist()
    assert len(ts) == 3 and ts == sorted(ts, reverse=True) and ts[0] < CFG.num_train_timesteps
    calls = []
    real = model.denoise

    def counting(x, t, ref, motion):
        calls.append(x.shape[:2])
        return real(x, t, ref, motion)

    monkeypatch.setattr(model, "denoise", counting)
    image, ref_pose, poses = _inputs(n=6)  # windows of 4 with overlap 1 over 6 frames: starts 0, 2
    frames = list(DiffusionRenderer(model, vae, progress=False).render(image, ref_pose, poses, height=32))
    assert len(frames) == 6 and len(calls) == 3 * 2 and all(c == (1, 4) for c in calls)
    calls.clear()
    list(
        DiffusionRenderer(model, vae, guidance_scale=2.5, progress=False).render(
            image, ref_pose, poses, height=32
        )
    )
    assert len(calls) == 3 * 2 and all(c == (2, 4) for c in calls)  # guidance: both branches in one batch


def test_render_streams_frames_of_the_output_size_reproducibly(parts):
    model, vae = parts
    image, ref_pose, poses = _inputs(n=3, size=(40, 48))
    r = DiffusionRenderer(model, vae, seed=1, progress=False)
    assert isinstance(r, Renderer)
    w, h = r.output_size(image, 64)
    assert (w, h) == (56, 64) and w % CFG.size_multiple == 0
    a = np.stack(list(r.render(image, ref_pose, poses, height=64)))
    b = np.stack(list(r.render(image, ref_pose, poses, height=64)))
    c = np.stack(
        list(DiffusionRenderer(model, vae, seed=2, progress=False).render(image, ref_pose, poses, height=64))
    )
    assert a.shape == (3, h, w, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(InputError):
        next(r.render(image[..., 0], ref_pose, poses))
    with pytest.raises(InputError):
        next(r.render(image, ref_pose, poses, height=4))


def test_checkpoint_round_trip(parts, tmp_path):
    model, vae = parts
    path = save_renderer(tmp_path / "r", model, vae, step=7)
    model2, vae2, meta = load_renderer(path)
    assert meta["step"] == 7 and model2.cfg == model.cfg
    image, ref_pose, poses = _inputs(n=2)
    a = list(DiffusionRenderer(model, vae, progress=False).render(image, ref_pose, poses, height=32))
    b = list(
        load_diffusion_renderer(tmp_path / "r", progress=False).render(image, ref_pose, poses, height=32)
    )
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(InputError, match="train one"):
        load_diffusion_renderer(None)
    with pytest.raises(InputError, match="not found"):
        load_diffusion_renderer(tmp_path / "missing")


def test_sd15_format_folder_loads_and_mismatches_are_clear(tmp_path):
    # A diffusers-layout folder (unet/, vae/ with safetensors), as SD-1.5 ships; tiny sizes here.
    cfg = DiffusionRendererConfig.tiny(height=32, width=32)
    torch.manual_seed(1)
    unet, vae = build_unet(cfg), build_vae(cfg)
    for sub, module in (("unet", unet), ("vae", vae)):
        (tmp_path / sub).mkdir()
        save_file(
            {k: v.contiguous() for k, v in module.state_dict().items()},
            str(tmp_path / sub / "diffusion_pytorch_model.safetensors"),
        )
    cfg = DiffusionRendererConfig.tiny(height=32, width=32, pretrained_dir=str(tmp_path))
    unet2, vae2 = load_pretrained(cfg)
    assert all(
        torch.equal(a, b)
        for a, b in zip(unet.state_dict().values(), unet2.state_dict().values(), strict=True)
    )
    assert all(
        torch.equal(a, b) for a, b in zip(vae.state_dict().values(), vae2.state_dict().values(), strict=True)
    )
    model = DiffusionRendererModel(cfg, unet=unet2)
    assert all(
        torch.equal(a, b)
        for a, b in zip(unet.state_dict().values(), model.reference_net.state_dict().values(), strict=True)
    )
    # The older file layout of SD-1.5's VAE: bottleneck attention as query/key/value/proj_attn 1x1 convs.
    legacy_cfg = DiffusionRendererConfig.tiny(
        height=32, width=32, vae_mid_attention=True, pretrained_dir=str(tmp_path)
    )
    legacy_vae = build_vae(legacy_cfg)
    names = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
    legacy = {}
    for k, v in legacy_vae.state_dict().items():
        for new, old in names.items():
            if f".attentions.0.{new}." in k:
                k, v = k.replace(f".{new}.", f".{old}."), (v[..., None, None] if v.ndim == 2 else v)
        legacy[k] = v.contiguous()
    assert any(".query." in k for k in legacy)
    save_file(legacy, str(tmp_path / "vae" / "diffusion_pytorch_model.safetensors"))
    _, vae3 = load_pretrained(legacy_cfg)
    assert all(
        torch.equal(a, b)
        for a, b in zip(legacy_vae.state_dict().values(), vae3.state_dict().values(), strict=True)
    )
    with pytest.raises(InputError, match="do not fit"):
        load_pretrained(
            DiffusionRendererConfig.tiny(
                height=32, width=32, unet_channels=(16, 32), pretrained_dir=str(tmp_path)
            )
        )
    with pytest.raises(InputError, match="not found"):
        load_pretrained(DiffusionRendererConfig.tiny(pretrained_dir=str(tmp_path / "nowhere")))
    (tmp_path / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(InputError, match="diffusers layout"):
        load_pretrained(cfg)


def test_token_frames_follow_time():
    tokens = torch.arange(12).view(6, 2, 1)  # 6 token frames at 30 fps / stride 2 = 15 per second
    rows = token_frames(tokens, n_frames=5, fps=10.0, stride=2)  # pose frames at 0, 0.1, ... 0.4 s
    assert rows.shape == (5, 2)
    expected = [int(np.floor(i / 10.0 * 30 / 2)) for i in range(5)]
    assert rows[:, 0].tolist() == [2 * min(e, 5) for e in expected]


def _untrained_tokenizer():
    """A real (untrained) pose tokenizer with small sizes: enough to check the token plumbing."""
    from xdancer.tokenizer import PoseTokenizer, PoseVQVAE, TokenizerConfig

    torch.manual_seed(0)
    return PoseTokenizer(PoseVQVAE(TokenizerConfig(codebook_size=16, code_dim=4, temporal_stride=2, hidden=16,
                                                   decoder_hidden=16, res_blocks=0, kmeans_init=False)))  # fmt: skip


def test_motion_decoder_renderer_takes_tokens_from_the_tokenizer():
    tok = _untrained_tokenizer()
    cfg = DiffusionRendererConfig.tiny(height=32, width=32, window=4, window_overlap=1, num_inference_steps=2,
                                       token_vocab=16, token_stride=2)  # fmt: skip
    torch.manual_seed(0)
    model, vae = DiffusionRendererModel(cfg).eval(), build_vae(cfg).eval()
    image, ref_pose, poses = _inputs(n=5)
    r = DiffusionRenderer(model, vae, tokenizer=tok, progress=False)
    cond = r.conditions(poses, poses.keypoints, (32, 32))(1, 5)
    assert cond.tokens.shape == (1, 4, 5) and cond.confidence.shape == (1, 4, 5)
    assert int(cond.tokens.max()) < 16
    frames = list(r.render(image, ref_pose, poses, height=32))
    assert len(frames) == 5 and frames[0].shape == (32, 24, 3)  # the photo is 40 x 48
    with pytest.raises(InputError, match="does not match"):
        DiffusionRenderer(DiffusionRendererModel(DiffusionRendererConfig.tiny()), vae, tokenizer=tok)
