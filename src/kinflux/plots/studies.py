"""Figures of the RENAISSANCE studies (robustness, bioreactor, Km integration).

Each function writes one PNG through :func:`kinflux.plots.save_figure` and returns its path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kinflux.plots import pyplot, save_figure

__all__ = ["robustness_figure", "bioreactor_figure", "km_overlap_figure"]


def _band(ax, t: np.ndarray, y: np.ndarray, label: str, q: tuple[float, float]) -> None:  # noqa: ANN001
    y = np.where(np.isfinite(y), y, np.nan)
    if not np.isfinite(y).any():
        return
    med = np.nanmedian(y, axis=0)
    lo, hi = np.nanquantile(y, q[0], axis=0), np.nanquantile(y, q[1], axis=0)
    (line,) = ax.plot(t, med, label=label)
    ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.25, lw=0)


def robustness_figure(
    result: Any,
    path: str | os.PathLike,
    title: str = "",
    quantiles: tuple[float, float] = (0.1, 0.9),
) -> Path:
    """Normalized deviation from the steady state over time, one panel per group.

    Median (line) and ``quantiles`` band across models of the group's largest relative
    deviation ``max |x/x_ss - 1|`` (%); dashed: the tolerance and the check times.
    """
    plt = pyplot()
    groups = list(result.deviations)
    fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 3.0), sharey=True)
    axes = np.atleast_1d(axes)
    t = result.t
    keep = t > 0
    for ax, g in zip(axes, groups, strict=True):
        _band(ax, t[keep] * 60.0, 100.0 * result.deviations[g][:, keep], g, quantiles)
        ax.axhline(100.0 * result.tolerance, color="k", ls="--", lw=0.8)
        for m in result.config.get("check_minutes", (24.0, 34.0)):
            ax.axvline(m, color="grey", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(g)
        ax.set_xlabel("time (min)")
    axes[0].set_ylabel("max |x/x_ss - 1| (%)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def bioreactor_figure(result: Any, path: str | os.PathLike, title: str = "") -> Path:
    """Biomass and the reported medium species (g/L) over time: median, 5-95 % band and
    the full range (thin lines) across models (simulated; no measured data)."""
    plt = pyplot()
    curves = result.curves()
    fig, axes = plt.subplots(1, len(curves), figsize=(3.4 * len(curves), 3.0))
    axes = np.atleast_1d(axes)
    for ax, (name, y) in zip(axes, curves.items(), strict=True):
        _band(ax, result.t, y, name, (0.05, 0.95))
        if np.isfinite(y).any():
            ax.plot(result.t, np.nanmin(y, axis=0), color="grey", lw=0.5)
            ax.plot(result.t, np.nanmax(y, axis=0), color="grey", lw=0.5)
        ax.set_title(f"{name} (g/L)")
        ax.set_xlabel("time (h)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def km_overlap_figure(splits: Any, path: str | os.PathLike, title: str = "") -> Path:
    """Overlap score of held-out Km and incidence per split, with and without
    integration of measured Km."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.0, 3.0))
    s = np.asarray(splits["split"])
    a1.plot(s, splits["os_without"], "o-", label="without")
    a1.plot(s, splits["os_with"], "s-", label="with integration")
    a1.set_xlabel("split")
    a1.set_ylabel("held-out overlap score")
    a1.legend()
    a2.plot(s, splits["incidence_without"], "o-", label="without")
    a2.plot(s, splits["incidence_with"], "s-", label="with integration")
    a2.axhline(0.9, color="k", ls="--", lw=0.8)
    a2.set_xlabel("split")
    a2.set_ylabel("incidence")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
