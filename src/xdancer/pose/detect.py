"""Whole-body 2D pose detection on CPU: MediaPipe Holistic mapped to the 134-point layout.

Images: one person, checked: no person -> InputError; several people -> InputError naming the count
(or, with ``allow_multiple``, the largest and most central one, recorded in ``meta``).
Videos: one tracked person (Holistic's tracking mode), One Euro smoothing of positions, per-frame
confidences kept as detected. See docs/pose.md for the mapping and its reasons.

Holistic's person detector sometimes misses a clearly visible person at one scale and finds them at
another, so a still image is tried in a few views (as given, half size, with a border, mirrored)
and the first view in which a body is seen wins; the view used is recorded in ``meta``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from xdancer.constants import POSE_FPS
from xdancer.errors import InputError
from xdancer.pose.mediapipe_map import holistic_arrays, map_landmarks
from xdancer.pose.mediapipe_runtime import build, forget, process
from xdancer.pose.people import PeopleFinder, PersonBox, crop_box
from xdancer.pose.sequence import PoseSequence
from xdancer.pose.skeleton import BODY, mirror
from xdancer.pose.smoothing import OneEuroConfig, smooth_keypoints

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv")
DETECTOR = "mediapipe-holistic-0.10.21 (model_complexity=1)"
# A detection counts as a person only if this many of the 18 body points are seen with at least
# MIN_BODY_CONF: Holistic occasionally "finds" a body in texture, with every point barely visible.
MIN_BODY_POINTS = 4
MIN_BODY_CONF = 0.5
MASK_GREY = 127  # other people's pixels are painted this grey when one person is picked
# A video that decodes to fewer frames than this share of what its header announces is truncated
# (headers are off by a frame or so, never by 10 %).
MIN_FRAMES_READ = 0.9
MAX_DETECT_SIDE = 2048  # px: photos larger than this are shrunk for detection (coordinates are not)


@dataclass
class DetectConfig:
    """Options for :func:`detect_image` / :func:`detect_video`."""

    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    allow_multiple: bool = False  # images with several people: pick one instead of failing
    smooth: bool = True  # One Euro smoothing of video tracks
    one_euro: OneEuroConfig = field(default_factory=OneEuroConfig)
    max_frames: int | None = None  # videos: stop after this many frames
    max_seconds: float | None = None  # videos: stop after this much time

    def __post_init__(self) -> None:
        if isinstance(self.one_euro, dict):
            self.one_euro = OneEuroConfig(**self.one_euro)
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError("max_seconds must be > 0")


def _holistic(static: bool, config: DetectConfig):
    import mediapipe as mp

    # Only model_complexity=1 ships inside the mediapipe 0.10.21 wheel (0 and 2 are downloaded).
    # Holistic's own landmark smoothing is off: we smooth all 134 points one way (smoothing.py).
    return build(
        mp.solutions.holistic.Holistic,
        static_image_mode=static,
        model_complexity=1,
        smooth_landmarks=False,
        refine_face_landmarks=False,
        min_detection_confidence=config.min_detection_confidence,
        min_tracking_confidence=config.min_tracking_confidence,
    )


_STATIC_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2)
def _static_models(min_detection_confidence: float):
    """Image-mode Holistic and the people finder, kept open: building them takes ~0.3 s."""
    cfg = DetectConfig(min_detection_confidence=min_detection_confidence)
    return _holistic(True, cfg), PeopleFinder()


def _run_holistic(holistic, rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (134, 3) keypoints in its pixels (all zero when no body is found)."""
    h, w = rgb.shape[:2]
    return map_landmarks(*holistic_arrays(process(holistic, rgb)), w, h)


def is_person(keypoints: np.ndarray) -> bool:
    """True if enough body points are seen clearly for (134, 3) keypoints to be a person."""
    return int((keypoints[BODY, 2] >= MIN_BODY_CONF).sum()) >= MIN_BODY_POINTS


