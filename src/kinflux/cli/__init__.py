"""The ``kinflux`` command line: one Typer app with ``flux`` and ``kinetic`` sub-apps.

The CLI only parses arguments, calls the library and prints; all work lives in
:mod:`kinflux.flux` and :mod:`kinflux.kinetic`.
"""

from __future__ import annotations

import typer

import kinflux.cli.kinetic_generative  # noqa: F401  (registers compare-generative)
import kinflux.cli.kinetic_generators  # noqa: F401  (registers train-generator, generate)
import kinflux.cli.kinetic_studies  # noqa: F401  (registers robustness, bioreactor, integrate-km)
from kinflux import __version__
from kinflux.cli import kinetic_sampling  # noqa: F401  (registers sample-* commands)
from kinflux.cli.common import main_guard, run_cli_errors, set_debug
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
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bars (results and errors are still printed)."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show full Python tracebacks instead of one-line errors."
    ),
    threads: int = typer.Option(
        1, "--threads", min=1, help="torch threads in this process (1 is fastest here)."
    ),
) -> None:
    """kinflux — make metabolic networks trainable."""
    from kinflux.progress import set_quiet

    set_quiet(quiet)
    set_debug(debug)
    if threads:
        from kinflux.compute import set_threads

        set_threads(threads)


@app.command()
def demo(
    out: str = typer.Option("runs/demo", help="Run folder for the demo's outputs."),
) -> None:
    """Short end-to-end job on bundled data (e_coli_core training set)."""
    from kinflux.cli.demo import run_demo

    with run_cli_errors():
        run_demo(out)


def main() -> None:
    """Entry point of the ``kinflux`` script: the app under one error policy."""
    main_guard(app)


__all__ = ["app", "main"]
