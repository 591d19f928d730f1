"""Reference steady states from thermodynamics-based FBA (TFA) profiles.

A TFA profile (one row of a pytfa sample table, e.g. ``tfa_reference_strain_1.csv``) holds
forward and ``<rxn>_reverse_<hash>`` fluxes (mmol/gDW/h), ``LC_<met>`` = ln(mol/L),
``DG_<rxn>``/``DGo_<rxn>`` (kJ/mol) and ``LnGamma_<rxn>`` = ln of the thermodynamic
displacement Gamma = Q/Keq. :class:`SteadyState` converts them into model units with a
:class:`~kinflux.kinetic.units.Scaling` (see that module for the formulas).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from kinflux import KinfluxError
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.units import STRAIN_1_SCALING, Scaling

__all__ = ["SteadyState", "sanitize_met_id"]


def sanitize_met_id(tfa_id: str) -> str:
    """TFA/cobra metabolite id -> SKiMpy reactant name (``glc-D_e`` -> ``glc_D_e``,
    ``13dpg_c`` -> ``_13dpg_c``)."""
    s = tfa_id.replace("-", "_")
    return "_" + s if s[:1].isdigit() else s


@dataclass
class SteadyState:
    """A reference state of a kinetic model, in model units.

    Attributes:
        fluxes: net fluxes, ``(n_reactions,)`` uM/h, model reaction order.
        concentrations: ``{species: uM}`` for every species found in the profile.
        log_displacements: ``{reaction: ln Gamma}`` (Gamma = Q/Keq, dimensionless).
        delta_g: ``{reaction: kJ/mol}``.
        scaling: the unit conversion used.
        fluxes_mmol: net fluxes in mmol/gDW/h, ``(n_reactions,)``.
    """

    model: KineticModel
    fluxes: torch.Tensor
    concentrations: dict[str, float]
    log_displacements: dict[str, float] = field(default_factory=dict)
    delta_g: dict[str, float] = field(default_factory=dict)
    scaling: Scaling = STRAIN_1_SCALING
    fluxes_mmol: torch.Tensor | None = None

    @classmethod
    def from_tfa_csv(
        cls,
        path: str | Path,
        model: KineticModel,
        scaling: Scaling = STRAIN_1_SCALING,
        row: int = 0,
    ) -> SteadyState:
        """Read row ``row`` of a pytfa sample CSV for ``model``.

        Raises :class:`KinfluxError` naming the file and the missing reactions or
        species if the profile does not cover the model.
        """
        p = Path(path)
        if not p.is_file():
            raise KinfluxError(f"{p}: no such TFA profile file")
        try:
            df = pd.read_csv(p, index_col=0)
        except (
            OSError,
            UnicodeDecodeError,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
        ) as exc:
            raise KinfluxError(f"{p}: cannot read TFA profile ({exc})") from exc
        if len(df) == 0:
            raise KinfluxError(f"{p}: the profile table has no rows")
        if not 0 <= row < len(df):
            raise KinfluxError(f"{p}: has {len(df)} rows (0..{len(df) - 1}), row {row} requested")
        rec = df.iloc[row]
        cols = set(df.columns)
        reverse = {}
        for c in cols:
            mt = re.match(r"^(.*)_reverse_[0-9a-f]{5}$", c)
            if mt:
                reverse[mt.group(1)] = c
        missing = [r for r in model.reaction_names if r not in cols]
        if missing:
            raise KinfluxError(
                f"{p}: no flux column for reactions {missing[:8]} of model '{model.name}'; "
                "is this the profile the model was built for?"
            )
        used = [r for r in model.reaction_names] + [
            reverse[r] for r in model.reaction_names if r in reverse
        ]
        used += [c for c in cols if c.startswith("LC_") or c.startswith("LnGamma_")]
        vals = pd.to_numeric(rec[used], errors="coerce")
        bad = [c for c in used if not math.isfinite(float(vals[c]))]
        if bad:
            raise KinfluxError(
                f"{p}: row {row} has missing, non-numeric or non-finite values in columns "
                f"{bad[:8]}; fix or drop that profile"
            )
        dg_cols = [f"DG_{r}" for r in model.reaction_names if f"DG_{r}" in cols]
        rec = pd.concat([vals, pd.to_numeric(rec[dg_cols], errors="coerce")])
        net = []
        for r in model.reaction_names:
            f = float(rec[r])
            if r in reverse:
                f -= float(rec[reverse[r]])
            net.append(f)
        fl_mmol = torch.tensor(net, dtype=torch.float64)
        conc = {}
        for c in cols:
            if c.startswith("LC_"):
                conc[sanitize_met_id(c[3:])] = math.exp(float(rec[c])) * scaling.concentration
        absent = [s for s in model.species if s not in conc]
        if absent:
            raise KinfluxError(
                f"{p}: no LC_ column for species {absent[:8]} of model '{model.name}'"
            )
        lng = {
            r: float(rec[f"LnGamma_{r}"]) for r in model.reaction_names if f"LnGamma_{r}" in cols
        }
        dg = {r: float(rec[f"DG_{r}"]) for r in model.reaction_names if f"DG_{r}" in cols}
        return cls(
            model=model,
            fluxes=fl_mmol * scaling.flux_factor,
            concentrations=conc,
            log_displacements=lng,
            delta_g=dg,
            scaling=scaling,
            fluxes_mmol=fl_mmol,
        )

    @property
    def x(self) -> torch.Tensor:
        """Concentrations of the model variables, ``(n_variables,)`` uM."""
        return torch.tensor(
            [self.concentrations[s] for s in self.model.variables], dtype=torch.float64
        )

    def constant_values(self) -> dict[str, float]:
        """Concentrations of the model's constant species (boundaries, small molecules)."""
        return {s: self.concentrations[s] for s in self.model.constants}

    def fill_constants(self, params: torch.Tensor, overwrite: bool = False) -> torch.Tensor:
        """Copy of ``params`` (``(..., n_params)``) with constant-species concentrations
        taken from this state where they are NaN (or everywhere if ``overwrite``)."""
        out = params.clone()
        for s, v in self.constant_values().items():
            j = self.model.parameter_index(s)
            col = out[..., j]
            out[..., j] = torch.where(torch.isnan(col) | overwrite, torch.full_like(col, v), col)
        return out

    def displacements(self) -> torch.Tensor:
        """Gamma = Q/Keq per reaction, ``(n_reactions,)``; NaN where the profile has none."""
        return torch.tensor(
            [math.exp(self.log_displacements.get(r, math.nan)) for r in self.model.reaction_names],
            dtype=torch.float64,
        )

    @classmethod
    def load(
        cls,
        path: str | Path,
        model: KineticModel,
        profile: int = 0,
        scaling: Scaling | None = None,
    ) -> SteadyState:
        """A steady state from a TFA CSV (row ``profile``) or a steady-state ``.npz``
        written by :meth:`~kinflux.kinetic.sampling.SteadyStateSamples.save` (profile
        ``profile``). ``scaling`` converts a CSV (default :data:`STRAIN_1_SCALING`); an
        ``.npz`` carries its own."""
        p = Path(path)
        if p.suffix == ".npz":
            from kinflux.kinetic.sampling import SteadyStateSamples

            ss = SteadyStateSamples.load(p, model).steady_state(profile)
            return ss if scaling is None else ss.rescaled(scaling)
        return cls.from_tfa_csv(p, model, scaling=scaling or STRAIN_1_SCALING, row=profile)

    def rescaled(self, scaling: Scaling) -> SteadyState:
        """The same profile in the model units of another :class:`Scaling`.

        Fluxes are recomputed from the profile's mmol/gDW/h values, concentrations from
        mol/L; displacements and Gibbs energies do not depend on units. Raises
        :class:`KinfluxError` when the profile has no fluxes in mmol/gDW/h.
        """
        if scaling == self.scaling:
            return self
        if self.fluxes_mmol is None:
            raise KinfluxError(
                f"steady state of model '{self.model.name}' has no fluxes in mmol/gDW/h; "
                "build it with from_tfa_csv or from steady-state samples to change its scaling"
            )
        ratio = scaling.concentration / self.scaling.concentration
        return SteadyState(
            model=self.model,
            fluxes=self.fluxes_mmol.to(torch.float64) * scaling.flux_factor,
            concentrations={k: v * ratio for k, v in self.concentrations.items()},
            log_displacements=dict(self.log_displacements),
            delta_g=dict(self.delta_g),
            scaling=scaling,
            fluxes_mmol=self.fluxes_mmol.clone(),
        )

    def mass_balance(self) -> dict[str, float]:
        """``S v`` per variable at the reference fluxes (uM/h); ~0 at a true steady state."""
        sv = torch.as_tensor(self.model.S) @ self.fluxes
        return dict(zip(self.model.variables, sv.tolist(), strict=True))
