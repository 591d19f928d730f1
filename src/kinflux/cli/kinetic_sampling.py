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
    fix_km: list[str] = typer.Option(
        [], "--fix-km", help="KM_NAME:LOW:HIGH known Km range, mM (repeatable)."
    ),
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
        fixed = _parse_bounds(fix_km, "Km") or None
        r = oracle_sample(
            m, ss, n, seed=seed, partition=part, km_bounds_mm=(km_low, km_high), fixed=fixed
        )
        meta = {
            "model": m.name,
            "model_source": m.source,
            "steady_state": str(steady_state),
            "profile": profile,
            "n": n,
            "seed": seed,
            "partition_per_h": part,
            "km_bounds_mM": [km_low, km_high],
            "fixed_km_mM": fixed or {},
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
        t.add_row(
            "lambda_max median (h^-1)", f"{float(lm.median()) if lm.numel() else float('nan'):.4g}"
        )
        t.add_row("max steady-state residual", f"{float(r.residual.max()):.2e}")
        t.add_row("models / s", f"{n / r.seconds:.1f}")
        t.add_row("written", str(out))
        console.print(t)
        console.print(f"incidence: {r.incidence:.4f}")


def _parse_bounds(items: list[str], what: str) -> dict[str, tuple[float, float]]:
    """``NAME:LOW:HIGH`` strings -> ``{name: (low, high)}``."""
    from kinflux import KinfluxError

    out = {}
    for it in items:
        parts = it.rsplit(":", 2)
        try:
            name, lo, hi = parts[0], float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise KinfluxError(
                f"{what} bound '{it}': expected NAME:LOW:HIGH, e.g. GLCtex:0:10"
            ) from None
        out[name] = (lo, hi)
    return out


@app.command("sample-steady-states")
def sample_steady_states_cmd(
    model: str = typer.Option(
        "kin_varma_anthranilate", help="Kinetic model: bundled name or YAML path."
    ),
    n: int = typer.Option(5000, "--n", help="Number of profiles."),
    seed: int = typer.Option(0, help="Random seed (same seed, same profiles)."),
    preset: str = typer.Option(
        "auto",
        help="Constraint preset: 'anthranilate' (growth >= 0.26 h^-1, anthranilate >= 0.14 "
        "mmol/gDW/h), 'none', or 'auto' (anthranilate for that model).",
    ),
    flux_bound: list[str] = typer.Option(
        [], "--flux-bound", help="RXN:LOW:HIGH net flux bound, mmol/gDW/h (repeatable)."
    ),
    conc_bound: list[str] = typer.Option(
        [], "--conc-bound", help="SPECIES:LOW:HIGH concentration bound, mM (repeatable)."
    ),
    conc_low: float = typer.Option(1e-3, help="Default lower concentration, mM."),
    conc_high: float = typer.Option(10.0, help="Default upper concentration, mM."),
    reference: str | None = typer.Option(
        None, help="TFA profile (bundled name or csv): concentrations within --fold of it."
    ),
    fold: float = typer.Option(2.0, help="Width of the reference ranges."),
    patterns: int | None = typer.Option(None, help="Direction patterns (MILP solves)."),
    out: Path = typer.Option(Path("steady_states.npz"), "--out", "-o", help="Output .npz."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out."),
) -> None:
    """Sample steady-state profiles (fluxes, concentrations, displacements) that satisfy
    S v = 0, the bounds and the sign rule; writes one .npz with metadata."""
    with run_cli_errors():
        import time

        from kinflux import KinfluxError
        from kinflux.io import check_output
        from kinflux.kinetic.model import KineticModel
        from kinflux.kinetic.sampling import (
            SteadyStateConstraints,
            anthranilate_constraints,
            sample_steady_states,
        )
        from kinflux.kinetic.steady import SteadyState

        out = check_output(out, force)
        m = KineticModel.from_yaml(_resolve(model))
        if m.name in ("", "Unnamed"):
            m.name = Path(m.source).stem
        if preset == "auto":
            preset = "anthranilate" if "anthranilate" in Path(m.source).stem else "none"
        if preset == "anthranilate":
            cons = anthranilate_constraints(m)
        elif preset == "none":
            cons = SteadyStateConstraints()
        else:
            raise KinfluxError(f"--preset {preset!r}: use auto, anthranilate or none")
        cons.flux_bounds.update(_parse_bounds(flux_bound, "flux"))
        cons.concentration_bounds.update(_parse_bounds(conc_bound, "concentration"))
        cons.concentration_range_mm = (conc_low, conc_high)
        if reference is not None:
            ref = SteadyState.from_tfa_csv(_resolve(reference), m, scaling=cons.scaling)
            cons.reference, cons.reference_fold = ref.concentrations, fold
        t0 = time.perf_counter()
        res = sample_steady_states(m, n, cons, seed=seed, n_patterns=patterns)
        secs = time.perf_counter() - t0
        res.metadata["reference"] = reference
        res.save(out, force=True)
        t = Table(title=f"Steady-state sampling — {m.name}")
        t.add_column("quantity")
        t.add_column("value", justify="right")
        t.add_row("profiles", str(len(res)))
        t.add_row("direction patterns", str(res.metadata["n_patterns"]))
        t.add_row("max |S v| / max |v|", f"{float(res.mass_balance_residual().max()):.2e}")
        t.add_row("sign-rule violations", str(int(res.sign_violations().sum())))
        t.add_row("seconds", f"{secs:.1f}")
        t.add_row("written", str(out))
        console.print(t)
