"""Scores of flux predictions and k-fold cross-validation of AMNs.

``R2`` on training data and ``Q2`` on held-out data (CV folds or a test set) are both
scikit-learn's :func:`~sklearn.metrics.r2_score` (``1 - SSE/SST``); for "all fluxes"
over the flattened ``(n_samples * n_reactions)`` matrix. Folds come from
:class:`~sklearn.model_selection.KFold` (shuffled, seeded).

Example:
    >>> flat_r2([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]])
    1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kinflux import KinfluxError
from kinflux.progress import ProgressArg, progress_bar

if TYPE_CHECKING:  # pragma: no cover
    from kinflux.flux.amn import AMN

__all__ = ["flat_r2", "evaluate", "cross_validate", "mass_balance"]


def flat_r2(y_true: Any, y_pred: Any) -> float:
    """``r2_score`` over all entries (flattened); NaN when ``y_true`` is constant."""
    from sklearn.metrics import r2_score

    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.size == 0 or np.all(t == t[0]):
        return float("nan")
    return float(r2_score(t, p))


def mass_balance(V: np.ndarray, S: np.ndarray) -> float:
    """Mean ``||S v||^2`` ((mmol/gDW/h)^2) over the rows ``v`` of ``V`` ``(n, n_reactions)``."""
    return float((((np.asarray(V) @ S.T) ** 2).sum(axis=1)).mean())


def evaluate(amn: AMN, X: Any, Y: Any) -> dict[str, float]:
    """R^2 of growth and of all fluxes, and mean ``||S V||^2`` of the predictions."""
    V = np.asarray(amn.predict(X, as_frame=False))
    Y = np.asarray(Y, dtype=float)
    g = amn.network.objective_index
    return {
        "growth_r2": flat_r2(Y[:, g], V[:, g]),
        "all_flux_r2": flat_r2(Y, V),
        "SV2": mass_balance(V, amn.network.S),
    }


class _FitCheckpoint:
    """Epoch checkpoints of one fit inside a run folder (see ``AMN.fit``)."""

    def __init__(self, run: Any, name: str, every: int) -> None:
        self.run, self.name, self.every = run, name, every

    def load(self) -> dict[str, Any] | None:
        return self.run.load_checkpoint(self.name)

    def save(self, state: dict[str, Any]) -> None:
        self.run.save_checkpoint(state, self.name)

    def discard(self) -> None:
        """Remove the epoch checkpoint once its fit's result is saved."""
        (self.run.work / "checkpoints" / self.name).unlink(missing_ok=True)


def cross_validate(
    amn: AMN,
    X: np.ndarray,
    Y: np.ndarray,
    folds: int = 5,
    random_state: int = 0,
    progress: ProgressArg = False,
    run: Any = None,
    checkpoint_every: int = 10,
    splitter: Any = None,
) -> dict[str, Any]:
    """k-fold cross-validation of (clones of) ``amn``.

    Args:
        amn: an unfitted AMN (cloned for every fold).
        X: media ``(n, n_medium)``; Y: fluxes ``(n, n_reactions)``.
        folds: number of folds, >= 2.
        random_state: seed of the fold assignment.
        progress: bar (or callback) over all epochs of all folds.
        run: optional :class:`kinflux.runs.RunFolder`: finished folds are kept as
            checkpoints and skipped on resume; fits checkpoint every
            ``checkpoint_every`` epochs.
        splitter: any scikit-learn splitter (default
            ``KFold(folds, shuffle=True, random_state=random_state)``).

    Returns:
        ``growth_R2``/``all_flux_R2`` (training, mean over folds), ``growth_Q2_cv``/
        ``all_flux_Q2_cv`` (pooled out-of-fold predictions), ``SV2`` (mean over
        out-of-fold predictions), ``s_per_epoch``, ``params``, ``predictions``.
    """
    import torch
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    if splitter is None and folds < 2:
        raise KinfluxError(f"folds must be >= 2 for cross-validation, got {folds}")
    if splitter is None and folds > len(X):
        raise KinfluxError(f"{folds} folds need at least {folds} samples, got {len(X)}")
    V_oof = np.zeros_like(Y)
    train_scores, s_epoch, params = [], [], 0
    if splitter is None:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
    splits = list(splitter.split(X))
    folds = len(splits)
    epochs = int(amn.epochs)
    with progress_bar(folds * epochs, "CV epochs", progress) as bar:
        for k, (tr, te) in enumerate(splits):
            done = run.load_checkpoint(f"fold_{k}.pt") if run is not None else None
            if done is None:
                model = clone(amn)

                def tick(d: int, _t: int, info: dict, k: int = k) -> None:
                    bar.update(k * epochs + d, fold=f"{k + 1}/{folds}", **info)

                ckpt = _FitCheckpoint(run, f"fit_{k}.pt", checkpoint_every) if run else None
                model.fit(X[tr], Y[tr], progress=tick, checkpoint=ckpt)
                score = evaluate(model, X[tr], Y[tr])
                done = {
                    "pred": torch.as_tensor(model.predict(X[te], as_frame=False)),
                    "scores": score,
                    "s_per_epoch": model.seconds_per_epoch_,
                    "params": model.n_params_,
                }
                if run is not None:
                    run.save_checkpoint(done, f"fold_{k}.pt")
                    ckpt.discard()
                    run.log(f"fold {k + 1}/{folds}: training growth R2 {score['growth_r2']:.4f}")
            V_oof[te] = done["pred"].numpy()
            train_scores.append(done["scores"])
            s_epoch.append(done["s_per_epoch"])
            params = done["params"]
            bar.update((k + 1) * epochs, fold=f"{k + 1}/{folds}")
    g = amn.network.objective_index
    return {
        "growth_R2": float(np.mean([s["growth_r2"] for s in train_scores])),
        "all_flux_R2": float(np.mean([s["all_flux_r2"] for s in train_scores])),
        "growth_Q2_cv": flat_r2(Y[:, g], V_oof[:, g]),
        "all_flux_Q2_cv": flat_r2(Y, V_oof),
        "SV2": mass_balance(V_oof, amn.network.S),
        "s_per_epoch": float(np.mean(s_epoch)),
        "params": params,
        "predictions": V_oof,
    }
