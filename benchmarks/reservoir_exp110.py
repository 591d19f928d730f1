"""Reservoir computing on measured E. coli growth in 110 media (EXP110), with baselines.

Protocol (Faure et al. 2023): 10-fold shuffled KFold repeated with seeds 0, 1, 2;
Q^2 on each repeat's pooled out-of-fold predictions (mean +- sd of the repeats);
in-sample R^2 from a fit on all 110 media. Model: iJO1366 (iML1515 is not bundled),
reduced to the reactions active in the frozen part's pFBA training set.

Usage:
    python benchmarks/reservoir_exp110.py [--quick] [--out DIR] [--cache DIR] [--jobs N]

``--cache`` keeps the frozen AMN (11,000 pFBA samples and its fit) between runs; the
first run builds it. ``--recipe``: ``kinflux`` (default: the head also sets the fixed
carbon sources, 10 heads averaged) or ``published``. ``--quick``: 3 pFBA media per
composition, a small frozen AMN, 2 heads of 30 epochs, 5 folds, one repeat, 4 FBA
scalars and 3 BFGS iterations.

Last line: JSON {"reservoir_Q2", "reservoir_Q2_sd", "reservoir_R2_train",
"fba_predicted_bounds_Q2", "ols_Q2", "gbm_Q2", "rf_Q2", "ann_Q2", "fba_scaled_R2",
"fba_scaled_Q2", "fba_fitted_Q2", "seconds"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from kinflux.compute import set_threads


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="run folder (default: temporary)")
    ap.add_argument("--cache", type=Path, default=None, help="frozen-AMN cache folder")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--frozen-arch", default="ANN-Dense")
    ap.add_argument("--recipe", default="kinflux", choices=("kinflux", "published"))
    args = ap.parse_args(argv)
    set_threads(1)

    from kinflux.flux.reservoir_study import run_reservoir_study

    t0 = time.perf_counter()
    out = args.out or Path(tempfile.mkdtemp(prefix="reservoir_exp110_")) / "run"
    if args.quick:
        kw = {
            "folds": 5,
            "repeats": 1,
            "per_composition": 3,
            "frozen_params": {
                "arch": args.frozen_arch,
                "epochs": 10,
                "hidden": (32,),
                "patience": 0,
                "n_threads": 1,
            },
            "reservoir_params": {"epochs": 30, "batch_size": 5, "n_heads": 2},
            "baseline_params": {
                "fba_scaled": {"scales": (1.0, 2.0, 4.0, 8.0)},
                "fba_fitted": {"maxiter": 3},
            },
        }
    else:
        kw = {
            "folds": 10,
            "repeats": 3,
            "per_composition": 100,
            "frozen_params": {"arch": args.frozen_arch, "n_threads": 1},
        }
    table = run_reservoir_study(
        out, cache=args.cache, n_jobs=args.jobs, force=True, recipe=args.recipe, **kw
    )
    t = table.set_index("model")
    print(t.to_string(float_format=lambda v: f"{v:.4f}"), file=sys.stderr)
    result = {
        "reservoir_Q2": t.loc["reservoir", "Q2"],
        "reservoir_Q2_sd": t.loc["reservoir", "Q2_sd"],
        "reservoir_R2_train": t.loc["reservoir", "R2_train"],
        "fba_predicted_bounds_Q2": t.loc["fba_predicted_bounds", "Q2"],
        "ols_Q2": t.loc["ols", "Q2"],
        "gbm_Q2": t.loc["gbm", "Q2"],
        "rf_Q2": t.loc["rf", "Q2"],
        "ann_Q2": t.loc["ann", "Q2"],
        "fba_scaled_R2": t.loc["fba_scaled", "R2_train"],
        "fba_scaled_Q2": t.loc["fba_scaled", "Q2"],
        "fba_fitted_Q2": t.loc["fba_fitted", "Q2"],
        "seconds": time.perf_counter() - t0,
    }
    result = {k: round(float(v), 4) for k, v in result.items()}
    print(f"run folder: {out}", file=sys.stderr)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
