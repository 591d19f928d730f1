"""Figures of the generative study (GAN versus probabilistic PCA on ln Km sets).

- :func:`kl_by_latent`: a KL estimate (nats) against the latent size for GAN and PPCA,
  with the training data's value (two real samples) as a dashed floor.
- :func:`projection`: real and generated sets on the first two principal axes of the
  real ones (ln Km, ln mol/L).

Example:
    >>> import tempfile, pathlib, pandas as pd
    >>> t = pd.DataFrame({"model": ["PPCA", "GAN", "PPCA", "GAN", "training data"],
    ...                   "latent": [1, 1, 2, 2, 0], "kl_joint": [3.0, 9.0, 2.0, 1.0, 0.1]})
    >>> p = kl_by_latent(t, pathlib.Path(tempfile.mkdtemp()) / "kl.png")
    >>> p.exists()
    True
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from kinflux.plots import pyplot, save_figure

__all__ = ["kl_by_latent", "projection"]

_COLOURS = {"PPCA": "tab:blue", "GAN": "tab:red", "cGAN": "tab:purple"}


def kl_by_latent(
    table: pd.DataFrame,
    path: str | os.PathLike,
    estimator: str = "kl_joint",
    title: str = "",
) -> Path:
    """KL (column ``estimator`` of ``table``) by latent size for GAN and PPCA.

    Args:
        table: the study's table (columns ``model``, ``latent``, ``estimator``).
        path: output image (format from the suffix).
        estimator: ``kl_joint``, ``kl_marginal`` or ``kl_means_hist``.
        title: figure title.

    Returns:
        The written path. The y axis is logarithmic when all values are positive.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    vals = []
    for model in ("PPCA", "GAN"):
        t = table[table.model == model].sort_values("latent")
        if t.empty:
            continue
        ax.plot(t.latent, t[estimator], "o-", color=_COLOURS[model], label=model)
        vals.append(t[estimator].to_numpy(dtype=float))
    floor = table[table.model == "training data"]
    if not floor.empty and np.isfinite(floor[estimator].iloc[0]):
        ax.axhline(float(floor[estimator].iloc[0]), ls="--", color="grey", label="training data")
        vals.append(floor[estimator].to_numpy(dtype=float))
    allv = np.concatenate(vals) if vals else np.array([])
    allv = allv[np.isfinite(allv)]
    if allv.size and (allv > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("latent size")
    ax.set_ylabel(f"{estimator} (nats)")
    ax.set_title(title or estimator)
    ax.legend()
    return save_figure(fig, path)


def projection(
    real: np.ndarray,
    generated: dict[str, np.ndarray],
    path: str | os.PathLike,
    title: str = "",
    max_points: int = 1000,
) -> Path:
    """Real and generated sets on the two leading principal axes of the real sets.

    Args:
        real: ``(n, d)`` real sets (ln Km).
        generated: label -> ``(m, d)`` generated sets; one panel each.
        path: output image.
        title: figure title.
        max_points: points drawn per set.

    Returns:
        The written path.
    """
    from sklearn.decomposition import PCA

    plt = pyplot()
    pca = PCA(n_components=2).fit(real)
    r = pca.transform(real[:max_points])
    k = max(len(generated), 1)
    fig, axes = plt.subplots(1, k, figsize=(4.0 * k, 4.0), squeeze=False)
    for ax, (label, g) in zip(axes[0], generated.items(), strict=False):
        g = np.asarray(g)[:max_points]
        g = g[np.isfinite(g).all(axis=1)]
        ax.scatter(r[:, 0], r[:, 1], s=3, alpha=0.4, color="grey", label="ORACLE (held out)")
        if len(g):
            p = pca.transform(g)
            colour = _COLOURS.get(label.split()[0], "tab:green")
            ax.scatter(p[:, 0], p[:, 1], s=3, alpha=0.4, color=colour, label=label)
        lo, hi = r.min(axis=0), r.max(axis=0)
        span = 0.5 * (hi - lo)
        ax.set_xlim(lo[0] - span[0], hi[0] + span[0])  # far outliers are cut off
        ax.set_ylim(lo[1] - span[1], hi[1] + span[1])
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, markerscale=3)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
