"""Blocked reactions: split reactions that carry no net flux in any medium.

Used by :attr:`kinflux.flux.problem.FluxProblem.unblocked_ids` to build mechanistic
layers on the smaller unblocked subnetwork (exact: a blocked flux is 0 in every
feasible solution).

Example:
    >>> from kinflux.flux.network import Network
    >>> from kinflux.flux.problem import FluxProblem
    >>> net = Network.load("e_coli_core")
    >>> p = FluxProblem(net, ["EX_glc__D_e_i", "EX_o2_e_i", "EX_nh4_e_i", "EX_pi_e_i"], {})
    >>> "EX_fru_e_i" in find_blocked_reactions(p)
    True
"""

from __future__ import annotations

import numpy as np

from kinflux.flux.network import DEFAULT_BOUND
from kinflux.flux.problem import FluxProblem, ProblemError
from kinflux.highs import sparse_lp

__all__ = ["find_blocked_reactions"]


def find_blocked_reactions(problem: FluxProblem, bound: float = DEFAULT_BOUND) -> list[str]:
    """Split reactions that carry no net flux in any medium over ``problem.medium_ids``.

    The medium inflows are opened to ``bound`` (mmol/gDW/h), the problem's open
    inflows to their values and every other inflow is closed (``open_inflows=None``:
    the network's own bounds for them), as in :class:`~kinflux.flux.fba.FluxSolver`.
    Split reaction ``j`` is
    blocked when its net flux ``V_j - V_partner`` (``partner``: the other direction of
    the same original reaction, if any) cannot be positive; the futile pair
    ``V_for = V_rev`` does not count. Instead of two LPs per reaction (flux variability
    analysis), each LP maximizes ``sum_j min(V_j - V_partner, 1)`` over the reactions
    not yet seen active, and repeats until it activates none. An original reaction is
    blocked (COBRApy's ``find_blocked_reactions``) when all its split parts are.

    Returns:
        Blocked split reaction ids, in network order.
    """
    import highspy
    import scipy.sparse as sp

    network = problem.network
    n, m = network.n_reactions, network.n_metabolites
    upper = problem.inflow_upper_bounds()
    upper[network.indices(list(problem.medium_ids))] = bound
    lower = network.lower_bounds.astype(np.float64)
    partner = np.arange(n)
    by_original: dict[str, list[int]] = {}
    for j, sr in enumerate(network.reactions):
        by_original.setdefault(sr.original_id, []).append(j)
    for parts in by_original.values():
        if len(parts) == 2:
            partner[parts[0]], partner[parts[1]] = parts[1], parts[0]
    paired = partner != np.arange(n)
    eye = sp.identity(n, format="csr")  # rows t_j - V_j <= 0
    A = sp.vstack(
        [sp.hstack([sp.csr_matrix(network.S), sp.csr_matrix((m, n))]), sp.hstack([-eye, eye])]
    )
    h = sparse_lp(
        A,
        np.concatenate([np.zeros(n), np.ones(n)]),
        (
            np.concatenate([lower, np.zeros(n)]),
            np.concatenate([np.maximum(upper, lower), np.ones(n)]),
        ),
        (np.concatenate([np.zeros(m), np.full(n, -highspy.kHighsInf)]), np.zeros(m + n)),
        maximize=True,
    )
    t_idx = np.arange(n, 2 * n, dtype=np.int32)

    def solve() -> np.ndarray:
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise ProblemError(
                f"model '{network.name}' has no feasible flux distribution with the medium "
                "inflows open; check the medium ids and the reaction bounds"
            )
        return np.asarray(h.getSolution().col_value[:n])

    # 1. reactions that can carry any flux: repeat max sum_j min(V_j, 1) over the
    #    reactions not yet seen active (a futile pair V_for = V_rev counts here)
    candidate = upper > 0
    proven = np.zeros(n, dtype=bool)  # net flux V_j - V_partner > 0 seen
    while True:
        h.changeColsBounds(n, t_idx, np.zeros(n), candidate.astype(np.float64))
        v = solve()
        proven |= v - v[partner] * paired > 1e-9
        active = candidate & (v > 1e-9)
        if not active.any():
            break
        candidate &= ~active
    blocked = candidate | (upper <= 0)
    # 2. reversible pairs whose net flux was never seen positive: one LP per direction
    h.changeColsBounds(n, t_idx, np.zeros(n), np.zeros(n))
    for j in np.flatnonzero(paired & ~blocked & ~proven):
        if proven[j]:
            continue
        cost = np.zeros(2 * n)
        cost[j], cost[partner[j]] = 1.0, -1.0
        h.changeColsCost(2 * n, np.arange(2 * n, dtype=np.int32), cost)
        v = solve()
        proven |= v - v[partner] * paired > 1e-9
        if not proven[j]:
            blocked[j] = True

    return [network.reaction_ids[j] for j in np.flatnonzero(blocked)]
