"""The reservoir's frozen part: pFBA media around the experimental compositions, an AMN.

:func:`reservoir_training_media` draws the published training media (100 per
composition), :func:`solve_media` solves pFBA for them, :func:`active_subnetwork` keeps
the reactions they use (the published model was iML1515 reduced to 550 reactions;
iJO1366 with EXP110 gives 551), and :func:`frozen_amn` trains a kinflux AMN on them
once and caches it in a folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kinflux import KinfluxError
from kinflux.flux.experiments import MediumDesign
from kinflux.flux.network import Network
from kinflux.flux.problem import FluxProblem

__all__ = [
    "FrozenError",
    "reservoir_training_media",
    "solve_media",
    "active_subnetwork",
    "make_amn",
    "frozen_amn",
    "growth_module",
    "frozen_module",
]


class FrozenError(KinfluxError):
    """The frozen AMN's training set or cache cannot be built or read as asked."""


def reservoir_training_media(
    design: MediumDesign,
    compositions: np.ndarray,
    per_composition: int = 100,
    base_bound: float = 2.2,
    steps: int = 99,
    seed: int = 0,
    drawn_fixed: Sequence[str] = (),
) -> np.ndarray:
    """Media for the frozen AMN, ``(n_compositions * per_composition, n_medium)``.

    For each 0/1 composition (rows of ``compositions``, ``(n, n_variable)``) with ``k``
    compounds present, ``per_composition`` media keep exactly those compounds, each at
    ``(k + 1) * j * base_bound / steps`` mmol/gDW/h with ``j`` uniform in ``1..steps``;
    fixed compounds at ``design.fixed_bound``, except those in ``drawn_fixed`` (kinflux's
    option for a head that also sets them, not in the published recipe): each at
    ``j * design.fixed_bound / steps``, ``j`` uniform in ``1..steps``, drawn after the
    variable levels (so the variable levels equal the published draw).

    Example:
        >>> d = MediumDesign(("EX_a_e_i", "EX_b_e_i", "EX_c_e_i"), ("EX_b_e_i", "EX_c_e_i"), 2.2)
        >>> M = reservoir_training_media(d, np.array([[1, 1]]), per_composition=500)
        >>> M.shape, float(M[:, 0].min()), bool(M[:, 1:].max() <= 6.6 + 1e-12)
        ((500, 3), 2.2, True)
        >>> D = reservoir_training_media(d, np.array([[1, 1]]), 500, drawn_fixed=["EX_a_e_i"])
        >>> bool((D[:, 1:] == M[:, 1:]).all()), bool(0 < D[:, 0].min() < 0.1 < 2.1 < D[:, 0].max())
        (True, True)
    """
    comp = np.asarray(compositions, dtype=float)
    rng = np.random.default_rng(seed)
    k = comp.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(len(comp)), per_composition)
    j = rng.integers(1, steps + 1, size=(len(rows), comp.shape[1]))
    levels = (k[rows] + 1) * j * base_bound / steps
    media = design.bounds(comp[rows], levels)
    if len(drawn_fixed):
        cols = [design.medium_ids.index(r) for r in drawn_fixed]
        if any(r in design.variable_ids for r in drawn_fixed):
            raise FrozenError("drawn_fixed must name fixed compounds, not composition columns")
        jf = rng.integers(1, steps + 1, size=(len(rows), len(cols)))
        media[:, cols] = jf * design.fixed_bound / steps
    return media


def _pfba_chunk(media: np.ndarray) -> list[np.ndarray | None]:
    from kinflux.compute import worker_state

    solver = worker_state()["solver"]
    return [solver.pfba(x).fluxes for x in media]


def _pfba_init(problem: FluxProblem) -> None:
    from kinflux.compute import worker_state
    from kinflux.flux.fba import FluxSolver

    worker_state()["solver"] = FluxSolver(problem)


