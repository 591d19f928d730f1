import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from kinflux import KinfluxError
from kinflux.cli import app
from kinflux.datasets import kinetic_model_path
from kinflux.io import load_npz
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.oracle import oracle_sample
from kinflux.kinetic.problem import KineticProblem
from kinflux.kinetic.sampling import (
    InfeasibleConstraintsError,
    SteadyStateConstraints,
    SteadyStateSamples,
    anthranilate_constraints,
    log_q_exponents,
    sample_steady_states,
)
from kinflux.kinetic.steady import SteadyState


@pytest.fixture(scope="module")
def varma_samples(kin_varma):
    m, ref = kin_varma
    cons = SteadyStateConstraints(reference=ref.concentrations)
    return sample_steady_states(m, 40, cons, seed=7, n_patterns=4)


def _check_profiles(res: SteadyStateSamples) -> None:
    assert res.mass_balance_residual().max() <= 1e-9
    assert int(res.sign_violations().sum()) == 0
    # every reversible reaction with a displacement obeys the rule strictly
    g, v = res.log_displacements, res.fluxes
    has = ~torch.isnan(g[0])
    assert ((g[:, has] * torch.sign(v[:, has])) < 0).all()


def test_log_q_matches_reference_displacements():
    # varma_strain_1 carries the Keq of the strain_1 profile (kin_varma's differ)
    m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ref = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    rxn, N, a = log_q_exponents(m)
    y = np.log([ref.concentrations[s] for s in m.species])
    lnk = np.log(m.default_parameters().numpy()[m.parameter_indices("k_equilibrium")])
    lng = N @ y + a - lnk
    want = np.array([ref.log_displacements[m.reaction_names[j]] for j in rxn])
    assert np.abs(lng - want).max() < 1e-6


def test_reference_profiles_consistent(kin_varma, varma_samples):
    m, ref = kin_varma
    res = varma_samples
    assert len(res) == 40 and res.fluxes.shape == (40, m.n_reactions)
    _check_profiles(res)
    c = torch.tensor([ref.concentrations[s] for s in m.species], dtype=torch.float64)
    assert (res.concentrations >= c / 2 * (1 - 1e-9)).all()
    assert (res.concentrations <= c * 2 * (1 + 1e-9)).all()
    assert (res.fluxes.abs() <= 100 + 1e-9).all()
    assert (res.fluxes.abs() >= 0.99e-7).all()


def test_profiles_parameterize(kin_varma, varma_samples):
    m, _ = kin_varma
    ss = varma_samples.steady_state(5)
    r = oracle_sample(KineticProblem(m, ss), 16, seed=0)
    assert r.residual.max() <= 1e-8
    assert torch.isfinite(r.lambda_max).all()


def test_seed_and_roundtrip(kin_varma, varma_samples, tmp_path):
    m, ref = kin_varma
    cons = SteadyStateConstraints(reference=ref.concentrations)
    again = sample_steady_states(m, 40, cons, seed=7, n_patterns=4)
    assert torch.equal(again.fluxes, varma_samples.fluxes)
    assert torch.equal(again.concentrations, varma_samples.concentrations)
    p = varma_samples.save(tmp_path / "ss.npz")
    back = SteadyStateSamples.load(p, m)
    assert torch.equal(
        back.log_displacements.nan_to_num(9.0), again.log_displacements.nan_to_num(9.0)
    )
    assert back.metadata["n"] == 40 and back.metadata["seed"] == 7
    with pytest.raises(KinfluxError, match="already exists"):
        varma_samples.save(p)


def test_default_concentration_range(kin_varma):
    m, _ = kin_varma
    res = sample_steady_states(m, 10, seed=1, n_patterns=2)
    _check_profiles(res)
    assert res.concentrations.min() >= 1.0 * (1 - 1e-9)
    assert res.concentrations.max() <= 1e4 * (1 + 1e-9)


def test_infeasible_names_conflicting_bounds(kin_varma):
    m, _ = kin_varma
    # 2pg is made only by PGM and used only by ENO: v_ENO = -v_PGM
    cons = SteadyStateConstraints(
        flux_bounds={"ENO": (1.0, 2.0), "PGM": (1.0, 2.0), "PGI": (-50.0, 50.0)}
    )
    with pytest.raises(InfeasibleConstraintsError) as ei:
        sample_steady_states(m, 2, cons)
    msg = str(ei.value)
    assert "ENO" in msg and "PGM" in msg and "PGI" not in msg
    with pytest.raises(InfeasibleConstraintsError, match="PGI"):
        sample_steady_states(m, 2, SteadyStateConstraints(flux_bounds={"PGI": (2.0, 1.0)}))
    with pytest.raises(KinfluxError, match="no such reaction"):
        sample_steady_states(m, 2, SteadyStateConstraints(flux_bounds={"XYZ": (0.0, 1.0)}))


@pytest.mark.slow
def test_anthranilate_published_setting():
    m = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
    cons = anthranilate_constraints(m)
    res = sample_steady_states(m, 12, cons, seed=0, n_patterns=2)
    _check_profiles(res)
    names = m.reaction_names
    growth = res.fluxes[:, names.index("LMPD_biomass_c_1_420")] * 5e5
    assert (growth >= 0.26 * (1 - 1e-6)).all()
    assert (res.fluxes[:, names.index("ANTHtex")] >= 0.14 * (1 - 1e-6)).all()
    glc = res.fluxes[:, names.index("GLCtex")]
    assert ((glc > 0) & (glc <= 10 + 1e-6)).all()
    ss = res.steady_state(0)
    r = oracle_sample(KineticProblem(m, ss), 8, seed=0)
    assert r.residual.max() <= 1e-8


def test_cli_sample_steady_states_and_parameters(tmp_path):
    runner = CliRunner()
    ss = tmp_path / "ss.npz"
    args = [
        "kinetic",
        "sample-steady-states",
        "--model",
        "kin_varma",
        "--preset",
        "none",
        "--reference",
        "tfa_reference_strain_1",
        "--n",
        "6",
        "--patterns",
        "2",
        "-o",
        str(ss),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "already exists" in r.output
    out = tmp_path / "p.npz"
    r = runner.invoke(
        app,
        [
            "kinetic",
            "sample-parameters",
            "--model",
            "kin_varma",
            "--steady-state",
            str(ss),
            "--profile",
            "2",
            "--n",
            "20",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "incidence" in r.output
    d = np.load(out)
    assert d["parameters"].shape[0] == 20 and d["lambda_max"].shape == (20,)
    r = runner.invoke(
        app,
        [
            "kinetic",
            "sample-parameters",
            "--model",
            "kin_varma",
            "--n",
            "10",
            "--fix-km",
            "km_substrate1_PGK:4e-4:6e-4",
            "-o",
            str(tmp_path / "q.npz"),
        ],
    )
    assert r.exit_code == 0, r.output
    q = np.load(tmp_path / "q.npz")
    k = np.exp(q["log_km_molar"][:, list(q["km_names"]).index("km_substrate1_PGK")])
    assert k.min() >= 4e-4 * (1 - 1e-12) and k.max() <= 6e-4 * (1 + 1e-12)
    assert load_npz(out)[1]["n"] == 20
    r = runner.invoke(
        app,
        [
            "kinetic",
            "sample-steady-states",
            "--model",
            "kin_varma",
            "--preset",
            "none",
            "--flux-bound",
            "ENO:1:2",
            "--flux-bound",
            "PGM:1:2",
            "-o",
            str(tmp_path / "x.npz"),
        ],
    )
    assert r.exit_code == 2 and "ENO" in r.output
