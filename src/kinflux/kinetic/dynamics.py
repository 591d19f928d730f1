"""Eigenvalues, stability and ODE integration of kinetic-model batches.

Time in h, rates in uM/h, eigenvalues in h^-1 (see :mod:`kinflux.kinetic.units`).
RENAISSANCE/ORACLE call a parameter set *relevant* when lambda_max < -2.5 h^-1 (its
slowest mode is at least ~3x faster than a doubling time of ~0.83 h); use
:data:`LAMBDA_MAX_THRESHOLD` for that partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from kinflux import KinfluxError
from kinflux.kinetic.model import KineticModel

__all__ = [
    "LAMBDA_MAX_THRESHOLD",
    "eigenvalues",
    "lambda_max",
    "perturb_state",
    "integrate",
    "Trajectory",
]

#: lambda_max threshold (h^-1) separating "relevant" models in RENAISSANCE
LAMBDA_MAX_THRESHOLD = -2.5


def eigenvalues(J: torch.Tensor) -> torch.Tensor:
    """Complex eigenvalues (h^-1) of a Jacobian batch ``(batch, n, n)`` -> ``(batch, n)``."""
    return torch.linalg.eigvals(J)


def lambda_max(J: torch.Tensor) -> torch.Tensor:
    """Largest real part of the eigenvalues (h^-1), ``(batch,)``; < 0 means stable."""
    return torch.linalg.eigvals(J).real.amax(dim=-1)


def perturb_state(
    model: KineticModel, x: torch.Tensor, fraction: float, n: int, seed: int = 0
) -> torch.Tensor:
    """``n`` states with each independent variable scaled by U(1-f, 1+f), the dependent
    ones recomputed so that every moiety total stays that of ``x``. ``(n, n_variables)``.
    """
    g = torch.Generator().manual_seed(seed)
    x = x.reshape(1, -1).to(torch.float64)
    totals = model.moiety_totals(x)
    xi = x[:, model.independent_idx].expand(n, -1)
    u = 1.0 + fraction * (2.0 * torch.rand(xi.shape, generator=g, dtype=torch.float64) - 1.0)
    return model.full_state(xi * u, totals.expand(n, -1))


@dataclass
class Trajectory:
    """ODE solutions: ``t`` ``(n_times,)`` h; ``x`` ``(batch, n_times, n_variables)`` uM;
    ``success`` per model."""

    t: np.ndarray
    x: np.ndarray
    success: list[bool]
    messages: list[str]


def integrate(
    model: KineticModel,
    x0: torch.Tensor,
    params: torch.Tensor,
    t_end: float,
    n_times: int = 100,
    method: str = "BDF",
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> Trajectory:
    """Integrate each model of a batch with SciPy (``BDF``/``LSODA``/``Radau``) and the
    analytic reduced Jacobian.

    The independent variables are integrated; the dependent ones follow from the moiety
    totals of ``x0`` (so conservation holds exactly). ``x0``: ``(batch, n_variables)``
    uM; ``params``: ``(batch, n_params)`` or ``(n_params,)``; ``t_end`` in h.
    """
    if method not in ("BDF", "LSODA", "Radau"):
        raise KinfluxError(f"integration method {method!r}: use BDF, LSODA or Radau")
    x0 = x0.reshape(-1, model.n_variables).to(torch.float64)
    params = params.reshape(-1, model.n_params).to(torch.float64).expand(x0.shape[0], -1)
    if torch.isnan(params).any():
        bad = [model.parameter_names[i] for i in torch.isnan(params).any(0).nonzero().flatten()]
        raise KinfluxError(f"parameters {bad[:5]} are unknown (NaN); set them before integrating")
    t_eval = np.linspace(0.0, t_end, n_times)
    xs, ok, msgs = [], [], []
    ind = model.independent_idx
    for b in range(x0.shape[0]):
        p = params[b : b + 1]
        tot = model.moiety_totals(x0[b : b + 1])

        def full(y: np.ndarray, p=p, tot=tot) -> torch.Tensor:
            return model.full_state(torch.from_numpy(np.ascontiguousarray(y))[None], tot)

        def rhs(t: float, y: np.ndarray, p=p, full=full) -> np.ndarray:
            return model.dxdt(full(y), p)[0, ind].numpy()

        def jac(t: float, y: np.ndarray, p=p, full=full) -> np.ndarray:
            return model.jacobian(full(y), p)[0].numpy()

        y0 = x0[b, ind].numpy()
        sol = solve_ivp(
            rhs, (0.0, t_end), y0, method=method, t_eval=t_eval, jac=jac, rtol=rtol, atol=atol
        )
        ys = np.full((n_times, len(ind)), np.nan)
        ys[: sol.y.shape[1]] = sol.y.T
        xfull = model.full_state(torch.from_numpy(ys), tot.expand(n_times, -1)).numpy()
        xs.append(xfull)
        ok.append(bool(sol.success))
        msgs.append(str(sol.message))
    return Trajectory(t=t_eval, x=np.stack(xs), success=ok, messages=msgs)
