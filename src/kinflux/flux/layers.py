"""Mechanistic layers: batched torch modules that turn media into fluxes.

Every layer is built from a :class:`~kinflux.flux.network.Network` and the medium
inflow ids (a guide's ``inflow_ids``) and is called as

    V = layer(x, v0=None, n_iter=None)      # x (batch, n_medium), V (batch, n_reactions)

with fluxes in mmol/gDW/h. Gradients flow to ``x``, ``v0`` and the layer's parameters.

- :class:`QPLayer`: gradient descent on the mechanistic loss (plus optional objective).
- :class:`LPLayer` (RNN-EB) and :class:`UBLayer` (RNN-UB): primal-dual LP networks,
  see :mod:`kinflux.flux.layers_pd`.
- :class:`WLayer` (RNN-W): V2M/M2V propagation with learnable branching weights.

The shared constraints and the AMN loss live in :mod:`kinflux.flux.losses`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from kinflux.flux.layers_base import IterativeLayer, StepRule, independent_rows
from kinflux.flux.layers_pd import PUBLISHED_DT, LPLayer, UBLayer
from kinflux.flux.losses import (
    Constraints,
    LayerError,
    Residuals,
    check_mode,
    mechanistic_loss,
    residuals,
)
from kinflux.flux.network import Network
from kinflux.flux.sparse import EqualityProjection, LowRankMap, SparseMap

__all__ = [
    "QPLayer",
    "LPLayer",
    "UBLayer",
    "WLayer",
    "Constraints",
    "Residuals",
    "LayerError",
    "StepRule",
    "PUBLISHED_DT",
    "mechanistic_loss",
    "residuals",
    "independent_rows",
]


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
        network: split network.
        medium_ids: inflow ids of the medium columns.
        mode: ``"UB"`` or ``"EB"``.
        n_iter: default iterations.
        update: ``"precond"`` or ``"published"``.
        dt: step; default 0.5 (precond) or 5e-5 (published).
        decay: momentum factor.
        objective_weight: ``w`` (0 = pure constraint projection, as in AMN-QP).
        parsimony: ``eps``.
        open_inflows: see :class:`~kinflux.flux.losses.Constraints`.
        patience: optional decay of dt (x0.7) after that many non-improving iterations.
        multiplier_rate: method-of-multipliers rate (0: plain penalty).
        final_projection: end with the exact projection onto the equality constraints
            (``S V = 0``, and ``P_in V = x`` in EB mode); bounds stay soft.
    """

    f: torch.Tensor

    def __init__(
        self,
        network: Network,
        medium_ids: list[str],
        mode: str = "UB",
        n_iter: int = 1000,
        update: str = "precond",
        dt: float | None = None,
        decay: float = 0.9,
        objective_weight: float = 0.0,
        parsimony: float = 0.0,
        open_inflows: dict[str, float] | None = None,
        patience: int | None = None,
        multiplier_rate: float | None = None,
        final_projection: bool = False,
    ) -> None:
        if update not in ("precond", "published"):
            raise LayerError(f"update must be 'precond' or 'published', got '{update}'")
        if dt is None:
            dt = 0.5 if update == "precond" else 5e-5
        super().__init__(network, medium_ids, mode, n_iter, StepRule(dt, patience), open_inflows)
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


