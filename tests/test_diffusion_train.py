"""Training the diffusion renderer on a real video: phases, resumption, the CLI, and (slow) a tiny
model that overfits a few frames better than the warp renderer renders them."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from xdancer.cli import main
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.render.diffusion.config import DiffusionRendererConfig
from xdancer.render.diffusion.framing import crop_frame, crop_keypoints, person_box
from xdancer.render.diffusion.pipeline import DiffusionRenderer
from xdancer.render.diffusion.weights import load_renderer
from xdancer.train.renderer import RendererTrainConfig, train_renderer
from xdancer.train.renderer_data import list_videos, load_video
from xdancer.train.renderer_eval import psnr_db, render_frames

VIDEO = "videos/animatex_dance_1.mp4"


def _cfg(tmp_path, **kw) -> RendererTrainConfig:
    model = DiffusionRendererConfig.tiny(guider="pose_image", height=32, width=32, window=2, window_overlap=0,
                                         num_inference_steps=2)  # fmt: skip
    base = dict(model=model, out_dir=str(tmp_path / "run"), max_frames=4, frame_stride=5, val_frames=1, vae_steps=2,
                stage1_steps=2, stage2_steps=0, stage1_batch=2, vae_batch=2, log_every=1, ckpt_every=100, threads=1,
                pose_cache=str(tmp_path / "poses"))  # fmt: skip
    base.update(kw)
    return RendererTrainConfig(**base)


def test_train_phases_checkpoint_and_resume(shared_data, tmp_path):
    video = shared_data / VIDEO
    path = train_renderer(_cfg(tmp_path), [video])
    model, vae, meta = load_renderer(path)
    assert meta["steps"] == 4 and [s for s, _ in meta["history"]["vae"]] == [1, 2]
    assert meta["frames"] == {"animatex_dance_1": 3} and set(meta["val"]) == {"psnr_db", "ssim", "frames"}
    # The VAE trained from scratch sets its own latent scale, carried in the renderer's config.
    assert model.cfg.vae_scaling_factor == pytest.approx(vae.config.scaling_factor) != 0.18215
    # Resuming with a longer schedule continues at step 4 (stage 2 added), not from scratch.
    path = train_renderer(_cfg(tmp_path, stage2_steps=2), [video])
    _, _, meta2 = load_renderer(path)
    assert meta2["steps"] == 6 and meta2["history"]["vae"] == meta["history"]["vae"]
    assert [s for s, _ in meta2["history"]["stage2"]] == [5, 6]
    assert (tmp_path / "run" / "loss.png").stat().st_size > 0
    # Per-person fine-tuning starts from the trained renderer (its config and VAE; no VAE phase).
    tuned = train_renderer(_cfg(tmp_path, mode="per_person", init_from=str(path), out_dir=str(tmp_path / "me"),
                                stage1_steps=1, stage2_steps=1, model=DiffusionRendererConfig.tiny()), [video])  # fmt: skip
    model3, _, meta3 = load_renderer(tuned)
    assert model3.cfg == model.cfg and meta3["steps"] == 2 and meta3["history"]["vae"] == []


def test_video_frames_are_strided_cropped_and_match_their_poses(shared_data, tmp_path):
    cfg = DiffusionRendererConfig.tiny(height=32, width=32)
    one = load_video(shared_data / VIDEO, cfg, tmp_path / "poses", None, 11, 1, stride=1, progress=False)
    five = load_video(shared_data / VIDEO, cfg, tmp_path / "poses", None, 3, 1, stride=5, progress=False)
    assert one.frames.shape == (11, 32, 32, 3) and five.frames.shape == (3, 32, 32, 3)
    assert (one.n_train, five.n_train) == (10, 2) and five.fps == pytest.approx(one.fps / 5)
    assert np.array_equal(five.frames, one.frames[::5]) and np.allclose(five.keypoints, one.keypoints[::5])
    seen = one.keypoints[..., 2] > 0.3
    assert seen.any() and (one.keypoints[seen][:, :2] >= 0).all() and (one.keypoints[seen][:, :2] <= 32).all()


def test_bad_training_input(shared_data, tmp_path):
    with pytest.raises(ValueError, match="init_from"):
        _cfg(tmp_path, mode="per_person")
    with pytest.raises(InputError, match="one video"):
        train_renderer(
            _cfg(tmp_path, mode="per_person", init_from=str(tmp_path / "x")), [shared_data / VIDEO] * 2
        )
    with pytest.raises(InputError, match="no videos"):
        list_videos(tmp_path)
    with pytest.raises(ValueError, match="mixed_precision"):
        _cfg(tmp_path, mixed_precision="fp8")
    assert main(["train", "renderer", "--videos", str(tmp_path / "missing.mp4")]) == 2
    video = str(shared_data / VIDEO)
    out = ["--set", f"out_dir={tmp_path / 'cli'}"]
    assert main(["train", "renderer", "--videos", video, "--per-person", str(tmp_path / "none"), *out]) == 2
    assert main(["train", "renderer", "--videos", str(shared_data / VIDEO), "--set", "stage1_steps=-1"]) == 2


def test_person_box_has_the_model_aspect_and_holds_the_person():
    kps = np.zeros((2, 134, 3), np.float32)
    kps[:, :2, :2] = [[100, 50], [140, 250]]
    kps[:, :2, 2] = 1.0
    box = person_box(kps, (640, 480), aspect=0.5, margin=0.1)
    x0, y0, x1, y1 = box
    assert (x1 - x0) / (y1 - y0) == pytest.approx(0.5, abs=0.01)
    assert x0 <= 100 and x1 >= 140 and y0 <= 30 and y1 >= 270
    inside = crop_keypoints(kps, box, (32, 64))
    assert (inside[:, :2, 0] > 0).all() and (inside[:, :2, 0] < 32).all() and (inside[:, :2, 1] < 64).all()
    assert (inside[:, 2:] == 0).all()  # unseen points stay zero
    frame = np.arange(480 * 640 * 3, dtype=np.uint8).reshape(480, 640, 3)
    assert crop_frame(frame, (-20, -10, 620, 1270), (32, 64)).shape == (64, 32, 3)  # leaves the picture


@pytest.mark.slow
def test_tiny_model_overfits_frames_better_than_the_warp_renderer(shared_data, tmp_path):
    """4 frames of a real dance video, 10 video frames apart, at 64 x 64. Measured on 2 CPU
    cores: 4-12 minutes depending on load; diffusion about 25 dB against about 20 dB for the warp renderer (see
    docs/diffusion.md)."""
    from xdancer.render.warp import WarpRenderer

    video = shared_data / VIDEO
    model_cfg = DiffusionRendererConfig.tiny(
        guider="pose_image", window=4, window_overlap=1, num_inference_steps=20
    )
    cfg = RendererTrainConfig(model=model_cfg, out_dir=str(tmp_path / "run"), max_frames=4, frame_stride=10,
                              vae_steps=400, stage1_steps=800, stage2_steps=20, stage1_lr=1e-3, stage2_lr=1e-3,
                              ref_drop_prob=0.0, log_every=50, ckpt_every=1000, threads=1)  # fmt: skip
    model, vae, _ = load_renderer(train_renderer(cfg, [video]))
    clip = load_video(video, model.cfg, tmp_path / "run" / "cache", None, 4, 0, stride=10, progress=False)
    frames = np.arange(4)
    diffusion = render_frames(DiffusionRenderer(model, vae, progress=False), clip, 0, frames)

    # The warp renderer animates the same reference frame with the same poses, at 256 x 256 (its
    # segmentation needs the pixels), then shrunk to 64 x 64 like the targets.
    big = load_video(video, DiffusionRendererConfig.tiny(height=256, width=256), tmp_path / "run" / "cache", None, 4,
                     0, stride=10, progress=False)  # fmt: skip
    warp = WarpRenderer().render(big.frames[0], PoseSequence(big.keypoints[:1], big.fps, (256, 256)),
                                 PoseSequence(big.keypoints, big.fps, (256, 256)), height=256)  # fmt: skip
    warp = [cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in warp]
    psnr_diffusion = np.mean([psnr_db(a, b) for a, b in zip(diffusion, clip.frames, strict=True)])
    psnr_warp = np.mean([psnr_db(a, b) for a, b in zip(warp, clip.frames, strict=True)])
    print(json.dumps({"psnr_diffusion_db": psnr_diffusion, "psnr_warp_db": psnr_warp}))
    assert psnr_diffusion > psnr_warp + 1.0


def test_motion_decoder_training_uses_the_tokenizer_sizes(shared_data, tmp_path):
    from xdancer.checkpoint import save_checkpoint
    from xdancer.config import to_dict
    from xdancer.tokenizer import PoseVQVAE, TokenizerConfig

    tcfg = TokenizerConfig(codebook_size=16, code_dim=4, temporal_stride=2, hidden=16, decoder_hidden=16,
                           res_blocks=0, kmeans_init=False)  # fmt: skip
    save_checkpoint(tmp_path / "tok", PoseVQVAE(tcfg).state_dict(), {"config": to_dict(tcfg)})
    cfg = _cfg(tmp_path, vae_steps=0, stage1_steps=1, stage2_steps=1, val_frames=0)
    cfg.model = DiffusionRendererConfig.tiny(height=32, width=32, window=2, window_overlap=0, num_inference_steps=2,
                                             tokenizer_path=str(tmp_path / "tok"))  # fmt: skip
    model, _, meta = load_renderer(train_renderer(cfg, [shared_data / VIDEO]))
    assert (model.cfg.token_vocab, model.cfg.token_stride, model.cfg.guider) == (16, 2, "motion_decoder")
    assert meta["steps"] == 2
