"""Parameter helpers: Vmax back-calculation from a steady state.

ORACLE-style sampling fixes every Km (and Keq from thermodynamics) and then chooses each
Vmax so that the rate equals the reference flux: rates are linear in Vmax, so
``vmax = v_ss / rate(vmax = 1)``.
"""

from __future__ import annotations

import torch

from kinflux.kinetic.model import KineticModel

__all__ = ["backcalculate_vmax"]


def backcalculate_vmax(
    model: KineticModel, x: torch.Tensor, fluxes: torch.Tensor, params: torch.Tensor
) -> torch.Tensor:
    """Parameters with every ``vmax_forward`` set so that ``rates(x) == fluxes``.

    ``x``: ``(n_variables,)`` or ``(batch, n_variables)`` uM; ``fluxes``: ``(n_reactions,)``
    or ``(batch, n_reactions)`` uM/h; ``params``: ``(batch, n_params)`` or ``(n_params,)``
    with Km, Keq, Hill coefficients and constant concentrations set. Returns a
    ``(batch, n_params)`` copy.
    """
    p = params.reshape(-1, model.n_params).clone()
    if x.dim() == 2:
        p = p.expand(max(p.shape[0], x.shape[0]), -1).clone()
    cols = torch.tensor(model.parameter_indices("vmax_forward"))
    rxn = torch.tensor(
        [model.reaction_names.index(model.parameter_names[c][len("vmax_forward_") :]) for c in cols]
    )
    p[:, cols] = 1.0
    unit = model.rates(x, p)[:, rxn]
    p[:, cols] = fluxes.reshape(-1, model.n_reactions)[:, rxn].to(p) / unit
    return p
