"""The reservoir's trainable part: compositions -> uptake levels, and its loss terms.

:class:`UptakeHead` is the published head (``n_variable -> hidden relu (dropout) ->
n_variable relu``, masked by presence), optionally widened with outputs for some
*fixed* compounds (always present, so never masked): kinflux's ``head_fixed`` option
of :class:`~kinflux.flux.reservoir.Reservoir` lets the head set the bounds of the
fixed carbon sources too (:func:`carbon_sources`), which removes the growth floor that
those fixed compounds impose on every FBA-based model of EXP110.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from kinflux import KinfluxError

__all__ = [
    "ReservoirError",
    "UptakeHead",
    "bounds_to_cobra",
    "carbon_sources",
    "head_fixed_ids",
    "constraint_penalty",
]


class ReservoirError(KinfluxError):
    """A reservoir cannot be built, fitted or read as asked."""


class UptakeHead(nn.Module):
    """``n_members`` independent heads: 0/1 compositions -> uptake levels >= 0.

    Member ``e`` maps ``c`` ``(batch, n_variable)`` to
    ``relu(W2_e dropout(relu(W1_e c + b1_e)) + b2_e) * [c, 1]``: the first
    ``n_variable`` outputs are masked by presence (absent compounds get 0), the last
    ``n_fixed`` (fixed compounds, always present) are not. Members are stacked so that
    many heads (e.g. every cross-validation fold) train in one batched pass; each sees
    only its own samples, and Adam's updates are per weight, so members do not
    interact.

    Args:
        n_variable: compounds of the composition (inputs, and the first outputs).
        hidden: hidden units (0: no hidden layer, a linear map of the composition).
        dropout: dropout probability after the hidden layer.
        n_members: stacked heads.
        n_fixed: extra outputs for always-present compounds (0: the published head).

    Example:
        >>> head = UptakeHead(3, hidden=4, n_fixed=2).eval()
        >>> out = head(torch.tensor([[1.0, 0.0, 1.0]]))
        >>> tuple(out.shape), float(out[0, 1].detach())
        ((1, 5), 0.0)
    """

    def __init__(
        self,
        n_variable: int,
        hidden: int = 500,
        dropout: float = 0.25,
        n_members: int = 1,
        n_fixed: int = 0,
    ) -> None:
        super().__init__()
        E, n_out = int(n_members), int(n_variable) + int(n_fixed)

        def uniform(*shape: int, fan_in: int) -> nn.Parameter:  # nn.Linear's default init
            bound = 1.0 / fan_in**0.5
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        self.n_fixed = int(n_fixed)
        self.n_variable = int(n_variable)
        self.hidden = int(hidden)
        width = self.hidden or self.n_variable
        if self.hidden:
            self.W1 = uniform(E, n_variable, hidden, fan_in=n_variable)
            self.b1 = uniform(E, 1, hidden, fan_in=n_variable)
        self.W2 = uniform(E, width, n_out, fan_in=width)
        self.b2 = uniform(E, 1, n_out, fan_in=width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """``(n_members, batch, n_variable)`` (or ``(batch, n_variable)`` for one member)
        -> levels ``(..., n_variable + n_fixed)`` (dimensionless; times the reservoir's
        ``bound_scale`` for mmol/gDW/h)."""
        single = c.ndim == 2
        if single:
            c = c.unsqueeze(0)
        h = self.dropout(torch.relu(torch.baddbmm(self.b1, c, self.W1))) if self.hidden else c
        mask = c
        if self.n_fixed:
            mask = torch.cat([c, c.new_ones(*c.shape[:-1], self.n_fixed)], dim=-1)
        out = torch.relu(torch.baddbmm(self.b2, h, self.W2)) * mask
        return out.squeeze(0) if single else out

    def member(self, e: int) -> UptakeHead:
        """Member ``e`` alone, as a one-member head (eval mode)."""
        return self.members([e])

    def members(self, ids: Sequence[int]) -> UptakeHead:
        """Members ``ids`` as a stack of their own, in that order (eval mode)."""
        index = torch.as_tensor(list(ids), dtype=torch.long)
        sub = UptakeHead(self.n_variable, self.hidden, self.dropout.p, len(index), self.n_fixed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                getattr(sub, name).copy_(p[index])
        return sub.eval()


def carbon_sources(network: Any, inflow_ids: Sequence[str]) -> list[str]:
    """The inflows (``EX_<met>_e_i``) among ``inflow_ids`` whose compound is organic.

    Organic: the metabolite's formula (from the network's COBRApy model) has both
    carbon and hydrogen, so CO2 and the salts are left out. For EXP110's fixed
    compounds on iJO1366: glycerol, L-alanine, L-proline, L-threonine and glycine.

    Example:
        >>> from kinflux.flux.network import Network
        >>> net = Network.load("e_coli_core")
        >>> carbon_sources(net, ["EX_glc__D_e_i", "EX_co2_e_i", "EX_nh4_e_i"])
        ['EX_glc__D_e_i']
    """
    import re

    out = []
    for rid in inflow_ids:
        exchange = network.model.reactions.get_by_id(str(rid).removesuffix("_i"))
        formula = "".join(m.formula or "" for m in exchange.metabolites)
        elements = set(re.findall(r"[A-Z][a-z]?", formula))
        if {"C", "H"} <= elements:
            out.append(str(rid))
    return out


def head_fixed_ids(
    spec: str | Sequence[str] | None,
    network: Any,
    medium_ids: Sequence[str],
    variable_ids: Sequence[str],
) -> list[str]:
    """The fixed compounds a head sets, from a ``head_fixed`` specification.

    Args:
        spec: ``None`` or empty (published head: none), ``"carbon"`` (the organic fixed
            compounds, :func:`carbon_sources`) or inflow ids.
        network: the network (for the formulas of ``"carbon"``).
        medium_ids: the medium's inflows; those not in ``variable_ids`` are fixed.
        variable_ids: the composition columns (inflow ids).

    Raises:
        ReservoirError: an unknown preset or ids that are not fixed compounds.

    Example:
        >>> head_fixed_ids(["EX_b_e_i"], None, ["EX_a_e_i", "EX_b_e_i"], ["EX_a_e_i"])
        ['EX_b_e_i']
    """
    fixed_ids = [r for r in medium_ids if r not in set(variable_ids)]
    if spec is None or (not isinstance(spec, str) and len(spec) == 0):
        return []
    if isinstance(spec, str):
        if spec != "carbon":
            raise ReservoirError(
                f"head_fixed must be None, 'carbon' or a list of inflow ids, got {spec!r}"
            )
        return carbon_sources(network, fixed_ids)
    bad = [str(r) for r in spec if r not in set(fixed_ids)]
    if bad:
        raise ReservoirError(
            f"head_fixed id(s) {', '.join(bad)} are not fixed compounds of the medium; "
            "choose among its inflows that are not composition columns"
        )
    return [str(r) for r in spec]


def constraint_penalty(V: torch.Tensor, x: torch.Tensor, cons: Any) -> torch.Tensor:
    """Mean squared constraint residuals of the AMN loss (mass balance, bounds, signs).

    Args:
        V: the frozen AMN's split fluxes ``(batch, n_reactions)`` (mmol/gDW/h).
        x: the medium bounds it was given ``(batch, n_medium)`` (mmol/gDW/h).
        cons: :class:`kinflux.flux.losses.Constraints` of the frozen AMN's problem.
    """
    from kinflux.flux.losses import residuals

    r = residuals(V, x, cons, "UB")
    return (
        r.SV.square().sum(1).mean() / max(1, r.SV.shape[1])
        + r.inflow.square().sum(1).mean() / max(1, r.inflow.shape[1])
        + (r.lower.square().sum(1) + r.upper.square().sum(1)).mean() / V.shape[1]
    )


def bounds_to_cobra(bounds: pd.DataFrame) -> pd.DataFrame:
    """Uptake bounds ``(n, n_medium)`` with inflow-id columns -> a COBRApy medium table.

    Columns become exchange ids (``EX_<met>_e``, the ``_i`` suffix stripped); values
    stay the uptake bounds (mmol/gDW/h, >= 0). A row is a complete medium for
    COBRApy: ``model.medium = row.to_dict()`` opens these exchanges at these bounds and
    closes every other uptake.

    Example:
        >>> b = pd.DataFrame({"EX_a_e_i": [2.2], "EX_b_e_i": [0.0]}, index=["m0"])
        >>> bounds_to_cobra(b).loc["m0"].to_dict()
        {'EX_a_e': 2.2, 'EX_b_e': 0.0}
    """
    out = bounds.copy()
    out.columns = [str(c).removesuffix("_i") for c in bounds.columns]
    return out.astype(float)
