"""Reading and writing photos: RGB uint8 arrays in, clear errors for anything that is not a photo.

Pillow decodes; EXIF orientation is applied so that "up" in the array is "up" in the photo (phone
pictures are often stored sideways with a rotation tag), and transparent pixels are laid over white
(cut-out reference photos of people are common and their hidden colour is arbitrary).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from xdancer.errors import InputError
from xdancer.io_utils import atomic_path, check_input_file, check_output_path

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
SAVE_FORMATS: dict[str, str] = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
MIN_SIDE = 16  # px: smaller than this holds no usable person


def load_image(path: str | Path) -> np.ndarray:
    """Read a photo as (H, W, 3) uint8 RGB.

    Raises InputError when the file is missing or empty, is not an image, is truncated or corrupt,
    or is absurdly small or large (Pillow's decompression-bomb limit, about 89 M pixels).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = check_input_file(path, "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                im.load()  # decode now: a truncated file fails here, not later
                im = ImageOps.exif_transpose(im)
                rgb = _to_rgb(im)
    except UnidentifiedImageError:
        raise InputError(f"{p} is not an image (expected one of {', '.join(IMAGE_SUFFIXES)})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"{p} is too large to be a photo (more than {Image.MAX_IMAGE_PIXELS:,} pixels)"
        ) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{p} is a corrupt or truncated image: {e}") from None
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(
            f"{p} is only {w}x{h} pixels; a photo of a person needs at least {MIN_SIDE} px a side"
        )
    return rgb


def _to_rgb(im) -> np.ndarray:
    """PIL image of any mode -> (H, W, 3) uint8 RGB, alpha composited over white."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    elif im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)  # 16-bit greyscale: scale to 8 bits, do not clip
        arr = arr * (255.0 / max(float(arr.max()), 1.0))
        return np.repeat(arr.round().astype(np.uint8)[..., None], 3, axis=-1)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def save_image(path: str | Path, rgb: np.ndarray, quality: int = 95) -> Path:
    """Write (H, W, 3) uint8 RGB to a .png or .jpg, atomically (no partial file on failure)."""
    from PIL import Image

    p = check_output_path(path, tuple(SAVE_FORMATS))
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"save_image expects (H, W, 3) uint8 RGB, got {arr.shape} {arr.dtype}")
    fmt = SAVE_FORMATS[p.suffix.lower()]
    with atomic_path(p) as tmp:
        kwargs = {"quality": quality} if fmt == "JPEG" else {}
        Image.fromarray(np.ascontiguousarray(arr)).save(tmp, format=fmt, **kwargs)
    return p
