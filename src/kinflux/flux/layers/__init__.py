"""Mechanistic layers: batched torch modules that turn media into fluxes.

Every layer is built from a :class:`~kinflux.flux.problem.FluxProblem` (network,
medium inflow ids, open inflows, mode) and is called as

    V = layer(x, v0=None, n_iter=None)      # x (batch, n_medium), V (batch, n_reactions)

with fluxes in mmol/gDW/h. Gradients flow to ``x``, ``v0`` and the layer's parameters.
One module per solver family:

- :class:`QPLayer` (:mod:`.qp`): gradient descent on the mechanistic loss (plus an
  optional objective).
- :class:`LPLayer` (RNN-EB) and :class:`UBLayer` (RNN-UB) (:mod:`.primal_dual`):
  primal-dual LP networks.
- :class:`WLayer` (RNN-W, :mod:`.w`): V2M/M2V propagation with learnable branching
  weights.
- :class:`IterativeLayer`, :class:`StepRule` (:mod:`.base`): the shared loop.

The shared constraints and the AMN loss live in :mod:`kinflux.flux.losses`.

Example:
    >>> import torch
    >>> from kinflux.flux.network import Network
    >>> from kinflux.flux.problem import FluxProblem
    >>> net = Network.load("e_coli_core")
    >>> layer = UBLayer(FluxProblem(net, ["EX_glc__D_e_i"], open_inflows=None), n_iter=10)
    >>> tuple(layer(torch.tensor([[10.0]])).shape)
    (1, 154)
"""

from __future__ import annotations

from kinflux.flux.layers.base import IterativeLayer, StepRule
from kinflux.flux.layers.primal_dual import PUBLISHED_DT, LPLayer, UBLayer
from kinflux.flux.layers.qp import QPLayer
from kinflux.flux.layers.w import WLayer
from kinflux.flux.losses import (
    Constraints,
    LayerError,
    Residuals,
    mechanistic_loss,
    residuals,
)

__all__ = [
    "QPLayer",
    "LPLayer",
    "UBLayer",
    "WLayer",
    "IterativeLayer",
    "StepRule",
    "Constraints",
    "Residuals",
    "LayerError",
    "PUBLISHED_DT",
    "mechanistic_loss",
    "residuals",
]
