"""Background-fill comparison for docs/images/inpaint_comparison.png: photo | Telea | NS | FSR fast |
FSR best, on the full-body hole left by the person, filled at 256 rows.

    python docs/inpaint_comparison.py            # about 4 minutes on 2 cores (FSR best is slow)
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PHOTOS = ("animatex_ty_woman.jpg", "mimicmotion_demo1.jpg", "moore_anyone3.png", "musepose_ref.png")


def main() -> None:
    from xdancer.image_io import load_image, save_image
    from xdancer.pose.detect import detect_image
    from xdancer.render.inpaint import METHODS, background_plate
    from xdancer.render.segment import segment_person

    rows = []
    for name in PHOTOS:
        image = load_image(SHARED / "images" / name)
        pose = detect_image(image).keypoints[0]
        scale = 384 / image.shape[0]
        photo = cv2.resize(image, (int(image.shape[1] * scale) // 2 * 2, 384), interpolation=cv2.INTER_AREA)
        body = pose[:18][pose[:18, 2] > 0.3, :2] * scale
        alpha = segment_person(photo, body)
        row = [photo]
        for method in METHODS:
            t0 = time.perf_counter()
            plate = background_plate(photo, alpha, method).copy()
            print(f"{name} {method}: {time.perf_counter() - t0:.2f} s")
            cv2.putText(plate, method, (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 0, 0), 2)
            row.append(plate)
        rows.append(np.hstack(row))
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows])
    sheet = cv2.resize(sheet, (sheet.shape[1] // 2, sheet.shape[0] // 2), interpolation=cv2.INTER_AREA)
    save_image(ROOT / "docs" / "images" / "inpaint_comparison.png", sheet)


if __name__ == "__main__":
    main()
