"""Motion generator: music features -> pose tokens (X-Dancer's music-conditioned GPT).

    gpt = load_generator()                                   # the bundled default
    tokens = generate(gpt, n_frames, music, global_context)  # (B, T', P, K) pose tokens

:func:`xdancer.choreograph.choreograph` wraps this with the tokenizer into music -> PoseSequence.
"""

from __future__ import annotations

from pathlib import Path

import torch

from xdancer.checkpoint import load_checkpoint, save_checkpoint
from xdancer.config import from_dict, to_dict
from xdancer.errors import InputError
from xdancer.generator.config import GPTConfig
from xdancer.generator.gpt import GPTOutput, KVCache, MotionGPT
from xdancer.generator.sampling import SamplingConfig, generate, sample_logits

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "generator" / "generator"
KIND = "xdancer.generator"


def export_generator(path: str | Path, model: MotionGPT, extra: dict) -> Path:
    """Write the inference checkpoint: weights (music statistics included) + {config, kind, ...}."""
    meta = {"config": to_dict(model.cfg), "kind": KIND, **extra}
    return save_checkpoint(path, dict(model.state_dict()), meta)


def load_generator(path: str | Path | None = None, device: str | torch.device = "cpu") -> MotionGPT:
    """Load a generator checkpoint (``foo`` = ``foo.safetensors`` + ``foo.json``); None = the bundled default.

    The checkpoint's JSON travels with the model as ``model.meta`` (training provenance and the
    tokenizer it was trained on).
    """
    p = DEFAULT_CHECKPOINT if path is None else Path(path)
    if path is None and not p.with_name(p.name + ".safetensors").is_file():
        raise InputError(f"the bundled generator is missing ({p}.safetensors); train one with `xdancer train generator`")
    tensors, meta = load_checkpoint(p, device=device)
    if meta.get("kind") != KIND:
        raise InputError(f"{p} is not a generator checkpoint (kind {meta.get('kind')!r})")
    try:
        model = MotionGPT(from_dict(GPTConfig, meta["config"]))
        model.load_state_dict(tensors)
    except (KeyError, RuntimeError, ValueError) as e:
        raise InputError(f"{p} is not a compatible generator checkpoint: {e}") from e
    model.meta = meta
    return model.to(device).eval()


__all__ = [
    "GPTConfig",
    "GPTOutput",
    "KVCache",
    "MotionGPT",
    "SamplingConfig",
    "generate",
    "sample_logits",
    "load_generator",
    "export_generator",
]
