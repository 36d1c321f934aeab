"""As-rigid-as-possible 2D shape manipulation with pre-factorised sparse solves.

Implements the two-step closed-form method of

    Takeo Igarashi, Tomer Moscovich and John F. Hughes, "As-Rigid-As-Possible Shape Manipulation",
    ACM Transactions on Graphics 24(3) (SIGGRAPH 2005), pp. 1134-1141;

in the edge-based formulation of its implementation note

    Takeo Igarashi and Yuki Igarashi, "Implementing As-Rigid-As-Possible Shape Manipulation and
    Surface Flattening", Journal of Graphics, GPU, and Game Tools 14(1), 2009, pp. 17-30,

which is also what AnimatedDrawings uses. Notation follows the 2009 note:

- every edge k = (i, j) with its neighbourhood N_k = {j, l, r} (l, r: the opposite vertices of the
  one or two triangles sharing the edge) has, in the rest mesh, the 2n x 2 matrix G_k whose rows are
  (x, y) and (y, -x) for each neighbour offset v - v_i; (c_k, s_k) = G_k^+ (v'_N - v'_i) is the
  similarity transform T_k = [[c, s], [-s, c]] that best maps the rest neighbourhood to the deformed one;
- step 1 (similarity): minimise sum_k |e'_k - T_k e_k|^2 + w^2 sum_h |C_h v' - q_h|^2, linear in v'
  because T_k is itself linear in v' (E1 in the note);
- step 2 (scale adjustment): normalise each T_k to a pure rotation R_k and minimise
  sum_k |e'_k - R_k e_k|^2 + w^2 sum_h |C_h v' - q_h|^2 (E2), separately for x and y.

Handles h are points given in barycentric coordinates of a triangle (C_h), held softly with weight w.
Both normal-equation matrices depend only on the rest mesh and the handle set, so they are
factorised once (scipy's SuperLU, ``splu``) and each frame costs three sparse back-substitutions.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from xdancer.render.mesh import Mesh


def barycentric_handles(mesh: Mesh, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Express (H, 2) points as (H, 3) vertex ids and (H, 3) barycentric weights on the mesh.

    A point outside every triangle is bound to its nearest vertex (weights 1, 0, 0).
    """
    v, tri = mesh.vertices, mesh.triangles
    a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
    ids = np.zeros((len(points), 3), dtype=np.int64)
    weights = np.zeros((len(points), 3))
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    for h, p in enumerate(np.asarray(points, dtype=np.float64)):
        l1 = ((p[0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (p[1] - a[:, 1])) / det
        l2 = ((b[:, 0] - a[:, 0]) * (p[1] - a[:, 1]) - (p[0] - a[:, 0]) * (b[:, 1] - a[:, 1])) / det
        l0 = 1.0 - l1 - l2
        inside = np.flatnonzero((l0 >= -1e-9) & (l1 >= -1e-9) & (l2 >= -1e-9))
        if len(inside):
            f = inside[0]
            ids[h] = tri[f]
            weights[h] = (l0[f], l1[f], l2[f])
        else:
            ids[h] = np.argmin(np.linalg.norm(v - p, axis=1))
            weights[h] = (1.0, 0.0, 0.0)
    return ids, weights


class ARAPDeformer:
    """Deform ``mesh`` so that handle points (barycentric, fixed at construction) reach new positions."""

    def __init__(self, mesh: Mesh, handles: np.ndarray, weight: float = 1000.0,
                 bound: tuple[np.ndarray, np.ndarray] | None = None) -> None:  # fmt: skip
        """bound: the handles' (H, 3) vertex ids and (H, 3) barycentric weights, where the caller has
        chosen the triangles (overlapping layers); by default the first triangle holding each point."""
        if len(handles) < 2:
            raise ValueError("ARAP needs at least two handles to fix rotation and translation")
        self.mesh = mesh
        self.weight = float(weight)
        v = mesh.vertices.astype(np.float64)
        nv = len(v)
        edges = mesh.edges
        self.edges = edges
        self.rest_edges = v[edges[:, 1]] - v[edges[:, 0]]  # (E, 2)
        self.handle_ids, self.handle_w = bound if bound is not None else barycentric_handles(mesh, handles)

        # Opposite vertices of each edge: the third vertex of every triangle containing it.
        opposite: dict[tuple[int, int], list[int]] = {}
        for t in mesh.triangles:
            for a, b, c in ((t[0], t[1], t[2]), (t[1], t[2], t[0]), (t[2], t[0], t[1])):
                opposite.setdefault((min(a, b), max(a, b)), []).append(int(c))

        # Step 1 rows (2 per edge, interleaved x/y unknowns) and G_k^+ rows for recovering (c_k, s_k).
        rows1, cols1, vals1 = [], [], []
        rows_g, cols_g, vals_g = [], [], []
        for k, (i, j) in enumerate(edges):
            nbrs = [int(j)] + opposite[(int(i), int(j))]
            off = v[nbrs] - v[i]  # (n, 2)
            g = np.zeros((2 * len(nbrs), 2))
            g[0::2] = off
            g[1::2, 0], g[1::2, 1] = off[:, 1], -off[:, 0]
            g_plus = np.linalg.solve(g.T @ g, g.T)  # (2, 2n): (c, s) from stacked neighbour offsets
            ex, ey = self.rest_edges[k]
            e_mat = np.array([[ex, ey], [ey, -ex]])
            h = e_mat @ g_plus  # (2, 2n): T_k e_k as a function of the neighbour offsets
            # residual r = (v'_j - v'_i) - h (v'_N - v'_i): coefficients for each unknown.
            coef: dict[int, np.ndarray] = {}

            def add(vid: int, m: np.ndarray, coef: dict[int, np.ndarray] = coef) -> None:
                coef[vid] = coef.get(vid, np.zeros((2, 2))) + m

            add(int(j), np.eye(2))
            add(int(i), -np.eye(2))
            for n_idx, vid in enumerate(nbrs):
                block = h[:, 2 * n_idx : 2 * n_idx + 2]
                add(vid, -block)
                add(int(i), block)
                gb = g_plus[:, 2 * n_idx : 2 * n_idx + 2]
                for r in range(2):
                    for cdim in range(2):
                        rows_g += [2 * k + r, 2 * k + r]
                        cols_g += [2 * vid + cdim, 2 * int(i) + cdim]
                        vals_g += [gb[r, cdim], -gb[r, cdim]]
            for vid, m in coef.items():
                for r in range(2):
                    for cdim in range(2):
                        if m[r, cdim] != 0.0:
                            rows1.append(2 * k + r)
                            cols1.append(2 * vid + cdim)
                            vals1.append(m[r, cdim])
        ne = len(edges)
        a1 = sp.csr_matrix((vals1, (rows1, cols1)), shape=(2 * ne, 2 * nv))
        self.g_plus = sp.csr_matrix((vals_g, (rows_g, cols_g)), shape=(2 * ne, 2 * nv))

        # Handle rows: w * sum_m lambda_m v'_{id_m} = w * q.
        nh = len(self.handle_ids)
        hr = np.repeat(np.arange(nh), 3)
        c_mat = sp.csr_matrix((self.handle_w.ravel(), (hr, self.handle_ids.ravel())), shape=(nh, nv))
        c2 = sp.kron(c_mat, sp.eye(2), format="csr")  # interleaved x/y version
        w2 = self.weight**2
        self._c2t = (w2 * c2.T).tocsr()
        self._a1t = a1.T.tocsr()
        self._lu1 = splu((a1.T @ a1 + w2 * (c2.T @ c2)).tocsc())

        # Step 2: the plain edge-difference operator (one per coordinate).
        a2 = sp.csr_matrix(
            (
                np.r_[-np.ones(ne), np.ones(ne)],
                (np.r_[np.arange(ne), np.arange(ne)], np.r_[edges[:, 0], edges[:, 1]]),
            ),
            shape=(ne, nv),
        )
        self._a2t = a2.T.tocsr()
        self._ct = (w2 * c_mat.T).tocsr()
        self._lu2 = splu((a2.T @ a2 + w2 * (c_mat.T @ c_mat)).tocsc())

    def solve(self, targets: np.ndarray) -> np.ndarray:
        """(H, 2) new handle positions -> (V, 2) deformed vertex positions."""
        q = np.asarray(targets, dtype=np.float64)
        # Step 1: similarity-invariant solve (E1).
        v1 = self._lu1.solve(self._c2t @ q.ravel())
        # Step 2: per-edge rotation from the fitted similarity, then the scale-adjusted solve (E2).
        cs = (self.g_plus @ v1).reshape(-1, 2)
        cs /= np.maximum(np.linalg.norm(cs, axis=1, keepdims=True), 1e-12)
        c, s = cs[:, 0], cs[:, 1]
        ex, ey = self.rest_edges[:, 0], self.rest_edges[:, 1]
        rotated = np.stack([c * ex + s * ey, -s * ex + c * ey], axis=1)  # R_k e_k, R = [[c, s], [-s, c]]
        rhs = self._a2t @ rotated + self._ct @ q  # (V, 2): x and y share one factorisation
        return self._lu2.solve(rhs)
