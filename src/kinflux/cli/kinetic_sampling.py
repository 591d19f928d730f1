"""``kinflux kinetic sample-*`` commands (steady states and parameter sampling).

Registered on the ``kinetic`` sub-app defined in :mod:`kinflux.cli.kinetic`. Thin: parse,
call :mod:`kinflux.kinetic.oracle` / :mod:`kinflux.kinetic.sampling`, print, write.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from kinflux.cli.common import console, run_cli_errors
from kinflux.cli.kinetic import app

__all__ = ["app"]


def _resolve(name_or_path: str) -> Path:
    """A file path if it exists, else a bundled kinetic data set name."""
    p = Path(name_or_path)
    if p.exists():
        return p
    from kinflux.datasets import kinetic_model_path

    return kinetic_model_path(name_or_path)


def _load_steady(model, source: str, profile: int):  # noqa: ANN001, ANN202
    """A SteadyState from a TFA csv (bundled name or path) or a sample-steady-states .npz."""
    from kinflux.kinetic.steady import SteadyState

    p = _resolve(source)
    if p.suffix == ".npz":
        from kinflux.kinetic.sampling import SteadyStateSamples

        return SteadyStateSamples.load(p, model).steady_state(profile)
    return SteadyState.from_tfa_csv(p, model, row=profile)


@app.command("sample-parameters")
def sample_parameters(
    model: str = typer.Option("kin_varma", help="Kinetic model: bundled name or YAML path."),
    steady_state: str = typer.Option(
        "tfa_reference_strain_1",
        "--steady-state",
        help="TFA profile csv (bundled name or path) or a sample-steady-states .npz.",
    ),
    profile: int = typer.Option(0, help="Row of the csv / profile of the .npz."),
    n: int = typer.Option(1000, "--n", help="Number of parameter sets."),
    seed: int = typer.Option(0, help="Random seed (same seed, same sets)."),
    doubling_time: float = typer.Option(134.0, help="Doubling time, min."),
    time_constant: float = typer.Option(
        24.0, help="Dominant time constant, min (stricter than doubling/5 wins)."
    ),
    km_low: float = typer.Option(1.3e-11, help="Lower Km bound, mM."),
    km_high: float = typer.Option(20.0, help="Upper Km bound, mM."),
    out: Path = typer.Option(Path("oracle_parameters.npz"), "--out", "-o", help="Output .npz."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out."),
) -> None:
    """ORACLE baseline: unbiased saturations -> Km -> complete parameter sets; prints the
    incidence of valid models and writes parameters + lambda_max (.npz)."""
    with run_cli_errors():
        from kinflux.io import atomic_write, check_output
        from kinflux.kinetic.model import KineticModel
        from kinflux.kinetic.oracle import oracle_sample
        from kinflux.kinetic.validity import lambda_partition

        out = check_output(out, force)
        m = KineticModel.from_yaml(_resolve(model))
        if m.name in ("", "Unnamed"):
            m.name = Path(m.source).stem
        ss = _load_steady(m, steady_state, profile)
        part = lambda_partition(doubling_time, time_constant)
        r = oracle_sample(m, ss, n, seed=seed, partition=part, km_bounds_mm=(km_low, km_high))
        meta = {
            "model": m.name,
            "model_source": m.source,
            "steady_state": str(steady_state),
            "profile": profile,
            "n": n,
            "seed": seed,
            "partition_per_h": part,
            "km_bounds_mM": [km_low, km_high],
            "incidence": r.incidence,
        }
        buf = io.BytesIO()
        np.savez(
            buf,
            parameters=r.params.numpy(),
            parameter_names=np.array(r.parameter_names),
            lambda_max=r.lambda_max.numpy(),
            valid=r.valid.numpy(),
            km=r.km.numpy(),
            sigma=r.sigma.numpy(),
            km_names=np.array(r.km_names),
            residual=r.residual.numpy(),
            metadata=np.array(json.dumps(meta)),
        )
        with atomic_write(out, "wb") as fh:
            fh.write(buf.getvalue())
        lm = r.lambda_max[~r.lambda_max.isnan()]
        t = Table(title=f"ORACLE sampling — {m.name}")
        t.add_column("quantity")
        t.add_column("value", justify="right")
        t.add_row("parameter sets", str(n))
        t.add_row("partition (h^-1)", f"{part:.4g}")
        t.add_row("incidence", f"{r.incidence:.4f}")
        t.add_row("lambda_max median (h^-1)", f"{float(lm.median()) if lm.numel() else float('nan'):.4g}")
        t.add_row("max steady-state residual", f"{float(r.residual.max()):.2e}")
        t.add_row("models / s", f"{n / r.seconds:.1f}")
        t.add_row("written", str(out))
        console.print(t)
        console.print(f"incidence: {r.incidence:.4f}")
