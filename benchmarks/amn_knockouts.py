"""Single-reaction knockouts predicted by a trained AMN, against FBA, on e_coli_core.

An AMN is trained on wild-type pFBA data (UB media from the bundled guide). For every
single-reaction knockout of e_coli_core (exchanges and biomass excluded) and each
held-out medium it predicts the mutant's growth rate

- ``projected``: the knockout is masked in the mechanistic layer and the prediction is
  moved to the closest flux distribution the mutant can carry (HiGHS QP, distances in
  units of each flux's training spread) -- the default of ``AMN.knockout``;
- ``layer only``: masking plus 300 mechanistic iterations, no projection;

and compares it with FBA's maximal growth of the mutant in the same medium. A knockout
is called lethal when growth is below 1e-6 h^-1 (FBA: also when infeasible).

Usage:
    python benchmarks/amn_knockouts.py [--quick] [--arch AMN-QP] [--media 40]

Last line: JSON {"arch", "knockouts", "media", "pairs", "fba_lethal_fraction",
"projected": {"growth_r2", "growth_mae", "lethal_accuracy", "lethal_recall",
"lethal_precision"}, "layer_only": {...}, "seconds"}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

LETHAL = 1e-6  # h^-1


def scores(pred: np.ndarray, fba: np.ndarray) -> dict[str, float]:
    """Growth R^2 / MAE and lethal-call accuracy of ``pred`` against ``fba`` (flat)."""
    from kinflux.flux.metrics import flat_r2 as r2_score

    pred = np.nan_to_num(pred, nan=0.0)
    true_l, pred_l = fba < LETHAL, pred < LETHAL
    tp = int(np.sum(true_l & pred_l))
    return {
        "growth_r2": round(r2_score(fba, pred), 4),
        "growth_mae": round(float(np.mean(np.abs(pred - fba))), 4),
        "lethal_accuracy": round(float(np.mean(true_l == pred_l)), 4),
        "lethal_recall": round(tp / max(1, int(true_l.sum())), 4),
        "lethal_precision": round(tp / max(1, int(pred_l.sum())), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 samples, 100 epochs, 12 media")
    ap.add_argument("--arch", default="AMN-QP")
    ap.add_argument("--size", type=int, default=None, help="training samples")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--media", type=int, default=None, help="held-out media")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=None, help="write FBA-vs-AMN parity plots: PREFIX")
    args = ap.parse_args()
    from kinflux.compute import set_threads

    set_threads(1)
    size = args.size or (300 if args.quick else 1000)
    epochs = args.epochs or (100 if args.quick else 200)
    n_media = args.media or (12 if args.quick else 40)

    from kinflux.datasets import medium_guide_path
    from kinflux.flux.amn import AMN
    from kinflux.flux.fba import FluxSolver
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network
    from kinflux.flux.problem import FluxProblem
    from kinflux.flux.training_set import build_training_set

    t0 = time.perf_counter()
    net = Network.load("e_coli_core")
    guide = MediumGuide.from_csv(medium_guide_path("e_coli_core"))
    ts = build_training_set(net, guide, size + n_media, mode="UB", seed=args.seed)
    X_tr, Y_tr = ts.X[:size], ts.Y[:size]
    X_te = ts.X[size : size + n_media]
    problem = FluxProblem.from_training_set(ts, net)
    amn = AMN(problem, arch=args.arch, epochs=epochs, random_state=args.seed).fit(X_tr, Y_tr)
    g = net.objective_index
    biomass = net.reactions[g].original_id
    originals = []  # internal reactions of the original model, biomass excluded
    for sr in net.reactions:
        if sr.kind == "internal" and sr.original_id != biomass and sr.original_id not in originals:
            originals.append(sr.original_id)
    fba, projected, layer_only = [], [], []
    for ko in originals:
        parts = [sr.id for sr in net.reactions if sr.original_id == ko]
        solver = FluxSolver(problem)
        solver.set_bounds(parts, np.zeros(len(parts)))
        for x in X_te:
            solver.set_medium(x)
            fba.append(np.nan_to_num(solver.optimize(), nan=0.0))
        with amn.knockout([ko]):
            projected.append(amn.predict(X_te)[:, g])
        with amn.knockout([ko], project=False):
            layer_only.append(amn.predict(X_te)[:, g])
    fba_a = np.asarray(fba)
    if args.plot:
        from kinflux.plots import parity_plot

        for tag, pred in (("projected", projected), ("layer_only", layer_only)):
            parity_plot(
                fba_a,
                np.nan_to_num(np.concatenate(pred)),
                f"{args.plot}_{tag}.png",
                title=f"{args.arch} knockouts, {tag.replace('_', ' ')}",
                label="mutant growth (h^-1)",
            )
    out = {
        "arch": args.arch,
        "training_samples": size,
        "epochs": epochs,
        "knockouts": len(originals),
        "media": n_media,
        "pairs": int(fba_a.size),
        "fba_lethal_fraction": round(float(np.mean(fba_a < LETHAL)), 4),
        "projected": scores(np.concatenate(projected), fba_a),
        "layer_only": scores(np.concatenate(layer_only), fba_a),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
