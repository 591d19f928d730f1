"""Relaxation of perturbed states back to a steady state, as one results object.

:func:`simulate` perturbs the steady state (each independent concentration by
U(1 - f, 1 + f), moieties kept), integrates every perturbed state with the model's
parameters (:func:`~kinflux.kinetic.dynamics.integrate`, wall-time limit per
trajectory) and returns a :class:`Simulation` that saves and loads itself. Failed or
timed-out trajectories are listed in :attr:`Simulation.failures`; :meth:`Simulation.save`
refuses to write a simulation with failures.

Units: time h, concentrations uM, lambda_max h^-1.

Example:
    >>> from kinflux.datasets import kinetic_model_path
    >>> from kinflux.kinetic.model import KineticModel
    >>> from kinflux.kinetic.steady import SteadyState
    >>> m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    >>> ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    >>> sim = simulate(m, ss, ss.fill_constants(m.default_parameters()), n=1, t_end=0.01,
    ...                n_times=5, method="LSODA")
    >>> sim.x.shape, sim.failures
    ((1, 5, 49), [])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinflux import KinfluxError
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState
from kinflux.progress import ProgressArg

__all__ = ["Simulation", "SimulationError", "simulate"]


class SimulationError(KinfluxError):
    """A simulation failed (some trajectories did not finish) or cannot be saved."""


@dataclass
class Simulation:
    """Trajectories of a model from perturbed states.

    Attributes:
        t: ``(n_times,)`` h.
        x: ``(n, n_times, n_variables)`` uM (NaN for failed trajectories).
        x_steady: ``(n_variables,)`` uM, the reference steady state.
        variables: species names of the columns.
        success, messages: per trajectory.
        lambda_max: h^-1 at the steady state with these parameters.
        metadata: model, options, seed (JSON-serializable).
    """

    t: np.ndarray
    x: np.ndarray
    x_steady: np.ndarray
    variables: list[str]
    success: list[bool]
    messages: list[str]
    lambda_max: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[int]:
        """Indices of failed or timed-out trajectories."""
        return [i for i, ok in enumerate(self.success) if not ok]

    def relative_deviation(self) -> np.ndarray:
        """``x / x_steady - 1``, ``(n, n_times, n_variables)`` (dimensionless)."""
        return self.x / self.x_steady[None, None, :] - 1.0

    def final_deviation(self) -> float:
        """Largest ``|x / x_steady - 1|`` at the last time over all trajectories."""
        return float(np.nanmax(np.abs(self.relative_deviation()[:, -1])))

    def save(self, path: str | Path, force: bool = False) -> Path:
        """One ``.npz`` (:func:`kinflux.io.save_npz`).

        Raises:
            SimulationError: when a trajectory failed (failures are not results).
        """
        from kinflux.io import save_npz

        if self.failures:
            raise SimulationError(
                f"{len(self.failures)} of {len(self.success)} trajectories failed "
                f"(first: {self.messages[self.failures[0]]}); nothing written"
            )
        return save_npz(
            path,
            {
                "t_h": self.t,
                "x_uM": self.x,
                "x_steady_uM": self.x_steady,
                "variables": np.array(self.variables),
            },
            {**self.metadata, "lambda_max_per_h": self.lambda_max, "messages": self.messages},
            force=force,
        )

    @classmethod
    def load(cls, path: str | Path) -> Simulation:
        """Read :meth:`save` output."""
        from kinflux.io import load_npz

        a, meta = load_npz(path, ["t_h", "x_uM", "x_steady_uM", "variables"], "simulation file")
        n = a["x_uM"].shape[0]
        return cls(
            t=a["t_h"],
            x=a["x_uM"],
            x_steady=a["x_steady_uM"],
            variables=[str(v) for v in a["variables"]],
            success=[True] * n,
            messages=list(meta.pop("messages", [""] * n)),
            lambda_max=float(meta.pop("lambda_max_per_h", math.nan)),
            metadata=meta,
        )


def simulate(
    model: KineticModel,
    steady_state: SteadyState,
    params: torch.Tensor,
    perturb: float = 0.1,
    n: int = 3,
    t_end: float = 1.0,
    n_times: int = 100,
    method: str = "LSODA",
    seed: int = 0,
    max_seconds: float = 60.0,
    progress: ProgressArg = False,
) -> Simulation:
    """Perturb the steady state ``n`` times and integrate back.

    Args:
        model: the kinetic model.
        steady_state: the reference state (uM).
        params: ``(n_params,)``, every value finite and > 0 (constants from the state).
        perturb: relative perturbation of the independent concentrations, in (0, 1).
        n: number of perturbed states.
        t_end: h; n_times: output times; method: ``BDF``, ``LSODA`` or ``Radau``.
        seed: seed of the perturbations.
        max_seconds: wall-time limit per trajectory, s.
        progress: a bar over trajectories (True), a callback, or False.

    Returns:
        A :class:`Simulation` (check :attr:`Simulation.failures`).
    """
    from kinflux.kinetic.dynamics import integrate, lambda_max, perturb_state
    from kinflux.kinetic.io.parameters import check_parameters

    if not 0 < perturb < 1:
        raise KinfluxError(f"perturb must be in (0, 1), got {perturb}")
    if n < 1:
        raise KinfluxError(f"n must be >= 1, got {n}")
    p = params.reshape(-1, model.n_params)[:1]
    if torch.isnan(p).any():
        bad = [model.parameter_names[i] for i in torch.isnan(p[0]).nonzero().flatten()]
        raise KinfluxError(
            f"parameters {bad[:5]} of model '{model.name}' are unknown (null); give them in "
            "a parameter file (--params)"
        )
    check_parameters(model, p)
    x = steady_state.x
    lam = float(lambda_max(model.jacobian(x, p))[0])
    x0 = perturb_state(model, x, perturb, n, seed=seed)
    tr = integrate(
        model,
        x0,
        p,
        t_end,
        n_times=n_times,
        method=method,
        max_seconds=max_seconds,
        progress=progress,
    )
    meta = {
        "model": model.name,
        "model_source": model.source,
        "perturb": perturb,
        "n": n,
        "t_end_h": t_end,
        "method": method,
        "seed": seed,
        "max_seconds": max_seconds,
        "seconds": tr.seconds,
    }
    return Simulation(
        t=tr.t,
        x=tr.x,
        x_steady=x.numpy(),
        variables=list(model.variables),
        success=tr.success,
        messages=tr.messages,
        lambda_max=lam,
        metadata=meta,
    )
