"""CLI of the studies: run folders with tables and figures, clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kinflux.cli import app

runner = CliRunner()


def test_robustness_command(tmp_path):
    out = tmp_path / "rob"
    r = runner.invoke(
        app,
        [
            "kinetic",
            "robustness",
            "--model",
            "kin_varma",
            "--steady-state",
            "tfa_reference_strain_1",
            "--n",
            "1",
            "--t-end",
            "0.1",
            "--n-times",
            "10",
            "--perturbation",
            "0.1",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    for f in (
        "config.json",
        "shares.csv",
        "settling_times.csv",
        "summary.json",
        "deviations.npz",
        "figures/deviations.png",
    ):
        assert (out / f).exists(), f
    assert "all_cytosolic" in r.output
    again = runner.invoke(
        app,
        [
            "kinetic",
            "robustness",
            "--model",
            "kin_varma",
            "--steady-state",
            "tfa_reference_strain_1",
            "--n",
            "2",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert again.exit_code == 2 and "exists" in again.output


def test_sample_needs_anthranilate(tmp_path):
    r = runner.invoke(
        app, ["kinetic", "robustness", "--model", "kin_varma", "-o", str(tmp_path / "x"), "-q"]
    )
    assert r.exit_code == 2
    assert "anthranilate" in r.output
    assert not (tmp_path / "x").exists()


def test_bioreactor_command(tmp_path):
    out = tmp_path / "bio"
    r = runner.invoke(
        app,
        [
            "kinetic",
            "bioreactor",
            "--model",
            "kin_varma",
            "--steady-state",
            "tfa_reference_strain_1",
            "--n",
            "1",
            "--medium",
            "steady_state",
            "--t-end",
            "0.02",
            "--n-times",
            "3",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (out / "figures/bioreactor.png").exists() and (out / "curves.npz").exists()


def test_integrate_km_command(tmp_path):
    out = tmp_path / "km"
    r = runner.invoke(
        app,
        [
            "kinetic",
            "integrate-km",
            "--splits",
            "1",
            "--generations",
            "1",
            "--population",
            "2",
            "--n-models",
            "4",
            "--n-generate",
            "10",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (out / "splits.csv").exists() and (out / "figures/overlap.png").exists()
    assert "held-out OS" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert {"os_with", "os90_with", "incidence_without", "saturation_low"} <= set(summary)
