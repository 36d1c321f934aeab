"""Synthetic whole-body dances for the tokenizer tests (smooth, seeded, pixel space), and a tiny
dataset folder built from them. Real-data checks use the bundled model and ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xdancer.data.dataset import save_clip
from xdancer.data.manifest import ClipInfo, write_manifest
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import FACE, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND, kp
from xdancer.tokenizer.config import TokenizerConfig

BODY_TEMPLATE = {  # (x, y) in torso lengths, y down, root (hip midpoint) at 0
    "nose": (0.0, -1.35), "neck": (0.0, -1.0), "right_shoulder": (-0.35, -1.0), "right_elbow": (-0.45, -0.6),
    "right_wrist": (-0.5, -0.2), "left_shoulder": (0.35, -1.0), "left_elbow": (0.45, -0.6),
    "left_wrist": (0.5, -0.2), "right_hip": (-0.2, 0.0), "right_knee": (-0.22, 0.6), "right_ankle": (-0.24, 1.2),
    "left_hip": (0.2, 0.0), "left_knee": (0.22, 0.6), "left_ankle": (0.24, 1.2), "right_eye": (-0.06, -1.42),
    "left_eye": (0.06, -1.42), "right_ear": (-0.12, -1.38), "left_ear": (0.12, -1.38),
    "left_big_toe": (0.3, 1.3), "left_small_toe": (0.35, 1.28), "left_heel": (0.22, 1.28),
    "right_big_toe": (-0.3, 1.3), "right_small_toe": (-0.35, 1.28), "right_heel": (-0.22, 1.28),
}  # fmt: skip


def tiny_config(**kw) -> TokenizerConfig:
    base = dict(hidden=16, single_hidden=24, decoder_hidden=32, res_blocks=1, codebook_size=32, code_dim=4,
                kmeans_init=False)  # fmt: skip
    base.update(kw)
    return TokenizerConfig(**base)


def synthetic_dance(frames: int, seed: int = 0, hands: bool = True, size=(512, 896)) -> PoseSequence:
    """A smooth seeded dance in pixels: limbs swing with random frequencies, the body sways."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.zeros((NUM_KEYPOINTS, 2))
    for name, xy in BODY_TEMPLATE.items():
        base[kp(name)] = xy
    ang = np.linspace(0, 2 * np.pi, FACE.stop - FACE.start, endpoint=False)
    base[FACE] = base[kp("nose")] + 0.12 * np.stack([np.cos(ang), 1.2 * np.sin(ang)], -1)
    fan = np.stack([np.cos(np.linspace(0, np.pi, 21)), np.sin(np.linspace(0, np.pi, 21))], -1) * 0.15
    base[LEFT_HAND] = base[kp("left_wrist")] + fan
    base[RIGHT_HAND] = base[kp("right_wrist")] + fan * [-1, 1]
    t = np.arange(frames)[:, None, None] / 30.0
    freq = rng.uniform(0.3, 1.5, size=(1, NUM_KEYPOINTS, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(1, NUM_KEYPOINTS, 2))
    amp = np.full((1, NUM_KEYPOINTS, 2), 0.05)
    for name in ("right_wrist", "left_wrist", "right_elbow", "left_elbow", "right_ankle", "left_ankle"):
        amp[0, kp(name)] = 0.25
    xy = base[None] + amp * np.sin(2 * np.pi * freq * t + phase)
    xy[:, LEFT_HAND] += xy[:, [kp("left_wrist")]] - base[kp("left_wrist")]
    xy[:, RIGHT_HAND] += xy[:, [kp("right_wrist")]] - base[kp("right_wrist")]
    sway = 0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t[..., 0] + rng.uniform(0, 6))
    xy[..., 0] += sway
    scale, origin = 0.22 * h, np.array([w / 2, 0.55 * h])
    px = xy * scale + origin
    conf = np.ones((frames, NUM_KEYPOINTS))
    if not hands:
        conf[:, LEFT_HAND] = 0
        conf[:, RIGHT_HAND] = 0
    conf[rng.random(conf.shape) < 0.03] = 0
    px = px * (conf[..., None] > 0)
    return PoseSequence(
        np.concatenate([px, conf[..., None]], -1).astype(np.float32), 30.0, size, {"source": "synthetic"}
    )


def synthetic_dataset(root: Path, n_train: int = 4, n_val: int = 2, frames: int = 96) -> Path:
    infos = []
    for i in range(n_train + n_val):
        split = "train" if i < n_train else "val"
        seq = synthetic_dance(frames, seed=i, hands=i % 2 == 0)
        info = ClipInfo(id=f"synth{i}", source="synthetic", genre="", fps=30.0, frames=frames, has_music=False,
                        split=split, licence="test", group=f"g{i}", width=512, height=896)  # fmt: skip
        save_clip(root, info, seq, None)
        infos.append(info)
    write_manifest(root, infos)
    return root


def test_synthetic_dance_is_valid_and_seeded():
    a, b = synthetic_dance(40, seed=3), synthetic_dance(40, seed=3)
    assert np.array_equal(a.keypoints, b.keypoints)
    assert a.keypoints.shape == (40, NUM_KEYPOINTS, 3)
    no_hands = synthetic_dance(10, hands=False)
    assert no_hands.confidence[:, LEFT_HAND].max() == 0
