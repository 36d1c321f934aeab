"""Triangle mesh of the person's silhouette (the surface the skeleton deforms).

As in AnimatedDrawings, the mesh covers the segmentation mask: its outer contour is resampled at an
even spacing, the inside is sampled on a jittered-free regular grid, everything is Delaunay
triangulated (scipy.spatial.Delaunay, plain, not constrained) and triangles whose centre falls
outside the mask are dropped, which also removes the triangles that bridge concavities (between
the legs, between an arm and the torso).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay


@dataclass
class Mesh:
    """vertices: (V, 2) float64 pixel coordinates (x, y); triangles: (F, 3) int32 vertex indices."""

    vertices: np.ndarray
    triangles: np.ndarray

    @property
    def edges(self) -> np.ndarray:
        """(E, 2) unique undirected edges, smaller index first."""
        e = np.concatenate([self.triangles[:, [0, 1]], self.triangles[:, [1, 2]], self.triangles[:, [2, 0]]])
        return np.unique(np.sort(e, axis=1), axis=0)


def _contour_points(mask: np.ndarray, spacing: float) -> list[np.ndarray]:
    """Outer contours of every blob in ``mask``, resampled every ``spacing`` pixels."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = []
    for c in contours:
        c = c[:, 0, :].astype(np.float64)
        if len(c) < 8:
            continue
        seg = np.linalg.norm(np.diff(np.vstack([c, c[:1]]), axis=0), axis=1)
        arc = np.concatenate([[0.0], np.cumsum(seg)])
        n = max(8, int(arc[-1] / spacing))
        t = np.linspace(0.0, arc[-1], n, endpoint=False)
        closed = np.vstack([c, c[:1]])
        out.append(np.stack([np.interp(t, arc, closed[:, 0]), np.interp(t, arc, closed[:, 1])], axis=1))
    return out


def build_mesh(mask: np.ndarray, spacing: float, contour_spacing: float | None = None) -> Mesh:
    """Triangulate a binary (H, W) mask with vertices about ``spacing`` pixels apart (along the
    contour ``contour_spacing`` apart, by default the same: closer follows a ragged outline better).

    Interior grid points closer than half a spacing to the contour are skipped so that no sliver
    triangles form along the boundary.
    """
    if spacing < 2:
        raise ValueError(f"mesh spacing must be at least 2 pixels, got {spacing}")
    mask = (mask > 0).astype(np.uint8)
    boundary = _contour_points(mask, contour_spacing or spacing)
    if not boundary:
        raise ValueError("the mask has no region large enough to mesh")
    h, w = mask.shape
    # Distance to the background decides which grid points are safely inside.
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    ys, xs = np.mgrid[spacing / 2 : h : spacing, spacing / 2 : w : spacing]
    xs, ys = xs.ravel(), ys.ravel()
    inside = dist[ys.astype(int), xs.astype(int)] > 0.5 * spacing
    points = np.vstack(boundary + [np.stack([xs[inside], ys[inside]], axis=1)])
    points = np.unique(np.round(points, 3), axis=0)
    tri = Delaunay(points).simplices.astype(np.int32)
    # Keep triangles whose centroid and edge midpoints lie inside the mask (a grown copy, so that
    # thin parts whose centroid sits on a one-pixel boundary survive).
    grown = cv2.dilate(mask, np.ones((3, 3), np.uint8))

    def inside_mask(p: np.ndarray) -> np.ndarray:
        x = np.clip(np.round(p[:, 0]).astype(int), 0, w - 1)
        y = np.clip(np.round(p[:, 1]).astype(int), 0, h - 1)
        return grown[y, x] > 0

    a, b, c = points[tri[:, 0]], points[tri[:, 1]], points[tri[:, 2]]
    keep = (
        inside_mask((a + b + c) / 3)
        & inside_mask((a + b) / 2)
        & inside_mask((b + c) / 2)
        & inside_mask((c + a) / 2)
    )
    tri = tri[keep]
    # Drop vertices no triangle uses and renumber.
    used = np.unique(tri)
    remap = -np.ones(len(points), dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    return Mesh(vertices=points[used], triangles=remap[tri])
