"""Robustness study: settling-time formula, a tiny end-to-end run."""

from __future__ import annotations

import numpy as np
import pytest

from kinflux import KinfluxError
from kinflux.kinetic.studies.robustness import RobustnessResult, robustness_study


def _result(dev, status=None, drift=None):
    t = np.array([0.0, 0.1, 0.4, 0.5, 1.0])
    return RobustnessResult(
        t=t,
        deviations={"g": np.asarray(dev, float)},
        status=status or ["ok"] * len(dev),
        seconds=np.zeros(len(dev)),
        wall_seconds=1.0,
        tolerance=0.01,
        final_drift=None if drift is None else np.asarray(drift, float),
    )


def test_settling_times_by_hand():
    dev = [
        [0.5, 0.2, 0.005, 0.001, 0.0],  # within from t = 0.4 h (24 min)
        [0.5, 0.005, 0.02, 0.001, 0.0],  # leaves again at 0.4: settles at 0.5 h (30 min)
        [0.5, 0.2, 0.1, 0.1, 0.05],  # never
        [0.001, 0.001, 0.001, 0.001, 0.001],  # within from the start
    ]
    st = _result(dev).settling_times()["g"].tolist()
    assert st == [0.4, 0.5, np.inf, 0.0]
    sh = _result(dev).shares((24.0, 34.0))
    assert sh.loc["g", "24 min"] == 50.0
    assert sh.loc["g", "34 min"] == 75.0


def test_failed_models_never_return():
    r = _result([[0.0] * 5, [0.0] * 5], status=["ok", "timeout"])
    assert r.shares((24.0,)).loc["g", "24 min"] == 50.0
    assert r.timed_out == 1


def test_outcomes_by_hand():
    dev = [
        [0.5, 0.2, 0.005, 0.001, 0.0],  # back by 24 min
        [0.5, 0.2, 0.1, 0.001, 0.0],  # back at 30 min: late
        [0.5, 0.2, 0.1, 0.1, 0.1],  # stuck 10 % away, at rest: another steady state
        [0.5, 0.2, 0.1, 1.0, 9.0],  # still moving away at t_end
        [0.0] * 5,  # timed out
    ]
    status = ["ok"] * 4 + ["timeout"]
    drift = [1e-6, 1e-6, 1e-5, 0.1, np.nan]
    r = _result(dev, status, drift)
    assert r.outcomes(24.0).tolist() == ["returned", "late", "other_state", "moving", "timeout"]
    # judged at 34 min the late model counts as returned
    assert r.outcomes(34.0).tolist()[1] == "returned"
    # no drift recorded: the two that never returned cannot be told apart
    assert _result(dev, status).outcomes().tolist()[2:4] == ["not_returned"] * 2


@pytest.fixture(scope="module")
def run():
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.studies.sources import OracleSource

    pr = KineticProblem.bundled("varma_strain_1")
    P = OracleSource(pr, batch=20).valid_parameters(2, seed=0)
    return pr, robustness_study(pr, P, fraction=0.2, t_end=3.0, n_times=15, time_limit=60)


@pytest.mark.slow
def test_small_study(run):
    pr, res = run
    assert res.status == ["ok", "ok"]
    assert list(res.deviations) == ["biomass", "nadh", "atp", "nadph", "all_cytosolic"]
    # t = 0 is the perturbed state: within the box, not already settled
    assert 0.0 < res.deviations["all_cytosolic"][:, 0].max() <= 0.2 + 1e-9
    # valid (stable) models come back: deviation at 3 h far below the start
    assert (res.deviations["all_cytosolic"][:, -1] < 0.05).all()
    assert 0.4 in res.t and np.isclose(res.t, 34 / 60).any()
    assert res.models_per_second > 0
    # at rest near the steady state by 3 h: tiny relative drift, h^-1
    assert (res.final_drift >= 0).all() and (res.final_drift < 1e-2).all()
    assert res.outcomes(60.0 * 3).tolist() == ["returned", "returned"]


def test_bad_tolerance():
    from kinflux.kinetic.problem import KineticProblem

    pr = KineticProblem.bundled("varma_strain_1")
    with pytest.raises(KinfluxError, match="tolerance"):
        robustness_study(pr, pr.parameters(pr.log_km_steady[None]), tolerance=2.0)


def test_time_unit_of_the_model_is_respected():
    """A model written in minutes (scaling.time = 60) relaxes on the same clock in hours."""
    import dataclasses

    import torch

    from kinflux.kinetic.oracle import oracle_sample
    from kinflux.kinetic.problem import KineticProblem

    pr = KineticProblem.bundled("varma_strain_1")
    pr_min = pr.with_scaling(dataclasses.replace(pr.scaling, time=60.0))
    s = oracle_sample(pr, 20, seed=0)
    lk = s.log_km[torch.as_tensor(s.valid)][:1].double()
    opts = {"fraction": 0.1, "t_end": 0.5, "n_times": 8, "time_limit": 20.0}
    a = robustness_study(pr, pr.parameters(lk), **opts)
    b = robustness_study(pr_min, pr_min.parameters(lk), **opts)
    assert a.status == b.status == ["ok"]
    assert np.array_equal(a.t, b.t)
    for g in a.deviations:
        assert np.allclose(a.deviations[g], b.deviations[g], rtol=1e-3, atol=1e-6), g
    # the final drift is reported per hour whatever the model's time unit
    assert np.allclose(a.final_drift, b.final_drift, rtol=1e-3, atol=1e-9)
    assert a.final_drift[0] > 0


def test_run_folder_records_outcomes(tmp_path):
    import pandas as pd

    from kinflux.io import read_json
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.studies.reports import robustness_run
    from kinflux.kinetic.studies.sources import OracleSource

    src = OracleSource(KineticProblem.bundled("varma_strain_1"), batch=20)
    opts = {"fraction": 0.1, "t_end": 0.5, "n_times": 8, "time_limit": 20.0}
    res = robustness_run(tmp_path / "rob", src, n_models=1, **opts)
    status = pd.read_csv(tmp_path / "rob" / "status.csv")
    assert status["outcome_24min"].tolist() == res.outcomes().tolist()
    assert np.allclose(status["final_drift_per_h"], res.final_drift)
    summary = read_json(tmp_path / "rob" / "summary.json")
    assert sum(summary["outcomes_24min"].values()) == 1
