"""ODE integration of the strain_1 kinetic model (kinflux.kinetic.dynamics.integrate)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.dynamics import integrate, perturb_state
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState


@pytest.fixture(scope="module")
def strain1() -> tuple[KineticModel, torch.Tensor, torch.Tensor]:
    m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    p = ss.fill_constants(m.default_parameters())
    return m, ss.x.reshape(1, -1), p


def _rel_dist(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Euclidean norm of ``(x - ref) / ref`` over the last axis."""
    return np.linalg.norm((x - ref) / ref, axis=-1)


def test_steady_state_stays(strain1) -> None:
    m, x, p = strain1
    t0 = time.perf_counter()
    tr = integrate(m, x, p, t_end=0.1, n_times=5)
    assert time.perf_counter() - t0 < 60
    assert tr.success == [True]
    rel = np.abs(tr.x[0] / x.numpy() - 1.0).max()
    assert rel < 1e-6, rel


def test_perturbation_relaxes(strain1) -> None:
    m, x, p = strain1
    x0 = perturb_state(m, x, 0.1, 50, seed=0)
    x0 = x0[(x0 > 0).all(1)][:1]  # 10 % can drive dependent moiety members negative
    assert x0.shape[0] == 1
    t0 = time.perf_counter()
    tr = integrate(m, x0, p, t_end=0.1, n_times=11)
    assert time.perf_counter() - t0 < 60
    assert tr.success == [True], tr.messages
    ref = x.numpy()[0]
    d = _rel_dist(tr.x[0], ref)
    assert d[-1] < 0.5 * d[0], d
    assert (tr.x[0] > 0).all()
    # conservation is exact by construction
    tot = m.moiety_totals(torch.from_numpy(tr.x[0]))
    np.testing.assert_allclose(tot.numpy(), m.moiety_totals(x0).numpy().repeat(11, 0), rtol=1e-9)


def test_nonpositive_initial_state_is_reported(strain1) -> None:
    m, x, p = strain1
    x0 = x.clone()
    x0[0, 0] = -1.0
    tr = integrate(m, x0, p, t_end=0.01, n_times=3)
    assert tr.success == [False]
    assert "non-positive" in tr.messages[0]
    assert np.isnan(tr.x).all()


def test_timeout_and_nonfinite_are_failures(strain1) -> None:
    from kinflux import KinfluxError

    m, x, p = strain1
    x0 = x.clone()
    x0[0, 0] *= 1.05
    tr = integrate(m, x0, p, 1.0, n_times=5, method="LSODA", max_seconds=1e-4)
    assert tr.success == [False] and "timed out" in tr.messages[0]
    assert tr.failures == [0] and np.isnan(tr.x).all()
    bad = p.clone()
    bad[m.parameter_index("vmax_forward_PGK")] = float("inf")
    with pytest.raises(KinfluxError, match="not finite"):
        integrate(m, x0, bad, 1.0)
