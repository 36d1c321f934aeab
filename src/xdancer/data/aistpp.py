"""Importer for AIST++ (Li et al., ICCV 2021) 2D keypoints and music, for users who have the dataset.

Expected layout (as distributed, any subset):

    <root>/keypoints2d/<sequence>.pkl|.npz|.json   keypoints2d (9 views, T, 17, 3) COCO-17
                                                   [x, y, score] in 1920 x 1080 frames, 60 fps
    <root>/wav/<music id>.wav                      the music (sequence names carry the id, e.g.
                                                   gBR_sBM_cAll_d04_mBR0_ch01 -> mBR0)
    <root>/ignore_list.txt                         (optional) sequences to skip

The motion starts with the music (AIST++ is synchronised). Each chosen camera view of a sequence
becomes one clip: COCO-17 mapped to the 134-point layout (neck = shoulder midpoint; feet, face and
hands confidence 0), resampled to 30 fps and cropped to the portrait canvas.

The official ``.pkl`` files are Python pickles. Unpickling can run arbitrary code, so we never call
plain ``pickle.load``: :func:`safe_load_pickle` admits only the classes that rebuild numpy arrays
(and plain containers), and refuses anything else with an InputError. ``.npz`` (no pickles allowed)
and ``.json`` forms of the same dict are read too.
"""

from __future__ import annotations

import io
import json
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from xdancer.constants import CANVAS_HEIGHT, CANVAS_WIDTH, POSE_FPS
from xdancer.data.crop import portrait_crop
from xdancer.data.importer import ImportedClip
from xdancer.errors import InputError
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import NUM_KEYPOINTS, kp

AIST_FPS = 60
AIST_FRAME_SIZE = (1920, 1080)
LICENCE = "AIST Dance Video Database terms (non-commercial research); AIST++ annotations CC BY 4.0"
GENRES = {
    "gBR": "break", "gPO": "pop", "gLO": "lock", "gMH": "middle hip-hop", "gLH": "LA hip-hop",
    "gHO": "house", "gWA": "waack", "gKR": "krump", "gJS": "street jazz", "gJB": "ballet jazz",
}  # fmt: skip
COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

# What a pickle of numpy arrays may ask for: numpy's array/dtype/scalar rebuilders and codecs.encode
# (pickles written by Python 2 store byte strings through it). Nothing that can run code.
_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}  # fmt: skip


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)")


def safe_load_pickle(path: str | Path):
    """Load a pickle that holds only numpy arrays, numbers, strings, lists and dicts."""
    data = Path(path).read_bytes()
    try:
        return _SafeUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as e:
        raise InputError(f"{path}: not a plain pickle of numpy arrays ({e})") from None


