"""Flux directions that thermodynamics allows: the direction MILP of the sampler.

One binary per reaction whose direction the bounds leave open; big-M rows tie each
direction to the sign rule on ``y = ln x`` (:func:`~kinflux.kinetic.thermo.log_q_exponents`),
as in thermodynamics-based FBA. LPs and MILPs are one-shot HiGHS solves built by
:func:`kinflux.highs.sparse_lp`. Fluxes in mmol/gDW/h, ``y`` in ln uM.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from kinflux import KinfluxError
from kinflux.kinetic.constraints import InfeasibleConstraintsError, SteadyStateConstraints
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.thermo import log_q_exponents

__all__ = [
    "DirectionProblem",
    "build_direction_problem",
    "solve_directions",
    "solve_lp",
    "solve_lps",
    "diagnose_infeasible",
]


def solve_lp(
    A: np.ndarray,
    rlo: np.ndarray,
    rhi: np.ndarray,
    clo: np.ndarray,
    chi: np.ndarray,
    cost: np.ndarray,
    integer: np.ndarray | None = None,
    time_limit: float = 60.0,
) -> np.ndarray | None:
    """``min cost @ x`` s.t. ``rlo <= A x <= rhi``, ``clo <= x <= chi``; None if infeasible.

    Args:
        A: ``(n_rows, n_cols)`` dense constraint matrix.
        rlo, rhi: row bounds ``(n_rows,)``; clo, chi: column bounds ``(n_cols,)``.
        cost: ``(n_cols,)``.
        integer: ``(n_cols,)`` bool, integer columns (a MILP) or None.
        time_limit: seconds; a feasible incumbent at the limit is returned.

    Returns:
        The solution ``(n_cols,)`` or None.
    """
    return solve_lps(A, rlo, rhi, clo, chi, [cost], integer, time_limit)[0]


def solve_lps(
    A: np.ndarray,
    rlo: np.ndarray,
    rhi: np.ndarray,
    clo: np.ndarray,
    chi: np.ndarray,
    costs: list[np.ndarray],
    integer: np.ndarray | None = None,
    time_limit: float = 60.0,
) -> list[np.ndarray | None]:
    """:func:`solve_lp` for each of ``costs`` ``(n_cols,)`` on one HiGHS model, built
    once. Each solve starts cold (no warm start from the previous basis), so the answers
    are those of separate :func:`solve_lp` calls to rounding (~1e-14 on the sampler's
    flux LPs); a warm start would pick other optimal vertices of degenerate LPs."""
    import highspy
    import scipy.sparse as sparse

    from kinflux.highs import sparse_lp

    h = sparse_lp(sparse.csc_matrix(A), costs[0], (clo, chi), (rlo, rhi))
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    h.setOptionValue("time_limit", float(time_limit))
    if integer is not None and integer.any():
        idx = np.flatnonzero(integer).astype(np.int32)
        kinds = np.array([highspy.HighsVarType.kInteger] * len(idx))
        h.changeColsIntegrality(len(idx), idx, kinds)
    cols = np.arange(A.shape[1], dtype=np.int32)
    out: list[np.ndarray | None] = []
    for k, cost in enumerate(costs):
        if k:
            h.clearSolver()
            h.changeColsCost(len(cols), cols, np.asarray(cost, dtype=np.float64))
        h.run()
        st = h.getModelStatus()
        ok = st == highspy.HighsModelStatus.kOptimal or (
            st == highspy.HighsModelStatus.kTimeLimit and h.getInfo().primal_solution_status == 2
        )
        out.append(np.array(h.getSolution().col_value) if ok else None)
    return out


@dataclass
class DirectionProblem:
    model: KineticModel
    S: np.ndarray  # (n_var, n_rxn)
    flo: np.ndarray  # (n_rxn,) mmol/gDW/h
    fhi: np.ndarray
    ylo: np.ndarray  # (n_species,) ln uM
    yhi: np.ndarray
    thermo_rxn: list[int]
    N: np.ndarray  # (n_t, n_species)
    c: np.ndarray  # (n_t,) ln Keq - a
    rev_nothermo: list[int]
    cons: SteadyStateConstraints

    @property
    def free(self) -> list[int]:
        """Reactions whose direction the bounds leave open."""
        return [j for j in range(len(self.flo)) if self.flo[j] < 0 < self.fhi[j]]


def build_direction_problem(model: KineticModel, cons: SteadyStateConstraints) -> DirectionProblem:
    names = model.reaction_names
    nr = len(names)
    B = cons.default_flux_bound
    flo, fhi = np.full(nr, -B), np.full(nr, B)
    irrev = [j for j, r in enumerate(model.reactions) if "k_equilibrium" not in r.parameter_kinds()]
    flo[irrev] = 0.0
    for r, (lo, hi) in cons.flux_bounds.items():
        if r not in names:
            raise KinfluxError(
                f"flux bound for '{r}': model '{model.name}' has no such reaction; "
                f"examples: {names[:5]}"
            )
        if lo > hi:
            raise InfeasibleConstraintsError(
                f"flux bounds of '{r}' conflict: low {lo} > high {hi} mmol/gDW/h"
            )
        j = names.index(r)
        flo[j], fhi[j] = lo, hi
        if j in irrev and hi < 0:
            raise InfeasibleConstraintsError(
                f"flux bounds of '{r}' ({lo}, {hi}) conflict with its irreversible rate law "
                "(net flux >= 0)"
            )
        if j in irrev:
            flo[j] = max(lo, 0.0)
    m = cons.min_abs_flux
    for j in range(nr):
        if flo[j] >= 0:
            flo[j] = max(flo[j], m)
        elif fhi[j] <= 0:
            fhi[j] = min(fhi[j], -m)
        if flo[j] > fhi[j]:
            raise InfeasibleConstraintsError(
                f"flux bounds of '{names[j]}' leave no net flux with |v| >= min_abs_flux "
                f"({m} mmol/gDW/h): ({flo[j]}, {fhi[j]}); widen them (the sign rule needs "
                "a non-zero flux)"
            )
    per_mm = cons.scaling.concentration * 1e-3
    sp = model.species
    lo_mm = np.full(len(sp), cons.concentration_range_mm[0])
    hi_mm = np.full(len(sp), cons.concentration_range_mm[1])
    for k, s in enumerate(sp):
        if cons.reference and s in cons.reference:
            c = cons.reference[s] / per_mm
            lo_mm[k], hi_mm[k] = c / cons.reference_fold, c * cons.reference_fold
    for s, (lo, hi) in cons.concentration_bounds.items():
        if s not in sp:
            raise KinfluxError(f"concentration bound for '{s}': model has no such species")
        if not 0 < lo <= hi:
            raise InfeasibleConstraintsError(
                f"concentration bounds of '{s}' conflict: need 0 < low <= high (mM), got {(lo, hi)}"
            )
        k = sp.index(s)
        lo_mm[k], hi_mm[k] = lo, hi
    rxn, N, a = log_q_exponents(model)
    lnk = np.log(model.default_parameters().numpy()[model.parameter_indices("k_equilibrium")])
    has = np.isfinite(lnk)
    thermo = [j for j, h in zip(rxn, has, strict=True) if h]
    nothermo = [j for j, h in zip(rxn, has, strict=True) if not h]
    return DirectionProblem(
        model=model,
        S=np.asarray(model.S, dtype=np.float64),
        flo=flo,
        fhi=fhi,
        ylo=np.log(lo_mm * per_mm),
        yhi=np.log(hi_mm * per_mm),
        thermo_rxn=thermo,
        N=N[has],
        c=(lnk - a)[has],
        rev_nothermo=nothermo,
        cons=cons,
    )


def solve_directions(
    pb: DirectionProblem, cost_v: np.ndarray, time_limit: float = 60.0
) -> np.ndarray | None:
    """Solve the direction MILP; columns [v (nr), y (ns), z (n_free)]."""
    nv, nr = pb.S.shape
    ns = len(pb.ylo)
    free = pb.free
    nz = len(free)
    zi = {j: k for k, j in enumerate(free)}
    ncol = nr + ns + nz
    rows, rlo, rhi = [], [], []

    def row() -> np.ndarray:
        return np.zeros(ncol)

    for i in range(nv):
        r = row()
        r[:nr] = pb.S[i]
        rows.append(r)
        rlo.append(0.0)
        rhi.append(0.0)
    m = pb.cons.min_abs_flux
    for j in free:
        k = nr + ns + zi[j]
        r = row()
        r[j], r[k] = 1.0, -(m - pb.flo[j])  # v >= m z + L (1 - z)
        rows.append(r)
        rlo.append(pb.flo[j])
        rhi.append(math.inf)
        r = row()
        r[j], r[k] = 1.0, -(pb.fhi[j] + m)  # v <= U z - m (1 - z)
        rows.append(r)
        rlo.append(-math.inf)
        rhi.append(-m)
    mg = pb.cons.margin
    for t, j in enumerate(pb.thermo_rxn):
        n = pb.N[t]
        hi = np.where(n > 0, n * pb.yhi, n * pb.ylo).sum()
        lo = np.where(n > 0, n * pb.ylo, n * pb.yhi).sum()
        M = max(abs(hi - pb.c[t]), abs(lo - pb.c[t])) + mg + 1.0
        if j in zi:
            k = nr + ns + zi[j]
            r = row()
            r[nr : nr + ns], r[k] = n, M
            rows.append(r)  # z=1: N y <= c - mg
            rlo.append(-math.inf)
            rhi.append(pb.c[t] - mg + M)
            r = row()
            r[nr : nr + ns], r[k] = n, M
            rows.append(r)  # z=0: N y >= c + mg
            rlo.append(pb.c[t] + mg)
            rhi.append(math.inf)
        else:
            r = row()
            r[nr : nr + ns] = n
            rows.append(r)
            if pb.flo[j] > 0:
                rlo.append(-math.inf)
                rhi.append(pb.c[t] - mg)
            else:
                rlo.append(pb.c[t] + mg)
                rhi.append(math.inf)
    A = np.array(rows)
    clo = np.concatenate([pb.flo, pb.ylo, np.zeros(nz)])
    chi = np.concatenate([pb.fhi, pb.yhi, np.ones(nz)])
    cost = np.concatenate([cost_v, np.zeros(ns + nz)])
    integer = np.concatenate([np.zeros(nr + ns, bool), np.ones(nz, bool)])
    return solve_lp(A, np.array(rlo), np.array(rhi), clo, chi, cost, integer, time_limit)


def _flux_lp_feasible(model: KineticModel, flo: np.ndarray, fhi: np.ndarray) -> bool:
    S = np.asarray(model.S, dtype=np.float64)
    z = np.zeros(S.shape[0])
    return solve_lp(S, z, z, flo, fhi, np.zeros(S.shape[1])) is not None


def diagnose_infeasible(model: KineticModel, cons: SteadyStateConstraints) -> str:
    """Deletion filter over the user's bounds: a minimal conflicting subset."""
    user = [("flux", k) for k in cons.flux_bounds] + [
        ("concentration", k) for k in cons.concentration_bounds
    ]

    def feasible(keep: list[tuple[str, str]]) -> bool:
        c = SteadyStateConstraints(**{**asdict(cons), "scaling": cons.scaling})
        c.flux_bounds = {k: v for k, v in cons.flux_bounds.items() if ("flux", k) in keep}
        c.concentration_bounds = {
            k: v for k, v in cons.concentration_bounds.items() if ("concentration", k) in keep
        }
        try:
            pb = build_direction_problem(model, c)
        except InfeasibleConstraintsError:
            return False
        if not _flux_lp_feasible(model, pb.flo, pb.fhi):
            return False
        return solve_directions(pb, np.zeros(len(pb.flo)), time_limit=30.0) is not None

    if not feasible([]):
        return (
            "even without the user bounds: the default ranges (flux |v| <= "
            f"{cons.default_flux_bound} mmol/gDW/h, |v| >= {cons.min_abs_flux}, "
            f"concentrations {cons.concentration_range_mm} mM"
            + (f" or within {cons.reference_fold}-fold of the reference" if cons.reference else "")
            + ", sign rule with margin "
            + f"{cons.margin}) admit no profile"
        )
    keep = list(user)
    for b in user:
        trial = [k for k in keep if k != b]
        if not feasible(trial):
            keep = trial
    desc = []
    for kind, k in keep:
        lo, hi = (cons.flux_bounds if kind == "flux" else cons.concentration_bounds)[k]
        unit = "mmol/gDW/h" if kind == "flux" else "mM"
        desc.append(f"{kind} of {k} in [{lo}, {hi}] {unit}")
    return "conflicting bounds: " + "; ".join(desc)
