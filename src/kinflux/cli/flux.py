"""``kinflux flux ...`` commands (flux-balance networks and AMNs)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import console, run_cli_errors

app = typer.Typer(help="Flux-balance networks, training sets and AMNs.", no_args_is_help=True)


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


@app.command()
def info(
    model: str = typer.Argument(..., help="Bundled name (e_coli_core, iJO1366) or SBML/JSON file."),
) -> None:
    """Sizes of a model and of its split (irreversible) network."""
    from kinflux.flux.network import Network

    with run_cli_errors():
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
    size: int = typer.Option(1000, min=1, help="Number of growing media to keep."),
    mode: str = typer.Option("UB", help="UB: X = medium bounds; EB: X = pFBA uptakes."),
    seed: int = typer.Option(0, help="Seed of the media drawing."),
    experimental: Path = typer.Option(
        None, help="0/1 experimental media CSV (e.g. iML1515_EXP) to draw around."
    ),
    jobs: int = typer.Option(1, min=1, help="Worker processes."),
    out: Path = typer.Option(..., help="Output .npz file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
) -> None:
    """Build a pFBA training set: media drawn from a guide, all split fluxes."""
    from kinflux.datasets import medium_guide_path
    from kinflux.flux.dataset import build_training_set
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network
    from kinflux.io import check_output

    with run_cli_errors():
        check_output(out, force=force)  # fail before any work
        net = Network.load(model)
        g = MediumGuide.from_csv(guide or medium_guide_path(net.name))
        base = g.base_media_from_csv(experimental) if experimental else None
        ts = build_training_set(
            net, g, size, mode=mode, seed=seed, base_media=base, n_jobs=jobs, progress=True
        )
        ts.save(out, force=force)
    console.print(summary_table(ts.summary(), ts.seconds, f"{net.name} -> {out}"))


@app.command()
def train(
    data: Path = typer.Option(..., help="Training set .npz from `kinflux flux dataset`."),
    arch: str = typer.Option("AMN-QP", help="ANN-Dense, ANN-SV, AMN-QP, AMN-LP, AMN-UB, AMN-W."),
    out: Path = typer.Option(..., help="Run folder (metrics.csv, model.pt, plots)."),
    folds: int = typer.Option(5, min=0, help="Cross-validation folds (0 = none)."),
    test: Path = typer.Option(None, help="Independent test set .npz."),
    model: str = typer.Option(None, help="Model of the training set (default: from its metadata)."),
    epochs: int = typer.Option(200, min=1),
    hidden: str = typer.Option("500", help="Hidden sizes of the prior, comma separated."),
    dropout: float = typer.Option(0.25),
    n_iter: int = typer.Option(None, help="Mechanistic iterations per forward pass."),
    reference: str = typer.Option("all", help="'all', 'growth' or comma-separated flux ids."),
    lr: float = typer.Option(3e-3),
    batch_size: int = typer.Option(64),
    seed: int = typer.Option(0),
    threads: int = typer.Option(
        1, min=1, help="torch CPU threads (1 is fastest for these small dense networks)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing run folder."),
) -> None:
    """Train an AMN (or ANN baseline): CV metrics, final model, parity plots."""
    import torch

    from kinflux.flux.runs import TrainSpec, train_run

    torch.set_num_threads(threads)

    spec = TrainSpec(
        data=data,
        arch=arch,
        folds=folds,
        test=test,
        model=model,
        epochs=epochs,
        hidden=tuple(int(h) for h in hidden.split(",") if h),
        dropout=dropout,
        n_iter=n_iter,
        reference=reference if reference in ("all", "growth") else reference.split(","),
        lr=lr,
        batch_size=batch_size,
        seed=seed,
    )
    with run_cli_errors():
        metrics = train_run(spec, out, force=force, progress=True)
    table = Table(title=f"{arch} on {data.name} -> {out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    console.print(table)


@app.command()
def predict(
    model_file: Path = typer.Option(..., "--model-file", help="model.pt from `flux train`."),
    data: Path = typer.Option(..., help="Media: a training-set .npz or a CSV of inflow columns."),
    out: Path = typer.Option(..., help="Output CSV of predicted split fluxes."),
    model: str = typer.Option(None, help="Metabolic model (default: the one it was trained on)."),
    knockout: str = typer.Option(None, help="Comma-separated reaction ids to knock out."),
    project: bool = typer.Option(
        None,
        "--project/--no-project",
        help="Move each prediction to the closest exactly feasible flux distribution "
        "(weighted L1, HiGHS LP); default: on with --knockout, off otherwise.",
    ),
    force: bool = typer.Option(False, "--force"),
) -> None:
    """Predict all fluxes for media with a trained AMN (optionally a knockout mutant).

    A knockout prediction is projected onto the mutant's feasible set by default, so a
    lethal knockout predicts zero growth; compare it with `--project` wild-type runs.
    """
    from kinflux.flux.runs import predict_file

    with run_cli_errors():
        df = predict_file(
            model_file,
            data,
            out,
            model=model,
            knockout=knockout.split(",") if knockout else None,
            force=force,
            project=project,
        )
    console.print(f"{len(df)} predictions -> {out}")
