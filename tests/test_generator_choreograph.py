"""choreograph / Choreographer: lengths, placement, the reference pose, seeds and input errors.

Uses tiny untrained checkpoints written to a temporary folder (the wrapper's logic, not dance quality)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from xdancer.choreograph import DEFAULT_GUIDANCE, Choreographer
from xdancer.constants import CANVAS_HEIGHT, CANVAS_WIDTH, POSE_FPS
from xdancer.errors import InputError
from xdancer.generator import GPTConfig, MotionGPT, export_generator
from xdancer.music.features import GLOBAL_DIM, MUSIC_DIM, MusicFeatures
from xdancer.pose.normalize import PoseNormalizer
from xdancer.pose.sequence import PoseSequence
from xdancer.tokenizer.config import TokenizerConfig
from xdancer.tokenizer.vqvae import PoseVQVAE
from xdancer.train.tokenizer import export_tokenizer


def tiny_checkpoints(root: Path, **gpt: object) -> tuple[Path, Path]:
    """Seeded untrained tiny tokenizer and generator (GPTConfig overrides ``gpt``) written to ``root``."""
    torch.manual_seed(0)
    tok_cfg = TokenizerConfig(codebook_size=16, code_dim=4, hidden=8, single_hidden=8, decoder_hidden=16,
                              res_blocks=0, kmeans_init=False)  # fmt: skip
    export_tokenizer(root / "tok", PoseVQVAE(tok_cfg).eval(), PoseNormalizer.identity(), {})
    gen_cfg = GPTConfig(codebook_size=16, n_layer=1, n_head=2, n_embd=16, **gpt)
    export_generator(root / "gen", MotionGPT(gen_cfg), {})
    return root / "tok", root / "gen"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return Choreographer(*tiny_checkpoints(root, window_frames=8, overlap_frames=2))


def music(seconds: float = 3.0, fps: float = POSE_FPS) -> MusicFeatures:
    T = int(seconds * fps)
    rng = np.random.default_rng(0)
    beats = np.arange(0, T, 15)
    return MusicFeatures(features=rng.normal(size=(T, MUSIC_DIM)).astype(np.float32), names=[f"f{i}" for i in range(MUSIC_DIM)],
                         fps=fps, tempo_bpm=120.0, beat_times=beats / fps, beat_frames=beats,
                         onset_envelope=np.zeros(T, np.float32), global_context=np.zeros(GLOBAL_DIM, np.float32))  # fmt: skip


def test_dance_length_canvas_and_seed(models):
    m = music(3.0)
    a = models(m, seconds=2.5, seed=1, progress=False)
    assert isinstance(a, PoseSequence) and a.fps == POSE_FPS
    assert len(a) == 75 and a.frame_size == (CANVAS_WIDTH, CANVAS_HEIGHT)
    b = models(m, seconds=2.5, seed=1, progress=False)
    c = models(m, seconds=2.5, seed=2, progress=False)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.keypoints, c.keypoints)
    assert len(models(m, progress=False)) == len(m)  # default: the whole music
    assert torch.get_num_threads() >= 1


def test_reference_pose_sets_the_frame_and_the_first_tokens(models, monkeypatch):
    import xdancer.generator as gen

    seen = {}

    def spy(*args, **kwargs):
        seen["tokens"] = gen.sampling.generate(*args, **kwargs)
        return seen["tokens"]

    monkeypatch.setattr(gen, "generate", spy)
    rng = np.random.default_rng(1)
    kps = np.zeros((1, 134, 3), np.float32)
    kps[0, :24, 0] = rng.uniform(300, 500, 24)
    kps[0, :24, 1] = rng.uniform(200, 700, 24)
    kps[0, :24, 2] = 0.9
    ref = PoseSequence(kps, POSE_FPS, (800, 900))
    dance = models(music(2.0), reference_pose=ref, seed=0, progress=False)
    assert dance.frame_size == (800, 900) and len(dance) == 60
    tok = models.tokenizer
    still = PoseSequence(np.repeat(kps, tok.temporal_stride, 0), POSE_FPS, (800, 900))
    assert torch.equal(seen["tokens"][0, 0], tok.encode_sequence(still)[0])  # the dance starts from the photo's pose
    blank = PoseSequence(np.zeros((1, 134, 3), np.float32), POSE_FPS, (800, 900))
    with pytest.raises(InputError, match="visible"):
        models(music(2.0), reference_pose=blank, progress=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(seconds=10.0), "lasts"), (dict(seconds=-1.0), "positive"), (dict(temperature=-1.0), "temperature"),
    (dict(top_p=2.0), "top_p"), (dict(top_k=0), "top_k"),
])  # fmt: skip
def test_bad_options_are_input_errors(models, kwargs, match):
    with pytest.raises(InputError, match=match):
        models(music(2.0), progress=False, **kwargs)


def test_wrong_music_is_an_input_error(models):
    with pytest.raises(InputError, match="fps"):
        models(music(2.0, fps=25.0), progress=False)
    m = music(2.0)
    m.features = m.features[:, :10]
    with pytest.raises(InputError, match="features"):
        models(m, progress=False)


def test_a_different_tokenizer_is_flagged(models, tmp_path):
    from xdancer.choreograph import tokenizer_fingerprint

    gen = models.generator
    export_generator(tmp_path / "same", gen, {"tokenizer": {"fingerprint": tokenizer_fingerprint(models.tokenizer)}})
    export_generator(tmp_path / "other", gen, {"tokenizer": {"fingerprint": "0" * 16}})
    tok_path = tmp_path / "tok"
    export_tokenizer(tok_path, models.tokenizer.model, PoseNormalizer.identity(), {})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Choreographer(tok_path, tmp_path / "same")
    with pytest.warns(UserWarning, match="not the one the generator was trained with"):
        Choreographer(tok_path, tmp_path / "other")


def test_guidance_defaults_to_the_models_and_is_refused_without_null_music(models, tmp_path):
    m = music(2.0)
    assert models(m, seed=0, progress=False).meta["guidance"] == 1.0  # trained without music dropout
    with pytest.raises(InputError, match="music dropout"):
        models(m, guidance=2.0, progress=False)
    guided = Choreographer(*tiny_checkpoints(tmp_path, window_frames=8, overlap_frames=2, null_music=True))
    assert guided(m, seed=0, progress=False).meta["guidance"] == DEFAULT_GUIDANCE
    plain = guided(m, seed=0, guidance=1.0, progress=False)
    assert plain.meta["guidance"] == 1.0
    assert not np.array_equal(plain.keypoints, guided(m, seed=0, progress=False).keypoints)
