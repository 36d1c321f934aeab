"""Texture mapping a deformed mesh from the photo: triangle-id raster -> dense backward map -> remap.

For each frame the deformed triangles are drawn, back to front, into an integer id buffer covering
only their bounding box (``cv2.fillConvexPoly``, sub-pixel precise). Every covered pixel then looks
up the affine map of its triangle (deformed -> photo, one 2 x 3 matrix per triangle), giving a dense
backward map for a single ``cv2.remap`` of the photo and its person alpha. Later triangles overwrite
earlier ones, so the draw order is the layer order. This is faster than one ``warpAffine`` per
triangle (docs/render.md has the measurements) and needs no GPU.
"""

from __future__ import annotations

import cv2
import numpy as np

SUBPIXEL_BITS = 4  # fillConvexPoly fixed-point precision: 1/16 pixel


def backward_affines(
    src: np.ndarray, dst: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(F, 2, 3) affine maps taking each deformed triangle (``dst`` vertices) back onto the photo
    (``src`` vertices), and an (F,) mask of the triangles that are not degenerate."""
    d = dst[triangles]  # (F, 3, 2)
    s = src[triangles]
    dh = np.concatenate([d.transpose(0, 2, 1), np.ones((len(triangles), 1, 3))], axis=1)  # (F, 3, 3)
    det = np.linalg.det(dh)
    ok = np.abs(det) > 1e-6
    dh[~ok] = np.eye(3)
    m = s.transpose(0, 2, 1) @ np.linalg.inv(dh)  # (F, 2, 3)
    return m.astype(np.float32), ok


def rasterize_ids(
    dst: np.ndarray, triangles: np.ndarray, order: np.ndarray, box: tuple[int, int, int, int]
) -> np.ndarray:
    """(h, w) int32 buffer over ``box`` = (x0, y0, x1, y1) holding the id of the front-most triangle
    at each pixel (-1 where there is none). ``order``: triangle ids, back to front."""
    x0, y0, x1, y1 = box
    ids = np.full((y1 - y0, x1 - x0), -1, dtype=np.int32)
    pts = np.round((dst - (x0, y0)) * (1 << SUBPIXEL_BITS)).astype(np.int32)[triangles]  # (F, 3, 2)
    fill = cv2.fillConvexPoly
    for f in order.tolist():
        fill(ids, pts[f], f, cv2.LINE_8, SUBPIXEL_BITS)
    return ids


def dense_map(
    ids: np.ndarray, affines: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Backward map (map_x, map_y), each (h, w) float32, from an id buffer; -1 where uncovered."""
    x0, y0, _, _ = box
    h, w = ids.shape
    # One extra row maps "no triangle" (-1, the last row under numpy's negative indexing) outside the
    # photo, so a single gather covers every pixel of the box without masks.
    table = np.concatenate([affines.reshape(-1, 6), [[0, 0, -1, 0, 0, -1]]]).astype(np.float32)
    coef = np.take(table, ids, axis=0, mode="wrap")  # (h, w, 6)
    xs = np.arange(x0, x0 + w, dtype=np.float32)[None, :]
    ys = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
    map_x = coef[..., 0] * xs + coef[..., 1] * ys + coef[..., 2]
    map_y = coef[..., 3] * xs + coef[..., 4] * ys + coef[..., 5]
    return map_x, map_y


def composite(background: np.ndarray, rgba: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
              box: tuple[int, int, int, int], out: np.ndarray) -> np.ndarray:  # fmt: skip
    """Sample the premultiplied (H, W, 4) uint8 photo+alpha through the map and lay it over
    ``background`` inside ``box``; writes and returns ``out`` (H, W, 3) uint8."""
    x0, y0, x1, y1 = box
    np.copyto(out, background)
    fg = cv2.remap(rgba, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # Premultiplied "over": out = fg_rgb + (1 - a) * bg, with OpenCV's saturating 8-bit arithmetic.
    inv = cv2.bitwise_not(fg[..., 3])
    region = out[y0:y1, x0:x1]
    behind = cv2.multiply(region, cv2.merge([inv, inv, inv]), scale=1.0 / 255.0)
    region[:] = cv2.add(cv2.cvtColor(fg, cv2.COLOR_RGBA2RGB), behind)
    return out
