"""Figures of the reservoir study: measured versus predicted growth, one panel per model."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kinflux.plots import pyplot, save_figure

__all__ = ["parity_grid"]


def parity_grid(
    measured: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    title: str = "",
) -> Path:
    """Predicted versus measured growth (h^-1), one panel per model, R^2 in each title.

    Args:
        measured: measured growth ``(n,)``.
        predictions: model name -> predicted growth ``(n,)``.
        path: PNG (or any matplotlib format by suffix), written atomically.
        title: figure title.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "parity.png"
        >>> parity_grid(np.array([0.1, 0.2, 0.4]), {"ols": np.array([0.1, 0.25, 0.35])}, p).exists()
        True
    """
    plt = pyplot()
    y = np.asarray(measured, dtype=float)
    n = max(1, len(predictions))
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 3.0 * rows), squeeze=False)
    lo = float(min([y.min()] + [np.nanmin(p) for p in predictions.values()]))
    hi = float(max([y.max()] + [np.nanmax(p) for p in predictions.values()]))
    for ax, (name, pred) in zip(axes.ravel(), predictions.items(), strict=False):
        p = np.asarray(pred, dtype=float)
        sst = float(((y - y.mean()) ** 2).sum())
        r2 = 1.0 - float(((y - p) ** 2).sum()) / sst if sst > 0 else float("nan")
        ax.scatter(y, p, s=10, alpha=0.7, edgecolor="none")
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set_title(f"{name}  R² = {r2:.3f}", fontsize=9)
        ax.set_xlabel("measured growth (h$^{-1}$)", fontsize=8)
        ax.set_ylabel("predicted growth (h$^{-1}$)", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
