"""How many people are in view, where, and which one to animate.

MediaPipe Holistic follows a single person and says nothing about others, so people are counted with
two other models bundled in mediapipe 0.10.21:
  - Face Detection, full-range model (``model_selection=1``, for faces up to ~5 m away);
  - Selfie Segmentation (person/background mask), split into connected regions.
The count is the larger of (prominent faces, large person regions): faces separate people who
touch, regions find people who face away. Faces much smaller than the largest one (under a third
of its width) and regions much smaller than the largest one (under a fifth of its area, or under
1 % of the picture) are background, not a second subject; they are left out of the count.

The person to animate is the largest and most central one: score = area fraction x
(1 - 0.5 x distance of the box centre from the picture centre / half diagonal).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from xdancer.pose.mediapipe_runtime import build, process

MIN_FACE_SCORE = 0.5
MIN_FACE_WIDTH_RATIO = 1 / 3  # of the largest face
MIN_REGION_RATIO = 0.2  # of the largest region's area
MIN_REGION_FRACTION = 0.01  # of the picture
MASK_THRESHOLD = 0.5
ANALYSIS_SIDE = 640  # px, longest side of the picture the two models are given
# A person's body box from their face box: bodies span about 7.5 face heights below the top of
# the face and about 2.5 face heights to each side of its centre (arms out).
BODY_FROM_FACE = (2.5, 0.5, 8.0)  # (half width, above, below) in face heights


@dataclass
class PersonBox:
    """A person in view: box (x0, y0, x1, y1) in pixels, how it was found, and its choice score."""

    x0: float
    y0: float
    x1: float
    y1: float
    source: str  # "segmentation" or "face"
    score: float = 0.0
    label: int = 0  # its region in the label image of PeopleFinder.find (0: found by its face)

    @property
    def area(self) -> float:
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)

    def to_dict(self) -> dict:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


class PeopleFinder:
    """Counts people in RGB frames; keeps its two MediaPipe models open between calls."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._faces = build(
            mp.solutions.face_detection.FaceDetection,
            model_selection=1,
            min_detection_confidence=MIN_FACE_SCORE,
        )
        self._segment = build(mp.solutions.selfie_segmentation.SelfieSegmentation, model_selection=0)

    def close(self) -> None:
        self._faces.close()
        self._segment.close()

    def __enter__(self) -> PeopleFinder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def find(self, rgb: np.ndarray) -> tuple[list[PersonBox], np.ndarray]:
        """People in ``rgb`` (H, W, 3) uint8, best first, and the (H, W) int region labels (0 = none)."""
        import cv2

        h, w = rgb.shape[:2]
        # Both models look at a 256 px (or smaller) version anyway; shrinking first saves the
        # copies of a full-size photo. Boxes and labels are scaled back to the photo's pixels.
        s = min(1.0, ANALYSIS_SIDE / max(h, w))
        small = (
            rgb if s == 1.0 else cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        )
        faces = self._face_boxes(small)
        regions, labels = self._region_boxes(small)
        # Faces inside one region belong to it; when faces outnumber regions (people touching or
        # a missed region), build the people from the faces instead.
        sh, sw = small.shape[:2]
        people = regions if len(regions) >= len(faces) else [_body_from_face(f, sw, sh) for f in faces]
        for p in people:
            p.x0, p.x1, p.y0, p.y1 = p.x0 * w / sw, p.x1 * w / sw, p.y0 * h / sh, p.y1 * h / sh
            p.score = _choice_score(p, w, h)
        people.sort(key=lambda p: p.score, reverse=True)
        if s != 1.0:
            labels = cv2.resize(labels.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
        return people, labels

    def _face_boxes(self, rgb: np.ndarray) -> list[PersonBox]:
        h, w = rgb.shape[:2]
        res = process(self._faces, rgb)
        boxes = []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append(
                PersonBox(b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h, "face")
            )
        if not boxes:
            return []
        widest = max(b.x1 - b.x0 for b in boxes)
        return [b for b in boxes if (b.x1 - b.x0) >= MIN_FACE_WIDTH_RATIO * widest]

    def _region_boxes(self, rgb: np.ndarray) -> tuple[list[PersonBox], np.ndarray]:
        from scipy import ndimage

        h, w = rgb.shape[:2]
        mask = process(self._segment, rgb).segmentation_mask > MASK_THRESHOLD  # (H, W) bool
        labels, n = ndimage.label(mask)
        if n == 0:
            return [], labels
        areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]  # (n,) pixels per region
        keep = (areas >= MIN_REGION_RATIO * areas.max()) & (areas >= MIN_REGION_FRACTION * h * w)
        boxes = []
        kept_labels = np.zeros_like(labels)
        for i, sl in enumerate(ndimage.find_objects(labels)):
            if sl is None or not keep[i]:
                continue
            ys, xs = sl
            label = len(boxes) + 1
            boxes.append(
                PersonBox(
                    float(xs.start),
                    float(ys.start),
                    float(xs.stop),
                    float(ys.stop),
                    "segmentation",
                    label=label,
                )
            )
            kept_labels[labels == i + 1] = label
        return boxes, kept_labels


def _body_from_face(face: PersonBox, width: int, height: int) -> PersonBox:
    fh = face.y1 - face.y0
    cx = (face.x0 + face.x1) / 2
    half, above, below = BODY_FROM_FACE
    return PersonBox(
        max(cx - half * fh, 0.0),
        max(face.y0 - above * fh, 0.0),
        min(cx + half * fh, float(width)),
        min(face.y0 + below * fh, float(height)),
        "face",
    )


def _choice_score(p: PersonBox, width: int, height: int) -> float:
    cx, cy = (p.x0 + p.x1) / 2, (p.y0 + p.y1) / 2
    dist = math.hypot(cx - width / 2, cy - height / 2) / math.hypot(width / 2, height / 2)
    return p.area / (width * height) * (1.0 - 0.5 * dist)


def crop_box(p: PersonBox, width: int, height: int, margin: float = 0.15) -> tuple[int, int, int, int]:
    """The box around a person grown by ``margin`` of its size on each side, clipped to the picture."""
    mw, mh = margin * (p.x1 - p.x0), margin * (p.y1 - p.y0)
    x0, y0 = max(int(p.x0 - mw), 0), max(int(p.y0 - mh), 0)
    x1, y1 = min(int(math.ceil(p.x1 + mw)), width), min(int(math.ceil(p.y1 + mh)), height)
    return x0, y0, x1, y1
