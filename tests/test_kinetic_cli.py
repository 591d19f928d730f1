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