def load_keypoints2d(path: str | Path) -> np.ndarray:
    """(views, T, 17, 3) float32 from an AIST++ keypoints2d file (.pkl, .npz or .json)."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".pkl":
            doc = safe_load_pickle(p)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                doc = {k: z[k] for k in z.files}
        elif suffix == ".json":
            doc = json.loads(p.read_text())
        else:
            raise InputError(f"{p.name}: AIST++ keypoints must be .pkl, .npz or .json")
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {p}: {e}") from None
    if not isinstance(doc, dict) or "keypoints2d" not in doc:
        raise InputError(f"{p}: no 'keypoints2d' entry (AIST++ keypoints2d files hold a dict with it)")
    kps = np.asarray(doc["keypoints2d"], dtype=np.float32)
    if kps.ndim == 3:
        kps = kps[None]
    if kps.ndim != 4 or kps.shape[2:] != (17, 3):
        raise InputError(f"{p}: keypoints2d must be (views, T, 17, 3), got {kps.shape}")
    return np.nan_to_num(kps, nan=0.0)


def coco17_to_layout(coco: np.ndarray) -> np.ndarray:
    """(T, 17, 3) COCO-17 -> (T, 134, 3); the neck is the shoulder midpoint (confidence: the lower)."""
    out = np.zeros((coco.shape[0], NUM_KEYPOINTS, 3), dtype=np.float32)
    for i, name in enumerate(COCO17):
        out[:, kp(name)] = coco[:, i]
    ls, rs = coco[:, COCO17.index("left_shoulder")], coco[:, COCO17.index("right_shoulder")]
    out[:, kp("neck"), :2] = (ls[:, :2] + rs[:, :2]) / 2
    out[:, kp("neck"), 2] = np.minimum(ls[:, 2], rs[:, 2])
    out[..., 2] = np.clip(out[..., 2], 0.0, 1.0)
    out[..., :2] *= out[..., 2:3] > 0
    return out


def sequence_parts(name: str) -> tuple[str, str]:
    """(genre, music id) from an AIST++ sequence name like gBR_sBM_cAll_d04_mBR0_ch01."""
    genre = GENRES.get(name.split("_")[0], "")
    m = re.search(r"_(m[A-Z]{2}\d)_", f"_{name}_")
    if not m:
        raise InputError(f"{name}: not an AIST++ sequence name (no music id like mBR0)")
    return genre, m.group(1)


def import_aistpp(path: str | Path, *, views: tuple[int, ...] = (0,), progress: bool = True) -> Iterator[ImportedClip]:
    """Yield one clip per sequence and chosen camera view (0-8), with its music."""
    from xdancer.music.features import music_features
    from xdancer.pose.resample import resample_poses

    root = Path(path)
    kdir = root / "keypoints2d"
    if not kdir.is_dir():
        raise InputError(f"{root} has no keypoints2d/ folder: is this the AIST++ root?")
    ignore = set()
    if (root / "ignore_list.txt").is_file():
        ignore = {ln.strip() for ln in (root / "ignore_list.txt").read_text().splitlines() if ln.strip()}
    files = sorted(f for f in kdir.iterdir() if f.suffix.lower() in (".pkl", ".npz", ".json") and f.stem not in ignore)
    if not files:
        raise InputError(f"no keypoints2d files (.pkl, .npz, .json) in {kdir}")
    for f in files:
        genre, music_id = sequence_parts(f.stem)
        wav = root / "wav" / f"{music_id}.wav"
        if not wav.is_file():
            raise InputError(f"{f.stem}: its music {wav} is missing")
        kps_all = load_keypoints2d(f)
        music = music_features(wav, fps=POSE_FPS, offset=0.0, duration=kps_all.shape[1] / AIST_FPS)
        for v in views:
            if not 0 <= v < kps_all.shape[0]:
                raise InputError(f"{f.stem}: view {v} does not exist ({kps_all.shape[0]} views)")
            raw = PoseSequence(coco17_to_layout(kps_all[v]), AIST_FPS, AIST_FRAME_SIZE)
            seq = resample_poses(raw, POSE_FPS)
            kps, crop = portrait_crop(seq.keypoints, AIST_FRAME_SIZE)
            meta = {"source": "aistpp", "sequence": f.stem, "view": v, "crop": crop, "audio": str(wav),
                    "audio_offset_s": 0.0, "origin_fps": AIST_FPS}  # fmt: skip
            # All sequences on one piece of music are one group, so no validation music is heard in
            # training (as AIST++'s own cross-modal split does).
            group = f"aistpp_{music_id}"
            yield ImportedClip(
                id=f"aistpp_{f.stem}_v{v}", source="aistpp", genre=genre, group=group, licence=LICENCE,
                poses=PoseSequence(kps, POSE_FPS, (CANVAS_WIDTH, CANVAS_HEIGHT), meta), music=music,
                camera=f"aist_c{v + 1:02d}", origin=str(f),
            )  # fmt: skip


__all__ = ["import_aistpp", "load_keypoints2d", "safe_load_pickle", "coco17_to_layout", "sequence_parts", "GENRES"]
