"""pFBA throughput: a plain loop of ``cobra.flux_analysis.pfba`` versus kinflux.

Both solve the same media on iJO1366 (media drawn from the bundled iML1515 guide
around the 110 experimental media), single process. kinflux keeps one HiGHS LP alive
and changes only bounds between media.

Usage:
    python benchmarks/pfba_throughput.py [--quick] [--media N] [--model iJO1366]

Parallel generation: the same media solved as training-set tasks
(``kinflux.compute.map`` with per-worker solvers) by 1 and by 2 local worker processes;
"parallel_speedup" is the ratio of those wall times (worker start-up included), and
"parallel_identical" says whether both gave bit-identical fluxes.

Last line: JSON {"media", "cobra_s_per_medium", "kinflux_s_per_medium", "speedup",
"max_growth_abs_diff", "max_total_flux_rel_diff", "parallel_media", "parallel_speedup",
"parallel_identical"}.
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
    ap.add_argument("--parallel-media", type=int, default=None, help="media for the 1 vs 2 run")
    args = ap.parse_args()
    n = args.media or (10 if args.quick else 100)
    n_par = args.parallel_media or (160 if args.quick else 640)

    from cobra.flux_analysis import pfba

    from kinflux.compute import set_threads
    from kinflux.datasets import data_path, medium_guide_path
    from kinflux.flux.fba import FluxSolver, cobra_exchange_bounds
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network
    from kinflux.flux.problem import FluxProblem
    from kinflux.flux.training_set import essential_setup

    set_threads(1)

    net = Network.load(args.model)
    guide = MediumGuide.from_csv(medium_guide_path(args.model))
    base = None
    if guide.ratio == 0:
        base = guide.base_media_from_csv(data_path("amn/iML1515_EXP.csv"))
    _, open_inflows = essential_setup(net, guide)
    problem = FluxProblem(net, guide.inflow_ids, open_inflows)
    media = guide.draw(n, np.random.default_rng(args.seed), base_media=base)

    # kinflux: one persistent solver (construction time counted).
    t0 = time.perf_counter()
    solver = FluxSolver(problem)
    k_results = [solver.pfba(x) for x in media]
    t_kinflux = time.perf_counter() - t0

    # COBRApy: the plain loop a user writes.
    model = net.model
    obj_id = net.reaction_ids[net.objective_index]
    c_growth, c_total = [], []
    t0 = time.perf_counter()
    for x in media:
        with model:
            for rid, lb in cobra_exchange_bounds(problem, x).items():
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
    result.update(parallel(problem, guide, base, n_par, args.seed))
    print(json.dumps(result))


def parallel(problem, guide, base, n: int, seed: int) -> dict:
    """Wall time of training-set pFBA tasks with 1 and 2 local workers, same media."""
    from kinflux import compute
    from kinflux.flux.training_set import CHUNK, _init_solver, _solve_chunk

    media = guide.draw(n, np.random.default_rng(seed + 1), base_media=base)
    tasks = [media[a:b] for a, b in compute.chunks(n, CHUNK)]
    times, outs = {}, {}
    for jobs in (1, 2):
        t0 = time.perf_counter()
        res = compute.map(
            _solve_chunk, tasks, n_jobs=jobs, initializer=_init_solver, initargs=(problem,)
        )
        times[jobs] = time.perf_counter() - t0
        outs[jobs] = [v for chunk in res for _, v in chunk]
    same = all(
        (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
        for a, b in zip(outs[1], outs[2], strict=True)
    )
    return {
        "parallel_media": n,
        "parallel_s_1_worker": round(times[1], 2),
        "parallel_s_2_workers": round(times[2], 2),
        "parallel_speedup": round(times[1] / times[2], 2),
        "parallel_identical": bool(same),
    }


if __name__ == "__main__":
    main()
