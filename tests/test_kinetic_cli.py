"""CLI smoke tests for ``kinflux kinetic``."""

from typer.testing import CliRunner

from kinflux.cli import app
from kinflux.datasets import kinetic_model_path


def test_info_counts():
    r = CliRunner().invoke(app, ["kinetic", "info", str(kinetic_model_path("varma_strain_1"))])
    assert r.exit_code == 0, r.output
    assert "65" in r.output and "moieties" in r.output


def test_info_missing_file_is_clean_error(tmp_path):
    r = CliRunner().invoke(app, ["kinetic", "info", str(tmp_path / "nope.yml")])
    assert r.exit_code == 2


def test_info_bundled_name_lists_exact_moieties():
    r = CliRunner().invoke(app, ["kinetic", "info", "kin_varma_anthranilate"])
    assert r.exit_code == 0, r.output
    assert "amp_c + adp_c + atp_c" in r.output or "adp_c + amp_c + atp_c" in r.output


def test_simulate_writes_run_folder_and_refuses_overwrite(tmp_path):
    from kinflux.kinetic.simulation import Simulation

    out = tmp_path / "sim"
    args = ["kinetic", "simulate", "varma_strain_1", "--n", "1", "--t-end", "0.05"]
    args += ["--n-times", "10", "-q", "-o", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    names = {p.name for p in out.iterdir()}
    assert {"trajectories.npz", "trajectories.png", "summary.json", "config.json"} <= names
    sim = Simulation.load(out / "trajectories.npz")
    assert sim.x.shape == (1, 10, 49) and sim.metadata["model"] == "strain_1"
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and "exists" in r.output
