"""Turnover times of steady-state pools, checked by hand on a three-species chain."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from kinflux.kinetic.studies.reports import slowest_cytosolic_turnover, turnover_times


def _chain() -> tuple[SimpleNamespace, SimpleNamespace]:
    # A -> B -> C (rates 2 and 2 uM/h); D carries no flux
    model = SimpleNamespace(
        S_full=np.array([[-1.0, 0.0], [1.0, -1.0], [0.0, 1.0], [0.0, 0.0]]),
        species=["A", "B", "C", "D"],
        variables=["B", "C", "D"],
        compartment_of={"B": "c", "C": "c", "D": "e"},
    )
    ss = SimpleNamespace(
        fluxes=torch.tensor([2.0, 2.0]), concentrations={"A": 1.0, "B": 4.0, "C": 3.0, "D": 5.0}
    )
    return model, ss


def test_turnover_times_by_hand():
    tau = turnover_times(*_chain())
    # B: 4 / (0.5 * (2 + 2)) = 2 h; C: 3 / (0.5 * 2) = 3 h; D: no flux -> inf
    assert tau["B"] == pytest.approx(2.0)
    assert tau["C"] == pytest.approx(3.0)
    assert np.isinf(tau["D"])
    assert slowest_cytosolic_turnover(*_chain()) == pytest.approx(3.0)


def test_fastest_turnover_profile_picks_the_smallest_slowest_pool():
    from kinflux.kinetic.studies.reports import fastest_turnover_profile

    model, ss = _chain()

    def scaled(c_of_c: float) -> SimpleNamespace:  # C's pool sets the slowest turnover
        return SimpleNamespace(
            fluxes=ss.fluxes, concentrations={**ss.concentrations, "C": c_of_c, "B": 0.1}
        )

    profiles = [scaled(9.0), scaled(0.5), scaled(3.0)]  # slowest: 9, 0.5, 3 h
    samples = type(
        "S", (), {"__len__": lambda self: 3, "steady_state": lambda self, i: profiles[i]}
    )()
    assert fastest_turnover_profile(model, samples) == 1


def test_profile_option_is_checked(tmp_path):
    from typer.testing import CliRunner

    from kinflux.cli import app

    runner = CliRunner()
    for value, msg in (("bogus", "row number"), ("turnover", "sampled profiles")):
        out = tmp_path / value
        r = runner.invoke(
            app, ["kinetic", "train-generator", "--profile", value, "--out", str(out), "--quiet"]
        )
        assert r.exit_code == 2 and msg in r.output, r.output
        assert not out.exists()
