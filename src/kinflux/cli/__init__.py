"""The ``kinflux`` command line: one Typer app with ``flux`` and ``kinetic`` sub-apps.

The CLI only parses arguments, calls the library and prints; all work lives in
:mod:`kinflux.flux` and :mod:`kinflux.kinetic`.
"""

from __future__ import annotations

import typer

from kinflux import __version__
from kinflux.cli import kinetic_sampling  # noqa: F401  (registers sample-* commands)
from kinflux.cli.common import run_cli_errors
from kinflux.cli.flux import app as flux_app
from kinflux.cli.kinetic import app as kinetic_app

app = typer.Typer(
    name="kinflux",
    help="Trainable metabolic networks: neural-mechanistic flux models and kinetic models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(flux_app, name="flux")
app.add_typer(kinetic_app, name="kinetic")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"kinflux {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """kinflux — make metabolic networks trainable."""


@app.command()
def demo(
    out: str = typer.Option("runs/demo", help="Run folder for the demo's outputs."),
) -> None:
    """Short end-to-end job on bundled data (e_coli_core training set)."""
    from kinflux.cli.demo import run_demo

    with run_cli_errors():
        run_demo(out)


__all__ = ["app"]
