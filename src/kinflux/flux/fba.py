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
from kinflux.flux.problem import FluxProblem
from kinflux.highs import INF, sparse_lp

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


def _flux_lp(network: Network, cost: np.ndarray, maximize: bool, growth_row: bool):
    """HiGHS LP ``S v = 0`` (plus the row ``c.v`` when ``growth_row``) over split fluxes."""
    import scipy.sparse as sp

    A = sp.csr_matrix(network.S)
    rows_lo, rows_hi = np.zeros(network.n_metabolites), np.zeros(network.n_metabolites)
    if growth_row:
        A = sp.vstack([A, sp.csr_matrix(network.objective[None, :])])
        rows_lo, rows_hi = np.append(rows_lo, -INF), np.append(rows_hi, INF)
    # tighter than HiGHS' 1e-7 defaults so that ||S v|| stays well below 1e-6
    return sparse_lp(
        A,
        cost,
        (network.lower_bounds, network.upper_bounds),
        (rows_lo, rows_hi),
        maximize=maximize,
        tolerance=1e-9,
    )


class FluxSolver:
    """Persistent FBA/pFBA solver for one :class:`~kinflux.flux.problem.FluxProblem`.

    The problem's ``medium_ids`` are the inflows :meth:`set_medium` sets; its
    ``open_inflows`` stay open in every medium (``None``: the network's own bounds for
    inflows outside the medium). A medium is always an upper bound here (pFBA finds
    the uptakes), whatever the problem's mode.

    Args:
        problem: the flux problem (or a bare :class:`Network`: no medium columns,
            the network's own bounds).

    Example:
        >>> net = Network.load("e_coli_core")
        >>> solver = FluxSolver(FluxProblem(net))
        >>> round(solver.optimize(), 4)
        0.8739
    """

    def __init__(self, problem: FluxProblem | Network) -> None:
        import highspy

        if isinstance(problem, Network):
            problem = FluxProblem(problem)
        self._highspy = highspy
        self.problem = problem
        network = self.network = problem.network
        self.medium_ids = list(problem.medium_ids)
        self._medium_idx = network.indices(self.medium_ids).astype(np.int32)
        self._growth = _flux_lp(network, network.objective, maximize=True, growth_row=False)
        ones = np.ones(network.n_reactions)
        self._pfba = _flux_lp(network, ones, maximize=False, growth_row=True)
        self._growth_row = network.n_metabolites
        base_ub = problem.inflow_upper_bounds()
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

    def reset(self) -> None:
        """Forget the solvers' bases: the next solves start cold (reproducible chunks)."""
        for h in (self._growth, self._pfba, self._nearest):
            if h is not None:
                h.clearSolver()

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
        inf = INF
        return sparse_lp(
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
    solver = FluxSolver(FluxProblem(network, network.inflow_ids, all_open))
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


def cobra_exchange_bounds(problem: FluxProblem, values: np.ndarray) -> dict[str, float]:
    """Lower bounds of the *original* exchanges that reproduce a kinflux medium in COBRApy.

    Inflows in ``problem.medium_ids`` get ``-value``, open inflows get ``-bound``, every
    other exchange is closed for uptake (lower bound 0). Use as::

        with model:
            for rid, lb in cobra_exchange_bounds(problem, x).items():
                model.reactions.get_by_id(rid).lower_bound = lb
    """
    medium_ids = problem.medium_ids
    bounds = {rid: 0.0 for rid in problem.network.exchange_ids}
    for rid, val in (problem.open_inflows or {}).items():
        bounds[rid.removesuffix("_i")] = -float(val)
    for rid, val in zip(medium_ids, np.asarray(values, dtype=float), strict=True):
        bounds[rid.removesuffix("_i")] = -float(val)
    return bounds
