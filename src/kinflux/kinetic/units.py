"""Units and scalings of the kinetic engine — the one place where they are defined.

Model units (what every tensor of :mod:`kinflux.kinetic` holds):

- concentrations: ``concentration_scaling`` x mol/L. With the SKiMpy/RENAISSANCE value
  1e6 this is **micromolar (uM)**; Michaelis constants share this unit.
- time: hours x ``time_scaling`` (1.0 -> **h**); eigenvalues are in **h^-1**.
- rates / fluxes: model concentration per model time (**uM/h** by default); Vmax too.

Thermodynamics-based FBA profiles give net fluxes in **mmol/gDW/h** and log
concentrations ``LC_`` in **ln(mol/L)**. The conversions (SKiMpy ``load_fluxes`` /
``load_concentrations``) are

    concentration [model] = exp(LC) * concentration_scaling
    flux [model] = flux [mmol/gDW/h] * 1e-3 [mol/mmol] * gDW_gWW [gDW/gWW]
                   * density [gWW/L cell] * concentration_scaling / time_scaling

i.e. with density 1200 g/L, gDW/gWW 0.3 and scaling 1e6: 1 mmol/gDW/h = 3.6e5 uM/h.
The reactor files bundled with kinflux (``single_species_reactor.yaml``,
``anthranilate_bioreactor.yaml``) carry these four numbers under ``scaling:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from kinflux import KinfluxError

__all__ = [
    "Scaling",
    "STRAIN_1_SCALING",
    "ANTHRANILATE_SCALING",
    "RENAISSANCE_TRAINING_SCALING",
    "GAS_CONSTANT_KJ",
    "TEMPERATURE_K",
]

#: gas constant in kJ/(mol K), as used by pytfa
GAS_CONSTANT_KJ = 8.314462618e-3
#: temperature of the TFA profiles, K
TEMPERATURE_K = 298.15


@dataclass(frozen=True)
class Scaling:
    """Unit conversion between TFA profiles and kinetic-model units.

    Attributes:
        concentration: model concentration units per mol/L (1e6 -> uM).
        density: cell density, g wet weight per L of cell volume.
        gdw_gww: dry-to-wet weight ratio, gDW/gWW.
        time: model time units per hour (1.0 -> h).
    """

    concentration: float = 1e6
    density: float = 1200.0
    gdw_gww: float = 0.3
    time: float = 1.0

    @property
    def cell_factor(self) -> float:
        """gDW per L of cell volume: ``density * gdw_gww`` (360 for strain_1, 419.9 for the
        anthranilate reactor, 300 in RENAISSANCE's training code)."""
        return self.density * self.gdw_gww

    @property
    def flux_factor(self) -> float:
        """Model flux units (uM/h) per mmol/gDW/h."""
        return 1e-3 * self.gdw_gww * self.density * self.concentration / self.time

    def flux_to_model(self, flux_mmol_gdw_h: float) -> float:
        """mmol/gDW/h -> model units (uM/h by default)."""
        return flux_mmol_gdw_h * self.flux_factor

    def flux_from_model(self, flux_model: float) -> float:
        """Model units (uM/h) -> mmol/gDW/h."""
        return flux_model / self.flux_factor

    def concentration_from_lc(self, ln_mol_per_l: float) -> float:
        """ln(mol/L) -> model concentration (uM by default)."""
        import math

        return math.exp(ln_mol_per_l) * self.concentration

    @classmethod
    def from_reactor_yaml(cls, path: str | Path) -> Scaling:
        """Read the ``scaling:`` block of a SKiMpy reactor file."""
        p = Path(path)
        try:
            block = yaml.safe_load(p.read_text())["scaling"]
            out = cls(
                concentration=float(block["concentration"]),
                density=float(block["density"]),
                gdw_gww=float(block["gDW_gWW"]),
                time=float(block["time"]),
            )
        except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
            raise KinfluxError(
                f"{p}: cannot read the 'scaling' block (concentration, density, gDW_gWW, "
                f"time): {exc}; fix the file or pass a Scaling(...) explicitly"
            ) from exc
        out.check(str(p))
        return out

    def check(self, where: str = "scaling") -> None:
        """Every field finite and > 0 (:class:`KinfluxError` naming the field otherwise)."""
        import math

        for name in ("concentration", "density", "gdw_gww", "time"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise KinfluxError(f"{where}: scaling field '{name}' is {v!r}; it must be > 0")


#: scaling of the strain_1 profile (single_species_reactor.yaml, SKiMpy varma tutorial)
STRAIN_1_SCALING = Scaling(concentration=1e6, density=1200.0, gdw_gww=0.3, time=1.0)


#: scaling of ``anthranilate_bioreactor.yaml`` and of RENAISSANCE's saved outputs
#: (density 1105 g/L, gDW/gWW 0.38: 419.9 gDW/L)
ANTHRANILATE_SCALING = Scaling(concentration=1e6, density=1105.0, gdw_gww=0.38, time=1.0)

#: scaling in RENAISSANCE's training code (density 1200 g/L, gDW/gWW 0.25: 300 gDW/L).
#: Rates, and so every eigenvalue, are proportional to ``cell_factor``: a partition of
#: -2.5 h^-1 there is -2.5 * 419.9 / 300 = -3.50 h^-1 in :data:`ANTHRANILATE_SCALING`.
RENAISSANCE_TRAINING_SCALING = Scaling(concentration=1e6, density=1200.0, gdw_gww=0.25, time=1.0)
