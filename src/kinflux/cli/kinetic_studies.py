"""``kinflux kinetic robustness | bioreactor | integrate-km``: the RENAISSANCE studies.

Registered on the ``kinetic`` sub-app of :mod:`kinflux.cli.kinetic`. Thin: parse, build
the problem and the source of valid models, call :mod:`kinflux.kinetic.studies.reports`
(which writes the run folder), print the table.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import console, run_cli_errors, set_quiet_flag, show_warnings
from kinflux.cli.kinetic import FORCE, QUIET, SEED, app, load_model, load_steady_state, positive

__all__ = ["app"]

MODEL = typer.Option("kin_varma_anthranilate", help="Kinetic model: bundled name or YAML path.")
STEADY = typer.Option(
    "sample",
    "--steady-state",
    help="'sample' (anthranilate model: one profile drawn with the published constraints "
    "and --seed), a TFA csv (bundled name or path) or a sample-steady-states .npz.",
)
PROFILE = typer.Option(0, min=0, help="Row of the csv / profile of the .npz.")
GENERATOR = typer.Option(
    None, "--generator-run", help="Generator run folder (train-generator); default ORACLE."
)
JOBS = typer.Option(1, "--n-jobs", "--jobs", min=-1, help="Worker processes (-1: all).")


def _source(  # noqa: ANN202
    model: str,
    steady_state: str,
    profile: int,
    generator_run: Path | None,
    seed: int,
    n_profiles: int | None = None,
):
    """The source of valid models: a generator run, else ORACLE on the given problem
    (``n_profiles``: sample that many anthranilate profiles and take the one whose slowest
    cytosolic pool turns over fastest)."""
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.studies.reports import anthranilate_problem
    from kinflux.kinetic.studies.sources import GeneratorSource, OracleSource

    if generator_run is not None:
        return GeneratorSource.from_run(generator_run)
    if steady_state == "sample":
        if "anthranilate" not in model:
            from kinflux import KinfluxError

            raise KinfluxError(
                f"--steady-state sample works for kin_varma_anthranilate only; give a TFA "
                f"csv or .npz for '{model}' (e.g. tfa_reference_strain_1)"
            )
        if n_profiles:
            return OracleSource(
                anthranilate_problem(seed=seed, profile="turnover", n_profiles=n_profiles)
            )
        return OracleSource(
            anthranilate_problem(seed=seed, profile=profile, n_profiles=profile + 1)
        )
    m = load_model(model)
    return OracleSource(KineticProblem(m, load_steady_state(m, steady_state, profile)))


@app.command("robustness")
def robustness(
    model: str = MODEL,
    steady_state: str = STEADY,
    profile: int = PROFILE,
    turnover_of: int | None = typer.Option(
        None,
        "--turnover-of",
        min=1,
        help="With --steady-state sample: draw this many profiles and use the one whose "
        "slowest cytosolic pool turns over fastest (the benchmark uses 200).",
    ),
    generator_run: Path | None = GENERATOR,
    n: int = typer.Option(1000, "--n", "-n", min=1, help="Valid models to perturb."),
    perturbation: float = typer.Option(
        0.5, help="Largest relative change of any species (0.5 = +-50 %)."
    ),
    tolerance: float = typer.Option(
        0.01, help="Relative deviation counted as returned (the paper states none)."
    ),
    t_end: float = typer.Option(10.0, parser=positive, help="Horizon, h."),
    n_times: int = typer.Option(200, min=2, help="Log-spaced output times from 1e-9 h."),
    rtol: float = typer.Option(1e-6, parser=positive, help="Relative tolerance."),
    time_limit: float = typer.Option(
        30.0, parser=positive, help="Wall-time limit per model (its share of the clock), s."
    ),
    batch_size: int | None = typer.Option(
        None, min=1, help="Models per task (default: split evenly over the workers)."
    ),
    max_active: int = typer.Option(96, min=1, help="Solvers of a task running at once."),
    validity_partition: float = typer.Option(
        -2.5,
        help="Valid models have lambda_max below this, h^-1 (a generator trained at a "
        "tighter partition is still filtered at this one).",
    ),
    n_jobs: int = JOBS,
    seed: int = SEED,
    out: Path = typer.Option(Path("runs/robustness"), "--out", "-o", help="Run folder."),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Perturb each valid model's steady state once (every species within the box,
    moiety totals kept), integrate, and count returns within 24 and 34 min."""
    set_quiet_flag(quiet)
    with run_cli_errors(), show_warnings():
        from kinflux.kinetic.studies.reports import robustness_run

        src = _source(model, steady_state, profile, generator_run, seed, turnover_of)
        if float(src.problem.partition) != validity_partition:
            src.problem = src.problem.with_partition(validity_partition)
        res = robustness_run(
            out,
            src,
            n_models=n,
            force=force,
            config={
                "model": model,
                "steady_state": steady_state,
                "profile": profile,
                "turnover_of": turnover_of,
                "validity_partition": validity_partition,
            },
            fraction=perturbation,
            tolerance=tolerance,
            t_end=t_end,
            n_times=n_times,
            rtol=rtol,
            time_limit=time_limit,
            batch_size=batch_size,
            max_active=max_active,
            seed=seed,
            n_jobs=n_jobs,
            progress=not quiet,
        )
    sh = res.shares()
    t = Table(title=f"Returned within tolerance {tolerance:.0%} (% of {res.n_models} models)")
    t.add_column("group")
    for c in sh.columns:
        t.add_column(c, justify="right")
    for g, row in sh.iterrows():
        t.add_row(str(g), *(f"{v:.1f}" for v in row))
    console.print(t)
    console.print(
        f"timed out: {res.timed_out}, failed: {res.failed}, "
        f"{res.models_per_second:.2f} models/s; written {out}"
    )


