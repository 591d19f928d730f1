"""``kinflux kinetic sample-*`` commands (steady states and ORACLE parameter sampling).

Registered on the ``kinetic`` sub-app defined in :mod:`kinflux.cli.kinetic`. Thin: parse,
call :mod:`kinflux.kinetic.oracle` / :mod:`kinflux.kinetic.sampling`, print.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import Backend, console, run_cli_errors
from kinflux.cli.kinetic import (
    ACCEPT_RESIDUAL,
    FORCE,
    QUIET,
    SEED,
    app,
    kinetic_file,
    load_model,
    load_steady_state,
    positive,
    set_quiet_flag,
    show_warnings,
)

__all__ = ["app"]


class Preset(StrEnum):
    """Constraint presets of the steady-state sampler."""

    auto = "auto"
    anthranilate = "anthranilate"
    physiological = "physiological"
    none = "none"


@app.command("sample-parameters")
def sample_parameters(
    model: str = typer.Option("kin_varma", help="Kinetic model: bundled name or YAML path."),
    steady_state: str = typer.Option(
        "tfa_reference_strain_1",
        "--steady-state",
        help="TFA profile csv (bundled name or path) or a sample-steady-states .npz.",
    ),
    profile: int = typer.Option(0, min=0, help="Row of the csv / profile of the .npz."),
    n: int = typer.Option(1000, "--n", "-n", min=1, help="Number of parameter sets."),
    seed: int = SEED,
    doubling_time: float = typer.Option(134.0, parser=positive, help="Doubling time, min."),
    time_constant: float = typer.Option(
        24.0,
        parser=positive,
        help="Dominant time constant, min (stricter than doubling/5 wins).",
    ),
    km_low: float = typer.Option(
        math.exp(-25.0),
        parser=positive,
        help="Lower Km bound, mol/L (default exp(-25) = 1.39e-11 M, RENAISSANCE's).",
    ),
    km_high: float = typer.Option(
        math.exp(3.0),
        parser=positive,
        help="Upper Km bound, mol/L (default exp(3) = 20.1 M).",
    ),
    fix_km: list[str] = typer.Option(
        [], "--fix-km", help="KM_NAME:LOW:HIGH known Km range, mol/L (repeatable)."
    ),
    n_jobs: int = typer.Option(1, "--n-jobs", "--jobs", min=-1, help="Worker processes (-1: all)."),
    backend: Backend = typer.Option(Backend.local, help="Where workers run: local or ray."),
    address: str = typer.Option(None, help="Ray cluster address (e.g. auto)."),
    accept_residual: bool = ACCEPT_RESIDUAL,
    out: Path = typer.Option(Path("oracle_parameters.npz"), "--out", "-o", help="Output .npz."),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """ORACLE baseline: unbiased saturations -> Km -> complete parameter sets; prints the
    incidence of valid models and writes parameters + lambda_max (.npz)."""
    set_quiet_flag(quiet)
    with run_cli_errors(), show_warnings():
        from kinflux.io import check_output
        from kinflux.kinetic.oracle import oracle_sample
        from kinflux.kinetic.problem import KineticProblem
        from kinflux.kinetic.validity import lambda_partition

        out = check_output(out, force)
        fixed = _parse_bounds(fix_km, "Km") or None
        m = load_model(model)
        ss = load_steady_state(m, steady_state, profile, accept_residual)
        part = lambda_partition(doubling_time, time_constant)
        problem = KineticProblem(
            m,
            ss,
            km_bounds_molar=(km_low, km_high),
            partition=part,
            accept_residual=accept_residual,
        )
        r = oracle_sample(
            problem,
            n,
            seed=seed,
            fixed=fixed,
            n_jobs=n_jobs,
            backend=backend.value,
            address=address,
            progress=True,
        )
        r.metadata.update({"steady_state": str(steady_state), "profile": profile})
        r.save(out, force=force)
    lm = r.lambda_max[~r.lambda_max.isnan()]
    t = Table(title=f"ORACLE sampling — {m.name}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("parameter sets", str(n))
    t.add_row("Km bounds (mol/L)", f"[{km_low:.3g}, {km_high:.3g}]")
    t.add_row("partition (h^-1)", f"{part:.4g}")
    t.add_row("incidence", f"{r.incidence:.4f}")
    t.add_row("lambda_max median (h^-1)", f"{float(lm.median()) if lm.numel() else math.nan:.4g}")
    t.add_row("max steady-state residual", f"{float(r.residual.max()):.2e}")
    t.add_row("models / s", f"{n / r.seconds:.1f}")
    t.add_row("written", str(out))
    console.print(t)
    console.print(f"incidence: {r.incidence:.4f}")


def _parse_bounds(items: list[str], what: str) -> dict[str, tuple[float, float]]:
    """``NAME:LOW:HIGH`` strings -> ``{name: (low, high)}`` (finite, low <= high)."""
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
        if not (name and math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise KinfluxError(f"{what} bound '{it}': need a name and finite LOW <= HIGH")
        out[name] = (lo, hi)
    return out


@app.command("sample-steady-states")
def sample_steady_states_cmd(
    model: str = typer.Option(
        "kin_varma_anthranilate", help="Kinetic model: bundled name or YAML path."
    ),
    n: int = typer.Option(5000, "--n", "-n", min=1, help="Number of profiles."),
    seed: int = SEED,
    preset: Preset = typer.Option(
        Preset.auto,
        help="Constraints: anthranilate (growth >= 0.26 h^-1, anthranilate >= 0.14 "
        "mmol/gDW/h), physiological (the same, plus protons at pH 7 and ATP, ADP, AMP, "
        "NAD(H), NADP(H) within 2x of E. coli's strain_1 reference), none, or auto "
        "(anthranilate for that model).",
    ),
    flux_bound: list[str] = typer.Option(
        [], "--flux-bound", help="RXN:LOW:HIGH net flux bound, mmol/gDW/h (repeatable)."
    ),
    conc_bound: list[str] = typer.Option(
        [], "--conc-bound", help="SPECIES:LOW:HIGH concentration bound, mM (repeatable)."
    ),
    conc_low: float = typer.Option(1e-3, parser=positive, help="Default lower concentration, mM."),
    conc_high: float = typer.Option(10.0, parser=positive, help="Default upper concentration, mM."),
    reference: str | None = typer.Option(
        None, help="TFA profile (bundled name or csv): concentrations within --fold of it."
    ),
    fold: float = typer.Option(2.0, min=1.0, help="Width of the reference ranges (>= 1)."),
    patterns: int | None = typer.Option(
        None, min=1, help="Direction patterns (MILP solves); default min(n, 10)."
    ),
    rounding: bool = typer.Option(
        True,
        "--rounding/--no-rounding",
        help="Hit-and-run in the rounded concentration polytope (default); --no-rounding "
        "gives the isotropic chain of kinflux <= 0.5, which mixes poorly.",
    ),
    max_turnover: float | None = typer.Option(
        None,
        parser=positive,
        help="Every variable pool turns over within this many seconds at its profile's "
        "fluxes (caps its concentration; E. coli's central pools turn over in seconds). "
        "Default: no limit.",
    ),
    out: Path = typer.Option(Path("steady_states.npz"), "--out", "-o", help="Output .npz."),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Sample steady-state profiles (fluxes, concentrations, displacements) that satisfy
    S v = 0, the bounds and the sign rule; writes one .npz with metadata."""
    set_quiet_flag(quiet)
    with run_cli_errors():
        import time

        from kinflux import KinfluxError
        from kinflux.io import check_output
        from kinflux.kinetic.sampling import (
            SteadyStateConstraints,
            anthranilate_constraints,
            sample_steady_states,
        )
        from kinflux.kinetic.steady import SteadyState

        out = check_output(out, force)
        if conc_low >= conc_high:
            raise KinfluxError(f"--conc-low {conc_low} must be below --conc-high {conc_high}")
        m = load_model(model)
        name = preset.value
        if name == "auto":
            name = "anthranilate" if "anthranilate" in Path(m.source).stem else "none"
        if name in ("anthranilate", "physiological"):
            cons = anthranilate_constraints(m, physiological=name == "physiological")
        else:
            cons = SteadyStateConstraints()
        cons.flux_bounds.update(_parse_bounds(flux_bound, "flux"))
        cons.concentration_bounds.update(_parse_bounds(conc_bound, "concentration"))
        cons.concentration_range_mm = (conc_low, conc_high)
        cons.max_turnover_s = max_turnover
        if reference is not None:
            ref = SteadyState.from_tfa_csv(kinetic_file(reference), m, scaling=cons.scaling)
            cons.reference, cons.reference_fold = ref.concentrations, fold
        t0 = time.perf_counter()
        res = sample_steady_states(
            m, n, cons, seed=seed, n_patterns=patterns, progress=True, rounding=rounding
        )
        secs = time.perf_counter() - t0
        res.metadata["reference"] = reference
        res.save(out, force=force)
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
