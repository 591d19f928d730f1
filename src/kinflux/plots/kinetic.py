"""Figures of the kinetic half: relaxation trajectories and lambda_max distributions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kinflux.plots import pyplot, save_figure

__all__ = ["simulation_figure", "lambda_max_histogram"]


def simulation_figure(sim: Any, path: str | os.PathLike, n_species: int = 8) -> Path:
    """Relative deviation ``x / x_steady - 1`` of the species that move most.

    One panel per trajectory (at most 4); the ``n_species`` species with the largest
    deviation over all trajectories are drawn and labelled, the others summarised by a
    grey band (their min-max). Time in h.
    """
    plt = pyplot()
    dev = sim.relative_deviation()  # (n, T, V)
    n = min(dev.shape[0], 4)
    score = np.nanmax(np.abs(dev), axis=(0, 1))
    top = list(np.argsort(-np.nan_to_num(score))[:n_species])
    rest = [j for j in range(dev.shape[2]) if j not in set(top)]
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n + 1.5, 3.6), sharey=True, squeeze=False)
    colors = plt.get_cmap("tab10")
    for b, ax in enumerate(axes[0]):
        if rest:
            ax.fill_between(
                sim.t,
                np.nanmin(dev[b][:, rest], axis=1),
                np.nanmax(dev[b][:, rest], axis=1),
                color="0.85",
                label=f"other {len(rest)} species (range)",
            )
        for k, j in enumerate(top):
            ax.plot(
                sim.t, dev[b][:, j], color=colors(k % 10), lw=1.2, label=_label(sim.variables[j])
            )
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_xlabel("time (h)")
        ax.set_title(f"perturbed state {b + 1}")
    axes[0][0].set_ylabel("x / x_steady - 1")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
    name = sim.metadata.get("model", "")
    fig.suptitle(
        f"{name}: return to the steady state after a {sim.metadata.get('perturb', 0):.0%} "
        f"perturbation (lambda_max {sim.lambda_max:.3g} h$^{{-1}}$)"
    )
    fig.tight_layout()
    return save_figure(fig, path)


def _label(species: str) -> str:
    """matplotlib hides labels starting with "_" (SKiMpy's prefix of ids like _13dpg_c)."""
    return species[1:] if species.startswith("_") else species


def lambda_max_histogram(
    lambda_max: Any, partition: float, path: str | os.PathLike, title: str = ""
) -> Path:
    """Histogram of lambda_max (h^-1) with the validity partition marked."""
    plt = pyplot()
    lam = np.asarray(lambda_max, dtype=float)
    lam = lam[np.isfinite(lam)]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    clipped = np.clip(
        lam, np.percentile(lam, 1) if lam.size else -1, np.percentile(lam, 99) if lam.size else 1
    )
    ax.hist(clipped, bins=60, color="tab:blue", alpha=0.8)
    ax.axvline(partition, color="tab:red", lw=1.5, label=f"partition {partition:g} h$^{{-1}}$")
    valid = float((lam < partition).mean()) if lam.size else 0.0
    ax.set_xlabel("lambda_max (h$^{-1}$, 1-99 % range)")
    ax.set_ylabel("parameter sets")
    ax.set_title(title or f"lambda_max of {lam.size} parameter sets; incidence {valid:.3f}")
    ax.legend(frameon=False)
    fig.tight_layout()
    return save_figure(fig, path)
