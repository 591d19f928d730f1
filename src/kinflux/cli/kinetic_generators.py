"""``kinflux kinetic train-generator`` and ``kinflux kinetic generate`` (RENAISSANCE).

Registered on the ``kinetic`` sub-app of :mod:`kinflux.cli.kinetic`. Thin: parse, build
the :class:`~kinflux.kinetic.problem.KineticProblem`, call
:mod:`kinflux.kinetic.generator_runs`, print.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import Backend, console, run_cli_errors
from kinflux.cli.kinetic import app, positive

__all__ = ["app"]


def _path_or_bundled(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.exists():
        return p
    from kinflux.datasets import kinetic_model_path

    return kinetic_model_path(name_or_path)


def build_problem(
    model: str,
    steady_state: str,
    profile: int | str,
    partition: float,
    km_low: float,
    km_high: float,
):  # noqa: ANN201
    """The KineticProblem for a model (bundled name or YAML) and a profile (TFA csv or a
    ``sample-steady-states`` .npz, bundled name or path). ``profile="turnover"`` (.npz
    only) picks the profile whose slowest cytosolic pool turns over fastest."""
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.steady import SteadyState

    m = KineticModel.from_yaml(_path_or_bundled(model))
    if m.name in ("", "Unnamed"):
        m.name = Path(m.source).stem
    p = _path_or_bundled(steady_state)
    if p.suffix == ".npz":
        from kinflux.kinetic.sampling import SteadyStateSamples

        samples = SteadyStateSamples.load(p, m)
        if profile == "turnover":
            from kinflux.kinetic.studies.reports import fastest_turnover_profile

            profile = fastest_turnover_profile(m, samples)
        ss = samples.steady_state(int(profile))
    else:
        if profile == "turnover":
            from kinflux import KinfluxError

            raise KinfluxError(
                f"{p}: --profile turnover chooses among sampled profiles; give a "
                "sample-steady-states .npz or a row number"
            )
        ss = SteadyState.from_tfa_csv(p, m, row=int(profile))
    return KineticProblem(m, ss, km_bounds_molar=(km_low, km_high), partition=partition)


def _profile(value: str) -> int | str:
    """``--profile``: a non-negative row number or ``turnover``."""
    if value == "turnover":
        return value
    try:
        row = int(value)
        if row < 0:
            raise ValueError
    except ValueError:
        from kinflux import KinfluxError

        raise KinfluxError(
            f"--profile {value!r}: give a row number (0, 1, ...) or 'turnover'"
        ) from None
    return row


class Reward(StrEnum):
    """Rewards of the evolution strategy (:mod:`kinflux.kinetic.rewards`)."""

    incidence = "incidence"
    fastest = "fastest"


class Update(StrEnum):
    """Update rules (:mod:`kinflux.kinetic.nes`)."""

    improved = "improved"
    published = "published"


class OutputMap(StrEnum):
    """Maps of the generator's output into the Km bounds."""

    sigmoid = "sigmoid"
    published = "published"


def known_ranges(
    fix_km: list[str], known_km: Path | None, spread: float
) -> dict[str, tuple[float, float]]:
    """Fixed Km ranges (mol/L) from ``--fix-km`` and ``--known-km`` (the former wins)."""
    from kinflux.kinetic.known_km import fixed_ranges, parse_fixed_km, read_known_km_csv

    out = fixed_ranges(read_known_km_csv(known_km), spread) if known_km else {}
    out.update(parse_fixed_km(fix_km))
    return out


