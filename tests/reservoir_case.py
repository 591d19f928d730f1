"""Shared case of the reservoir tests: a small e_coli_core medium design and an
independent COBRApy check of growth under given exchange bounds."""

from __future__ import annotations

import numpy as np

#: fixed and variable compounds of the small design (e_coli_core exchanges, "_i" ids)
FIXED = ["EX_o2_e_i", "EX_nh4_e_i", "EX_pi_e_i", "EX_h2o_e_i", "EX_h_e_i"]
VARIABLE = ["EX_glc__D_e_i", "EX_fru_e_i", "EX_succ_e_i", "EX_pyr_e_i"]
#: every non-empty 0/1 composition of the four variable compounds, (15, 4)
COMPS = np.array(
    [[a, b, c, d] for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)][1:], float
)


def cobra_pfba_growth(model, medium: dict[str, float]) -> float:  # noqa: ANN001
    """Objective value (growth, h^-1) of COBRApy's pFBA with ``model.medium = medium``."""
    import cobra

    with model:
        model.medium = medium
        sol = cobra.flux_analysis.pfba(model)
        return sum(
            sol.fluxes[r.id] * c
            for r, c in cobra.util.solver.linear_reaction_coefficients(model).items()
        )


def small_frozen(cache, **options):  # noqa: ANN001, ANN201
    """A tiny frozen AMN of the small design, cached in ``cache``: ``(network, design, amn,
    subnetwork, amn_params)``; ``options`` go to :func:`kinflux.flux.reservoir.frozen_amn`
    (e.g. ``drawn_fixed``)."""
    from kinflux.flux.experiments import MediumDesign
    from kinflux.flux.network import Network
    from kinflux.flux.reservoir import frozen_amn

    net = Network.load("e_coli_core")
    design = MediumDesign(tuple(FIXED + VARIABLE), tuple(VARIABLE), 2.2)
    params = {"epochs": 3, "hidden": (16,), "patience": 0, "n_threads": 1}
    amn, sub = frozen_amn(
        cache, net, design, COMPS, {}, per_composition=4, amn_params=params, **options
    )
    return net, design, amn, sub, params
