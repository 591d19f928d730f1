"""``kinflux flux ...`` commands (flux-balance networks and AMNs)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Flux-balance networks, training sets and AMNs.", no_args_is_help=True)
