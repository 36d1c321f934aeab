"""Building and running MediaPipe's bundled models without their native log lines.

MediaPipe's C++ core prints informational lines ("Created TensorFlow Lite XNNPACK delegate",
"Feedback manager requires a model with a single signature ...") straight to file descriptor 2
when a graph starts; no environment variable of mediapipe 0.10.21 turns them off. They would bury
our own messages (a bad-input error is one line), so file descriptor 2 points at /dev/null while a
model is built or run. Real failures still surface: MediaPipe raises Python exceptions for them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

WARMUP_SIDE = 64  # px, the blank frame that opens a new graph


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def build(factory: Callable[..., Any], **kwargs: Any) -> Any:
    """``factory(**kwargs)`` (e.g. ``mp.solutions.holistic.Holistic``) with native logs silenced.

    The graph opens its calculators on worker threads after the constructor returns (and they log
    then), so one blank frame goes through it while the logs are off: a frame's results come back
    only once every calculator is open. A blank frame holds nobody, so no tracking state is left.
    """
    with native_stderr_silenced():
        model = factory(**kwargs)
        model.process(np.zeros((WARMUP_SIDE, WARMUP_SIDE, 3), dtype=np.uint8))
    return model


def forget(model: Any) -> None:
    """Clear what a Holistic graph carries over from the previous picture.

    Even with ``static_image_mode=True``, Holistic places the face crop using the face it found in
    the previous call, so the same photo gives face points a pixel or two apart depending on what
    was processed before. A blank frame holds no face and clears that, making results depend on
    the picture alone.
    """
    process(model, np.zeros((WARMUP_SIDE, WARMUP_SIDE, 3), dtype=np.uint8))


def process(model: Any, rgb: np.ndarray) -> Any:
    """``model.process(rgb)`` on a contiguous (H, W, 3) uint8 RGB array, native logs silenced."""
    with native_stderr_silenced():
        return model.process(np.ascontiguousarray(rgb))
