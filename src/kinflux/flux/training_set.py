"""pFBA training sets for AMNs: media drawn from a guide, fluxes from pFBA.

One training set is one ``.npz`` file (:func:`kinflux.io.save_npz`) holding ``X``
(medium vectors, ``(n, n_medium)``, mmol/gDW/h), ``Y`` (all split fluxes,
``(n, n_reactions)``, mmol/gDW/h), the id lists and metadata (model id and network
hash, guide, seed, mode, solver, counts of infeasible and zero-growth media). Files are
written atomically and byte-for-byte reproducible: the same seed gives an identical
file, whatever the number of workers or the compute backend.

Modes:
    - ``UB``: ``X`` are the medium upper bounds given to pFBA;
    - ``EB``: ``X`` are the exact uptakes of the pFBA solution (``Y`` at the inflows).

Example:
    >>> from kinflux.datasets import medium_guide_path
    >>> from kinflux.flux.media import GuideWarning, MediumGuide
    >>> from kinflux.flux.network import Network
    >>> net = Network.load("e_coli_core")
    >>> guide = MediumGuide.from_csv(medium_guide_path("e_coli_core"))
    >>> ts = build_training_set(net, guide, size=5, seed=0)
    >>> ts.X.shape, ts.Y.shape
    ((5, 20), (5, 154))
"""

from __future__ import annotations

import importlib.metadata
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kinflux import KinfluxError, __version__
from kinflux.flux.fba import FluxSolver, find_essential_inflows
from kinflux.flux.media import GuideWarning, MediumGuide
from kinflux.flux.network import DEFAULT_BOUND, Network
from kinflux.flux.problem import FluxProblem, check_mode
from kinflux.progress import ProgressArg, progress_bar

__all__ = ["TrainingSet", "build_training_set", "essential_setup", "DatasetError", "CHUNK"]

