"""Measured growth in defined media, and the cross-validation protocol used on them.

An experiment table (e.g. the bundled EXP110, :func:`kinflux.datasets.load_exp110`)
has one row per medium: 0/1 columns for the *variable* compounds, named by exchange
(``EX_<met>_e`` or the split inflow ``EX_<met>_e_i``), and growth replicates
``GR_1..GR_k`` in h^-1 (NaN = no replicate). The other medium compounds are *fixed*:
always present at one level, taken from a medium guide (``level == 1`` columns).

Protocol (Faure et al. 2023, EXP110): shuffled k-fold cross-validation repeated with
seeds 0, 1, 2; ``Q^2`` on each repeat's pooled out-of-fold predictions, reported as
mean +- sd (population sd) of the repeats, plus ``R^2`` of the seed-averaged prediction.

Example:
    >>> exp = GrowthExperiments.from_table("EXP110", exchange_ids=None)
    >>> exp.compositions.shape, exp.n_excluded
    ((110, 10), 0)
    >>> round(q2_score([1.0, 2.0, 3.0], [1.0, 2.0, 2.0]), 3)
    0.5
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kinflux import KinfluxError
from kinflux.flux.metrics import flat_r2

__all__ = [
    "ExperimentError",
    "GrowthExperiments",
    "q2_score",
    "repeated_folds",
    "cross_val_growth",
    "growth_scores",
    "MediumDesign",
]

_REPLICATE = re.compile(r"^GR_\d+$")
_SUMMARY = ("GR_AVG", "GR_STD", "growth", "growth_sd")


class ExperimentError(KinfluxError):
    """An experiment table is malformed or does not fit the model."""


def q2_score(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """``1 - SSE/SST`` (``R^2`` in-sample, ``Q^2`` on held-out predictions); the same
    score as :func:`kinflux.flux.metrics.flat_r2`.

    Example:
        >>> q2_score([0.0, 1.0], [0.0, 1.0])
        1.0
    """
    return flat_r2(y_true, y_pred)


@dataclass
class GrowthExperiments:
    """Measured growth rates in media made of fixed and variable compounds.

    Attributes:
        compositions: 0/1 DataFrame ``(n_media, n_variable)``; columns are split inflow
            ids (``EX_<met>_e_i``), index the medium ids.
        growth: mean measured growth per medium (h^-1), Series over the same index.
        growth_sd: sd of the replicates (h^-1), NaN with a single replicate.
        excluded: medium ids dropped because they have no replicate.
        source: where the table came from (for messages and run configs).
    """

    compositions: pd.DataFrame
    growth: pd.Series
    growth_sd: pd.Series
    excluded: list[Any] = field(default_factory=list)
    source: str = "<memory>"

    @property
    def n_excluded(self) -> int:
        """Number of media left out for lack of a replicate."""
        return len(self.excluded)

    @property
    def variable_ids(self) -> list[str]:
        """Split inflow ids of the variable compounds (columns of :attr:`compositions`)."""
        return [str(c) for c in self.compositions.columns]

    @classmethod
    def from_table(
        cls,
        table: str | os.PathLike | pd.DataFrame = "EXP110",
        exchange_ids: Sequence[str] | None = None,
    ) -> GrowthExperiments:
        """Read an experiment table (``"EXP110"``: the bundled one, a CSV path or a DataFrame).

        Args:
            table: the table; compound columns hold 0/1 presence, ``GR_<k>`` replicates.
            exchange_ids: exchange ids of the model (``EX_<met>_e``, e.g.
                ``Network.exchange_ids``); compound columns are checked against them after
                stripping an ``_i`` suffix. None skips the check.

        Raises:
            ExperimentError: naming the table and the offending columns or rows.
        """
        if isinstance(table, pd.DataFrame):
            df, source = table.copy(), "<DataFrame>"
        elif str(table) == "EXP110":
            from kinflux.datasets import load_exp110

            df, source = load_exp110(), "EXP110 (bundled)"
        else:
            path = Path(table)
            if not path.is_file():
                raise ExperimentError(f"experiment table {path} not found")
            try:
                df = pd.read_csv(path, index_col=0)
            except Exception as exc:
                raise ExperimentError(f"{path}: not a readable CSV ({exc})") from exc
            source = str(path)
        reps = [c for c in df.columns if _REPLICATE.match(str(c))]
        comp_cols = [c for c in df.columns if c not in reps and c not in _SUMMARY]
        if not comp_cols:
            raise ExperimentError(f"{source}: no compound columns (EX_<met>_e or EX_<met>_e_i)")
        if not reps and "GR_AVG" not in df.columns and "growth" not in df.columns:
            raise ExperimentError(
                f"{source}: no growth columns; add replicates GR_1, GR_2, ... (h^-1)"
            )
        ids = [str(c).removesuffix("_i") for c in comp_cols]
        if exchange_ids is not None:
            known = set(exchange_ids)
            bad = [c for c, rid in zip(comp_cols, ids, strict=True) if rid not in known]
            if bad:
                raise ExperimentError(
                    f"{source}: column(s) {', '.join(map(str, bad))} are not exchanges of the "
                    "model; rename them to its exchange ids (EX_<met>_e) or drop them"
                )
        comp = df[comp_cols].apply(pd.to_numeric, errors="coerce")
        bad_rows = comp.index[~comp.isin([0, 1]).all(axis=1)].tolist()
        if bad_rows:
            raise ExperimentError(
                f"{source}: compound columns must be 0 or 1; rows {bad_rows[:5]} are not"
            )
        if reps:
            values = df[reps].apply(pd.to_numeric, errors="coerce")
            has = values.notna().any(axis=1)
            growth = values.mean(axis=1)
            sd = values.std(axis=1, ddof=1)
        else:
            col = "GR_AVG" if "GR_AVG" in df.columns else "growth"
            growth = pd.to_numeric(df[col], errors="coerce")
            has = growth.notna()
            sd_col = "GR_STD" if "GR_STD" in df.columns else "growth_sd"
            sd = df[sd_col] if sd_col in df.columns else pd.Series(np.nan, index=df.index)
        if not np.isfinite(growth[has]).all():
            raise ExperimentError(f"{source}: growth values must be finite numbers")
        excluded = df.index[~has].tolist()
        comp = comp.loc[has].astype(float)
        comp.columns = [f"{rid}_i" for rid in ids]
        if len(comp) < 2:
            raise ExperimentError(f"{source}: fewer than 2 media with a growth replicate")
        return cls(
            comp,
            growth[has].astype(float).rename("growth"),
            sd[has].astype(float).rename("growth_sd"),
            excluded,
            source,
        )

    def __len__(self) -> int:
        return len(self.compositions)


def repeated_folds(
    n: int, folds: int = 10, seeds: Sequence[int] = (0, 1, 2)
) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Shuffled k-fold splits repeated over ``seeds`` (scikit-learn ``KFold``).

    Returns:
        ``[(seed, fold, train_index, test_index), ...]`` in seed-major order.

    Example:
        >>> [(s, k, len(tr), len(te)) for s, k, tr, te in repeated_folds(5, 2, (0,))]
        [(0, 0, 2, 3), (0, 1, 3, 2)]
    """
    from sklearn.model_selection import KFold

    if folds < 2 or folds > n:
        raise ExperimentError(f"folds must be between 2 and {n}, got {folds}")
    out = []
    for seed in seeds:
        kf = KFold(n_splits=folds, shuffle=True, random_state=int(seed))
        for k, (tr, te) in enumerate(kf.split(np.arange(n))):
            out.append((int(seed), k, tr, te))
    return out


