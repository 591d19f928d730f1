"""Robustness of valid kinetic models to perturbations of their steady state.

RENAISSANCE's test: perturb the steady-state concentrations of each valid model by up to
+-50 %, integrate once, and count the models that are back at their steady state within
24 min (the dominant time constant of the partition), for the normalized biomass flux
``v_bio(t) / v_bio_ss``, NADH, ATP, NADPH, and all cytosolic metabolites together
(published: 100, 99.9, 99.9, 100 and 75.4 %; 93.1 % within 34 min).

kinflux's protocol (:func:`robustness_study`):

1. **Perturbation**: one physical state per model from
   :func:`~kinflux.kinetic.studies.perturbation.sample_perturbations` (every species within
   +-``fraction`` of the steady state, moiety totals unchanged).
2. **Integration**: the reduced ODE (independent species; dependent ones follow the
   moieties) with a stiff SciPy solver (BDF by default) and the engine's analytic reduced
   Jacobian, ``rtol`` 1e-6 and ``atol`` ``1e-9 x_ss`` per species, output at 0, at
   ``n_times`` log-spaced times from ``t_start`` (1e-9 h) to ``t_end`` (10 h) and at the
   check times (hours, converted to the model's time unit ``scaling.time``); models run
   in tasks across workers (:func:`kinflux.compute.map`), ``max_active`` solvers of a task
   at once with batched calls
   (:func:`~kinflux.kinetic.studies.integration.integrate_many`), each with a wall-time
   limit (30 s by default).
3. **Returned**: a group has returned by time ``T`` when its largest relative deviation
   ``max_i |x_i(t) / x_i,ss - 1|`` (for the biomass group ``|v(t) / v_ss - 1|``) is at most
   ``tolerance`` (1 % by default; the paper gives none) at every output time ``t >= T``
   up to ``t_end``. Failed or timed-out integrations count as not returned, and are
   reported.

Example:
    >>> from kinflux.kinetic.problem import KineticProblem
    >>> from kinflux.kinetic.studies.sources import OracleSource
    >>> pr = KineticProblem.bundled("varma_strain_1")
    >>> P = OracleSource(pr, batch=20).valid_parameters(2, seed=0)
    >>> res = robustness_study(pr, P, fraction=0.1, t_end=1.0, n_times=20)
    >>> res.shares().shape[1], res.status
    (2, ['ok', 'ok'])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from kinflux import KinfluxError
from kinflux.kinetic.studies.integration import integrate_many, map_batches
from kinflux.kinetic.studies.perturbation import sample_perturbations

__all__ = [
    "PUBLISHED_SHARES",
    "RobustnessResult",
    "robustness_study",
    "metabolite_groups",
    "biomass_reaction",
]

#: RENAISSANCE's shares (%) within 24 min (and all cytosolic within 34 min)
PUBLISHED_SHARES = {
    "biomass": 100.0,
    "nadh": 99.9,
    "atp": 99.9,
    "nadph": 100.0,
    "all_cytosolic": 75.4,
    "all_cytosolic_34min": 93.1,
}


def biomass_reaction(model: Any) -> str | None:
    """The model's lumped biomass reaction (``LMPD_biomass...`` or a name with
    ``biomass``), or None."""
    names = list(model.reaction_names)
    for pref in ("LMPD_biomass", "biomass", "BIOMASS"):
        hits = [r for r in names if pref in r]
        if hits:
            return hits[0]
    return None


def metabolite_groups(model: Any) -> dict[str, list[int]]:
    """Variable indices of each metabolite group: ``nadh`` (nadh_c), ``atp`` (atp_c),
    ``nadph`` (nadph_c), ``all_cytosolic`` (every variable in compartment ``c``); groups
    whose species are absent are left out."""
    idx = {s: i for i, s in enumerate(model.variables)}
    out = {
        g: [idx[s]]
        for g, s in (("nadh", "nadh_c"), ("atp", "atp_c"), ("nadph", "nadph_c"))
        if s in idx
    }
    cyt = [i for i, s in enumerate(model.variables) if model.compartment_of.get(s) == "c"]
    if cyt:
        out["all_cytosolic"] = cyt
    return out


class _Relaxation:
    """The reduced ODE of many models (independent species), batched, in the model's
    own time unit (``scaling.time`` units per hour; the caller converts output times)."""

    def __init__(self, model: Any, params: torch.Tensor, totals: torch.Tensor):
        self.model, self.params, self.totals = model, params, totals
        self.ind = list(model.independent_idx)
        self.n_states = len(self.ind)

    def _full(self, y: np.ndarray, members: list[int]) -> torch.Tensor:
        return self.model.full_state(torch.from_numpy(y), self.totals[members])

    def rhs(self, y: np.ndarray, members: list[int]) -> np.ndarray:
        dx = self.model.dxdt(self._full(y, members), self.params[members])
        return dx[:, self.ind].numpy()

    def jac(self, y: np.ndarray, members: list[int]) -> np.ndarray:
        return self.model.jacobian(self._full(y, members), self.params[members]).numpy()


def _output_times(t_start: float, t_end: float, n_times: int, checks: list[float]) -> np.ndarray:
    t = np.concatenate([[0.0], np.logspace(math.log10(t_start), math.log10(t_end), n_times)])
    return np.unique(np.concatenate([t, [c for c in checks if 0 < c < t_end]]))


def _task(task: dict[str, Any]) -> dict[str, Any]:
    """Integrate one batch and reduce it to group deviations (worker side)."""
    from kinflux.compute import worker_state

    pr = worker_state()["problem"]
    m = pr.model
    x_ss = pr.steady_state.x
    P, x0 = task["params"], task["x0"]
    totals = m.moiety_totals(x0)
    sys = _Relaxation(m, P, totals)
    atol = task["atol_scale"] * np.abs(x_ss.numpy()[sys.ind])[None, :]
    res = integrate_many(
        sys,
        x0[:, sys.ind].numpy(),
        task["t"],
        task["method"],
        task["rtol"],
        atol,
        task["time_limit"],
        task["max_active"],
    )
    b, nt = len(res.status), len(res.t)
    xt = m.full_state(
        torch.from_numpy(res.y.reshape(b * nt, -1)), totals.repeat_interleave(nt, 0)
    ).reshape(b, nt, -1)
    rel = (xt / x_ss - 1.0).abs().numpy()
    dev = {g: rel[:, :, ix].max(axis=2) for g, ix in task["groups"].items()}
    if task["biomass"] is not None:
        j = m.reaction_names.index(task["biomass"])
        v = m.rates(xt.reshape(b * nt, -1), P.repeat_interleave(nt, 0))[:, j].reshape(b, nt)
        v_ss = m.rates(x_ss[None], P)[:, j][:, None]
        dev["biomass"] = (v / v_ss - 1.0).abs().numpy()
    for g in dev:
        dev[g][np.isnan(dev[g])] = np.inf
    # drift over the last output interval (the trajectory, not the right-hand side: on
    # stiff modes f(x) amplifies the solver's error), model time unit -> h^-1
    last, prev = xt[:, -1, :], xt[:, -2, :]
    step = (last - prev).abs() / torch.maximum(last.abs(), x_ss[None, :])
    dt = float(task["t"][-1] - task["t"][-2])
    drift = step.max(dim=1).values.numpy() / dt * float(pr.scaling.time)
    return {
        "dev": dev,
        "status": res.status,
        "seconds": res.seconds,
        "n_rhs": res.n_rhs,
        "drift": drift,
    }


@dataclass
class RobustnessResult:
    """Outcome of :func:`robustness_study`.

    Attributes:
        t: output times ``(n_times,)``, h.
        deviations: group -> ``(n_models, n_times)`` largest relative deviation from the
            steady state (``inf`` where the integration failed).
        status: per model ``"ok"``, ``"failed"`` or ``"timeout"``.
        seconds: per-model wall time (from its batch's start), s.
        wall_seconds: wall time of all integrations, s.
        tolerance: relative deviation counted as returned.
        config: the study's settings.
        final_drift: per model, the largest relative rate of change over the last
            output interval ``[t', t_end]``, ``max_i |x_i(t_end) - x_i(t')| /
            max(x_i(t_end), x_i,ss) / (t_end - t')``, h^-1 (NaN where the integration
            stopped early; ``None``: not recorded). Near 0 at a steady state, ~``1/t``
            for a pool that grows without bound.
    """

    t: np.ndarray
    deviations: dict[str, np.ndarray]
    status: list[str]
    seconds: np.ndarray
    wall_seconds: float
    tolerance: float
    config: dict[str, Any] = field(default_factory=dict)
    final_drift: np.ndarray | None = None

    @property
    def n_models(self) -> int:
        """Number of integrated models."""
        return len(self.status)

    @property
    def timed_out(self) -> int:
        """Models stopped by the wall-time limit."""
        return sum(s == "timeout" for s in self.status)

    @property
    def failed(self) -> int:
        """Models whose solver failed."""
        return sum(s == "failed" for s in self.status)

    @property
    def models_per_second(self) -> float:
        """Integrated models per wall-clock second."""
        return self.n_models / self.wall_seconds if self.wall_seconds > 0 else math.nan

    def settling_times(self, tolerance: float | None = None) -> pd.DataFrame:
        """Per model and group, the first output time (h) from which the deviation stays
        within ``tolerance`` (default the study's) until ``t_end`` (``inf``: never),
        ``(n_models, n_groups)``."""
        tol = self.tolerance if tolerance is None else float(tolerance)
        out = {}
        ok = np.array([s == "ok" for s in self.status])
        for g, d in self.deviations.items():
            within = d <= tol
            # index of the first time after which every point is within
            tail = np.flip(np.cumprod(np.flip(within, axis=1), axis=1), axis=1).astype(bool)
            first = np.where(tail.any(axis=1), tail.argmax(axis=1), -1)
            st = np.where(first >= 0, self.t[np.maximum(first, 0)], np.inf)
            out[g] = np.where(ok, st, np.inf)
        return pd.DataFrame(out, index=pd.RangeIndex(self.n_models, name="model"))

    def outcomes(
        self,
        minutes: float = 24.0,
        groups: tuple[str, ...] | None = None,
        tolerance: float | None = None,
        drift_tolerance: float = 1e-3,
    ) -> pd.Series:
        """What became of each model, judged on ``groups`` (default all) at ``minutes``.

        ``"returned"``: every group within ``tolerance`` from ``minutes`` on;
        ``"late"``: every group returned, some only after ``minutes``; ``"other_state"``:
        some group never returned and the model is at rest at ``t_end`` (``final_drift``
        at most ``drift_tolerance`` h^-1): it settled in another steady state;
        ``"moving"``: some group never returned and the state still changes at ``t_end``
        (a pool growing without bound, an oscillation, or a very slow return);
        ``"not_returned"`` where no drift was recorded; ``"timeout"`` / ``"failed"``:
        the solver's status.

        Returns:
            Series of labels indexed by model ``(n_models,)``.
        """
        st = self.settling_times(tolerance)
        st = st[list(groups)] if groups is not None else st
        worst = st.max(axis=1).to_numpy()
        drift = self.final_drift
        out = []
        for i, s in enumerate(self.status):
            if s != "ok":
                out.append(s)
            elif worst[i] <= minutes / 60.0 + 1e-12:
                out.append("returned")
            elif np.isfinite(worst[i]):
                out.append("late")
            elif drift is None:
                out.append("not_returned")
            else:
                out.append("other_state" if drift[i] <= drift_tolerance else "moving")
        return pd.Series(out, index=pd.RangeIndex(self.n_models, name="model"), name="outcome")

    def shares(
        self, minutes: tuple[float, ...] = (24.0, 34.0), tolerance: float | None = None
    ) -> pd.DataFrame:
        """Share (%) of models returned within each time, groups x ``"<m> min"``
        (``tolerance``: default the study's)."""
        st = self.settling_times(tolerance)
        cols = {
            f"{m:g} min": [100.0 * float((st[g] <= m / 60.0 + 1e-12).mean()) for g in st.columns]
            for m in minutes
        }
        return pd.DataFrame(cols, index=pd.Index(list(st.columns), name="group"))


def robustness_study(
    problem: Any,
    params: torch.Tensor,
    fraction: float = 0.5,
    tolerance: float = 0.01,
    t_start: float = 1e-9,
    t_end: float = 10.0,
    n_times: int = 200,
    check_minutes: tuple[float, ...] = (24.0, 34.0),
    method: str = "BDF",
    rtol: float = 1e-6,
    atol_scale: float = 1e-9,
    time_limit: float | None = 30.0,
    batch_size: int | None = None,
    max_active: int = 96,
    seed: int = 0,
    groups: dict[str, list[int]] | None = None,
    biomass: str | None = "auto",
    n_jobs: int = 1,
    backend: str = "local",
    progress: Any = False,
) -> RobustnessResult:
    """Perturb each model's steady state once and integrate it back.

    Args:
        problem: a :class:`~kinflux.kinetic.problem.KineticProblem` (model, steady state).
        params: valid complete parameter sets ``(n_models, n_params)``.
        fraction: largest relative perturbation of any species (0.5 = +-50 %).
        tolerance: relative deviation that counts as returned (0.01 = 1 %).
        t_start, t_end: first log-spaced output time and horizon, h.
        n_times: log-spaced output times (plus 0 and the check times).
        check_minutes: times at which returns are counted, min (added to the output).
        method, rtol, atol_scale: solver, relative tolerance, absolute tolerance per
            species as a fraction of its steady state.
        time_limit: wall-time limit per model, s (``None``: none).
        batch_size: models per task (one task per worker call); ``None``: the models
            split evenly over the workers, at most 512 per task.
        max_active: solvers of a task running at once; their right-hand sides and
            Jacobians are evaluated together, and a finished model's slot goes to the
            task's next model.
        seed: seed of the perturbations (model ``i`` gets state ``i`` of one draw).
        groups: group -> variable indices (default :func:`metabolite_groups`).
        biomass: biomass reaction for the ``biomass`` group; ``"auto"``:
            :func:`biomass_reaction`; None: no biomass group.
        n_jobs, backend: :func:`kinflux.compute.map` options.
        progress: bar or callback over batches.

    Returns:
        A :class:`RobustnessResult`.
    """

    m = problem.model
    params = torch.as_tensor(params, dtype=torch.float64).reshape(-1, m.n_params)
    if params.shape[0] < 1:
        raise KinfluxError("robustness study: no parameter sets given")
    if not 0 < tolerance < 1:
        raise KinfluxError(f"tolerance must be in (0, 1), got {tolerance!r}")
    if not 0 < t_start < t_end:
        raise KinfluxError(f"need 0 < t_start < t_end (h), got {t_start}, {t_end}")
    if biomass == "auto":
        biomass = biomass_reaction(m)
    elif biomass is not None and biomass not in m.reaction_names:
        raise KinfluxError(f"model '{m.name}' has no reaction '{biomass}' (biomass)")
    groups = metabolite_groups(m) if groups is None else groups
    x0 = sample_perturbations(m, problem.steady_state.x, fraction, params.shape[0], seed)
    t = _output_times(t_start, t_end, n_times, [c / 60.0 for c in check_minutes])
    n = int(params.shape[0])
    if batch_size is None:
        workers = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
        batch_size = min(512, -(-n // max(1, workers)))
    common = {
        "t": t * float(problem.scaling.time),  # h -> the model's time unit
        "method": method,
        "rtol": rtol,
        "atol_scale": atol_scale,
        "time_limit": time_limit,
        "max_active": int(max_active),
        "groups": groups,
        "biomass": biomass,
    }
    outs, wall = map_batches(
        _task,
        common,
        {"params": params, "x0": x0},
        batch_size,
        {"problem": problem},
        n_jobs,
        backend,
        progress,
        "robustness batches",
    )
    dev = {g: np.concatenate([o["dev"][g] for o in outs]) for g in outs[0]["dev"]}
    order = [g for g in ("biomass", "nadh", "atp", "nadph", "all_cytosolic") if g in dev]
    dev = {g: dev[g] for g in order + [g for g in dev if g not in order]}
    config = {
        "fraction": fraction,
        "tolerance": tolerance,
        "t_start": t_start,
        "t_end": t_end,
        "n_times": n_times,
        "check_minutes": list(check_minutes),
        "method": method,
        "rtol": rtol,
        "atol_scale": atol_scale,
        "time_limit": time_limit,
        "batch_size": batch_size,
        "max_active": max_active,
        "seed": seed,
        "biomass": biomass,
        "n_models": int(params.shape[0]),
    }
    return RobustnessResult(
        t=t,
        deviations=dev,
        status=[s for o in outs for s in o["status"]],
        seconds=np.concatenate([o["seconds"] for o in outs]),
        wall_seconds=wall,
        tolerance=tolerance,
        config=config,
        final_drift=np.concatenate([o["drift"] for o in outs]),
    )
