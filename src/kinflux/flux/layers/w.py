"""RNN-W layer: flux propagation through metabolites with learnable branching weights.

Example:
    >>> import torch
    >>> from kinflux.flux.network import Network
    >>> from kinflux.flux.problem import FluxProblem
    >>> net = Network.load("e_coli_core")
    >>> layer = WLayer(FluxProblem(net, ["EX_glc__D_e_i"], mode="EB"), n_iter=3)
    >>> layer(torch.tensor([[10.0]])).shape
    torch.Size([1, 154])
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from kinflux.flux.losses import Constraints
from kinflux.flux.problem import FluxProblem
from kinflux.flux.sparse import EqualityProjection, SparseMap

__all__ = ["WLayer"]


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
        problem: network, medium ids and mode (``EB``: ``x`` injected as is; ``UB``:
            scaled by a learnable uptake fraction).
        n_iter: default number of propagation steps.
        project: end with the projection onto ``S V = 0`` (``V - S^T (S S^T)^-1 S V``
            on independent rows of ``S``): mass balance then holds exactly, while
            positivity and the medium bounds stay soft (loss terms).
    """

    def __init__(self, problem: FluxProblem, n_iter: int = 20, project: bool = False) -> None:
        super().__init__()
        network, medium_ids = problem.network, problem.medium_ids
        self.problem = problem
        self.mode = problem.mode
        self.constraints = Constraints(problem)
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
