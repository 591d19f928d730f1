"""``kinflux kinetic ...`` commands (kinetic models): ``info`` and ``simulate``.

The sub-app :data:`app` also carries the commands of :mod:`kinflux.cli.kinetic_sampling`
and the generator commands. Thin: parse, call :mod:`kinflux.kinetic`, print.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import (  # noqa: F401  (re-exported for the kinetic commands)
    console,
    err_console,
    run_cli_errors,
    set_quiet_flag,
    show_warnings,
)

app = typer.Typer(
    help="Kinetic models: load, inspect, simulate, parameterize.", no_args_is_help=True
)


class SmallMolecules(StrEnum):
    """How modifier-only small molecules (h_c) are treated."""

    dynamic = "dynamic"
    constant = "constant"


class Method(StrEnum):
    """Stiff ODE integrators of SciPy."""

    LSODA = "LSODA"
    BDF = "BDF"
    Radau = "Radau"


def positive(value: str | float) -> float:
    """Option parser: a finite number > 0."""
    try:
        x = float(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a number") from None
    if not (math.isfinite(x) and x > 0):
        raise typer.BadParameter(f"{value!r} must be a finite number > 0")
    return x


def open_fraction(value: str | float) -> float:
    """Option parser: a number strictly between 0 and 1."""
    x = positive(value)
    if not x < 1:
        raise typer.BadParameter(f"{value!r} must be between 0 and 1 (exclusive)")
    return x


QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
FORCE = typer.Option(False, "--force", help="Replace an existing output (only on success).")
SEED = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same numbers).")
ACCEPT_RESIDUAL = typer.Option(
    False,
    "--accept-residual",
    help="Use a profile whose mass-balance residual exceeds 1e-6 (a warning shows it).",
)


def kinetic_file(name_or_path: str | Path) -> Path:
    """A file path if it exists, else a bundled kinetic file name (``kin_varma`` ...)."""
    p = Path(name_or_path)
    if p.exists():
        return p
    from kinflux import KinfluxError
    from kinflux.datasets import kinetic_model_path

    try:
        return kinetic_model_path(str(name_or_path))
    except KinfluxError as exc:
        raise KinfluxError(f"{p}: no such file, and not a bundled kinetic file ({exc})") from None


def load_model(name_or_path: str | Path, small_molecules: str = "dynamic"):  # noqa: ANN201
    """A :class:`~kinflux.kinetic.model.KineticModel` from a bundled name or a YAML path."""
    from kinflux.kinetic.model import KineticModel

    m = KineticModel.from_yaml(kinetic_file(name_or_path), small_molecules=small_molecules)
    if m.name in ("", "Unnamed"):
        m.name = Path(m.source).stem
    return m


def load_steady_state(model, source: str, profile: int, accept_residual: bool = False):  # noqa: ANN001, ANN201
    """A checked steady state: TFA csv (bundled name or path, row ``profile``) or a
    ``sample-steady-states`` .npz (profile ``profile``); refuses a profile that is not a
    steady state unless ``accept_residual``."""
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.steady import SteadyState

    ss = SteadyState.load(kinetic_file(source), model, profile=profile)
    KineticProblem(model, ss, accept_residual=accept_residual)  # residual, signs, finiteness
    return ss


@app.command()
def info(
    model: str = typer.Argument(..., help="Kinetic model: bundled name or SKiMpy YAML file."),
    small_molecules: SmallMolecules = typer.Option(
        SmallMolecules.dynamic, help="Modifier-only small molecules: dynamic (SKiMpy) or constant."
    ),
) -> None:
    """Counts of reactants, reactions, parameters by kind and conserved moieties."""
    with run_cli_errors():
        m = load_model(model, small_molecules.value)
        s = m.summary()
    t = Table(title=f"{Path(m.source).name} ({s['name']})")
    t.add_column("item")
    t.add_column("value")
    for k in (
        "species",
        "variables",
        "constants",
        "boundary",
        "reactions",
        "parameters",
        "parameters_unknown",
        "moieties",
        "independent",
    ):
        t.add_row(k, str(s[k]))
    for k, v in s["parameters_by_kind"].items():
        t.add_row(f"  parameters: {k}", str(v))
    for k, v in s["mechanisms"].items():
        t.add_row(f"  mechanism: {k}", str(v))
    t.add_row("dependent", ", ".join(s["dependent"]))
    t.add_row("modifier-only small molecules", ", ".join(s["modifier_only_small_molecules"]))
    for mo in m.moieties():
        t.add_row("  moiety", " + ".join(f"{c:g} {k}" if c != 1 else k for k, c in mo.items()))
    console.print(t)


@app.command()
def simulate(
    model: str = typer.Argument(
        ..., help="Parameterized kinetic model: bundled name (varma_strain_1) or YAML file."
    ),
    params: Path = typer.Option(
        None, "--params", help="Parameter YAML {name: value} over the model's own values."
    ),
    steady_state: str = typer.Option(
        "tfa_reference_strain_1",
        "--steady-state",
        help="TFA profile csv (bundled name or path) or a sample-steady-states .npz.",
    ),
    profile: int = typer.Option(0, min=0, help="Row of the csv / profile of the .npz."),
    perturb: float = typer.Option(
        0.1,
        parser=open_fraction,
        help="Relative perturbation.",
    ),
    n: int = typer.Option(3, "--n", "-n", min=1, max=1000, help="Perturbed initial states."),
    t_end: float = typer.Option(1.0, "--t-end", parser=positive, help="End time, h."),
    n_times: int = typer.Option(100, "--n-times", min=2, help="Output times."),
    method: Method = typer.Option(Method.LSODA, help="Stiff ODE integrator."),
    max_seconds: float = typer.Option(
        60.0, "--max-seconds", parser=positive, help="Wall-time limit per trajectory, s."
    ),
    seed: int = SEED,
    accept_residual: bool = ACCEPT_RESIDUAL,
    out: Path = typer.Option(
        ..., "--out", "-o", help="Run folder: trajectories.npz, summary.json, trajectories.png."
    ),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Integrate perturbed states back towards the steady state; write the trajectories
    and a figure. Failed or timed-out trajectories end the command with an error and
    nothing written."""
    set_quiet_flag(quiet)
    with run_cli_errors(), show_warnings():
        from kinflux.io import write_json
        from kinflux.kinetic.io.parameters import read_parameter_yaml
        from kinflux.kinetic.simulation import SimulationError, simulate
        from kinflux.plots.kinetic import simulation_figure
        from kinflux.runs import RunFolder

        config = {k: str(v) if isinstance(v, Path) else v for k, v in locals().items()}
        config = {k: v for k, v in config.items() if k in _SIM_KEYS}
        with RunFolder(out, config=config, force=force) as run:
            m = load_model(model)
            ss = load_steady_state(m, steady_state, profile, accept_residual)
            p = read_parameter_yaml(params, m) if params is not None else m.default_parameters()
            p = ss.fill_constants(p)
            sim = simulate(
                m,
                ss,
                p,
                perturb=perturb,
                n=n,
                t_end=t_end,
                n_times=n_times,
                method=method.value,
                seed=seed,
                max_seconds=max_seconds,
                progress=True,
            )
            console.print(f"lambda_max at the steady state: {sim.lambda_max:.4g} h^-1")
            if sim.failures:
                for i in sim.failures:
                    err_console.print(f"trajectory {i}: {sim.messages[i]}", highlight=False)
                raise SimulationError(
                    f"{len(sim.failures)} of {n} trajectories failed; nothing written"
                )
            sim.save(run.file("trajectories.npz"))
            write_json(
                run.file("summary.json"),
                {
                    "lambda_max_per_h": sim.lambda_max,
                    "final_max_rel_deviation": sim.final_deviation(),
                    "messages": sim.messages,
                },
            )
            simulation_figure(sim, run.file("trajectories.png"))
        console.print(
            f"max |x/x_ss - 1| at t = {t_end:g} h: {sim.final_deviation():.3g}; wrote {out}"
        )


_SIM_KEYS = (
    "model",
    "params",
    "steady_state",
    "profile",
    "perturb",
    "n",
    "t_end",
    "n_times",
    "method",
    "max_seconds",
    "seed",
    "accept_residual",
)
