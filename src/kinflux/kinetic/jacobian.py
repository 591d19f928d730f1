"""Sparse assembly of Jacobians from per-slot rate derivatives.

Every rate law depends on a few reactant slots, so ``dv/dx`` has one non-zero per
(reaction, slot) *term* (~900 terms on kin_varma_anthranilate instead of a dense
123 x 90 matrix per model). The reduced Jacobian

    J[i, j] = sum_terms S_ind[i, rxn(t)] * L[species(t), j] * dv_t/dx     (h^-1)

is then one sparse-times-dense product ``M @ D`` with a fixed matrix ``M``
``(n * n, n_terms)`` (a few thousand non-zeros) and the term derivatives ``D``
``(n_terms, batch)``; the volume ratios scale the rows afterwards. The product runs in
SciPy on small batch chunks whose transposes stay in cache, and writes the batch-major
``(batch, n, n)`` result directly. The sums are the same as the dense
``S_ind @ E @ L`` products without the exact zeros, so both agree to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sparse
import torch

from kinflux.kinetic.elasticities import SEPARABLE, separable_elasticities
from kinflux.kinetic.ratelaws import group_rates

__all__ = ["JacobianMap", "sparse_jacobian", "term_derivatives"]


class JacobianMap:
    """The fixed map from term derivatives to (reduced or full) Jacobian entries.

    Args:
        groups: the model's packed rate-law groups (CPU), terms in group, reaction, slot
            order.
        S: stoichiometry of the Jacobian's rows, ``(n_rows, n_reactions)``.
        link: ``(n_variables, n)`` columns map (the link matrix, or the identity).
        n_variables: slots at or above this index are constants or padding (no column).
    """

    def __init__(self, groups: list[Any], S: np.ndarray, link: np.ndarray, n_variables: int):
        n_rows, n = S.shape[0], link.shape[1]
        rows, cols, vals = [], [], []
        t = 0
        Scol = [np.flatnonzero(S[:, j]) for j in range(S.shape[1])]
        Lrow = [np.flatnonzero(link[s]) for s in range(link.shape[0])]
        for g in groups:
            rxn = g.rxn.tolist()
            slots = g.slot_sp.tolist()
            for i, rho in enumerate(rxn):
                for s in slots[i]:
                    if s < n_variables:
                        for a in Scol[rho]:
                            for j in Lrow[s]:
                                rows.append(a * n + j)
                                cols.append(t)
                                vals.append(S[a, rho] * link[s, j])
                    t += 1
        self.n_terms = t
        self.shape = (n_rows, n)
        self.matrix = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n_rows * n, t)
        )
        self.matrix.sum_duplicates()
        self._typed: dict[Any, sparse.csr_matrix] = {np.dtype(np.float64): self.matrix}

    def apply(self, D: np.ndarray, chunk: int = 16) -> np.ndarray:
        """Jacobians ``(batch, n_rows, n)`` from term derivatives ``D`` ``(n_terms, batch)``."""
        if D.dtype not in self._typed:
            self._typed[D.dtype] = self.matrix.astype(D.dtype)
        M = self._typed[D.dtype]
        b = D.shape[1]
        out = np.empty((b, self.shape[0] * self.shape[1]), dtype=D.dtype)
        for c0 in range(0, b, chunk):
            out[c0 : c0 + chunk] = (M @ np.ascontiguousarray(D[:, c0 : c0 + chunk])).T
        return out.reshape(b, *self.shape)


def term_derivatives(model: Any, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """dv/dx of every (reaction, slot) term of ``model``, ``(n_terms, B)``.

    Args:
        model: a :class:`~kinflux.kinetic.model.KineticModel`.
        x: ``(batch, n_variables)`` or ``(n_variables,)`` uM.
        params: ``(batch, n_params)`` or ``(n_params,)``.
    """
    conc, par, d = model._prepare(x, params)
    b = conc.shape[1]
    ders = []
    for g, eye in zip(d["groups"], d["eye"], strict=True):
        if g.mechanism in SEPARABLE:
            _, der = separable_elasticities(g, conc, par)  # (R, K, B)
        else:
            der = group_rates(g, conc, par, eye=eye).der
            der = der.expand(len(g.rxn), b, g.n_slots).permute(0, 2, 1)
        ders.append(der.reshape(-1, b))
    return torch.cat(ders)


def sparse_jacobian(
    model: Any, x: torch.Tensor, params: torch.Tensor, reduced: bool = True
) -> torch.Tensor | None:
    """The CPU path of :meth:`KineticModel.jacobian` (h^-1, ``(batch, n, n)``).

    Returns None where it does not apply (GPU tensors, autograd, dtypes other than
    float32/float64); the caller then uses the dense path.
    """
    ref = x if x.is_floating_point() else params
    if (
        ref.device.type != "cpu"
        or ref.dtype not in (torch.float64, torch.float32)
        or (torch.is_grad_enabled() and (x.requires_grad or params.requires_grad))
    ):
        return None
    key = ("jacobian_map", reduced)
    if key not in model._cache:
        S = model.S[model.independent_idx] if reduced else model.S
        L = model.link if reduced else np.eye(model.n_variables)
        model._cache[key] = JacobianMap(model.groups, S, L, model.n_variables)
    D = term_derivatives(model, x, params)
    J = torch.from_numpy(model._cache[key].apply(D.numpy()))
    r = model.volume_ratios(params.to(J.dtype))
    rows = r[:, model.independent_idx] if reduced else r
    if not bool((rows == 1).all()):
        J.mul_(rows.expand(J.shape[0], -1)[:, :, None])
    return J
