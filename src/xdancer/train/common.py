"""Helpers every trainer shares: seeding, DistributedDataParallel set-up, the learning-rate schedule,
resumable checkpoints, loss-curve plots and progress bars.

Distributed training follows torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT):
``setup_distributed()`` joins the process group when WORLD_SIZE > 1 and otherwise runs as one plain
process, so the same trainer works under ``torchrun --nproc_per_node=N`` and ``python -m``.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from xdancer.checkpoint import checkpoint_paths, load_checkpoint, save_checkpoint
from xdancer.io_utils import atomic_path

T = TypeVar("T")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); returns a CPU generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# --- distributed ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job: rank among world_size processes, and its device."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str | None = None) -> DistInfo:
    """Join the torchrun process group if there is one; pick the device.

    ``device`` None: CUDA (GPU ``LOCAL_RANK``) when available, else CPU. Backend: NCCL on CUDA,
    gloo on CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        dev = torch.device("cuda", local) if torch.cuda.is_available() else torch.device("cpu")
    else:
        dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, local_rank=local, world_size=world, device=dev)


def teardown_distributed() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def wrap_ddp(model: nn.Module, dist: DistInfo) -> nn.Module:
    """DistributedDataParallel around ``model`` in a multi-process job, the model itself otherwise."""
    if not dist.distributed:
        return model
    ids = [dist.device.index] if dist.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def all_reduce_mean(value: float, dist: DistInfo) -> float:
    """Average a Python float over all processes (identity in a single process)."""
    if not dist.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=dist.device)
    torch.distributed.all_reduce(t)
    return float(t.item()) / dist.world_size


# --- schedule ----------------------------------------------------------------------------------------


def cosine_lr(
    step: int, total_steps: int, base_lr: float, warmup_steps: int = 0, min_ratio: float = 0.1
) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``min_ratio * base_lr`` at ``total_steps``."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


# --- resumable checkpoints ------------------------------------------------------------------------------
# Optimizer state is flattened into named tensors (safetensors) plus its small non-tensor part in the
# JSON, so a run resumes exactly without pickle.


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, pstate in state["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, pid, key = name.split(".", 2)
        state.setdefault(int(pid), {})[key] = value
    for pid, extra in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(extra)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training_state(
    path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, step: int, meta: dict[str, Any]
) -> Path:
    """Model weights, optimizer state, step and ``meta`` (must hold ``config``) in one checkpoint."""
    model_t = {f"model.{k}": v for k, v in unwrap(model).state_dict().items()}
    optim_t, optim_meta = _flatten_optimizer(optimizer.state_dict())
    return save_checkpoint(path, {**model_t, **optim_t}, {**meta, "step": step, "optimizer": optim_meta})


def load_training_state(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Restore what :func:`save_training_state` wrote; returns its meta (``meta["step"]`` to resume from)."""
    tensors, meta = load_checkpoint(path, device=device)
    unwrap(model).load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if optimizer is not None:
        optimizer.load_state_dict(_unflatten_optimizer({k: v for k, v in tensors.items() if k.startswith("optim.")},
                                                       meta["optimizer"]))  # fmt: skip
    return meta


def training_state_exists(path: str | Path) -> bool:
    return all(p.is_file() for p in checkpoint_paths(path))


# --- pictures and progress --------------------------------------------------------------------------------


def plot_loss_curves(
    curves: dict[str, list[tuple[int, float]]], path: str | Path, title: str = "training"
) -> Path:
    """One line per named curve of (step, value) points, log-scale y, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for name, points in curves.items():
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, label=name, marker="o" if len(points) < 30 else None, ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if any(v > 0 for pts in curves.values() for _, v in pts):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             initial: int = 0, enabled: bool = True) -> Iterator[T]:  # fmt: skip
    """A tqdm bar with ETA (only where ``enabled``, e.g. on the main process)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, initial=initial, disable=not enabled, dynamic_ncols=True)
