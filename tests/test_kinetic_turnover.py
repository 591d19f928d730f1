"""Turnover limit of the steady-state sampler: hand values and sampled profiles."""

import numpy as np
import pytest
from typer.testing import CliRunner

from kinflux import KinfluxError
from kinflux.cli import app
from kinflux.io import load_npz
from kinflux.kinetic.sampling import (
    InfeasibleConstraintsError,
    SteadyStateConstraints,
    sample_steady_states,
)
from kinflux.kinetic.studies.reports import turnover_times
from kinflux.kinetic.turnover import floor_turnover_s, log_concentration_caps, pool_throughput

# A -> B -> C, B -> D: rates 3, 2, 1 uM/h; A is not capped
S = np.array([[-1.0, 0.0, 0.0], [1.0, -1.0, -1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
V = np.array([3.0, 2.0, 1.0])
CAPPED = np.array([False, True, True, True])


def test_throughput_and_caps_by_hand():
    # B: 0.5 * (3 + 2 + 1) = 3; C: 0.5 * 2 = 1; D: 0.5 * 1 = 0.5; A: 1.5
    assert pool_throughput(S, V) == pytest.approx([1.5, 3.0, 1.0, 0.5])
    cap = log_concentration_caps(S, V, CAPPED, 36.0)  # 36 s = 0.01 h
    assert np.isinf(cap[0])
    assert np.exp(cap[1:]) == pytest.approx([0.03, 0.01, 0.005])  # uM
    # no flux through a pool: no cap
    assert np.isinf(log_concentration_caps(S, np.zeros(3), CAPPED, 36.0)).all()
    # at floors of 1 uM, D (0.5 uM/h) is slowest: 1 / 0.5 h = 7200 s
    tau, k = floor_turnover_s(S, V, CAPPED, np.zeros(4))
    assert (tau, k) == (pytest.approx(7200.0), 3)


def test_constraint_is_checked():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(KinfluxError, match="max_turnover_s"):
            SteadyStateConstraints(max_turnover_s=bad)


@pytest.fixture(scope="module")
def capped(kin_varma):
    m, ref = kin_varma
    cons = SteadyStateConstraints(max_turnover_s=60.0)
    return m, sample_steady_states(m, 6, cons, seed=2, n_patterns=3)


def test_capped_profiles_turn_over_within_the_limit(capped):
    m, s = capped
    assert len(s) == 6
    assert int(s.sign_violations().sum()) == 0
    assert float(s.mass_balance_residual().max()) <= 1e-9
    for i in range(len(s)):
        tau = turnover_times(m, s.steady_state(i))  # h
        assert tau.max() * 3600 <= 60.0 * (1 + 1e-6), tau.idxmax()
    assert s.metadata["constraints"]["max_turnover_s"] == 60.0
    # without the limit the same model has pools slower than 1 min
    free = sample_steady_states(m, 6, seed=2, n_patterns=3)
    assert max(turnover_times(m, free.steady_state(i)).max() for i in range(6)) * 3600 > 60.0


def test_unreachable_limit_names_the_option(kin_varma):
    m, _ = kin_varma
    with pytest.raises(InfeasibleConstraintsError, match="max_turnover_s=1e-06") as ei:
        sample_steady_states(m, 2, SteadyStateConstraints(max_turnover_s=1e-6), n_patterns=1)
    assert "at least" in str(ei.value)


def test_cli_max_turnover(tmp_path):
    out = tmp_path / "ss.npz"
    args = ["kinetic", "sample-steady-states", "--model", "kin_varma", "--n", "2"]
    r = CliRunner().invoke(app, [*args, "--patterns", "1", "--max-turnover", "60", "-o", str(out)])
    assert r.exit_code == 0, r.output
    _, meta = load_npz(out, required=[], what="steady states")
    assert meta["constraints"]["max_turnover_s"] == 60.0
    bad = tmp_path / "bad.npz"
    r = CliRunner().invoke(app, [*args, "--max-turnover", "1e-6", "-o", str(bad)])
    assert r.exit_code != 0 and "max_turnover" in r.output and not bad.exists()
