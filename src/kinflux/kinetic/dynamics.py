"""Eigenvalues, stability and ODE integration of kinetic-model batches.

Time in h, rates in uM/h, eigenvalues in h^-1 (see :mod:`kinflux.kinetic.units`).
RENAISSANCE/ORACLE call a parameter set *relevant* when lambda_max < -2.5 h^-1 (its
slowest mode is at least ~3x faster than a doubling time of ~0.83 h); use
:data:`LAMBDA_MAX_THRESHOLD` for that partition.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.integrate import solve_ivp

from kinflux import KinfluxError
from kinflux.kinetic.model import KineticModel
from kinflux.progress import ProgressArg, progress_bar

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


def _balance(J: torch.Tensor, sweeps: int = 8) -> torch.Tensor:
    """Diagonal similarity ``D^-1 J D`` equalising off-diagonal row and column 1-norms.

    Kinetic Jacobians are stiff (entries spanning ~1e10), and LAPACK's own balancing
    inside ``geev`` leaves the slowest eigenvalues with absolute errors ~1e-6 h^-1. A
    batched, simultaneous (Jacobi-style) Osborne scaling first brings them to ~1e-8.
    Factors are powers of two, so the similarity is exact in floating point and the
    eigenvalues are unchanged; rows/columns with a zero off-diagonal norm are left alone.

    The sweeps only update the scaling vector ``d``: with ``A = |J|`` (zero diagonal)
    the row and column norms of ``D^-1 A D`` are ``(A d) / d`` and ``(A^T d^-1) d``, two
    batched matrix-vector products per sweep; ``J`` is scaled once at the end.
    """
    if J.shape[-1] < 2 or not J.dtype.is_floating_point:
        return J
    A = J.abs()
    A.diagonal(dim1=-2, dim2=-1).zero_()
    At = A.transpose(-1, -2)
    d = torch.ones(J.shape[:-1], dtype=J.dtype, device=J.device)
    for _ in range(sweeps):
        r = (A @ d.unsqueeze(-1)).squeeze(-1) / d
        c = (At @ d.reciprocal().unsqueeze(-1)).squeeze(-1) * d
        ok = (c > 0) & (r > 0) & torch.isfinite(c) & torch.isfinite(r)
        e = torch.where(ok, torch.round(0.5 * torch.log2(torch.where(ok, r / c, 1.0))), 0.0)
        if not bool((e != 0).any()):
            break
        d = d * torch.exp2(e)
    return J * d[..., None, :] / d[..., :, None]


def eigenvalues(J: torch.Tensor) -> torch.Tensor:
    """Complex eigenvalues (h^-1) of a Jacobian batch ``(batch, n, n)`` -> ``(batch, n)``.

    The batch is first balanced by an exact power-of-two diagonal similarity
    (:func:`_balance`), which makes the small eigenvalues of stiff Jacobians accurate.
    """
    return torch.linalg.eigvals(_balance(J))


def lambda_max(J: torch.Tensor) -> torch.Tensor:
    """Largest real part of the eigenvalues (h^-1), ``(batch,)``; < 0 means stable."""
    return eigenvalues(J).real.amax(dim=-1)


def perturb_state(
    model: KineticModel,
    x: torch.Tensor,
    fraction: float,
    n: int,
    seed: int = 0,
    max_tries: int = 1000,
) -> torch.Tensor:
    """``n`` perturbed states ``(n, n_variables)`` in model units (uM).

    Each independent variable is scaled by U(1-f, 1+f); the dependent ones are recomputed
    so that every moiety total stays that of ``x``. Draws that would make a dependent
    concentration non-positive (a small pool in a large moiety) are redrawn, so every
    returned state is physical. Raises :class:`KinfluxError` if fewer than ``n`` positive
    states come out of ``max_tries * n`` draws (then use a smaller ``fraction``).
    """
    from kinflux import KinfluxError

    g = torch.Generator().manual_seed(seed)
    x = x.reshape(1, -1).to(torch.float64)
    totals = model.moiety_totals(x)
    xi0 = x[:, model.independent_idx]
    kept: list[torch.Tensor] = []
    drawn = 0
    while sum(len(k) for k in kept) < n and drawn < max_tries * n:
        batch = max(n, 64)
        u = 1.0 + fraction * (
            2.0 * torch.rand((batch, xi0.shape[1]), generator=g, dtype=torch.float64) - 1.0
        )
        full = model.full_state(xi0 * u, totals.expand(batch, -1))
        kept.append(full[(full > 0).all(dim=1)])
        drawn += batch
    out = torch.cat(kept)[:n]
    if len(out) < n:
        raise KinfluxError(
            f"only {len(out)} of {n} states stay positive when perturbing by {fraction:.0%}; "
            "dependent metabolites with small pools go negative — use a smaller --perturb"
        )
    return out


@dataclass
class Trajectory:
    """ODE solutions: ``t`` ``(n_times,)`` h; ``x`` ``(batch, n_times, n_variables)`` uM;
    ``success`` per model (False for a solver failure, a non-finite state or a timeout);
    ``messages`` per model; ``seconds`` wall time per model."""

    t: np.ndarray
    x: np.ndarray
    success: list[bool]
    messages: list[str]
    seconds: list[float] = field(default_factory=list)

    @property
    def failures(self) -> list[int]:
        """Indices of the trajectories that failed."""
        return [i for i, ok in enumerate(self.success) if not ok]


class _Timeout(Exception):
    """Raised from the right-hand side when a trajectory exceeds its wall-time limit."""


class _NonFinite(Exception):
    """Raised from the right-hand side when dx/dt is not finite."""


def integrate(
    model: KineticModel,
    x0: torch.Tensor,
    params: torch.Tensor,
    t_end: float,
    n_times: int = 100,
    method: str = "BDF",
    rtol: float = 1e-6,
    atol: float | None = None,
    atol_scale: float = 1e-9,
    max_seconds: float = 60.0,
    progress: ProgressArg = False,
) -> Trajectory:
    """Integrate each model of a batch with SciPy (``BDF``/``LSODA``/``Radau``) and the
    analytic reduced Jacobian.

    The independent variables ``x_ind`` (``(n_independent,)`` uM) are integrated with
    ``d x_ind/dt = dxdt(L x_ind + offset)[independent]`` and the exact reduced Jacobian
    ``(n_independent, n_independent)`` h^-1 of :meth:`KineticModel.jacobian`; the
    dependent variables follow from the moiety totals of ``x0`` (so conservation holds
    exactly).

    Args:
        model: the kinetic model.
        x0: ``(batch, n_variables)`` initial states, uM.
        params: ``(batch, n_params)`` or ``(n_params,)``, all finite.
        t_end: end time, h (> 0).
        n_times: output times (>= 2), evenly spaced in ``[0, t_end]``.
        method: ``BDF``, ``LSODA`` or ``Radau`` (strain-scale models are very stiff:
            eigenvalues down to ~-3e10 h^-1).
        rtol: relative tolerance.
        atol: absolute tolerance (uM) for every species; default
            ``atol_scale * |x0_ind|`` so species spanning 1e-4..1e4 uM are all resolved.
        atol_scale: see ``atol``.
        max_seconds: wall-time limit per trajectory, s; a trajectory that exceeds it
            stops and is reported as failed ("timed out").
        progress: a bar over trajectories (True), a callback, or False.

    Returns:
        A :class:`Trajectory`. A failed trajectory (non-positive initial state, solver
        failure, non-finite dx/dt or state, timeout) is NaN, ``success`` False, and its
        message says why.
    """
    if method not in ("BDF", "LSODA", "Radau"):
        raise KinfluxError(f"integration method {method!r}: use BDF, LSODA or Radau")
    if not (math.isfinite(t_end) and t_end > 0):
        raise KinfluxError(f"t_end must be a positive number of hours, got {t_end}")
    if not (max_seconds > 0):
        raise KinfluxError(f"max_seconds must be > 0, got {max_seconds}")
    if n_times < 2:
        raise KinfluxError(f"n_times must be >= 2, got {n_times}")
    x0 = x0.reshape(-1, model.n_variables).to(torch.float64)
    params = params.reshape(-1, model.n_params).to(torch.float64).expand(x0.shape[0], -1)
    if not torch.isfinite(params).all():
        bad = [
            model.parameter_names[i] for i in (~torch.isfinite(params)).any(0).nonzero().flatten()
        ]
        raise KinfluxError(
            f"parameters {bad[:5]} are unknown or not finite; set them before integrating"
        )
    t_eval = np.linspace(0.0, t_end, n_times)
    xs, ok, msgs, secs = [], [], [], []
    with progress_bar(x0.shape[0], "integrations", progress) as bar:
        for b in range(x0.shape[0]):
            t0 = time.perf_counter()
            ys, success, message = _one(
                model,
                x0[b],
                params[b : b + 1],
                t_end,
                t_eval,
                method,
                rtol,
                atol,
                atol_scale,
                max_seconds,
            )
            tot = model.moiety_totals(x0[b : b + 1])
            xfull = model.full_state(torch.from_numpy(ys), tot.expand(n_times, -1)).numpy()
            xs.append(xfull)
            ok.append(success)
            msgs.append(message)
            secs.append(time.perf_counter() - t0)
            bar.advance(ok=sum(ok))
    return Trajectory(t=t_eval, x=np.stack(xs), success=ok, messages=msgs, seconds=secs)


def _one(
    model: KineticModel,
    x0: torch.Tensor,
    p: torch.Tensor,
    t_end: float,
    t_eval: np.ndarray,
    method: str,
    rtol: float,
    atol: float | None,
    atol_scale: float,
    max_seconds: float,
) -> tuple[np.ndarray, bool, str]:
    """One trajectory of the independent variables, ``(n_times, n_independent)``."""
    ind = model.independent_idx
    n_times = len(t_eval)
    nan = np.full((n_times, len(ind)), np.nan)
    nonpos = (~(x0 > 0)).nonzero().flatten().tolist()
    if nonpos:
        names = [model.variables[i] for i in nonpos]
        return (
            nan,
            False,
            (
                f"initial state has non-positive concentrations {names[:5]}; not integrated "
                "(use a smaller perturbation)"
            ),
        )
    tot = model.moiety_totals(x0[None])
    deadline = time.perf_counter() + max_seconds

    def full(y: np.ndarray) -> torch.Tensor:
        return model.full_state(torch.from_numpy(np.ascontiguousarray(y))[None], tot)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        if time.perf_counter() > deadline:
            raise _Timeout
        f = model.dxdt(full(y), p)[0, ind].numpy()
        if not np.isfinite(f).all():
            raise _NonFinite(t)
        return f

    def jac(t: float, y: np.ndarray) -> np.ndarray:
        if time.perf_counter() > deadline:
            raise _Timeout
        return model.jacobian(full(y), p, reduced=True)[0].numpy()

    y0 = x0[ind].numpy().copy()
    tol = atol_scale * np.abs(y0) if atol is None else float(atol)
    try:
        sol = solve_ivp(
            rhs, (0.0, t_end), y0, method=method, t_eval=t_eval, jac=jac, rtol=rtol, atol=tol
        )
    except _Timeout:
        return nan, False, f"timed out after {max_seconds:g} s (raise --max-seconds)"
    except _NonFinite as exc:
        return (
            nan,
            False,
            (
                f"dx/dt is not finite at t = {exc.args[0]:.3g} h; check the parameters "
                "(Km, vmax, Keq must be finite and > 0)"
            ),
        )
    except (ValueError, RuntimeError, FloatingPointError, ZeroDivisionError) as exc:
        return nan, False, f"solver error: {exc}"
    ys = np.full((n_times, len(ind)), np.nan)
    ys[: sol.y.shape[1]] = sol.y.T
    if sol.success and not np.isfinite(ys).all():
        return ys, False, "the solution is not finite"
    return ys, bool(sol.success), str(sol.message)
