"""Sparse Jacobian assembly equals the dense S E L products; balancing keeps eigenvalues."""

from __future__ import annotations

import pytest
import torch

from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.jacobian import sparse_jacobian
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState


@pytest.fixture(scope="module")
def strain1():
    m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    p = ss.fill_constants(m.default_parameters())
    g = torch.Generator().manual_seed(0)
    P = p.expand(5, -1).clone()
    km = torch.tensor(m.parameter_indices("km"))
    P[:, km] *= torch.exp(0.3 * torch.randn(5, len(km), generator=g, dtype=torch.float64))
    return m, ss.x, P


@pytest.mark.parametrize("reduced", [True, False])
def test_sparse_equals_dense(strain1, reduced):
    m, x, P = strain1
    fast = sparse_jacobian(m, x, P, reduced)
    dense = m.jacobian(x, P.clone().requires_grad_(True), reduced=reduced).detach()
    assert fast is not None and fast.shape == dense.shape
    scale = dense.abs().amax(dim=(1, 2), keepdim=True)
    assert float(((fast - dense).abs() / scale).max()) < 1e-13
    assert torch.equal(m.jacobian(x, P, reduced=reduced), fast)


def test_balance_is_exact_similarity(strain1):
    from kinflux.kinetic.dynamics import _balance

    m, x, P = strain1
    J = m.jacobian(x, P)
    B = _balance(J)
    # power-of-two diagonal similarity: |B_ij| / |J_ij| = d_j / d_i exactly
    ratio = (B / torch.where(J == 0, torch.ones_like(J), J))[J != 0]
    assert torch.equal(torch.log2(ratio.abs()), torch.round(torch.log2(ratio.abs())))
    assert torch.allclose(B.diagonal(dim1=1, dim2=2), J.diagonal(dim1=1, dim2=2))
