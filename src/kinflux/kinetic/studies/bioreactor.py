"""Batch fermentation of valid kinetic models (RENAISSANCE's bioreactor study).

A SKiMpy reactor file (``anthranilate_bioreactor.yaml``, ``single_species_reactor.yaml``)
puts one strain's kinetic model in a stirred batch reactor. kinflux's reading of it
(:class:`Bioreactor`), every conversion an explicit field:

- **states**: the cell's independent species ``x_ind`` (uM, cell volume), the medium
  ``M`` (uM, reactor volume; every species of the extracellular compartment except the
  file's ``boundary_conditions``, which stay at their initial value) and the number of
  cells ``N``.
- **medium**: ``dM/dt = N (cell_volume_e / reactor_volume) S_M v``, with ``v`` (uM/h) the
  rates of one cell, ``S_M`` the medium rows of the stoichiometry, ``cell_volume_e`` the
  model's parameter (1 um^3) and ``reactor_volume`` the file's value in the same unit
  (5e13 um^3 = 50 mL). The rate laws see the current medium in place of the model's
  constant extracellular concentrations.
- **growth**: ``dN/dt = mu N``. With ``growth="flux"`` (default) ``mu = biomass_scaling x
  v_bio [mmol/gDW/h]`` h^-1, the reading kinflux's steady-state sampler uses (the file's
  comment: biomass_scaling = DM_biomass / LMPD_biomass); ``growth="skimpy"`` takes the
  literal SKiMpy reactor ODE, ``mu = v_bio [model units] / biomass_scaling``. On
  ``varma_strain_1`` they give 0.69 and 0.25 h^-1 at the steady state; on the
  anthranilate model only the first gives growth (the second ~1e-6 h^-1).
- **cells**: ``N(0) = initial_biomass x volume / cell_mass`` (0.037 g/L x 0.05 L /
  0.28e-12 g); biomass in g/L is ``N cell_mass / volume``.
- **initial state**: the cell at its steady state; the medium from the file's
  ``initial_medium`` (mol/L; ``medium="file"``) or from the steady state
  (``medium="steady_state"``, as RENAISSANCE's scripts do); species not in the file start
  at their steady-state value.
- **integration**: 60 h, 1,000 output points, BDF with a Jacobian that is analytic in the
  cell's species and by finite differences in the medium, a wall-time limit per model.

No dilution of intracellular species by growth (as in the published runs). The
published curves were compared with fermentation data that kinflux does not ship: report
simulated ranges only.

Example:
    >>> from kinflux.kinetic.problem import KineticProblem
    >>> from kinflux.kinetic.studies.sources import OracleSource
    >>> pr = KineticProblem.bundled("varma_strain_1")
    >>> reactor = Bioreactor.from_yaml("single_species_reactor")
    >>> P = OracleSource(pr, batch=20).valid_parameters(1, seed=0)
    >>> res = simulate_bioreactor(pr, P, reactor, t_end=0.02, n_times=5, medium="steady_state")
    >>> res.status, sorted(res.curves()), res.biomass.shape
    (['ok'], ['ac_e', 'biomass', 'glc_D_e'], (1, 5))
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from kinflux import KinfluxError
from kinflux.kinetic.studies.integration import integrate_many, map_batches
from kinflux.kinetic.units import Scaling

__all__ = ["MOLAR_MASS", "Bioreactor", "BioreactorResult", "simulate_bioreactor"]

#: molar masses (g/mol) of the reported medium species
MOLAR_MASS = {"glc_D_e": 180.156, "anth_e": 136.13, "ac_e": 59.04, "trp_L_e": 204.23}


@dataclass
class Bioreactor:
    """A batch reactor set-up (SKiMpy reactor file).

    Attributes:
        biomass_reaction: the strain's lumped biomass reaction.
        biomass_scaling: growth per biomass-reaction flux (see the module docstring).
        initial_medium: ``{species: mol/L}``.
        reactor_volume: reactor volume in cell-volume units (um^3).
        constant: medium species held at their initial value.
        scaling: the file's unit conversion.
        extracellular_compartment: compartment of the medium species.
        initial_biomass: g/L at t = 0.
        cell_mass: g per cell.
        source: the file read.
    """

    biomass_reaction: str
    biomass_scaling: float
    initial_medium: dict[str, float]
    reactor_volume: float
    constant: list[str] = field(default_factory=list)
    scaling: Scaling = field(default_factory=Scaling)
    extracellular_compartment: str = "e"
    initial_biomass: float = 0.037
    cell_mass: float = 0.28e-12
    source: str = "<memory>"

    @property
    def volume_l(self) -> float:
        """Reactor volume, L (cell-volume unit um^3 = 1e-15 L)."""
        return self.reactor_volume * 1e-15

    @property
    def initial_cells(self) -> float:
        """Cells at t = 0: ``initial_biomass x volume_l / cell_mass``."""
        return self.initial_biomass * self.volume_l / self.cell_mass

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **kwargs: Any) -> Bioreactor:
        """Read a SKiMpy reactor file (path or bundled name, e.g.
        ``"anthranilate_bioreactor"``); ``kwargs`` override fields."""
        p = Path(path)
        if not p.exists():
            from kinflux.datasets import kinetic_model_path

            p = kinetic_model_path(str(path))
        try:
            d = yaml.safe_load(p.read_text())
            strain = next(iter(d["biomass"]))
            fields = {
                "biomass_reaction": str(d["biomass"][strain]),
                "biomass_scaling": float(d["biomass_scaling"][strain]),
                "initial_medium": {k: float(v) for k, v in (d["initial_medium"] or {}).items()},
                "reactor_volume": float(d["reactor_volume"]),
                "constant": [
                    str(b["reactant"]) for b in (d.get("boundary_conditions") or {}).values()
                ],
                "extracellular_compartment": str(d.get("extracellular_compartment", "e")),
                "scaling": Scaling.from_reactor_yaml(p),
                "source": str(p),
            }
        except (OSError, KeyError, TypeError, ValueError, StopIteration, yaml.YAMLError) as e:
            raise KinfluxError(
                f"{p}: not a SKiMpy reactor file ({type(e).__name__}: {e}); it needs biomass, "
                "biomass_scaling, initial_medium, reactor_volume and scaling"
            ) from e
        fields.update(kwargs)
        return cls(**fields)


class _Reactor:
    """The reactor ODE of many models, batched. States ``[x_ind, medium, cells]``."""

    def __init__(self, problem: Any, reactor: Bioreactor, params: torch.Tensor, growth: str):
        m = problem.model
        self.m, self.P = m, params
        ext = reactor.extracellular_compartment
        med = [s for s in m.constants if m.compartment_of.get(s) == ext]
        self.medium = [s for s in med if s not in set(reactor.constant)]
        self.mcols = torch.tensor([m.parameter_index(s) for s in self.medium], dtype=torch.long)
        sidx = {s: i for i, s in enumerate(m.species)}
        self.S_med = torch.as_tensor(m.S_full[[sidx[s] for s in self.medium]])
        self.ind = list(m.independent_idx)
        self.a, self.b = len(self.ind), len(self.medium)
        self.n_states = self.a + self.b + 1
        x_ss = problem.steady_state.x
        self.totals = m.moiety_totals(x_ss[None])
        self.j_bio = m.reaction_names.index(reactor.biomass_reaction)
        ce = params[:, m.parameter_index(f"cell_volume_{ext}")]
        self.k_e = ce / reactor.reactor_volume  # (n_models,)
        # mu = c_mu * v_bio, both per unit of the model's time (scaling.time per hour),
        # like the cell's own rates: "flux" converts v_bio to mmol/gDW/h, then h -> model
        if growth == "flux":
            sc = problem.scaling
            self.c_mu = reactor.biomass_scaling / sc.flux_factor / float(sc.time)
        elif growth == "skimpy":
            self.c_mu = 1.0 / reactor.biomass_scaling
        else:
            raise KinfluxError(f"growth={growth!r}: use 'flux' or 'skimpy'")
        self.L = torch.as_tensor(m.link)
        self.S_ind = torch.as_tensor(m.S[self.ind])

    def _eval(self, y: torch.Tensor, members: list[int]) -> tuple:
        P = self.P[members].clone()
        P[:, self.mcols] = y[:, self.a : self.a + self.b]
        x = self.m.full_state(y[:, : self.a], self.totals.expand(len(members), -1))
        return x, P

    def _rhs(self, y: torch.Tensor, members: list[int]) -> torch.Tensor:
        x, P = self._eval(y, members)
        v = self.m.rates(x, P)
        r = self.m.volume_ratios(P)[:, self.ind]
        n = y[:, -1:]
        fx = r * (v @ self.S_ind.T)
        fm = n * self.k_e[members, None] * (v @ self.S_med.T)
        fn = self.c_mu * v[:, self.j_bio : self.j_bio + 1] * n
        return torch.cat([fx, fm, fn], dim=1)

    def rhs(self, y: np.ndarray, members: list[int]) -> np.ndarray:
        return self._rhs(torch.from_numpy(y), members).numpy()

    def jac(self, y: np.ndarray, members: list[int]) -> np.ndarray:
        yt = torch.from_numpy(y)
        B, a, b = len(members), self.a, self.b
        x, P = self._eval(yt, members)
        v, E = self.m.elasticities(x, P)  # (B, R), (B, R, n_var)
        EL = E @ self.L  # (B, R, a)
        r = self.m.volume_ratios(P)[:, self.ind]
        n = yt[:, -1]
        J = torch.zeros(B, self.n_states, self.n_states, dtype=torch.float64)
        J[:, :a, :a] = r[:, :, None] * (self.S_ind @ EL)
        J[:, a : a + b, :a] = (n * self.k_e[members])[:, None, None] * (self.S_med @ EL)
        J[:, -1, :a] = (self.c_mu * n)[:, None] * EL[:, self.j_bio]
        f0 = self._rhs(yt, members)
        J[:, a : a + b, -1] = f0[:, a : a + b] / n[:, None]
        J[:, -1, -1] = self.c_mu * v[:, self.j_bio]
        for j in range(b):  # medium columns by forward differences, batched over models
            h = 1e-7 * yt[:, a + j].abs().clamp_min(1e-6)
            yp = yt.clone()
            yp[:, a + j] += h
            J[:, :, a + j] = (self._rhs(yp, members) - f0) / h[:, None]
        return J.numpy()


@dataclass
class BioreactorResult:
    """Outcome of :func:`simulate_bioreactor`.

    Attributes:
        t: output times ``(n_times,)``, h.
        biomass: ``(n_models, n_times)`` g/L; NaN after a failure or timeout.
        medium: species -> ``(n_models, n_times)`` uM (model units).
        status, seconds: per model, as in
            :class:`~kinflux.kinetic.studies.integration.IntegrationResult`.
        wall_seconds: wall time of all integrations, s.
        scaling: model units (for g/L conversions).
        reached: time (h) each integration reached.
    """

    t: np.ndarray
    biomass: np.ndarray
    medium: dict[str, np.ndarray]
    status: list[str]
    seconds: np.ndarray
    wall_seconds: float
    scaling: Scaling
    reached: np.ndarray = field(default_factory=lambda: np.zeros(0))
    config: dict[str, Any] = field(default_factory=dict)

    def grams_per_litre(self, species: str) -> np.ndarray:
        """``(n_models, n_times)`` g/L of a medium species with a known molar mass."""
        if species not in MOLAR_MASS or species not in self.medium:
            raise KinfluxError(
                f"no g/L for '{species}': need a medium species with a molar mass "
                f"({', '.join(s for s in MOLAR_MASS if s in self.medium)})"
            )
        return self.medium[species] / self.scaling.concentration * MOLAR_MASS[species]

    def curves(self) -> dict[str, np.ndarray]:
        """Biomass and every medium species with a molar mass, g/L, each
        ``(n_models, n_times)``."""
        out = {"biomass": self.biomass}
        for s in MOLAR_MASS:
            if s in self.medium:
                out[s] = self.grams_per_litre(s)
        return out

    def summary(self) -> pd.DataFrame:
        """Per quantity (g/L): initial value, and min / median / max at ``t_end`` across
        the models that finished (NaN if none did), with their count."""
        ok = np.array([s == "ok" for s in self.status])
        rows = []
        for k, v in self.curves().items():
            f = v[ok, -1]
            f = f[np.isfinite(f)]
            stats = (f.min(), np.median(f), f.max()) if f.size else (math.nan,) * 3
            rows.append(
                {
                    "quantity": k,
                    "initial": float(np.nanmedian(v[:, 0])),
                    "final_min": float(stats[0]),
                    "final_median": float(stats[1]),
                    "final_max": float(stats[2]),
                    "finished": int(f.size),
                }
            )
        return pd.DataFrame(rows).set_index("quantity")


def _task(task: dict[str, Any]) -> dict[str, Any]:
    from kinflux.compute import worker_state

    st = worker_state()
    pr, reactor = st["problem"], st["reactor"]
    sys = _Reactor(pr, reactor, task["params"], task["growth"])
    y0 = task["y0"]
    atol = task["atol"] * np.abs(y0)
    atol[:, sys.a : sys.a + sys.b] = np.maximum(atol[:, sys.a : sys.a + sys.b], task["medium_atol"])
    res = integrate_many(sys, y0, task["t"], task["method"], task["rtol"], atol, task["time_limit"])
    return {
        "y": res.y[:, :, sys.a :],
        "medium": sys.medium,
        "status": res.status,
        "seconds": res.seconds,
        "reached": res.reached,
    }


def simulate_bioreactor(
    problem: Any,
    params: torch.Tensor,
    reactor: Bioreactor,
    t_end: float = 60.0,
    n_times: int = 1000,
    medium: str = "file",
    growth: str = "flux",
    method: str = "BDF",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    medium_atol: float = 1e-3,
    time_limit: float | None = 300.0,
    batch_size: int = 32,
    n_jobs: int = 1,
    backend: str = "local",
    progress: Any = False,
) -> BioreactorResult:
    """Simulate each valid model in the batch reactor.

    Args:
        problem: the :class:`~kinflux.kinetic.problem.KineticProblem` (steady state).
        params: valid parameter sets ``(n_models, n_params)``.
        reactor: the :class:`Bioreactor`.
        t_end: horizon, h; ``n_times`` evenly spaced outputs from 0.
        medium: ``"file"`` or ``"steady_state"`` initial medium.
        growth: ``"flux"`` or ``"skimpy"`` (see the module docstring).
        method, rtol: solver and relative tolerance; ``atol``: absolute tolerance as a
            fraction of each state's initial value, for medium species at least
            ``medium_atol`` (uM).
        time_limit: wall-time limit per model, s.
        batch_size: models integrated together; n_jobs, backend: workers.
        progress: bar or callback over batches.

    Returns:
        A :class:`BioreactorResult`.
    """

    m = problem.model
    params = torch.as_tensor(params, dtype=torch.float64).reshape(-1, m.n_params)
    if reactor.biomass_reaction not in m.reaction_names:
        raise KinfluxError(
            f"{reactor.source}: biomass reaction '{reactor.biomass_reaction}' is not in model "
            f"'{m.name}'; use the reactor file written for this model"
        )
    if medium not in ("file", "steady_state"):
        raise KinfluxError(f"medium={medium!r}: use 'file' or 'steady_state'")
    sys = _Reactor(problem, reactor, params[:1], growth)  # checks growth and the layout
    ss = problem.steady_state
    conc = problem.scaling.concentration
    m0 = [
        reactor.initial_medium[s] * conc
        if medium == "file" and s in reactor.initial_medium
        else ss.concentrations[s]
        for s in sys.medium
    ]
    y_one = np.concatenate(
        [ss.x.numpy()[sys.ind], np.asarray(m0, dtype=np.float64), [reactor.initial_cells]]
    )
    # constant medium species (boundary conditions) at their file value
    base = params.clone()
    for s in reactor.constant:
        if s in m.constants and medium == "file" and s in reactor.initial_medium:
            base[:, m.parameter_index(s)] = reactor.initial_medium[s] * conc
    t = np.linspace(0.0, float(t_end), int(n_times))
    common = {
        "t": t * float(problem.scaling.time),
        "growth": growth,
        "method": method,
        "rtol": rtol,
        "atol": atol,
        "medium_atol": medium_atol,
        "time_limit": time_limit,
    }
    outs, wall = map_batches(
        _task,
        common,
        {"params": base, "y0": np.tile(y_one, (params.shape[0], 1))},
        batch_size,
        {"problem": problem, "reactor": reactor},
        n_jobs,
        backend,
        progress,
        "bioreactor batches",
    )
    y = np.concatenate([o["y"] for o in outs])
    med = {s: y[:, :, i] for i, s in enumerate(outs[0]["medium"])}
    return BioreactorResult(
        t=t,
        biomass=y[:, :, -1] * reactor.cell_mass / reactor.volume_l,
        medium=med,
        status=[s for o in outs for s in o["status"]],
        seconds=np.concatenate([o["seconds"] for o in outs]),
        wall_seconds=wall,
        scaling=problem.scaling,
        reached=np.concatenate([o["reached"] for o in outs]) / float(problem.scaling.time),
        config={
            **{k: v for k, v in common.items() if k != "t"},
            "reactor": reactor.source,
            "t_end": t_end,
            "n_times": n_times,
            "medium": medium,
            "n_models": int(params.shape[0]),
        },
    )