def solve_media(
    problem: FluxProblem, media: np.ndarray, n_jobs: int = 1, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """pFBA fluxes for each medium; media that do not grow are dropped.

    Returns:
        ``(X, Y)``: the growing media ``(n, n_medium)`` and their split fluxes
        ``(n, n_reactions)`` (mmol/gDW/h).
    """
    from kinflux.compute import chunks
    from kinflux.compute import map as cmap

    parts = [media[a:b] for a, b in chunks(len(media), 200)]
    res = cmap(
        _pfba_chunk,
        parts,
        n_jobs=n_jobs,
        initializer=_pfba_init,
        initargs=(problem,),
        progress=progress,
        description="pFBA",
    )
    flat = [v for r in res for v in r]
    keep = [i for i, v in enumerate(flat) if v is not None]
    if not keep:
        raise FrozenError("no medium of the reservoir's training set grows; check the design")
    return media[keep], np.stack([flat[i] for i in keep])


def active_subnetwork(network: Network, Y: np.ndarray, medium_ids: list[str]) -> Network:
    """``network`` restricted to the split reactions active in some flux of ``Y``.

    ``Y`` is ``(n, n_reactions)`` (mmol/gDW/h); medium inflows and the objective are
    always kept. pFBA solutions use few reactions, so a genome-scale model shrinks to a
    few hundred (iJO1366 with EXP110: about 560 of 3518).
    """
    active = (np.asarray(Y) > 1e-9).any(axis=0)
    active[network.indices(list(medium_ids))] = True
    active[network.objective_index] = True
    ids = [r for r, a in zip(network.reaction_ids, active, strict=True) if a]
    return network.subnetwork(ids, name=f"{network.name} (active)")


def make_amn(problem: FluxProblem, **params: Any) -> Any:
    """An unfitted kinflux :class:`~kinflux.flux.amn.AMN` on ``problem``."""
    from kinflux.flux.amn import AMN

    return AMN(problem, **params)


def _load_amn(path: Path, network: Network) -> Any:
    from kinflux.flux.amn import AMN

    return AMN.load(path, network)


def frozen_amn(
    cache: str | os.PathLike,
    network: Network,
    design: MediumDesign,
    compositions: np.ndarray,
    open_inflows: dict[str, float] | None = None,
    per_composition: int = 100,
    seed: int = 0,
    amn_params: dict[str, Any] | None = None,
    drawn_fixed: Sequence[str] = (),
    n_jobs: int = 1,
    progress: bool = False,
) -> tuple[Any, Network]:
    """The reservoir's frozen AMN, trained once and cached under ``cache`` (a folder).

    The cache holds ``training_set.npz`` (media ``X`` and pFBA fluxes ``Y`` on the
    active subnetwork), ``reactions.json`` (its reaction ids) and one
    ``amn_<hash>.pt`` (+ ``.json``) per set of ``amn_params``; a cache whose training
    set was made with other settings (``config.json`` differs) raises
    :class:`FrozenError`. ``drawn_fixed``: fixed compounds whose levels the training
    media draw too (see :func:`reservoir_training_media`), for a head that sets them.

    Returns:
        ``(amn, subnetwork)``: the fitted AMN (on the active subnetwork) and that network.
    """
    from kinflux.io import load_npz, read_json, save_npz, write_json

    root = Path(cache)
    amn_params = dict(amn_params or {})
    config = {
        "network_hash": network.hash,
        "medium_ids": list(design.medium_ids),
        "variable_ids": list(design.variable_ids),
        "fixed_bound": design.fixed_bound,
        "compositions": np.asarray(compositions, dtype=int).tolist(),
        "open_inflows": open_inflows,
        "per_composition": per_composition,
        "seed": seed,
    }
    if len(drawn_fixed):  # absent for the published recipe: older caches stay valid
        config["drawn_fixed"] = [str(r) for r in drawn_fixed]
    cfg_path = root / "config.json"
    if cfg_path.exists() and read_json(cfg_path) != json.loads(json.dumps(config)):
        raise FrozenError(
            f"{root} caches a frozen AMN made with other settings; use another cache folder "
            "or delete it"
        )
    root.mkdir(parents=True, exist_ok=True)
    write_json(cfg_path, config)
    problem = FluxProblem(network, design.medium_ids, open_inflows, "UB")
    ts_path = root / "training_set.npz"
    rx_path = root / "reactions.json"
    if ts_path.exists() and rx_path.exists():
        arrays, _ = load_npz(ts_path, required=["X", "Y"], what="reservoir training set")
        X, Ysub = arrays["X"], arrays["Y"]
        sub = network.subnetwork(read_json(rx_path), name=f"{network.name} (active)")
    else:
        media = reservoir_training_media(
            design, compositions, per_composition, seed=seed, drawn_fixed=drawn_fixed
        )
        X, Y = solve_media(problem, media, n_jobs=n_jobs, progress=progress)
        sub = active_subnetwork(network, Y, list(design.medium_ids))
        Ysub = Y[:, network.indices(sub.reaction_ids)]
        meta = {"reaction_ids": sub.reaction_ids, "medium_ids": list(design.medium_ids)}
        save_npz(ts_path, {"X": X, "Y": Ysub}, meta, force=True)
        write_json(rx_path, sub.reaction_ids)
    key = hashlib.sha256(json.dumps(amn_params, sort_keys=True).encode()).hexdigest()[:12]
    amn_path = root / f"amn_{key}.pt"
    if amn_path.exists():
        return _load_amn(amn_path, sub), sub
    sub_problem = FluxProblem(sub, design.medium_ids, open_inflows, "UB")
    amn = make_amn(sub_problem, random_state=seed, **amn_params)
    amn.fit(X, Ysub, progress=progress)
    amn.save(amn_path, force=True)
    write_json(amn_path.with_suffix(".json"), amn_params)
    return amn, sub


class _GrowthOnly(nn.Module):
    """The growth column of a dense prior network, without the other outputs."""

    def __init__(self, prior: nn.Module, g: int) -> None:
        super().__init__()
        layers = list(prior.net)
        last = layers[-1]
        self.body = nn.Sequential(*layers[:-1])
        self.weight = last.weight[g : g + 1].detach().clone()
        self.bias = last.bias[g : g + 1].detach().clone()
        self.x_scale = prior.x_scale
        self.scale, self.mean = prior.v_scale[g], prior.v_mean[g]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x / self.x_scale)
        return self.mean + (h @ self.weight.T + self.bias)[:, 0] * self.scale