# --- Views of a still image: (name, transform image, map keypoints back) ---------------------------


def _view_scaled(s: float) -> tuple[Callable, Callable]:
    import cv2

    def fwd(rgb):
        h, w = rgb.shape[:2]
        return cv2.resize(rgb, (max(int(w * s), 1), max(int(h * s), 1)), interpolation=cv2.INTER_AREA)

    def back(kps, rgb):
        h, w = rgb.shape[:2]
        out = kps.copy()
        out[:, 0] *= w / max(int(w * s), 1)
        out[:, 1] *= h / max(int(h * s), 1)
        return out

    return fwd, back


def _view_padded(frac: float) -> tuple[Callable, Callable]:
    def fwd(rgb):
        pad = int(frac * max(rgb.shape[:2]))
        return np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="constant")

    def back(kps, rgb):
        pad = int(frac * max(rgb.shape[:2]))
        out = kps.copy()
        out[:, :2] -= pad
        return out

    return fwd, back


def _view_mirrored() -> tuple[Callable, Callable]:
    # Detect on the mirror image, then mirror the skeleton back (which also swaps left and right).
    return (lambda rgb: rgb[:, ::-1]), (lambda kps, rgb: mirror(kps, rgb.shape[1]))


VIEWS: tuple[tuple[str, Callable[[], tuple[Callable, Callable]]], ...] = (
    ("as given", lambda: ((lambda rgb: rgb), (lambda kps, rgb: kps))),
    ("half size", lambda: _view_scaled(0.5)),
    ("border 25%", lambda: _view_padded(0.25)),
    ("border 50%", lambda: _view_padded(0.5)),
    ("mirrored", _view_mirrored),
)


def _detect_views(holistic, rgb: np.ndarray) -> tuple[np.ndarray, str] | None:
    """(134, 3) keypoints in ``rgb``'s pixels from the first view that shows a person, and its name."""
    import cv2

    h, w = rgb.shape[:2]
    # Holistic's models see crops of at most 256 px; a 24-megapixel photo only costs memory (and
    # its 50 % border view would be four times that), so large photos are shrunk first.
    s = min(1.0, MAX_DETECT_SIDE / max(h, w))
    small = rgb if s == 1.0 else cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    for name, make in VIEWS:
        fwd, back = make()
        forget(holistic)
        kps = _run_holistic(holistic, fwd(small))
        if not is_person(kps):
            continue
        kps = back(kps, small)
        kps[:, 0] *= w / small.shape[1]
        kps[:, 1] *= h / small.shape[0]
        inside = (kps[:, 0] >= 0) & (kps[:, 0] < w) & (kps[:, 1] >= 0) & (kps[:, 1] < h) & (kps[:, 2] > 0)
        kps[~inside] = 0.0
        return kps, name
    return None


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise InputError(f"expected an (H, W, 3) uint8 RGB image, got {arr.shape} {arr.dtype}")
    return np.ascontiguousarray(arr)


def _isolate(
    rgb: np.ndarray, people: list[PersonBox], labels: np.ndarray, margin: float
) -> tuple[np.ndarray, tuple]:
    """Crop to the best person (people[0]) with everyone else's region painted grey."""
    h, w = rgb.shape[:2]
    chosen = people[0]
    x0, y0, x1, y1 = crop_box(chosen, w, h, margin)
    view = rgb.copy()
    others = (labels > 0) & (labels != chosen.label)
    view[others] = MASK_GREY
    return view[y0:y1, x0:x1], (x0, y0, x1, y1)


