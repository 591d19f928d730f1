"""Points in a polytope ``{A y <= b, lo <= y <= hi}``: Chebyshev centre and hit-and-run.

Used by the steady-state sampler for log-concentrations (ln uM) once the flux directions
are fixed (:mod:`kinflux.kinetic.sampling`).

Thermodynamic polytopes are thin: a few directions (near-equilibrium reactions, cycles
of ln Keq) are a few hundredths of a ln unit wide while others span the whole 1 uM -
10 mM box. Hit-and-run with isotropic directions then barely leaves its start.
:func:`rounded_hit_and_run` first solves LPs for the extremes of every coordinate (and a
few random directions), takes their covariance as the shape of the polytope and draws
directions from that Gaussian. This is hit-and-run in the linearly transformed space where
the polytope is round, so the target (uniform) distribution is unchanged; the chain
starts between the vertices' mean and the Chebyshev centre, strictly inside.
"""

from __future__ import annotations

import numpy as np

from kinflux.kinetic.constraints import InfeasibleConstraintsError
from kinflux.kinetic.directions import solve_lp, solve_lps

__all__ = ["chebyshev_center", "hit_and_run", "polytope_shape", "rounded_hit_and_run"]


def chebyshev_center(A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Centre of the largest ball in {A y <= b, lo <= y <= hi} (LP)."""
    n = A.shape[1]
    norms = np.linalg.norm(A, axis=1)
    I = np.eye(n)
    Ab = np.vstack(
        [
            np.hstack([A, norms[:, None]]),
            np.hstack([I, -np.ones((n, 1))]),
            np.hstack([I, np.ones((n, 1))]),
        ]
    )
    rlo = np.concatenate([np.full(len(b), -np.inf), lo, np.full(n, -np.inf)])
    rhi = np.concatenate([b, np.full(n, np.inf), hi])
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    sol = solve_lp(Ab, rlo, rhi, np.concatenate([lo, [0.0]]), np.concatenate([hi, [np.inf]]), cost)
    if sol is None:
        raise InfeasibleConstraintsError("concentration polytope of a direction pattern is empty")
    return sol[:n]


def hit_and_run(
    A: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    y0: np.ndarray,
    n: int,
    thin: int,
    rng: np.random.Generator,
    shape: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` points ``(n, dim)`` of a hit-and-run chain in {A y <= b, lo <= y <= hi}.

    Args:
        A, b: ``(m, dim)``, ``(m,)`` inequality rows; lo, hi: ``(dim,)`` box.
        y0: ``(dim,)`` a point inside.
        n: points kept; thin: steps between kept points.
        rng: random generator.
        shape: ``(dim, dim)`` factor ``L`` of the direction covariance (directions
            ``L z``, ``z`` standard normal); None for isotropic directions.
    """
    G = np.vstack([A, np.eye(len(y0)), -np.eye(len(y0))])
    h = np.concatenate([b, hi, -lo])
    y = y0.copy()
    out = np.empty((n, len(y0)))
    for i in range(n):
        for _ in range(thin):
            d = rng.standard_normal(len(y))
            if shape is not None:
                d = shape @ d
            d /= np.linalg.norm(d)
            gd = G @ d
            slack = h - G @ y
            with np.errstate(divide="ignore"):
                t = slack / gd
            tmax = np.min(t[gd > 1e-14], initial=np.inf)
            tmin = np.max(t[gd < -1e-14], initial=-np.inf)
            y = y + rng.uniform(tmin, tmax) * d
        out[i] = y
    return out


def polytope_shape(
    A: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
    n_random: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices that span the polytope: the extremes of each coordinate and of
    ``n_random`` random directions (LPs).

    Returns:
        ``(vertices (k, dim), factor L (dim, dim))`` with ``L L^T`` their covariance
        (plus a small ridge so that ``L`` exists where a direction is flat).
    """
    dim = A.shape[1]
    eye = np.eye(dim)
    costs = [eye[i] * s for i in range(dim) for s in (1.0, -1.0)]
    costs += [rng.standard_normal(dim) for _ in range(n_random)]
    sols = solve_lps(A, np.full(len(b), -np.inf), b, lo, hi, costs)
    verts = [np.clip(x, lo, hi) for x in sols if x is not None]
    if not verts:
        raise InfeasibleConstraintsError("concentration polytope of a direction pattern is empty")
    V = np.array(verts)
    cov = np.cov(V.T, bias=True) if len(V) > 1 else np.zeros((dim, dim))
    ridge = 1e-6 * max(float(np.trace(cov)) / dim, 1e-6)
    return V, np.linalg.cholesky(cov + ridge * np.eye(dim))


def rounded_hit_and_run(
    A: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    n: int,
    thin: int,
    rng: np.random.Generator,
    burn_in: int | None = None,
) -> np.ndarray:
    """``n`` points ``(n, dim)`` spread over {A y <= b, lo <= y <= hi} by hit-and-run in
    the rounded polytope (see the module docstring).

    Args:
        A, b: ``(m, dim)``, ``(m,)`` inequality rows; lo, hi: ``(dim,)`` box.
        n: points kept; thin: steps between kept points.
        rng: random generator.
        burn_in: steps before the first kept point (default ``10 * thin``).

    Example:
        A chain of six log-concentrations that must stay within 0.01 of each other
        (a thin diagonal rod in a 0-10 box) still covers the rod:

        >>> import numpy as np
        >>> A = np.zeros((10, 6))
        >>> for i in range(5):
        ...     A[2 * i, [i, i + 1]] = [1.0, -1.0]
        ...     A[2 * i + 1, [i, i + 1]] = [-1.0, 1.0]
        >>> b, lo, hi = np.full(10, 0.01), np.zeros(6), np.full(6, 10.0)
        >>> y = rounded_hit_and_run(A, b, lo, hi, 200, 5, np.random.default_rng(0))
        >>> bool(np.all(A @ y.T <= 0.01 + 1e-9)), bool(np.ptp(y[:, 0]) > 8)
        (True, True)
    """
    centre = chebyshev_center(A, b, lo, hi)
    V, L = polytope_shape(A, b, lo, hi, rng)
    y0 = 0.9 * V.mean(0) + 0.1 * centre
    burn = 10 * thin if burn_in is None else burn_in
    if burn > 0:
        y0 = hit_and_run(A, b, lo, hi, y0, 1, burn, rng, shape=L)[0]
    return hit_and_run(A, b, lo, hi, y0, n, thin, rng, shape=L)
