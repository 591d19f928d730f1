"""ORACLE-style parameterization and the unbiased-sampling baseline.

Given a steady state (net fluxes ``v`` in uM/h, concentrations in uM, displacements
Gamma = Q/Keq), a kinetic model is fully parameterized by its Michaelis constants:

1. **Km** (uM, the model concentration unit), sampled or generated in log space, within
   bounds that default to the published [1.3e-11, 20] mM (:data:`KM_BOUNDS_MM`).
2. **Keq** from the displacements: ``Keq = Q_model / Gamma`` where ``Q_model`` is the mass
   action ratio exactly as the engine's rate law sees it (products, substrates and
   displacement modifiers with their exponents), obtained numerically from the engine
   (:func:`model_log_mass_action_ratio`) so that ``Gamma < 1`` <=> forward net rate.
3. **Vmax** back-calculated so that every rate equals its steady-state flux
   (:func:`kinflux.kinetic.params.backcalculate_vmax`).

The ORACLE baseline (:func:`oracle_sample`) draws, per Km, an unbiased value
``sigma ~ U(0, 1)`` and sets ``Km = [S] * sigma / (1 - sigma)`` with ``[S]`` the steady
state concentration of the slot's reactant (``sigma`` = Km/(Km + [S]); as ``1 - sigma``
is U(0, 1) too, this is the same distribution as sampling the enzyme saturation
[S]/([S] + Km)). The draw is restricted to the sigma interval that maps into the Km bounds.
The share of parameter sets whose Jacobian has ``lambda_max`` below the partition of
:func:`kinflux.kinetic.validity.lambda_partition` is the *incidence* without learning,
the bar that generative models must beat.

Shapes: Km batches ``(batch, n_km)`` in the order of :func:`km_table`; parameter batches
``(batch, n_params)`` in the order of :attr:`KineticModel.parameter_names`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from kinflux import KinfluxError
from kinflux.kinetic.dynamics import lambda_max as _lambda_max
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.params import backcalculate_vmax
from kinflux.kinetic.steady import SteadyState
from kinflux.kinetic.validity import incidence as _incidence
from kinflux.kinetic.validity import is_valid, lambda_partition

__all__ = [
    "KM_BOUNDS_MM",
    "KmTable",
    "OracleResult",
    "km_table",
    "model_log_mass_action_ratio",
    "equilibrium_constants",
    "complete_parameters",
    "parameters_from_log_km",
    "sample_km",
    "steady_state_residual",
    "lambda_max_batch",
    "oracle_sample",
]

#: published Michaelis-constant bounds (mM) of RENAISSANCE
KM_BOUNDS_MM = (1.3e-11, 20.0)


@dataclass
class KmTable:
    """The Michaelis constants of a model.

    Attributes:
        names: parameter names (``km_substrate1_PGK`` ...), ``n_km`` of them.
        columns: their columns in the parameter layout, ``(n_km,)``.
        species: the reactant of each Km's slot.
    """

    names: list[str]
    columns: torch.Tensor
    species: list[str]

    def __len__(self) -> int:
        return len(self.names)


def km_table(model: KineticModel) -> KmTable:
    """Every Km parameter of ``model`` with its column and its reactant species."""
    names, cols, species = [], [], []
    for r in model.reactions:
        kinds = set(r.parameter_kinds())
        for slot, sp, _ in r.substrates + r.products:
            if f"km_{slot}" in kinds:
                n = f"km_{slot}_{r.name}"
                names.append(n)
                cols.append(model.parameter_index(n))
                species.append(sp)
    return KmTable(names, torch.tensor(cols, dtype=torch.long), species)


def _keq_layout(model: KineticModel) -> tuple[torch.Tensor, torch.Tensor]:
    kcols = model.parameter_indices("k_equilibrium")
    krxn = [
        model.reaction_names.index(model.parameter_names[c][len("k_equilibrium_") :]) for c in kcols
    ]
    return torch.tensor(kcols, dtype=torch.long), torch.tensor(krxn, dtype=torch.long)


def model_log_mass_action_ratio(
    model: KineticModel, x: torch.Tensor, params: torch.Tensor, max_iter: int = 40
) -> torch.Tensor:
    """ln Q of every reversible reaction as the engine's rate laws define it.

    The rate laws are ``v = (F - B/Keq) / D`` with ``D`` and ``F`` independent of Keq, so
    ``Q = B/F`` follows from rates at ``Keq = +inf`` (``F/D``) and ``Keq = -K``
    (``(F + B/K)/D``): ``Q/K = v(-K)/v(inf) - 1``. ``K`` is moved towards ``Q`` until the
    ratio is within [1/e, e], which makes the result exact to rounding.

    ``x``: ``(n_variables,)`` or ``(batch, n_variables)`` uM; ``params``:
    ``(batch, n_params)`` with Km, Hill coefficients and constant concentrations set (Km
    enter the Hill and Convenience backward terms). Returns ``(batch, n_keq)`` in the
    order of ``model.parameter_indices("k_equilibrium")``.
    """
    kcols, krxn = _keq_layout(model)
    p = params.reshape(-1, model.n_params).to(torch.float64).clone()
    if x.dim() == 2 and x.shape[0] > p.shape[0]:
        p = p.expand(x.shape[0], -1).clone()
    p[:, model.parameter_indices("vmax_forward")] = 1.0
    p[:, kcols] = math.inf
    f = model.rates(x, p)[:, krxn]
    ln_k = torch.zeros_like(f)
    done = torch.zeros_like(f, dtype=torch.bool)
    out = torch.full_like(f, math.nan)
    for _ in range(max_iter):
        p[:, kcols] = -torch.exp(ln_k)
        g = model.rates(x, p)[:, krxn]
        r = g / f - 1.0
        pos = r > 0
        lr = torch.where(pos, torch.log(torch.where(pos, r, torch.ones_like(r))), -30.0)
        good = pos & (lr.abs() <= 1.0) & ~done
        out = torch.where(good, ln_k + lr, out)
        done = done | good
        if bool(done.all()):
            break
        ln_k = torch.where(done, ln_k, ln_k + lr)
    if not bool(done.all()):
        bad = sorted(
            {model.reaction_names[int(krxn[j])] for j in (~done).any(0).nonzero().flatten()}
        )
        raise KinfluxError(
            f"model '{model.name}': cannot evaluate the mass-action ratio of reactions "
            f"{bad[:8]} (a substrate concentration is zero or not finite); check the "
            "steady-state concentrations"
        )
    return out


def equilibrium_constants(
    model: KineticModel,
    x: torch.Tensor,
    params: torch.Tensor,
    log_displacement: torch.Tensor,
) -> torch.Tensor:
    """Copy of ``params`` ``(batch, n_params)`` with every ``k_equilibrium`` set to
    ``Q_model / Gamma``; ``log_displacement``: ln Gamma per reaction, ``(n_reactions,)`` or
    ``(batch, n_reactions)`` (dimensionless; Keq in the model's concentration units)."""
    kcols, krxn = _keq_layout(model)
    p = params.reshape(-1, model.n_params).to(torch.float64).clone()
    ln_q = model_log_mass_action_ratio(model, x, p)
    if ln_q.shape[0] > p.shape[0]:
        p = p.expand(ln_q.shape[0], -1).clone()
    lg = log_displacement.reshape(-1, model.n_reactions).to(p)[:, krxn]
    if torch.isnan(lg).any():
        bad = [
            model.reaction_names[int(krxn[j])] for j in torch.isnan(lg).any(0).nonzero().flatten()
        ]
        raise KinfluxError(
            f"model '{model.name}': no displacement (ln Gamma) for reactions {bad[:8]}; "
            "the steady state must carry LnGamma_<rxn> for every reversible reaction"
        )
    p[:, kcols] = torch.exp(ln_q - lg)
    return p


def _log_displacements(steady: SteadyState) -> torch.Tensor:
    m = steady.model
    return torch.tensor(
        [steady.log_displacements.get(r, math.nan) for r in m.reaction_names],
        dtype=torch.float64,
    )


def _check_signs(steady: SteadyState) -> None:
    """Sign rule: ln Gamma < 0 where the net flux is forward, > 0 where backward."""
    m = steady.model
    lg = _log_displacements(steady)
    kcols, krxn = _keq_layout(m)
    v = steady.fluxes.to(torch.float64)[krxn]
    g = lg[krxn]
    bad = ((v > 0) & (g >= 0)) | ((v < 0) & (g <= 0))
    if bad.any():
        names = [m.reaction_names[int(krxn[j])] for j in bad.nonzero().flatten()]
        raise KinfluxError(
            f"steady state of model '{m.name}': displacement and flux direction disagree "
            f"for reactions {names[:8]} (need ln Gamma < 0 for forward, > 0 for backward "
            "net flux); resample the steady state"
        )


def base_parameters(model: KineticModel, steady: SteadyState) -> torch.Tensor:
    """Parameters ``(n_params,)``: YAML values, with constant-species concentrations (uM)
    from ``steady`` and Hill coefficients defaulting to 1 where the YAML has none."""
    p = steady.fill_constants(model.default_parameters(), overwrite=True)
    for c in model.parameter_indices("hill_coefficient"):
        if math.isnan(float(p[c])):
            p[c] = 1.0
    return p


def complete_parameters(
    model: KineticModel, steady: SteadyState, km: torch.Tensor, check_signs: bool = True
) -> torch.Tensor:
    """A batch of Km sets ``(batch, n_km)`` (uM, order of :func:`km_table`) -> complete
    parameter sets ``(batch, n_params)``: Keq from the displacements, Vmax (uM/h)
    back-calculated so that every rate equals the steady-state flux."""
    if check_signs:
        _check_signs(steady)
    tab = km_table(model)
    km = km.reshape(-1, len(tab)).to(torch.float64)
    x = steady.x
    # Q = B/F does not depend on Km or Hill coefficients (they cancel in every law):
    # one evaluation per steady state, broadcast to the batch
    base = equilibrium_constants(
        model,
        x,
        base_parameters(model, steady).clone().nan_to_num(1.0)[None],
        _log_displacements(steady),
    )
    kcols, _ = _keq_layout(model)
    p = base_parameters(model, steady).expand(km.shape[0], -1).clone()
    p[:, tab.columns] = km
    p[:, kcols] = base[:, kcols]
    return backcalculate_vmax(model, x, steady.fluxes.to(torch.float64), p)


def parameters_from_log_km(
    model: KineticModel, steady: SteadyState, log_km: torch.Tensor
) -> torch.Tensor:
    """ln Km ``(batch, n_km)`` (ln uM) -> complete parameters ``(batch, n_params)``."""
    return complete_parameters(model, steady, torch.exp(log_km))


def _km_bounds_model(steady: SteadyState, km_bounds_mm: tuple[float, float]) -> tuple[float, float]:
    lo, hi = km_bounds_mm
    if not (0 < lo < hi and math.isfinite(hi)):
        raise KinfluxError(f"Km bounds must satisfy 0 < low < high (mM), got {km_bounds_mm}")
    per_mm = steady.scaling.concentration * 1e-3  # model units per mM
    return lo * per_mm, hi * per_mm


def sample_km(
    model: KineticModel,
    steady: SteadyState,
    n: int,
    seed: int = 0,
    km_bounds_mm: tuple[float, float] = KM_BOUNDS_MM,
    fixed: dict[str, tuple[float, float]] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """ORACLE draw of ``n`` Km sets: ``(km (n, n_km) uM, sigma (n, n_km))``.

    ``sigma ~ U(sigma_lo, sigma_hi)``, the part of (0, 1) mapping into ``km_bounds_mm``,
    and ``Km = [S] sigma / (1 - sigma)``. ``fixed`` maps Km names to a known range in mM
    (e.g. a measured value +-20 %): those Km are drawn log-uniformly in that range.
    Same seed -> same numbers.
    """
    if n < 1:
        raise KinfluxError(f"number of samples must be >= 1, got {n}")
    tab = km_table(model)
    lo, hi = _km_bounds_model(steady, km_bounds_mm)
    conc = torch.tensor([steady.concentrations[s] for s in tab.species], dtype=torch.float64)
    s_lo = lo / (lo + conc)
    s_hi = hi / (hi + conc)
    g = torch.Generator().manual_seed(int(seed))
    u = torch.rand(n, len(tab), generator=g, dtype=torch.float64)
    sigma = s_lo + (s_hi - s_lo) * u
    km = conc * sigma / (1.0 - sigma)
    km = torch.minimum(torch.maximum(km, torch.tensor(lo)), torch.tensor(hi))
    if fixed:
        per_mm = steady.scaling.concentration * 1e-3
        idx = {nm: i for i, nm in enumerate(tab.names)}
        for name, (a, b) in fixed.items():
            if name not in idx:
                raise KinfluxError(
                    f"fixed Km '{name}' is not a Michaelis constant of model '{model.name}'; "
                    f"examples: {tab.names[:3]}"
                )
            if not 0 < a <= b:
                raise KinfluxError(f"fixed Km '{name}': need 0 < low <= high (mM), got {(a, b)}")
            w = torch.rand(n, generator=g, dtype=torch.float64)
            j = idx[name]
            km[:, j] = torch.exp(math.log(a * per_mm) + w * (math.log(b) - math.log(a)))
            sigma[:, j] = km[:, j] / (km[:, j] + conc[j])
    return km, sigma


def steady_state_residual(
    model: KineticModel, steady: SteadyState, params: torch.Tensor
) -> torch.Tensor:
    """Relative ODE residual per set, ``(batch,)``: max |dx/dt| / max |v_ss|."""
    r = model.dxdt(steady.x, params).abs().amax(dim=-1)
    return r / steady.fluxes.abs().max()


def lambda_max_batch(
    model: KineticModel, x: torch.Tensor, params: torch.Tensor, chunk: int = 500
) -> torch.Tensor:
    """lambda_max (h^-1) of the reduced Jacobian at ``x`` for each set, ``(batch,)``;
    NaN where the parameters are not finite."""
    p = params.reshape(-1, model.n_params)
    out = torch.full((p.shape[0],), math.nan, dtype=torch.float64)
    for i in range(0, p.shape[0], chunk):
        pc = p[i : i + chunk]
        ok = torch.isfinite(pc).all(dim=1)
        if ok.any():
            J = model.jacobian(x, pc[ok])
            lm = torch.full((pc.shape[0],), math.nan, dtype=torch.float64)
            fin = torch.isfinite(J).flatten(1).all(dim=1)
            vals = torch.full((J.shape[0],), math.nan, dtype=torch.float64)
            if fin.any():
                vals[fin] = _lambda_max(J[fin])
            lm[ok] = vals
            out[i : i + chunk] = lm
    return out


@dataclass
class OracleResult:
    """Outcome of :func:`oracle_sample`.

    Attributes:
        params: ``(n, n_params)`` complete parameter sets (uM, uM/h).
        km: ``(n, n_km)`` Km (uM); ``sigma``: the unbiased draws, same shape.
        lambda_max: ``(n,)`` h^-1; ``valid``: ``(n,)`` bool.
        incidence: share of valid sets; ``partition``: h^-1.
        residual: ``(n,)`` relative steady-state residual.
        seconds: wall time of sampling + evaluation.
    """

    params: torch.Tensor
    km: torch.Tensor
    sigma: torch.Tensor
    lambda_max: torch.Tensor
    valid: torch.Tensor
    incidence: float
    partition: float
    residual: torch.Tensor
    seconds: float
    km_names: list[str] = field(default_factory=list)
    parameter_names: list[str] = field(default_factory=list)


def oracle_sample(
    model: KineticModel,
    steady: SteadyState,
    n: int,
    seed: int = 0,
    partition: float | None = None,
    km_bounds_mm: tuple[float, float] = KM_BOUNDS_MM,
    fixed: dict[str, tuple[float, float]] | None = None,
    chunk: int = 500,
) -> OracleResult:
    """ORACLE baseline: ``n`` unbiased Km draws -> parameters -> lambda_max -> incidence.

    ``partition`` (h^-1) defaults to :func:`lambda_partition` ``(134, 24) = -2.5``.
    """
    part = lambda_partition(134.0, 24.0) if partition is None else float(partition)
    t0 = time.perf_counter()
    km, sigma = sample_km(model, steady, n, seed, km_bounds_mm, fixed)
    ps, lms = [], []
    _check_signs(steady)
    for i in range(0, n, chunk):
        p = complete_parameters(model, steady, km[i : i + chunk], check_signs=False)
        ps.append(p)
        lms.append(lambda_max_batch(model, steady.x, p, chunk))
    params, lm = torch.cat(ps), torch.cat(lms)
    seconds = time.perf_counter() - t0
    return OracleResult(
        params=params,
        km=km,
        sigma=sigma,
        lambda_max=lm,
        valid=is_valid(lm, part),
        incidence=_incidence(lm, part),
        partition=part,
        residual=steady_state_residual(model, steady, params),
        seconds=seconds,
        km_names=km_table(model).names,
        parameter_names=list(model.parameter_names),
    )
