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
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from kinflux import KinfluxError
from kinflux.flux.network import Network

__all__ = ["ARCHITECTURES", "PriorNetwork", "FluxModel", "build_flux_model"]

ARCHITECTURES = ("ANN-Dense", "ANN-SV", "AMN-QP", "AMN-LP", "AMN-UB", "AMN-W")


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


def build_flux_model(
    arch: str,
    network: Network,
    medium_ids: list[str],
    mode: str = "UB",
    hidden: Sequence[int] = (500,),
    dropout: float = 0.25,
    n_iter: int | None = None,
    open_inflows: dict[str, float] | None = None,
) -> FluxModel:
    """Assemble a :class:`FluxModel` of architecture ``arch`` for ``network``.

    ``n_iter`` is the number of mechanistic iterations per forward pass (layer default
    when None); ``mode`` is ``"UB"`` (media are upper bounds) or ``"EB"`` (exact uptakes).
    """
    if arch not in ARCHITECTURES:
        raise KinfluxError(
            f"unknown architecture '{arch}'; choose one of {', '.join(ARCHITECTURES)}"
        )
    prior = PriorNetwork(len(medium_ids), network.n_reactions, hidden, dropout)
    mech = None
    if arch.startswith("AMN-"):
        mech = _mechanistic_layer(arch, network, medium_ids, mode, n_iter, open_inflows)
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


def _mechanistic_layer(
    arch: str,
    network: Network,
    medium_ids: list[str],
    mode: str,
    n_iter: int | None,
    open_inflows: dict[str, float] | None,
) -> nn.Module:
    from kinflux.flux import layers

    kind = arch.removeprefix("AMN-")
    n_iter = n_iter or DEFAULT_AMN_ITERATIONS[kind]
    common = {"n_iter": n_iter, **AMN_LAYER_OPTIONS[kind]}
    if kind == "W":
        return layers.WLayer(network, medium_ids, mode=mode, **common)
    common["open_inflows"] = open_inflows
    if kind == "QP":
        return layers.QPLayer(network, medium_ids, mode=mode, **common)
    if kind == "LP":
        return layers.LPLayer(network, medium_ids, mode=mode, **common)
    return layers.UBLayer(network, medium_ids, **common)
