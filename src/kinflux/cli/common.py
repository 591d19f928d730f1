"""Shared CLI helpers: error reporting, global flags and the rich console.

Every command runs its work inside :func:`run_cli_errors`: a :class:`KinfluxError`
becomes one red line and exit code 2; any other exception becomes one line that says
how to see the traceback (``kinflux --debug ...``) and exit code 1; Ctrl-C gives 130.
No command ever ends in a raw Python traceback unless ``--debug`` was given.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import warnings
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from kinflux import KinfluxError

console = Console()
err_console = Console(stderr=True)

_FLAGS = {"debug": False}


class Backend(StrEnum):
    """Where parallel work runs (:func:`kinflux.compute.map`)."""

    local = "local"
    ray = "ray"


#: exit codes
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130


def set_debug(value: bool) -> None:
    """Show full tracebacks instead of one-line errors (the ``--debug`` flag)."""
    _FLAGS["debug"] = bool(value)


def is_debug() -> bool:
    """True under ``kinflux --debug``."""
    return _FLAGS["debug"]


def report_error(exc: BaseException) -> int:
    """Print ``exc`` as a one-line message; return the exit code it deserves."""
    if isinstance(exc, KinfluxError):
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_BAD_INPUT
    if isinstance(exc, KeyboardInterrupt):
        err_console.print(
            "[bold red]interrupted[/]; nothing was written to the output. A run folder "
            "with a checkpoint can be continued with --resume.",
            highlight=False,
        )
        return EXIT_INTERRUPTED
    if isinstance(exc, PermissionError | IsADirectoryError | FileNotFoundError):
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_BAD_INPUT
    if isinstance(exc, MemoryError):
        err_console.print(
            "[bold red]error:[/] out of memory; use a smaller --n / batch, or more memory",
            highlight=False,
        )
        return EXIT_INTERNAL
    err_console.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
        "This is a bug or an input kinflux does not check yet; rerun with "
        "`kinflux --debug ...` for the traceback and report it.",
        highlight=False,
    )
    return EXIT_INTERNAL


@contextlib.contextmanager
def run_cli_errors() -> Iterator[None]:
    """Turn any exception in the block into a one-line message and a non-zero exit."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except (Exception, KeyboardInterrupt) as exc:
        if is_debug():
            raise
        code = report_error(exc)
        raise typer.Exit(code=code) from None


def main_guard(app: typer.Typer) -> None:
    """Run ``app`` with the same error policy for anything raised outside a command."""
    try:
        app()
    except SystemExit:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        if is_debug():
            raise
        sys.exit(report_error(exc))


def set_quiet_flag(quiet: bool) -> None:
    """Apply a command's ``--quiet`` (the same as ``kinflux --quiet``)."""
    if quiet:
        from kinflux.progress import set_quiet

        set_quiet(True)


@contextlib.contextmanager
def show_warnings() -> Iterator[None]:
    """Print the library's warnings raised in the block as yellow one-liners."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if issubclass(w.category, UserWarning):
            err_console.print(f"[bold yellow]warning:[/] {w.message}", highlight=False)


def writable(path: Path, force: bool, folder: bool = False) -> Path:
    """Fail now (not after the work) when ``path`` exists without ``force`` or cannot be
    written; creates no file."""
    from kinflux import KinfluxError
    from kinflux.io import OutputExistsError

    path = Path(path)
    if path.exists() and not force and not (folder and path.is_dir() and not any(path.iterdir())):
        raise OutputExistsError(f"{path} already exists; pass --force to replace it")
    if path.is_dir() and not folder:
        raise KinfluxError(f"{path} is a folder; give a file name for --out")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise KinfluxError(
            f"cannot write {path}: {exc.strerror or exc}; choose a writable --out"
        ) from None
    return path
