"""``kinflux flux reservoir ...``: the reservoir on measured growth (EXP110) and its baselines."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import console, run_cli_errors

app = typer.Typer(
    help="Reservoir computing on measured growth: frozen AMN + uptake head, with baselines.",
    no_args_is_help=True,
)


@app.command()
def fit(
    experiments: str = typer.Option("EXP110", help="'EXP110' (bundled) or an experiment CSV."),
    model: str = typer.Option("iJO1366", help="Metabolic model with a bundled medium guide."),
    folds: int = typer.Option(10, min=2, help="Cross-validation folds."),
    repeats: int = typer.Option(3, min=1, help="Repeats of the k-fold split (seeds 0..n-1)."),
    out: Path = typer.Option(..., help="Run folder."),
    cache: Path = typer.Option(
        None, help="Folder caching the frozen AMN (default: frozen/ in the run folder)."
    ),
    frozen_arch: str = typer.Option("ANN-Dense", help="Architecture of the frozen AMN."),
    frozen_epochs: int = typer.Option(
        None, min=1, help="Epochs of the frozen AMN (default: the AMN's, 200)."
    ),
    recipe: str = typer.Option(
        "kinflux",
        help="Head recipe: 'kinflux' (head also sets the fixed carbon sources, 10 heads "
        "averaged, 150 epochs) or 'published' (Faure et al. 2023).",
    ),
    epochs: int = typer.Option(None, min=1, help="Epochs of the uptake head (recipe's)."),
    batch_size: int = typer.Option(None, min=1, help="Batch size of the uptake head (5)."),
    lr: float = typer.Option(None, help="Learning rate of the uptake head (1e-4)."),
    heads: int = typer.Option(None, min=1, help="Heads averaged per fit (recipe's)."),
    constraint_weight: float = typer.Option(
        None, help="Weight of the frozen AMN's constraint residuals in the head's loss (0)."
    ),
    models: str = typer.Option(
        "all",
        help="Comma-separated subset of: reservoir, fba_predicted_bounds, ols, gbm, "
        "rf, ann, fba_scaled, fba_fitted.",
    ),
    fba_network: str = typer.Option("active", help="'active' subnetwork or 'full' network."),
    jobs: int = typer.Option(1, min=1, help="Worker processes for the folds."),
    force: bool = typer.Option(False, "--force", help="Replace an existing run folder."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
) -> None:
    """Fit the reservoir and every baseline on the same folds; write table, plots, bounds."""
    with run_cli_errors():
        from kinflux.flux.reservoir_study import MODELS, run_reservoir_study

        chosen = MODELS if models == "all" else tuple(m.strip() for m in models.split(","))
        table = run_reservoir_study(
            out,
            experiments=experiments,
            model=model,
            folds=folds,
            repeats=repeats,
            cache=cache,
            frozen_params={
                "arch": frozen_arch,
                "n_threads": 1,
                **({"epochs": frozen_epochs} if frozen_epochs else {}),
            },
            recipe=recipe,
            reservoir_params={
                k: v
                for k, v in {
                    "epochs": epochs,
                    "batch_size": batch_size,
                    "lr": lr,
                    "n_heads": heads,
                    "constraint_weight": constraint_weight,
                }.items()
                if v is not None
            },
            models=chosen,
            fba_network=fba_network,
            n_jobs=jobs,
            force=force,
            resume=resume,
            progress=True,
        )
    view = Table(title=f"growth on {experiments} -> {out}")
    for col in ("model", "Q2", "Q2_sd", "Q2_avg", "R2_train"):
        view.add_column(col, justify="left" if col == "model" else "right")
    for row in table.itertuples(index=False):
        view.add_row(
            row.model, *(f"{getattr(row, c):.4f}" for c in ("Q2", "Q2_sd", "Q2_avg", "R2_train"))
        )
    console.print(view)


@app.command()
def predict(
    run: Path = typer.Option(..., help="Run folder of `kinflux flux reservoir fit`."),
    media: Path = typer.Option(..., help="CSV: one 0/1 column per variable compound."),
    out: Path = typer.Option(None, help="Output CSV (default: print)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
) -> None:
    """Growth and uptake bounds for new compositions (bounds usable as a COBRApy medium)."""
    with run_cli_errors():
        from kinflux.flux.reservoir_study import predict_from_run
        from kinflux.io import atomic_write, check_output

        if out is not None:
            check_output(out, force=force)
        df = predict_from_run(run, media)
        if out is not None:
            with atomic_write(out, "w") as fh:
                df.to_csv(fh)
    if out is None:
        console.print(df[["growth", "fba_growth"]].to_string())
    else:
        console.print(f"{len(df)} media -> {out}")