def _fit_predict(task: tuple) -> np.ndarray:
    make, X, y, tr, te, seed = task
    est = make(seed)
    est.fit(X[tr], y[tr])
    return np.asarray(est.predict(X[te]), dtype=float).ravel()


def cross_val_growth(
    make_estimator: Callable[[int], Any],
    X: np.ndarray,
    y: np.ndarray,
    folds: int = 10,
    seeds: Sequence[int] = (0, 1, 2),
    n_jobs: int = 1,
    backend: str = "local",
    progress: bool = False,
    description: str = "folds",
    initializer: Callable[..., None] | None = None,
    initargs: Sequence[Any] = (),
) -> pd.DataFrame:
    """Out-of-fold growth predictions ``(n, len(seeds))``, one column per repeat.

    Args:
        make_estimator: ``seed -> unfitted estimator`` with ``fit(X, y)``/``predict(X)``
            (a picklable top-level function or a ``functools.partial`` when ``n_jobs > 1``).
        X: inputs ``(n, n_features)``; y: measured growth ``(n,)`` (h^-1).
        folds, seeds: the protocol; each fold's estimator gets the repeat's seed.
        n_jobs, backend: workers for :func:`kinflux.compute.map`.
        initializer, initargs: run once per worker (e.g. to hand over a large frozen
            model through :func:`kinflux.compute.worker_state` instead of every task).

    Returns:
        DataFrame with columns ``seed_<s>``.
    """
    from kinflux.compute import map as cmap

    X = np.asarray(X)
    y = np.asarray(y, dtype=float)
    splits = repeated_folds(len(X), folds, seeds)
    tasks = [(make_estimator, X, y, tr, te, s) for s, _k, tr, te in splits]
    preds = cmap(
        _fit_predict,
        tasks,
        backend=backend,
        n_jobs=n_jobs,
        progress=progress,
        description=description,
        initializer=initializer,
        initargs=initargs,
    )
    out = pd.DataFrame(np.nan, index=range(len(X)), columns=[f"seed_{s}" for s in seeds])
    for (s, _k, _tr, te), p in zip(splits, preds, strict=True):
        out.loc[te, f"seed_{s}"] = p
    return out


