"""The VQ-VAE on tiny configs: shapes, round trips, confidence masking, determinism, overfitting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_tokenizer_helpers import synthetic_dance, tiny_config

from xdancer.checkpoint import load_checkpoint
from xdancer.pose.normalize import PoseNormalizer, normalize, sequence_transform
from xdancer.pose.skeleton import LEFT_HAND, NUM_KEYPOINTS, PARTS, kp
from xdancer.tokenizer import PoseTokenizer, load_tokenizer
from xdancer.tokenizer.config import TokenizerConfig, TokenizerTrainConfig
from xdancer.tokenizer.vqvae import PoseVQVAE, lower_body_relative_loss, pose_loss, velocity_loss
from xdancer.train.tokenizer import export_tokenizer


def batch(b=3, t=16, seed=0) -> torch.Tensor:
    return torch.as_tensor(
        np.stack([normalize(synthetic_dance(t, seed=seed + i).keypoints)[0] for i in range(b)])
    )


FSQ = dict(quantizer="fsq", fsq_levels=(8, 4), codebook_size=32)


@pytest.mark.parametrize("quantizer", ["vq", "fsq"])
@pytest.mark.parametrize("variant", ["multi_part", "single_codebook"])
@pytest.mark.parametrize("stride,k", [(1, 2), (2, 1), (4, 3)])
def test_shapes_and_token_round_trip(variant, stride, k, quantizer):
    torch.manual_seed(0)
    extra = FSQ if quantizer == "fsq" else {}
    model = PoseVQVAE(tiny_config(variant=variant, temporal_stride=stride, tokens_per_part=k, **extra))
    x = batch(2, 16)
    out = model(x)
    assert out.recon.shape == x.shape and out.tokens.shape == (2, 16 // stride, 5, k)
    assert out.recon[..., 2].min() >= 0 and out.recon[..., 2].max() <= 1
    model.eval()
    tokens = model.encode(x)
    assert tokens.dtype == torch.long and tokens.shape == (2, 16 // stride, 5, k)
    assert int(tokens.max()) < model.cfg.codebook_size
    # decode(encode(x)) is exactly the eval-mode forward reconstruction
    assert torch.allclose(model.decode(tokens), model(x).recon, atol=1e-5)


def test_fsq_model_decodes_in_bfloat16():
    torch.manual_seed(0)
    model = PoseVQVAE(tiny_config(**FSQ)).eval()
    x = batch(1, 16)
    tokens = model.encode(x)
    reference = model.decode(tokens)
    low = model.to(torch.bfloat16).decode(tokens)
    assert low.dtype == torch.bfloat16
    assert (low.float() - reference).abs().max() < 0.05


def test_default_placement_frames_the_whole_dance():
    from xdancer.tokenizer import DEFAULT_TORSO_FRACTION, FRAME_MARGIN, default_transform

    w, h = 512, 896
    norm, _ = normalize(synthetic_dance(60).keypoints)
    # A dancer who travels towards the camera: 3 torso lengths down and 1 sideways over the dance.
    travel = norm.copy()
    travel[..., 0] += np.linspace(0, 1, 60)[:, None]
    travel[..., 1] += np.linspace(0, 3, 60)[:, None]
    travel[5, 100, 2] = 0.0  # an unseen point far away must not shrink the dance
    travel[5, 100, :2] = (50.0, 50.0)
    compact = norm.copy()
    compact[..., :2] *= 0.6  # fits at full size
    for dance, full_size in ((compact, True), (travel, False)):
        t = default_transform(dance, (w, h))
        seen = dance[..., 2] >= 0.3
        xy = dance[..., :2][seen] * t.scale + np.asarray(t.origin)
        margin = FRAME_MARGIN * h - 1e-3
        assert xy[:, 0].min() >= margin and xy[:, 0].max() <= w - margin
        assert xy[:, 1].min() >= margin and xy[:, 1].max() <= h - margin
        assert abs((xy[:, 1].min() + xy[:, 1].max()) / 2 - h / 2) < 1e-3  # centred
        assert (t.scale == pytest.approx(DEFAULT_TORSO_FRACTION * h)) == full_size


def test_bad_shapes_are_rejected():
    model = PoseVQVAE(tiny_config(temporal_stride=2))
    with pytest.raises(ValueError, match="multiple of temporal_stride"):
        model.encode(torch.zeros(1, 7, NUM_KEYPOINTS, 3))
    with pytest.raises(ValueError, match="poses must be"):
        model.encode(torch.zeros(1, 8, 10, 3))
    with pytest.raises(ValueError, match="token ids"):
        model.decode(torch.full((1, 4, 5, 1), 999))
    with pytest.raises(ValueError):
        TokenizerConfig(temporal_stride=3)
    with pytest.raises(ValueError, match="product of fsq_levels"):
        TokenizerConfig(quantizer="fsq", fsq_levels=(8, 8, 8), codebook_size=500)
    with pytest.raises(ValueError, match="quantizer must be"):
        TokenizerConfig(quantizer="lfq")
    with pytest.raises(ValueError):
        TokenizerTrainConfig(window=33)


def test_masked_points_do_not_change_the_loss():
    torch.manual_seed(0)
    model = PoseVQVAE(tiny_config()).eval()
    x = batch(2, 16)
    x[:, :, LEFT_HAND, 2] = 0  # the left hand is unseen ...
    y = x.clone()
    y[:, :, LEFT_HAND, :2] = torch.randn_like(y[:, :, LEFT_HAND, :2]) * 5  # ... so its x, y are garbage
    a, b = model(x), model(y)
    assert torch.equal(a.tokens, b.tokens)
    assert a.loss.item() == pytest.approx(b.loss.item(), abs=1e-7)
    # while a seen point does change it
    z = x.clone()
    z[:, :, 0, :2] += 1.0
    assert model(z).loss.item() != pytest.approx(a.loss.item(), abs=1e-6)


def test_velocity_loss_sees_motion_not_place():
    """A reconstruction shifted as a whole keeps the motion (velocity loss 0, coordinate loss not);
    one that lags a frame behind, or stands still, does not; unseen points count for nothing."""
    x = batch(2, 16)
    logits = torch.zeros(x.shape[:-1])
    shifted = x[..., :2] + 0.3
    assert velocity_loss(shifted, x) < 1e-6 < float(pose_loss(shifted, logits, x)[0])
    assert velocity_loss(x[..., :2], x) == 0.0
    lagging = torch.cat([x[:, :1, :, :2], x[:, :-1, :, :2]], dim=1)
    assert velocity_loss(lagging, x) > 0.01
    still = x[..., :2].mean(dim=1, keepdim=True).expand_as(x[..., :2])
    assert velocity_loss(still, x) > velocity_loss(lagging, x) * 0.5
    hidden = x.clone()
    hidden[:, :, LEFT_HAND, 2] = 0.0
    noisy = x[..., :2].clone()
    noisy[:, :, LEFT_HAND] += torch.randn_like(noisy[:, :, LEFT_HAND])
    assert velocity_loss(noisy, hidden) < 1e-6


def test_torso_velocity_loss_sees_the_torso_only():
    """With points="torso", jitter of a wrist costs nothing and jitter of a hip does."""
    x = batch(2, 16)
    x[..., 2] = 1.0
    jitter = torch.zeros_like(x[..., :2])
    jitter[:, ::2] = 0.05  # up and down at every frame, as codes shared by two frames can add
    wrist, hip = kp("left_wrist"), kp("left_hip")
    arm = x[..., :2].clone()
    arm[..., wrist, :] += jitter[..., wrist, :]
    body = x[..., :2].clone()
    body[..., hip, :] += jitter[..., hip, :]
    assert velocity_loss(arm, x, "torso") == 0.0 < float(velocity_loss(arm, x, "all"))
    assert float(velocity_loss(body, x, "torso")) > float(velocity_loss(body, x, "all")) > 0
    with pytest.raises(ValueError, match="velocity_points"):
        TokenizerConfig(velocity_points="legs")


def test_lower_body_relative_loss_sees_the_legs_articulation_only():
    """Moving the whole lower body, or any point above the hips, costs nothing; bending a knee costs
    exactly its displacement; a frame whose hips are unseen counts for nothing."""
    x = batch(2, 16)
    x[..., 2] = 1.0  # every point sure, so the expected mean is plain arithmetic
    lower = list(PARTS["lower_body"])
    moved = x[..., :2].clone()
    moved[..., lower, :] += torch.tensor([0.4, -0.2])
    moved[..., list(PARTS["upper_body"]), :] += 1.0
    assert lower_body_relative_loss(x[..., :2], x) == 0.0
    assert lower_body_relative_loss(moved, x) < 1e-6 < float(pose_loss(moved, torch.zeros(x.shape[:-1]), x)[0])
    knee = kp("left_knee")
    bent = x[..., :2].clone()
    bent[..., knee, 1] += 0.5
    n_legs = len(lower) - 2
    assert float(lower_body_relative_loss(bent, x)) == pytest.approx(0.5 / (2 * n_legs), rel=1e-4)
    hipless = x.clone()
    hipless[..., kp("right_hip"), 2] = 0.0
    assert lower_body_relative_loss(bent, hipless) < 1e-6


@pytest.mark.parametrize("field,key", [("velocity_weight", "vel"), ("lower_body_relative_weight", "rel")])
def test_loss_weights_add_their_terms(field, key):
    x = batch(2, 16)
    outs = []
    for weight in (0.0, 2.0):
        torch.manual_seed(0)
        model = PoseVQVAE(tiny_config(**{field: weight}, **FSQ)).eval()
        outs.append(model(x))
    assert key not in outs[0].losses and outs[1].losses[key] > 0
    assert outs[0].losses["coord"] == pytest.approx(outs[1].losses["coord"])
    assert float((outs[1].loss - outs[0].loss).detach()) == pytest.approx(2.0 * outs[1].losses[key], rel=1e-4)
    with pytest.raises(ValueError):
        TokenizerConfig(**{field: -1.0})


def test_eval_mode_is_deterministic_and_leaves_codebooks_alone():
    torch.manual_seed(0)
    model = PoseVQVAE(tiny_config())
    x = batch(2, 16)
    model(x)  # one training pass initialises / updates the codebooks
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    r1, r2 = model(x), model(x)
    assert torch.equal(r1.recon, r2.recon) and torch.equal(r1.tokens, r2.tokens)
    assert torch.equal(model.encode(x), model.encode(x))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("quantizer", ["vq", "fsq"])
def test_tiny_model_overfits_one_batch(quantizer):
    torch.manual_seed(0)
    extra = dict(quantizer="fsq", fsq_levels=(4, 4, 4)) if quantizer == "fsq" else {}
    cfg = tiny_config(hidden=32, decoder_hidden=48, codebook_size=64, tokens_per_part=2, temporal_stride=1,
                      dead_code_threshold=0.0, **extra)  # fmt: skip
    model = PoseVQVAE(cfg)
    x = batch(1, 8)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    first = None
    for _ in range(150):
        out = model(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        first = first if first is not None else out.losses["coord"]
    model.eval()
    final = model(x).losses["coord"]
    # mean coordinate error below 2% of a torso length (~4 px of a 896-tall frame), from ~0.5 at start
    assert final < 0.02 < first


def test_checkpoint_round_trip_and_pose_sequence_api(tmp_path):
    torch.manual_seed(0)
    model = PoseVQVAE(tiny_config(temporal_stride=2))
    model(batch(2, 16))
    path = export_tokenizer(tmp_path / "tok", model.eval(), PoseNormalizer.identity(), {"steps": 1})
    tensors, meta = load_checkpoint(path)
    assert meta["config"]["temporal_stride"] == 2 and "normalizer" in meta
    tok = load_tokenizer(tmp_path / "tok")
    assert isinstance(tok, PoseTokenizer) and tok.tokens_per_frame == 5 and tok.temporal_stride == 2
    x = batch(1, 16)
    assert torch.equal(tok.encode(x), model.encode(x))
    assert torch.equal(tok.decode(model.encode(x)), model.decode(model.encode(x)))
    seq = synthetic_dance(21)
    tokens = tok.encode_sequence(seq)
    assert tokens.shape == (11, 5, 1)  # 21 frames padded to 22
    out = tok.decode_sequence(tokens, seq.fps, seq.frame_size, transform=sequence_transform(seq.keypoints))
    assert len(out) == 22 and out.frame_size == seq.frame_size
    placed = tok.decode_sequence(tokens)
    assert placed.frame_size == (512, 896)
    # dtype agnostic: float64 weights give (almost) the same poses
    tok64 = load_tokenizer(tmp_path / "tok").to(dtype=torch.float64)
    assert torch.allclose(tok64.decode(tokens[None]).float(), tok.decode(tokens[None]), atol=1e-4)
