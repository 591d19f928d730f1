"""The EXP110 study: the reservoir against mechanistic and black-box baselines, one run folder.

:func:`run_reservoir_study` fits every model with the published protocol (shuffled
k-fold repeated over seeds, :mod:`kinflux.flux.experiments`) and writes a run folder:

- ``comparison.csv`` / ``comparison.md``: per model ``Q2`` (mean over repeats),
  ``Q2_sd``, ``Q2_avg`` (of the seed-averaged prediction), per-repeat ``Q2_<seed>``,
  in-sample ``R2_train`` (fit on every medium) and seconds;
- ``predictions.csv``: measured growth, each model's seed-averaged out-of-fold and
  in-sample predictions (h^-1);
- ``bounds_in_sample.csv`` and ``bounds_oof_seed<s>.csv``: the reservoir's uptake bounds
  per medium as a COBRApy medium (``model.medium = row.to_dict()``, mmol/gDW/h);
- ``reservoir.pt`` (the in-sample head, for ``kinflux flux reservoir predict``),
  ``figures/parity_<model>.png``, ``config.json``, ``log.txt``, checkpoints (resume).

Models: ``reservoir``, ``fba_predicted_bounds`` (pFBA on the full network with the
reservoir's bounds), ``ols``, ``gbm``, ``rf``, ``ann``, ``fba_scaled`` and
``fba_fitted`` (see :mod:`kinflux.flux.baselines`).
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kinflux.flux.baselines import (
    FittedBoundsFBA,
    ScaledBoundsFBA,
    black_box,
    fba_growth_with_bounds,
)
from kinflux.flux.experiments import (
    GrowthExperiments,
    MediumDesign,
    cross_val_growth,
    repeated_folds,
)
from kinflux.flux.problem import FluxProblem
from kinflux.flux.reservoir import (
    Reservoir,
    ReservoirError,
    bounds_to_cobra,
    frozen_amn,
    head_fixed_ids,
)
from kinflux.flux.reservoir_outputs import MODELS, markdown_table, to_checkpoint, write_outputs

__all__ = [
    "MODELS",
    "DEFAULT_FROZEN",
    "run_reservoir_study",
    "predict_from_run",
    "HEAD_RECIPES",
    "setup",
    "markdown_table",
]

#: Frozen part used by default: kinflux's AMN estimator with the ANN-Dense architecture
#: on the active subnetwork (an AMN-QP step costs ~66 ms at batch 5 there, so the
#: published 20,000 head steps would take ~22 min per fit; see docs/reservoir.md).
DEFAULT_FROZEN: dict[str, Any] = {"arch": "ANN-Dense", "n_threads": 1}

#: Head recipes: ``"published"`` (Faure et al. 2023: 1000 epochs, dropout 0.25, one
#: head, fixed compounds at 2.2) and ``"kinflux"`` (the head also sets the fixed carbon
#: sources' bounds, bounds capped at the frozen training set's range, 10 heads
#: averaged, dropout 0.1, 150 epochs; see docs/reservoir.md).
HEAD_RECIPES: dict[str, dict[str, Any]] = {
    "published": {},
    "kinflux": {
        "head_fixed": "carbon",
        "clip_bounds": True,
        "n_heads": 10,
        "dropout": 0.1,
        "epochs": 150,
    },
}


def setup(experiments: Any = "EXP110", model: str = "iJO1366") -> dict[str, Any]:
    """Network, guide-based design, experiments and problems for a study.

    Returns a dict with ``network``, ``design``, ``experiments``, ``problem`` (the full
    network over the design's medium; every other inflow closed) and ``X``/``y``.
    """
    from kinflux.datasets import medium_guide_path
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network

    net = Network.load(model)
    exp = GrowthExperiments.from_table(experiments, net.exchange_ids)
    guide = MediumGuide.from_csv(medium_guide_path(model))
    design = MediumDesign.from_guide(guide, exp.variable_ids)
    problem = FluxProblem(net, design.medium_ids, open_inflows={}, mode="UB")
    return {
        "network": net,
        "design": design,
        "experiments": exp,
        "problem": problem,
        "X": exp.compositions,
        "y": exp.growth.to_numpy(),
    }


# ---------------------------------------------------------------- picklable factories
def _make_black_box(seed: int, name: str) -> Any:
    return black_box(name, seed)


def _make_fba(
    seed: int, kind: str, problem: FluxProblem, design: MediumDesign, params: dict[str, Any]
) -> Any:
    if kind == "fba_scaled":
        return ScaledBoundsFBA(problem, design, **params)
    return FittedBoundsFBA(problem, design, **{"method": "BFGS", **params})


def run_reservoir_study(
    out: str | os.PathLike,
    experiments: Any = "EXP110",
    model: str = "iJO1366",
    folds: int = 10,
    repeats: int = 3,
    cache: str | os.PathLike | None = None,
    frozen_params: dict[str, Any] | None = None,
    reservoir_params: dict[str, Any] | None = None,
    recipe: str = "kinflux",
    models: tuple[str, ...] = MODELS,
    fba_network: str = "active",
    per_composition: int = 100,
    baseline_params: dict[str, dict[str, Any]] | None = None,
    n_jobs: int = 1,
    force: bool = False,
    resume: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Fit the reservoir and the baselines on the same folds; write the run folder.

    Args:
        out: run folder.
        experiments: ``"EXP110"`` or an experiment CSV.
        model: metabolic model (bundled name or file with a bundled medium guide).
        folds, repeats: k-fold CV repeated with seeds ``0..repeats-1``.
        cache: folder of the frozen AMN (default: ``frozen/`` inside the run folder).
        frozen_params: AMN hyper-parameters of the frozen part (default
            :data:`DEFAULT_FROZEN`).
        reservoir_params: :class:`Reservoir` hyper-parameters, over the recipe's.
        recipe: ``"kinflux"`` or ``"published"`` head (:data:`HEAD_RECIPES`); the
            frozen AMN's training media draw the fixed compounds the head sets.
        models: subset of :data:`MODELS` (``fba_predicted_bounds`` needs ``reservoir``).
        fba_network: ``"active"`` (the frozen AMN's subnetwork, as the published reduced
            model) or ``"full"``: the network of the scaled and fitted FBA baselines.
        per_composition: pFBA media per composition for the frozen AMN (published 100).
        baseline_params: extra hyper-parameters per FBA baseline, e.g.
            ``{"fba_fitted": {"maxiter": 20}, "fba_scaled": {"scales": (1.0, 2.0)}}``.
        n_jobs: worker processes for the folds.

    Returns:
        The comparison table (one row per model).
    """
    from kinflux.runs import RunFolder

    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ReservoirError(f"unknown model(s) {', '.join(unknown)}; choose from {MODELS}")
    frozen_params = dict(DEFAULT_FROZEN if frozen_params is None else frozen_params)
    if recipe not in HEAD_RECIPES:
        raise ReservoirError(f"recipe must be one of {', '.join(HEAD_RECIPES)}, got {recipe!r}")
    reservoir_params = {**HEAD_RECIPES[recipe], **(reservoir_params or {})}
    seeds = tuple(range(repeats))
    config = {
        "experiments": str(experiments),
        "model": model,
        "folds": folds,
        "repeats": repeats,
        "cache": None if cache is None else str(cache),
        "frozen_params": frozen_params,
        "recipe": recipe,
        "reservoir_params": reservoir_params,
        "models": list(models),
        "fba_network": fba_network,
        "n_jobs": n_jobs,
        "per_composition": per_composition,
        "baseline_params": baseline_params or {},
    }
    s = setup(experiments, model)
    X, y, design, problem = s["X"], s["y"], s["design"], s["problem"]
    with RunFolder(out, config, force=force, resume=resume) as run:
        run.log(f"{len(X)} media, {s['experiments'].n_excluded} excluded (no replicate)")
        state = run.load_checkpoint() or {}
        need_frozen = "reservoir" in models
        amn = sub = None
        if need_frozen or fba_network == "active":
            root = Path(cache) if cache is not None else run.file("frozen/config.json").parent
            amn, sub = _frozen(root, s, per_composition, frozen_params, reservoir_params, progress)
        fba_problem = (
            problem if fba_network == "full" else FluxProblem(sub, design.medium_ids, {}, "UB")
        )
        for name in models:
            if name in state or name == "fba_predicted_bounds":
                continue
            t0 = time.perf_counter()
            run.log(f"fitting {name}")
            if name == "reservoir":
                state.update(_reservoir_runs(amn, X, y, folds, seeds, reservoir_params, problem))
                state["reservoir"]["seconds"] = time.perf_counter() - t0
            else:
                if name.startswith("fba_"):
                    make = functools.partial(
                        _make_fba,
                        kind=name,
                        problem=fba_problem,
                        design=design,
                        params=(baseline_params or {}).get(name, {}),
                    )
                    # fba_scaled: one process keeps its growth cache warm across folds
                    jobs = 1 if name == "fba_scaled" else n_jobs
                else:
                    make = functools.partial(_make_black_box, name=name.upper())
                    jobs = n_jobs
                oof = cross_val_growth(
                    make,
                    X.to_numpy(),
                    y,
                    folds,
                    seeds,
                    n_jobs=jobs,
                    progress=progress,
                    description=name,
                )
                full = make(0).fit(X.to_numpy(), y)
                state[name] = {
                    "oof": oof,
                    "train": np.asarray(full.predict(X.to_numpy())),
                    "seconds": time.perf_counter() - t0,
                }
                if name == "fba_fitted":
                    vals = np.round(full.bounds_, 3).tolist()
                    fitted = dict(zip(design.variable_ids, vals, strict=True))
                    run.log(f"fba_fitted in-sample bounds (mmol/gDW/h): {fitted}")
                if name == "fba_scaled":
                    run.log(f"fba_scaled in-sample scale: {full.scale_} mmol/gDW/h")
            run.save_checkpoint(to_checkpoint(state))
        table = write_outputs(run, state, X, y, seeds, design)
    return table


def _frozen(
    root: Path,
    s: dict[str, Any],
    per_composition: int,
    frozen_params: dict[str, Any],
    reservoir_params: dict[str, Any],
    progress: bool = False,
) -> tuple[Any, Any]:
    """The frozen AMN of a study; its training media draw the head's fixed compounds."""
    design = s["design"]
    drawn = head_fixed_ids(
        reservoir_params.get("head_fixed"), s["network"], design.medium_ids, design.variable_ids
    )
    return frozen_amn(
        root,
        s["network"],
        design,
        s["X"].to_numpy(),
        {},
        per_composition=per_composition,
        amn_params=frozen_params,
        drawn_fixed=drawn,
        progress=progress,
    )


def _reservoir_runs(
    amn: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: int,
    seeds: tuple[int, ...],
    params: dict[str, Any],
    problem: FluxProblem,
) -> dict[str, Any]:
    """Reservoir out-of-fold and in-sample fits (one batched pass), and pFBA with its bounds."""
    splits = repeated_folds(len(X), folds, seeds)
    members = [(np.arange(len(X)), 0)] + [(tr, seed) for seed, _k, tr, _te in splits]
    fitted = Reservoir(amn, **params).fit_members(X, y, members)
    full, per_fold = fitted[0], fitted[1:]
    cols = [f"seed_{s}" for s in seeds]
    oof = pd.DataFrame(np.nan, index=range(len(X)), columns=cols)
    parts: dict[str, list[pd.DataFrame]] = {c: [] for c in cols}
    for (seed, _k, _tr, te), res in zip(splits, per_fold, strict=True):
        oof.loc[te, f"seed_{seed}"] = res.predict(X.iloc[te])
        parts[f"seed_{seed}"].append(res.predict_bounds(X.iloc[te]))
    bounds = {c: pd.concat(parts[c]).loc[X.index] for c in cols}
    b_train = full.predict_bounds(X)
    fba_oof = pd.DataFrame({c: fba_growth_with_bounds(problem, bounds[c]).to_numpy() for c in cols})
    fba_train = fba_growth_with_bounds(problem, b_train).to_numpy()
    return {
        "reservoir": {
            "oof": oof,
            "train": full.predict(X),
            "bounds_oof": bounds,
            "bounds_train": b_train,
            "head": full,
        },
        "fba_predicted_bounds": {"oof": fba_oof, "train": fba_train, "seconds": 0.0},
    }


def predict_from_run(run: str | os.PathLike, media: str | os.PathLike) -> pd.DataFrame:
    """Growth (reservoir and pFBA with its bounds) and bounds for new compositions.

    Args:
        run: a finished run folder of :func:`run_reservoir_study`.
        media: CSV with one 0/1 column per variable compound (an experiment table
            without growth columns works too), one row per medium.

    Returns:
        DataFrame indexed like the CSV: ``growth`` (reservoir, h^-1), ``fba_growth``
        (pFBA with the predicted bounds), then the bounds (mmol/gDW/h) per exchange id.
    """
    from kinflux.runs import RunFolder

    cfg = RunFolder.read_config(run)
    path = Path(media)
    if not path.is_file():
        raise ReservoirError(f"media file {path} not found")
    df = pd.read_csv(path, index_col=0)
    s = setup(cfg["experiments"], cfg["model"])
    design = s["design"]
    cols = {str(c).removesuffix("_i"): c for c in df.columns}
    missing = [v for v in design.variable_ids if v.removesuffix("_i") not in cols]
    if missing:
        raise ReservoirError(
            f"{path}: lacks composition column(s) {', '.join(missing)}; give one 0/1 column "
            "per variable compound of the run"
        )
    X = pd.DataFrame({v: df[cols[v.removesuffix("_i")]] for v in design.variable_ids})
    root = Path(cfg["cache"]) if cfg.get("cache") else Path(run) / "frozen"
    amn, _sub = _frozen(
        root,
        s,
        cfg.get("per_composition", 100),
        cfg["frozen_params"],
        cfg.get("reservoir_params", {}),
    )
    res = Reservoir.load(Path(run) / "reservoir.pt", amn)
    bounds = res.predict_bounds(X)
    out = pd.DataFrame(
        {"growth": res.predict(X), "fba_growth": fba_growth_with_bounds(s["problem"], bounds)},
        index=X.index,
    )
    return pd.concat([out, bounds_to_cobra(bounds)], axis=1)