def detect_image(
    rgb: np.ndarray,
    *,
    allow_multiple: bool = False,
    config: DetectConfig | None = None,
    source: str | None = None,
) -> PoseSequence:
    """The pose of the one person in an (H, W, 3) uint8 RGB photo, as a 1-frame PoseSequence.

    Raises InputError when nobody is found, or when several people are in view (unless
    ``allow_multiple``, which picks the largest, most central person and says so in ``meta``).
    """
    config = config or DetectConfig(allow_multiple=allow_multiple)
    allow_multiple = allow_multiple or config.allow_multiple
    rgb = _check_rgb(rgb)
    what = source or "the image"
    with _STATIC_LOCK:  # one MediaPipe graph serves one caller at a time (e.g. a web server's threads)
        holistic, finder = _static_models(config.min_detection_confidence)
        return _detect_image(rgb, holistic, finder, allow_multiple, what, source)


def _detect_image(rgb, holistic, finder, allow_multiple: bool, what: str, source: str | None) -> PoseSequence:
    h, w = rgb.shape[:2]

    # 1. Who is in view?
    people, labels = finder.find(rgb)
    meta: dict = {
        "detector": DETECTOR,
        "source": source,
        "kind": "image",
        "people_in_view": max(len(people), 1),
    }
    if len(people) > 1 and not allow_multiple:
        raise InputError(
            f"{len(people)} people are in view in {what}; xdancer animates one person: crop the photo to "
            "that person (or allow several and the largest, most central one is taken)"
        )

    # 2. Isolate the chosen one when there are several.
    offset = (0, 0)
    view = rgb
    if len(people) > 1:
        view, box = _isolate(rgb, people, labels, margin=0.15)
        offset = box[:2]
        meta["chosen_person"] = {
            "rule": "largest, most central (area fraction x (1 - 0.5 x centre distance))",
            "box": [round(v, 1) for v in (people[0].x0, people[0].y0, people[0].x1, people[0].y1)],
            "found_by": people[0].source,
            "others": [p.to_dict() for p in people[1:]],
        }
    elif people:
        meta["chosen_person"] = {"rule": "the only person in view", "found_by": people[0].source}

    # 3. Pose, trying a few views of the picture.
    found = _detect_views(holistic, view)
    if found is None:
        raise InputError(
            f"no person found in {what}: use a photo in which one person's body is clearly visible"
        )
    kps, view_name = found
    kps[:, 0] = np.where(kps[:, 2] > 0, kps[:, 0] + offset[0], 0.0)
    kps[:, 1] = np.where(kps[:, 2] > 0, kps[:, 1] + offset[1], 0.0)
    meta["view"] = view_name
    return PoseSequence(kps[None], fps=POSE_FPS, frame_size=(w, h), meta=meta)


def _first_sight(rgb: np.ndarray, meta: dict) -> tuple[int, int, int, int] | None:
    """When a video first shows a person: count who is in view (into ``meta``) and, if several,
    return the crop box around the largest, most central one (half its width added each side)."""
    h, w = rgb.shape[:2]
    with PeopleFinder() as finder:
        people, _ = finder.find(rgb)
    meta["people_in_view"] = max(len(people), 1)
    if len(people) <= 1:
        meta["chosen_person"] = {"rule": "the only person in view (first frame with a person)"}
        return None
    chosen = people[0]
    crop = crop_box(chosen, w, h, margin=0.5)
    meta["chosen_person"] = {
        "rule": "largest, most central in the first frame with a person; frames cropped to it",
        "box": [round(v, 1) for v in (chosen.x0, chosen.y0, chosen.x1, chosen.y1)],
        "crop": list(crop),
        "others": [p.to_dict() for p in people[1:]],
    }
    return crop


