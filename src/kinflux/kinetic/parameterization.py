"""Parameterization around a steady state: Km -> Keq -> vmax.

Given a steady state (net fluxes ``v`` in uM/h, concentrations in uM, displacements
Gamma = Q/Keq), a kinetic model is fully parameterized by its Michaelis constants:

1. **Km** (model concentration units, uM), one per substrate/product slot of the rate
   laws that have them, in the order of :func:`km_table`.
2. **Keq** from the displacements: ``Keq = Q_model / Gamma`` where ``Q_model`` is the mass
   action ratio exactly as the engine's rate law sees it (products, substrates and
   displacement modifiers with their exponents), obtained numerically from the engine
   (:func:`model_log_mass_action_ratio`) so that ``Gamma < 1`` <=> forward net rate.
3. **vmax** back-calculated so that every rate equals its steady-state flux: rates are
   linear in vmax, so ``vmax = v_ss / rate(vmax = 1)`` (:func:`backcalculate_vmax`).

:class:`ParameterLayout` does steps 2 and the bookkeeping once per steady state, so that
completing a batch of Km sets costs one batched rate evaluation; it is the engine of
:class:`~kinflux.kinetic.problem.KineticProblem`.

Shapes: Km batches ``(batch, n_km)``; parameter batches ``(batch, n_params)`` in the order
of :attr:`KineticModel.parameter_names`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from kinflux import KinfluxError
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState

__all__ = [
    "KmTable",
    "ParameterLayout",
    "km_table",
    "model_log_mass_action_ratio",
    "equilibrium_constants",
    "base_parameters",
    "backcalculate_vmax",
    "complete_parameters",
    "check_signs",
    "log_displacements",
    "mass_balance_residual",
]


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


def _vmax_layout(model: KineticModel) -> tuple[torch.Tensor, torch.Tensor]:
    cols = model.parameter_indices("vmax_forward")
    rxn = [
        model.reaction_names.index(model.parameter_names[c][len("vmax_forward_") :]) for c in cols
    ]
    return torch.tensor(cols, dtype=torch.long), torch.tensor(rxn, dtype=torch.long)


def model_log_mass_action_ratio(
    model: KineticModel, x: torch.Tensor, params: torch.Tensor, max_iter: int = 40
) -> torch.Tensor:
    """ln Q of every reversible reaction as the engine's rate laws define it.

    The rate laws are ``v = (F - B/Keq) / D`` with ``D`` and ``F`` independent of Keq, so
    ``Q = B/F`` follows from rates at ``Keq = +inf`` (``F/D``) and ``Keq = -K``
    (``(F + B/K)/D``): ``Q/K = v(-K)/v(inf) - 1``. ``K`` is moved towards ``Q`` until the
    ratio is within [1/e, e], which makes the result exact to rounding.

    Args:
        model: the kinetic model.
        x: ``(n_variables,)`` or ``(batch, n_variables)`` uM.
        params: ``(batch, n_params)`` with Km, Hill coefficients and constant
            concentrations set (Km enter the Hill and Convenience backward terms).

    Returns:
        ``(batch, n_keq)`` in the order of ``model.parameter_indices("k_equilibrium")``.
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
    """Parameters with every ``k_equilibrium`` set to ``Q_model / Gamma``.

    Args:
        model: the kinetic model.
        x: steady-state variables, ``(n_variables,)`` uM.
        params: ``(batch, n_params)``.
        log_displacement: ln Gamma per reaction, ``(n_reactions,)`` or
            ``(batch, n_reactions)`` (dimensionless).

    Returns:
        A ``(batch, n_params)`` copy (Keq in the model's concentration units).
    """
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


def log_displacements(steady: SteadyState) -> torch.Tensor:
    """ln Gamma per reaction of a steady state, ``(n_reactions,)``; NaN where absent."""
    m = steady.model
    return torch.tensor(
        [steady.log_displacements.get(r, math.nan) for r in m.reaction_names],
        dtype=torch.float64,
    )


def check_signs(steady: SteadyState) -> None:
    """Sign rule: ln Gamma < 0 where the net flux is forward, > 0 where backward.

    Raises:
        KinfluxError: naming the reactions that break it.
    """
    m = steady.model
    lg = log_displacements(steady)
    _, krxn = _keq_layout(m)
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


def backcalculate_vmax(
    model: KineticModel, x: torch.Tensor, fluxes: torch.Tensor, params: torch.Tensor
) -> torch.Tensor:
    """Parameters with every ``vmax_forward`` set so that ``rates(x) == fluxes``.

    Args:
        model: the kinetic model.
        x: ``(n_variables,)`` or ``(batch, n_variables)`` uM.
        fluxes: ``(n_reactions,)`` or ``(batch, n_reactions)`` uM/h.
        params: ``(batch, n_params)`` or ``(n_params,)`` with Km, Keq, Hill
            coefficients and constant concentrations set.

    Returns:
        A ``(batch, n_params)`` copy.
    """
    p = params.reshape(-1, model.n_params).clone()
    if x.dim() == 2:
        p = p.expand(max(p.shape[0], x.shape[0]), -1).clone()
    cols, rxn = _vmax_layout(model)
    p[:, cols] = 1.0
    unit = model.rates(x, p)[:, rxn]
    p[:, cols] = fluxes.reshape(-1, model.n_reactions)[:, rxn].to(p) / unit
    return p


