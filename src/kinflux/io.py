"""Run folders, atomic writes and hashing.

Every file kinflux writes goes through :func:`atomic_write`: the content lands in a
temporary file beside the target and is renamed over it only once complete, so an
interrupted or failed run never leaves a half-written file nor destroys a good one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kinflux import KinfluxError

__all__ = [
    "OutputExistsError",
    "atomic_write",
    "check_output",
    "sha256_file",
    "write_json",
    "read_json",
]


class OutputExistsError(KinfluxError):
    """The output file exists and ``force`` was not given."""


def check_output(path: str | os.PathLike, force: bool = False) -> Path:
    """Return ``path`` as a Path after making sure it may be written.

    Raises :class:`OutputExistsError` if it exists and ``force`` is False; creates the
    parent folder otherwise.
    """
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(
            f"{p} already exists; pass --force (force=True) to overwrite it, "
            "or choose another output path."
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    The suffix of ``path`` is kept on the temporary file so that libraries which
    append extensions (``numpy.savez``) behave.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=f".tmp{p.suffix}", dir=p.parent)
    os.close(fd)
    try:
        with open(tmp, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=_json_default)
        fh.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file."""
    with open(path) as fh:
        return json.load(fh)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
