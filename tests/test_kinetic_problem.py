"""KineticProblem: log Km -> parameters -> lambda_max, units, pickling."""

from __future__ import annotations

import math
import pickle

import pytest
import torch

from kinflux import KinfluxError
from kinflux.kinetic import KineticProblem
from kinflux.kinetic.units import (
    ANTHRANILATE_SCALING,
    RENAISSANCE_TRAINING_SCALING,
    STRAIN_1_SCALING,
)


@pytest.fixture(scope="module")
def problem():
    return KineticProblem.bundled("varma_strain_1")


def _log_km(problem, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, problem.n_km, generator=g, dtype=torch.float64)
    return problem.log_km_steady + noise


def test_km_bounds_are_renaissance_ln_range(problem):
    # RENAISSANCE: ln(Km in mol/L) in [-25, 3] -> 1.39e-11 .. 20.1 M = 1.39e-8 .. 2.0e4 mM
    assert problem.log_km_low == pytest.approx(-25.0, abs=1e-12)
    assert problem.log_km_high == pytest.approx(3.0, abs=1e-12)
    lo, hi = problem.km_bounds_molar
    assert lo == pytest.approx(1.3888e-11, rel=1e-4) and hi == pytest.approx(20.0855, rel=1e-4)
    assert lo * 1e3 == pytest.approx(1.39e-8, rel=1e-3) and hi * 1e3 == pytest.approx(
        2.0e4, rel=1e-2
    )


def test_shapes_and_names(problem):
    assert problem.n_km == len(problem.km_names) == 230
    assert problem.n_params == len(problem.parameter_names)
    assert all(n.startswith("km_") for n in problem.km_names)


def test_parameters_reproduce_steady_state(problem):
    p = problem.parameters(_log_km(problem, 20))
    assert p.shape == (20, problem.n_params)
    assert torch.isfinite(p).all()
    # Km columns are exp(log_km) in uM
    col = problem.parameter_names.index(problem.km_names[0])
    assert torch.allclose(p[:, col], torch.exp(_log_km(problem, 20)[:, 0]) * 1e6)
    assert float(problem.steady_state_residual(p).max()) < 1e-9


def test_parameters_match_one_off_completion(problem):
    from kinflux.kinetic.parameterization import complete_parameters

    lk = _log_km(problem, 5)
    ref = complete_parameters(problem.model, problem.steady_state, torch.exp(lk) * 1e6)
    assert torch.allclose(problem.parameters(lk), ref, rtol=1e-12, atol=0)


def test_lambda_max_nan_for_nonfinite(problem):
    lk = _log_km(problem, 3)
    lk[1, 0] = math.nan
    lam = problem.lambda_max_of_log_km(lk)
    assert lam.shape == (3,)
    assert torch.isnan(lam[1]) and torch.isfinite(lam[[0, 2]]).all()
    assert not bool(problem.is_valid(lam)[1])


def test_pickle_round_trip_is_small_and_identical(problem):
    lk = _log_km(problem, 8, seed=3)
    blob = pickle.dumps(problem)
    assert len(blob) < 50_000
    other = pickle.loads(blob)
    assert torch.equal(other.lambda_max_of_log_km(lk), problem.lambda_max_of_log_km(lk))


def test_scaling_is_explicit_and_partition_converts(problem):
    assert problem.scaling == STRAIN_1_SCALING
    assert ANTHRANILATE_SCALING.cell_factor == pytest.approx(419.9)
    assert RENAISSANCE_TRAINING_SCALING.cell_factor == pytest.approx(300.0)
    # a problem in the reactor's scaling: -2.5 in the training scaling is -3.50 here
    reactor = problem.with_scaling(ANTHRANILATE_SCALING)
    assert reactor.partition_in(RENAISSANCE_TRAINING_SCALING) == pytest.approx(-3.4992, abs=1e-4)
    # lambda_max is proportional to density x gDW/gWW
    lk = _log_km(problem, 4)
    ratio = reactor.lambda_max_of_log_km(lk) / problem.lambda_max_of_log_km(lk)
    assert torch.allclose(ratio, torch.full_like(ratio, 419.9 / 360.0), rtol=1e-6)


def test_bad_construction(problem):
    with pytest.raises(KinfluxError, match="Km bounds"):
        KineticProblem(problem.model, problem.steady_state, km_bounds_molar=(1.0, 0.1))
    with pytest.raises(KinfluxError, match="partition"):
        KineticProblem(problem.model, problem.steady_state, partition=1.0)
    with pytest.raises(KinfluxError, match="columns"):
        problem.parameters(torch.zeros(2, problem.n_km + 1))
    with pytest.raises(KinfluxError, match="no bundled"):
        KineticProblem.bundled("nope")


def test_residual_refused_unless_accepted(problem):
    from kinflux.kinetic.problem import SteadyStateResidualError
    from kinflux.kinetic.steady import SteadyState

    ss = problem.steady_state
    bad = SteadyState(
        model=ss.model,
        fluxes=ss.fluxes * (1 + 0.01 * torch.arange(ss.fluxes.numel()) / ss.fluxes.numel()),
        concentrations=ss.concentrations,
        log_displacements=ss.log_displacements,
        scaling=ss.scaling,
    )
    with pytest.raises(SteadyStateResidualError, match="residual"):
        KineticProblem(problem.model, bad)
    with pytest.warns(UserWarning, match="residual"):
        p = KineticProblem(problem.model, bad, accept_residual=True)
    assert p.residual > 1e-6
