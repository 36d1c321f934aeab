"""The bundled default tokenizer on real poses (skips when the model or the data is absent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xdancer.constants import POSE_FPS
from xdancer.pose.normalize import sequence_transform
from xdancer.pose.sequence import PoseSequence
from xdancer.tokenizer import ABLATION_CHECKPOINT, DEFAULT_CHECKPOINT, load_tokenizer

pytestmark = pytest.mark.skipif(
    not DEFAULT_CHECKPOINT.with_name(DEFAULT_CHECKPOINT.name + ".safetensors").is_file(),
    reason="the bundled tokenizer has not been trained yet (xdancer train tokenizer)",
)


def test_bundled_default_is_small_and_fast_for_the_gpt():
    tok = load_tokenizer()
    assert tok.tokens_per_second <= 150
    assert tok.codebook_size <= 1024
    size = DEFAULT_CHECKPOINT.with_name(DEFAULT_CHECKPOINT.name + ".safetensors").stat().st_size
    assert size < 8 * 2**20
    assert tok.meta.get("steps", 0) > 0 and "normalizer" in tok.meta


def test_bundled_default_round_trips_a_real_dance(shared_data):
    """A validation Dance with Melody dance (3D motion capture filmed by a virtual camera) round-trips
    with a small error (the model card reports about 8 px of a 512-tall frame on the val split)."""
    seq = _validation_dance(shared_data)
    tok = load_tokenizer()
    tokens = tok.encode_sequence(seq)
    assert tokens.shape == (-(-len(seq) // tok.temporal_stride), 5, tok.tokens_per_part)
    out = tok.decode_sequence(tokens, seq.fps, seq.frame_size, transform=sequence_transform(seq.keypoints))
    conf = seq.confidence
    err = np.abs(out.xy[: len(seq)] - seq.xy) * conf[..., None]
    px = err.sum() / (2 * conf.sum()) * 512 / seq.frame_size[1]  # pixels of a 512-tall frame
    assert px < 12.0, f"mean L1 error {px:.1f} px of a 512-tall frame"
    assert torch.equal(tok.encode_sequence(seq), tokens)  # eval mode: deterministic


def _validation_dance(shared_data, seconds: float = 20.0) -> PoseSequence:
    """The first 20 s of a validation-split Dance with Melody dance, filmed by a seeded virtual camera."""
    from xdancer.data.camera import CameraConfig
    from xdancer.data.dwm import dance_folders, load_dance, project_dance
    from xdancer.data.manifest import split_of

    folders = [
        f for f in dance_folders(shared_data / "dance_with_melody") if split_of(f"dwm_{f.name}") == "val"
    ]
    if not folders:
        pytest.skip("no validation-split dance in ../shared/data/dance_with_melody")
    camera = CameraConfig()
    kps, _ = project_dance(load_dance(folders[0]), np.random.default_rng(0), camera)
    return PoseSequence(kps[: int(seconds * POSE_FPS)], POSE_FPS, (camera.width, camera.height))


def test_ablation_checkpoint_loads():
    if not ABLATION_CHECKPOINT.with_name(ABLATION_CHECKPOINT.name + ".safetensors").is_file():
        pytest.skip("the single-codebook ablation is not bundled")
    tok = load_tokenizer(ABLATION_CHECKPOINT)
    assert (
        tok.config.variant == "single_codebook" and tok.tokens_per_frame == load_tokenizer().tokens_per_frame
    )
