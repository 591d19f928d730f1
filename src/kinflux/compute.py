"""Parallel work, one call for a local process pool or a Ray cluster.

Every parallel job in kinflux (pFBA training sets, ORACLE batches, evolution-strategy
populations, robustness integrations) goes through :func:`map`::

    results = kinflux.compute.map(solve, chunks, backend="local", n_jobs=2)
    results = kinflux.compute.map(solve, chunks, backend="ray", n_jobs=8, address="auto")

Results come back in task order, so a job whose tasks carry their own seeds gives the
same numbers on every backend and any number of workers. ``initializer(*initargs)`` runs
once per worker (and once in-process when ``n_jobs == 1``) to build expensive state,
e.g. a HiGHS model, which tasks then reach through :func:`worker_state`.

Threads: :func:`set_threads` is the one library-wide setting for torch's intra-op
threads in this process; worker processes run one thread each by default (on small
matrices more threads are slower, see NOTES.md).

Ray is an optional extra (``pip install "kinflux[ray]"``).
"""

from __future__ import annotations

import builtins
import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from kinflux import KinfluxError
from kinflux.progress import ProgressArg, progress_bar

__all__ = [
    "BACKENDS",
    "ComputeError",
    "map",
    "worker_state",
    "share",
    "set_threads",
    "get_threads",
    "threads",
    "chunks",
]

BACKENDS = ("local", "ray")

_STATE: dict[str, Any] = {}


class ComputeError(KinfluxError):
    """A backend cannot be used as asked (unknown name, Ray missing, bad n_jobs)."""


def share(objects: dict[str, Any]) -> None:
    """An ``initializer`` that puts ``objects`` into every worker's :func:`worker_state`,
    e.g. ``map(fn, tasks, initializer=share, initargs=({"problem": problem},))``, which
    :func:`map` spells ``map(fn, tasks, shared={"problem": problem})``."""
    _STATE.update(objects)


def worker_state() -> dict[str, Any]:
    """The dict an ``initializer`` fills, as seen by tasks in the same worker."""
    return _STATE


def set_threads(n: int) -> None:
    """Set torch's intra-op threads (and OpenMP's for child processes) to ``n >= 1``.

    Does not import torch: before its first import the setting goes through
    ``OMP_NUM_THREADS``, which torch reads when it starts.
    """
    if int(n) < 1:
        raise ComputeError(f"threads must be >= 1, got {n}")
    os.environ["OMP_NUM_THREADS"] = str(int(n))  # read by torch when first imported
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(n))


def get_threads() -> int:
    """torch's current intra-op thread count."""
    import torch

    return torch.get_num_threads()


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run a block with ``n`` torch threads (``None``: leave as is)."""
    if n is None:
        yield
        return
    old = get_threads()
    set_threads(n)
    try:
        yield
    finally:
        set_threads(old)


def _init_worker(initializer: Callable[..., None] | None, initargs: tuple, n_threads: int) -> None:
    with contextlib.suppress(Exception):
        set_threads(n_threads)
    _STATE.clear()
    if initializer is not None:
        initializer(*initargs)


def map(  # noqa: A001 - the natural name, used as kinflux.compute.map
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    backend: str = "local",
    n_jobs: int = 1,
    address: str | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: Sequence[Any] = (),
    progress: ProgressArg = False,
    description: str = "tasks",
    worker_threads: int = 1,
    shared: dict[str, Any] | None = None,
) -> list[Any]:
    """Apply ``fn`` to every task; results in task order.

    Args:
        fn: a picklable top-level function of one task.
        tasks: picklable task objects (make each carry its own seed).
        backend: ``"local"`` (a process pool; in-process when ``n_jobs == 1``) or
            ``"ray"`` (``ray.util.multiprocessing.Pool`` on ``address``).
        n_jobs: worker processes (``-1``: one per CPU).
        address: Ray cluster address (``"auto"`` for a running cluster); ``None``
            starts a local Ray if none is running.
        initializer, initargs: run once per worker before its first task.
        progress: True for a bar, a callback ``(done, total, info)``, or False.
        description: label of the bar.
        worker_threads: torch threads in each worker process.
        shared: objects every worker sees in :func:`worker_state` (sent once per worker,
            not with every task); short for ``initializer=share, initargs=(shared,)``.

    Example:
        >>> map(abs, [-1, 2, -3])
        [1, 2, 3]
    """
    if backend not in BACKENDS:
        raise ComputeError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if shared is not None:
        if initializer is not None:
            raise ComputeError("give either shared or initializer, not both")
        initializer, initargs = share, (shared,)
    tasks = list(tasks)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise ComputeError(f"n_jobs must be >= 1 or -1 (all CPUs), got {n_jobs}")
    out: list[Any] = []
    with progress_bar(len(tasks), description, progress) as bar:
        if backend == "local" and (n_jobs == 1 or len(tasks) <= 1):
            saved = dict(_STATE)
            try:
                _init_worker(initializer, tuple(initargs), get_threads())
                for t in tasks:
                    out.append(fn(t))
                    bar.advance()
            finally:
                _STATE.clear()
                _STATE.update(saved)
            return out
        pool = _pool(backend, n_jobs, address, initializer, tuple(initargs), worker_threads)
        try:
            for r in pool.imap(fn, tasks, chunksize=1):
                out.append(r)
                bar.advance()
        finally:
            pool.terminate()
    return out


def _pool(
    backend: str,
    n_jobs: int,
    address: str | None,
    initializer: Callable[..., None] | None,
    initargs: tuple,
    worker_threads: int,
) -> Any:
    args = (initializer, initargs, worker_threads)
    if backend == "local":
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        return ctx.Pool(n_jobs, initializer=_init_worker, initargs=args)
    try:
        import ray
        from ray.util.multiprocessing import Pool as RayPool
    except ImportError as exc:
        raise ComputeError(
            "backend 'ray' needs Ray: pip install \"kinflux[ray]\" (or use backend='local')"
        ) from exc
    if not ray.is_initialized():
        kw: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False}
        if address is None:
            kw["num_cpus"] = n_jobs
        else:
            kw["address"] = address
        ray.init(**kw)
    return RayPool(processes=n_jobs, initializer=_init_worker, initargs=args)


def chunks(n: int, size: int) -> builtins.list[tuple[int, int]]:
    """Split ``range(n)`` into ``(start, stop)`` pieces of at most ``size`` items.

    Example:
        >>> chunks(5, 2)
        [(0, 2), (2, 4), (4, 5)]
    """
    if size < 1:
        raise ComputeError(f"chunk size must be >= 1, got {size}")
    return [(i, min(n, i + size)) for i in range(0, n, size)]
