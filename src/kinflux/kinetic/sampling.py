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
vertices (random objectives), log-concentrations are drawn by hit-and-run from the
polytope's Chebyshev centre. Where a reversible reaction has no ``k_equilibrium``
(simplification), its ``ln Gamma`` is drawn uniformly in ``[margin, max_abs_ln_gamma]``
with the sign opposite to the flux, independently of the concentrations; the Keq of the
ORACLE step then follows from it. Irreversible laws have no Keq: ``ln Gamma`` is NaN.

The distribution is not uniform over the joint set (patterns are visited in proportion
to how often random MILP objectives find them); it is a consistent, seeded sampler.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.linalg import null_space

from kinflux import KinfluxError
from kinflux.highs import quiet_highs
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState
from kinflux.kinetic.units import STRAIN_1_SCALING, Scaling

__all__ = [
    "SteadyStateConstraints",
    "SteadyStateSamples",
    "InfeasibleConstraintsError",
    "anthranilate_constraints",
    "log_q_exponents",
    "sample_steady_states",
]

#: default concentration range, mM (1 uM - 10 mM)
DEFAULT_CONCENTRATION_MM = (1e-3, 10.0)


class InfeasibleConstraintsError(KinfluxError):
    """No profile satisfies the constraints; the message names the conflicting bounds."""


@dataclass
class SteadyStateConstraints:
    """User constraints of the sampler.

    Attributes:
        flux_bounds: ``{reaction: (low, high)}`` net flux bounds, mmol/gDW/h.
        default_flux_bound: ``|v| <=`` this for reactions without bounds, mmol/gDW/h.
        min_abs_flux: every net flux at least this far from 0, mmol/gDW/h.
        concentration_range_mm: default range of every species, mM.
        concentration_bounds: ``{species: (low, high)}`` in mM (overrides everything).
        reference: ``{species: uM}`` reference profile (e.g. strain_1); species in it get
            ``[c / reference_fold, c * reference_fold]``.
        reference_fold: width of the reference ranges.
        margin: minimal ``|ln Gamma|``.
        max_abs_ln_gamma: range of ``|ln Gamma|`` drawn for reactions without Keq.
        scaling: unit conversion (mmol/gDW/h -> uM/h, mol/L -> uM).
    """

    flux_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    default_flux_bound: float = 100.0
    min_abs_flux: float = 1e-7
    concentration_range_mm: tuple[float, float] = DEFAULT_CONCENTRATION_MM
    concentration_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    reference: dict[str, float] | None = None
    reference_fold: float = 2.0
    margin: float = 1e-3
    max_abs_ln_gamma: float = 10.0
    scaling: Scaling = STRAIN_1_SCALING


def anthranilate_constraints(
    model: KineticModel | None = None,
    growth_min: float = 0.26,
    anthranilate_min: float = 0.14,
    glucose_uptake_max: float = 10.0,
) -> SteadyStateConstraints:
    """Published setting for ``kin_varma_anthranilate.yaml``.

    - growth >= ``growth_min`` h^-1. The model's lumped biomass reaction
      ``LMPD_biomass_c_1_420`` carries coefficients in the thousands; growth is its flux
      times ``biomass_scaling`` of ``anthranilate_bioreactor.yaml`` (5e5 =
      DM_biomass_c / LMPD_biomass_c_1_420), so its bound is ``growth_min / 5e5``
      mmol/gDW/h;
    - anthranilate secretion (``ANTHtex``, anth_c -> anth_e) >= ``anthranilate_min``
      mmol/gDW/h;
    - glucose uptake (``GLCtex``, glc_D_e -> glc_D_p) in [0, ``glucose_uptake_max``]
      mmol/gDW/h, so the sampler picks an uptake consistent with both;
    - with ``model``: every other extracellular transport (``*tex``) of a boundary species
      that is not in the reactor's ``initial_medium`` may only secrete (glucose is the
      carbon source; O2, NH4, Pi, CO2, H+ and tryptophan stay open both ways).

    Scaling (mmol/gDW/h -> uM/h) of the same reactor file.
    """
    import yaml

    from kinflux.datasets import kinetic_model_path

    path = kinetic_model_path("anthranilate_bioreactor")
    scaling = Scaling.from_reactor_yaml(path)
    try:
        bs = float(next(iter(yaml.safe_load(path.read_text())["biomass_scaling"].values())))
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        raise KinfluxError(f"{path}: cannot read 'biomass_scaling' ({exc})") from exc
    ub = 100.0
    bounds: dict[str, tuple[float, float]] = {}
    if model is not None:
        # boundary species absent from the initial medium can only be secreted
        medium = set(yaml.safe_load(path.read_text()).get("initial_medium") or {})
        for r in model.reactions:
            if not r.name.endswith("tex"):
                continue
            for _, sp, _ in r.substrates:
                if sp in model.boundary and sp not in medium:
                    bounds[r.name] = (-ub, 0.0)
            for _, sp, _ in r.products:
                if sp in model.boundary and sp not in medium:
                    bounds[r.name] = (0.0, ub)
    bounds.update(
        {
            "LMPD_biomass_c_1_420": (growth_min / bs, ub / bs),
            "ANTHtex": (anthranilate_min, ub),
            "GLCtex": (0.0, glucose_uptake_max),
        }
    )
    return SteadyStateConstraints(flux_bounds=bounds, scaling=scaling)


