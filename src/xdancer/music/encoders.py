"""Pluggable music encoders: wave -> MusicFeatures on the pose frame grid.

Callers name an encoder (a config string, default ``"librosa35"``) and optionally a local model
path; they never import a concrete encoder. A stronger embedding (X-Dancer uses a learned music
encoder; Jukebox- or MERT-style models are common) is added in one of two ways, neither touching
callers:

* in code: ``register_encoder("mert", lambda model_path: MertEncoder(model_path))``;
* from another installed package, through the ``xdancer.music_encoders`` entry-point group:
  ``[project.entry-points."xdancer.music_encoders"] mert = "my_pkg.mert:MertEncoder"``, where the
  target is called with the model path (or None) and returns the encoder.

An encoder must follow the alignment convention of :mod:`xdancer.music.features` (frame i centred on
i / fps, T = ceil(N * fps / sr)) and fill tempo, beats and a global context, so the motion model and
the metrics work with any of them. Weights are only ever read from a local path, never downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from xdancer.errors import InputError
from xdancer.music.features import MUSIC_DIM, MusicFeatures, extract_features

ENTRY_POINT_GROUP = "xdancer.music_encoders"


@runtime_checkable
class MusicEncoder(Protocol):
    """Turns mono audio into per-frame features. ``dim`` is the width D of ``features``."""

    name: str
    dim: int

    def encode(self, wave: np.ndarray, sr: int, fps: float) -> MusicFeatures:
        """wave: float32 (N,) mono at ``sr`` -> MusicFeatures with features (T, dim)."""
        ...


class Librosa35Encoder:
    """EDGE's 35-d librosa features (the default; needs no model)."""

    name = "librosa35"
    dim = MUSIC_DIM

    def __init__(self, model_path: str | Path | None = None) -> None:
        if model_path is not None:
            raise InputError("the librosa35 music encoder has no model; leave the model path unset")

    def encode(self, wave: np.ndarray, sr: int, fps: float) -> MusicFeatures:
        return extract_features(wave, sr, fps)


EncoderFactory = Callable[[str | Path | None], MusicEncoder]
_REGISTRY: dict[str, EncoderFactory] = {"librosa35": Librosa35Encoder}


def register_encoder(name: str, factory: EncoderFactory, *, replace: bool = False) -> None:
    """Make ``get_encoder(name, model_path)`` call ``factory(model_path)``."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"encoder names are letters, digits, '-' and '_', got {name!r}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"a music encoder named {name!r} is already registered (pass replace=True)")
    _REGISTRY[name] = factory


def _plugin_factories() -> dict[str, Callable[[], EncoderFactory]]:
    return {ep.name: ep.load for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_encoders() -> list[str]:
    """Names usable with :func:`get_encoder` (registered ones and installed plug-ins)."""
    return sorted(set(_REGISTRY) | set(_plugin_factories()))


def get_encoder(name: str = "librosa35", model_path: str | Path | None = None) -> MusicEncoder:
    """The encoder called ``name``, built with ``model_path`` (a local file or folder, or None)."""
    if model_path is not None and not Path(model_path).expanduser().exists():
        raise InputError(f"music encoder model not found: {model_path}")
    factory = _REGISTRY.get(name)
    if factory is None:
        plugins = _plugin_factories()
        if name not in plugins:
            raise InputError(f"unknown music encoder {name!r}; available: {', '.join(available_encoders())}")
        factory = plugins[name]()
    encoder = factory(model_path)
    if not isinstance(encoder, MusicEncoder):
        raise TypeError(f"music encoder {name!r} does not provide name, dim and encode(wave, sr, fps)")
    return encoder
