"""QP layer: preconditioned gradient descent on the mechanistic loss.

Example:
    >>> import torch
    >>> from kinflux.flux.network import Network
    >>> from kinflux.flux.problem import FluxProblem
    >>> net = Network.load("e_coli_core")
    >>> layer = QPLayer(FluxProblem(net, ["EX_glc__D_e_i"], mode="UB"), n_iter=5)
    >>> layer(torch.tensor([[10.0]])).shape
    torch.Size([1, 154])
"""

from __future__ import annotations

import numpy as np
import torch

from kinflux.flux.layers.base import IterativeLayer, StepRule
from kinflux.flux.losses import LayerError
from kinflux.flux.problem import FluxProblem
from kinflux.flux.sparse import EqualityProjection, LowRankMap

__all__ = ["QPLayer"]


class QPLayer(IterativeLayer):
    """Gradient descent on the mechanistic loss, optionally maximizing growth.

    Minimizes, per sample,
    ``L(V) = ||S V||^2 + ||r_in||^2 + ||ReLU(lb - V)||^2 + ||ReLU(V - ub)||^2
    - w c^T V + eps sum(V)`` with ``r_in = ReLU(P_in V - x)`` (UB) or ``P_in V - x`` (EB).

    Updates (``update=``):

    - ``"published"``: AMN's gradient descent with momentum,
      ``D = decay D - dt grad L``, ``V += D``.
    - ``"precond"`` (default): the same with the gradient preconditioned by the
      inverse of ``H = 2 (S^T S + P_in^T P_in + I)`` (the loss Hessian when every
      bound is active), which removes the stiffness of the mass balance; ``dt ~ 0.5``.
      With ``A = [S; P_in]`` (sparse), ``H^-1 = (I - A^T K A) / 2`` with the small
      dense ``K = (I + A A^T)^-1`` (Woodbury), so no ``(n, n)`` matrix is stored.

    Args:
        problem: network, medium ids, open inflows and mode (``UB``/``EB``).
        n_iter: default iterations.
        update: ``"precond"`` or ``"published"``.
        dt: step; default 0.5 (precond) or 5e-5 (published).
        decay: momentum factor.
        objective_weight: ``w`` (0 = pure constraint projection, as in AMN-QP).
        parsimony: ``eps``.
        patience: optional decay of dt (x0.7) after that many non-improving iterations.
        multiplier_rate: method-of-multipliers rate (0: plain penalty).
        final_projection: end with the exact projection onto the equality constraints
            (``S V = 0``, and ``P_in V = x`` in EB mode); bounds stay soft.
    """

    f: torch.Tensor

    def __init__(
        self,
        problem: FluxProblem,
        n_iter: int = 1000,
        update: str = "precond",
        dt: float | None = None,
        decay: float = 0.9,
        objective_weight: float = 0.0,
        parsimony: float = 0.0,
        patience: int | None = None,
        multiplier_rate: float | None = None,
        final_projection: bool = False,
    ) -> None:
        if update not in ("precond", "published"):
            raise LayerError(f"update must be 'precond' or 'published', got '{update}'")
        if dt is None:
            dt = 0.5 if update == "precond" else 5e-5
        super().__init__(problem, n_iter, StepRule(dt, patience))
        network, medium_ids = problem.network, problem.medium_ids
        self.update = update
        self.decay = float(decay)
        if multiplier_rate is None:
            multiplier_rate = 0.05 if update == "precond" else 0.0
        self.multiplier_rate = float(multiplier_rate)
        S = network.S
        n = network.n_reactions
        P = np.zeros((len(medium_ids), n))
        P[np.arange(len(medium_ids)), network.indices(list(medium_ids))] = 1.0
        A = np.vstack([S, P])
        K = np.linalg.inv(np.eye(len(A)) + A @ A.T)
        f = -objective_weight * network.objective + parsimony * np.ones(n)
        dt_ = torch.get_default_dtype()
        #: ``g -> ((g A^T) K) A`` (float64)
        self.woodbury = LowRankMap(A, K)
        self.register_buffer("f", torch.as_tensor(f, dtype=dt_), persistent=False)
        self.final_projection = bool(final_projection)
        if self.final_projection:
            E = S if self.mode == "UB" else A
            self.equalities = EqualityProjection(E)
            Bx = np.zeros((len(E), len(medium_ids)))  # b(x) = Bx x
            if self.mode == "EB":
                Bx[len(S) + np.arange(len(medium_ids)), np.arange(len(medium_ids))] = 1.0
            Bx = torch.as_tensor(Bx[self.equalities.kept_rows], dtype=dt_)
            self.register_buffer("eq_Bx", Bx, persistent=False)

    def output(self, state: tuple, x: torch.Tensor) -> torch.Tensor:
        V = state[0]
        if self.final_projection:
            V = self.equalities.project(V, x @ self.eq_Bx.T)
        return V

    def precondition(self, g: torch.Tensor) -> torch.Tensor:
        """``g H^-1`` for gradients ``g`` ``(batch, n_reactions)`` (float64 inside)."""
        return (0.5 * (g.double() - self.woodbury(g))).to(g.dtype)

    def gradient(
        self, V: torch.Tensor, x: torch.Tensor, shifts: tuple | None = None
    ) -> tuple[torch.Tensor, tuple]:
        """Gradient of ``L`` w.r.t. ``V`` ``(batch, n_reactions)`` and the raw residuals.

        ``shifts`` are the scaled multipliers ``(u_S, u_in, u_lo, u_up)`` of the
        augmented loss (``None``: plain penalty loss).
        """
        c = self.constraints
        SV = c.S_map.rows(V)
        vin = V.index_select(1, c.medium_index) - x
        lo = c.lower - V
        up = torch.where(c.other_mask, V - c.upper, torch.full_like(V, -1e30))
        raw = (SV, vin, lo, up)
        if shifts is not None:
            SV, vin, lo, up = (a + b for a, b in zip(raw, shifts, strict=True))
        r_in = torch.relu(vin) if self.mode == "UB" else vin
        g = 2.0 * c.S_map.cols(SV) + 2.0 * (torch.relu(up) - torch.relu(lo)) + self.f
        g = g.index_add(1, c.medium_index, 2.0 * r_in)
        return g, raw

    def init_state(self, x: torch.Tensor, v0: torch.Tensor | None) -> tuple:
        dtype, device = self._dtype_device()
        V = torch.zeros(x.shape[0], self.n_reactions, dtype=dtype, device=device)
        V = V if v0 is None else v0
        b = x.shape[0]
        c = self.constraints
        zeros = lambda k: torch.zeros(b, k, dtype=dtype, device=device)  # noqa: E731
        n = self.n_reactions
        shifts = (zeros(c.n_metabolites), zeros(c.n_medium), zeros(n), zeros(n))
        return (V, torch.zeros_like(V), shifts)

    def step(self, state: tuple, x: torch.Tensor, dt: float) -> tuple:
        V, D, shifts = state
        if self.update == "published":
            g, _ = self.gradient(V, x)
            D = self.decay * D - dt * g
            return (V + D, D, shifts)
        g, raw = self.gradient(V, x, shifts)
        D = self.decay * D - dt * self.precondition(g)
        if self.multiplier_rate > 0:  # method of multipliers: removes the penalty bias
            beta = self.multiplier_rate
            uS, uin, ulo, uup = shifts
            uin = uin + beta * raw[1]
            shifts = (
                uS + beta * raw[0],
                torch.relu(uin) if self.mode == "UB" else uin,
                torch.relu(ulo + beta * raw[2]),
                torch.relu(uup + beta * raw[3].clamp_min(-1e6)),
            )
        return (V + D, D, shifts)
