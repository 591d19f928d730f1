"""Mechanistic constraints and the AMN loss against hand-computed values."""

from __future__ import annotations

import pytest
import torch
from tests.test_layers import MEDIUM, toy_network

from kinflux import KinfluxError
from kinflux.flux.losses import Constraints, LayerError, mechanistic_loss, residuals
from kinflux.flux.problem import FluxProblem


@pytest.fixture(scope="module")
def cons() -> Constraints:
    return Constraints(FluxProblem(toy_network(maintenance=1.0), MEDIUM)).double()


def _flux(net, **values) -> torch.Tensor:
    V = torch.zeros(1, net.n_reactions, dtype=torch.float64)
    for rid, v in values.items():
        V[0, net.index(rid)] = v
    return V


def test_bounds_ub_eb(cons):
    net = toy_network()
    x = torch.tensor([[4.0]], dtype=torch.float64)
    lo, up = cons.bounds(x, "UB")
    j, m = net.index("EX_a_e_i"), net.index("MAINT")
    assert up[0, j] == 4.0 and lo[0, j] == 0.0 and lo[0, m] == 1.0
    lo, up = cons.bounds(x, "EB")
    assert lo[0, j] == 4.0 and up[0, j] == 4.0


def test_residuals_and_loss_hand_computed(cons):
    net = toy_network()
    # uptake 5 > bound 4, TA 5, R1 1, R2_for 1, BIO 0.5, MAINT 0 (< lb 1)
    V = _flux(net, EX_a_e_i=5.0, TA=5.0, R1=1.0, R2_for=1.0, BIO=0.5, MAINT=0.0)
    x = torch.tensor([[4.0]], dtype=torch.float64)
    r = residuals(V, x, cons, "UB")
    # a_e: +5 - 5 = 0; a_c: 5 - 1 - 1 - 0 = 3; b_c: 1 - 0.5 = 0.5; c_c: 1 - 1 = 0
    sv = {mid: float(r.SV[0, i]) for i, mid in enumerate(net.metabolite_ids)}
    assert sv == pytest.approx({"a_e": 0.0, "a_c": 3.0, "b_c": 0.5, "c_c": 0.0})
    assert float(r.inflow[0, 0]) == pytest.approx(1.0)
    assert float(r.lower.sum()) == pytest.approx(1.0)  # MAINT below its lower bound
    m, n = net.n_metabolites, net.n_reactions
    expected = (9.0 + 0.25) / m + 1.0 / 1 + 1.0 / n
    assert float(mechanistic_loss(V, x, cons, "UB")) == pytest.approx(expected)
    # EB: inflow residual is signed; an uptake of 3 against 4 counts
    V2 = _flux(net, EX_a_e_i=3.0)
    assert float(residuals(V2, x, cons, "EB").inflow[0, 0]) == pytest.approx(-1.0)
    assert float(residuals(V2, x, cons, "UB").inflow[0, 0]) == 0.0


def test_closed_inflows_and_reductions():
    net = toy_network()
    # medium without the only inflow, all other inflows closed: any uptake is a violation
    cons = Constraints(FluxProblem(net, [], open_inflows={})).double()
    V = _flux(net, EX_a_e_i=2.0)
    x = torch.zeros(1, 0, dtype=torch.float64)
    assert float(residuals(V, x, cons).upper.sum()) == pytest.approx(2.0)
    per = mechanistic_loss(V.repeat(3, 1), x.repeat(3, 1), cons, reduction="none")
    assert per.shape == (3,)
    assert float(mechanistic_loss(V.repeat(3, 1), x.repeat(3, 1), cons, reduction="sum")) == (
        pytest.approx(3 * float(per[0]))
    )


def test_errors(cons):
    with pytest.raises(KinfluxError, match="mode"):
        mechanistic_loss(torch.zeros(1, 8), torch.zeros(1, 1), cons, "XX")
    with pytest.raises(LayerError, match="shape"):
        cons.bounds(torch.zeros(1, 3))
    with pytest.raises(KinfluxError, match="not inflows"):
        Constraints(FluxProblem(toy_network(), ["TA"]))
