"""Primal-dual recurrent layers for the growth LP: RNN-EB (:class:`LPLayer`) and
RNN-UB (:class:`UBLayer`).

Example:
    >>> import torch
    >>> from kinflux.flux.network import Network
    >>> from kinflux.flux.problem import FluxProblem
    >>> net = Network.load("e_coli_core")
    >>> lp = LPLayer(FluxProblem(net, ["EX_glc__D_e_i"], mode="EB"), n_iter=5)
    >>> lp(torch.tensor([[10.0]])).shape
    torch.Size([1, 154])

Both solve, per medium ``x`` (mmol/gDW/h), the linear program

    min  f^T V   s.t.  A V = b(x),  G V <= h(x),  lo(x) <= V <= up(x)

with ``f = -w c + eps 1`` (``c`` the growth objective, ``w`` its weight, ``eps >= 0`` an
optional parsimony weight that makes the optimum the pFBA-like minimal-flux one).

Two updates are available (``update=``):

``"published"``
    the primal-dual network of Yang et al. (2014) used by AMN (Faure et al. 2023): every
    bound is an inequality row ``G_f V <= h_f`` with dual ``M``;
    ``R = ReLU(M + G_f V - h_f)``, ``dV = -(I - P)(G_f^T R + f) - Q (A V - b)``,
    ``dM = (R - M) / 2``, ``V += dt dV``, ``M += dt dM``, with ``Q = A^T (A A^T)^-1`` and
    ``P = Q A`` on a rank-revealing (pivoted QR) row subset of ``A``. Neither ``(n, n)``
    matrix is formed: with ``C = (A A^T)^-1`` (``(r, r)``) and sparse ``A``,
    ``dV = -g - ((A V - b - A g) C) A`` for ``g = G_f^T R + f`` on the free variables.
``"pdhg"`` (default)
    primal-dual hybrid gradient with diagonal (Pock-Chambolle) preconditioning and the
    box handled by projection instead of dual variables:
    ``V+ = clip(V - T (f + A^T y + G^T z), lo, up)``, ``y += D_A (A (2V+ - V) - b)``,
    ``z = ReLU(z + D_G (G (2V+ - V) - h))``, ``T = diag(1/sum_i |K_ij|)``,
    ``D = diag(1/sum_j |K_ij|)``, ``K = [A; G]``; with restarts of the dual every
    ``restart`` iterations from the running average (optional).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from kinflux.flux.layers.base import IterativeLayer, StepRule
from kinflux.flux.losses import LayerError
from kinflux.flux.network import Network
from kinflux.flux.problem import FluxProblem
from kinflux.flux.sparse import EqualityProjection, SparseMap

__all__ = ["LPLayer", "UBLayer", "PUBLISHED_DT"]

#: Published AMN step sizes of the primal-dual network.
PUBLISHED_DT = {"EB": 3e-4, "UB": 5e-2}
#: Stand-in for "no upper bound" in the dual rows (mmol/gDW/h).
_NO_BOUND = 1e7


class _PrimalDualLayer(IterativeLayer):
    """Common code of :class:`LPLayer` and :class:`UBLayer`."""

    Bx: torch.Tensor
    G: torch.Tensor
    Hx: torch.Tensor
    f: torch.Tensor
    tau: torch.Tensor
    sigma_A: torch.Tensor
    sigma_G: torch.Tensor
    free: torch.Tensor

    def __init__(
        self,
        problem: FluxProblem,
        n_iter: int = 2000,
        update: str = "pdhg",
        dt: float | None = None,
        objective_weight: float | None = None,
        parsimony: float = 0.0,
        patience: int | None = None,
        final_projection: bool = False,
    ) -> None:
        if update not in ("pdhg", "published"):
            raise LayerError(f"update must be 'pdhg' or 'published', got '{update}'")
        if objective_weight is None:  # AMN's published growth weight is 100
            objective_weight = 100.0 if update == "published" else 1.0
        if dt is None:
            dt = PUBLISHED_DT[problem.mode] if update == "published" else 1.0
        if update == "published" and patience is None:
            patience = 10_000
        super().__init__(problem, n_iter, StepRule(dt, patience))
        network = problem.network
        self.update = update
        self.final_projection = bool(final_projection)
        A, Bx, G, Hx, free = self._system(network)
        #: ``V - Q (A V - b)`` and the correction ``((V A^T + offset) C) A`` (float64)
        self.projection = EqualityProjection(A)
        rows = self.projection.kept_rows
        A, Bx = A[rows], Bx[rows]
        self.rank = len(rows)
        f = -objective_weight * network.objective + parsimony * free.astype(float)
        dt_ = torch.get_default_dtype()
        if np.any(A[:, ~free]):
            raise LayerError("equality rows must not involve fixed (non-free) variables")
        K = np.vstack([A, G])
        col = np.abs(K).sum(0)
        row = np.abs(K).sum(1)
        tau = np.where(col > 0, 1.0 / np.maximum(col, 1e-12), 1.0)
        sig = 1.0 / np.maximum(row, 1e-12)
        #: sparse equality rows: ``A_map.rows(V) = V @ A.T``, ``A_map.cols(h) = h @ A``
        self.A_map = SparseMap(A)
        for name, arr in {
            "Bx": Bx,
            "G": G,
            "Hx": Hx,
            "f": f,
            "tau": tau,
            "sigma_A": sig[: len(A)],
            "sigma_G": sig[len(A) :],
        }.items():
            arr = torch.as_tensor(np.ascontiguousarray(arr), dtype=dt_)
            self.register_buffer(name, arr, persistent=False)
        self.register_buffer("free", torch.as_tensor(free), persistent=False)

    # -- subclass hooks -------------------------------------------------------------
    def _system(self, network: Network):
        """Return ``A (r, n), Bx (r, n_med), G (k, n), Hx (k, n_med), free (n,) bool``."""
        raise NotImplementedError

    def box(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Bounds ``(lo, up)`` ``(batch, n_reactions)`` of the variables for media ``x``."""
        raise NotImplementedError

    def complete(self, V: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Fill in fluxes that are not variables of the solve (default: none)."""
        return V

    # -- iteration --------------------------------------------------------------------
    def _rhs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x @ self.Bx.T, x @ self.Hx.T

    def init_state(self, x: torch.Tensor, v0: torch.Tensor | None) -> tuple:
        b = x.shape[0]
        dtype, device = self._dtype_device()
        V = torch.zeros(b, self.n_reactions, dtype=dtype, device=device) if v0 is None else v0
        V = V * self.free
        rhs_A, rhs_G = self._rhs(x)
        lo, up = self.box(x)
        cache = (rhs_A, rhs_G, lo, up)
        if self.update == "published":
            zeros = lambda k: torch.zeros(b, k, dtype=dtype, device=device)  # noqa: E731
            return (
                V,
                zeros(self.G.shape[0]),
                zeros(self.n_reactions),
                zeros(self.n_reactions),
                cache,
            )
        y = torch.zeros(b, self.rank, dtype=dtype, device=device)
        z = torch.zeros(b, self.G.shape[0], dtype=dtype, device=device)
        return (V, y, z, cache)

    def step(self, state: tuple, x: torch.Tensor, dt: float) -> tuple:
        if self.update == "published":
            return self._step_published(state, dt)
        return self._step_pdhg(state, dt)

    def _step_published(self, state: tuple, dt: float) -> tuple:
        V, Mg, Ml, Mu, cache = state
        rhs_A, rhs_G, lo, up = cache
        Rg = torch.relu(Mg + V @ self.G.T - rhs_G)
        Rl = torch.relu(Ml + lo - V)
        Ru = torch.relu(Mu + V - up)
        grad = (Rg @ self.G - Rl + Ru + self.f) * self.free
        # -(I - P) grad - Q (A V - b), with P = A^T C A and Q = A^T C
        dV = -grad.double() - self.projection(V.double() - grad.double(), -rhs_A)
        dV = dV.to(V.dtype)
        return (
            V + dt * dV,
            Mg + dt * 0.5 * (Rg - Mg),
            Ml + dt * 0.5 * (Rl - Ml),
            Mu + dt * 0.5 * (Ru - Mu),
            cache,
        )

    def _step_pdhg(self, state: tuple, dt: float) -> tuple:
        V, y, z, cache = state
        rhs_A, rhs_G, lo, up = cache
        g = self.f + self.A_map.cols(y) + z @ self.G
        Vn = torch.minimum(torch.maximum(V - dt * self.tau * g, lo), up)
        Vb = 2.0 * Vn - V
        y = y + dt * self.sigma_A * (self.A_map.rows(Vb) - rhs_A)
        z = torch.relu(z + dt * self.sigma_G * (Vb @ self.G.T - rhs_G))
        return (Vn, y, z, cache)

    def output(self, state: tuple, x: torch.Tensor) -> torch.Tensor:
        V = state[0]
        if self.final_projection:  # enforce A V = b exactly
            V = self.projection.project(V, state[-1][0])
        return self.complete(V, x)


class LPLayer(_PrimalDualLayer):
    """RNN-EB: maximize growth with the medium as exact (EB) or upper (UB) bounds.

    EB: ``A = [S; P_in]``, ``b = [0; x]``; the medium uptakes are equality rows.
    UB: ``A = S``, ``b = 0``; the medium enters as the upper bounds ``P_in V <= x``.
    In both, ``lb <= V <= ub`` holds for the other reactions (ATPM lower bound, closed
    or open inflows outside the medium).

    Args:
        problem: network, medium ids, open inflows and mode (``EB`` or ``UB``).
        n_iter: default number of iterations of ``forward``.
        update: ``"pdhg"`` (preconditioned, default) or ``"published"`` (Yang 2014/AMN).
        dt: step size; default 1.0 (pdhg) or 3e-4 (published, EB) / 5e-2 (UB).
        objective_weight: weight of growth in the objective (AMN: 100 for published).
        parsimony: weight of ``sum(V)`` (mmol/gDW/h) penalised in the objective.
        patience: published rule: multiply dt by 0.7 after this many iterations
            without improvement of the mechanistic loss (default 10^4 for published).
        final_projection: after the last iteration, project onto the equality rows
            (``V - Q (A V - b)``), so mass balance holds exactly whatever ``n_iter``;
            bounds stay as the iterations left them.

    Shapes: ``forward(x (batch, n_medium), v0 (batch, n_reactions) | None, n_iter)``
    returns ``(batch, n_reactions)`` fluxes in mmol/gDW/h.
    """

    def _system(self, network: Network):
        c = self.constraints
        n, nm = network.n_reactions, c.n_medium
        free = np.ones(n, dtype=bool)
        if self.mode == "EB":
            P = np.zeros((nm, n))
            P[np.arange(nm), c.np_medium] = 1.0
            A = np.vstack([c.np_S, P])
            Bx = np.vstack([np.zeros((c.n_metabolites, nm)), np.eye(nm)])
        else:
            A, Bx = c.np_S.copy(), np.zeros((c.n_metabolites, nm))
        return A, Bx, np.zeros((0, n)), np.zeros((0, nm)), free

    def box(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lo, up = self.constraints.bounds(x, "UB")
        if self.mode == "EB":  # medium set by the equality rows
            up = up.index_fill(1, self.constraints.medium_index, _NO_BOUND)
        return lo, up


class UBLayer(_PrimalDualLayer):
    """RNN-UB: inequality form ``S_ext V <= b``, ``S_int V = 0``, ``lb <= V <= ub``.

    The medium inflow fluxes are eliminated: each medium inflow ``j`` feeds one
    external metabolite ``e`` (``S[e, j] = a > 0``), and ``0 <= V_j <= x_j`` becomes
    ``-a x_j <= S_e' V <= 0`` for the row ``S_e'`` of ``e`` without column ``j``. So

    - ``S_int``: rows of the other metabolites (medium columns are zero there),
      reduced to independent rows by pivoted QR, with ``Q = S_int^T (S_int S_int^T)^-1``
      and ``P = Q S_int``;
    - ``S_ext V <= b`` stacks ``S_e' V <= 0`` and ``-S_e' V <= a x``;
    - after the solve ``V_j = -S_e' V / a`` (mmol/gDW/h).

    Arguments (keywords after ``n_iter``) as :class:`LPLayer`; the mode is always UB,
    whatever the problem's (published dt 5e-2).
    """

    def __init__(self, problem: FluxProblem, n_iter: int = 2000, **options: Any) -> None:
        if problem.mode != "UB":
            problem = problem.replace(mode="UB")
        super().__init__(problem, n_iter, **options)
        S_ext, coef = self._ext
        dt_ = torch.get_default_dtype()
        self.register_buffer("S_ext", torch.as_tensor(S_ext, dtype=dt_), persistent=False)
        self.register_buffer("ext_coef", torch.as_tensor(coef, dtype=dt_), persistent=False)

    def _system(self, network: Network):
        c = self.constraints
        S = c.np_S
        med = c.np_medium
        ext_rows, coef = [], []
        for k, j in enumerate(med):
            nz = np.flatnonzero(S[:, j])
            if len(nz) != 1 or S[nz[0], j] <= 0:
                raise LayerError(
                    f"UBLayer needs each medium inflow to produce exactly one metabolite; "
                    f"'{c.medium_ids[k]}' touches {len(nz)}"
                )
            if nz[0] in ext_rows:
                raise LayerError(f"two medium inflows feed the same metabolite ({c.medium_ids[k]})")
            ext_rows.append(int(nz[0]))
            coef.append(float(S[nz[0], j]))
        n, nm = network.n_reactions, len(med)
        free = np.ones(n, dtype=bool)
        free[med] = False
        S0 = S.copy()
        S0[:, med] = 0.0
        internal = np.setdiff1d(np.arange(S.shape[0]), ext_rows)
        A = S0[internal]
        S_ext = S0[ext_rows]
        G = np.vstack([S_ext, -S_ext])
        Hx = np.vstack([np.zeros((nm, nm)), np.diag(coef)])
        self._ext = (S_ext, np.array(coef))
        return A, np.zeros((len(A), nm)), G, Hx, free

    def box(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lo, up = self.constraints.bounds(x, "UB")
        idx = self.constraints.medium_index
        return lo, up.index_fill(1, idx, 0.0)

    def complete(self, V: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        vin = -(V @ self.S_ext.T) / self.ext_coef
        return V.index_copy(1, self.constraints.medium_index, vin)
