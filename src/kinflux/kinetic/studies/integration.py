"""Many stiff ODE integrations at once: SciPy solvers whose calls are batched.

A study integrates hundreds of kinetic models, each a stiff ODE system whose right-hand
side costs milliseconds per call when evaluated alone but little more for a batch of 64
(the engine's rate laws are vectorized over the batch). :func:`integrate_many` therefore
runs one SciPy solver (``BDF``, ``LSODA`` or ``Radau``, the system's analytic Jacobian)
per model, each in its own thread (stepped like :func:`scipy.integrate.solve_ivp`, output from the
solver's dense output), in *lockstep*: whenever every running solver waits
for a right-hand side or a Jacobian, the requests are evaluated together as one batch.
Every solver still takes its own steps with its own error control, so the results are
those of separate :func:`scipy.integrate.solve_ivp` calls.

Wall-time limit: each model is charged its share of the batch's wall time (the time of
every round of requests is split evenly among the models that took part in it, so the
charges add up to the batch's wall time and a model left alone pays the full clock); a
model whose charge exceeds ``time_limit`` seconds is stopped and reported as
``"timeout"``, its trajectory kept up to the time it reached. Parallelize batches with
:func:`kinflux.compute.map`.

Example:
    >>> import numpy as np
    >>> class Decay:  # dy/dt = -k y, one rate constant k per model
    ...     n_states = 1
    ...     def __init__(self, k): self.k = np.asarray(k, float)
    ...     def rhs(self, y, members): return -self.k[members, None] * y
    ...     def jac(self, y, members): return -self.k[members, None, None] + 0 * y[:, :, None]
    >>> res = integrate_many(Decay([1.0, 2.0]), np.ones((2, 1)), np.array([0.0, 1.0]))
    >>> res.status, np.round(res.y[:, -1, 0], 4).tolist()
    (['ok', 'ok'], [0.3679, 0.1353])
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.integrate import BDF, LSODA, Radau

from kinflux import KinfluxError

__all__ = ["BatchedSystem", "IntegrationResult", "integrate_many", "map_batches", "METHODS"]

#: SciPy solvers for stiff systems that take an analytic Jacobian
METHODS = ("BDF", "LSODA", "Radau")
_SOLVERS = {"BDF": BDF, "LSODA": LSODA, "Radau": Radau}


class BatchedSystem(Protocol):
    """An ODE system for many models, evaluated for any subset of them at once.

    ``rhs(y (b, n_states), members (b,)) -> (b, n_states)`` and
    ``jac(y, members) -> (b, n_states, n_states)``; ``members`` are model indices.
    """

    n_states: int

    def rhs(self, y: np.ndarray, members: list[int]) -> np.ndarray: ...

    def jac(self, y: np.ndarray, members: list[int]) -> np.ndarray: ...


@dataclass
class IntegrationResult:
    """Solutions of :func:`integrate_many`.

    Attributes:
        t: output times ``(n_times,)`` (the system's time unit, h for kinetic models).
        y: states ``(n_models, n_times, n_states)``; NaN after a failure or timeout
            (the times reached before it are kept).
        status: per model ``"ok"``, ``"failed"`` or ``"timeout"``.
        messages: the solver's message per model.
        seconds: each model's share of the batch's wall time, s (they add up to it).
        n_rhs: right-hand-side evaluations per model.
        reached: time each solver reached (``t_eval[-1]`` when it finished).
    """

    t: np.ndarray
    y: np.ndarray
    status: list[str]
    messages: list[str]
    seconds: np.ndarray
    n_rhs: np.ndarray
    reached: np.ndarray


class _Timeout(Exception):
    pass


class _Hub:
    """Collects the solvers' requests and answers them in batches.

    The server waits on one condition (woken only when the last running solver has
    posted its request or finished); each solver waits on its own event, so a round
    wakes every thread exactly once.
    """

    def __init__(self, system: BatchedSystem, n_models: int, run: Any, max_active: int) -> None:
        self.system = system
        self.cond = threading.Condition()
        self.requests: dict[int, tuple[str, np.ndarray]] = {}
        self.results: dict[int, Any] = {}
        self.events = [threading.Event() for _ in range(n_models)]
        self.cost = np.zeros(n_models)  # each model's share of the wall time, s
        self.last = time.perf_counter()
        self.run = run
        self.pending = list(range(n_models - 1, -1, -1))  # popped from the end: 0 first
        self.threads: list[threading.Thread] = []
        self.alive = 0
        self.max_active = max(1, int(max_active))

    def _launch(self) -> None:
        """Start the next pending model's solver (caller holds ``cond``)."""
        k = self.pending.pop()
        self.alive += 1
        th = threading.Thread(target=self.run, args=(k,), daemon=True)
        self.threads.append(th)
        th.start()

    def call(self, k: int, kind: str, y: np.ndarray) -> np.ndarray:
        ev = self.events[k]
        with self.cond:
            self.requests[k] = (kind, y)
            if len(self.requests) >= self.alive:
                self.cond.notify()
        ev.wait()
        ev.clear()
        out = self.results.pop(k)
        if isinstance(out, BaseException):
            raise out
        return out

    def finished(self) -> None:
        with self.cond:
            self.alive -= 1
            if self.pending:
                self._launch()
            if len(self.requests) >= self.alive:
                self.cond.notify()

    def serve(self) -> None:
        """Start the first ``max_active`` solvers, then answer rounds until all finish."""
        with self.cond:
            while self.pending and self.alive < self.max_active:
                self._launch()
        while True:
            with self.cond:
                while self.alive > 0 and len(self.requests) < self.alive:
                    self.cond.wait()
                if self.alive == 0:
                    return
                reqs, self.requests = self.requests, {}
            answers: dict[int, Any] = {}
            for kind in ("rhs", "jac"):
                ks = [k for k, (kd, _) in reqs.items() if kd == kind]
                if not ks:
                    continue
                y = np.stack([reqs[k][1] for k in ks])
                try:
                    out = self.system.rhs(y, ks) if kind == "rhs" else self.system.jac(y, ks)
                    for i, k in enumerate(ks):
                        answers[k] = np.ascontiguousarray(out[i])
                except Exception as exc:  # noqa: BLE001 - handed to the requesting solvers
                    for k in ks:
                        answers[k] = exc
            now = time.perf_counter()
            share = (now - self.last) / max(1, len(reqs))
            for k in reqs:
                self.cost[k] += share
            self.last = now
            self.results.update(answers)
            for k in answers:
                self.events[k].set()


def integrate_many(
    system: BatchedSystem,
    y0: np.ndarray,
    t_eval: np.ndarray,
    method: str = "BDF",
    rtol: float = 1e-6,
    atol: float | np.ndarray = 1e-9,
    time_limit: float | None = None,
    max_active: int | None = None,
) -> IntegrationResult:
    """Integrate every model of ``system`` from ``y0`` and report ``t_eval``.

    Args:
        system: a :class:`BatchedSystem`.
        y0: initial states ``(n_models, n_states)``.
        t_eval: increasing output times ``(n_times,)``; integration runs from
            ``t_eval[0]`` to ``t_eval[-1]``.
        method: ``"BDF"``, ``"LSODA"`` or ``"Radau"``.
        rtol: relative tolerance.
        atol: absolute tolerance, a scalar or ``(n_models, n_states)``.
        time_limit: limit on each model's share of the wall time, s (``None``: none).
        max_active: solvers running at once (``None``: all); when one finishes the next
            model starts, so the batched calls stay full until the queue is empty.

    Returns:
        An :class:`IntegrationResult`.
    """
    if method not in METHODS:
        raise KinfluxError(f"integration method {method!r}: use one of {', '.join(METHODS)}")
    y0 = np.asarray(y0, dtype=np.float64)
    t_eval = np.asarray(t_eval, dtype=np.float64)
    if y0.ndim != 2 or t_eval.ndim != 1 or len(t_eval) < 2 or np.any(np.diff(t_eval) <= 0):
        raise KinfluxError(
            "integrate_many needs y0 (n_models, n_states) and increasing t_eval with at "
            f"least two times; got shapes {y0.shape} and {t_eval.shape}"
        )
    n, m = y0.shape
    at = np.broadcast_to(np.asarray(atol, dtype=np.float64), (n, m))
    ys = np.full((n, len(t_eval), m), np.nan)
    status = ["failed"] * n
    messages = [""] * n
    seconds = np.zeros(n)
    n_rhs = np.zeros(n, dtype=np.int64)
    reached = np.full(n, t_eval[0])

    def run(k: int) -> None:
        def check() -> None:
            if time_limit is not None and hub.cost[k] > time_limit:
                raise _Timeout

        def rhs(t: float, y: np.ndarray) -> np.ndarray:
            check()
            n_rhs[k] += 1
            return hub.call(k, "rhs", y)

        def jac(t: float, y: np.ndarray) -> np.ndarray:
            check()
            return hub.call(k, "jac", y)

        solver = None
        try:
            solver = _SOLVERS[method](
                rhs, t_eval[0], y0[k], t_eval[-1], rtol=rtol, atol=at[k], jac=jac
            )
            ys[k, 0] = y0[k]
            i = 1
            while solver.status == "running":
                message = solver.step()
                if solver.status == "failed":
                    break
                j = int(np.searchsorted(t_eval, solver.t, side="right"))
                if j > i:  # dense output only for steps that cover output times
                    ys[k, i:j] = solver.dense_output()(t_eval[i:j]).T
                    i = j
            reached[k] = solver.t
            status[k] = "ok" if solver.status == "finished" else "failed"
            messages[k] = "ok" if solver.status == "finished" else str(message)
        except _Timeout:
            status[k], messages[k] = "timeout", f"stopped after {time_limit} s"
            reached[k] = solver.t if solver is not None else t_eval[0]
        except Exception as exc:  # noqa: BLE001 - any solver error fails this model only
            status[k], messages[k] = "failed", f"solver error: {exc}"
        finally:
            seconds[k] = hub.cost[k]
            hub.finished()

    hub = _Hub(system, n, run, n if max_active is None else max_active)
    hub.serve()
    for th in hub.threads:
        th.join()
    return IntegrationResult(t_eval, ys, status, messages, seconds, n_rhs, reached)


def map_batches(
    task: Any,
    common: dict[str, Any],
    per_model: dict[str, Any],
    batch_size: int,
    shared: dict[str, Any],
    n_jobs: int = 1,
    backend: str = "local",
    progress: Any = False,
    description: str = "batches",
) -> tuple[list[Any], float]:
    """Run ``task`` on batches of models through :func:`kinflux.compute.map`.

    Each task is ``{**common, name: array[a:b] for name, array in per_model}`` for the
    batches ``[a, b)`` of at most ``batch_size`` models (rows of every ``per_model``
    array); ``shared`` objects reach every worker's :func:`kinflux.compute.worker_state`.
    Returns the task outputs in order and the wall time, s.
    """
    from kinflux.compute import chunks
    from kinflux.compute import map as cmap

    n = len(next(iter(per_model.values())))
    tasks = [
        {**common, **{k: v[a:b] for k, v in per_model.items()}} for a, b in chunks(n, batch_size)
    ]
    t0 = time.perf_counter()
    outs = cmap(
        task,
        tasks,
        backend=backend,
        n_jobs=n_jobs,
        shared=shared,
        progress=progress,
        description=description,
    )
    return outs, time.perf_counter() - t0
