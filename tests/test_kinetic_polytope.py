"""Rounded hit-and-run and the physiological anthranilate constraints."""

import math

import numpy as np
import pytest

from kinflux import KinfluxError
from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.constraints import COFACTORS, PROTON_PH7_MM, anthranilate_constraints
from kinflux.kinetic.directions import solve_lp, solve_lps
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.polytope import (
    chebyshev_center,
    hit_and_run,
    polytope_shape,
    rounded_hit_and_run,
)
from kinflux.kinetic.sampling import sample_steady_states


def _rod(k: int = 6, eps: float = 0.01):
    """|y_i - y_{i+1}| <= eps in [0, 10]^k: a thin rod along the diagonal."""
    A = np.zeros((2 * (k - 1), k))
    for i in range(k - 1):
        A[2 * i, [i, i + 1]] = [1.0, -1.0]
        A[2 * i + 1, [i, i + 1]] = [-1.0, 1.0]
    return A, np.full(2 * (k - 1), eps), np.zeros(k), np.full(k, 10.0)


def test_rounded_chain_covers_a_thin_rod_where_isotropic_does_not():
    A, b, lo, hi = _rod()
    iso = hit_and_run(
        A, b, lo, hi, chebyshev_center(A, b, lo, hi), 200, 5, np.random.default_rng(0)
    )
    rnd = rounded_hit_and_run(A, b, lo, hi, 200, 5, np.random.default_rng(0))
    for y in (iso, rnd):
        assert np.all(A @ y.T <= b[:, None] + 1e-9)
        assert np.all((y >= lo - 1e-12) & (y <= hi + 1e-12))
    assert np.ptp(iso[:, 0]) < 1.0  # stuck near its start
    assert np.ptp(rnd[:, 0]) > 8.0  # spans the rod (length 10)
    # uniform along the rod: the mean of y0 is near 5 (hand value: mid-point)
    assert abs(rnd[:, 0].mean() - 5.0) < 1.0


def test_polytope_shape_vertices_are_the_coordinate_extremes():
    # box [0,2] x [0,1] cut by y0 + y1 <= 2: extremes of y0 are 0 and 2, of y1 0 and 1
    A, b = np.array([[1.0, 1.0]]), np.array([2.0])
    V, L = polytope_shape(A, b, np.zeros(2), np.array([2.0, 1.0]), np.random.default_rng(0), 0)
    assert V[:, 0].min() == pytest.approx(0) and V[:, 0].max() == pytest.approx(2)
    assert V[:, 1].min() == pytest.approx(0) and V[:, 1].max() == pytest.approx(1)
    assert np.allclose(L @ L.T, np.cov(V.T, bias=True), atol=1e-5)


def test_solve_lps_matches_one_model_per_cost():
    A, b, lo, hi = _rod()
    rlo = np.full(len(b), -np.inf)
    costs = [np.eye(6)[0], -np.eye(6)[0], *np.random.default_rng(1).standard_normal((3, 6))]
    many = solve_lps(A, rlo, b, lo, hi, costs)
    for c, x in zip(costs, many, strict=True):
        assert np.allclose(x, solve_lp(A, rlo, b, lo, hi, c), atol=1e-12)
    assert many[0][0] == pytest.approx(0.0) and many[1][0] == pytest.approx(10.0)  # rod ends
    # an empty polytope gives None for every cost
    assert solve_lps(A, rlo, b, lo + 11.0, hi + 0.5, costs[:2]) == [None, None]


@pytest.fixture(scope="module")
def anth():
    return KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))


def test_physiological_bounds_hand_values(anth):
    cons = anthranilate_constraints(anth, physiological=True)
    cb = cons.concentration_bounds
    assert set(COFACTORS) | {"h_c", "h_p", "h_e"} <= set(cb)
    assert cb["h_c"][0] == pytest.approx(PROTON_PH7_MM, rel=2e-3)  # pH 7 = 1e-7 M = 1e-4 mM
    # strain_1 reference: ATP exp(LC) = 6.166 mM -> [3.083, 10 (cap)]; ADP 10 mM -> [5, 10]
    assert cb["atp_c"] == pytest.approx((3.0832, 10.0), rel=1e-3)
    assert cb["adp_c"] == pytest.approx((5.0, 10.0), rel=1e-6)
    assert anthranilate_constraints(anth).concentration_bounds == {}
    with pytest.raises(KinfluxError, match="cofactor_fold"):
        anthranilate_constraints(anth, physiological=True, cofactor_fold=0.5)
    # a pH range: pH 6-7 = 1e-6 .. 1e-7 M = 1e-3 .. 1e-4 mM, no widening
    cb = anthranilate_constraints(anth, physiological=True, ph=(6.0, 7.0)).concentration_bounds
    assert cb["h_p"] == pytest.approx((1e-4, 1e-3), rel=1e-12)
    for bad in ((7.0, 6.0), (0.0, 7.0), float("nan")):
        with pytest.raises(KinfluxError, match="ph"):
            anthranilate_constraints(anth, physiological=True, ph=bad)
    assert anthranilate_constraints(anth, max_turnover_s=15.0).max_turnover_s == 15.0


def test_physiological_profiles_hold_atp_in_its_range(anth):
    cons = anthranilate_constraints(anth, physiological=True)
    s = sample_steady_states(anth, 6, cons, seed=3, n_patterns=2)
    sp = anth.species
    atp = s.concentrations[:, sp.index("atp_c")].numpy()
    assert np.all((atp >= 3083 * 0.999) & (atp <= 10000 * 1.001))  # uM
    assert np.allclose(s.concentrations[:, sp.index("h_c")].numpy(), 0.1, rtol=2e-3)
    assert int(s.sign_violations().sum()) == 0
    assert s.metadata["concentration_sampler"] == "rounded hit-and-run"
    assert math.isfinite(float(s.mass_balance_residual().max()))


def test_cli_physiological_preset(tmp_path):
    from typer.testing import CliRunner

    from kinflux.cli import app
    from kinflux.io import load_npz

    out = tmp_path / "ss.npz"
    args = ["kinetic", "sample-steady-states", "--preset", "physiological"]
    r = CliRunner().invoke(app, [*args, "--n", "3", "--patterns", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    old = tmp_path / "old.npz"
    r = CliRunner().invoke(
        app, [*args, "--n", "2", "--patterns", "1", "--no-rounding", "-o", str(old)]
    )
    assert r.exit_code == 0, r.output
    assert load_npz(old, required=[], what="x")[1]["concentration_sampler"] == "hit-and-run"
    d, meta = load_npz(out, required=["concentrations_uM", "species"], what="steady states")
    atp = d["concentrations_uM"][:, list(d["species"]).index("atp_c")]
    assert np.all(atp >= 3083 * 0.999)
    assert meta["constraints"]["concentration_bounds"]["h_c"][0] == pytest.approx(1e-4, rel=2e-3)
