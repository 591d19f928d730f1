"""Mechanistic constraints and losses shared by the neural solvers and AMN training.

All fluxes are split (irreversible) fluxes in mmol/gDW/h, batch first:
``V`` is ``(batch, n_reactions)`` and a medium ``x`` is ``(batch, n_medium)`` in the
order of ``medium_ids`` (a guide's ``inflow_ids``).

Constraints of the split network for a medium ``x``:

- mass balance ``S V = 0``;
- medium inflows: ``P_in V <= x`` (``UB``, upper bounds) or ``P_in V = x`` (``EB``,
  exact bounds);
- every other reaction: ``lb <= V <= ub``, where ``lb`` carries non-zero lower bounds
  such as ATPM (8.39 mmol/gDW/h in e_coli_core) and ``ub`` closes the inflows outside
  the medium (or keeps some open, ``open_inflows``).

The AMN loss (Faure et al. 2023) is
``||S V||^2 / m + ||ReLU(P_in V - x)||^2 / n_in + ||ReLU(lb - V)||^2 / n`` (UB; EB uses
``||P_in V - x||^2``), here plus ``||ReLU(V - ub)||^2 / n`` for the bounds of reactions
outside the medium (zero for e_coli_core with its guide).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from kinflux import KinfluxError
from kinflux.flux.problem import MODES, FluxProblem, check_mode
from kinflux.flux.sparse import SparseMap

__all__ = [
    "Constraints",
    "Residuals",
    "LayerError",
    "residuals",
    "mechanistic_loss",
    "MODES",
    "check_mode",
]


class LayerError(KinfluxError):
    """A mechanistic layer or loss got inconsistent arguments."""


class Constraints(nn.Module):
    """Constraint data of a flux problem: its network for media over its ``medium_ids``.

    Buffers (move with ``.to(device, dtype)``):
        S_map: sparse ``(n_metabolites, n_reactions)`` stoichiometry (:class:`SparseMap`;
            the dense array stays on the network, ``np_S``).
        medium_index: ``(n_medium,)`` columns of the medium inflows (long).
        lower: ``(n_reactions,)`` lower bounds (mmol/gDW/h), >= 0.
        upper: ``(n_reactions,)`` upper bounds (mmol/gDW/h); medium entries are
            placeholders replaced by ``x``.
        objective: ``(n_reactions,)`` objective coefficients (growth).

    Args:
        problem: network, medium ids (the medium vector's columns) and open inflows
            (``None``: the network bounds of inflows outside the medium; a dict
            ``{id: bound}``: those open, every other inflow closed).

    Example:
        >>> from kinflux.flux.network import Network
        >>> net = Network.load("e_coli_core")
        >>> c = Constraints(FluxProblem(net, ["EX_glc__D_e_i"], {}))
        >>> c.n_metabolites, c.n_reactions, c.n_medium
        (72, 154, 1)
    """

    medium_index: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    objective: torch.Tensor

    def __init__(self, problem: FluxProblem) -> None:
        super().__init__()
        network = problem.network
        self.network_name = network.name
        self.medium_ids = list(problem.medium_ids)
        med = network.indices(self.medium_ids)
        lower = network.lower_bounds.astype(np.float64).copy()
        upper = problem.inflow_upper_bounds()
        lower[med] = 0.0
        upper[med] = 0.0  # replaced by x
        self.n_metabolites, self.n_reactions = network.S.shape
        self.n_medium = len(self.medium_ids)
        self.objective_index = network.objective_index
        dt = torch.get_default_dtype()
        # Derived from the network, so not saved in state dicts (a model is reloaded onto
        # its network, whose hash is checked).
        keep = {"persistent": False}
        #: sparse S: ``S_map.rows(V) = V @ S.T``, ``S_map.cols(h) = h @ S``
        self.S_map = SparseMap(network.S)
        self.register_buffer("medium_index", torch.as_tensor(med, dtype=torch.long), **keep)
        self.register_buffer("lower", torch.as_tensor(lower, dtype=dt), **keep)
        self.register_buffer("upper", torch.as_tensor(upper, dtype=dt), **keep)
        self.register_buffer("objective", torch.as_tensor(network.objective, dtype=dt), **keep)
        mask = np.ones(self.n_reactions, dtype=bool)
        mask[med] = False
        self.register_buffer("other_mask", torch.as_tensor(mask), **keep)
        # numpy copies for solver set-up (kept off the device)
        self.np_lower, self.np_upper, self.np_medium = lower, upper, med
        self.np_S = network.S.astype(np.float64)

    def check_x(self, x: torch.Tensor) -> None:
        """Raise :class:`LayerError` unless ``x`` is ``(batch, n_medium)``."""
        if x.ndim != 2 or x.shape[1] != self.n_medium:
            raise LayerError(
                f"medium tensor must have shape (batch, {self.n_medium}), got {tuple(x.shape)}"
            )

    def bounds(self, x: torch.Tensor, mode: str = "UB") -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample bounds ``(lower, upper)``, each ``(batch, n_reactions)`` mmol/gDW/h.

        Medium inflows get ``[0, x]`` (UB) or ``[x, x]`` (EB); the rest the fixed bounds.
        """
        self.check_x(x)
        mode = check_mode(mode)
        b = x.shape[0]
        lo = self.lower.to(x.dtype).expand(b, -1).clone()
        up = self.upper.to(x.dtype).expand(b, -1).clone()
        up = up.index_copy(1, self.medium_index, x)
        if mode == "EB":
            lo = lo.index_copy(1, self.medium_index, x)
        return lo, up

    def extra_repr(self) -> str:
        return (
            f"network='{self.network_name}', n_metabolites={self.n_metabolites}, "
            f"n_reactions={self.n_reactions}, n_medium={self.n_medium}"
        )


class Residuals(NamedTuple):
    """Constraint residuals of fluxes ``V`` for media ``x`` (all mmol/gDW/h).

    Attributes:
        SV: ``(batch, n_metabolites)`` mass-balance residual ``S V``.
        inflow: ``(batch, n_medium)``: ``ReLU(P_in V - x)`` (UB) or ``P_in V - x`` (EB).
        lower: ``(batch, n_reactions)``: ``ReLU(lb - V)`` (positivity and e.g. ATPM).
        upper: ``(batch, n_reactions)``: ``ReLU(V - ub)`` outside the medium.
    """

    SV: torch.Tensor
    inflow: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor


def residuals(V: torch.Tensor, x: torch.Tensor, constraints: Constraints, mode: str = "UB"):
    """Residuals of every constraint, see :class:`Residuals`; differentiable in V and x."""
    mode = check_mode(mode)
    constraints.check_x(x)
    if V.ndim != 2 or V.shape[1] != constraints.n_reactions:
        raise LayerError(
            f"flux tensor must have shape (batch, {constraints.n_reactions}), got {tuple(V.shape)}"
        )
    SV = constraints.S_map.rows(V)
    vin = V.index_select(1, constraints.medium_index) - x
    if mode == "UB":
        vin = torch.relu(vin)
    other = constraints.other_mask
    lower = torch.relu(constraints.lower.to(V.dtype) - V)
    upper = torch.where(other, torch.relu(V - constraints.upper.to(V.dtype)), torch.zeros_like(V))
    return Residuals(SV, vin, lower, upper)


def mechanistic_loss(
    V: torch.Tensor,
    x: torch.Tensor,
    constraints: Constraints,
    mode: str = "UB",
    reduction: str = "mean",
) -> torch.Tensor:
    """AMN mechanistic loss of fluxes ``V`` ``(batch, n_reactions)`` for media ``x``.

    ``||S V||^2/m + ||inflow||^2/n_in + (||ReLU(lb - V)||^2 + ||ReLU(V - ub)||^2)/n``
    per sample ((mmol/gDW/h)^2); ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``
    (then shape ``(batch,)``).
    """
    r = residuals(V, x, constraints, mode)
    m, n = constraints.n_metabolites, constraints.n_reactions
    n_in = max(constraints.n_medium, 1)
    per = (
        r.SV.square().sum(1) / m
        + r.inflow.square().sum(1) / n_in
        + (r.lower.square().sum(1) + r.upper.square().sum(1)) / n
    )
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    if reduction == "mean":
        return per.mean()
    raise LayerError(f"reduction must be 'mean', 'sum' or 'none', got '{reduction}'")
