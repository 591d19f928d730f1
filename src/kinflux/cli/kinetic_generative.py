"""``kinflux kinetic compare-generative``: GAN versus probabilistic PCA by latent size.

Registered on the ``kinetic`` sub-app of :mod:`kinflux.cli.kinetic`. Thin: parse, call
:func:`kinflux.kinetic.generative_study.generative_study`, print the table.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import console, run_cli_errors
from kinflux.cli.kinetic import app

__all__ = ["app", "parse_latents"]


def parse_latents(text: str) -> list[int]:
    """``"1-18"``, ``"2,4,8"`` or ``"1-4,8"`` -> sorted latent sizes; ``""`` -> none."""
    from kinflux import KinfluxError

    out: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            if "-" in part:
                a, b = (int(v) for v in part.split("-", 1))
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise KinfluxError(
                f"--latents '{text}': expected sizes like 1-18 or 2,4,8 (integers >= 1)"
            ) from None
    if any(q < 1 for q in out):
        raise KinfluxError(f"--latents '{text}': latent sizes must be >= 1")
    return sorted(out)


@app.command("compare-generative")
def compare_generative(
    problem: str = typer.Option(
        "kin_varma",
        help="Bundled problem (kin_varma, varma_strain_1) or 'anthranilate' (a sampled "
        "profile: the lowest ORACLE incidence >= 5 % among --profiles).",
    ),
    latents: str = typer.Option("1-18", help="Latent sizes for GAN and PPCA, e.g. 1-18 or 2,8."),
    epochs: int = typer.Option(25, help="GAN epochs per latent size (the poster: 20000)."),
    cgan_epochs: int = typer.Option(200, help="Conditional GAN epochs (0: no cGAN)."),
    cgan_latent: int = typer.Option(8, help="Conditional GAN latent size."),
    sets: int = typer.Option(5000, "--sets", help="ORACLE parameter sets (20 % held out)."),
    generated: int = typer.Option(1000, help="Sets drawn per model and checked (Jacobian)."),
    profiles: int = typer.Option(20, help="Anthranilate profiles probed."),
    seed: int = typer.Option(0, help="Seed of data, split and models."),
    threads: int = typer.Option(1, help="torch threads."),
    out: Path = typer.Option(Path("runs/gan_vs_ppca"), "--out", "-o", help="Run folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing run folder."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Generative baselines on ORACLE sets: KL (three estimators) and incidence of valid
    models for PPCA and the GAN by latent size, and a conditional GAN sampled "valid"."""
    with run_cli_errors():
        import torch

        from kinflux.kinetic.generative_study import anthranilate_problem, generative_study
        from kinflux.kinetic.problem import KineticProblem

        torch.set_num_threads(max(1, threads))
        if problem == "anthranilate":
            pb, table = anthranilate_problem(n_profiles=profiles, seed=seed)
            name = f"kin_varma_anthranilate/profile_{int(table[table.chosen].profile.iloc[0])}"
        else:
            pb, name = KineticProblem.bundled(problem), f"{problem}/strain_1"
        res = generative_study(
            pb,
            out,
            name=name,
            latents=parse_latents(latents),
            epochs=epochs,
            cgan_epochs=cgan_epochs,
            cgan_latent=cgan_latent,
            n_sets=sets,
            n_generated=generated,
            seed=seed,
            force=force,
            resume=resume,
            progress=not quiet,
        )
        t = Table(title=f"GAN vs PPCA — {name}")
        cols = ["model", "latent", "kl_joint", "kl_joint_reverse", "kl_marginal", "incidence"]
        for c in [*cols, "seconds"]:
            t.add_column(c, justify="left" if c == "model" else "right")
        for _, r in res.iterrows():
            t.add_row(
                str(r.model),
                str(int(r.latent)),
                *(f"{float(r[c]):.4g}" for c in cols[2:]),
                f"{float(r.seconds):.1f}",
            )
        console.print(t)
        console.print(f"written: {out}")
