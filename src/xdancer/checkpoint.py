"""Checkpoints: ``<name>.safetensors`` (tensors) + ``<name>.json`` (config, step, extras). No pickle.

Every model checkpoint embeds its config dataclass (as a dict) so loading needs no other file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from xdancer.errors import InputError
from xdancer.io_utils import atomic_path


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``foo`` / ``foo.safetensors`` / ``foo.json`` -> (foo.safetensors, foo.json)."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def save_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write tensors and a JSON document atomically. ``meta`` must hold at least ``config``."""
    if "config" not in meta:
        raise ValueError("checkpoint meta must contain the model 'config'")
    st_path, json_path = checkpoint_paths(path)
    st_path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared or non-contiguous storage: store independent contiguous copies.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(st_path) as tmp:
        save_file(tensors, str(tmp))
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return st_path


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    st_path, json_path = checkpoint_paths(path)
    for p in (st_path, json_path):
        if not p.is_file():
            raise InputError(f"checkpoint file not found: {p}")
    try:
        tensors = load_file(str(st_path), device=str(device))
        meta = json.loads(json_path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read checkpoint {st_path}: {e}") from e
    return tensors, meta
