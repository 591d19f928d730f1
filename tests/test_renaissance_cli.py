"""Run folders of generator training (resume), `kinflux kinetic train-generator` and
`kinflux kinetic generate` on the bundled varma_strain_1 problem (tiny settings)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from kinflux.cli import app
from kinflux.io import load_npz
from kinflux.kinetic.generator_runs import load_generator, train_generators
from kinflux.kinetic.problem import KineticProblem
from kinflux.kinetic.renaissance import RenaissanceGenerator

TINY = {"population": 4, "n_models": 6, "latent_dim": 5, "hidden": (16,)}


class Interrupted(Exception):
    pass


def _flaky(problem: KineticProblem, fail_at: int) -> KineticProblem:
    """The same problem whose evaluation raises on its ``fail_at``-th call."""

    class Flaky(KineticProblem):
        calls = 0

        def lambda_max_of_log_km(self, log_km, chunk=1000):  # noqa: ANN001, ANN202
            type(self).calls += 1
            if type(self).calls == fail_at:
                raise Interrupted("simulated interruption")
            return super().lambda_max_of_log_km(log_km, chunk)

    new = object.__new__(Flaky)
    new.__dict__.update(problem.__dict__)
    return new


def test_resume_equals_uninterrupted(tmp_path) -> None:  # noqa: ANN001
    pb = KineticProblem.bundled("varma_strain_1")
    est = RenaissanceGenerator(generations=3, update="improved", **TINY)
    ref = train_generators(pb, tmp_path / "ref", est, repeats=2)
    # interrupt in repeat 1 after 2 generations (calls: 4 per repeat, the 7th fails)
    with pytest.raises(Interrupted):
        train_generators(_flaky(pb, 7), tmp_path / "run", est, repeats=2)
    assert not (tmp_path / "run").exists() and (tmp_path / ".run.partial").exists()
    with pytest.raises(Exception, match="--resume"):
        train_generators(pb, tmp_path / "run", est, repeats=2)
    out = train_generators(pb, tmp_path / "run", est, repeats=2, resume=True)
    for r in range(2):
        a, b = load_generator(ref, r), load_generator(out, r)
        assert torch.equal(a.generator_.flat(), b.generator_.flat())
    ma = np.genfromtxt(ref / "metrics.csv", delimiter=",", names=True)
    mb = np.genfromtxt(out / "metrics.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(ma["incidence"], mb["incidence"])
    assert len(mb) == 2 * 4
    lam = load_npz(out / "lambda_max" / "repeat_1.npz")[0]["lambda_max"]
    assert lam.shape == (4, 5, 6)
    assert (out / "figures" / "incidence.png").is_file()
    assert (out / "figures" / "lambda_max.png").is_file()


def test_cli_train_and_generate(tmp_path) -> None:  # noqa: ANN001
    runner = CliRunner()
    run = tmp_path / "x"
    res = runner.invoke(
        app,
        [
            "kinetic", "train-generator", "--model", "varma_strain_1",
            "--steady-state", "tfa_reference_strain_1", "--reward", "fastest",
            "--generations", "1", "--repeats", "1", "--population", "2",
            "--n-models", "10", "--out", str(run), "--quiet",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "mean final incidence" in res.output
    out = tmp_path / "sets.npz"
    args = ["kinetic", "generate", "--run", str(run), "--n", "7", "--out", str(out)]
    res = runner.invoke(app, [*args, "--chunk", "3", "--lambda-max", "--quiet"])
    assert res.exit_code == 0, res.output
    arrays, meta = load_npz(out, required=["log_km", "vmax", "keq", "lambda_max", "valid"])
    pb = KineticProblem.bundled("varma_strain_1")
    assert arrays["log_km"].shape == (7, pb.n_km)
    assert list(arrays["km_names"]) == pb.km_names
    params = pb.parameters(torch.tensor(arrays["log_km"], dtype=torch.float64))
    np.testing.assert_allclose(params[:, arrays["vmax_columns"]].numpy(), arrays["vmax"])
    full = np.tile(arrays["base_parameters"], (7, 1))
    full[:, arrays["km_columns"]] = np.exp(arrays["log_km"].astype(np.float64)) * 1e6
    full[:, arrays["vmax_columns"]] = arrays["vmax"]
    assert float(pb.steady_state_residual(torch.tensor(full)).max()) < 1e-6
    assert meta["n"] == 7 and arrays["valid"].dtype == bool
    res = runner.invoke(app, args + ["--quiet"])  # exists: refused, file untouched
    assert res.exit_code == 2 and "exists" in res.output


def _train_tiny(runner, run, *extra: str):  # noqa: ANN001, ANN202
    """One tiny train-generator run on varma_strain_1 into ``run``."""
    return runner.invoke(
        app,
        [
            "kinetic", "train-generator", "--model", "varma_strain_1", "--generations", "1",
            "--repeats", "1", "--population", "2", "--n-models", "4", "--quiet",
            *extra, "--out", str(run),
        ],
    )  # fmt: skip


def test_cli_fixed_km_ranges_reach_the_generated_sets(tmp_path) -> None:  # noqa: ANN001
    """--fix-km (mM) trains on, records and writes Km inside the known range."""
    runner = CliRunner()
    run = tmp_path / "fixed"
    res = _train_tiny(runner, run, "--fix-km", "km_substrate_FUM:0.4:0.6")
    assert res.exit_code == 0, res.output
    out = tmp_path / "sets.npz"
    res = runner.invoke(
        app, ["kinetic", "generate", "--run", str(run), "--n", "12", "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    arrays, _ = load_npz(out)
    col = list(arrays["km_names"]).index("km_substrate_FUM")
    km_mm = np.exp(arrays["log_km"][:, col].astype(float)) * 1e3
    assert ((km_mm >= 0.4 - 1e-5) & (km_mm <= 0.6 + 1e-5)).all()
    bad = runner.invoke(
        app, ["kinetic", "train-generator", "--fix-km", "km_nope:1:2", "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code == 2 and "km_nope" in bad.output
    assert not (tmp_path / "x").exists()


def test_cli_km_window_keeps_km_near_their_substrate(tmp_path) -> None:  # noqa: ANN001
    """--km-window LOW:HIGH: every generated ln(Km/S) within [LOW, HIGH], also after the
    run folder is read back."""
    from kinflux.kinetic.generator_runs import load_problem

    runner = CliRunner()
    run = tmp_path / "window"
    res = _train_tiny(runner, run, "--km-window", "-2:1")
    assert res.exit_code == 0, res.output
    problem = load_problem(run)
    assert problem.saturation == (-2.0, 1.0)
    out = tmp_path / "sets.npz"
    res = runner.invoke(
        app, ["kinetic", "generate", "--run", str(run), "--n", "12", "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    arrays, _ = load_npz(out)
    assert list(arrays["km_names"]) == problem.km_names
    r = arrays["log_km"].astype(float) - problem.log_km_steady.numpy()[None, :]
    assert r.min() >= -2.0 - 1e-9 and r.max() <= 1.0 + 1e-9
    assert r.std() > 0.01  # the Km vary inside the window
    for text in ("-1", "1:-1", "x"):
        bad = runner.invoke(
            app, ["kinetic", "train-generator", "--km-window", text, "--out", str(tmp_path / "y")]
        )
        assert bad.exit_code == 2 and "Km window" in bad.output, bad.output
        assert not (tmp_path / "y").exists()
