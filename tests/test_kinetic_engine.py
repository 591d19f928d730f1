"""Tests of the kinetic engine: rate laws, loading, Jacobians, conservation, steady state."""

from __future__ import annotations

import math

import pytest
import torch

from kinflux import KinfluxError
from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.dynamics import eigenvalues, lambda_max, perturb_state
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.parameterization import backcalculate_vmax
from kinflux.kinetic.ratelaws import MOD_DSM, MOD_FOSM, apply_modifiers, law_terms, net_rate
from kinflux.kinetic.steady import SteadyState

T = torch.tensor


def _t(v: float) -> torch.Tensor:
    return torch.tensor([[v]], dtype=torch.float64)


def _n(v: float) -> torch.Tensor:
    return torch.tensor([v], dtype=torch.float64)


def _rate(mech, subs, sn, skm, prods, pn, pkm, vmax=2.0, keq=3.0, hill=1.0):
    f, b, d = law_terms(
        mech,
        [_t(s) for s in subs],
        [_n(n) for n in sn],
        [_t(k) for k in skm],
        [_n(1.0) for _ in subs],
        [_t(p) for p in prods],
        [_n(n) for n in pn],
        [_t(k) for k in pkm],
        [_n(1.0) for _ in prods],
        _t(vmax),
        _t(keq),
        _t(hill),
    )
    return float(net_rate(f, b, d))


def test_reversible_mm_hand_value():
    s, p, ks, kp, vm, keq = 0.5, 0.2, 0.3, 0.7, 2.0, 3.0
    want = (vm * s / ks - vm / keq * p / ks) / (1 + s / ks + p / kp)
    got = _rate("ReversibleMichaelisMenten", [s], [1], [ks], [p], [1], [kp], vm, keq)
    assert got == pytest.approx(want, rel=1e-14)


def test_convenience_with_stoichiometry_two():
    s1, s2, p1, p2 = 0.5, 1.5, 0.2, 0.4
    k1, k2, kp1, kp2 = 0.3, 0.9, 0.7, 1.1
    vm, keq = 2.0, 3.0
    fwd = vm * (s1 / k1) * (s2 / k2)
    bwd = vm / keq / (k1 * k2) * p1**2 * p2
    den = (1 + s1 / k1) * (1 + s2 / k2) + (1 + p1 / kp1 + (p1 / kp1) ** 2) * (1 + p2 / kp2) - 1
    got = _rate("Convenience", [s1, s2], [1, 1], [k1, k2], [p1, p2], [2, 1], [kp1, kp2], vm, keq)
    assert got == pytest.approx((fwd - bwd) / den, rel=1e-14)


def test_irreversible_mm_ignores_stoichiometry():
    got = _rate("IrrevMichaelisMenten", [0.5, 2.0], [1, 2], [0.3, 1.0], [1.0], [2], [1.0], 2.0)
    assert got == pytest.approx(2.0 * 0.5 / 0.8 * 2.0 / 3.0, rel=1e-14)


def test_rev_massaction():
    got = _rate("RevMassaction", [0.5, 2.0], [1, 1], [1, 1], [0.3], [1], [1], 2.0, 4.0)
    assert got == pytest.approx(2.0 * 0.5 * 2.0 - 2.0 / 4.0 * 0.3, rel=1e-14)


def test_h1_hill_pairs_by_index_and_drops_unpaired():
    s1, s2, p1 = 0.5, 1.5, 0.2
    k1, k2, kp = 0.3, 0.9, 0.7
    fwd = 2.0 * s1 / k1 * s2 / k2
    bwd = 2.0 / 3.0 / (k1 * k2) * p1
    den = 1 + s1 / k1 + p1 / kp  # substrate2 has no partner
    got = _rate("H1GeneralizedReversibleHill", [s1, s2], [1, 1], [k1, k2], [p1], [1], [kp])
    assert got == pytest.approx((fwd - bwd) / den, rel=1e-14)


@pytest.mark.parametrize("h", [1.0, 1.7])
def test_unibi_and_biuni_hill(h):
    s, p1, p2, ks, k1, k2, vm, keq = 0.5, 0.2, 0.4, 0.3, 0.7, 1.1, 2.0, 3.0
    sg, a, b = s / ks, p1 / k1, p2 / k2
    he = (sg + a * b) ** (h - 1)
    den = 1 + (sg + a) ** h + (sg + b) ** h + (sg + a * b) ** h - 2 * s / ks**h
    want = (vm * sg * he - vm / (keq * ks) * p1 * p2 * he) / den
    got = _rate("UniBiReversibleHill", [s], [1], [ks], [p1, p2], [1, 1], [k1, k2], vm, keq, h)
    assert got == pytest.approx(want, rel=1e-13)
    # BiUni mirrors it: S1 + S2 <-> P
    s1, s2, p, q1, q2, kp = 0.5, 0.2, 0.4, 0.3, 0.7, 1.1
    a1, a2, pi = s1 / q1, s2 / q2, p / kp
    he = (a1 * a2 + pi) ** (h - 1)
    den = 1 + (a1 + pi) ** h + (a2 + pi) ** h + (a1 * a2 + pi) ** h - 2 * p / kp**h
    want = (vm * a1 * a2 * he - vm / (keq * q1 * q2) * p * he) / den
    got = _rate("BiUniReversibleHill", [s1, s2], [1, 1], [q1, q2], [p], [1], [kp], vm, keq, h)
    assert got == pytest.approx(want, rel=1e-13)


