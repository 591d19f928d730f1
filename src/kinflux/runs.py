"""Run folders: one mechanism for every long job (training, generators, studies).

A run folder holds ``config.json`` (every hyper-parameter plus package versions),
``log.txt``, metrics (CSV), ``checkpoints/`` and figures. While the job runs, everything
is written into a hidden sibling ``.<name>.partial/``; :meth:`RunFolder.finish` renames
it onto ``<name>`` only when the job succeeded, so a failed run never replaces a good one.

If the job is interrupted after a checkpoint, the partial folder stays; running again
with ``resume=True`` (the CLI's ``--resume``) continues from the last checkpoint, and
the job is written so that it reaches the same final result as an uninterrupted run.
A job that fails before its first checkpoint leaves nothing behind.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with RunFolder(out, config={"lr": 1e-3}) as run:
    ...     _ = run.save_checkpoint({"step": 1})
    ...     run.append_metrics({"step": 1, "loss": 0.5})
    >>> sorted(p.name for p in out.iterdir())
    ['checkpoints', 'config.json', 'log.txt', 'metrics.csv']
    >>> RunFolder.read_config(out)["lr"]
    0.001
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
from pathlib import Path
from typing import Any

from kinflux import KinfluxError, __version__
from kinflux.io import OutputExistsError, atomic_write, default_mode, read_json, write_json

__all__ = ["RunFolder", "RunError", "package_versions"]


class RunError(KinfluxError):
    """A run folder cannot be created, resumed or read as asked."""


def package_versions() -> dict[str, str]:
    """Versions of Python, kinflux and the main numerical packages."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "kinflux": __version__}
    for name in ("torch", "numpy", "scipy", "pandas", "scikit-learn", "highspy", "cobra"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


class RunFolder:
    """A run folder being written; use as a context manager.

    Args:
        path: the final folder.
        config: hyper-parameters (JSON-able); written to ``config.json`` with
            ``versions``. On resume it must equal the stored one (keys in
            ``ignore_on_resume`` aside), so a resumed run cannot silently change.
        force: replace an existing finished folder (only once this run succeeds).
        resume: continue an interrupted run from its partial folder.
        ignore_on_resume: config keys allowed to differ on resume (e.g. ``n_jobs``).

    Attributes:
        path: the final folder; ``work``: the partial folder being written;
        resumed: True when an interrupted run was picked up.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        config: dict[str, Any] | None = None,
        force: bool = False,
        resume: bool = False,
        ignore_on_resume: tuple[str, ...] = ("n_jobs", "backend", "address", "progress"),
    ) -> None:
        self.path = Path(path)
        self.work = self.path.parent / f".{self.path.name}.partial"
        self.config = dict(config or {})
        self.force = force
        self.resumed = False
        if (
            self.path.exists()
            and not force
            and not (self.path.is_dir() and not any(self.path.iterdir()))
        ):
            raise OutputExistsError(
                f"run folder {self.path} exists; pass --force (force=True) to replace it "
                "once this run succeeds, or choose another --out"
            )
        if self.work.exists():
            if resume:
                self._check_resume(ignore_on_resume)
                self.resumed = True
            elif force:
                shutil.rmtree(self.work)
            else:
                raise RunError(
                    f"an interrupted run of {self.path} is in {self.work}; pass --resume "
                    "(resume=True) to continue it, or --force to start again"
                )
        self._made_checkpoint = self.resumed
        self._mkdir(self.work)
        if not self.resumed:
            write_json(self.work / "config.json", {**self.config, "versions": package_versions()})
        self.log("resumed" if self.resumed else "started")

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()
            return
        self.abort(exc)

    def abort(self, exc: BaseException | None = None) -> None:
        """End a failed run: keep the partial folder if it has a checkpoint, else remove it."""
        if self.work.exists():
            if self._made_checkpoint:
                self.log(f"interrupted: {type(exc).__name__ if exc else ''} {exc or ''}")
            else:
                shutil.rmtree(self.work, ignore_errors=True)

    def finish(self) -> Path:
        """Rename the partial folder onto :attr:`path`; returns the path."""
        if not self.work.exists():
            return self.path
        self.log("finished")
        if self.path.exists():
            shutil.rmtree(self.path)
        os.replace(self.work, self.path)
        return self.path

    def _check_resume(self, ignore: tuple[str, ...]) -> None:
        stored = read_json(self.work / "config.json")
        stored.pop("versions", None)
        new = {k: v for k, v in _jsonable(self.config).items() if k not in ignore}
        old = {k: v for k, v in stored.items() if k not in ignore}
        diff = sorted(k for k in set(new) | set(old) if new.get(k) != old.get(k))
        if diff:
            raise RunError(
                f"cannot resume {self.work}: its config differs in {', '.join(diff)}; "
                "resume with the same options, or pass --force to start again"
            )

    @staticmethod
    def _mkdir(p: Path) -> None:
        p.mkdir(parents=True, exist_ok=True)
        os.chmod(p, default_mode(directory=True))

    # ------------------------------------------------------------------ writing
    def file(self, name: str) -> Path:
        """Path of a file inside the run (parent folders made), e.g. ``figures/x.png``."""
        p = self.work / name
        self._mkdir(p.parent)
        return p

    def log(self, message: str) -> None:
        """Append a time-stamped line to ``log.txt``."""
        stamp = _dt.datetime.now().isoformat(timespec="seconds")
        with open(self.work / "log.txt", "a") as fh:
            fh.write(f"{stamp} {message}\n")

    def append_metrics(self, row: dict[str, Any], name: str = "metrics.csv") -> None:
        """Append one row to a CSV (header from the first row's keys)."""
        import csv

        p = self.file(name)
        new = not p.exists()
        with open(p, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)

    def write_table(self, df: Any, name: str = "metrics.csv", index: bool = False) -> Path:
        """Write a pandas DataFrame as CSV, atomically."""
        p = self.file(name)
        with atomic_write(p, "w") as fh:
            df.to_csv(fh, index=index)
        return p

    def save_checkpoint(self, state: dict[str, Any], name: str = "checkpoint.pt") -> Path:
        """Save a checkpoint atomically.

        ``state`` may hold tensors, numbers, strings, lists, tuples and dicts; NumPy
        arrays are stored as tensors and NumPy scalars as Python numbers (so the file
        loads with ``torch.load(weights_only=True)``: no code runs on loading).
        """
        import torch

        p = self.file(f"checkpoints/{name}")
        with atomic_write(p, "wb") as fh:
            torch.save(_safe(state), fh)
        self._made_checkpoint = True
        return p

    def load_checkpoint(self, name: str = "checkpoint.pt") -> dict[str, Any] | None:
        """The checkpoint saved under ``name`` in this run, or None."""
        p = self.work / "checkpoints" / name
        if not p.exists():
            return None
        return _load_torch(p)

    # ------------------------------------------------------------------ reading
    @staticmethod
    def read_config(path: str | os.PathLike) -> dict[str, Any]:
        """``config.json`` of a finished run folder."""
        p = Path(path) / "config.json"
        if not p.is_file():
            raise RunError(f"{path} is not a kinflux run folder (no config.json)")
        return read_json(p)


def _load_torch(p: Path) -> dict[str, Any]:
    import pickle

    import torch

    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
        raise RunError(f"{p}: corrupt or unreadable checkpoint ({exc}); pass --force") from exc


def _safe(obj: Any) -> Any:
    """NumPy values -> tensors / Python numbers, recursively."""
    import numpy as np
    import torch

    if isinstance(obj, dict):
        return {k: _safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_safe(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _jsonable(obj: Any) -> Any:
    import json

    from kinflux.io import _json_default

    return json.loads(json.dumps(obj, default=_json_default))
