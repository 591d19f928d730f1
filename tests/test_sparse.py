"""Sparse maps and factored projections against dense numpy algebra."""

from __future__ import annotations

import numpy as np
import torch

from kinflux.flux.sparse import LowRankMap, SparseMap


def _matrix(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(4, 9)) * (rng.random((4, 9)) < 0.4)
    A[np.arange(4), np.arange(4)] += 1.0  # full row rank
    return A


def test_sparse_map_matches_dense_products():
    A = _matrix()
    m = SparseMap(A).double()
    V = torch.randn(3, 9, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, 4, dtype=torch.float64)
    np.testing.assert_allclose(m.rows(V).detach().numpy(), V.detach().numpy() @ A.T, atol=1e-6)
    np.testing.assert_allclose(m.cols(h).numpy(), h.numpy() @ A, atol=1e-6)
    m.rows(V).sum().backward()  # gradient of sum(V A^T) is the column sums of A
    np.testing.assert_allclose(V.grad.numpy(), np.tile(A.sum(0), (3, 1)), atol=1e-6)


def test_low_rank_projection_and_dtype():
    """((V A^T + o) C) A with C = (A A^T)^-1 projects onto A V = -o; float64 kept."""
    A = _matrix(1)
    C = np.linalg.inv(A @ A.T)
    m = LowRankMap(A, C).to(torch.float32)  # casting the module must not round A or C
    assert m.C.dtype == torch.float64
    V = torch.randn(2, 9, dtype=torch.float32)
    b = torch.randn(2, 4, dtype=torch.float32)
    W = V.double() - m(V, -b)  # V - Q (A V - b)
    np.testing.assert_allclose(W.numpy() @ A.T, b.double().numpy(), atol=1e-6)
    P = A.T @ C @ A
    np.testing.assert_allclose(m(V).numpy(), V.double().numpy() @ P, atol=1e-10)


def test_equality_projection_drops_dependent_rows():
    """A repeated row is dropped; the projection lands on E V = b and is idempotent."""
    from kinflux.flux.sparse import EqualityProjection

    A = _matrix(2)
    E = np.vstack([A, A[:1]])  # rank 4, five rows
    p = EqualityProjection(E)
    assert list(p.kept_rows) == [0, 1, 2, 3]
    V = torch.randn(3, 9, dtype=torch.float64)
    b = torch.randn(3, 4, dtype=torch.float64)
    W = p.project(V, b)
    np.testing.assert_allclose(W.numpy() @ A.T, b.numpy(), atol=1e-10)
    np.testing.assert_allclose(p.project(W, b).numpy(), W.numpy(), atol=1e-10)
