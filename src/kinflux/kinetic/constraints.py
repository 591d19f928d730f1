"""Constraints of the steady-state sampler, and the published anthranilate setting.

Fluxes in mmol/gDW/h, concentrations in mM (converted to model units, uM, with the
:class:`~kinflux.kinetic.units.Scaling`). See :mod:`kinflux.kinetic.sampling`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kinflux import KinfluxError
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.units import STRAIN_1_SCALING, Scaling

__all__ = [
    "COFACTORS",
    "DEFAULT_CONCENTRATION_MM",
    "PROTON_PH7_MM",
    "InfeasibleConstraintsError",
    "SteadyStateConstraints",
    "anthranilate_constraints",
]

#: default concentration range, mM (1 uM - 10 mM)
DEFAULT_CONCENTRATION_MM = (1e-3, 10.0)
#: proton concentration at pH 7, mM (the anthranilate reactor's h_e, 1e-7 M)
PROTON_PH7_MM = 1e-4
#: cofactor pools that ``anthranilate_constraints(physiological=True)`` keeps near the
#: E. coli TFA reference of varma_strain_1
COFACTORS = ("atp_c", "adp_c", "amp_c", "nad_c", "nadh_c", "nadp_c", "nadph_c")


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
        max_turnover_s: if set, every variable pool must turn over within this many
            seconds at its profile's fluxes (:mod:`kinflux.kinetic.turnover`): the upper
            concentration bounds are tightened per profile to ``max_turnover_s * flux
            through the pool``. None (default): no turnover limit.
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
    max_turnover_s: float | None = None

    def __post_init__(self) -> None:
        t = self.max_turnover_s
        if t is not None and not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            raise KinfluxError(f"max_turnover_s must be a number of seconds > 0, got {t!r}")


def anthranilate_constraints(
    model: KineticModel | None = None,
    growth_min: float = 0.26,
    anthranilate_min: float = 0.14,
    glucose_uptake_max: float = 10.0,
    physiological: bool = False,
    cofactor_fold: float = 2.0,
    max_turnover_s: float | None = None,
    ph: float | tuple[float, float] = 7.0,
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
      carbon source; O2, NH4, Pi, CO2, H+ and tryptophan stay open both ways);
    - with ``physiological`` (kinflux, not in the paper's text): protons ``h_c``, ``h_p``,
      ``h_e`` at pH 7 (0.1 uM, +-0.1 %; the default 1 uM - 10 mM range puts every
      compartment at pH 3-6) and the pools of :data:`COFACTORS` within ``cofactor_fold``
      of the E. coli TFA reference of varma_strain_1 (bundled
      ``tfa_reference_strain_1.csv``; capped at 10 mM). Without them the sampled profiles
      hold ATP near 1 uM (ATP/ADP ~0.003), because random flux directions run ATP-making
      steps (HEX1, ATPS4rpp) backwards. A cytosol at pH 7.5 (as in the strain_1
      reference) leaves no feasible profile with these Keq. ``ph``: the pH of the three
      proton pools, one value (+-0.1 %) or a range ``(low, high)``, e.g. ``(6, 7)``;
    - ``max_turnover_s``: every variable pool turns over within that many seconds
      (:attr:`SteadyStateConstraints.max_turnover_s`). With pH pinned at 7, pools such as
      phenylpyruvate cannot turn over faster than ~10 min in most direction patterns; a
      pH range of 6-7 leaves patterns where every pool turns over within ~20 s.

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
    if not (math.isfinite(bs) and bs > 0):
        raise KinfluxError(f"{path}: 'biomass_scaling' is {bs!r}; it must be a number > 0")
    for name, val in (("growth_min", growth_min), ("anthranilate_min", anthranilate_min)):
        if not (math.isfinite(val) and val >= 0):
            raise KinfluxError(f"{name} must be a finite number >= 0, got {val!r}")
    if not (math.isfinite(glucose_uptake_max) and glucose_uptake_max > 0):
        raise KinfluxError(f"glucose_uptake_max must be > 0 mmol/gDW/h, got {glucose_uptake_max!r}")
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
    conc: dict[str, tuple[float, float]] = {}
    if physiological:
        if not (math.isfinite(cofactor_fold) and cofactor_fold >= 1):
            raise KinfluxError(f"cofactor_fold must be a finite number >= 1, got {cofactor_fold!r}")
        conc = {h: _proton_range_mm(ph) for h in ("h_c", "h_p", "h_e")}
        hi_mm = DEFAULT_CONCENTRATION_MM[1]
        for sp, mm in _strain_1_pools_mm().items():
            c = min(mm, hi_mm)
            conc[sp] = (c / cofactor_fold, min(c * cofactor_fold, hi_mm))
        if model is not None:
            conc = {k: v for k, v in conc.items() if k in model.species}
    return SteadyStateConstraints(
        flux_bounds=bounds,
        concentration_bounds=conc,
        scaling=scaling,
        max_turnover_s=max_turnover_s,
    )


def _proton_range_mm(ph: float | tuple[float, float]) -> tuple[float, float]:
    """Proton range (mM) for a pH (+-0.1 % around it) or a pH range ``(low, high)``."""
    lo, hi = (ph, ph) if isinstance(ph, (int, float)) else tuple(ph)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi < 14):
        raise KinfluxError(f"ph must be a pH or a range (low, high) within (0, 14), got {ph!r}")
    w = 1.001 if lo == hi else 1.0
    return 10.0 ** (3.0 - hi) / w, 10.0 ** (3.0 - lo) * w


def _strain_1_pools_mm() -> dict[str, float]:
    """:data:`COFACTORS` concentrations (mM) of the bundled strain_1 TFA reference."""
    import pandas as pd

    from kinflux.datasets import kinetic_model_path

    path = kinetic_model_path("tfa_reference_strain_1")
    row = pd.read_csv(path, index_col=0).iloc[0]
    out = {}
    for sp in COFACTORS:
        col = f"LC_{sp}"
        val = float(row[col]) if col in row.index else math.nan
        if not math.isfinite(val):
            raise KinfluxError(f"{path}: no finite '{col}' (ln mol/L); reinstall kinflux")
        out[sp] = math.exp(val) * 1e3
    return out