@app.command("bioreactor")
def bioreactor(
    model: str = MODEL,
    steady_state: str = STEADY,
    profile: int = PROFILE,
    generator_run: Path | None = GENERATOR,
    reactor: str = typer.Option(
        "auto",
        help="Reactor file (bundled name or path); auto: anthranilate_bioreactor for the "
        "anthranilate model, else single_species_reactor.",
    ),
    n: int = typer.Option(100, "--n", "-n", min=1, help="Valid models to simulate."),
    t_end: float = typer.Option(60.0, parser=positive, help="Horizon, h."),
    n_times: int = typer.Option(1000, min=2, help="Output points."),
    medium: str = typer.Option("file", help="Initial medium: file or steady_state."),
    growth: str = typer.Option("flux", help="Growth rule: flux or skimpy (see docs)."),
    time_limit: float = typer.Option(300.0, parser=positive, help="Wall-time limit per model, s."),
    batch_size: int = typer.Option(32, min=1, help="Models integrated together."),
    n_jobs: int = JOBS,
    seed: int = SEED,
    out: Path = typer.Option(Path("runs/bioreactor"), "--out", "-o", help="Run folder."),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Simulate valid models in a batch reactor (biomass, glucose, anthranilate in g/L;
    simulated ranges only, no measured data)."""
    set_quiet_flag(quiet)
    with run_cli_errors(), show_warnings():
        from kinflux.kinetic.studies.bioreactor import Bioreactor
        from kinflux.kinetic.studies.reports import bioreactor_run

        src = _source(model, steady_state, profile, generator_run, seed)
        if reactor == "auto":
            anth = "anthranilate" in src.problem.model.source
            reactor = "anthranilate_bioreactor" if anth else "single_species_reactor"
        res = bioreactor_run(
            out,
            src,
            Bioreactor.from_yaml(reactor),
            n_models=n,
            force=force,
            seed=seed,
            config={"model": model, "steady_state": steady_state, "profile": profile},
            t_end=t_end,
            n_times=n_times,
            medium=medium,
            growth=growth,
            time_limit=time_limit,
            batch_size=batch_size,
            n_jobs=n_jobs,
            progress=not quiet,
        )
    t = Table(title=f"Batch reactor, final values at {t_end:g} h (g/L, simulated)")
    for c in ("quantity", "initial", "min", "median", "max", "finished"):
        t.add_column(c, justify="right")
    for q, row in res.summary().iterrows():
        t.add_row(str(q), *(f"{v:.4g}" for v in row))
    console.print(t)
    console.print(f"status: {dict(Counter(res.status))}")
    console.print(f"written {out}")


@app.command("integrate-km")
def integrate_km(
    model: str = typer.Option("kin_varma", help="Kinetic model: bundled name or YAML path."),
    steady_state: str = typer.Option(
        "tfa_reference_strain_1", "--steady-state", help="TFA csv or .npz."
    ),
    profile: int = PROFILE,
    measured_from: str = typer.Option(
        "varma_strain_1", help="Parameterized model whose Km stand for measured values."
    ),
    known_km: Path | None = typer.Option(
        None, "--known-km", help="CSV of measured Km (columns km_name, value_mM) instead."
    ),
    pathway: str = typer.Option("tca", help="Km set: tca, or 'all' known Km."),
    splits: int = typer.Option(10, min=1, help="Random splits."),
    spread: float = typer.Option(0.2, help="Fixed and measured range: value x (1 +- spread)."),
    integration: str = typer.Option(
        "saturation",
        help="saturation (kinflux: fix the integrated Km and draw the others in their "
        "ln(Km/S) range) or fix (published: fix the integrated Km only).",
    ),
    saturation_margin: float = typer.Option(
        1.0, min=0.0, help="ln units added on each side of the saturation range."
    ),
    generations: int = typer.Option(40, min=0, help="Generator updates per training."),
    population: int = typer.Option(20, min=2, help="Members per generation."),
    n_models: int = typer.Option(100, min=1, help="Km sets per member."),
    n_generate: int = typer.Option(1000, min=10, help="Sets drawn per trained generator."),
    seed: int = SEED,
    n_jobs: int = JOBS,
    out: Path = typer.Option(Path("runs/integrate_km"), "--out", "-o", help="Run folder."),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Train generators with and without measured Km (fixed to their value +-20 %, and by
    default also setting the saturation range of the other Km); report the overlap score
    of held-out Km and the incidence. Defaults: 40 updates x 20 members x 100 sets per
    training (about 40 s each on one core)."""
    set_quiet_flag(quiet)
    with run_cli_errors(), show_warnings():
        from kinflux.datasets import kinetic_model_path
        from kinflux.kinetic.problem import KineticProblem
        from kinflux.kinetic.studies import km_integration as ki
        from kinflux.kinetic.studies.reports import km_integration_run

        m = load_model(model)
        problem = KineticProblem(m, load_steady_state(m, steady_state, profile))
        names = ki.pathway_km(problem) if pathway == "tca" else list(problem.km_names)
        if known_km is not None:
            known = {k: v for k, v in ki.read_known_km_csv(known_km).items() if k in names}
        else:
            p = Path(measured_from)
            src = p if p.exists() else kinetic_model_path(measured_from)
            known = ki.known_km_from_model(src, names, problem.scaling.concentration)
        tab, _ = km_integration_run(
            out,
            problem,
            known,
            force=force,
            n_splits=splits,
            spread=spread,
            integration=integration,
            saturation_margin=saturation_margin,
            generator_options={
                "generations": generations,
                "population": population,
                "n_models": n_models,
                "update": "improved",
            },
            n_generate=n_generate,
            seed=seed,
            n_jobs=n_jobs,
            progress=not quiet,
        )
    t = Table(title=f"Integration of {len(known)} measured Km ({splits} splits)")
    for c in ("", "with", "without"):
        t.add_column(c, justify="right")
    t.add_row("held-out OS", f"{tab.os_with.mean():.3f}", f"{tab.os_without.mean():.3f}")
    t.add_row(
        "incidence", f"{tab.incidence_with.mean():.3f}", f"{tab.incidence_without.mean():.3f}"
    )
    console.print(t)
    console.print(f"written {out}")
