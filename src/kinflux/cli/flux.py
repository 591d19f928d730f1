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