def mass_balance_residual(steady: SteadyState) -> float:
    """Relative mass balance of a profile: max|S v| / max|v| over the model's variables."""
    S = torch.as_tensor(steady.model.S, dtype=torch.float64)
    v = steady.fluxes.to(torch.float64)
    scale = float(v.abs().max()) if v.numel() else 0.0
    if scale == 0.0:
        return math.inf
    return float((S @ v).abs().max()) / scale if S.shape[0] else 0.0


def _check_finite(steady: SteadyState) -> None:
    m = steady.model
    bad_v = [m.reaction_names[i] for i in (~torch.isfinite(steady.fluxes)).nonzero().flatten()]
    bad_c = [s for s, c in steady.concentrations.items() if not (math.isfinite(c) and c > 0)]
    bad_g = [r for r, g in steady.log_displacements.items() if not math.isfinite(g)]
    for what, bad, fix in (
        ("fluxes", bad_v, "every net flux must be a finite number"),
        ("concentrations", bad_c, "every concentration must be finite and > 0"),
        ("ln Gamma", bad_g, "every displacement must be finite"),
    ):
        if bad:
            raise KinfluxError(
                f"steady state of model '{m.name}': non-finite or invalid {what} for "
                f"{bad[:8]}; {fix} (resample or fix the profile)"
            )


class ParameterLayout:
    """Everything about completing Km sets that does not depend on Km, computed once.

    Args:
        model: the kinetic model.
        steady: the steady state (model units).
        max_residual: largest relative mass balance ``max|S v|/max|v|`` accepted.
        accept_residual: warn instead of raising when the residual is larger.

    Attributes:
        x: steady-state variables ``(n_variables,)`` uM.
        km_names, km_species: Km names and their reactants, ``n_km`` each.
        km_columns: ``(n_km,)`` parameter columns; ``log_conc_molar``: ``(n_km,)`` ln(mol/L)
            of each Km's reactant at the steady state.
        base: ``(n_params,)`` constants, Hill coefficients, volumes and Keq filled; Km and
            vmax columns are overwritten per batch.
        residual: the profile's relative mass-balance residual.
    """

    def __init__(
        self,
        model: KineticModel,
        steady: SteadyState,
        max_residual: float = 1e-6,
        accept_residual: bool = False,
    ) -> None:
        from kinflux.kinetic.problem import SteadyStateResidualError

        _check_finite(steady)
        self.residual = mass_balance_residual(steady)
        if not self.residual <= max_residual:
            msg = (
                f"profile of model '{model.name}' is not a steady state: relative residual "
                f"max|S v|/max|v| = {self.residual:.3g} > {max_residual:g}"
            )
            if not accept_residual:
                raise SteadyStateResidualError(
                    msg + "; resample it, or accept it explicitly (accept_residual=True, "
                    "CLI --accept-residual)"
                )
            warnings.warn(msg + " (accepted)", stacklevel=3)
        check_signs(steady)
        self.model = model
        self.x = steady.x
        tab = km_table(model)
        self.km_names = tab.names
        self.km_species = tab.species
        self.km_columns = tab.columns
        self.concentration_scale = float(steady.scaling.concentration)
        conc = torch.tensor([steady.concentrations[s] for s in tab.species], dtype=torch.float64)
        self.log_conc_molar = torch.log(conc / self.concentration_scale)
        p0 = base_parameters(model, steady)
        keq = equilibrium_constants(
            model, self.x, p0.nan_to_num(1.0)[None], log_displacements(steady)
        )
        kcols, _ = _keq_layout(model)
        p0[kcols] = keq[0, kcols]
        self.vmax_columns, vmax_rxn = _vmax_layout(model)
        self.target = steady.fluxes.to(torch.float64)[vmax_rxn]
        self.vmax_rxn = vmax_rxn
        p0[self.vmax_columns] = 1.0
        self.base = p0
        self._dev: dict[torch.device, tuple] = {}

    def _on(self, device: torch.device) -> tuple:
        if device not in self._dev:
            self._dev[device] = tuple(
                t.to(device)
                for t in (
                    self.base,
                    self.x,
                    self.km_columns,
                    self.vmax_columns,
                    self.vmax_rxn,
                    self.target,
                )
            )
        return self._dev[device]

    def parameters(self, log_km: torch.Tensor) -> torch.Tensor:
        """ln(Km in mol/L) ``(batch, n_km)`` -> complete sets ``(batch, n_params)``."""
        n_km = len(self.km_names)
        if log_km.shape[-1] != n_km:
            raise KinfluxError(
                f"log_km has {log_km.shape[-1]} columns, model '{self.model.name}' has "
                f"{n_km} Michaelis constants"
            )
        lk = log_km.reshape(-1, n_km).to(torch.float64)
        base, x, kc, vc, vr, target = self._on(lk.device)
        p = base.expand(lk.shape[0], -1).clone()
        p[:, kc] = torch.exp(lk + math.log(self.concentration_scale))
        unit = self.model.rates(x, p).index_select(1, vr)
        p[:, vc] = target / unit
        return p


def complete_parameters(
    model: KineticModel, steady: SteadyState, km: torch.Tensor, check: bool = True
) -> torch.Tensor:
    """Km sets ``(batch, n_km)`` (uM, order of :func:`km_table`) -> complete sets
    ``(batch, n_params)``: Keq from the displacements, vmax (uM/h) back-calculated.

    A one-off convenience; for repeated batches build a :class:`ParameterLayout` (or a
    :class:`~kinflux.kinetic.problem.KineticProblem`) once.
    """
    lay = ParameterLayout(model, steady, max_residual=math.inf if not check else 1e-6)
    km = km.reshape(-1, len(lay.km_names)).to(torch.float64)
    return lay.parameters(torch.log(km / lay.concentration_scale))