#: Media per task. Each task starts its solver cold, so the fluxes do not depend on
#: how tasks are spread over workers (pFBA optima can be non-unique).
CHUNK = 16


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

    def problem(self, network: Network | None = None) -> FluxProblem:
        """The :class:`FluxProblem` this set was built for (see ``from_training_set``)."""
        return FluxProblem.from_training_set(self, network)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write an ``.npz`` atomically; refuses to overwrite unless ``force``."""
        from kinflux.io import save_npz

        arrays = {
            "X": self.X.astype(np.float64),
            "Y": self.Y.astype(np.float64),
            "medium_ids": np.array(self.medium_ids, dtype=str),
            "reaction_ids": np.array(self.reaction_ids, dtype=str),
        }
        return save_npz(path, arrays, self.metadata, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainingSet:
        """Read a file written by :meth:`save`; checks shapes, ids and finite values."""
        from kinflux.flux.validation import check_finite
        from kinflux.io import load_npz

        required = ["X", "Y", "medium_ids", "reaction_ids"]
        arrays, meta = load_npz(path, required=required, what="training set")
        X, Y = arrays["X"], arrays["Y"]
        mids = [str(s) for s in arrays["medium_ids"]]
        rids = [str(s) for s in arrays["reaction_ids"]]
        p = str(path)
        if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != len(mids) or Y.shape[1] != len(rids):
            raise DatasetError(
                f"{p}: X {X.shape} and Y {Y.shape} do not match {len(mids)} medium ids and "
                f"{len(rids)} reaction ids; rebuild it with `kinflux flux dataset`"
            )
        if len(X) != len(Y):
            raise DatasetError(f"{p}: X has {len(X)} rows but Y has {len(Y)}; rebuild it")
        if len(X) == 0:
            raise DatasetError(f"{p}: the training set is empty; rebuild it with --size >= 1")
        for name, arr, ids in (("X", X, mids), ("Y", Y, rids)):
            check_finite(arr, f"{p} ({name})", ids)
        if (X < 0).any():
            raise DatasetError(f"{p}: X holds negative media values; rebuild it")
        obj = meta.get("objective")
        if obj is not None and obj not in rids:
            raise DatasetError(f"{p}: objective '{obj}' is not among its reaction ids")
        return cls(X.astype(np.float64), Y.astype(np.float64), mids, rids, meta)

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
def _init_solver(problem: FluxProblem) -> None:
    from kinflux.compute import worker_state

    worker_state()["solver"] = FluxSolver(problem)


def _solve_chunk(media: np.ndarray) -> list[tuple[str, np.ndarray | None]]:
    from kinflux.compute import worker_state

    solver: FluxSolver = worker_state()["solver"]
    solver.reset()  # cold start: results independent of the chunk's worker
    out = []
    for x in media:
        r = solver.pfba(x)
        out.append((r.status, r.fluxes))
    return out


def build_training_set(
    network: Network,
    guide: MediumGuide,
    size: int,
    mode: str = "UB",
    seed: int = 0,
    base_media: np.ndarray | None = None,
    n_jobs: int = 1,
    backend: str = "local",
    address: str | None = None,
    max_draws: int | None = None,
    progress: ProgressArg = False,
) -> TrainingSet:
    """Draw media from ``guide`` and solve pFBA for each until ``size`` grow.

    Args:
        network: split network.
        guide: medium guide; every inflow id must exist in ``network``.
        size: number of growing media to keep, >= 1.
        mode: ``"UB"`` (X = medium bounds) or ``"EB"`` (X = pFBA uptakes).
        seed: seed of the media drawing; equal seeds give identical sets.
        base_media: optional 0/1 experimental media (see :meth:`MediumGuide.draw`).
        n_jobs: worker processes (1 = in this process; -1 = one per CPU).
        backend: ``"local"`` or ``"ray"`` (:func:`kinflux.compute.map`).
        address: Ray cluster address (``"auto"``), for ``backend="ray"``.
        max_draws: stop after this many draws (default ``20 * size``).
        progress: True for a bar over solved media, or a callback ``(done, total, info)``.

    Returns:
        The training set. Infeasible and zero-growth media are counted in
        ``metadata`` and left out of ``X``/``Y``.
    """
    from kinflux import compute

    mode = check_mode(mode)
    if int(size) < 1:
        raise DatasetError(f"size must be >= 1, got {size}")
    pairs = zip(guide.inflow_ids, guide.max_values, strict=True)
    bad = [(r, v) for r, v in pairs if not np.isfinite(v)]
    if bad:
        raise DatasetError(
            f"{guide.source}: max_value of {bad[0][0]} is {bad[0][1]}; give a finite bound "
            "(mmol/gDW/h)"
        )
    essential, open_inflows = essential_setup(network, guide)
    changes = guide.bound_changes(network)
    if changes:
        warnings.warn(
            f"guide {Path(guide.source).name} raises the model's own uptake bounds of "
            f"{len(changes)} inflow(s), e.g. {', '.join(changes[:3])}; the training media "
            "use the guide's values",
            GuideWarning,
            stacklevel=2,
        )
    problem = FluxProblem(network, guide.inflow_ids, open_inflows, "UB")
    forced = np.array([rid in essential for rid in guide.inflow_ids])
    rng = np.random.default_rng(seed)
    max_draws = max_draws or 20 * size
    X_keep: list[np.ndarray] = []
    Y_keep: list[np.ndarray] = []
    counts = {"drawn": 0, "infeasible": 0, "zero_growth": 0}
    t0 = time.perf_counter()
    with progress_bar(size, "pFBA media", progress) as bar:
        while len(X_keep) < size and counts["drawn"] < max_draws:
            need = min(size - len(X_keep), max_draws - counts["drawn"])
            media = guide.draw(need, rng, base_media=base_media)
            lv = guide.levels[forced]
            # essential inflows stay open
            media[:, forced] = np.maximum(media[:, forced], guide.max_values[forced] / lv)
            counts["drawn"] += need
            tasks = [media[a:b] for a, b in compute.chunks(len(media), CHUNK)]
            kept = len(X_keep)

            def tick(done: int, _total: int, _info: dict, kept: int = kept) -> None:
                bar.update(min(size, kept + done * CHUNK), grown=len(X_keep))

            results = compute.map(
                _solve_chunk,
                tasks,
                backend=backend,
                n_jobs=n_jobs,
                address=address,
                initializer=_init_solver,
                initargs=(problem,),
                progress=tick,
            )
            flat = [r for res in results for r in res]
            for x, (status, v) in zip(media, flat, strict=True):
                if status == "optimal":
                    X_keep.append(x)
                    Y_keep.append(v)
                else:
                    counts[status] += 1
            bar.update(len(X_keep), grown=len(X_keep))
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
    ts = TrainingSet(X, Y, list(guide.inflow_ids), list(network.reaction_ids), metadata)
    ts.seconds = time.perf_counter() - t0
    return ts
