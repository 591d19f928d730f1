"""Neural solvers (QP, LP = RNN-EB, UB = RNN-UB, W = RNN-W) against pFBA on e_coli_core.

50 media are drawn from the e_coli_core guide (seed 0) and solved by pFBA (HiGHS).
Every solver maximizes growth from a cold start (V0 = 0) and from the pFBA solution
perturbed by 10 % (V0 = V_pFBA * (1 + 0.1 N(0, 1))). QP and UB get the medium upper
bounds (UB mode); LP gets the exact pFBA uptakes (EB mode). W has no objective: its
branching weights are set from the mean pFBA fluxes of 50 *other* media (seed 1), then
it propagates 20 steps.

Each solver runs with the default (preconditioned) update and, for comparison, with the
published AMN rule (LP: dt 3e-4, UB: dt 5e-2, x0.7 after 10^4 iterations without
improvement; QP: plain gradient descent with momentum) for a capped number of iterations.

Usage: python benchmarks/neural_solvers.py [--quick]
The last printed line is one JSON object keyed by solver name.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from kinflux.compute import set_threads
from kinflux.datasets import medium_guide_path
from kinflux.flux.layers import LPLayer, QPLayer, UBLayer, WLayer
from kinflux.flux.media import MediumGuide
from kinflux.flux.network import Network
from kinflux.flux.problem import FluxProblem
from kinflux.flux.training_set import build_training_set


def r2(pred: np.ndarray, ref: np.ndarray) -> float:
    """Coefficient of determination of ``pred`` against ``ref`` (flattened)."""
    pred, ref = np.ravel(pred), np.ravel(ref)
    sst = float(((ref - ref.mean()) ** 2).sum())
    return 1.0 - float(((pred - ref) ** 2).sum()) / sst if sst > 0 else float("nan")


def run_layer(layer, x, v0, n_iter, growth_ref, every):
    """Run ``n_iter`` iterations; return fluxes, seconds, first iteration with R^2 >= 0.99."""
    hit: list[int] = []

    def cb(t: int, V: torch.Tensor) -> None:
        if not hit and r2(V[:, layer.objective_index].cpu().numpy(), growth_ref) >= 0.99:
            hit.append(t)

    t0 = time.perf_counter()
    with torch.no_grad():
        V = layer(x, v0=v0, n_iter=n_iter, callback=cb, callback_every=every)
    sec = time.perf_counter() - t0
    return V.cpu().numpy(), sec, (hit[0] if hit else None)


def run_w(layer: WLayer, x, v0, n_iter, growth_ref):
    hit = None
    t0 = time.perf_counter()
    with torch.no_grad():
        V = layer.v0(x) if v0 is None else v0
        for t in range(1, n_iter + 1):
            V = layer(x, v0=V, n_iter=1)
            if hit is None and r2(V[:, layer.objective_index].numpy(), growth_ref) >= 0.99:
                hit = t
    return V.numpy(), time.perf_counter() - t0, hit


def metrics(net: Network, V, Y, x_med, sec, hit) -> dict:
    S = net.S
    return {
        "growth_r2": round(r2(V[:, net.objective_index], Y[:, net.objective_index]), 5),
        "all_flux_r2": round(r2(V, Y), 5),
        "mean_SV": float(f"{np.abs(V @ S.T).mean():.3e}"),
        "iters_to_growth_r2_099": hit,
        "seconds": round(sec, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations (< 1 minute)")
    ap.add_argument("--size", type=int, default=50)
    args = ap.parse_args()
    set_threads(1)  # small dense products: threads only add overhead
    torch.set_default_dtype(torch.float64)
    n_iter = 3000 if args.quick else 20000
    n_pub = 5000 if args.quick else 100_000
    every = 100

    net = Network.load("e_coli_core")
    guide = MediumGuide.from_csv(medium_guide_path("e_coli_core"))
    ts = build_training_set(net, guide, args.size, seed=0)
    train = build_training_set(net, guide, args.size, seed=1)
    Y = ts.Y
    g_ref = ts.growth
    x_ub = torch.tensor(ts.X)
    x_eb = torch.tensor(Y[:, net.indices(guide.inflow_ids)])
    rng = np.random.default_rng(0)
    v_warm = torch.tensor(Y * (1.0 + 0.1 * rng.standard_normal(Y.shape)))
    ids = guide.inflow_ids
    ub = FluxProblem(net, ids, mode="UB")  # open_inflows None: the model's own bounds
    eb = FluxProblem(net, ids, mode="EB")

    solvers = {
        "QP": (
            QPLayer(ub, objective_weight=10.0),
            x_ub,
            QPLayer(ub, update="published", objective_weight=10.0),
        ),
        "LP": (
            LPLayer(eb, objective_weight=100.0),
            x_eb,
            LPLayer(eb, update="published"),
        ),
        "UB": (
            UBLayer(ub, objective_weight=100.0),
            x_ub,
            UBLayer(ub, update="published"),
        ),
    }
    out: dict[str, dict] = {}
    for name, (layer, x, pub) in solvers.items():
        V, sec, hit = run_layer(layer, x, None, n_iter, g_ref, every)
        res = metrics(net, V, Y, x, sec, hit)
        Vw, secw, hitw = run_layer(layer, x, v_warm, n_iter, g_ref, every)
        res["iterations"] = n_iter
        res["warm"] = metrics(net, Vw, Y, x, secw, hitw)
        Vp, secp, hitp = run_layer(pub, x, None, n_pub, g_ref, every)
        res["published_rule"] = {
            **metrics(net, Vp, Y, x, secp, hitp),
            "iterations": n_pub,
            "final_dt": pub.last_dt,
        }
        out[name] = res
        print(f"{name}: {json.dumps(res)}", flush=True)

    w = WLayer(ub, n_iter=20)
    w.init_from_fluxes(torch.tensor(train.Y))
    V, sec, hit = run_w(w, x_ub, None, 20, g_ref)
    res = metrics(net, V, Y, x_ub, sec, hit)
    Vw, secw, hitw = run_w(w, x_ub, v_warm, 20, g_ref)
    res["iterations"] = 20
    res["warm"] = metrics(net, Vw, Y, x_ub, secw, hitw)
    out["W"] = res
    print(f"W: {json.dumps(res)}", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
