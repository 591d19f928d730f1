"""Table-1-style comparison of ANN baselines and AMNs (Faure et al. 2023).

Datasets:
    - e_coli_core: 1000 UB samples from the bundled guide (ratio 0.5);
    - iJO1366: 1000 UB samples from the iML1515 guide around the 110 experimental media.

For each dataset and architecture: k-fold cross-validation (growth and all-flux Q^2,
mean ||S V||^2 of out-of-fold predictions), seconds per epoch and parameter count.

Usage:
    python benchmarks/amn_table1.py [--quick] [--models e_coli_core,iJO1366]
        [--archs ANN-Dense,ANN-SV,AMN-QP,AMN-LP,AMN-UB,AMN-W] [--folds 5] [--epochs 200]
        [--markdown docs/amn_table1.md]

Last line: JSON {"rows": [{"model", "arch", "growth_Q2_cv", "all_flux_Q2_cv", "SV2",
"s_per_epoch", "params"}, ...]}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from kinflux.compute import set_threads

DEFAULT_ARCHS = "ANN-Dense,ANN-SV,AMN-QP,AMN-LP,AMN-UB,AMN-W"


def dataset(model: str, size: int, seed: int):
    from kinflux.datasets import data_path, medium_guide_path
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network
    from kinflux.flux.training_set import build_training_set

    net = Network.load(model)
    guide = MediumGuide.from_csv(medium_guide_path(model))
    base = None
    if guide.ratio == 0:
        base = guide.base_media_from_csv(data_path("amn/iML1515_EXP.csv"))
    return net, build_training_set(net, guide, size, mode="UB", seed=seed, base_media=base)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="e_coli_core, 300 samples, 2 folds")
    ap.add_argument("--models", default=None)
    ap.add_argument("--archs", default=DEFAULT_ARCHS)
    ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--folds", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--n-iter", type=int, default=None, help="mechanistic iterations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--markdown", default=None, help="also write the table as Markdown here")
    args = ap.parse_args()
    set_threads(args.threads)  # small dense nets: 1 thread is fastest on CPU
    models = (args.models or ("e_coli_core" if args.quick else "e_coli_core,iJO1366")).split(",")
    size = args.size or (300 if args.quick else 1000)
    folds = args.folds or (2 if args.quick else 5)
    epochs = args.epochs or (150 if args.quick else 200)

    from kinflux.flux.amn import AMN
    from kinflux.flux.metrics import cross_validate
    from kinflux.flux.problem import FluxProblem

    rows = []
    for model in models:
        net, ts = dataset(model, size, args.seed)
        for arch in args.archs.split(","):
            t0 = time.perf_counter()

            amn = AMN(
                FluxProblem.from_training_set(ts, net),
                arch=arch,
                epochs=epochs,
                n_iter=args.n_iter,
                random_state=args.seed,
            )
            cv = cross_validate(amn, ts.X, ts.Y, folds=folds, random_state=args.seed)
            row = {
                "model": model,
                "arch": arch,
                "samples": len(ts),
                "folds": folds,
                "epochs": epochs,
                "growth_Q2_cv": round(cv["growth_Q2_cv"], 4),
                "all_flux_Q2_cv": round(cv["all_flux_Q2_cv"], 4),
                "SV2": float(f"{cv['SV2']:.4g}"),
                "s_per_epoch": round(cv["s_per_epoch"], 4),
                "params": cv["params"],
                "seconds": round(time.perf_counter() - t0, 1),
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    if args.markdown:
        from kinflux.io import atomic_write

        keys = list(rows[0])
        with atomic_write(args.markdown, "w") as fh:
            fh.write("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n")
            for r in rows:
                fh.write("| " + " | ".join(str(r[k]) for k in keys) + " |\n")
    print(json.dumps({"rows": rows}, default=lambda o: float(np.asarray(o))))


if __name__ == "__main__":
    main()