@app.command("train-generator")
def train_generator(
    model: str = typer.Option("varma_strain_1", help="Kinetic model: bundled name or YAML."),
    steady_state: str = typer.Option(
        "tfa_reference_strain_1",
        "--steady-state",
        help="TFA profile csv or sample-steady-states .npz (bundled name or path).",
    ),
    profile: str = typer.Option(
        "0",
        help="Row of the csv / profile of the .npz, or 'turnover': of the .npz's profiles, "
        "the one whose slowest cytosolic pool turns over fastest.",
    ),
    reward: Reward = typer.Option(Reward.incidence, help="Reward of the evolution strategy."),
    update: Update = typer.Option(
        Update.improved, help="improved (rank shaping; default) or published (evostra rule)."
    ),
    generations: int = typer.Option(50, min=1, help="Generations (updates)."),
    repeats: int = typer.Option(10, min=1, help="Independent trainings."),
    population: int = typer.Option(20, min=2, help="Members per generation."),
    n_models: int = typer.Option(100, "--n-models", min=1, help="Models per member."),
    sigma: float = typer.Option(0.01, parser=positive, help="Perturbation scale."),
    learning_rate: float | None = typer.Option(
        None, parser=positive, help="Step size (default per rule)."
    ),
    output_map: OutputMap = typer.Option(
        OutputMap.sigmoid, help="sigmoid (per sample, default) or published (batch min-max)."
    ),
    partition: float = typer.Option(-2.5, help="lambda_max partition, h^-1."),
    km_low: float = typer.Option(
        math.exp(-25.0), parser=positive, help="Lower Km bound, mol/L (e^-25)."
    ),
    km_high: float = typer.Option(
        math.exp(3.0), parser=positive, help="Upper Km bound, mol/L (e^3)."
    ),
    fix_km: list[str] = typer.Option(
        [], "--fix-km", help="Known Km range NAME:LOW:HIGH in mM (repeatable)."
    ),
    known_km: Path | None = typer.Option(
        None, "--known-km", help="CSV of known Km (columns km_name, value_mM)."
    ),
    known_spread: float = typer.Option(
        0.2, min=0.0, max=0.99, help="Known Km fixed to value x (1 +- spread)."
    ),
    km_window: str | None = typer.Option(
        None,
        help="Keep every generated Km near its substrate's steady-state concentration S: "
        "W for ln(Km/S) in [-W, W] (6.9 = 1000-fold), or LOW:HIGH, e.g. -6.9:0 "
        "(S/1000 to S: every enzyme at least half saturated). Default: the whole Km box.",
    ),
    seed: int = typer.Option(0, min=0, help="Random seed; repeat r uses seed + r."),
    save_every: int = typer.Option(0, min=0, help="Keep parent weights every k generations."),
    out: Path = typer.Option(Path("runs/renaissance"), "--out", "-o", help="Run folder."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
    force: bool = typer.Option(False, "--force", help="Replace a finished run."),
    n_jobs: int = typer.Option(1, "--n-jobs", min=1, help="Evaluation workers."),
    backend: Backend = typer.Option(Backend.local, help="Where workers run: local or ray."),
    address: str | None = typer.Option(
        None, help="Ray cluster address (e.g. auto) for --backend ray."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train RENAISSANCE generators by natural evolution strategies into a run folder."""
    with run_cli_errors():
        from kinflux.kinetic.generator_runs import train_generators
        from kinflux.kinetic.known_km import FixedKmProblem, parse_km_window
        from kinflux.kinetic.renaissance import RenaissanceGenerator

        window = None if km_window is None else parse_km_window(km_window)
        problem = build_problem(model, steady_state, _profile(profile), partition, km_low, km_high)
        fixed = known_ranges(fix_km, known_km, known_spread)
        if fixed or window:
            problem = FixedKmProblem(problem, fixed, seed, saturation=window)
        est = RenaissanceGenerator(
            generations=generations,
            population=population,
            n_models=n_models,
            sigma=sigma,
            update=update.value,
            learning_rate=learning_rate,
            reward=reward.value,
            output_map=output_map.value,
            random_state=seed,
            n_jobs=n_jobs,
            backend=backend.value,
            address=address,
        )
        info = {"model": model, "steady_state": steady_state, "profile": profile}
        path = train_generators(
            problem,
            out,
            est,
            repeats=repeats,
            resume=resume,
            force=force,
            save_every=save_every,
            info=info,
            progress=not quiet,
        )
        import pandas as pd

        rep = pd.read_csv(path / "repeats.csv")
        t = Table(title=f"RENAISSANCE — {problem.model.name}, {update} rule")
        t.add_column("repeat", justify="right")
        t.add_column("final reward", justify="right")
        t.add_column("final incidence", justify="right")
        for r in rep.itertuples():
            t.add_row(str(r.repeat), f"{r.reward:.4f}", f"{r.incidence:.3f}")
        console.print(t)
        console.print(
            f"mean final incidence {rep.incidence.mean():.3f} (min {rep.incidence.min():.3f}) "
            f"at {partition:g} h^-1; run folder {path}"
        )


@app.command("generate")
def generate(
    run: Path = typer.Option(..., "--run", help="Finished train-generator run folder."),
    n: int = typer.Option(1000, "--n", help="Parameter sets."),
    out: Path = typer.Option(Path("parameter_sets.npz"), "--out", "-o", help="Output .npz."),
    repeat: int | None = typer.Option(None, help="Repeat to use (default: best final)."),
    seed: int = typer.Option(0, help="Noise seed."),
    chunk: int = typer.Option(50_000, help="Sets per chunk (memory)."),
    lambda_max: bool = typer.Option(
        False, "--lambda-max", help="Also compute lambda_max and validity."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --out."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Draw complete parameter sets (Km, Keq, vmax) from a trained generator."""
    with run_cli_errors():
        from kinflux.kinetic.generator_runs import generate_parameter_sets

        s = generate_parameter_sets(
            run,
            n,
            out,
            repeat=repeat,
            random_state=seed,
            chunk=chunk,
            with_lambda_max=lambda_max,
            force=force,
            progress=not quiet,
        )
        msg = f"{s['n']} parameter sets from repeat {s['repeat']} in {s['seconds']:.1f} s"
        if "incidence" in s:
            msg += f"; incidence {s['incidence']:.3f}"
        console.print(f"{msg}; written {s['out']}")
