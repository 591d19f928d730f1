"""Outputs of the reservoir study: checkpoints, tables, figures, bounds for COBRApy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kinflux.flux.experiments import MediumDesign, growth_scores, q2_score
from kinflux.flux.reservoir import bounds_to_cobra

__all__ = ["MODELS", "markdown_table", "write_outputs", "to_checkpoint"]

#: Every model of the study, in table order.
MODELS = (
    "reservoir",
    "fba_predicted_bounds",
    "ols",
    "gbm",
    "rf",
    "ann",
    "fba_scaled",
    "fba_fitted",
)


def to_checkpoint(state: dict[str, Any]) -> dict[str, Any]:
    """Numbers and arrays of finished models (torch-loadable); the head stays in memory."""
    import torch

    out: dict[str, Any] = {}
    for name, rec in state.items():
        if name in ("reservoir", "fba_predicted_bounds"):
            continue  # recomputed on resume: cheap next to the frozen AMN (cached)
        out[name] = {
            "oof": torch.as_tensor(rec["oof"].to_numpy()),
            "train": torch.as_tensor(np.asarray(rec["train"], dtype=float)),
            "seconds": float(rec["seconds"]),
        }
    return out


def write_outputs(
    run: Any,
    state: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    seeds: tuple[int, ...],
    design: MediumDesign,
) -> pd.DataFrame:
    from kinflux.plots.reservoir import parity_grid

    rows, preds = [], {"medium": X.index, "measured": y}
    for name in MODELS:
        if name not in state:
            continue
        rec = state[name]
        oof = rec["oof"]
        if not isinstance(oof, pd.DataFrame):  # from a checkpoint
            oof = pd.DataFrame(np.asarray(oof), columns=[f"seed_{s}" for s in seeds])
        train = np.asarray(rec["train"], dtype=float)
        rows.append(
            {
                "model": name,
                **growth_scores(y, oof),
                "R2_train": q2_score(y, train),
                "seconds": float(rec.get("seconds", 0.0)),
            }
        )
        preds[f"{name}_oof"] = oof.mean(axis=1).to_numpy()
        preds[f"{name}_train"] = train
    table = pd.DataFrame(rows)
    run.write_table(table, "comparison.csv")
    with open(run.file("comparison.md"), "w") as fh:
        fh.write(markdown_table(table))
    pred = pd.DataFrame(preds)
    run.write_table(pred, "predictions.csv")
    oof_cols = {r["model"]: pred[f"{r['model']}_oof"] for r in rows}
    parity_grid(y, oof_cols, run.file("figures/parity_oof.png"), "out-of-fold (seed mean)")
    train_cols = {r["model"]: pred[f"{r['model']}_train"] for r in rows}
    parity_grid(y, train_cols, run.file("figures/parity_train.png"), "in-sample")
    if "reservoir" in state and "head" in state["reservoir"]:
        rec = state["reservoir"]
        run.write_table(bounds_to_cobra(rec["bounds_train"]), "bounds_in_sample.csv", index=True)
        for c, b in rec["bounds_oof"].items():
            run.write_table(bounds_to_cobra(b), f"bounds_oof_{c.replace('_', '')}.csv", index=True)
        rec["head"].save(run.file("reservoir.pt"), force=True)
    return table


def markdown_table(table: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a GitHub markdown table (floats rounded to ``digits``).

    Example:
        >>> print(markdown_table(pd.DataFrame({"model": ["ols"], "Q2": [0.79512]})), end="")
        | model | Q2 |
        |---|---|
        | ols | 0.7951 |
    """

    def cell(v: Any) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float | np.floating) else str(v)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines) + "\n"