def detect_video(
    path: str | Path,
    progress: bool = True,
    *,
    config: DetectConfig | None = None,
    max_frames: int | None = None,
    max_seconds: float | None = None,
) -> PoseSequence:
    """Track one person through a video; (T, 134, 3) at the video's frame rate and size.

    The person is the one MediaPipe Holistic locks on to; when several are in view at that moment,
    the frames are cropped (with a wide margin) around the largest, most central one, recorded in
    ``meta["chosen_person"]``. Frames where nobody is seen have all-zero confidence.
    """
    from tqdm import tqdm

    from xdancer.video.io import probe_video, read_video

    config = config or DetectConfig()
    max_frames = max_frames if max_frames is not None else config.max_frames
    max_seconds = max_seconds if max_seconds is not None else config.max_seconds
    info = probe_video(path)
    # Frame i covers time i / fps (the project's convention), so a time limit is a frame count.
    limit = max_frames
    if max_seconds is not None:
        by_time = int(np.ceil(max_seconds * info.fps - 1e-9))
        limit = by_time if limit is None else min(limit, by_time)
    total = info.n_frames if limit is None else min(info.n_frames or limit, limit)

    holistic = _holistic(False, config)
    crop: tuple[int, int, int, int] | None = None
    locked = False
    meta: dict = {"detector": DETECTOR, "source": str(path), "kind": "video", "source_fps": info.fps}
    frames = []
    size = (info.width, info.height)
    try:
        with tqdm(total=total, desc="pose", unit="frame", disable=not progress) as bar:
            for i, (_, rgb) in enumerate(read_video(path)):
                if limit is not None and i >= limit:
                    break
                h, w = rgb.shape[:2]
                size = (w, h)
                view = rgb if crop is None else rgb[crop[1] : crop[3], crop[0] : crop[2]]
                kps = _run_holistic(holistic, view)
                if not locked and is_person(kps):
                    locked = True
                    meta["first_frame_with_person"] = i
                    crop = _first_sight(rgb, meta)
                    if crop is not None:  # restart tracking on the chosen person alone
                        holistic.close()
                        holistic = _holistic(False, config)
                        kps = _run_holistic(holistic, rgb[crop[1] : crop[3], crop[0] : crop[2]])
                if crop is not None:
                    kps[:, 0] = np.where(kps[:, 2] > 0, kps[:, 0] + crop[0], 0.0)
                    kps[:, 1] = np.where(kps[:, 2] > 0, kps[:, 1] + crop[1], 0.0)
                frames.append(kps)
                bar.update(1)
    finally:
        holistic.close()

    if not frames:
        raise InputError(f"no frames could be read from {path}")
    expected = info.n_frames if limit is None else min(info.n_frames or limit, limit)
    if expected and len(frames) < MIN_FRAMES_READ * expected:
        raise InputError(
            f"{path} ends after {len(frames)} of the {expected} frames its header announces: "
            "the file is truncated or corrupt"
        )
    keypoints = np.stack(frames)  # (T, 134, 3)
    if not locked:
        raise InputError(f"no person found in any of the {len(frames)} frames of {path}")
    if config.smooth:
        keypoints = smooth_keypoints(
            keypoints, np.arange(len(keypoints)) / info.fps, size[1], config.one_euro
        )
    seen = np.array([is_person(k) for k in keypoints])
    meta["frames_with_person"] = int(seen.sum())
    meta["smoothing"] = {"one_euro": asdict(config.one_euro)} if config.smooth else None
    return PoseSequence(keypoints, fps=info.fps, frame_size=size, meta=meta)


def detect_pose(
    path: str | Path, progress: bool = True, *, config: DetectConfig | None = None
) -> PoseSequence:
    """Pose of the person in a photo (T = 1) or a video (tracked), chosen by the file's type."""
    from xdancer.image_io import load_image
    from xdancer.io_utils import check_input_file

    p = check_input_file(path, "image or video")
    suffix = p.suffix.lower()
    config = config or DetectConfig()
    if suffix in IMAGE_SUFFIXES:
        return detect_image(load_image(p), config=config, source=str(p))
    if suffix in VIDEO_SUFFIXES:
        return detect_video(p, progress=progress, config=config)
    raise InputError(
        f"unsupported file type {suffix or '(none)'!r} for {p.name}: use an image "
        f"({', '.join(IMAGE_SUFFIXES)}) or a video ({', '.join(VIDEO_SUFFIXES)})"
    )