def test_modifiers():
    f, b = _t(2.0), _t(1.0)
    m = _t(0.5)
    f2, b2 = apply_modifiers(f, b, [m], [_n(-2.0)], [torch.tensor([MOD_DSM])])
    assert float(f2) == 2.0 and float(b2) == pytest.approx(4.0)  # B * m^-2
    f3, b3 = apply_modifiers(f, b, [m], [_n(-2.0)], [torch.tensor([MOD_FOSM])])
    assert float(f3) == pytest.approx(0.5) and float(b3) == 1.0  # F * m^2
    f4, b4 = apply_modifiers(f, b, [m], [_n(3.0)], [torch.tensor([MOD_FOSM])])
    assert float(f4) == 2.0 and float(b4) == pytest.approx(0.125)


@pytest.fixture(scope="module")
def strain1():
    m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    return m, ss, ss.fill_constants(m.default_parameters())


def test_load_all_bundled_models():
    for name, (nr, ns) in {
        "kin_varma": (65, 64),
        "varma_strain_1": (65, 64),
        "kin_varma_anthranilate": (123, 112),
    }.items():
        m = KineticModel.from_yaml(kinetic_model_path(name))
        assert (m.n_reactions, len(m.species)) == (nr, ns)
        assert not m.conservation_note  # YAML dependent_reactants were usable


def test_unknown_mechanism_names_reaction_and_class(tmp_path):
    src = kinetic_model_path("varma_strain_1").read_text()
    bad = src.replace("class: Convenience", "class: FancyNewLaw", 1)
    p = tmp_path / "bad.yml"
    p.write_text(bad)
    with pytest.raises(KinfluxError, match="ACALD.*FancyNewLaw"):
        KineticModel.from_yaml(p)
    bad = src.replace("class: DisplacementSmallMoleculeModifier", "class: WeirdModifier", 1)
    p.write_text(bad)
    with pytest.raises(KinfluxError, match="ACALD.*WeirdModifier"):
        KineticModel.from_yaml(p)


def test_strain1_is_a_steady_state(strain1):
    m, ss, p = strain1
    v = m.rates(ss.x, p)[0]
    f = m.dxdt(ss.x, p)[0]
    ratio = f[m.independent_idx].abs().max() / v.abs().max()
    assert ratio <= 1e-6
    assert torch.allclose(v, ss.fluxes, rtol=1e-9, atol=0)


def test_h_c_balances_with_both_modifier_classes(strain1):
    m, ss, _ = strain1
    assert "h_c" in m.variables and "h_c" in m.modifier_only
    bal = ss.mass_balance()["h_c"] / ss.scaling.flux_factor  # mmol/gDW/h
    assert abs(bal) < 1e-9
    mc = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"), small_molecules="constant")
    assert "h_c" in mc.constants and "h_c" in mc.parameter_names


def test_vmax_backcalculation_reproduces_file(strain1):
    m, ss, p = strain1
    cols = m.parameter_indices("vmax_forward")
    q = p.clone()
    q[cols] = float("nan")
    got = backcalculate_vmax(m, ss.x, ss.fluxes, q)[0]
    assert torch.allclose(got[cols], p[cols], rtol=1e-6, atol=0)


def test_jacobian_matches_finite_differences(strain1):
    m, ss, p = strain1
    x = perturb_state(m, ss.x, 0.2, 1, seed=3)[0]
    J = m.jacobian(x, p, reduced=False)[0]
    Jfd = torch.zeros_like(J)
    for i in range(m.n_variables):
        h = 1e-6 * x[i]
        xp, xm = x.clone(), x.clone()
        xp[i] += h
        xm[i] -= h
        Jfd[:, i] = (m.dxdt(xp, p)[0] - m.dxdt(xm, p)[0]) / (2 * h)
    scale = J.abs().amax(dim=0).clamp_min(1e-300)
    assert ((J - Jfd).abs().amax(dim=0) / scale).max() < 1e-5


def test_reduced_jacobian_is_chain_rule(strain1):
    m, ss, p = strain1
    Jf = m.jacobian(ss.x, p, reduced=False)[0]
    L = torch.as_tensor(m.link)
    Jr = m.jacobian(ss.x, p)[0]
    assert torch.allclose(Jr, (Jf @ L)[m.independent_idx], rtol=1e-10, atol=1e-6)


def test_link_matrix_reconstructs_totals(strain1):
    m, ss, _ = strain1
    C = torch.as_tensor(m.conservation)
    assert torch.allclose(
        C @ torch.as_tensor(m.S), torch.zeros(C.shape[0], m.n_reactions, dtype=torch.float64)
    )
    xs = perturb_state(m, ss.x, 0.3, 5)
    tot = m.moiety_totals(ss.x[None])
    assert torch.allclose(m.moiety_totals(xs), tot.expand(5, -1), rtol=1e-12)
    x_back = m.full_state(xs[:, m.independent_idx], tot.expand(5, -1))
    assert torch.allclose(x_back, xs, rtol=1e-12)
    assert set(m.dependent) == {"accoa_c", "amp_c", "nadh_c", "nadph_c", "ppi_c", "q8_c"}


def test_batched_equals_single_and_lambda_max(strain1):
    m, ss, p = strain1
    g = torch.Generator().manual_seed(0)
    P = p.expand(4, -1).clone()
    km = m.parameter_indices("km")
    P[:, km] *= torch.exp(0.3 * torch.randn(4, len(km), generator=g, dtype=torch.float64))
    P = backcalculate_vmax(m, ss.x, ss.fluxes, P)
    Jb = m.jacobian(ss.x, P)
    for i in range(4):
        assert torch.allclose(Jb[i], m.jacobian(ss.x, P[i])[0], rtol=1e-12, atol=0)
    lam = lambda_max(Jb)
    ev = eigenvalues(Jb)
    assert torch.allclose(lam, ev.real.amax(-1))
    assert math.isclose(float(lambda_max(m.jacobian(ss.x, p))[0]), -15.72, rel_tol=1e-3)
