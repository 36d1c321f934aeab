"""Photo reading and writing: RGB uint8 out, one clear InputError for anything else, atomic saves."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from xdancer.errors import InputError
from xdancer.image_io import load_image, save_image


def _photo(rng: np.random.Generator, h: int = 48, w: int = 64) -> np.ndarray:
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_png_round_trip_is_exact(tmp_path, rng):
    rgb = _photo(rng)
    path = save_image(tmp_path / "a.png", rgb)
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, rgb)


def test_jpg_round_trip_is_close(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (48, 1, 3))
    out = load_image(save_image(tmp_path / "a.jpg", ramp))
    assert np.abs(out.astype(int) - ramp.astype(int)).mean() < 3


def test_alpha_is_laid_over_white_and_grey_becomes_rgb(tmp_path):
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)
    rgba[:, :16] = (255, 0, 0, 255)  # opaque red left half, transparent right half
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    out = load_image(tmp_path / "cut.png")
    assert out.shape == (32, 32, 3)
    assert tuple(out[5, 5]) == (255, 0, 0) and tuple(out[5, 25]) == (255, 255, 255)
    Image.fromarray(np.full((32, 32), 77, np.uint8), "L").save(tmp_path / "grey.png")
    assert tuple(load_image(tmp_path / "grey.png")[0, 0]) == (77, 77, 77)


def test_exif_rotation_is_applied(tmp_path, rng):
    rgb = _photo(rng, 40, 60)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(rgb).save(tmp_path / "phone.jpg", exif=exif.tobytes())
    assert load_image(tmp_path / "phone.jpg").shape == (60, 40, 3)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.png", None, "not found"),
        ("empty.png", b"", "empty"),
        ("notes.png", b"these are words, not pixels\n" * 20, "not an image"),
    ],
)
def test_bad_files_raise_input_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_image(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image_raises_input_error(tmp_path, rng, suffix):
    path = save_image(tmp_path / f"whole{suffix}", _photo(rng, 256, 256))
    data = path.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        load_image(cut)


def test_tiny_image_is_refused(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "dot.png")
    with pytest.raises(InputError, match="at least"):
        load_image(tmp_path / "dot.png")


def test_save_refuses_bad_paths_and_leaves_nothing(tmp_path, rng):
    rgb = _photo(rng)
    with pytest.raises(InputError, match="must end in"):
        save_image(tmp_path / "a.gif", rgb)
    with pytest.raises(InputError, match="does not exist"):
        save_image(tmp_path / "no" / "such" / "a.png", rgb)
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", rgb[..., 0])
    assert list(tmp_path.iterdir()) == []
