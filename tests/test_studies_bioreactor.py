"""Batch bioreactor: the reactor file, the ODE's growth and Jacobian, a short run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinflux import KinfluxError
from kinflux.kinetic.studies.bioreactor import Bioreactor, _Reactor, simulate_bioreactor


def test_anthranilate_reactor_file():
    r = Bioreactor.from_yaml("anthranilate_bioreactor")
    assert r.biomass_reaction == "LMPD_biomass_c_1_420"
    assert r.biomass_scaling == 5e5
    assert r.volume_l == pytest.approx(0.05)
    assert r.initial_cells == pytest.approx(0.037 * 0.05 / 0.28e-12)
    assert set(r.constant) == {"co2_e", "h_e"}
    assert r.initial_medium["glc_D_e"] == 0.055
    assert r.scaling.density == 1105.0


def test_bad_reactor_file(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("models: {}\n")
    with pytest.raises(KinfluxError, match="reactor file"):
        Bioreactor.from_yaml(p)


@pytest.fixture(scope="module")
def setup():
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.studies.sources import OracleSource

    pr = KineticProblem.bundled("varma_strain_1")
    r = Bioreactor.from_yaml("single_species_reactor")
    P = OracleSource(pr, batch=20).valid_parameters(2, seed=0)
    return pr, r, P


def _state(pr, sysm, r):
    ss = pr.steady_state
    med = [ss.concentrations[s] for s in sysm.medium]
    y = np.concatenate([ss.x.numpy()[sysm.ind], med, [r.initial_cells]])
    return np.tile(y, (2, 1))


def test_growth_rate_and_medium_at_steady_state(setup):
    pr, r, P = setup
    sysm = _Reactor(pr, r, P, "flux")
    y = _state(pr, sysm, r)
    f = sysm.rhs(y, [0, 1])
    j = pr.model.reaction_names.index(r.biomass_reaction)
    mu = float(pr.steady_state.fluxes_mmol[j]) * r.biomass_scaling  # h^-1
    assert f[0, -1] / y[0, -1] == pytest.approx(mu, rel=1e-9)
    # the cell is at its steady state: intracellular derivatives ~0
    assert np.abs(f[:, : sysm.a]).max() < 1e-6 * float(pr.steady_state.fluxes.abs().max())
    # glucose is taken up: N cell_volume / V * S v < 0
    g = sysm.medium.index("glc_D_e")
    assert f[0, sysm.a + g] < 0
    skimpy = _Reactor(pr, r, P, "skimpy").rhs(y, [0, 1])
    assert skimpy[0, -1] / y[0, -1] == pytest.approx(float(pr.steady_state.fluxes[j]) / 1000.0)


def test_jacobian_matches_differences(setup):
    pr, r, P = setup
    sysm = _Reactor(pr, r, P, "flux")
    y = _state(pr, sysm, r)
    J = sysm.jac(y, [0, 1])
    f = sysm.rhs(y, [0, 1])
    for col in (0, sysm.a - 1, sysm.a, sysm.n_states - 1):
        h = 1e-6 * abs(y[0, col])
        yp = y.copy()
        yp[:, col] += h
        fd = (sysm.rhs(yp, [0, 1]) - f) / h
        scale = np.abs(J[:, :, col]).max() + 1e-30
        assert np.abs(fd - J[:, :, col]).max() / scale < 1e-4


@pytest.mark.parametrize("growth", ["flux", "skimpy"])
def test_model_in_minutes_runs_on_the_same_clock(setup, growth):
    """A model written in minutes (scaling.time = 60): every derivative, growth included,
    is the hour model's divided by 60 (the solver's times are converted once)."""
    import dataclasses

    from kinflux.kinetic.oracle import oracle_sample

    pr, r, _ = setup
    pr_min = pr.with_scaling(dataclasses.replace(pr.scaling, time=60.0))
    s = oracle_sample(pr, 20, seed=0)
    lk = s.log_km[torch.as_tensor(s.valid)][:2].double()
    hours = _Reactor(pr, r, pr.parameters(lk), growth)
    minutes = _Reactor(pr_min, r, pr_min.parameters(lk), growth)
    y = _state(pr, hours, r)
    f_h, f_m = hours.rhs(y, [0, 1]), minutes.rhs(y, [0, 1])
    assert np.allclose(f_m * 60.0, f_h, rtol=1e-9, atol=1e-12 * np.abs(f_h).max())
    J_h, J_m = hours.jac(y, [0, 1]), minutes.jac(y, [0, 1])
    assert np.allclose(J_m * 60.0, J_h, rtol=1e-6, atol=1e-9 * np.abs(J_h).max())


@pytest.mark.slow
def test_short_simulation(setup):
    pr, r, P = setup
    res = simulate_bioreactor(pr, P[:1], r, t_end=0.005, n_times=3, time_limit=120)
    assert res.status == ["ok"]
    b = res.biomass[0]
    assert b[0] == pytest.approx(0.037)
    assert b[-1] > b[0]  # growth
    glc = res.grams_per_litre("glc_D_e")[0]
    assert glc[0] == pytest.approx(0.12 * 180.156)
    assert glc[-1] < glc[0]
    assert set(res.summary().index) == {"biomass", "glc_D_e", "ac_e"}
    with pytest.raises(KinfluxError, match="medium"):
        simulate_bioreactor(pr, P[:1], r, medium="broth")
    with pytest.raises(KinfluxError, match="biomass reaction"):
        bad = Bioreactor.from_yaml("anthranilate_bioreactor")
        simulate_bioreactor(pr, P[:1], bad)
    assert torch.is_tensor(P)
