"""ARAP deformation (Igarashi et al. 2005) on small meshes: invariants and golden values."""

from __future__ import annotations

import numpy as np
import pytest

from xdancer.render.arap import ARAPDeformer, barycentric_handles
from xdancer.render.mesh import Mesh, build_mesh


def grid_mesh(nx: int = 4, ny: int = 3) -> Mesh:
    xs, ys = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
    v = np.stack([xs.ravel(), ys.ravel()], axis=1)
    tris = []
    for j in range(ny - 1):
        for i in range(nx - 1):
            a, b, c, d = j * nx + i, j * nx + i + 1, (j + 1) * nx + i, (j + 1) * nx + i + 1
            tris += [(a, b, d), (a, d, c)]
    return Mesh(v, np.asarray(tris, dtype=np.int32))


def rigid(points: np.ndarray, angle: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]]) + np.asarray(shift)


def test_rest_pose_is_a_fixed_point():
    mesh = grid_mesh()
    handles = mesh.vertices[[0, 3, 8, 11]]
    arap = ARAPDeformer(mesh, handles)
    np.testing.assert_allclose(arap.solve(handles), mesh.vertices, atol=1e-6)


@pytest.mark.parametrize("angle", [0.3, -1.2, np.pi / 2])
def test_rigid_handle_motion_moves_the_mesh_rigidly(angle):
    mesh = grid_mesh()
    handles = np.array([[0.1, 0.2], [2.9, 0.1], [0.2, 1.9], [2.7, 1.8]])  # inside triangles
    arap = ARAPDeformer(mesh, handles)
    out = arap.solve(rigid(handles, angle, (5.0, -2.0)))
    np.testing.assert_allclose(out, rigid(mesh.vertices, angle, (5.0, -2.0)), atol=1e-5)


def test_bending_a_bar_keeps_edges_near_their_length():
    # A 7 x 2 bar pinned at the left end, its right end turned 90 degrees in place: the bar must bend
    # and compress, and ARAP spreads that over the whole bar (mean edge-length change under 20 %).
    mesh = grid_mesh(7, 2)
    left = mesh.vertices[[0, 7]]
    right = mesh.vertices[[6, 13]]
    arap = ARAPDeformer(mesh, np.vstack([left, right]))
    pivot = np.array([6.0, 0.5])
    bent = rigid(right - pivot, np.pi / 2, (0, 0)) + pivot
    out = arap.solve(np.vstack([left, bent]))
    e = mesh.edges
    ratio = np.linalg.norm(out[e[:, 0]] - out[e[:, 1]], axis=1) / np.linalg.norm(
        mesh.vertices[e[:, 0]] - mesh.vertices[e[:, 1]], axis=1
    )
    assert np.abs(ratio - 1).mean() < 0.2 and 0.5 < ratio.min() and ratio.max() < 1.6
    # Golden values of this configuration (from this implementation, checked by the invariants
    # above and by eye): the middle of the bar, vertices 3 and 10.
    np.testing.assert_allclose(out[[3, 10]], GOLDEN_BAR, atol=1e-4)


GOLDEN_BAR = np.array([[3.24142, -0.92220], [3.32409, 0.12945]])


def test_handles_are_reached():
    mesh = grid_mesh(5, 5)
    handles = np.array([[0.5, 0.5], [3.5, 0.2], [2.0, 3.7]])
    arap = ARAPDeformer(mesh, handles)
    targets = handles + np.array([[0.0, 0.0], [0.5, 0.3], [-0.4, 0.6]])
    out = arap.solve(targets)
    ids, w = barycentric_handles(mesh, handles)
    reached = (out[ids] * w[..., None]).sum(axis=1)
    np.testing.assert_allclose(reached, targets, atol=1e-2)


def test_barycentric_handles_reconstruct_points():
    mesh = grid_mesh()
    pts = np.array([[0.2, 0.3], [2.7, 1.9], [1.0, 1.0]])
    ids, w = barycentric_handles(mesh, pts)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose((mesh.vertices[ids] * w[..., None]).sum(axis=1), pts, atol=1e-9)


def test_needs_two_handles():
    with pytest.raises(ValueError):
        ARAPDeformer(grid_mesh(), np.array([[0.5, 0.5]]))


def test_mesh_of_a_disc_covers_it_and_nothing_outside():
    mask = np.zeros((100, 120), np.uint8)
    yy, xx = np.mgrid[:100, :120]
    mask[(xx - 60) ** 2 + (yy - 50) ** 2 <= 35**2] = 1
    mesh = build_mesh(mask, spacing=8)
    area = 0.5 * np.abs(
        np.cross(
            *(mesh.vertices[mesh.triangles[:, [1, 2]]] - mesh.vertices[mesh.triangles[:, [0]]]).transpose(
                1, 0, 2
            )
        )
    )
    assert abs(area.sum() - mask.sum()) / mask.sum() < 0.05
    assert (np.linalg.norm(mesh.vertices - (60, 50), axis=1) <= 36).all()
