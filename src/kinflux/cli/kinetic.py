"""``kinflux kinetic ...`` commands (kinetic models)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Kinetic models: load, inspect, simulate, parameterize.", no_args_is_help=True
)
