"""Parameterization (Km -> Keq -> vmax) and the ORACLE baseline."""

import math

import pytest
import torch

from kinflux import KinfluxError
from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.oracle import OracleResult, oracle_sample, sample_log_km
from kinflux.kinetic.parameterization import complete_parameters, km_table
from kinflux.kinetic.problem import KM_BOUNDS_MOLAR, KineticProblem
from kinflux.kinetic.steady import SteadyState


@pytest.fixture(scope="module")
def strain1():
    m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    return m, ss


@pytest.fixture(scope="module")
def kv_problem(kin_varma):
    m, ss = kin_varma
    return KineticProblem(m, ss)


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
    assert KineticProblem(m, ss).steady_state_residual(p).max() <= 1e-8


def test_oracle_sets_reproduce_steady_state(kv_problem):
    m, ss = kv_problem.model, kv_problem.steady_state
    r = oracle_sample(kv_problem, 64, seed=3)
    assert r.params.shape == (64, m.n_params)
    assert torch.isfinite(r.params).all()
    assert (r.params[:, m.parameter_indices("vmax_forward")] > 0).all()
    assert r.residual.max() <= 1e-8
    # independent check through the engine
    dx = m.dxdt(ss.x, r.params).abs().amax(1) / ss.fluxes.abs().max()
    assert dx.max() <= 1e-8
    lo, hi = KM_BOUNDS_MOLAR
    assert (r.km >= lo * (1 - 1e-12)).all() and (r.km <= hi * (1 + 1e-12)).all()
    assert ((r.sigma > 0) & (r.sigma < 1)).all()
    assert torch.isfinite(r.lambda_max).all()
    assert r.incidence == pytest.approx(float((r.lambda_max < -2.5).double().mean()))
    assert 0.0 <= r.incidence <= 1.0


def test_km_columns_hold_exp_log_km_in_uM(kv_problem):
    r = oracle_sample(kv_problem, 4, seed=1)
    cols = km_table(kv_problem.model).columns
    assert torch.allclose(r.params[:, cols], torch.exp(r.log_km) * 1e6, rtol=1e-14)


def test_seed_determinism_and_custom_bounds(kin_varma, kv_problem):
    m, ss = kin_varma
    a, _ = sample_log_km(kv_problem, 8, seed=11)
    b, _ = sample_log_km(kv_problem, 8, seed=11)
    c, _ = sample_log_km(kv_problem, 8, seed=12)
    assert torch.equal(a, b) and not torch.equal(a, c)
    narrow = KineticProblem(m, ss, km_bounds_molar=(1e-6, 1e-3))
    k, _ = sample_log_km(narrow, 50, seed=0)
    assert k.min() >= math.log(1e-6) - 1e-12 and k.max() <= math.log(1e-3) + 1e-12


def test_fixed_km_range(kv_problem):
    name = kv_problem.km_names[0]
    k, _ = sample_log_km(kv_problem, 200, seed=1, fixed={name: (0.4e-3, 0.6e-3)})
    col = kv_problem.km_names.index(name)
    km = torch.exp(k[:, col])
    assert km.min() >= 0.4e-3 * (1 - 1e-12) and km.max() <= 0.6e-3 * (1 + 1e-12)
    with pytest.raises(KinfluxError, match="not a Michaelis constant"):
        sample_log_km(kv_problem, 2, fixed={"km_nope": (1.0, 2.0)})


def test_identical_for_any_chunking_and_jobs(kv_problem):
    a = oracle_sample(kv_problem, 30, seed=4, chunk=7)
    b = oracle_sample(kv_problem, 30, seed=4, chunk=7, n_jobs=2)
    c = oracle_sample(kv_problem, 30, seed=4, chunk=30)
    assert torch.equal(a.log_km, b.log_km) and torch.equal(a.log_km, c.log_km)
    assert torch.equal(a.lambda_max, b.lambda_max)  # same chunks: bit-identical
    # another chunking: eigenvalues of these stiff Jacobians agree to ~1e-5 h^-1
    assert torch.allclose(a.lambda_max, c.lambda_max, rtol=1e-6, atol=1e-4)


def test_save_load_round_trip(kv_problem, tmp_path):
    r = oracle_sample(kv_problem, 6, seed=2)
    p = r.save(tmp_path / "oracle.npz")
    back = OracleResult.load(p)
    assert torch.equal(back.lambda_max, r.lambda_max) and back.km_names == r.km_names
    assert back.metadata["km_bounds_molar"] == list(kv_problem.km_bounds_molar)
    df = r.to_frame()
    assert df.shape == (6, kv_problem.n_params + 2) and df["valid"].dtype == bool
    with pytest.raises(KinfluxError, match="exists"):
        r.save(p)


def test_sign_rule_violation_is_an_error(kin_varma):
    m, ss = kin_varma
    bad = SteadyState(
        model=m,
        fluxes=ss.fluxes,
        concentrations=ss.concentrations,
        log_displacements={r: -g for r, g in ss.log_displacements.items()},
    )
    with pytest.raises(KinfluxError, match="displacement and flux direction"):
        KineticProblem(m, bad)


def test_published_bounds_constant():
    # RENAISSANCE: ln(Km / (mol/L)) in [-25, 3]: 1.39e-11 .. 20.1 mol/L = 1.39e-8 .. 2.0e4 mM
    assert KM_BOUNDS_MOLAR == (math.exp(-25.0), math.exp(3.0))
    assert math.isclose(KM_BOUNDS_MOLAR[0] * 1e3, 1.389e-8, rel_tol=1e-3)
    assert math.isclose(KM_BOUNDS_MOLAR[1] * 1e3, 2.0e4, rel_tol=5e-3)


@pytest.mark.slow
def test_ray_backend_identical(kv_problem):
    pytest.importorskip("ray")
    import ray

    a = oracle_sample(kv_problem, 20, seed=5, chunk=10)
    try:
        b = oracle_sample(kv_problem, 20, seed=5, chunk=10, n_jobs=2, backend="ray")
    finally:
        ray.shutdown()
    assert torch.equal(a.lambda_max, b.lambda_max) and torch.equal(a.params, b.params)
