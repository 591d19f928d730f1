"""Matplotlib figures for kinflux reports (written as PNG, headless-safe).

Shared helpers (:func:`pyplot`, :func:`save_figure`) and the generic figures live
here; each area keeps its own figures in a submodule (``kinflux.plots.flux``,
``kinflux.plots.kinetic``, ``kinflux.plots.renaissance``, ``kinflux.plots.generative``,
``kinflux.plots.reservoir``), all drawn through these helpers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["parity_plot", "learning_curve", "pyplot", "save_figure"]


def pyplot():
    """matplotlib.pyplot on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` atomically (format from the suffix) and close it."""
    from kinflux.io import atomic_write

    p = Path(path)
    with atomic_write(p, "wb") as fh:
        fig.savefig(fh, format=p.suffix.lstrip(".") or "png", dpi=130, bbox_inches="tight")
    pyplot().close(fig)
    return p


def parity_plot(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    path: str | os.PathLike,
    title: str = "",
    label: str = "flux (mmol/gDW/h)",
) -> Path:
    """Predicted versus reference values with the identity line and R^2 in the title."""
    plt = pyplot()
    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    sst = float(((y_true - y_true.mean()) ** 2).sum())
    r2 = 1.0 - float(((y_true - y_pred) ** 2).sum()) / sst if sst > 0 else float("nan")
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.scatter(y_true, y_pred, s=6, alpha=0.5, edgecolor="none")
    lo = float(min(y_true.min(), y_pred.min()))
    hi = float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.set_xlabel(f"reference {label}")
    ax.set_ylabel(f"predicted {label}")
    ax.set_title(f"{title}  R² = {r2:.3f}".strip())
    return save_figure(fig, path)


def learning_curve(history: list[dict], path: str | os.PathLike, title: str = "") -> Path:
    """Training (and validation) loss per epoch, log scale."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ep = [h["epoch"] for h in history]
    ax.semilogy(ep, [h["train_loss"] for h in history], label="train")
    if history and "val_loss" in history[0]:
        ax.semilogy(ep, [h["val_loss"] for h in history], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)
