"""Points in a polytope ``{A y <= b, lo <= y <= hi}``: Chebyshev centre and hit-and-run.

Used by the steady-state sampler for log-concentrations (ln uM) once the flux directions
are fixed (:mod:`kinflux.kinetic.sampling`).
"""

from __future__ import annotations

import numpy as np

from kinflux.kinetic.constraints import InfeasibleConstraintsError
from kinflux.kinetic.directions import solve_lp

__all__ = ["chebyshev_center", "hit_and_run"]


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
) -> np.ndarray:
    """``n`` points ``(n, dim)`` of a hit-and-run chain in {A y <= b, lo <= y <= hi}."""
    G = np.vstack([A, np.eye(len(y0)), -np.eye(len(y0))])
    h = np.concatenate([b, hi, -lo])
    y = y0.copy()
    out = np.empty((n, len(y0)))
    for i in range(n):
        for _ in range(thin):
            d = rng.standard_normal(len(y))
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
