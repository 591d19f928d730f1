"""AMN training runs and prediction files on disk.

:func:`train_run` writes a :class:`kinflux.runs.RunFolder`: ``config.json`` (every
hyper-parameter from ``AMN.get_params()``, the data and its SHA-256, package versions),
``log.txt``, ``metrics.csv`` (one row), ``history.csv`` (per-epoch losses of the final
fit), ``model.pt``, ``checkpoints/`` (finished CV folds and epoch checkpoints) and
``figures/`` (parity plots, learning curve). ``resume=True`` continues an interrupted
run from its last checkpoint and reaches the same result as an uninterrupted one.

:func:`predict_file` turns a media file into a CSV of predicted fluxes; a prediction
that fails (NaN, e.g. an infeasible knocked-out medium) is an error, never a row.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kinflux import KinfluxError
from kinflux.flux.training_set import TrainingSet
from kinflux.progress import ProgressArg

__all__ = ["train_run", "predict_file", "run_config", "PredictionError"]


class PredictionError(KinfluxError):
    """Some predictions failed (non-finite); nothing was written."""


def run_config(amn: Any, data: Path, folds: int, test: Path | None, model: str | None) -> dict:
    """The ``config.json`` of a training run: data, CV and every AMN hyper-parameter."""
    from kinflux.io import sha256_file

    return {
        "data": str(data),
        "data_sha256": sha256_file(data),
        "test": None if test is None else str(test),
        "model": model,
        "folds": folds,
        "cross_validation": folds >= 2,
        "problem": {k: v for k, v in amn.problem.to_dict().items() if k != "unblocked_ids"},
        "hyperparameters": amn.hyperparameters(),
    }


def _check_folds(folds: int, n: int) -> None:
    if folds == 1 or folds < 0:
        raise KinfluxError(f"--folds {folds}: use 0 for no cross-validation, or 2 or more folds")
    if folds > n:
        raise KinfluxError(f"--folds {folds} exceeds the {n} samples of the training set")


def train_run(
    data: str | os.PathLike,
    out: str | os.PathLike,
    folds: int = 5,
    test: str | os.PathLike | None = None,
    model: str | None = None,
    force: bool = False,
    resume: bool = False,
    progress: ProgressArg = False,
    checkpoint_every: int = 10,
    **hyperparameters: Any,
) -> dict[str, Any]:
    """Cross-validate (``folds >= 2``; 0 = none), fit on all data, write the run folder.

    Args:
        data: training set ``.npz`` (``kinflux flux dataset``).
        out: run folder.
        folds: CV folds (0: no cross-validation; 1 is refused).
        test: optional independent test set ``.npz``.
        model: metabolic model of the training set (default: from its metadata).
        force: replace an existing run folder once this run succeeds.
        resume: continue an interrupted run of ``out``.
        progress: bars (or a callback) over CV epochs and the final fit.
        checkpoint_every: epochs between checkpoints.
        **hyperparameters: AMN hyper-parameters (:mod:`kinflux.flux.hyperparameters`).

    Returns:
        The metrics written to ``metrics.csv``.
    """
    from sklearn.base import clone

    from kinflux import plots
    from kinflux.flux.amn import AMN
    from kinflux.flux.hyperparameters import check_hyperparameters
    from kinflux.flux.metrics import _FitCheckpoint, cross_validate, evaluate
    from kinflux.flux.network import Network
    from kinflux.flux.problem import FluxProblem
    from kinflux.runs import RunFolder

    check_hyperparameters(hyperparameters)
    data = Path(data)
    ts = TrainingSet.load(data)
    _check_folds(folds, len(ts))
    te = TrainingSet.load(test) if test is not None else None
    net = Network.load(model) if model else None
    problem = FluxProblem.from_training_set(ts, net)
    if te is not None and te.medium_ids != ts.medium_ids:
        raise KinfluxError(f"{test}: its medium columns differ from those of {data}")
    amn = AMN(problem, **hyperparameters)
    config = run_config(amn, data, folds, None if test is None else Path(test), model)
    net = problem.network
    g = net.objective_index
    arch = amn.arch
    metrics: dict[str, Any] = {"arch": arch, "samples": len(ts), "folds": folds}
    with RunFolder(out, config, force=force, resume=resume) as run:
        if folds >= 2:
            cv = cross_validate(
                amn, ts.X, ts.Y, folds, amn.random_state, progress, run, checkpoint_every
            )
            pred = cv.pop("predictions")
            metrics.update(cv)
            plots.parity_plot(
                ts.Y[:, g],
                pred[:, g],
                run.file("figures/parity_growth_cv.png"),
                title=f"{arch} growth (CV)",
                label="growth (h^-1)",
            )
            plots.parity_plot(
                ts.Y,
                pred,
                run.file("figures/parity_fluxes_cv.png"),
                title=f"{arch} all fluxes (CV)",
            )
        final = clone(amn)
        ckpt = _FitCheckpoint(run, "final.pt", checkpoint_every)
        final.fit(ts.X, ts.Y, progress=progress, checkpoint=ckpt)
        train = evaluate(final, ts.X, ts.Y)
        metrics.update(
            {
                "growth_R2_final": train["growth_r2"],
                "all_flux_R2_final": train["all_flux_r2"],
                "SV2_train": train["SV2"],
                "s_per_epoch_final": final.seconds_per_epoch_,
                "params": final.n_params_,
            }
        )
        if te is not None:
            scores = evaluate(final, te.X, te.Y)
            metrics.update(
                {
                    "growth_Q2_test": scores["growth_r2"],
                    "all_flux_Q2_test": scores["all_flux_r2"],
                    "SV2_test": scores["SV2"],
                }
            )
            V = final.predict(te.X, as_frame=False)
            plots.parity_plot(
                te.Y[:, g],
                V[:, g],
                run.file("figures/parity_growth_test.png"),
                title=f"{arch} growth (test)",
                label="growth (h^-1)",
            )
        bad = [k for k, v in metrics.items() if isinstance(v, float) and not np.isfinite(v)]
        if bad and not all(k.startswith(("growth_R2", "growth_Q2")) for k in bad):
            raise KinfluxError(
                f"training gave non-finite metrics ({', '.join(bad)}); nothing saved"
            )
        final.save(run.file("model.pt"), force=True)
        ckpt.discard()
        run.write_table(pd.DataFrame(final.history_), "history.csv")
        plots.learning_curve(final.history_, run.file("figures/learning_curve.png"), title=arch)
        run.write_table(pd.DataFrame([metrics]), "metrics.csv")
        run.log(f"finished: {metrics}")
    return metrics


def _read_media(path: Path, medium_ids: list[str]) -> pd.DataFrame:
    from kinflux.flux.validation import read_media_table

    if path.suffix == ".npz":
        ts = TrainingSet.load(path)
        if ts.medium_ids != medium_ids:
            raise KinfluxError(
                f"{path}: its medium columns differ from the model's medium ids; use a set "
                "built from the same guide"
            )
        return pd.DataFrame(ts.X, columns=medium_ids)
    return read_media_table(path, medium_ids)


def predict_file(
    model_file: str | os.PathLike,
    data: str | os.PathLike,
    out: str | os.PathLike,
    model: str | None = None,
    knockout: list[str] | None = None,
    force: bool = False,
    project: bool | None = None,
    progress: ProgressArg = False,
) -> pd.DataFrame:
    """Predict split fluxes for the media in ``data``; write a CSV atomically.

    ``project``: replace each prediction by the closest exactly feasible flux
    distribution (see :meth:`AMN.predict`); default: only for knockouts. Raises
    :class:`PredictionError` (and writes nothing) when a prediction is not finite.
    """
    from kinflux.flux.amn import AMN
    from kinflux.flux.network import Network
    from kinflux.io import atomic_write, check_output

    out = check_output(out, force=force)
    net = Network.load(model) if model else None
    amn = AMN.load(model_file, net)
    X = _read_media(Path(data), list(amn.problem.medium_ids))
    if knockout:
        with amn.knockout(knockout, project=True if project is None else project):
            df = amn.predict(X, as_frame=True, progress=progress)
    else:
        df = amn.predict(X, as_frame=True, project=bool(project), progress=progress)
    bad = ~np.isfinite(df.to_numpy()).all(axis=1)
    if bad.any():
        rows = [str(i) for i in df.index[bad][:5]]
        raise PredictionError(
            f"{int(bad.sum())} of {len(df)} media have no feasible flux distribution "
            f"(rows {', '.join(rows)}{' ...' if bad.sum() > 5 else ''}); nothing written. "
            "Check those media and knocked-out reactions (e.g. an essential uptake removed)."
        )
    with atomic_write(out, "w") as fh:
        df.to_csv(fh, index=False)
    return df
