"""Hybrid neural-mechanistic flux models (AMNs) and their purely neural baselines.

Architectures, named as in Faure et al. (2023):

=============  ===========================================================
``ANN-Dense``  dense network: medium -> all fluxes, fitted on fluxes only
``ANN-SV``     the same network, with ``||S V||^2`` added to the loss
``AMN-QP``     dense prior -> V0, then the QP (gradient) mechanistic layer
``AMN-LP``     dense prior -> V0, then the primal-dual LP (RNN-EB) layer
``AMN-UB``     dense prior -> V0, then the upper-bound LP (RNN-UB) layer
``AMN-W``      dense prior -> V0, then V2M/M2V propagation with weights W
=============  ===========================================================

All modules take a medium ``x`` of shape ``(batch, n_medium)`` (mmol/gDW/h) and return
split fluxes ``(batch, n_reactions)`` (mmol/gDW/h).

Example:
    >>> import torch
    >>> from kinflux.flux.network import Network
    >>> net = Network.load("e_coli_core")
    >>> problem = FluxProblem(net, ["EX_glc__D_e_i", "EX_o2_e_i"], open_inflows=None)
    >>> model = build_flux_model("AMN-QP", problem, hidden=(8,), prune=False)
    >>> tuple(model(torch.tensor([[10.0, 20.0]])).shape)
    (1, 154)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from kinflux import KinfluxError
from kinflux.flux.hyperparameters import ARCHITECTURES
from kinflux.flux.problem import FluxProblem

__all__ = [
    "ARCHITECTURES",
    "PriorNetwork",
    "FluxModel",
    "PrunedLayer",
    "build_flux_model",
]


class PriorNetwork(nn.Module):
    """Dense network from a medium to initial fluxes V0.

    Inputs are divided by ``x_scale``; outputs are ``v_mean + v_scale * net(...)``
    (buffers fitted on the training data), so the weights work on O(1) numbers.

    Args:
        n_medium: inputs (medium inflows).
        n_reactions: outputs (split fluxes).
        hidden: hidden layer sizes.
        dropout: dropout probability after each hidden layer.
    """

    def __init__(
        self, n_medium: int, n_reactions: int, hidden: Sequence[int] = (500,), dropout: float = 0.25
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_medium
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, n_reactions))
        self.net = nn.Sequential(*layers)
        self.register_buffer("x_scale", torch.ones(n_medium))
        self.register_buffer("v_scale", torch.ones(n_reactions))
        self.register_buffer("v_mean", torch.zeros(n_reactions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, n_medium)`` -> V0 ``(batch, n_reactions)``.

        ``V0 = v_mean + v_scale * net(x / x_scale)``: an untrained prior starts at the
        mean training flux distribution.
        """
        return self.v_mean + self.net(x / self.x_scale) * self.v_scale


