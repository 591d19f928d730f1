"""Exact conserved moieties (kinflux.kinetic.conservation)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.conservation import (
    conserved_moieties,
    exact_matrix,
    is_conserved,
    left_null_space,
)
from kinflux.kinetic.model import KineticModel


@pytest.fixture(scope="module", params=["varma_strain_1", "kin_varma_anthranilate"])
def model(request):
    return KineticModel.from_yaml(kinetic_model_path(request.param))


def test_hand_example():
    # A + B -> C, C -> A + B ... plus D <-> E: moieties A+C, B+C, D+E
    S = np.array(
        [[-1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -2.0], [0.0, 2.0]],
    )
    basis = left_null_space(S)
    assert len(basis) == 3
    cons = conserved_moieties(S, list("ABCDE"))
    assert cons.dependent_idx == [0, 1, 3]
    got = [[int(v) for v in r] for r in cons.exact]
    assert got == [[1, 0, 1, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]]
    assert is_conserved(cons.exact, S)


def test_decimals_read_as_written():
    assert exact_matrix(np.array([[0.352, 35821796.5]])) == [
        [Fraction(352, 1000), Fraction(71643593, 2)]
    ]


def test_every_moiety_exact_and_conserved(model):
    C = model.conservation_exact
    assert len(C) == len(model.dependent_idx) > 0
    for row in C:
        for v in row:
            assert isinstance(v, Fraction) and v.denominator <= 12  # small rationals
    assert is_conserved(C, model.S)  # C @ S == 0 in rational arithmetic
    # floats are exactly those rationals; the dependent block is the identity
    assert np.array_equal(model.conservation, np.array([[float(v) for v in r] for r in C]))
    assert np.array_equal(model.conservation[:, model.dependent_idx], np.eye(len(C)))


def test_anthranilate_adenylate_moiety_is_exact():
    m = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
    moieties = m.moieties()
    assert {"adp_c": 1.0, "amp_c": 1.0, "atp_c": 1.0} in moieties
    # no stray entries: every moiety has at most 3 members with coefficient 1
    assert all(set(mo.values()) == {1.0} and len(mo) <= 3 for mo in moieties)
    # the link matrix is integral as well
    assert np.array_equal(m.link, np.round(m.link))


def test_yaml_hint_used_when_valid(model):
    dep = model.dependent
    again = conserved_moieties(model.S, model.variables, hint=list(reversed(dep)))
    assert again.dependent_idx == model.dependent_idx and again.note == ""
    bad = conserved_moieties(model.S, model.variables, hint=model.variables[:1])
    assert "do not fit" in bad.note
