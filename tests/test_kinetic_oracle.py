import math

import pytest
import torch

from kinflux import KinfluxError
from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.oracle import (
    KM_BOUNDS_MM,
    complete_parameters,
    km_table,
    oracle_sample,
    parameters_from_log_km,
    sample_km,
    steady_state_residual,
)
from kinflux.kinetic.steady import SteadyState


@pytest.fixture(scope="module")
def strain1():
    m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    return m, ss


def test_file_km_give_file_vmax_and_keq(strain1):
    m, ss = strain1
    p0 = m.default_parameters()
    tab = km_table(m)
    assert len(tab) == len(m.parameter_indices("km"))
    p = complete_parameters(m, ss, p0[tab.columns][None])
    for kind, tol in (("vmax_forward", 1e-6), ("k_equilibrium", 1e-9)):
        c = m.parameter_indices(kind)
        rel = ((p[0, c] - p0[c]) / p0[c]).abs().max()
        assert rel <= tol, kind
    assert steady_state_residual(m, ss, p).max() <= 1e-8


def test_oracle_sets_reproduce_steady_state(kin_varma):
    m, ss = kin_varma
    r = oracle_sample(m, ss, 64, seed=3)
    assert r.params.shape == (64, m.n_params)
    assert torch.isfinite(r.params).all()
    assert (r.params[:, m.parameter_indices("vmax_forward")] > 0).all()
    assert r.residual.max() <= 1e-8
    # independent check through the engine
    dx = m.dxdt(ss.x, r.params).abs().amax(1) / ss.fluxes.abs().max()
    assert dx.max() <= 1e-8
    lo, hi = (b * 1e3 for b in KM_BOUNDS_MM)  # mM -> uM
    assert (r.km >= lo).all() and (r.km <= hi).all()
    assert ((r.sigma > 0) & (r.sigma < 1)).all()
    assert torch.isfinite(r.lambda_max).all()
    assert r.incidence == pytest.approx(float((r.lambda_max < -2.5).double().mean()))
    assert 0.0 <= r.incidence <= 1.0


def test_seed_determinism_and_custom_bounds(kin_varma):
    m, ss = kin_varma
    a, _ = sample_km(m, ss, 8, seed=11)
    b, _ = sample_km(m, ss, 8, seed=11)
    c, _ = sample_km(m, ss, 8, seed=12)
    assert torch.equal(a, b) and not torch.equal(a, c)
    k, _ = sample_km(m, ss, 50, seed=0, km_bounds_mm=(1e-3, 1.0))
    assert k.min() >= 1.0 - 1e-9 and k.max() <= 1e3 + 1e-9
    with pytest.raises(KinfluxError, match="Km bounds"):
        sample_km(m, ss, 2, km_bounds_mm=(1.0, 0.1))


def test_fixed_km_range(kin_varma):
    m, ss = kin_varma
    name = km_table(m).names[0]
    k, _ = sample_km(m, ss, 200, seed=1, fixed={name: (0.8 * 0.5, 1.2 * 0.5)})
    col = km_table(m).names.index(name)
    assert k[:, col].min() >= 400.0 - 1e-9 and k[:, col].max() <= 600.0 + 1e-9
    with pytest.raises(KinfluxError, match="not a Michaelis constant"):
        sample_km(m, ss, 2, fixed={"km_nope": (1.0, 2.0)})


def test_log_km_interface(kin_varma):
    m, ss = kin_varma
    k, _ = sample_km(m, ss, 4, seed=5)
    p = parameters_from_log_km(m, ss, torch.log(k))
    assert steady_state_residual(m, ss, p).max() <= 1e-8


def test_sign_rule_violation_is_an_error(kin_varma):
    m, ss = kin_varma
    bad = SteadyState(
        model=m,
        fluxes=ss.fluxes,
        concentrations=ss.concentrations,
        log_displacements={r: -g for r, g in ss.log_displacements.items()},
    )
    k, _ = sample_km(m, ss, 1)
    with pytest.raises(KinfluxError, match="displacement and flux direction"):
        complete_parameters(m, bad, k)


def test_published_bounds_constant():
    assert KM_BOUNDS_MM == (1.3e-11, 20.0)
    assert math.isclose(KM_BOUNDS_MM[1] * 1e3, 2e4)
