"""KineticProblem: a kinetic model bound to a steady state, Km bounds, units and partition.

A generator, an evolution strategy or the ORACLE baseline proposes Michaelis constants;
everything else of a kinetic parameter set follows from the steady state:

1. ``log_km``: ln(Km in mol/L), ``(batch, n_km)``, in the order of
   :attr:`KineticProblem.km_names`; Km in model units is ``exp(log_km) *
   scaling.concentration`` (uM with the usual scaling 1e6).
2. ``Keq = Q / Gamma`` per reversible reaction, from the steady-state concentrations
   and displacements; it does not depend on Km and is computed once.
3. ``vmax = v_ss / rate(vmax = 1)`` so that every rate equals its steady-state flux.

Then ``lambda_max`` (h^-1), the largest real part of the eigenvalues of the reduced
Jacobian at the steady state, decides validity: ``lambda_max < partition``.

Units (one place, :class:`~kinflux.kinetic.units.Scaling`):

- ``km_bounds_molar``: mol/L. The default, ``(exp(-25), exp(3))`` = (1.39e-11, 20.1) M
  = (1.39e-8, 2.0e4) mM, is RENAISSANCE's ln Km range [-25, 3].
- ``scaling``: the conversion of the profile's mmol/gDW/h into model units. Rates, and so
  ``lambda_max``, are proportional to ``scaling.cell_factor`` (density x gDW/gWW): the same
  profile and Km give a lambda_max 419.9/300 = 1.40 times larger in
  :data:`~kinflux.kinetic.units.ANTHRANILATE_SCALING` (the reactor file, kinflux's
  default for that model) than in
  :data:`~kinflux.kinetic.units.RENAISSANCE_TRAINING_SCALING`. :meth:`partition_in`
  gives the equivalent partition, :meth:`with_scaling` the problem in other units.
- ``partition``: h^-1, default -2.5 (doubling time 134 min, time constant 24 min).

Example:
    >>> import torch
    >>> problem = KineticProblem.bundled("varma_strain_1")
    >>> problem.n_km, problem.log_km_low, problem.log_km_high
    (230, -25.0, 3.0)
    >>> params = problem.parameters(torch.full((2, problem.n_km), -9.0))
    >>> params.shape
    torch.Size([2, 378])
    >>> lam = problem.lambda_max(params)
    >>> lam.shape, bool(torch.isfinite(lam).all())
    (torch.Size([2]), True)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from kinflux import KinfluxError
from kinflux.kinetic.dynamics import lambda_max as _eig_lambda_max
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState
from kinflux.kinetic.units import Scaling

__all__ = ["KineticProblem", "KM_BOUNDS_MOLAR", "SteadyStateResidualError"]

#: RENAISSANCE's Km bounds, mol/L: ln Km in [-25, 3], i.e. (1.39e-11, 20.1) M
KM_BOUNDS_MOLAR = (math.exp(-25.0), math.exp(3.0))

#: largest relative mass-balance residual max|S v| / max|v| accepted by default
MAX_RESIDUAL = 1e-6

_MODELS: dict[tuple, KineticModel] = {}


class SteadyStateResidualError(KinfluxError):
    """A profile is not a steady state of the model (its residual exceeds the tolerance)."""


def _cached_model(source: str, small_molecules: str) -> KineticModel:
    """One :class:`KineticModel` per YAML file and process (workers unpickle cheaply)."""
    p = Path(source)
    key = (str(p), small_molecules, p.stat().st_mtime_ns)
    if key not in _MODELS:
        _MODELS[key] = KineticModel.from_yaml(p, small_molecules=small_molecules)
    return _MODELS[key]


def _rebuild(state: dict[str, Any]) -> KineticProblem:
    return KineticProblem._from_state(state)


class KineticProblem:
    """A kinetic model around one steady state: log Km -> parameters -> lambda_max.

    Args:
        model: the kinetic model (structure; its YAML Km, vmax and Keq are not used).
        steady_state: the reference profile (fluxes uM/h, concentrations uM, ln Gamma).
        km_bounds_molar: ``(low, high)`` Km bounds in mol/L (see :data:`KM_BOUNDS_MOLAR`).
        partition: lambda_max partition, h^-1; a parameter set is valid when its
            lambda_max is below it.
        scaling: the model units; default the steady state's own. Another scaling
            converts the profile (fluxes from mmol/gDW/h, concentrations from mol/L).
        max_residual: largest accepted relative mass balance ``max|S v| / max|v|``.
        accept_residual: use a profile whose residual exceeds ``max_residual`` anyway
            (a warning shows the residual) instead of raising
            :class:`SteadyStateResidualError`.

    Raises:
        KinfluxError: bounds not ``0 < low < high < inf``, a non-finite steady state, a
            displacement whose sign disagrees with its flux, or a residual above
            ``max_residual`` (unless ``accept_residual``).
    """

    def __init__(
        self,
        model: KineticModel,
        steady_state: SteadyState,
        km_bounds_molar: tuple[float, float] = KM_BOUNDS_MOLAR,
        partition: float = -2.5,
        scaling: Scaling | None = None,
        max_residual: float = MAX_RESIDUAL,
        accept_residual: bool = False,
    ) -> None:
        lo, hi = (float(v) for v in km_bounds_molar)
        if not (0.0 < lo < hi < math.inf):
            raise KinfluxError(
                f"Km bounds must satisfy 0 < low < high < inf (mol/L), got {km_bounds_molar}"
            )
        if not (math.isfinite(partition) and partition < 0):
            raise KinfluxError(f"partition must be a negative number (h^-1), got {partition!r}")
        if steady_state.model is not model:
            steady_state = _rebind(steady_state, model)
        if scaling is not None:
            scaling.check()
            steady_state = steady_state.rescaled(scaling)
        steady_state.scaling.check("steady state")
        self.model = model
        self.steady_state = steady_state
        self.scaling: Scaling = steady_state.scaling
        self.km_bounds_molar = (lo, hi)
        self.partition = float(partition)
        self.max_residual = float(max_residual)
        self.accept_residual = bool(accept_residual)
        from kinflux.kinetic.parameterization import ParameterLayout

        self.layout = ParameterLayout(model, steady_state, max_residual, accept_residual)
        self.residual = self.layout.residual

    # ------------------------------------------------------------------ construction
    @classmethod
    def bundled(cls, name: str = "varma_strain_1", **kwargs: Any) -> KineticProblem:
        """A problem on bundled data: ``"varma_strain_1"`` (varma_strain_1.yml around the
        strain_1 TFA profile) or ``"kin_varma"`` (kin_varma.yml, same profile).

        The anthranilate model has no bundled profile: sample one
        (:func:`~kinflux.kinetic.sampling.sample_steady_states`) and use
        :meth:`from_samples`. ``kwargs`` go to the constructor.
        """
        from kinflux.datasets import kinetic_model_path

        if name not in ("varma_strain_1", "kin_varma"):
            raise KinfluxError(
                f"no bundled kinetic problem '{name}'; known: varma_strain_1, kin_varma. For "
                "kin_varma_anthranilate sample steady states and use "
                "KineticProblem.from_samples(samples, i)"
            )
        model = _cached_model(str(kinetic_model_path(name)), "dynamic")
        ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), model)
        return cls(model, ss, **kwargs)

    @classmethod
    def from_samples(cls, samples: Any, i: int, **kwargs: Any) -> KineticProblem:
        """Profile ``i`` of :class:`~kinflux.kinetic.sampling.SteadyStateSamples`."""
        return cls(samples.model, samples.steady_state(i), **kwargs)

    def with_scaling(self, scaling: Scaling) -> KineticProblem:
        """The same problem in the units of ``scaling`` (same partition value)."""
        return KineticProblem(
            self.model,
            self.steady_state.rescaled(scaling),
            self.km_bounds_molar,
            self.partition,
            max_residual=self.max_residual,
            accept_residual=self.accept_residual,
        )

    def with_partition(self, partition: float) -> KineticProblem:
        """The same problem with another partition (h^-1); precomputed tables are shared."""
        new = object.__new__(KineticProblem)
        new.__dict__.update(self.__dict__)
        if not (math.isfinite(partition) and partition < 0):
            raise KinfluxError(f"partition must be a negative number (h^-1), got {partition!r}")
        new.partition = float(partition)
        return new

    def partition_in(self, scaling: Scaling) -> float:
        """Partition (h^-1) on *this* problem's lambda_max equivalent to
        ``lambda_max < self.partition`` judged in the units of ``scaling``.

        lambda_max is proportional to ``cell_factor``, so the result is
        ``partition * self.scaling.cell_factor / scaling.cell_factor``: -2.5 h^-1 in
        RENAISSANCE's training scaling (300 gDW/L) is -3.50 h^-1 in the reactor's (419.9).
        """
        return (
            self.partition
            * (self.scaling.cell_factor / self.scaling.time)
            / (scaling.cell_factor / scaling.time)
        )

    # ------------------------------------------------------------------ sizes & names
    @property
    def km_names(self) -> list[str]:
        """Names of the Michaelis constants, order of the ``log_km`` columns."""
        return self.layout.km_names

    @property
    def km_species(self) -> list[str]:
        """The reactant of each Km's slot, ``(n_km,)``."""
        return self.layout.km_species

    @property
    def n_km(self) -> int:
        """Number of Michaelis constants."""
        return len(self.layout.km_names)

    @property
    def parameter_names(self) -> list[str]:
        """Columns of a complete parameter set (the model's parameter names)."""
        return list(self.model.parameter_names)

    @property
    def n_params(self) -> int:
        """Number of parameters of a complete set."""
        return self.model.n_params

    @property
    def log_km_low(self) -> float:
        """ln of the lower Km bound in mol/L (-25.0 by default)."""
        return math.log(self.km_bounds_molar[0])

    @property
    def log_km_high(self) -> float:
        """ln of the upper Km bound in mol/L (3.0 by default)."""
        return math.log(self.km_bounds_molar[1])

    @property
    def log_km_steady(self) -> torch.Tensor:
        """ln(mol/L) of the steady-state concentration of each Km's reactant, ``(n_km,)``."""
        return self.layout.log_conc_molar

    # ------------------------------------------------------------------ evaluation
    def parameters(self, log_km: torch.Tensor) -> torch.Tensor:
        """Complete parameter sets from ln(Km in mol/L).

        Args:
            log_km: ``(batch, n_km)`` or ``(n_km,)``, any float dtype and device.

        Returns:
            ``(batch, n_params)`` float64 on ``log_km``'s device, model units (Km uM,
            Keq in the model's concentration units, vmax uM/h); rows with a non-finite
            ``log_km`` hold NaN vmax.
        """
        return self.layout.parameters(log_km)

    def lambda_max(self, params: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
        """lambda_max (h^-1) of each parameter set, ``(batch,)``.

        Args:
            params: ``(batch, n_params)`` complete sets in model units.
            chunk: sets per Jacobian batch (bounds memory).

        Returns:
            ``(batch,)`` float64; NaN for a set with a non-finite parameter or Jacobian.
        """
        m = self.model
        p = params.reshape(-1, m.n_params)
        x = self.layout.x.to(p.device)
        out = torch.full((p.shape[0],), math.nan, dtype=torch.float64, device=p.device)
        for i in range(0, p.shape[0], chunk):
            pc = p[i : i + chunk].to(torch.float64)
            ok = torch.isfinite(pc).all(dim=1)
            if not bool(ok.any()):
                continue
            J = m.jacobian(x, pc[ok] if not bool(ok.all()) else pc)
            fin = torch.isfinite(J).flatten(1).all(dim=1)
            vals = torch.full((J.shape[0],), math.nan, dtype=torch.float64, device=p.device)
            if bool(fin.any()):
                vals[fin] = _eig_lambda_max(J[fin] if not bool(fin.all()) else J)
            lm = torch.full((pc.shape[0],), math.nan, dtype=torch.float64, device=p.device)
            lm[ok] = vals
            out[i : i + chunk] = lm
        return out * self.scaling.time

    def lambda_max_of_log_km(self, log_km: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
        """``lambda_max(parameters(log_km))``, chunked: ``(batch, n_km)`` -> ``(batch,)``."""
        lk = log_km.reshape(-1, self.n_km)
        return (
            torch.cat(
                [
                    self.lambda_max(self.parameters(lk[i : i + chunk]), chunk)
                    for i in range(0, lk.shape[0], chunk)
                ]
            )
            if lk.shape[0]
            else torch.empty(0, dtype=torch.float64)
        )

    def is_valid(self, lam: torch.Tensor, partition: float | None = None) -> torch.Tensor:
        """``lam < partition`` elementwise (NaN is not valid); default this partition."""
        part = self.partition if partition is None else float(partition)
        return torch.as_tensor(lam, dtype=torch.float64) < part

    def incidence(self, lam: torch.Tensor, partition: float | None = None) -> float:
        """Share of valid sets in ``lam`` ``(batch,)`` (0.0 for an empty batch)."""
        v = self.is_valid(lam, partition)
        return float(v.double().mean()) if v.numel() else 0.0

    def steady_state_residual(self, params: torch.Tensor) -> torch.Tensor:
        """Relative ODE residual per set, ``(batch,)``: max|dx/dt| / max|v_ss| at the
        steady state (~1e-15 for parameters from :meth:`parameters`)."""
        r = self.model.dxdt(self.layout.x, params).abs().amax(dim=-1)
        return r / self.steady_state.fluxes.abs().max()

    def __repr__(self) -> str:
        lo, hi = self.km_bounds_molar
        return (
            f"KineticProblem('{self.model.name}', {self.n_km} Km in [{lo:.3g}, {hi:.3g}] M, "
            f"partition {self.partition:g} h^-1, {self.scaling.cell_factor:g} gDW/L)"
        )

    # ------------------------------------------------------------------ pickling
    def __reduce__(self) -> tuple:
        return (_rebuild, (self._state(),))

    def _state(self) -> dict[str, Any]:
        ss = self.steady_state
        src = Path(self.model.source)
        state: dict[str, Any] = {
            "model": None,
            "source": str(src),
            "small_molecules": self.model.small_molecules,
            "fluxes": ss.fluxes.detach().cpu(),
            "fluxes_mmol": None if ss.fluxes_mmol is None else ss.fluxes_mmol.detach().cpu(),
            "concentrations": dict(ss.concentrations),
            "log_displacements": dict(ss.log_displacements),
            "delta_g": dict(ss.delta_g),
            "scaling": ss.scaling,
            "km_bounds_molar": self.km_bounds_molar,
            "partition": self.partition,
            "max_residual": self.max_residual,
            "accept_residual": self.accept_residual,
        }
        if not src.is_file():  # built in memory: ship the model itself
            state["model"] = self.model
        return state

    @classmethod
    def _from_state(cls, st: dict[str, Any]) -> KineticProblem:
        model = st["model"] or _cached_model(st["source"], st["small_molecules"])
        ss = SteadyState(
            model=model,
            fluxes=st["fluxes"],
            concentrations=st["concentrations"],
            log_displacements=st["log_displacements"],
            delta_g=st["delta_g"],
            scaling=st["scaling"],
            fluxes_mmol=st["fluxes_mmol"],
        )
        return cls(
            model,
            ss,
            st["km_bounds_molar"],
            st["partition"],
            max_residual=st["max_residual"],
            accept_residual=st["accept_residual"],
        )


def _rebind(ss: SteadyState, model: KineticModel) -> SteadyState:
    """``ss`` for another instance of the same model (same reactions and species)."""
    if ss.model.reaction_names != model.reaction_names:
        raise KinfluxError(
            f"steady state of model '{ss.model.name}' does not fit model '{model.name}' "
            "(different reactions); build the steady state for this model"
        )
    return SteadyState(
        model=model,
        fluxes=ss.fluxes,
        concentrations=ss.concentrations,
        log_displacements=ss.log_displacements,
        delta_g=ss.delta_g,
        scaling=ss.scaling,
        fluxes_mmol=ss.fluxes_mmol,
    )