def growth_scores(y: Sequence[float], oof: pd.DataFrame) -> dict[str, float]:
    """``Q2`` (mean over repeats), ``Q2_sd`` (population sd), per-repeat ``Q2_<seed>``,
    and ``Q2_avg``: ``Q^2`` of the prediction averaged over the repeats.

    Example:
        >>> oof = pd.DataFrame({"seed_0": [1.0, 2.0, 2.0], "seed_1": [1.0, 2.0, 3.0]})
        >>> s = growth_scores([1.0, 2.0, 3.0], oof)
        >>> round(s["Q2"], 3), round(s["Q2_sd"], 3), round(s["Q2_avg"], 3)
        (0.75, 0.25, 0.875)
    """
    yt = np.asarray(y, dtype=float)
    per = {f"Q2_{c.removeprefix('seed_')}": q2_score(yt, oof[c]) for c in oof.columns}
    vals = np.array(list(per.values()))
    return {
        "Q2": float(vals.mean()),
        "Q2_sd": float(vals.std(ddof=0)),
        "Q2_avg": q2_score(yt, oof.mean(axis=1)),
        **per,
    }


@dataclass(frozen=True)
class MediumDesign:
    """How 0/1 compositions become medium upper bounds (mmol/gDW/h).

    Attributes:
        medium_ids: every medium inflow id, in the column order of medium vectors.
        variable_ids: the variable compounds (columns of the compositions).
        fixed_bound: upper bound of every fixed compound (mmol/gDW/h; 2.2 for EXP110).

    Example:
        >>> d = MediumDesign(("EX_a_e_i", "EX_b_e_i", "EX_c_e_i"), ("EX_c_e_i", "EX_a_e_i"), 2.2)
        >>> d.bounds(np.array([[1.0, 0.0]]), levels=np.array([[5.0, 9.0]])).tolist()
        [[0.0, 2.2, 5.0]]
    """

    medium_ids: tuple[str, ...]
    variable_ids: tuple[str, ...]
    fixed_bound: float = 2.2

    @classmethod
    def from_guide(cls, guide: Any, variable_ids: Sequence[str]) -> MediumDesign:
        """Fixed compounds (``level == 1``) and their bound from a
        :class:`~kinflux.flux.media.MediumGuide`, plus the experiment's variable ones.

        Variable compounds of the guide that the experiment does not use are left out.
        Raises :class:`ExperimentError` when a variable compound is not in the guide or
        the fixed compounds have different bounds.
        """
        ids = [str(r) for r in guide.inflow_ids]
        missing = [r for r in variable_ids if r not in ids]
        if missing:
            raise ExperimentError(
                f"compound(s) {', '.join(missing)} are not in the medium guide {guide.source}; "
                "add them to the guide or drop them from the experiment table"
            )
        levels = np.asarray(guide.levels)
        fixed = [k for k, r in enumerate(ids) if levels[k] == 1 and r not in set(variable_ids)]
        values = np.unique(np.asarray(guide.max_values, dtype=float)[fixed])
        if len(values) > 1:
            raise ExperimentError(
                f"{guide.source}: fixed compounds have several max_value ({values.tolist()}); "
                "one common bound is expected"
            )
        bound = float(values[0]) if len(values) else 0.0
        keep = [r for k, r in enumerate(ids) if k in set(fixed) or r in set(variable_ids)]
        return cls(tuple(keep), tuple(str(r) for r in variable_ids), bound)

    @property
    def variable_index(self) -> np.ndarray:
        """Columns of the variable compounds in medium vectors, ``(n_variable,)``."""
        return np.array([self.medium_ids.index(r) for r in self.variable_ids], dtype=np.int64)

    @property
    def fixed_mask(self) -> np.ndarray:
        """Boolean mask of fixed compounds over ``medium_ids``."""
        mask = np.ones(len(self.medium_ids), dtype=bool)
        mask[self.variable_index] = False
        return mask

    def bounds(self, compositions: np.ndarray, levels: np.ndarray | float) -> np.ndarray:
        """Medium vectors ``(n, n_medium)``: fixed at ``fixed_bound``, variable present
        ones at ``levels`` (scalar, ``(n_variable,)`` or ``(n, n_variable)``), absent 0."""
        c = np.asarray(compositions, dtype=float)
        out = np.zeros((len(c), len(self.medium_ids)))
        out[:, self.fixed_mask] = self.fixed_bound
        out[:, self.variable_index] = c * np.broadcast_to(levels, c.shape)
        return out
