"""Shared CLI helpers: error reporting and rich console."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

from kinflux import KinfluxError

console = Console()
err_console = Console(stderr=True)


@contextlib.contextmanager
def run_cli_errors() -> Iterator[None]:
    """Turn :class:`KinfluxError` into a one-line red message and exit code 2."""
    try:
        yield
    except KinfluxError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
