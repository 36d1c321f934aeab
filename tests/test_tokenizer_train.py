"""Training loop (tiny, on a synthetic dataset), resuming, the shared helpers, and the reconstruction metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_tokenizer_helpers import synthetic_dataset, tiny_config

from xdancer.config import from_dict, to_dict
from xdancer.eval.reconstruction import (
    ROWS,
    WHOLE_BODY,
    ReconstructionReport,
    codebook_usage,
    evaluate_tokenizer,
    part_error_sums,
    part_errors,
    pooled_errors,
)
from xdancer.pose.skeleton import PARTS
from xdancer.tokenizer import load_tokenizer
from xdancer.tokenizer.config import TokenizerTrainConfig
from xdancer.train.common import cosine_lr, load_training_state, save_training_state, seed_everything
from xdancer.train.tokenizer import train_tokenizer


def test_part_errors_on_toy_input():
    target = np.zeros((1, 2, 134, 3))
    target[..., 2] = 1.0
    recon = target.copy()
    recon[..., list(PARTS["head"]), 0] += 0.5  # head off by 0.5 units in x only
    target[:, :, list(PARTS["left_hand"]), 2] = 0.0  # left hand unseen
    recon[..., list(PARTS["left_hand"]), :2] += 9.0  # ... so its error must not count
    err = part_errors(target, recon, np.array([10.0]))  # 10 px per unit
    assert err["head"] == pytest.approx(2.5)  # mean of |dx| = 5 px and |dy| = 0
    assert err["upper_body"] == 0 and err["lower_body"] == 0 and err["right_hand"] == 0
    assert math.isnan(err["left_hand"])
    n_head, n_seen = len(PARTS["head"]), 134 - len(PARTS["left_hand"])
    assert err[WHOLE_BODY] == pytest.approx(2.5 * n_head / n_seen)


def test_pooled_errors_equal_one_evaluation_of_all_clips():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(2, 3, 134, 3))
    target[..., 2] = rng.uniform(0, 1, size=(2, 3, 134))
    target[1, :, list(PARTS["left_hand"]), 2] = 0.0  # the second clip shows no left hand
    recon = target + rng.normal(scale=0.1, size=target.shape)
    px = np.array([10.0, 20.0])

    def report(i):
        sums = part_error_sums(target[i : i + 1], recon[i : i + 1], px[i : i + 1])
        return ReconstructionReport({r: s.error for r, s in sums.items()}, {}, 1, 3,
                                    weights={r: s.weight for r, s in sums.items()})  # fmt: skip

    pooled = pooled_errors([report(0), report(1)])
    together = part_errors(target, recon, px)
    for r in ROWS:
        assert pooled[r] == pytest.approx(together[r])
    assert pooled["left_hand"] == pytest.approx(report(0).errors["left_hand"])  # clip 1 adds nothing


def test_codebook_usage_on_toy_input():
    tokens = np.zeros((1, 4, 5, 1), dtype=int)
    tokens[0, :, 0, 0] = [0, 1, 2, 3]  # upper body: 4 codes, uniform
    usage = codebook_usage(tokens, codebook_size=8)
    assert usage["upper_body"] == pytest.approx((4.0, 0.5))
    assert usage["lower_body"] == pytest.approx((1.0, 1 / 8))
    assert usage["whole_body"] == pytest.approx(((4 + 4 * 1) / 5, (0.5 + 4 / 8) / 5))  # mean of 5 codebooks
    shared = codebook_usage(tokens, codebook_size=8, shared=True)[
        "whole_body"
    ]  # one codebook: 0 x 16 + 1,2,3 x 1
    p = np.array([17, 1, 1, 1]) / 20
    assert shared == pytest.approx((np.exp(-(p * np.log(p)).sum()), 0.5))


def test_cosine_schedule():
    assert cosine_lr(0, 100, 1.0, warmup_steps=10) == pytest.approx(0.1)
    assert cosine_lr(10, 100, 1.0, warmup_steps=10) == pytest.approx(1.0)
    assert cosine_lr(100, 100, 1.0, warmup_steps=10, min_ratio=0.1) == pytest.approx(0.1)
    assert cosine_lr(55, 100, 1.0, warmup_steps=10, min_ratio=0.0) == pytest.approx(0.5)


def test_training_state_round_trip(tmp_path):
    seed_everything(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_training_state(tmp_path / "s", model, opt, 7, {"config": {"a": 1}})
    model2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-2)
    meta = load_training_state(tmp_path / "s", model2, opt2)
    assert meta["step"] == 7
    assert torch.equal(model.weight, model2.weight)
    s1, s2 = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    assert torch.equal(s1["exp_avg"], s2["exp_avg"]) and float(s1["step"]) == float(s2["step"])


def test_train_resume_and_evaluate(tmp_path):
    data = synthetic_dataset(tmp_path / "ds", n_train=3, n_val=2, frames=64)
    base = dict(model=to_dict(tiny_config(temporal_stride=2)), dataset=str(data), window=16, batch_size=4,
                val_every=3, val_batches=2, ckpt_every=3, warmup_steps=2, out_dir=str(tmp_path / "run"))  # fmt: skip
    cfg = from_dict(TokenizerTrainConfig, {**base, "steps": 3})
    final = train_tokenizer(cfg, device="cpu")
    assert (tmp_path / "run" / "loss.png").stat().st_size > 0
    tok = load_tokenizer(final)
    assert tok.meta["steps"] == 3 and tok.normalizer.frames == 3 * 64
    # resume: a longer run continues from step 3 and ends at step 6 with the earlier history kept
    cfg6 = from_dict(TokenizerTrainConfig, {**base, "steps": 6})
    tok6 = load_tokenizer(train_tokenizer(cfg6, device="cpu"))
    assert tok6.meta["steps"] == 6 and [s for s, _ in tok6.meta["history"]["val"]] == [3, 6]
    report = evaluate_tokenizer(tok6, str(data), "val", window=32, progress=False)
    assert report.clips == 2 and report.frames == 128
    assert all(np.isfinite(report.errors[r]) for r in ("upper_body", "lower_body", "head", WHOLE_BODY))
    assert 0 < report.usage[WHOLE_BODY][1] <= 1
    assert report.weights[WHOLE_BODY] > 0 and pooled_errors([report]) == pytest.approx(report.errors)


def test_detail_fraction_draws_clips_with_hands():
    from test_tokenizer_helpers import synthetic_dance

    from xdancer.pose.normalize import normalize
    from xdancer.train.tokenizer import PoseWindows, sample_batch

    mocap_like = normalize(synthetic_dance(400, seed=0, hands=False).keypoints)[0]
    mocap_like[:, 24:92] = 0  # no face either, like motion capture
    clips = [mocap_like, normalize(synthetic_dance(40, seed=1, hands=True).keypoints)[0]]
    src = PoseWindows(clips, np.ones(2))
    assert src.detailed.tolist() == [False, True]
    rng = np.random.default_rng(0)
    with_hands = (
        sample_batch(src, 8, 16, rng, augment=False, detail_fraction=0.5)[..., 92:, 2].max(axis=(1, 2)) > 0
    )
    assert with_hands.sum() >= 4
    assert sample_batch(src, 8, 16, rng, augment=True, detail_fraction=0.0).shape == (8, 16, 134, 3)
