"""Atomic writes, the one ``.npz`` format, JSON and hashing.

Every file kinflux writes goes through :func:`atomic_write`: the content lands in a
temporary file beside the target and is renamed over it only once complete, so an
interrupted or failed run never leaves a half-written file nor destroys a good one.
Files get the user's normal permissions (``0666 & ~umask``), not ``mkstemp``'s 0600.

Arrays with metadata go through :func:`save_npz` / :func:`load_npz`: one ``.npz``
layout (arrays plus a ``metadata.json`` member, fixed timestamps so equal content gives
equal bytes) for training sets, steady states, ORACLE samples, simulations and
generated parameter sets.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
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
    "save_npz",
    "load_npz",
    "NpzError",
    "default_mode",
]


def default_mode(directory: bool = False) -> int:
    """The permission bits a plain ``open``/``mkdir`` would give under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


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
        os.chmod(tmp, default_mode())
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


class NpzError(KinfluxError):
    """An ``.npz`` file is missing, unreadable or lacks an expected member."""


_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def save_npz(
    path: str | os.PathLike,
    arrays: dict[str, Any],
    metadata: dict[str, Any] | None = None,
    force: bool = False,
    compress: bool = True,
) -> Path:
    """Write ``arrays`` (name -> array-like, no object arrays) and JSON ``metadata``.

    Atomic; refuses to overwrite unless ``force``; byte-identical for equal content.
    Read back with :func:`load_npz`, or with ``numpy.load`` (metadata under
    ``"metadata.json"``).

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
        >>> _ = save_npz(p, {"x": np.arange(3.0)}, {"unit": "h^-1"})
        >>> arrays, meta = load_npz(p, required=["x"])
        >>> arrays["x"].tolist(), meta["unit"]
        ([0.0, 1.0, 2.0], 'h^-1')
    """
    import numpy as np

    p = check_output(path, force=force)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_write(p, "wb") as fh, zipfile.ZipFile(fh, "w", method) as zf:
        for name, arr in arrays.items():
            a = np.asarray(arr)
            if a.dtype == object:
                raise TypeError(f"array '{name}' has dtype object; convert it to str or float")
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE), buf.getvalue())
        meta = json.dumps(metadata or {}, indent=2, sort_keys=True, default=_json_default)
        zf.writestr(zipfile.ZipInfo("metadata.json", date_time=_FIXED_DATE), meta.encode())
    return p


def load_npz(
    path: str | os.PathLike, required: list[str] | None = None, what: str = "kinflux file"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a file written by :func:`save_npz`: ``(arrays, metadata)``.

    Raises :class:`NpzError` naming the file when it is missing, not an ``.npz``, or
    lacks one of ``required``; ``what`` names the kind of file in that message.
    """
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise NpzError(f"{what} {p} not found")
    try:
        with np.load(p, allow_pickle=False) as z:
            names = [n for n in z.files if n != "metadata.json"]
            arrays = {n: z[n] for n in names}
            metadata = json.loads(z["metadata.json"]) if "metadata.json" in z.files else {}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise NpzError(f"{p}: not a readable {what} ({exc})") from exc
    missing = [n for n in (required or []) if n not in arrays]
    if missing:
        raise NpzError(
            f"{p}: not a {what}: missing array(s) {', '.join(missing)}; "
            "write it with the kinflux command that makes it"
        )
    return arrays, metadata
