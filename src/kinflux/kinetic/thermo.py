"""Thermodynamics of the rate laws: ln Q as a linear function of ln concentrations.

Every reversible rate law of kinflux is ``v = (F - B/Keq) / D``; its mass-action ratio
``Q = B/F`` is a monomial in the concentrations (Km cancel), so ``ln Q = N @ ln x + a``.
The sampler (:mod:`kinflux.kinetic.sampling`) turns the sign rule ``ln Q - ln Keq < 0``
for a forward flux into linear inequalities on ``y = ln x`` with it.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kinflux.kinetic.model import KineticModel

__all__ = ["log_q_exponents"]


def log_q_exponents(model: KineticModel) -> tuple[list[int], np.ndarray, np.ndarray]:
    """ln Q of the reversible reactions as linear functions of ln(concentration, uM).

    Returns ``(reactions, N, a)``: reaction indices ``(n_rev,)``, exponents ``N``
    ``(n_rev, n_species)`` over ``model.species`` and offsets ``a`` ``(n_rev,)`` with
    ``ln Q = N @ ln x + a``, read from the engine's rate laws (Km cancel in Q).
    """
    from kinflux.kinetic.parameterization import _keq_layout, model_log_mass_action_ratio

    kcols, krxn = _keq_layout(model)
    sp = list(model.species)
    nsp = len(sp)
    p = model.default_parameters().clone()
    p[torch.tensor(model.parameter_indices("km"), dtype=torch.long)] = 1.0
    for c in model.parameter_indices("hill_coefficient"):
        if math.isnan(float(p[c])):
            p[c] = 1.0
    for s in model.constants:
        p[model.parameter_index(s)] = 1.0
    P = p.expand(nsp + 1, -1).clone()
    X = torch.ones(nsp + 1, model.n_variables, dtype=torch.float64)
    vidx = {s: i for i, s in enumerate(model.variables)}
    for k, s in enumerate(sp):
        if s in vidx:
            X[k + 1, vidx[s]] = math.e
        else:
            P[k + 1, model.parameter_index(s)] = math.e
    lq = model_log_mass_action_ratio(model, X, P).numpy()  # (nsp + 1, n_rev)
    a = lq[0]
    N = (lq[1:] - a).T
    Nr = np.round(N * 2.0) / 2.0
    N = np.where(np.abs(N - Nr) < 1e-6, Nr, N)
    return [int(j) for j in krxn], N, a
