"""``kinflux flux ...`` commands (flux-balance networks, training sets and AMNs).

The ``train`` options are generated from the AMN hyper-parameter table
(:mod:`kinflux.flux.hyperparameters`), so they cannot drift from ``AMN.get_params()``.
"""

from __future__ import annotations

import inspect
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from kinflux.cli.common import (
    Backend,
    console,
    run_cli_errors,
    set_quiet_flag,
    show_warnings,
    writable,
)
from kinflux.flux.hyperparameters import HYPERPARAMETERS

app = typer.Typer(help="Flux-balance networks, training sets and AMNs.", no_args_is_help=True)


class Mode(StrEnum):
    """Training-set mode."""

    UB = "UB"
    EB = "EB"


def _enum(name: str, values: tuple[str, ...]) -> type[Enum]:
    return StrEnum(name, {v: v for v in values})  # type: ignore[return-value]


def summary_table(summary: dict, seconds: float, title: str) -> Table:
    """Rich table of a training-set summary."""
    table = Table(title=title, show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("samples", "mode", "drawn", "infeasible", "zero_growth"):
        table.add_row(key, str(summary[key]))
    table.add_row("growth min (h^-1)", f"{summary['growth_min']:.4f}")
    table.add_row("growth mean (h^-1)", f"{summary['growth_mean']:.4f}")
    table.add_row("growth max (h^-1)", f"{summary['growth_max']:.4f}")
    table.add_row("seconds", f"{seconds:.2f}")
    return table


QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
FORCE = typer.Option(False, "--force", help="Replace an existing output.")


@app.command()
def info(
    model: str = typer.Argument(..., help="Bundled name (e_coli_core, iJO1366) or SBML/JSON file."),
) -> None:
    """Sizes of a model and of its split (irreversible) network."""
    with run_cli_errors():
        from kinflux.flux.network import Network

        net = Network.load(model)
    table = Table(title=f"{net.name}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("metabolites", str(net.n_metabolites))
    table.add_row("original reactions", str(len(net.original_reaction_ids)))
    table.add_row("split reactions", str(net.n_reactions))
    table.add_row("exchanges (inflow + outflow each)", str(len(net.exchange_ids)))
    table.add_row("objective", net.reaction_ids[net.objective_index])
    table.add_row("hash", net.hash[:16])
    console.print(table)


@app.command()
def dataset(
    model: str = typer.Option("e_coli_core", help="Bundled name or SBML/JSON model file."),
    guide: Path = typer.Option(None, help="Medium guide CSV (default: the model's bundled guide)."),
    size: int = typer.Option(1000, "--size", "--n", "-n", min=1, help="Growing media to keep."),
    mode: Mode = typer.Option(Mode.UB, help="UB: X = medium bounds; EB: X = pFBA uptakes."),
    seed: int = typer.Option(0, min=0, help="Seed of the media drawing (>= 0)."),
    experimental: Path = typer.Option(
        None, help="0/1 experimental media CSV (e.g. iML1515_EXP) to draw around."
    ),
    jobs: int = typer.Option(1, "--jobs", "--n-jobs", min=-1, help="Worker processes (-1: all)."),
    backend: Backend = typer.Option(Backend.local, help="Where workers run: local or ray."),
    address: str = typer.Option(None, help="Ray cluster address (e.g. auto)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .npz file."),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Build a pFBA training set: media drawn from a guide, all split fluxes."""
    set_quiet_flag(quiet)
    with run_cli_errors(), show_warnings():
        from kinflux import KinfluxError
        from kinflux.datasets import medium_guide_path
        from kinflux.flux.media import MediumGuide
        from kinflux.flux.network import Network
        from kinflux.flux.training_set import build_training_set

        if jobs == 0:
            raise KinfluxError("--jobs 0: give 1 or more workers, or -1 for one per CPU")
        writable(out, force)  # fail before any work
        net = Network.load(model)
        g = MediumGuide.from_csv(guide or medium_guide_path(net.name))
        base = g.base_media_from_csv(experimental) if experimental else None
        ts = build_training_set(
            net,
            g,
            size,
            mode=mode.value,
            seed=seed,
            base_media=base,
            n_jobs=jobs,
            backend=backend.value,
            address=address,
            progress=True,
        )
        ts.save(out, force=force)
    console.print(summary_table(ts.summary(), ts.seconds, f"{net.name} -> {out}"))


# ---------------------------------------------------------------------- train
def _hyperparameter_options() -> list[inspect.Parameter]:
    """One Typer option per CLI hyper-parameter of :class:`kinflux.flux.amn.AMN`."""
    params = []
    for h in HYPERPARAMETERS:
        if not h.cli:
            continue
        name = h.cli_name or h.name
        flag = "--" + name.replace("_", "-")
        kw: dict[str, Any] = {"help": h.help}
        default = h.default
        if h.choices:
            annotation: Any = _enum(h.name.title(), h.choices)
            default = annotation(default)
        elif h.name == "hidden":
            annotation, default = str, ",".join(str(x) for x in default)
        elif h.name == "reference":
            annotation = str
        elif isinstance(default, bool):
            annotation = bool
            flag = f"{flag}/--no-{name.replace('_', '-')}"
        elif h.optional:
            annotation = int | None
        else:
            annotation = type(default)
        if h.low is not None and not isinstance(default, bool) and not h.choices:
            kw["min"] = h.low
        if h.high is not None and not h.choices:
            kw["max"] = h.high
        option = typer.Option(default, flag, **kw)
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
            )
        )
    return params


def _train(
    data: Path,
    out: Path,
    folds: int,
    test: Path | None,
    model: str | None,
    force: bool,
    resume: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Train an AMN (or ANN baseline): CV metrics, final model, parity plots."""
    set_quiet_flag(quiet)
    hyper = {}
    for h in HYPERPARAMETERS:
        if h.cli:
            v = options[h.cli_name or h.name]
            hyper[h.name] = getattr(v, "value", v)
    ref = hyper["reference"]
    if ref not in ("all", "growth"):
        hyper["reference"] = [r.strip() for r in ref.split(",") if r.strip()]
    with run_cli_errors(), show_warnings():
        from kinflux.flux.hyperparameters import check_hyperparameters
        from kinflux.flux.runs import train_run

        hyper = check_hyperparameters(hyper)
        writable(out, force or resume, folder=True)
        metrics = train_run(
            data,
            out,
            folds=folds,
            test=test,
            model=model,
            force=force,
            resume=resume,
            progress=True,
            **hyper,
        )
    table = Table(title=f"{hyper['arch']} on {data.name} -> {out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    console.print(table)


def _train_command() -> None:
    fixed = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=o, annotation=a)
        for n, a, o in (
            (
                "data",
                Path,
                typer.Option(..., help="Training set .npz from `kinflux flux dataset`."),
            ),
            (
                "out",
                Path,
                typer.Option(..., "--out", "-o", help="Run folder (metrics, model, plots)."),
            ),
            (
                "folds",
                int,
                typer.Option(5, min=0, help="Cross-validation folds: 0 = none, or >= 2."),
            ),
            ("test", Path | None, typer.Option(None, help="Independent test set .npz.")),
            (
                "model",
                str | None,
                typer.Option(None, help="Model of the training set (default: its metadata)."),
            ),
            ("force", bool, FORCE),
            ("resume", bool, typer.Option(False, "--resume", help="Continue an interrupted run.")),
            ("quiet", bool, QUIET),
        )
    ]

    def train(**kwargs: Any) -> None:
        _train(**kwargs)

    params = fixed + _hyperparameter_options()
    train.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    train.__annotations__ = {p.name: p.annotation for p in params}
    train.__doc__ = _train.__doc__
    app.command(name="train")(train)


_train_command()


@app.command()
def predict(
    model_file: Path = typer.Option(..., "--model-file", help="model.pt from `flux train`."),
    data: Path = typer.Option(..., help="Media: a training-set .npz or a CSV of inflow columns."),
    out: Path = typer.Option(..., "--out", "-o", help="Output CSV of predicted split fluxes."),
    model: str = typer.Option(None, help="Metabolic model (default: the one it was trained on)."),
    knockout: str = typer.Option(None, help="Comma-separated reaction ids to knock out."),
    project: bool = typer.Option(
        None,
        "--project/--no-project",
        help="Move each prediction to the closest exactly feasible flux distribution "
        "(weighted L1, HiGHS LP); default: on with --knockout, off otherwise.",
    ),
    force: bool = FORCE,
    quiet: bool = QUIET,
) -> None:
    """Predict all fluxes for media with a trained AMN (optionally a knockout mutant).

    A knockout prediction is projected onto the mutant's feasible set by default, so a
    lethal knockout predicts zero growth; compare it with `--project` wild-type runs.
    """
    set_quiet_flag(quiet)
    with run_cli_errors(), show_warnings():
        from kinflux.flux.runs import predict_file

        writable(out, force)
        ids = [k.strip() for k in knockout.split(",") if k.strip()] if knockout else None
        df = predict_file(
            model_file,
            data,
            out,
            model=model,
            knockout=ids,
            force=force,
            project=project,
            progress=True,
        )
    console.print(f"{len(df)} predictions -> {out}")


from kinflux.cli.reservoir import app as reservoir_app  # noqa: E402

app.add_typer(reservoir_app, name="reservoir")