def growth_module(module: nn.Module, g: int) -> nn.Module:
    """``medium (batch, n_medium) -> growth (batch,)`` (h^-1) of a frozen flux model.

    For a dense network without mechanistic layer (``ANN-Dense``) only the growth
    column of the last layer is computed (the same numbers, ~n_reactions times less
    work in that layer); any other model runs whole and its column ``g`` is taken.

    Example:
        >>> from kinflux.flux.architectures import FluxModel, PriorNetwork
        >>> m = FluxModel(PriorNetwork(3, 5, (4,)), None, "ANN-Dense").eval()
        >>> x = torch.rand(2, 3)
        >>> bool(torch.allclose(growth_module(m, 2)(x), m(x)[:, 2]))
        True
    """
    prior = getattr(module, "prior", None)
    if getattr(module, "mechanistic", 1) is None and isinstance(
        getattr(prior, "net", None), nn.Sequential
    ):
        out = _GrowthOnly(prior, g)
    else:

        class _Column(nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return module(x)[:, g]

        out = _Column()
    for p in out.parameters():
        p.requires_grad_(False)
    return out.eval()


def frozen_module(amn: Any) -> tuple[nn.Module, int, list[str]]:
    """A fitted AMN's torch module (eval mode, no gradients), growth column, medium ids."""
    module = getattr(amn, "model_", None)
    if module is None:
        raise FrozenError("the frozen AMN is not fitted; fit it or load a saved one")
    problem = getattr(amn, "problem", None)
    network = problem.network if problem is not None else amn.network
    medium = list(problem.medium_ids if problem is not None else amn.medium_ids)
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module, int(network.objective_index), medium