# ---------------------------------------------------------------------------- thermo
def log_q_exponents(model: KineticModel) -> tuple[list[int], np.ndarray, np.ndarray]:
    """ln Q of the reversible reactions as linear functions of ln(concentration, uM).

    Returns ``(reactions, N, a)``: reaction indices ``(n_rev,)``, exponents ``N``
    ``(n_rev, n_species)`` over ``model.species`` and offsets ``a`` ``(n_rev,)`` with
    ``ln Q = N @ ln x + a``, read from the engine's rate laws (Km cancel in Q).
    """
    from kinflux.kinetic.oracle import _keq_layout, model_log_mass_action_ratio

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


# ---------------------------------------------------------------------------- HiGHS
def _highs():  # noqa: ANN202
    return quiet_highs(primal_feasibility_tolerance=1e-9, mip_feasibility_tolerance=1e-9)


def _solve(
    A: np.ndarray,
    rlo: np.ndarray,
    rhi: np.ndarray,
    clo: np.ndarray,
    chi: np.ndarray,
    cost: np.ndarray,
    integer: np.ndarray | None = None,
    time_limit: float = 60.0,
) -> np.ndarray | None:
    """min cost.x s.t. rlo <= A x <= rhi, clo <= x <= chi; None if infeasible."""
    import highspy

    h = _highs()
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    n_row, n_col = A.shape
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.where(np.isinf(clo), -inf, clo).astype(np.float64)
    lp.col_upper_ = np.where(np.isinf(chi), inf, chi).astype(np.float64)
    lp.row_lower_ = np.where(np.isinf(rlo), -inf, rlo).astype(np.float64)
    lp.row_upper_ = np.where(np.isinf(rhi), inf, rhi).astype(np.float64)
    nz = [np.flatnonzero(A[:, j]) for j in range(n_col)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum([len(c) for c in nz])]).astype(np.int32)
    lp.a_matrix_.index_ = (np.concatenate(nz) if nz else np.zeros(0)).astype(np.int32)
    lp.a_matrix_.value_ = (
        np.concatenate([A[c, j] for j, c in enumerate(nz)]) if nz else np.zeros(0)
    ).astype(np.float64)
    if integer is not None and integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
            for b in integer
        ]
    h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    if st != highspy.HighsModelStatus.kOptimal:
        if st in (highspy.HighsModelStatus.kTimeLimit,) and h.getInfo().primal_solution_status == 2:
            return np.array(h.getSolution().col_value)
        return None
    return np.array(h.getSolution().col_value)


# ---------------------------------------------------------------------------- problem
@dataclass
class _Problem:
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


