"""Steady-state sampler: net fluxes, concentrations and displacements that agree.

A *profile* is one steady state of a kinetic model: net fluxes ``v`` (mmol/gDW/h; model
units uM/h via the :class:`~kinflux.kinetic.units.Scaling`), concentrations of every
species (uM) and displacements ``Gamma = Q/Keq`` per reaction. A sampled profile satisfies

- mass balance ``S v = 0`` for the balanced metabolites (the model's variables;
  boundary species are buffered), to rounding (fluxes are projected on the null space);
- the bounds: per-reaction flux bounds, ``|v| >= min_abs_flux``, irreversible rate laws
  forward; concentrations in their ranges (default log-uniform 1 uM - 10 mM for every
  species, protons included; or within ``reference_fold`` of a reference profile such as
  strain_1);
- the sign rule: ``ln Gamma <= -margin`` where the flux is forward and ``>= margin`` where
  it is backward.

Thermodynamics. Where the model file carries ``k_equilibrium``, ``ln Gamma = ln Q(x) -
ln Keq`` with ``ln Q`` the engine's mass-action ratio, linear in ``y = ln x`` (exponents
read from the rate laws, :func:`log_q_exponents`), so the sign rule is a set of linear
inequalities in ``y`` coupled to the flux directions. Directions are chosen by a mixed
integer program (HiGHS, one binary per reaction whose direction the bounds leave open,
big-M rows), as in thermodynamics-based FBA. Given a direction pattern the flux polytope
and the log-concentration polytope decouple: fluxes are random convex combinations of LP
vertices (random objectives), log-concentrations are drawn by hit-and-run in the rounded
polytope (:func:`~kinflux.kinetic.polytope.rounded_hit_and_run`: directions shaped by the
LP extremes of every ln x, start inside between their mean and the Chebyshev centre).
``rounding=False`` gives the sampler of kinflux <= 0.5 (isotropic directions from the
Chebyshev centre), which barely moves in thin polytopes: on kin_varma_anthranilate it left
ATP at ~1 uM in every profile. Where a reversible reaction has no ``k_equilibrium``
(simplification), its ``ln Gamma`` is drawn uniformly in ``[margin, max_abs_ln_gamma]``
with the sign opposite to the flux, independently of the concentrations; the Keq of the
ORACLE step then follows from it. Irreversible laws have no Keq: ``ln Gamma`` is NaN.

Turnover limit (``SteadyStateConstraints.max_turnover_s``, kinflux's option): every
variable pool must turn over within that many seconds at its profile's fluxes, which caps
its concentration (:mod:`~kinflux.kinetic.turnover`). The caps depend on the fluxes, so
each profile then gets its own polytope and one point of the rounded chain
(:func:`~kinflux.kinetic.turnover.capped_profiles`); patterns that cannot meet the limit
give their profiles to the others.

The distribution is not uniform over the joint set (patterns are visited in proportion
to how often random MILP objectives find them); it is a consistent, seeded sampler.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from scipy.linalg import null_space

from kinflux import KinfluxError
from kinflux.kinetic.constraints import (
    DEFAULT_CONCENTRATION_MM,
    InfeasibleConstraintsError,
    SteadyStateConstraints,
    anthranilate_constraints,
)
from kinflux.kinetic.directions import (
    build_direction_problem,
    diagnose_infeasible,
    solve_directions,
    solve_lps,
)
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.polytope import chebyshev_center, hit_and_run, rounded_hit_and_run
from kinflux.kinetic.profiles import SteadyStateSamples
from kinflux.kinetic.thermo import log_q_exponents
from kinflux.kinetic.turnover import capped_profiles
from kinflux.progress import ProgressArg, ProgressBar, progress_bar

__all__ = [
    "DEFAULT_CONCENTRATION_MM",
    "SteadyStateConstraints",
    "SteadyStateSamples",
    "InfeasibleConstraintsError",
    "anthranilate_constraints",
    "log_q_exponents",
    "sample_steady_states",
]


def sample_steady_states(
    model: KineticModel,
    n: int,
    constraints: SteadyStateConstraints | None = None,
    seed: int = 0,
    n_patterns: int | None = None,
    vertices_per_pattern: int = 12,
    thin: int | None = None,
    progress: ProgressArg = False,
    rounding: bool = True,
) -> SteadyStateSamples:
    """Sample ``n`` mutually consistent profiles (see the module docstring).

    Args:
        model: the kinetic model.
        n: number of profiles (>= 1).
        constraints: bounds (default :class:`SteadyStateConstraints`).
        seed: same seed -> same profiles.
        n_patterns: direction patterns drawn by random-objective MILPs (default
            ``min(n, 10)``).
        vertices_per_pattern: LP vertices mixed into the fluxes.
        thin: hit-and-run steps between stored concentration points (default the
            number of species).
        progress: a bar over MILP solves and patterns (True), a callback, or False.
        rounding: hit-and-run in the rounded polytope (default); False for isotropic
            directions from the Chebyshev centre (the earlier sampler, poor mixing).

    Returns:
        :class:`SteadyStateSamples`.

    Raises:
        InfeasibleConstraintsError: naming the conflicting bounds when no profile exists.
    """
    if n < 1:
        raise KinfluxError(f"number of profiles must be >= 1, got {n}")
    k_pat = n_patterns or min(n, 10)
    with progress_bar(2 * k_pat, "steady states", progress) as bar:
        return _sample(
            model, n, constraints, seed, k_pat, vertices_per_pattern, thin, bar, rounding
        )


def _sample(
    model: KineticModel,
    n: int,
    constraints: SteadyStateConstraints | None,
    seed: int,
    k_pat: int,
    vertices_per_pattern: int,
    thin: int | None,
    bar: ProgressBar,
    rounding: bool,
) -> SteadyStateSamples:
    cons = constraints or SteadyStateConstraints()
    rng = np.random.default_rng(seed)
    pb = build_direction_problem(model, cons)
    nr = len(pb.flo)
    ns = len(pb.ylo)
    # 1. direction patterns
    sols = []
    first = solve_directions(pb, np.zeros(nr))
    if first is None:
        raise InfeasibleConstraintsError(
            f"model '{model.name}': no steady state satisfies the constraints; "
            + diagnose_infeasible(model, cons)
        )
    for _ in range(k_pat):
        bar.advance(stage="MILP")
        w = rng.standard_normal(nr)
        sol = solve_directions(pb, w / np.linalg.norm(w))
        sols.append(first if sol is None else sol)
    patterns: list[np.ndarray] = []
    seeds: list[np.ndarray] = []
    free = pb.free
    for sol in sols:
        d = np.where(pb.flo > 0, 1.0, -1.0)  # fixed by the bounds
        d[free] = np.where(sol[nr + ns :] > 0.5, 1.0, -1.0)  # chosen by the MILP
        if not any(np.array_equal(d, q) for q in patterns):
            patterns.append(d)
            seeds.append(sol[:nr])
    # 2. per pattern: flux vertices, concentration chain
    # column-scaled null space: lumped reactions carry coefficients ~1e4
    col = np.abs(pb.S).max(axis=0)
    dscale = 1.0 / np.where(col > 0, col, 1.0)
    Nul = null_space(pb.S * dscale[None, :], rcond=1e-12)  # (nr, dim), in u = v / d
    counts = np.bincount(rng.integers(0, len(patterns), n), minlength=len(patterns))
    F, Y, LG, PAT = [], [], [], []
    thin = thin or ns
    z = np.zeros(pb.S.shape[0])
    tpos = {j: t for t, j in enumerate(pb.thermo_rxn)}
    bounded = [model.reaction_names.index(r) for r in cons.flux_bounds]
    bar.update(k_pat)
    ff = cons.scaling.flux_factor
    S_full = np.asarray(model.S_full, dtype=float)
    capped_pools = np.isin(np.array(model.species), model.variables)
    capped_draws: list = []  # capped patterns that gave profiles
    short, floor_best = 0, float("inf")

    def capped(A: np.ndarray, b: np.ndarray, draw: Any, k: int) -> tuple:
        return capped_profiles(
            A, b, pb.ylo, pb.yhi, draw, ff, S_full, capped_pools, cons.max_turnover_s, k, thin, rng
        )

    def add(q: int, fl: np.ndarray, y: np.ndarray) -> None:
        cnt = len(fl)
        lg = np.full((cnt, nr), np.nan)
        if pb.thermo_rxn:
            lg[:, pb.thermo_rxn] = y @ pb.N.T - pb.c
        for j in pb.rev_nothermo:
            mag = rng.uniform(cons.margin, cons.max_abs_ln_gamma, cnt)
            lg[:, j] = -np.sign(fl[:, j]) * mag
        F.append(fl)
        Y.append(y)
        LG.append(lg)
        PAT.append(np.full(cnt, q))

    for q, (d, cnt) in enumerate(zip(patterns, counts, strict=True)):
        bar.update(k_pat + round(k_pat * q / len(patterns)), stage="profiles")
        if cnt == 0:
            continue
        m = cons.min_abs_flux
        flo = np.where(d > 0, np.maximum(pb.flo, m), pb.flo)
        fhi = np.where(d < 0, np.minimum(pb.fhi, -m), pb.fhi)
        span = np.maximum(fhi - flo, 1e-12)
        costs = []
        for _ in range(vertices_per_pattern):
            # weights scaled by each flux's range: narrow fluxes (biomass) move too
            w = rng.standard_normal(nr) / span
            costs.append(w / np.abs(w).max())
        for j in bounded:  # extremes of the user-bounded fluxes (growth, secretion)
            for sgn in (-1.0, 1.0):
                w = np.zeros(nr)
                w[j] = sgn
                costs.append(w)
        sols = solve_lps(pb.S, z, z, flo, fhi, costs)
        V = np.array([np.clip(seeds[q], flo, fhi)] + [x for x in sols if x is not None])

        def draw(k: int, V: np.ndarray = V) -> np.ndarray:
            u = (rng.dirichlet(np.ones(len(V)), size=k) @ V) / dscale
            return ((u @ Nul) @ Nul.T) * dscale  # exact S v = 0 up to rounding

        rows = [d[j] * pb.N[tpos[j]] for j in pb.thermo_rxn]
        b = np.array(
            [
                (pb.c[tpos[j]] - cons.margin) if d[j] > 0 else -(pb.c[tpos[j]] + cons.margin)
                for j in pb.thermo_rxn
            ]
        )
        A = np.array(rows).reshape(len(rows), ns)
        if cons.max_turnover_s is not None:
            fl, y, best = capped(A, b, draw, int(cnt))
            floor_best = min(floor_best, best)
            short += int(cnt) - len(fl)
            if len(fl) == 0:
                continue
            capped_draws.append((q, A, b, draw))
        elif rounding:
            fl = draw(int(cnt))
            y = rounded_hit_and_run(A, b, pb.ylo, pb.yhi, int(cnt), thin, rng)
        else:
            fl = draw(int(cnt))
            y0 = chebyshev_center(A, b, pb.ylo, pb.yhi)
            y = hit_and_run(A, b, pb.ylo, pb.yhi, y0, int(cnt), thin, rng)
        add(q, fl, y)
    while short:  # profiles that capped patterns could not give come from the others
        before = short
        for q, A, b, draw in capped_draws:
            fl, y, _ = capped(A, b, draw, 1)
            if len(fl) and short:
                add(q, fl, y)
                short -= 1
        if short == before:  # also when no pattern met the limit at all
            raise InfeasibleConstraintsError(_turnover_message(model, cons, floor_best))
    bar.update(2 * k_pat)
    order = rng.permutation(n)
    fl = np.concatenate(F)[order]
    y = np.concatenate(Y)[order]
    lg = np.concatenate(LG)[order]
    meta = {
        "model": model.name,
        "model_source": model.source,
        "n": n,
        "seed": seed,
        "n_patterns": len(patterns),
        "concentration_sampler": "rounded hit-and-run" if rounding else "hit-and-run",
        "constraints": {
            **{k: v for k, v in asdict(cons).items() if k not in ("scaling", "reference")},
            "reference_species": len(cons.reference or {}),
        },
        "units": {
            "fluxes": "mmol/gDW/h",
            "concentrations": "uM",
            "log_displacements": "ln(Q/Keq)",
        },
    }
    return SteadyStateSamples(
        model=model,
        fluxes=torch.from_numpy(fl),
        concentrations=torch.from_numpy(np.exp(y)),
        log_displacements=torch.from_numpy(lg),
        pattern=torch.from_numpy(np.concatenate(PAT)[order]),
        scaling=cons.scaling,
        metadata=meta,
    )


def _turnover_message(model: KineticModel, cons: SteadyStateConstraints, floor_s: float) -> str:
    floor = (
        f"; at the sampled fluxes some pool needs at least {floor_s:.3g} s even at its lowest "
        "allowed concentration"
        if math.isfinite(floor_s)
        else ""
    )
    return (
        f"model '{model.name}': no sampled flux profile lets every variable pool turn over "
        f"within max_turnover_s={cons.max_turnover_s} s{floor}; raise max_turnover_s "
        "(CLI --max-turnover), lower the concentration floors, or sample more patterns"
    )
