"""Training sets for AMNs: media drawn from a guide, fluxes from pFBA.

One training set is one ``.npz`` file holding ``X`` (medium vectors, ``(n, n_medium)``,
mmol/gDW/h), ``Y`` (all split fluxes, ``(n, n_reactions)``, mmol/gDW/h), the id lists
and a ``metadata.json`` member (model id and network hash, guide, seed, mode, solver,
counts of infeasible and zero-growth media). Files are written atomically and
byte-for-byte reproducible: the same seed gives an identical file.

Modes:
    - ``UB``: ``X`` are the medium upper bounds given to pFBA;
    - ``EB``: ``X`` are the exact uptakes of the pFBA solution (``Y`` at the inflows).
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kinflux import KinfluxError, __version__
from kinflux.flux.fba import FluxSolver, find_essential_inflows
from kinflux.flux.media import MediumGuide
from kinflux.flux.network import DEFAULT_BOUND, Network
from kinflux.io import atomic_write, check_output

__all__ = ["TrainingSet", "build_training_set", "DatasetError"]

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


class DatasetError(KinfluxError):
    """A training set could not be built, read or written."""


@dataclass
class TrainingSet:
    """Media and their pFBA fluxes.

    Attributes:
        X: medium vectors ``(n, n_medium)`` in mmol/gDW/h (UB: bounds, EB: uptakes).
        Y: split fluxes ``(n, n_reactions)`` in mmol/gDW/h.
        medium_ids: inflow ids of the columns of ``X``.
        reaction_ids: split reaction ids of the columns of ``Y``.
        metadata: provenance (model, network hash, guide, seed, mode, solver, counts).
    """

    X: np.ndarray
    Y: np.ndarray
    medium_ids: list[str]
    reaction_ids: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    #: wall-clock seconds of the build (not saved: files stay reproducible).
    seconds: float = float("nan")

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def objective_id(self) -> str:
        """Split id of the growth (objective) reaction."""
        return str(self.metadata["objective"])

    @property
    def growth(self) -> np.ndarray:
        """Growth rates ``(n,)`` in h^-1."""
        return self.Y[:, self.reaction_ids.index(self.objective_id)]

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write an ``.npz`` atomically; refuses to overwrite unless ``force``."""
        p = check_output(path, force=force)
        members = {
            "X.npy": self.X.astype(np.float64),
            "Y.npy": self.Y.astype(np.float64),
            "medium_ids.npy": np.array(self.medium_ids, dtype=str),
            "reaction_ids.npy": np.array(self.reaction_ids, dtype=str),
        }
        with atomic_write(p, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, arr in members.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
                zf.writestr(zipfile.ZipInfo(name, date_time=_FIXED_DATE), buf.getvalue())
            meta = json.dumps(self.metadata, indent=2, sort_keys=True).encode()
            zf.writestr(zipfile.ZipInfo("metadata.json", date_time=_FIXED_DATE), meta)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainingSet:
        """Read a file written by :meth:`save`."""
        p = Path(path)
        if not p.exists():
            raise DatasetError(f"training set {p} not found")
        try:
            with np.load(p, allow_pickle=False) as z:
                X, Y = z["X"], z["Y"]
                medium_ids = [str(s) for s in z["medium_ids"]]
                reaction_ids = [str(s) for s in z["reaction_ids"]]
                metadata = json.loads(z["metadata.json"])
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
            raise DatasetError(
                f"{p}: not a kinflux training set ({exc}); build one with `kinflux flux dataset`"
            ) from exc
        return cls(X, Y, medium_ids, reaction_ids, metadata)

    def summary(self) -> dict[str, Any]:
        """Key figures: size, growth range (h^-1), infeasible and zero-growth counts."""
        g = self.growth
        m = self.metadata
        return {
            "samples": len(self),
            "mode": m.get("mode"),
            "growth_min": float(g.min()) if len(g) else float("nan"),
            "growth_max": float(g.max()) if len(g) else float("nan"),
            "growth_mean": float(g.mean()) if len(g) else float("nan"),
            "drawn": m.get("drawn"),
            "infeasible": m.get("infeasible"),
            "zero_growth": m.get("zero_growth"),
        }


def essential_setup(network: Network, guide: MediumGuide) -> tuple[list[str], dict[str, float]]:
    """Essential inflows of ``network`` and the ones to keep open outside the guide.

    Returns:
        ``(essential, open_inflows)``: ids of inflows without which nothing grows (all
        others open), and ``{id: upper bound}`` for those the guide does not set; they stay
        at the model's own bound (or 1000 mmol/gDW/h if the model closes them).
    """
    guide.check(network)
    essential = find_essential_inflows(network)
    in_guide = set(guide.inflow_ids)
    open_inflows = {
        rid: float(network.upper_bounds[network.index(rid)] or DEFAULT_BOUND)
        for rid in essential
        if rid not in in_guide
    }
    return essential, open_inflows


# ---------------------------------------------------------------------- workers
_WORKER: dict[str, Any] = {}


def _worker_init(network: Network, medium_ids: list[str], open_inflows: dict[str, float]) -> None:
    _WORKER["solver"] = FluxSolver(network, medium_ids=medium_ids, open_inflows=open_inflows)


def _solve_chunk(media: np.ndarray) -> list[tuple[str, float, np.ndarray | None]]:
    solver: FluxSolver = _WORKER["solver"]
    out = []
    for x in media:
        r = solver.pfba(x)
        out.append((r.status, r.growth, r.fluxes))
    return out


def build_training_set(
    network: Network,
    guide: MediumGuide,
    size: int,
    mode: str = "UB",
    seed: int = 0,
    base_media: np.ndarray | None = None,
    n_jobs: int = 1,
    max_draws: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
) -> TrainingSet:
    """Draw media from ``guide`` and solve pFBA for each until ``size`` grow.

    Args:
        network: split network.
        guide: medium guide; every inflow id must exist in ``network``.
        size: number of growing media to keep.
        mode: ``"UB"`` (X = medium bounds) or ``"EB"`` (X = pFBA uptakes).
        seed: seed of the media drawing; equal seeds give identical sets.
        base_media: optional 0/1 experimental media (see :meth:`MediumGuide.draw`).
        n_jobs: worker processes (1 = in this process).
        max_draws: stop after this many draws (default ``20 * size``).
        progress: True for a rich progress bar, or a callback ``(done, size)``.

    Returns:
        The training set. Infeasible and zero-growth media are counted in
        ``metadata`` and left out of ``X``/``Y``.
    """
    mode = mode.upper()
    if mode not in ("UB", "EB"):
        raise DatasetError(f"mode must be 'UB' or 'EB', got '{mode}'")
    if size < 1:
        raise DatasetError(f"size must be >= 1, got {size}")
    essential, open_inflows = essential_setup(network, guide)
    forced = np.array([rid in essential for rid in guide.inflow_ids])
    rng = np.random.default_rng(seed)
    max_draws = max_draws or 20 * size
    X_keep: list[np.ndarray] = []
    Y_keep: list[np.ndarray] = []
    counts = {"drawn": 0, "infeasible": 0, "zero_growth": 0}
    t0 = time.perf_counter()
    pool = None
    if n_jobs > 1:
        pool = ProcessPoolExecutor(
            n_jobs, initializer=_worker_init, initargs=(network, guide.inflow_ids, open_inflows)
        )
    else:
        _worker_init(network, guide.inflow_ids, open_inflows)
    bar = _Progress(progress, size)
    try:
        while len(X_keep) < size and counts["drawn"] < max_draws:
            need = min(size - len(X_keep), max_draws - counts["drawn"])
            media = guide.draw(need, rng, base_media=base_media)
            lv = guide.levels[forced]
            media[:, forced] = np.maximum(
                media[:, forced], guide.max_values[forced] / lv
            )  # essential inflows stay open
            counts["drawn"] += need
            if pool is None:
                chunks = [media]
                results = (_solve_chunk(c) for c in chunks)
            else:
                chunks = np.array_split(media, max(1, min(len(media), 4 * n_jobs)))
                results = pool.map(_solve_chunk, chunks)
            for chunk, res in zip(chunks, results, strict=True):
                for x, (status, _g, v) in zip(chunk, res, strict=True):
                    if status == "optimal":
                        X_keep.append(x)
                        Y_keep.append(v)
                    else:
                        counts[status] += 1
                bar.update(len(X_keep))
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    if len(X_keep) < size:
        raise DatasetError(
            f"only {len(X_keep)} of {size} media grew after {counts['drawn']} draws "
            f"({counts['infeasible']} infeasible, {counts['zero_growth']} zero growth); "
            f"check the guide {guide.source} (max_value, ratio_drawing) against model "
            f"'{network.name}'"
        )
    X = np.array(X_keep)
    Y = np.array(Y_keep)
    if mode == "EB":
        X = Y[:, network.indices(guide.inflow_ids)]
    metadata = {
        "kinflux_version": __version__,
        "model": network.name,
        "model_id": network.model.id,
        "network_hash": network.hash,
        "objective": network.reaction_ids[network.objective_index],
        "guide": {
            "source": Path(guide.source).name,
            "inflow_ids": guide.inflow_ids,
            "levels": guide.levels.tolist(),
            "max_values": guide.max_values.tolist(),
            "ratio": guide.ratio,
        },
        "experimental_base_media": base_media is not None,
        "seed": seed,
        "mode": mode,
        "size": size,
        "solver": f"HiGHS (highspy {importlib.metadata.version('highspy')})",
        "method": "pFBA (max growth, then min sum of split fluxes at that growth)",
        "essential_inflows": essential,
        "open_inflows": open_inflows,
        **counts,
    }
    ts = TrainingSet(X, Y, guide.inflow_ids, network.reaction_ids, metadata)
    ts.seconds = time.perf_counter() - t0
    return ts


class _Progress:
    """Rich progress bar, a user callback, or nothing."""

    def __init__(self, progress: bool | Callable[[int, int], None], total: int) -> None:
        self._cb = progress if callable(progress) else None
        self._rich = None
        if progress is True:
            from rich.progress import Progress

            self._rich = Progress(transient=True)
            self._task = self._rich.add_task("pFBA", total=total)
            self._rich.start()
        self.total = total

    def update(self, done: int) -> None:
        if self._cb is not None:
            self._cb(done, self.total)
        if self._rich is not None:
            self._rich.update(self._task, completed=done)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
