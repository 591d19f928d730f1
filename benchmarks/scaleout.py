"""Scale-out: the same pFBA training set on a local process pool and on Ray.

Builds one iJO1366 training set (media drawn around the 110 experimental media) three
times through :func:`kinflux.compute.map`: in-process (1 worker), on a local pool of
``--jobs`` workers, and on a local Ray started with ``num_cpus=--jobs`` (or an existing
cluster with ``--address auto``). Ray start-up is excluded from ``ray_s`` and reported
apart. "identical" is True when all three sets are bit-identical.

Usage:
    python benchmarks/scaleout.py [--quick] [--size N] [--jobs 2] [--address auto]

Last line: JSON {"tasks", "local_s", "ray_s", "identical", ...}.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small set (under a minute)")
    ap.add_argument("--size", type=int, default=None, help="growing media (default 600)")
    ap.add_argument("--jobs", type=int, default=2, help="workers for local and Ray")
    ap.add_argument("--model", default="iJO1366")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    args = ap.parse_args()
    size = args.size or (120 if args.quick else 600)

    import numpy as np
    import ray

    from kinflux.compute import set_threads
    from kinflux.datasets import data_path, medium_guide_path
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network
    from kinflux.flux.training_set import CHUNK, build_training_set

    set_threads(1)
    net = Network.load(args.model)
    guide = MediumGuide.from_csv(medium_guide_path(args.model))
    base = guide.base_media_from_csv(data_path("amn/iML1515_EXP.csv")) if guide.ratio == 0 else None

    def build(**kw):
        t0 = time.perf_counter()
        ts = build_training_set(net, guide, size, seed=0, base_media=base, **kw)
        return ts, time.perf_counter() - t0

    one, one_s = build(n_jobs=1)
    local, local_s = build(n_jobs=args.jobs, backend="local")
    t0 = time.perf_counter()
    init = {"address": args.address} if args.address else {"num_cpus": args.jobs}
    ray.init(include_dashboard=False, log_to_driver=False, **init)
    ray_start_s = time.perf_counter() - t0
    remote, ray_s = build(n_jobs=args.jobs, backend="ray", address=args.address)
    ray.shutdown()

    identical = all(
        np.array_equal(a.X, b.X) and np.array_equal(a.Y, b.Y)
        for a, b in ((one, local), (one, remote))
    )
    print(
        f"1 worker {one_s:.2f} s, local x{args.jobs} {local_s:.2f} s, "
        f"ray x{args.jobs} {ray_s:.2f} s"
    )
    print(
        json.dumps(
            {
                "tasks": int(np.ceil(one.metadata.get("drawn", size) / CHUNK)),
                "media": int(one.metadata.get("drawn", size)),
                "model": args.model,
                "workers": args.jobs,
                "single_s": round(one_s, 2),
                "local_s": round(local_s, 2),
                "ray_s": round(ray_s, 2),
                "ray_start_s": round(ray_start_s, 2),
                "local_speedup": round(one_s / local_s, 2),
                "ray_speedup": round(one_s / ray_s, 2),
                "identical": bool(identical),
            }
        )
    )


if __name__ == "__main__":
    main()
