"""Conserved moieties of a kinetic model, computed exactly in rational arithmetic.

A moiety is a row vector ``c`` with ``c @ S = 0`` over the balanced species (the model's
variables): ``c @ x`` stays constant along every trajectory. A floating-point null space
(SVD) makes them inexact when a reaction has large coefficients: on
kin_varma_anthranilate the lumped biomass reaction carries coefficients near 3.6e7, and
the SVD basis mixes ~1e-8 of every metabolite into the adenylate moiety, which puts
hundreds of spurious entries into the reduced Jacobian.

Here every stoichiometric coefficient is read as the decimal number it prints as
(``Fraction(repr(x))``: 0.352 is 352/1000, as written in the YAML file), and the left
null space is found by Gauss-Jordan elimination over the rationals. The moieties come
out as small integers (rationals in general), and ``C @ S == 0`` holds exactly.

The dependent species (one per moiety) are the YAML's ``dependent_reactants`` when they
form a valid choice, otherwise the first species, in variable order, that are linearly
independent in the moiety matrix (the pivot columns of its reduced row echelon form,
SKiMpy's rule). With them ``C[:, dependent] = I`` and ``x = L @ x_independent + offset``.

Example:
    >>> import numpy as np
    >>> S = np.array([[-1.0, 0.0], [1.0, -1.0], [0.0, 1.0]])   # A -> B -> C
    >>> cons = conserved_moieties(S)
    >>> cons.exact, cons.dependent_idx
    ([[Fraction(1, 1), Fraction(1, 1), Fraction(1, 1)]], [0])
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["Conservation", "conserved_moieties", "left_null_space", "exact_matrix"]

Row = dict[int, Fraction]


def exact_matrix(S: np.ndarray) -> list[list[Fraction]]:
    """``S`` as rationals, each entry the decimal it prints as (``Fraction(repr(x))``)."""
    cache: dict[float, Fraction] = {}
    out = []
    for row in np.asarray(S, dtype=float):
        r = []
        for v in row.tolist():
            if v not in cache:
                cache[v] = Fraction(repr(v))
            r.append(cache[v])
        out.append(r)
    return out


def _rref(rows: list[Row], order: list[int]) -> tuple[list[Row], list[int]]:
    """Gauss-Jordan on sparse rational rows, trying pivot columns in ``order``.

    Returns the non-zero reduced rows (pivot entries 1) and their pivot columns.
    """
    rows = [dict(r) for r in rows if r]
    done: list[Row] = []
    pivots: list[int] = []
    for col in order:
        k = next((i for i, r in enumerate(rows) if r.get(col)), None)
        if k is None:
            continue
        piv = rows.pop(k)
        inv = 1 / piv[col]
        piv = {j: v * inv for j, v in piv.items()}
        for group in (rows, done):
            for i, r in enumerate(group):
                f = r.get(col)
                if f:
                    for j, v in piv.items():
                        w = r.get(j, 0) - f * v
                        if w:
                            r[j] = w
                        else:
                            r.pop(j, None)
                    group[i] = r
        rows = [r for r in rows if r]
        done.append(piv)
        pivots.append(col)
        if not rows:
            break
    return done, pivots


def left_null_space(S: np.ndarray) -> list[list[Fraction]]:
    """Exact basis of ``{c : c @ S = 0}``, ``(n_moieties, n_species)`` rationals."""
    A = exact_matrix(S)
    n_s = len(A)
    n_r = len(A[0]) if n_s else 0
    # rows of S^T (one per reaction), columns = species
    rows = [{i: A[i][j] for i in range(n_s) if A[i][j]} for j in range(n_r)]
    red, piv = _rref(rows, list(range(n_s)))
    free = [i for i in range(n_s) if i not in set(piv)]
    basis = []
    for f in free:
        c = [Fraction(0)] * n_s
        c[f] = Fraction(1)
        for r, p in zip(red, piv, strict=True):
            c[p] = -r.get(f, Fraction(0))
        basis.append(c)
    return basis


@dataclass
class Conservation:
    """Exact conservation analysis.

    Attributes:
        exact: ``(n_moieties, n_species)`` rational moieties with ``C[:, dependent] = I``.
        dependent_idx, independent_idx: species indices.
        matrix: ``exact`` as floats, ``(n_moieties, n_species)``.
        link: ``(n_species, n_independent)`` float: ``x = link @ x_ind + offset``.
        note: why the YAML's dependent species were not used ("" if they were).
    """

    exact: list[list[Fraction]]
    dependent_idx: list[int]
    independent_idx: list[int]
    matrix: np.ndarray
    link: np.ndarray
    note: str = ""


def conserved_moieties(
    S: np.ndarray, species: list[str] | None = None, hint: list[str] | None = None
) -> Conservation:
    """Exact moieties of ``S`` ``(n_species, n_reactions)`` and the link matrix.

    Args:
        S: stoichiometry of the balanced species.
        species: their names (needed for ``hint``).
        hint: preferred dependent species (the YAML's ``dependent_reactants``).

    Returns:
        A :class:`Conservation`; ``exact @ S == 0`` in rational arithmetic.
    """
    n_s = S.shape[0]
    basis = left_null_space(S)
    m = len(basis)
    rows = [{j: v for j, v in enumerate(c) if v} for c in basis]
    note = ""
    red, dep = None, None
    if hint is not None and species is not None:
        idx = {s: i for i, s in enumerate(species)}
        cand = [idx[s] for s in hint if s in idx]
        if len(cand) == len(hint) == m and m > 0:
            r, p = _rref(rows, sorted(cand))
            if len(p) == m:
                red, dep = r, p
        if dep is None:
            note = (
                f"dependent_reactants {hint} of the file do not fit the {m} moieties found; "
                "chose dependents by the SKiMpy pivot rule instead"
            )
    if dep is None:
        red, dep = _rref(rows, list(range(n_s)))
    order = sorted(range(len(dep)), key=lambda k: dep[k])
    red = [red[k] for k in order]
    dep = sorted(dep)
    exact = [[r.get(j, Fraction(0)) for j in range(n_s)] for r in red]
    C = np.array([[float(v) for v in r] for r in exact], dtype=float).reshape(m, n_s)
    ind = [i for i in range(n_s) if i not in set(dep)]
    L = np.zeros((n_s, len(ind)))
    L[ind, np.arange(len(ind))] = 1.0
    if m:
        L[dep, :] = -C[:, ind]
    return Conservation(exact, dep, ind, C, L, note)


def is_conserved(exact: list[list[Fraction]], S: np.ndarray) -> bool:
    """True when every row of ``exact`` annihilates ``S`` in rational arithmetic."""
    A = exact_matrix(S)
    n_r = S.shape[1]
    for c in exact:
        for j in range(n_r):
            if sum((c[i] * A[i][j] for i in range(len(c)) if c[i] and A[i][j]), Fraction(0)):
                return False
    return True
