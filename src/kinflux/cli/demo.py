"""The ``kinflux demo`` job: a short end-to-end run on bundled data."""

from __future__ import annotations

from pathlib import Path

from kinflux.cli.common import console


def run_demo(out: str) -> None:
    """Build a 200-medium e_coli_core training set and print its summary."""
    import numpy as np

    from kinflux.cli.flux import summary_table
    from kinflux.datasets import medium_guide_path
    from kinflux.flux.dataset import build_training_set
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network

    folder = Path(out)
    console.rule("[bold]kinflux demo — e_coli_core training set")
    net = Network.load("e_coli_core")
    console.print(f"{net!r}")
    guide = MediumGuide.from_csv(medium_guide_path("e_coli_core"))
    ts = build_training_set(net, guide, 200, mode="UB", seed=0, progress=True)
    path = ts.save(folder / "train_UB.npz", force=True)
    console.print(summary_table(ts.summary(), ts.seconds, f"pFBA training set -> {path}"))
    sv = float(np.abs(net.S @ ts.Y.T).max())
    console.print(f"max |S v| over all samples: {sv:.2e} mmol/gDW/h")