def _build(model: KineticModel, cons: SteadyStateConstraints) -> _Problem:
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
    return _Problem(
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


def _milp(pb: _Problem, cost_v: np.ndarray, time_limit: float = 60.0) -> np.ndarray | None:
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
    return _solve(A, np.array(rlo), np.array(rhi), clo, chi, cost, integer, time_limit)


def _flux_lp_feasible(model: KineticModel, flo: np.ndarray, fhi: np.ndarray) -> bool:
    S = np.asarray(model.S, dtype=np.float64)
    z = np.zeros(S.shape[0])
    return _solve(S, z, z, flo, fhi, np.zeros(S.shape[1])) is not None


def _diagnose(model: KineticModel, cons: SteadyStateConstraints) -> str:
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
            pb = _build(model, c)
        except InfeasibleConstraintsError:
            return False
        if not _flux_lp_feasible(model, pb.flo, pb.fhi):
            return False
        return _milp(pb, np.zeros(len(pb.flo)), time_limit=30.0) is not None

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


def _chebyshev_center(A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Centre of the largest ball in {A y <= b, lo <= y <= hi} (LP)."""
    n = A.shape[1]
    norms = np.linalg.norm(A, axis=1)
    I = np.eye(n)
    Ab = np.vstack(
        [
            np.hstack([A, norms[:, None]]),
            np.hstack([I, -np.ones((n, 1))]),
            np.hstack([I, np.ones((n, 1))]),
        ]
    )
    rlo = np.concatenate([np.full(len(b), -np.inf), lo, np.full(n, -np.inf)])
    rhi = np.concatenate([b, np.full(n, np.inf), hi])
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    sol = _solve(Ab, rlo, rhi, np.concatenate([lo, [0.0]]), np.concatenate([hi, [np.inf]]), cost)
    if sol is None:
        raise InfeasibleConstraintsError("concentration polytope of a direction pattern is empty")
    return sol[:n]


def _hit_and_run(
    A: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    y0: np.ndarray,
    n: int,
    thin: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n`` points ``(n, dim)`` of a hit-and-run chain in {A y <= b, lo <= y <= hi}."""
    G = np.vstack([A, np.eye(len(y0)), -np.eye(len(y0))])
    h = np.concatenate([b, hi, -lo])
    y = y0.copy()
    out = np.empty((n, len(y0)))
    for i in range(n):
        for _ in range(thin):
            d = rng.standard_normal(len(y))
            d /= np.linalg.norm(d)
            gd = G @ d
            slack = h - G @ y
            with np.errstate(divide="ignore"):
                t = slack / gd
            tmax = np.min(t[gd > 1e-14], initial=np.inf)
            tmin = np.max(t[gd < -1e-14], initial=-np.inf)
            y = y + rng.uniform(tmin, tmax) * d
        out[i] = y
    return out


# ---------------------------------------------------------------------------- samples
@dataclass
class SteadyStateSamples:
    """Sampled profiles of a model.

    Attributes:
        model: the kinetic model.
        fluxes: ``(n, n_reactions)`` net fluxes, mmol/gDW/h.
        concentrations: ``(n, n_species)`` uM, columns ``model.species``.
        log_displacements: ``(n, n_reactions)`` ln Gamma (NaN for irreversible laws).
        pattern: ``(n,)`` index of the direction pattern of each profile.
        scaling: unit conversion.
        metadata: constraints, seed, counts (JSON-serializable).
    """

    model: KineticModel
    fluxes: torch.Tensor
    concentrations: torch.Tensor
    log_displacements: torch.Tensor
    pattern: torch.Tensor
    scaling: Scaling
    metadata: dict[str, Any]

    def __len__(self) -> int:
        return self.fluxes.shape[0]

    @property
    def fluxes_model(self) -> torch.Tensor:
        """``(n, n_reactions)`` net fluxes in model units (uM/h)."""
        return self.fluxes * self.scaling.flux_factor

    def mass_balance_residual(self) -> torch.Tensor:
        """``(n,)`` max |S v| / max |v| over the balanced metabolites."""
        S = torch.as_tensor(self.model.S, dtype=torch.float64)
        return (self.fluxes @ S.T).abs().amax(1) / self.fluxes.abs().amax(1)

    def sign_violations(self) -> torch.Tensor:
        """``(n,)`` number of reactions breaking the sign rule (0 for every valid profile)."""
        g, v = self.log_displacements, self.fluxes
        bad = ((v > 0) & (g >= 0)) | ((v < 0) & (g <= 0))
        return bad.sum(1)

    def steady_state(self, i: int) -> SteadyState:
        """Profile ``i`` as a :class:`SteadyState` (model units)."""
        if not 0 <= i < len(self):
            raise KinfluxError(f"profile {i} requested, {len(self)} sampled")
        m = self.model
        lg = self.log_displacements[i].tolist()
        return SteadyState(
            model=m,
            fluxes=self.fluxes_model[i].clone(),
            concentrations=dict(zip(m.species, self.concentrations[i].tolist(), strict=True)),
            log_displacements={
                r: g for r, g in zip(m.reaction_names, lg, strict=True) if not math.isnan(g)
            },
            scaling=self.scaling,
            fluxes_mmol=self.fluxes[i].clone(),
        )

    def save(self, path: str | Path, force: bool = False) -> Path:
        """One ``.npz`` with fluxes, concentrations, ln Gamma, names and JSON metadata."""
        from kinflux.io import atomic_write, check_output

        p = check_output(path, force)
        buf = io.BytesIO()
        np.savez(
            buf,
            fluxes_mmol_gdw_h=self.fluxes.numpy(),
            concentrations_uM=self.concentrations.numpy(),
            log_displacements=self.log_displacements.numpy(),
            pattern=self.pattern.numpy(),
            reactions=np.array(self.model.reaction_names),
            species=np.array(self.model.species),
            scaling=np.array(json.dumps(asdict(self.scaling))),
            metadata=np.array(json.dumps(self.metadata)),
        )
        with atomic_write(p, "wb") as fh:
            fh.write(buf.getvalue())
        return p

    @classmethod
    def load(cls, path: str | Path, model: KineticModel) -> SteadyStateSamples:
        """Read :meth:`save` output for ``model`` (checks reaction and species names)."""
        p = Path(path)
        try:
            d = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise KinfluxError(f"{p}: cannot read steady-state samples ({exc})") from exc
        if list(d["reactions"]) != model.reaction_names or list(d["species"]) != model.species:
            raise KinfluxError(
                f"{p}: reactions/species do not match model '{model.name}'; sample the "
                "steady states with this model"
            )
        return cls(
            model=model,
            fluxes=torch.from_numpy(d["fluxes_mmol_gdw_h"]),
            concentrations=torch.from_numpy(d["concentrations_uM"]),
            log_displacements=torch.from_numpy(d["log_displacements"]),
            pattern=torch.from_numpy(d["pattern"]),
            scaling=Scaling(**json.loads(str(d["scaling"]))),
            metadata=json.loads(str(d["metadata"])),
        )


def sample_steady_states(
    model: KineticModel,
    n: int,
    constraints: SteadyStateConstraints | None = None,
    seed: int = 0,
    n_patterns: int | None = None,
    vertices_per_pattern: int = 12,
    thin: int | None = None,
) -> SteadyStateSamples:
    """Sample ``n`` mutually consistent profiles (see the module docstring).

    ``n_patterns``: direction patterns drawn by random-objective MILPs (default
    ``min(n, 10)``); ``vertices_per_pattern``: LP vertices mixed into the fluxes;
    ``thin``: hit-and-run steps between stored concentration points (default the number
    of species). Same seed -> same profiles. Raises :class:`InfeasibleConstraintsError`
    naming the conflicting bounds when no profile exists.
    """
    if n < 1:
        raise KinfluxError(f"number of profiles must be >= 1, got {n}")
    cons = constraints or SteadyStateConstraints()
    rng = np.random.default_rng(seed)
    pb = _build(model, cons)
    nr = len(pb.flo)
    ns = len(pb.ylo)
    # 1. direction patterns
    k_pat = n_patterns or min(n, 10)
    sols = []
    first = _milp(pb, np.zeros(nr))
    if first is None:
        raise InfeasibleConstraintsError(
            f"model '{model.name}': no steady state satisfies the constraints; "
            + _diagnose(model, cons)
        )
    for _ in range(k_pat):
        w = rng.standard_normal(nr)
        sol = _milp(pb, w / np.linalg.norm(w))
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
    for q, (d, cnt) in enumerate(zip(patterns, counts, strict=True)):
        if cnt == 0:
            continue
        m = cons.min_abs_flux
        flo = np.where(d > 0, np.maximum(pb.flo, m), pb.flo)
        fhi = np.where(d < 0, np.minimum(pb.fhi, -m), pb.fhi)
        verts = [np.clip(seeds[q], flo, fhi)]
        span = np.maximum(fhi - flo, 1e-12)
        for _ in range(vertices_per_pattern):
            # weights scaled by each flux's range: narrow fluxes (biomass) move too
            w = rng.standard_normal(nr) / span
            s = _solve(pb.S, z, z, flo, fhi, w / np.abs(w).max())
            if s is not None:
                verts.append(s)
        for j in bounded:  # extremes of the user-bounded fluxes (growth, secretion)
            for sgn in (-1.0, 1.0):
                w = np.zeros(nr)
                w[j] = sgn
                s = _solve(pb.S, z, z, flo, fhi, w)
                if s is not None:
                    verts.append(s)
        V = np.array(verts)
        W = rng.dirichlet(np.ones(len(V)), size=cnt)
        fl = W @ V
        u = fl / dscale
        fl = ((u @ Nul) @ Nul.T) * dscale  # exact S v = 0 up to rounding
        rows = [d[j] * pb.N[tpos[j]] for j in pb.thermo_rxn]
        b = np.array(
            [
                (pb.c[tpos[j]] - cons.margin) if d[j] > 0 else -(pb.c[tpos[j]] + cons.margin)
                for j in pb.thermo_rxn
            ]
        )
        A = np.array(rows).reshape(len(rows), ns)
        y0 = _chebyshev_center(A, b, pb.ylo, pb.yhi)
        y = _hit_and_run(A, b, pb.ylo, pb.yhi, y0, int(cnt), thin, rng)
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