class FluxModel(nn.Module):
    """Prior network, optionally followed by a mechanistic layer.

    Args:
        prior: medium -> V0.
        mechanistic: a layer called as ``mechanistic(x, v0=v0)`` returning fluxes
            ``(batch, n_reactions)``, or None for the ANN baselines.
        arch: architecture name (for records).
    """

    def __init__(self, prior: PriorNetwork, mechanistic: nn.Module | None, arch: str) -> None:
        super().__init__()
        self.prior = prior
        self.mechanistic = mechanistic
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Medium ``(batch, n_medium)`` -> fluxes ``(batch, n_reactions)``."""
        v0 = self.prior(x)
        if self.mechanistic is None:
            return v0
        if self.arch == "AMN-W":
            return self.mechanistic(x, v0=v0, inject=v0)
        return self.mechanistic(x, v0=v0)


class PrunedLayer(nn.Module):
    """A mechanistic layer built on the subnetwork of unblocked reactions.

    Blocked reactions (no net flux in any medium over the layer's inflows, see
    :func:`kinflux.flux.fba.find_blocked_reactions`) carry 0 in every feasible flux
    distribution, so the layer works on the others only and returns 0 for them. On
    iJO1366 with the iML1515 guide this drops 1653 of 3518 split reactions, so every
    projection is about 2.5x cheaper.

    Args:
        layer: mechanistic layer on the subnetwork.
        keep: ``(n_kept,)`` columns of the subnetwork's reactions in the full network.
        n_reactions: number of split reactions of the full network.
        objective_index: growth column in the full network.
    """

    keep: torch.Tensor
    to_local: torch.Tensor

    def __init__(
        self, layer: nn.Module, keep: np.ndarray, n_reactions: int, objective_index: int
    ) -> None:
        super().__init__()
        self.layer = layer
        self.n_reactions = int(n_reactions)
        self.objective_index = int(objective_index)
        local = np.full(n_reactions, -1, dtype=np.int64)
        local[keep] = np.arange(len(keep))
        self.register_buffer("keep", torch.as_tensor(keep, dtype=torch.long), persistent=False)
        self.register_buffer("to_local", torch.as_tensor(local), persistent=False)

    @property
    def constraints(self):  # noqa: ANN201 - the inner layer's Constraints
        """Constraints of the subnetwork (indexed by :meth:`local_index`)."""
        return self.layer.constraints

    @property
    def n_iter(self) -> int:
        return self.layer.n_iter

    @n_iter.setter
    def n_iter(self, value: int) -> None:
        self.layer.n_iter = value

    def local_index(self, idx: torch.Tensor) -> torch.Tensor:
        """Subnetwork columns of full-network columns ``idx`` (pruned ones dropped)."""
        local = self.to_local[idx]
        return local[local >= 0]

    def forward(
        self, x: torch.Tensor, v0: torch.Tensor | None = None, **kwargs: torch.Tensor
    ) -> torch.Tensor:
        """Full-network fluxes ``(batch, n_reactions)``; pruned reactions are 0."""
        if v0 is not None:
            v0 = v0.index_select(1, self.keep)
        if kwargs.get("inject") is not None:
            kwargs["inject"] = kwargs["inject"].index_select(1, self.keep)
        V = self.layer(x, v0=v0, **kwargs)
        return V.new_zeros(V.shape[0], self.n_reactions).index_copy(1, self.keep, V)

    def growth(self, V: torch.Tensor) -> torch.Tensor:
        """Growth rates ``(batch,)`` (h^-1)."""
        return V[:, self.objective_index]


def build_flux_model(
    arch: str,
    problem: FluxProblem,
    hidden: Sequence[int] = (500,),
    dropout: float = 0.25,
    n_iter: int | None = None,
    prune: bool = True,
) -> FluxModel:
    """Assemble a :class:`FluxModel` of architecture ``arch`` for ``problem``.

    ``n_iter`` is the number of mechanistic iterations per forward pass (layer default
    when None); the problem's mode says whether media are upper bounds or exact uptakes.
    ``prune``: build the mechanistic layer on the unblocked reactions only
    (:class:`PrunedLayer`, :meth:`FluxProblem.pruned`); the prior and the output still
    cover every reaction.
    """
    if arch not in ARCHITECTURES:
        raise KinfluxError(
            f"unknown architecture '{arch}'; choose one of {', '.join(ARCHITECTURES)}"
        )
    network = problem.network
    prior = PriorNetwork(problem.n_medium, network.n_reactions, hidden, dropout)
    mech = None
    if arch.startswith("AMN-"):
        sub = problem.pruned() if prune else problem
        mech = _mechanistic_layer(arch, sub, n_iter)
        if sub.network is not network:
            sub = sub.network
            keep = network.indices(sub.reaction_ids)
            mech = PrunedLayer(mech, keep, network.n_reactions, network.objective_index)
    return FluxModel(prior, mech, arch)


#: Mechanistic iterations per forward pass inside an AMN (training cost grows with it).
DEFAULT_AMN_ITERATIONS = {"QP": 4, "LP": 3, "UB": 3, "W": 4}

#: Extra keyword arguments of each mechanistic layer inside an AMN.
AMN_LAYER_OPTIONS: dict[str, dict] = {
    # Inside an AMN the QP layer is a damped projection of V0 onto the constraints:
    # preconditioned steps without momentum or multipliers keep gradients smooth.
    # Full (dt 1) preconditioned steps: measured on e_coli_core, ||SV||^2 0.048 vs 0.084
    # with dt 0.5, same growth Q^2. The closing exact projection onto S V = 0 then takes
    # ||SV||^2 from 0.048 to 4e-11 (growth Q^2 0.9988 -> 0.9975; 1000 samples, 5-fold).
    "QP": {"decay": 0.0, "multiplier_rate": 0.0, "dt": 1.0, "final_projection": True},
    # LP/UB: the published primal-dual update with a large step; its Q (A V - b) term is
    # an exact projection onto the equality constraints, so 3 steps leave ||SV|| ~ 0.
    # No growth term: the prior predicts growth; with the published weight 100 and these
    # steps the fluxes diverge on iJO1366. (Measured on e_coli_core: the PDHG default
    # gave ||SV||^2 above ANN-Dense's.)
    "LP": {"update": "published", "dt": 1.0, "objective_weight": 0.0},
    "UB": {"update": "published", "dt": 0.3, "objective_weight": 0.0, "final_projection": True},
    # AMN-W: the W cell alone does not conserve mass (||SV||^2 0.68 on e_coli_core, above
    # ANN-Dense's 0.26); a closing projection onto S V = 0 makes the balance exact.
    "W": {"project": True},
}


def _mechanistic_layer(arch: str, problem: FluxProblem, n_iter: int | None) -> nn.Module:
    from kinflux.flux import layers

    kind = arch.removeprefix("AMN-")
    n_iter = n_iter or DEFAULT_AMN_ITERATIONS[kind]
    common = {"n_iter": n_iter, **AMN_LAYER_OPTIONS[kind]}
    cls = {"W": layers.WLayer, "QP": layers.QPLayer, "LP": layers.LPLayer}.get(kind)
    return (cls or layers.UBLayer)(problem, **common)
