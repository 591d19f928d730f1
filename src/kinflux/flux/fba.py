"""Fast FBA and parsimonious FBA (pFBA) on a persistent HiGHS LP.

The split network is loaded once into two HiGHS instances:

1. *growth*: ``max c.v  s.t.  S v = 0,  lb <= v <= ub``;
2. *parsimony*: ``min sum(v)  s.t.  S v = 0,  c.v >= growth,  lb <= v <= ub``.

Between media only the inflow upper bounds (and the growth row) change, so each
solve restarts from the previous optimal basis. This is the same two-step problem
as ``cobra.flux_analysis.pfba`` with ``fraction_of_optimum=1`` (on the split network
the sum of fluxes is exactly COBRApy's sum of forward and reverse variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kinflux import KinfluxError
from kinflux.flux.network import DEFAULT_BOUND, Network
from kinflux.highs import quiet_highs

__all__ = [
    "FluxSolver",
    "PFBAResult",
    "SolverError",
    "find_essential_inflows",
    "cobra_exchange_bounds",
]

#: Growth (h^-1) at or below which a medium counts as "no growth".
ZERO_GROWTH = 1e-9


class SolverError(KinfluxError):
    """The LP solver failed in an unexpected way."""


@dataclass
class PFBAResult:
    """Outcome of one pFBA solve.

    Attributes:
        status: ``"optimal"``, ``"infeasible"`` or ``"zero_growth"``.
        growth: optimal objective (h^-1); NaN when infeasible.
        fluxes: split fluxes ``(n_reactions,)`` in mmol/gDW/h, or None unless optimal.
    """

    status: str
    growth: float
    fluxes: np.ndarray | None

    @property
    def total_flux(self) -> float:
        """Sum of all split fluxes (mmol/gDW/h), the pFBA objective."""
        return float(self.fluxes.sum()) if self.fluxes is not None else float("nan")


def _sparse_lp(
    A,
    cost: np.ndarray,
    col_bounds: tuple[np.ndarray, np.ndarray],
    row_bounds: tuple[np.ndarray, np.ndarray],
    maximize: bool = False,
    tolerance: float | None = None,
):
    """A quiet HiGHS instance holding the LP with scipy-sparse matrix ``A`` (rows x cols)."""
    import highspy

    A = A.tocsc()
    tol = (
        {}
        if tolerance is None
        else {"primal_feasibility_tolerance": tolerance, "dual_feasibility_tolerance": tolerance}
    )
    h = quiet_highs(**tol)
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = A.shape
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_, lp.col_upper_ = (np.asarray(b, dtype=np.float64) for b in col_bounds)
    lp.row_lower_, lp.row_upper_ = (np.asarray(b, dtype=np.float64) for b in row_bounds)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h.passModel(lp)
    return h


def _new_highs(
    network: Network, cost: np.ndarray, maximize: bool, extra_row: bool, tolerance: float = 1e-9
):
    import highspy

    # LPs: tighter than HiGHS' 1e-7 defaults so that ||S v|| stays well below 1e-6.
    h = quiet_highs(primal_feasibility_tolerance=tolerance, dual_feasibility_tolerance=tolerance)
    h.setOptionValue("log_to_console", False)
    lp = highspy.HighsLp()
    S = network.S
    rows = [S]
    if extra_row:
        rows.append(network.objective[None, :])
    A = np.vstack(rows)
    n_row, n_col = A.shape
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = network.lower_bounds.astype(np.float64)
    lp.col_upper_ = network.upper_bounds.astype(np.float64)
    row_lo = np.zeros(n_row)
    row_hi = np.zeros(n_row)
    if extra_row:
        row_lo[-1] = -highspy.kHighsInf
        row_hi[-1] = highspy.kHighsInf
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    nz_cols = [np.flatnonzero(A[:, j]) for j in range(n_col)]
    start = np.concatenate([[0], np.cumsum([len(c) for c in nz_cols])]).astype(np.int32)
    index = np.concatenate(nz_cols).astype(np.int32)
    value = np.concatenate([A[c, j] for j, c in enumerate(nz_cols)]).astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h.passModel(lp)
    return h


class FluxSolver:
    """Persistent FBA/pFBA solver for one :class:`Network`.

    Args:
        network: the split network.
        medium_ids: inflow ids set by :meth:`set_medium` (e.g. a guide's ``inflow_ids``).
        open_inflows: inflows kept open in every medium, ``{id: upper bound}``
            (mmol/gDW/h); all other inflows outside ``medium_ids`` are closed.
            ``None`` keeps the network's own bounds for inflows outside ``medium_ids``.

    Example:
        >>> net = Network.load("e_coli_core")
        >>> solver = FluxSolver(net)
        >>> round(solver.optimize(), 4)
        0.8739
    """

    def __init__(
        self,
        network: Network,
        medium_ids: list[str] | None = None,
        open_inflows: dict[str, float] | None = None,
    ) -> None:
        import highspy

        self._highspy = highspy
        self.network = network
        self.medium_ids = list(medium_ids or [])
        self._medium_idx = network.indices(self.medium_ids).astype(np.int32)
        self._growth = _new_highs(network, network.objective, maximize=True, extra_row=False)
        ones = np.ones(network.n_reactions)
        self._pfba = _new_highs(network, ones, maximize=False, extra_row=True)
        self._growth_row = network.n_metabolites
        base_ub = network.inflow_upper_bounds(open_inflows)
        self._upper = base_ub.copy()  # current upper bounds of every solver
        self._nearest: Any = None
        self._set_upper(np.arange(network.n_reactions, dtype=np.int32), base_ub)

    # ------------------------------------------------------------------ bounds
    def _set_upper(self, idx: np.ndarray, ub: np.ndarray) -> None:
        lb = self.network.lower_bounds[idx]
        ub = np.maximum(np.asarray(ub, dtype=np.float64), lb)
        self._upper[idx] = ub
        for h in (self._growth, self._pfba, self._nearest):
            if h is not None:
                h.changeColsBounds(len(idx), idx.astype(np.int32), lb.astype(np.float64), ub)

    def set_medium(self, values: np.ndarray) -> None:
        """Set the upper bounds (mmol/gDW/h) of the medium inflows, shape ``(n_medium,)``."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(self.medium_ids),):
            raise SolverError(
                f"medium vector has shape {values.shape}, expected ({len(self.medium_ids)},)"
            )
        self._set_upper(self._medium_idx, values)

    def set_bounds(self, reaction_ids: list[str], upper: np.ndarray) -> None:
        """Set upper bounds of arbitrary split reactions (e.g. 0 for a knockout)."""
        self._set_upper(self.network.indices(reaction_ids).astype(np.int32), np.asarray(upper))

    # ------------------------------------------------------------------ solves
    def _run(self, h) -> bool:
        h.run()
        status = h.getModelStatus()
        ok = self._highspy.HighsModelStatus.kOptimal
        if status == ok:
            return True
        # A stale basis can occasionally confuse the simplex; retry from scratch once.
        h.clearSolver()
        h.run()
        return h.getModelStatus() == ok

    def optimize(self) -> float:
        """Maximal growth (h^-1) under the current bounds; NaN if infeasible."""
        if not self._run(self._growth):
            return float("nan")
        return float(self._growth.getInfo().objective_function_value)

    def pfba(self, values: np.ndarray | None = None) -> PFBAResult:
        """pFBA for one medium (or the current bounds when ``values`` is None)."""
        if values is not None:
            self.set_medium(values)
        growth = self.optimize()
        if not np.isfinite(growth):
            return PFBAResult("infeasible", float("nan"), None)
        if growth <= ZERO_GROWTH:
            return PFBAResult("zero_growth", growth, None)
        row = self._growth_row
        self._pfba.changeRowBounds(row, growth * (1.0 - 1e-9), self._highspy.kHighsInf)
        if not self._run(self._pfba):
            return PFBAResult("infeasible", growth, None)
        v = np.asarray(self._pfba.getSolution().col_value, dtype=np.float64)
        v = np.clip(v, self.network.lower_bounds, None)
        return PFBAResult("optimal", float(v @ self.network.objective), v)

    def nearest_feasible(
        self,
        v0: np.ndarray,
        values: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Flux distribution closest to ``v0`` that satisfies every constraint.

        Solves ``min sum_j w_j |V_j - v0_j|`` s.t. ``S V = 0`` and the current bounds
        (medium ``values`` first, when given) as an LP with HiGHS (``V - v0 = d+ - d-``,
        ``d+, d- >= 0``); the weighted L1 distance changes as few fluxes as it can, and,
        unlike HiGHS' QP solver, stays fast on genome-scale models. Fluxes in
        mmol/gDW/h, shape ``(n_reactions,)``; ``weights`` ``w`` (default 1), e.g.
        ``1 / sd`` of each flux to measure distances in units of its spread. When the
        bounds force zero growth (a lethal knockout), so does the result. Raises
        :class:`SolverError` when the constraints are infeasible.
        """
        v0 = np.asarray(v0, dtype=np.float64)
        n = self.network.n_reactions
        if v0.shape != (n,):
            raise SolverError(f"v0 has shape {v0.shape}, expected ({n},)")
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (n,) or not np.all(w > 0):
            raise SolverError(f"weights must be positive with shape ({n},)")
        if self._nearest is None:
            self._nearest = self._distance_lp()
        if values is not None:
            self.set_medium(values)
        h = self._nearest
        m = self.network.n_metabolites
        cols = np.arange(n, 3 * n, dtype=np.int32)
        h.changeColsCost(2 * n, cols, np.concatenate([w, w]))
        rows = np.arange(m, m + n, dtype=np.int32)
        h.changeRowsBounds(n, rows, v0, v0)
        if not self._run(h):
            raise SolverError(
                "no flux distribution satisfies the constraints (medium and bounds); "
                "check the medium values and knocked-out reactions"
            )
        v = np.asarray(h.getSolution().col_value[:n], dtype=np.float64)
        return np.clip(v, self.network.lower_bounds, None)

    def _distance_lp(self):
        """HiGHS LP over ``[V, d+, d-]``: ``S V = 0``, ``V - d+ + d- = v0`` (set per call)."""
        import highspy
        import scipy.sparse as sp

        net = self.network
        n, m = net.n_reactions, net.n_metabolites
        eye = sp.identity(n, format="csr")
        A = sp.vstack(
            [
                sp.hstack([sp.csr_matrix(net.S), sp.csr_matrix((m, 2 * n))]),
                sp.hstack([eye, -eye, eye]),
            ]
        )
        lower = net.lower_bounds.astype(np.float64)
        inf = highspy.kHighsInf
        return _sparse_lp(
            A,
            np.concatenate([np.zeros(n), np.ones(2 * n)]),
            (
                np.concatenate([lower, np.zeros(2 * n)]),
                np.concatenate([np.maximum(self._upper, lower), np.full(2 * n, inf)]),
            ),
            (np.zeros(m + n), np.zeros(m + n)),
            tolerance=1e-9,
        )


def find_essential_inflows(
    network: Network, candidates: list[str] | None = None, open_bound: float = DEFAULT_BOUND
) -> list[str]:
    """Inflows without which growth is zero when every other inflow is open.

    Args:
        network: split network.
        candidates: inflows to test (default: all inflows).
        open_bound: upper bound (mmol/gDW/h) of the open inflows.

    Returns:
        Ids of essential inflows, in network order.
    """
    all_open = {rid: open_bound for rid in network.inflow_ids}
    solver = FluxSolver(network, medium_ids=network.inflow_ids, open_inflows=all_open)
    base = np.full(len(network.inflow_ids), open_bound)
    if not solver.optimize() > ZERO_GROWTH:
        raise SolverError(f"model '{network.name}' cannot grow even with every inflow open")
    out = []
    for rid in candidates or network.inflow_ids:
        pos = network.inflow_ids.index(rid)
        trial = base.copy()
        trial[pos] = 0.0
        solver.set_medium(trial)
        g = solver.optimize()
        if not (np.isfinite(g) and g > ZERO_GROWTH):
            out.append(rid)
    return out


def cobra_exchange_bounds(
    network: Network,
    medium_ids: list[str],
    values: np.ndarray,
    open_inflows: dict[str, float] | None = None,
) -> dict[str, float]:
    """Lower bounds of the *original* exchanges that reproduce a kinflux medium in COBRApy.

    Inflows in ``medium_ids`` get ``-value``, ``open_inflows`` get ``-bound``, every other
    exchange is closed for uptake (lower bound 0). Use as::

        with model:
            for rid, lb in cobra_exchange_bounds(net, ids, x, open_inflows).items():
                model.reactions.get_by_id(rid).lower_bound = lb
    """
    bounds = {rid: 0.0 for rid in network.exchange_ids}
    for rid, val in (open_inflows or {}).items():
        bounds[rid.removesuffix("_i")] = -float(val)
    for rid, val in zip(medium_ids, np.asarray(values, dtype=float), strict=True):
        bounds[rid.removesuffix("_i")] = -float(val)
    return bounds


def find_blocked_reactions(
    network: Network,
    medium_ids: list[str],
    open_inflows: dict[str, float] | None = None,
    bound: float = DEFAULT_BOUND,
) -> list[str]:
    """Split reactions that carry no net flux in any medium over ``medium_ids``.

    The medium inflows are opened to ``bound`` (mmol/gDW/h), the inflows in
    ``open_inflows`` to their values and every other inflow is closed (``None``: the
    network's own bounds for them), as in :class:`FluxSolver`. Split reaction ``j`` is
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

    n, m = network.n_reactions, network.n_metabolites
    upper = network.inflow_upper_bounds(open_inflows)
    upper[network.indices(list(medium_ids))] = bound
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
    h = _sparse_lp(
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
            raise SolverError(
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
