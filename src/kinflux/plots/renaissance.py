"""Figures of RENAISSANCE generator training (drawn from a run folder's tables).

- :func:`incidence_curve`: incidence of the parent over generations, mean over repeats
  with the min-max band (one line and band per group, e.g. per update rule);
- :func:`lambda_max_violins`: the distribution of lambda_max (h^-1) of the parent's
  models per generation, with the partition.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kinflux.plots import pyplot, save_figure

__all__ = ["incidence_curve", "lambda_max_violins"]


def incidence_curve(
    history: Any,
    path: str | os.PathLike,
    column: str = "incidence",
    group: str | None = None,
    title: str = "",
) -> Path:
    """Mean ``column`` over repeats per generation with a min-max band.

    Args:
        history: pandas DataFrame with ``generation``, ``repeat`` and ``column``
            (``metrics.csv`` of a run), optionally a ``group`` column.
        path: output image.
        column: what to plot (``incidence`` or ``reward``).
        group: column whose values get one line each (e.g. ``update``).
        title: figure title.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    groups = [(None, history)] if group is None else list(history.groupby(group))
    for name, df in groups:
        stats = df.groupby("generation")[column].agg(["mean", "min", "max"])
        n_rep = df["repeat"].nunique() if "repeat" in df else 1
        label = f"{name + ', ' if name else ''}mean of {n_rep} repeat{'s' * (n_rep > 1)}"
        (line,) = ax.plot(stats.index, stats["mean"], lw=1.6, label=label)
        ax.fill_between(
            stats.index, stats["min"], stats["max"], color=line.get_color(), alpha=0.2, lw=0
        )
    ax.set_xlabel("generation")
    ax.set_ylabel(column)
    if column == "incidence":
        ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title)
    return save_figure(fig, path)


def lambda_max_violins(
    lambda_max: np.ndarray,
    path: str | os.PathLike,
    partition: float | None = None,
    every: int | None = None,
    title: str = "",
) -> Path:
    """Distribution of lambda_max per generation, ``(generations, n_models)`` h^-1.

    Values are drawn as ``sign(x) log10(1 + |x|)`` (lambda_max spans decades on both
    sides of 0); NaN are left out. ``every``: show every k-th generation (default: about
    12 violins).
    """
    plt = pyplot()
    lam = np.asarray(lambda_max, dtype=np.float64)
    k = every or max(1, int(np.ceil(lam.shape[0] / 12)))
    idx = list(range(0, lam.shape[0], k))
    if idx[-1] != lam.shape[0] - 1:
        idx.append(lam.shape[0] - 1)

    def t(x: np.ndarray) -> np.ndarray:
        return np.sign(x) * np.log10(1.0 + np.abs(x))

    data = [t(lam[i][np.isfinite(lam[i])]) for i in idx]
    keep = [j for j, d in enumerate(data) if d.size]
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    if keep:
        ax.violinplot(
            [data[j] for j in keep],
            positions=[idx[j] for j in keep],
            widths=0.8 * k,
            showmedians=True,
        )
    if partition is not None:
        ax.axhline(
            t(np.array(partition)),
            color="r",
            lw=0.8,
            ls="--",
            label=f"partition {partition:g} h$^{{-1}}$",
        )
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("generation")
    ax.set_ylabel("sign(λ) log10(1 + |λ_max| / h⁻¹)")
    ax.set_title(title)
    return save_figure(fig, path)
