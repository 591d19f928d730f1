"""Fixed sparse matrices applied to batches of fluxes, and low-rank projections.

Genome-scale stoichiometric matrices are more than 99% zeros (iJO1366: 12,308 non-zeros
in 1805 x 3518). Applying them as sparse COO tensors, and writing every projection of the
mechanistic layers through ``A`` and a small dense ``(r, r)`` matrix instead of a dense
``(n, n)`` one, makes an AMN step on iJO1366 several times cheaper (see
``benchmarks/amn_table1.py``).

Not public API: used by :mod:`kinflux.flux.losses` and the layers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["EqualityProjection", "LowRankMap", "SparseMap", "independent_rows", "sparse_tensor"]


def independent_rows(A: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Indices of a maximal set of linearly independent rows of ``A`` (sorted).

    Rank-revealing QR with column pivoting on ``A^T``: the pivots whose ``|R_kk|`` exceed
    ``rtol * |R_00|`` span the row space, so ``A[rows] A[rows]^T`` is invertible.
    """
    import scipy.linalg

    if A.shape[0] == 0 or not np.any(A):
        return np.zeros(0, dtype=np.int64)
    _, R, piv = scipy.linalg.qr(A.T, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > rtol * d[0]))
    return np.sort(piv[:rank]).astype(np.int64)


def sparse_tensor(M: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Coalesced sparse COO tensor of the dense array ``M`` (exact zeros dropped)."""
    M = np.asarray(M, dtype=np.float64)
    rows, cols = np.nonzero(M)
    idx = torch.as_tensor(np.vstack([rows, cols]), dtype=torch.long)
    val = torch.as_tensor(M[rows, cols], dtype=dtype or torch.get_default_dtype())
    return torch.sparse_coo_tensor(idx, val, M.shape, check_invariants=False).coalesce()


class SparseMap(nn.Module):
    """A fixed matrix ``M`` ``(r, n)`` stored sparse, applied to batch-first tensors.

    - :meth:`rows`: ``V @ M.T``, ``(batch, n) -> (batch, r)``;
    - :meth:`cols`: ``h @ M``, ``(batch, r) -> (batch, n)``.

    Both are differentiable in their argument. The buffers are not saved in state
    dicts: they are rebuilt from the network.
    """

    M: torch.Tensor
    Mt: torch.Tensor

    def __init__(self, M: np.ndarray) -> None:
        super().__init__()
        M = np.asarray(M, dtype=np.float64)
        self.shape = M.shape
        self.register_buffer("M", sparse_tensor(M), persistent=False)
        self.register_buffer("Mt", sparse_tensor(M.T), persistent=False)

    def rows(self, V: torch.Tensor) -> torch.Tensor:
        """``V @ M.T`` for ``V`` ``(batch, n)``."""
        if self.shape[0] == 0:
            return V.new_zeros(V.shape[0], 0)
        return torch.sparse.mm(self.M.to(V.dtype), V.T).T

    def cols(self, h: torch.Tensor) -> torch.Tensor:
        """``h @ M`` for ``h`` ``(batch, r)``."""
        if self.shape[0] == 0:
            return h.new_zeros(h.shape[0], self.shape[1])
        return torch.sparse.mm(self.Mt.to(h.dtype), h.T).T

    def extra_repr(self) -> str:
        return f"shape={self.shape}, nnz={self.M._nnz()}"


class LowRankMap(nn.Module):
    """``V -> ((V A^T + offset) C) A`` for sparse ``A`` ``(r, n)`` and dense ``C`` ``(r, r)``.

    The projections of the mechanistic layers (``P = A^T (A A^T)^-1 A`` and the
    Woodbury form of ``(I + A^T A)^-1``) in factored form: ``O(nnz(A) + r^2)`` per
    sample instead of ``O(n^2)``. Factored forms subtract nearly equal numbers, so they
    are evaluated in float64 whatever the module's dtype: ``.to(...)`` moves ``A`` and
    ``C`` to the new device but never casts them. Results come back in the input's dtype.
    """

    def __init__(self, A: np.ndarray, C: np.ndarray) -> None:
        super().__init__()
        A = np.asarray(A, dtype=np.float64)
        self.shape = A.shape
        # plain attributes, not buffers: moved by device only (see _apply)
        self._A = sparse_tensor(A, torch.float64)
        self._At = sparse_tensor(A.T, torch.float64)
        self._C = torch.as_tensor(np.asarray(C, dtype=np.float64))

    def _apply(self, fn, recurse=True):  # noqa: ANN001 - torch's signature
        device = fn(torch.zeros(1, dtype=torch.float64, device=self._C.device)).device
        self._A, self._At, self._C = (t.to(device) for t in (self._A, self._At, self._C))
        return super()._apply(fn, recurse)

    @property
    def C(self) -> torch.Tensor:
        """The dense ``(r, r)`` factor (float64)."""
        return self._C

    def rows(self, V: torch.Tensor) -> torch.Tensor:
        """``V @ A.T`` in float64, ``(batch, n) -> (batch, r)``."""
        return torch.sparse.mm(self._A, V.double().T).T

    def forward(self, V: torch.Tensor, offset: torch.Tensor | None = None) -> torch.Tensor:
        """``((V A^T + offset) C) A`` (float64); ``V`` ``(batch, n)``, ``offset`` ``(batch, r)``."""
        if self.shape[0] == 0:
            return torch.zeros_like(V, dtype=torch.float64)
        h = self.rows(V)
        if offset is not None:
            h = h + offset.double()
        return torch.sparse.mm(self._At, (h @ self._C).T).T

    def extra_repr(self) -> str:
        return f"shape={self.shape}, nnz={self._A._nnz()}"


class EqualityProjection(LowRankMap):
    """Orthogonal projection onto ``{V : A V = b}``, ``A`` the independent rows of ``E``.

    ``E`` ``(k, n)`` is cut to a maximal set of independent rows (:func:`independent_rows`,
    kept in ``kept_rows``), so that ``C = (A A^T)^-1`` exists; then, with ``Q = A^T C``,
    :meth:`project` returns ``V - Q (A V - b)`` and the call ``self(V, offset)`` the
    correction ``((V A^T + offset) C) A`` (float64), as :class:`LowRankMap`.
    """

    def __init__(self, E: np.ndarray) -> None:
        E = np.asarray(E, dtype=np.float64)
        rows = independent_rows(E)
        A = E[rows]
        super().__init__(A, np.linalg.inv(A @ A.T) if len(rows) else np.zeros((0, 0)))
        #: rows of ``E`` kept in ``A`` (right-hand sides ``b`` follow them)
        self.kept_rows = rows

    def project(self, V: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        """``V - Q (A V - b)`` in ``V``'s dtype; ``V`` ``(batch, n)``, ``b`` ``(batch, r)``."""
        return (V.double() - self(V, None if b is None else -b)).to(V.dtype)
