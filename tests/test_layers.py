"""Mechanistic layers on a toy network against scipy's linprog."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from kinflux.flux.layers import (
    PUBLISHED_DT,
    LPLayer,
    QPLayer,
    UBLayer,
    WLayer,
    mechanistic_loss,
)
from kinflux.flux.network import Network
from kinflux.flux.problem import FluxProblem
from kinflux.flux.sparse import independent_rows

MEDIUM = ["EX_a_e_i"]


def P(net: Network, mode: str = "UB", open_inflows: dict | None = None) -> FluxProblem:
    """The toy problem: medium ``MEDIUM``, given mode and open inflows."""
    return FluxProblem(net, MEDIUM, open_inflows, mode)


def toy_network(maintenance: float = 1.0) -> Network:
    """a_e -> a_c; a_c -> b_c; a_c <=> c_c; b_c + 2 c_c -> (growth); a_c -> (maintenance)."""
    import cobra

    m = cobra.Model("toy")
    a_e = cobra.Metabolite("a_e", compartment="e")
    a, b, c = (cobra.Metabolite(f"{k}_c", compartment="c") for k in "abc")
    rxns = {
        "EX_a_e": ({a_e: -1}, -10.0, 1000.0),
        "TA": ({a_e: -1, a: 1}, 0.0, 1000.0),
        "R1": ({a: -1, b: 1}, 0.0, 1000.0),
        "R2": ({a: -1, c: 1}, -1000.0, 1000.0),
        "BIO": ({b: -1, c: -2}, 0.0, 1000.0),
        "MAINT": ({a: -1}, maintenance, 1000.0),
    }
    for rid, (mets, lb, ub) in rxns.items():
        r = cobra.Reaction(rid, lower_bound=lb, upper_bound=ub)
        m.add_reactions([r])
        r.add_metabolites(mets)
    m.objective = "BIO"
    return Network(m, name="toy")


def lp_optimum(net: Network, uptake: float, mode: str = "UB") -> float:
    """Growth of max c.v, S v = 0, lb <= v <= ub, medium inflow <= (or =) uptake."""
    lb, ub = net.lower_bounds.copy(), net.upper_bounds.copy()
    j = net.index(MEDIUM[0])
    ub[j] = uptake
    if mode == "EB":
        lb[j] = uptake
    res = linprog(
        -net.objective,
        A_eq=net.S,
        b_eq=np.zeros(net.n_metabolites),
        bounds=list(zip(lb, ub, strict=True)),
    )
    assert res.status == 0
    return -res.fun


@pytest.fixture(scope="module")
def net() -> Network:
    return toy_network()


def _x(values, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)[:, None]


def test_toy_lp_reference(net):
    # hand-computed: uptake u = 3 g + maintenance (1) => g = (u - 1) / 3
    assert lp_optimum(net, 7.0) == pytest.approx(2.0, abs=1e-7)
    assert lp_optimum(net, 4.0, "EB") == pytest.approx(1.0, abs=1e-7)


def _growth(layer, x, n_iter, v0=None):
    with torch.no_grad():
        V = layer(x, v0=v0, n_iter=n_iter)
    return V[:, layer.objective_index].numpy(), V


@pytest.mark.parametrize(
    "make, mode",
    [
        (lambda n: LPLayer(P(n, "EB")), "EB"),
        (lambda n: LPLayer(P(n, "UB")), "UB"),
        (lambda n: UBLayer(P(n, "UB")), "UB"),
        (lambda n: QPLayer(P(n, "UB"), objective_weight=10.0), "UB"),
        (lambda n: QPLayer(P(n, "EB"), objective_weight=10.0), "EB"),
    ],
    ids=["LP-EB", "LP-UB", "UB", "QP-UB", "QP-EB"],
)
def test_solvers_reach_linprog_optimum(net, make, mode):
    torch.manual_seed(0)
    layer = make(net).double()
    uptakes = [2.5, 4.0, 7.0, 10.0]
    x = _x(uptakes)
    ref = np.array([lp_optimum(net, u, mode) for u in uptakes])
    g, V = _growth(layer, x, 4000)
    np.testing.assert_allclose(g, ref, rtol=2e-3, atol=2e-3)
    # warm start from a perturbed point converges as well
    v0 = V * (1 + 0.1 * torch.randn_like(V))
    g2, V2 = _growth(layer, x, 4000, v0=v0)
    np.testing.assert_allclose(g2, ref, rtol=2e-3, atol=2e-3)
    loss = mechanistic_loss(V2, x, layer.constraints, mode)
    assert float(loss) < 1e-5


@pytest.mark.parametrize("cls", [LPLayer, UBLayer])
def test_published_rule_reaches_optimum(net, cls):
    layer = cls(P(net, "EB" if cls is LPLayer else "UB"), update="published", dt=0.05).double()
    x = _x([4.0, 7.0])
    ref = np.array([lp_optimum(net, u, layer.mode) for u in (4.0, 7.0)])
    g, _ = _growth(layer, x, 20000)
    np.testing.assert_allclose(g, ref, rtol=1e-2, atol=1e-2)


def test_published_defaults():
    assert PUBLISHED_DT == {"EB": 3e-4, "UB": 5e-2}
    layer = LPLayer(P(toy_network(), "EB"), update="published")
    assert layer.rule.dt == 3e-4 and layer.rule.patience == 10_000 and layer.rule.factor == 0.7


@pytest.mark.parametrize(
    "make",
    [
        lambda n: LPLayer(P(n, "EB")),
        lambda n: LPLayer(P(n, "UB")),
        lambda n: UBLayer(P(n, "UB")),
        lambda n: QPLayer(P(n, "UB"), objective_weight=10.0),
        lambda n: WLayer(P(n, "UB")),
    ],
    ids=["LP-EB", "LP-UB", "UB", "QP", "W"],
)
def test_zero_uptake_gives_zero_growth(make):
    net = toy_network(maintenance=0.0)
    layer = make(net).double()
    g, V = _growth(layer, _x([0.0, 0.0]), 2000)
    assert np.all(np.isfinite(V.numpy()))
    np.testing.assert_allclose(g, 0.0, atol=1e-3)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: LPLayer(P(n, "EB")),
        lambda n: UBLayer(P(n, "UB")),
        lambda n: LPLayer(P(n, "EB"), update="published", dt=0.05),
        lambda n: QPLayer(P(n, "UB"), objective_weight=1.0),
        lambda n: QPLayer(P(n, "UB"), update="published", dt=1e-2),
        lambda n: WLayer(P(n, "UB"), n_iter=3),
    ],
    ids=["LP-EB", "UB", "LP-published", "QP", "QP-published", "W"],
)
def test_gradcheck(net, make):
    torch.manual_seed(1)
    layer = make(net).double()
    x = torch.tensor([[3.3], [5.7]], dtype=torch.float64, requires_grad=True)
    v0 = (torch.rand(2, net.n_reactions, dtype=torch.float64) + 0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: layer(a, v0=b, n_iter=7), (x, v0))
    V = layer(x, v0=v0, n_iter=7)
    gx, gv = torch.autograd.grad(V[:, layer.objective_index].sum(), (x, v0), allow_unused=True)
    assert gx is not None or gv is not None


@pytest.mark.parametrize("cls", [LPLayer, UBLayer, QPLayer, WLayer])
def test_float32_and_device(net, cls):
    layer = cls(P(net, "EB" if cls is LPLayer else "UB")).float()
    V = layer(_x([4.0], torch.float32), n_iter=50)
    assert V.dtype == torch.float32 and V.shape == (1, net.n_reactions)
    if torch.cuda.is_available():  # pragma: no cover - GPU machines only
        layer = layer.cuda()
        V = layer(_x([4.0], torch.float32).cuda(), n_iter=50)
        assert V.is_cuda


def test_independent_rows_makes_gram_invertible(net):
    A = np.vstack([net.S, net.S[:2] + net.S[2:4]])  # dependent rows added
    rows = independent_rows(A)
    assert len(rows) == np.linalg.matrix_rank(A)
    G = A[rows] @ A[rows].T
    assert np.linalg.cond(G) < 1e8


def test_ub_layer_reconstructs_inflow(net):
    layer = UBLayer(P(net, "UB")).double()
    x = _x([7.0])
    with torch.no_grad():
        V = layer(x, n_iter=4000)
    # the eliminated uptake equals the consumption of a_e (transport TA)
    assert float(V[0, net.index("EX_a_e_i")]) == pytest.approx(float(V[0, net.index("TA")]))
    assert float(V[0, net.index("EX_a_e_i")]) == pytest.approx(7.0, abs=1e-2)


def test_w_layer_weights_sum_to_one(net):
    layer = WLayer(P(net, "UB")).double()
    with torch.no_grad():
        layer.logits.normal_()
    W = layer.W
    col = W.sum(0)
    consumed = torch.as_tensor(net.M2V.sum(0) > 0)
    torch.testing.assert_close(col[consumed], torch.ones_like(col[consumed]))
    assert torch.all(col[~consumed] == 0)


def test_w_layer_init_from_fluxes_reproduces_reference(net):
    # a flux vector of the LP optimum is a fixed point when W holds its own branching
    layer = LPLayer(P(net, "EB")).double()
    x = _x([7.0])
    with torch.no_grad():
        Vref = layer(x, n_iter=4000)
    w = WLayer(P(net, "EB")).double()
    w.init_from_fluxes(Vref)
    with torch.no_grad():
        V = w(x, n_iter=30)
    g_ref = float(Vref[0, net.objective_index])
    assert float(V[0, net.objective_index]) == pytest.approx(g_ref, rel=0.05)


@pytest.mark.parametrize("mode", ["UB", "EB"])
def test_qp_final_projection_balances_exactly(net, mode):
    """With final_projection the QP layer's output satisfies the equality rows exactly."""
    layer = QPLayer(P(net, mode), n_iter=2, final_projection=True).double()
    x = _x([7.0])
    v0 = torch.rand(1, net.n_reactions, dtype=torch.float64)
    with torch.no_grad():
        V = layer(x, v0=v0)
    S = torch.as_tensor(net.S)
    assert float((V @ S.T).abs().max()) < 1e-10
    if mode == "EB":
        idx = layer.constraints.medium_index
        torch.testing.assert_close(V[:, idx], x)


def test_ub_final_projection_and_w_projection_balance_exactly(net):
    """RNN-UB's final projection and RNN-W's closing projection give S V = 0 exactly."""
    x = _x([7.0])
    S = torch.as_tensor(net.S)
    ub = UBLayer(P(net, "UB"), n_iter=2, update="published", dt=0.3, final_projection=True)
    w = WLayer(P(net, "UB"), n_iter=3, project=True)
    for layer in (ub.double(), w.double()):
        v0 = torch.rand(1, net.n_reactions, dtype=torch.float64)
        with torch.no_grad():
            V = layer(x, v0=v0)
        assert float((V @ S.T).abs().max()) < 1e-10
    # without it a short RNN-UB run leaves a residual
    ub_plain = UBLayer(P(net, "UB"), n_iter=2, update="published", dt=0.3).double()
    with torch.no_grad():
        V = ub_plain(x, v0=torch.rand(1, net.n_reactions, dtype=torch.float64))
    assert float((V @ S.T).abs().max()) > 1e-6
