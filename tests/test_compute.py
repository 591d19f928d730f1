"""kinflux.compute: task order, initializers, identical results on every backend."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from kinflux import compute
from kinflux.compute import ComputeError, worker_state


def _init(offset: float) -> None:
    worker_state()["offset"] = offset


def _draw(seed: int) -> np.ndarray:
    """A seeded task: the same seed gives the same numbers in any worker."""
    return np.random.default_rng(seed).normal(size=3) + worker_state()["offset"]


def test_in_process_order_and_initializer():
    out = compute.map(_draw, [3, 1, 2], initializer=_init, initargs=(10.0,))
    want = [np.random.default_rng(s).normal(size=3) + 10.0 for s in (3, 1, 2)]
    np.testing.assert_array_equal(np.array(out), np.array(want))
    assert "offset" not in worker_state()  # the caller's state is restored


def test_local_pool_equals_in_process():
    tasks = list(range(7))
    one = compute.map(_draw, tasks, initializer=_init, initargs=(1.0,))
    two = compute.map(_draw, tasks, n_jobs=2, initializer=_init, initargs=(1.0,))
    np.testing.assert_array_equal(np.array(one), np.array(two))


def test_shared_objects_reach_every_worker():
    tasks = list(range(5))
    want = compute.map(_draw, tasks, initializer=_init, initargs=(3.0,))
    for n_jobs in (1, 2):
        got = compute.map(_draw, tasks, n_jobs=n_jobs, shared={"offset": 3.0})
        np.testing.assert_array_equal(np.array(got), np.array(want))
    assert "offset" not in worker_state()
    with pytest.raises(ComputeError, match="shared or initializer"):
        compute.map(_draw, tasks, initializer=_init, initargs=(1.0,), shared={"offset": 1.0})


def test_progress_callback_counts_tasks():
    seen = []
    compute.map(abs, [-1, -2, -3], progress=lambda d, t, i: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(
    "kwargs, text",
    [({"backend": "spark"}, "unknown backend"), ({"n_jobs": 0}, "n_jobs must be")],
)
def test_bad_arguments(kwargs, text):
    with pytest.raises(ComputeError, match=text):
        compute.map(abs, [1], **kwargs)


def test_chunks_cover_range():
    assert compute.chunks(5, 2) == [(0, 2), (2, 4), (4, 5)]
    with pytest.raises(ComputeError):
        compute.chunks(3, 0)


def test_threads_context_restores():
    import torch

    old = torch.get_num_threads()
    with compute.threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old


def test_ray_equals_local():
    ray = pytest.importorskip("ray")
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        tasks = list(range(6))
        local = compute.map(_draw, tasks, n_jobs=2, initializer=_init, initargs=(2.0,))
        remote = compute.map(
            _draw, tasks, backend="ray", n_jobs=2, initializer=_init, initargs=(2.0,)
        )
        np.testing.assert_array_equal(np.array(local), np.array(remote))
    finally:
        ray.shutdown()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
