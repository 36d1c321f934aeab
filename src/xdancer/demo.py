"""The bundled demo: a public-domain photo that a dependency ships and a groove we synthesise.

Nothing is downloaded: the photo is scikit-image's ``astronaut`` (Eileen Collins, NASA, public
domain) and the song is made by :func:`xdancer.music.synth.synth_groove` at a fixed tempo and seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xdancer.constants import SAMPLE_RATE

DEMO_BPM = 112.0
DEMO_SECONDS = 12.0
DEMO_PHOTO_CREDIT = "scikit-image data.astronaut(): Eileen Collins, NASA (public domain)"


def demo_photo() -> np.ndarray:
    """(512, 512, 3) uint8 RGB photo of a person (waist-up)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def demo_song(seconds: float = DEMO_SECONDS, seed: int = 0) -> np.ndarray:
    """(N,) float32 mono at SAMPLE_RATE: drums, bass and chords at DEMO_BPM."""
    from xdancer.music.synth import synth_groove

    return synth_groove(DEMO_BPM, seconds, sr=SAMPLE_RATE, seed=seed)


def write_demo_files(folder: str | Path, seconds: float = DEMO_SECONDS) -> tuple[Path, Path]:
    """Write ``demo_photo.png`` and ``demo_song.wav`` into ``folder`` (made if needed)."""
    import soundfile as sf

    from xdancer.image_io import save_image
    from xdancer.io_utils import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    photo, song = folder / "demo_photo.png", folder / "demo_song.wav"
    save_image(photo, demo_photo())
    with atomic_path(song) as tmp:
        sf.write(tmp, demo_song(seconds), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return photo, song
