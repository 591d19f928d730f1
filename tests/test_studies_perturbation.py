"""Physical perturbations (box + moiety totals) and the batched integrator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinflux import KinfluxError
from kinflux.kinetic.studies.integration import integrate_many
from kinflux.kinetic.studies.perturbation import perturbation_basis, sample_perturbations


@pytest.fixture(scope="module")
def strain1():
    from kinflux.kinetic.problem import KineticProblem

    return KineticProblem.bundled("varma_strain_1")


class _Toy:
    """Two species in one moiety: x1 + x2 = const."""

    name = "toy"
    conservation = np.array([[1.0, 1.0]])


def test_hand_polytope_keeps_total_and_box():
    x_ss = torch.tensor([1.0, 3.0], dtype=torch.float64)
    x = sample_perturbations(_Toy(), x_ss, 0.5, 200, seed=1)
    # total x1 + x2 = 4 exactly; |x2 - 3| = |x1 - 1| <= 0.5 bounds x1 by the box of x1
    assert torch.allclose(x.sum(1), torch.full((200,), 4.0, dtype=torch.float64), atol=1e-12)
    assert bool(((x[:, 0] - 1).abs() <= 0.5 + 1e-12).all())
    assert bool(((x[:, 1] - 3).abs() <= 1.5 + 1e-12).all())
    # uniform on the segment x1 in [0.5, 1.5]: mean ~1, spread ~ 1/sqrt(12)
    assert abs(float(x[:, 0].mean()) - 1.0) < 0.08
    assert abs(float(x[:, 0].std()) - 12**-0.5) < 0.06


def test_basis_is_null_space():
    C = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    x = np.array([2.0, 1.0, 4.0])
    N = perturbation_basis(C, x)
    assert N.shape == (3, 1)
    assert np.allclose((C * x) @ N, 0.0)


def test_model_box_and_totals(strain1):
    m, x_ss = strain1.model, strain1.steady_state.x
    x = sample_perturbations(m, x_ss, 0.5, 64, seed=0)
    rel = x / x_ss - 1
    assert bool((rel.abs() <= 0.5 + 1e-12).all())
    tot, tot0 = m.moiety_totals(x), m.moiety_totals(x_ss[None])
    assert torch.allclose(tot, tot0.expand_as(tot), rtol=1e-10, atol=1e-12)
    assert float(rel.abs().mean()) > 0.1  # really perturbed, not stuck at the centre
    again = sample_perturbations(m, x_ss, 0.5, 64, seed=0)
    assert torch.equal(x, again)


def test_bad_fraction(strain1):
    with pytest.raises(KinfluxError, match="fraction"):
        sample_perturbations(strain1.model, strain1.steady_state.x, 1.5, 2)


class _Decay:
    n_states = 2

    def __init__(self, k):
        self.k = np.asarray(k, float)

    def rhs(self, y, members):
        return -self.k[members, None] * y

    def jac(self, y, members):
        return -self.k[members, None, None] * np.eye(2)[None]


def test_integrate_many_matches_exponential():
    t = np.array([0.0, 0.5, 1.0, 2.0])
    res = integrate_many(_Decay([1.0, 3.0, 0.5]), np.ones((3, 2)), t, rtol=1e-8, atol=1e-12)
    assert res.status == ["ok"] * 3
    expect = np.exp(-np.array([1.0, 3.0, 0.5])[:, None] * t[None])
    assert np.allclose(res.y[:, :, 0], expect, rtol=1e-6)
    assert np.all(res.reached == 2.0)


def test_integrate_many_refill_matches_all_at_once():
    """Running 2 solvers at a time (refilled as they finish) gives the same solutions."""
    t = np.array([0.0, 0.5, 1.0, 2.0])
    d, y0 = _Decay([1.0, 3.0, 0.5, 2.0, 0.1]), np.ones((5, 2))
    a = integrate_many(d, y0, t, rtol=1e-8, atol=1e-12)
    b = integrate_many(d, y0, t, rtol=1e-8, atol=1e-12, max_active=2)
    assert b.status == ["ok"] * 5
    assert np.array_equal(a.y, b.y) and np.array_equal(a.n_rhs, b.n_rhs)


class _Stuck(_Decay):
    def rhs(self, y, members):
        import time

        time.sleep(0.01)
        return super().rhs(y, members)


def test_integrate_many_timeout_is_reported():
    res = integrate_many(_Stuck([1.0]), np.ones((1, 2)), np.linspace(0, 1e3, 5), time_limit=0.05)
    assert res.status == ["timeout"]
    assert res.reached[0] < 1e3
    with pytest.raises(KinfluxError, match="method"):
        integrate_many(_Decay([1.0]), np.ones((1, 2)), np.array([0.0, 1.0]), method="RK45")


def test_anthranilate_box_and_totals():
    """The model where perturbing independent species only sends nadh_c far out."""
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.model import KineticModel

    m = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
    g = torch.Generator().manual_seed(0)
    x_ss = torch.exp(torch.rand(m.n_variables, generator=g, dtype=torch.float64) * 9.0)  # 1-8e3 uM
    x = sample_perturbations(m, x_ss, 0.5, 32, seed=2)
    assert bool(((x / x_ss - 1).abs() <= 0.5 + 1e-12).all())
    tot, tot0 = m.moiety_totals(x), m.moiety_totals(x_ss[None])
    assert torch.allclose(tot, tot0.expand_as(tot), rtol=1e-10, atol=1e-9)
