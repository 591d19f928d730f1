"""Sampled steady-state profiles: :class:`SteadyStateSamples` (fluxes, concentrations,
displacements of many profiles of one model), saved as one ``.npz``. Produced by
:func:`kinflux.kinetic.sampling.sample_steady_states`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinflux import KinfluxError
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState
from kinflux.kinetic.units import Scaling

__all__ = ["SteadyStateSamples"]


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

    def profile(self, i: int) -> SteadyState:
        """Profile ``i`` as a :class:`SteadyState` (alias of :meth:`steady_state`), e.g.
        ``KineticProblem(samples.model, samples.profile(i))``."""
        return self.steady_state(i)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """One ``.npz`` (:func:`kinflux.io.save_npz`): fluxes, concentrations, ln Gamma,
        names, scaling and metadata; atomic, refuses to overwrite unless ``force``."""
        from kinflux.io import save_npz

        return save_npz(
            path,
            {
                "fluxes_mmol_gdw_h": self.fluxes.numpy(),
                "concentrations_uM": self.concentrations.numpy(),
                "log_displacements": self.log_displacements.numpy(),
                "pattern": self.pattern.numpy(),
                "reactions": np.array(self.model.reaction_names),
                "species": np.array(self.model.species),
            },
            {**self.metadata, "scaling": asdict(self.scaling)},
            force=force,
        )

    @classmethod
    def load(cls, path: str | Path, model: KineticModel) -> SteadyStateSamples:
        """Read :meth:`save` output for ``model``.

        Raises:
            KinfluxError: the file is missing or not a steady-state file, its reactions or
                species differ from the model's, or it holds non-finite numbers.
        """
        from kinflux.io import load_npz

        p = Path(path)
        req = ["fluxes_mmol_gdw_h", "concentrations_uM", "log_displacements", "pattern"]
        d, meta = load_npz(p, required=req + ["reactions", "species"], what="steady-state file")
        if list(d["reactions"]) != model.reaction_names or list(d["species"]) != model.species:
            raise KinfluxError(
                f"{p}: reactions/species do not match model '{model.name}'; sample the "
                "steady states with this model"
            )
        fl, conc = d["fluxes_mmol_gdw_h"], d["concentrations_uM"]
        n = fl.shape[0] if fl.ndim == 2 else -1
        if fl.ndim != 2 or conc.shape[0] != n or d["log_displacements"].shape[0] != n:
            raise KinfluxError(f"{p}: arrays disagree in their number of profiles")
        for name, arr in (("fluxes_mmol_gdw_h", fl), ("concentrations_uM", conc)):
            bad = ~np.isfinite(arr)
            if bad.any():
                i, j = (int(k) for k in np.argwhere(bad)[0])
                col = (model.reaction_names if name.startswith("flux") else model.species)[j]
                raise KinfluxError(
                    f"{p}: profile {i} has a non-finite value in {name} ('{col}'); "
                    "resample the steady states"
                )
        if (conc <= 0).any():
            i, j = (int(k) for k in np.argwhere(conc <= 0)[0])
            raise KinfluxError(
                f"{p}: profile {i}: concentration of '{model.species[j]}' is not > 0"
            )
        try:
            scaling = Scaling(**meta.pop("scaling"))
        except (KeyError, TypeError) as exc:
            raise KinfluxError(f"{p}: no valid 'scaling' in the metadata ({exc})") from exc
        return cls(
            model=model,
            fluxes=torch.from_numpy(fl),
            concentrations=torch.from_numpy(conc),
            log_displacements=torch.from_numpy(d["log_displacements"]),
            pattern=torch.from_numpy(d["pattern"]),
            scaling=scaling,
            metadata=meta,
        )