class WLayer(nn.Module):
    """RNN-W: flux propagation through metabolites with learnable branching weights.

    With ``M = V2M V`` (production of each metabolite, mmol/gDW/h) each metabolite
    ``i`` sends the fraction ``W_ij`` of its production to its consumer ``j`` (softmax
    over the consumers, so the fractions of a metabolite sum to one); reaction ``j``
    gets ``W_ij M_i / |S_ij|`` from each substrate, averaged over its substrates
    (AMN Fig. 1C normalisation of ``M2V``). Medium inflows are injected as ``V0``:
    ``x`` (EB) or ``x * sigmoid(a)`` with learnable ``a`` (UB):

        V_{t+1} = V0(x) + mean_i[(M2V * W) (V2M V_t)]

    Args:
        network: split network.
        medium_ids: inflow ids of the medium columns.
        mode: ``"UB"`` or ``"EB"``.
        n_iter: default number of propagation steps.
        project: end with the projection onto ``S V = 0`` (``V - S^T (S S^T)^-1 S V``
            on independent rows of ``S``): mass balance then holds exactly, while
            positivity and the medium bounds stay soft (loss terms).
    """

    def __init__(
        self,
        network: Network,
        medium_ids: list[str],
        mode: str = "UB",
        n_iter: int = 20,
        project: bool = False,
    ) -> None:
        super().__init__()
        self.mode = check_mode(mode)
        self.constraints = Constraints(network, medium_ids)
        self.n_iter = int(n_iter)
        self.n_reactions = network.n_reactions
        self.objective_index = network.objective_index
        dt_ = torch.get_default_dtype()
        M2V = network.M2V  # (n_reactions, n_metabolites)
        consumed = M2V > 0
        nsub = consumed.sum(1)
        # Only substrate edges (reaction j consumes metabolite i) carry weights: they are
        # stored as edge lists, so the parameters and the work scale with the edges.
        rxn, met = np.nonzero(consumed)
        keep = {"persistent": False}
        self.n_metabolites = network.n_metabolites
        self.V2M_map = SparseMap(network.V2M)
        self.register_buffer("edge_rxn", torch.as_tensor(rxn, dtype=torch.long), **keep)
        self.register_buffer("edge_met", torch.as_tensor(met, dtype=torch.long), **keep)
        #: ``M2V_ij / n_substrates_j`` on the edges
        self.register_buffer(
            "edge_m2v", torch.as_tensor(M2V[rxn, met] / nsub[rxn], dtype=dt_), **keep
        )
        #: ``|S_ij|`` on the edges (stoichiometry of the substrate)
        self.register_buffer(
            "edge_coef", torch.as_tensor(-network.S.T[rxn, met], dtype=dt_), **keep
        )
        self.logits = nn.Parameter(torch.zeros(len(rxn)))
        self.uptake = nn.Parameter(torch.full((len(medium_ids),), 3.0))
        # Per-reaction gain of the propagated flux when a prior is injected (AMN-W);
        # starts at 0 so an untrained AMN-W equals its dense prior.
        self.gain = nn.Parameter(torch.zeros(network.n_reactions))
        self.project = bool(project)
        if self.project:
            self.projection = EqualityProjection(network.S)

    def edge_weights(self) -> torch.Tensor:
        """Branching fraction of each edge ``(n_edges,)``: a softmax over each metabolite's
        consumers, so the fractions of a metabolite sum to one."""
        z = self.logits
        zmax = torch.full((self.n_metabolites,), -torch.inf, dtype=z.dtype, device=z.device)
        zmax = zmax.scatter_reduce(0, self.edge_met, z.detach(), reduce="amax")
        e = torch.exp(z - zmax[self.edge_met])
        total = torch.zeros(self.n_metabolites, dtype=z.dtype, device=z.device)
        total = total.index_add(0, self.edge_met, e)
        return e / total[self.edge_met]

    @property
    def W(self) -> torch.Tensor:
        """Dense branching fractions ``(n_reactions, n_metabolites)``; columns sum to 1 (or 0)."""
        w = self.edge_weights()
        W = torch.zeros(self.n_reactions, self.n_metabolites, dtype=w.dtype, device=w.device)
        return W.index_put((self.edge_rxn, self.edge_met), w)

    @torch.no_grad()
    def init_from_fluxes(self, V: torch.Tensor | np.ndarray) -> None:
        """Set ``W`` to the mean branching fractions of reference fluxes ``(n, n_reactions)``."""
        V = torch.as_tensor(V, dtype=self.logits.dtype, device=self.logits.device)
        # consumption of metabolite i by reaction j: v_j |S_ij|
        use = V.mean(0).clamp_min(0)[self.edge_rxn] * self.edge_coef.to(V.dtype)
        self.logits.copy_(torch.log(use + 1e-6))

    def v0(self, x: torch.Tensor) -> torch.Tensor:
        """Injected medium fluxes ``(batch, n_reactions)``."""
        self.constraints.check_x(x)
        scale = torch.ones_like(self.uptake) if self.mode == "EB" else torch.sigmoid(self.uptake)
        V0 = torch.zeros(x.shape[0], self.n_reactions, dtype=x.dtype, device=x.device)
        return V0.index_copy(1, self.constraints.medium_index, x * scale.to(x.dtype))

    def forward(
        self,
        x: torch.Tensor,
        v0: torch.Tensor | None = None,
        n_iter: int | None = None,
        inject: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Propagate ``n_iter`` times from ``v0`` (default: injected medium).

        ``inject`` ``(batch, n_reactions)`` replaces the injected medium fluxes ``V0(x)``
        (AMN-W: the dense prior's output is injected at every step, the dense layer
        inside the recurrent cell); the propagated flux is then scaled by the learnable
        per-reaction ``gain`` (initially 0), ``V_{t+1} = inject + gain * P(V_t)``.
        """
        x = x.to(self.logits.dtype)
        base = self.v0(x) if inject is None else inject.to(x.dtype)
        V = base if v0 is None else v0.to(x.dtype)
        prop = self.edge_m2v.to(x.dtype) * self.edge_weights().to(x.dtype)  # (n_edges,)
        gain = None if inject is None else self.gain.to(x.dtype)
        for _ in range(self.n_iter if n_iter is None else int(n_iter)):
            M = self.V2M_map.rows(V)  # production of each metabolite (batch, n_met)
            sent = M.index_select(1, self.edge_met) * prop  # (batch, n_edges)
            flow = torch.zeros_like(V).index_add(1, self.edge_rxn, sent)
            V = base + (flow if gain is None else gain * flow)
        if self.project:
            V = self.projection.project(V)
        return V

    def growth(self, V: torch.Tensor) -> torch.Tensor:
        """Growth rates ``(batch,)`` (h^-1)."""
        return V[:, self.objective_index]
