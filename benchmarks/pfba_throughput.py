"""pFBA throughput: a plain loop of ``cobra.flux_analysis.pfba`` versus kinflux.

Both solve the same media on iJO1366 (media drawn from the bundled iML1515 guide
around the 110 experimental media), single process. kinflux keeps one HiGHS LP alive
and changes only bounds between media.

Usage:
    python benchmarks/pfba_throughput.py [--quick] [--media N] [--model iJO1366]

Last line: JSON {"media", "cobra_s_per_medium", "kinflux_s_per_medium", "speedup",
"max_growth_abs_diff", "max_total_flux_rel_diff"}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few media (under a minute)")
    ap.add_argument("--media", type=int, default=None, help="number of media (default 100)")
    ap.add_argument("--model", default="iJO1366")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = args.media or (10 if args.quick else 100)

    from cobra.flux_analysis import pfba

    from kinflux.datasets import data_path, medium_guide_path
    from kinflux.flux.dataset import essential_setup
    from kinflux.flux.fba import FluxSolver, cobra_exchange_bounds
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network

    net = Network.load(args.model)
    guide = MediumGuide.from_csv(medium_guide_path(args.model))
    base = None
    if guide.ratio == 0:
        base = guide.base_media_from_csv(data_path("amn/iML1515_EXP.csv"))
    _, open_inflows = essential_setup(net, guide)
    media = guide.draw(n, np.random.default_rng(args.seed), base_media=base)

    # kinflux: one persistent solver (construction time counted).
    t0 = time.perf_counter()
    solver = FluxSolver(net, medium_ids=guide.inflow_ids, open_inflows=open_inflows)
    k_results = [solver.pfba(x) for x in media]
    t_kinflux = time.perf_counter() - t0

    # COBRApy: the plain loop a user writes.
    model = net.model
    obj_id = net.reaction_ids[net.objective_index]
    c_growth, c_total = [], []
    t0 = time.perf_counter()
    for x in media:
        with model:
            for rid, lb in cobra_exchange_bounds(net, guide.inflow_ids, x, open_inflows).items():
                model.reactions.get_by_id(rid).lower_bound = lb
            try:
                sol = pfba(model)
                c_growth.append(float(sol.fluxes[obj_id]))
                c_total.append(float(sol.objective_value))
            except Exception:  # infeasible
                c_growth.append(float("nan"))
                c_total.append(float("nan"))
    t_cobra = time.perf_counter() - t0

    k_growth = np.array([r.growth if r.status == "optimal" else np.nan for r in k_results])
    k_total = np.array([r.total_flux for r in k_results])
    c_growth_a, c_total_a = np.array(c_growth), np.array(c_total)
    ok = np.isfinite(k_growth) & np.isfinite(c_growth_a)
    result = {
        "media": n,
        "model": args.model,
        "solved_both": int(ok.sum()),
        "cobra_s_per_medium": t_cobra / n,
        "kinflux_s_per_medium": t_kinflux / n,
        "speedup": t_cobra / t_kinflux,
        "max_growth_abs_diff": float(np.max(np.abs(k_growth[ok] - c_growth_a[ok]), initial=0)),
        "max_total_flux_rel_diff": float(
            np.max(np.abs(k_total[ok] - c_total_a[ok]) / np.abs(c_total_a[ok]), initial=0)
        ),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
