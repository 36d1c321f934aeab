"""The generator's training loop on a tiny synthetic dataset: music dropout, fine-tuning, guidance."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from test_tokenizer_helpers import synthetic_dance, tiny_config

from xdancer.config import from_dict, to_dict
from xdancer.data.dataset import save_clip
from xdancer.data.manifest import ClipInfo, write_manifest
from xdancer.errors import InputError
from xdancer.generator import GPTConfig, SamplingConfig, generate, load_generator
from xdancer.music.features import extract_features
from xdancer.music.synth import synth_groove
from xdancer.tokenizer.config import TokenizerTrainConfig
from xdancer.train.generator import GeneratorTrainConfig, train_generator
from xdancer.train.tokenizer import train_tokenizer

FRAMES = 96  # 3.2 s at 30 fps


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """4 train and 2 val dances with music, and a tokenizer trained on them for 2 steps."""
    root = tmp_path_factory.mktemp("gen_train")
    infos = []
    for i in range(6):
        music = extract_features(synth_groove(90 + 10 * i, FRAMES / 30, seed=i))
        music = dataclasses.replace(music, features=music.features[:FRAMES])
        info = ClipInfo(id=f"synth{i}", source="synthetic", genre="", fps=30.0, frames=FRAMES, has_music=True,
                        split="train" if i < 4 else "val", licence="test", group=f"g{i}", width=512, height=896)  # fmt: skip
        save_clip(root / "ds", info, synthetic_dance(FRAMES, seed=i), music)
        infos.append(info)
    write_manifest(root / "ds", infos)
    tok_cfg = from_dict(TokenizerTrainConfig, dict(model=to_dict(tiny_config()), dataset=str(root / "ds"), window=16,
                        batch_size=4, steps=2, val_every=2, val_batches=1, ckpt_every=2, out_dir=str(root / "tok")))  # fmt: skip
    return root, train_tokenizer(tok_cfg, device="cpu")


def train(data, name: str, **kw) -> str:
    root, tok = data
    model = dict(
        n_layer=1, n_head=2, n_embd=16, window_frames=8, overlap_frames=2, n_context_frames=2, dropout=0.0
    )
    cfg = from_dict(GeneratorTrainConfig, dict(model=model, dataset=str(root / "ds"), tokenizer=str(tok), steps=2,
                    batch_size=4, warmup_steps=1, val_every=2, val_batches=1, ckpt_every=2, tempo_rates=[],
                    out_dir=str(root / name), **kw))  # fmt: skip
    return str(train_generator(cfg, device="cpu"))


def test_music_dropout_trains_null_music_and_fine_tunes_a_model_without_it(data):
    plain = train(data, "plain")
    assert not load_generator(plain).cfg.null_music
    guided = load_generator(train(data, "guided", music_dropout=0.5, init=plain))
    assert guided.cfg.null_music
    # fine-tuning kept the weights both models share and added the null embeddings
    start = load_generator(plain).state_dict()
    assert all(k.startswith("null_") or k in start for k in guided.state_dict())
    music = torch.randn(1, 40, guided.cfg.music_dim)
    glob = torch.randn(1, guided.cfg.global_dim)
    out = generate(guided, 20, music, glob, sampling=SamplingConfig(seed=0, guidance=3.0))
    assert out.shape == (1, 20, 5, 1) and int(out.max()) < guided.cfg.codebook_size
    with pytest.raises(ValueError, match="music dropout"):
        generate(load_generator(plain), 20, music, glob, sampling=SamplingConfig(guidance=3.0))
    # a model with the null embeddings cannot be squeezed back into one without them
    with pytest.raises(InputError, match="another architecture"):
        train(data, "back", init=train(data, "again", music_dropout=0.5))


def test_music_dropout_is_validated():
    with pytest.raises(ValueError, match="music_dropout"):
        GeneratorTrainConfig(music_dropout=1.0)
    assert GPTConfig().null_music is False
