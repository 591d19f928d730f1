"""Packing reactions of one mechanism into index tensors for batched rate laws.

A concentration layout holds the variables, then the constants, then a 1 (padding);
a parameter layout holds the parameters, then a 1. For each mechanism present, the
reactions are packed into one :class:`~kinflux.kinetic.ratelaws.PackedGroup`: species
and Km columns per substrate/product slot (padded to the widest reaction), modifiers,
and the vmax, Keq and Hill columns.
"""

from __future__ import annotations

import numpy as np
import torch

from kinflux.kinetic.ratelaws import MECHANISMS, MOD_DSM, MOD_FOSM, MODIFIERS, PackedGroup
from kinflux.kinetic.reaction import ReactionSpec

__all__ = ["pack_groups"]


def pack_groups(
    reactions: list[ReactionSpec],
    variables: list[str],
    constants: list[str],
    parameter_names: list[str],
) -> list[PackedGroup]:
    """One :class:`PackedGroup` per mechanism, in the order of ``MECHANISMS``.

    Args:
        reactions: the model's reactions.
        variables, constants: species of the concentration layout, in order.
        parameter_names: columns of the parameter layout.

    Returns:
        The packed groups (index tensors long, coefficient tensors float64).
    """
    pidx = {n: i for i, n in enumerate(parameter_names)}
    nv, nc = len(variables), len(constants)
    lay = {s: i for i, s in enumerate(variables)}
    lay.update({s: nv + i for i, s in enumerate(constants)})
    pad_c, pad_p = nv + nc, len(parameter_names)
    groups = []
    for mech in MECHANISMS:
        rs = [(j, r) for j, r in enumerate(reactions) if r.mechanism == mech]
        if not rs:
            continue
        ns = max(len(r.substrates) for _, r in rs)
        npr = max(len(r.products) for _, r in rs)
        nm = max(len(r.modifiers) for _, r in rs)
        R = len(rs)
        a = {
            "rxn": np.array([j for j, _ in rs]),
            "sub_sp": np.full((R, ns), pad_c),
            "sub_n": np.zeros((R, ns)),
            "sub_on": np.zeros((R, ns)),
            "sub_km": np.full((R, ns), pad_p),
            "prod_sp": np.full((R, npr), pad_c),
            "prod_n": np.zeros((R, npr)),
            "prod_on": np.zeros((R, npr)),
            "prod_km": np.full((R, npr), pad_p),
            "mod_sp": np.full((R, nm), pad_c),
            "mod_n": np.zeros((R, nm)),
            "mod_kind": np.zeros((R, nm), dtype=np.int64),
            "vmax": np.full(R, pad_p),
            "keq": np.full(R, pad_p),
            "hill": np.full(R, pad_p),
        }
        for i, (_, r) in enumerate(rs):
            kinds = r.parameter_kinds()
            for pre, slots in (("sub", r.substrates), ("prod", r.products)):
                for k, (slot, s, n) in enumerate(slots):
                    a[f"{pre}_sp"][i, k] = lay[s]
                    a[f"{pre}_n"][i, k] = n
                    a[f"{pre}_on"][i, k] = 1.0
                    if f"km_{slot}" in kinds:
                        a[f"{pre}_km"][i, k] = pidx[f"km_{slot}_{r.name}"]
            for k, (mcls, s, n) in enumerate(r.modifiers):
                a["mod_sp"][i, k] = lay[s]
                a["mod_n"][i, k] = n
                kind = MOD_DSM if mcls == MODIFIERS[0] else MOD_FOSM
                a["mod_kind"][i, k] = kind
            for key, pk in (
                ("vmax", "vmax_forward"),
                ("keq", "k_equilibrium"),
                ("hill", "hill_coefficient"),
            ):
                if pk in kinds:
                    a[key][i] = pidx[f"{pk}_{r.name}"]
        groups.append(
            PackedGroup(
                mech,
                **{
                    k: torch.as_tensor(v, dtype=torch.float64)
                    if v.dtype.kind == "f"
                    else torch.as_tensor(v, dtype=torch.long)
                    for k, v in a.items()
                },
            )
        )
    return groups
