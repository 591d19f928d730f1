"""RENAISSANCE generators trained by evolution strategies: incidence, speed, generation.

Problems:
- ``kin_varma_anthranilate`` on profiles sampled with the published constraints
  (growth >= 0.26 h^-1, anthranilate secretion >= 0.14 mmol/gDW/h; seed 0). Rule for
  choosing them: screen ``--candidates`` sampled profiles with ORACLE
  (``--oracle-draws`` unbiased Km sets, seed 0) and keep the ``--profiles`` with the
  lowest ORACLE incidence among those where it finds at least one valid model
  (lambda_max < -2.5 h^-1): the hardest profiles that are still feasible.
- ``kin_varma`` with the bundled strain_1 TFA profile.

On each: ``--repeats`` trainings of ``--generations`` with the improved rule (the
default of ``kinflux kinetic train-generator --update improved``) and with the
published rule (evostra, sigma 0.01, lr 1e-3 x 0.95 per generation), 20 members x 100
models per generation, incidence reward, partition -2.5 h^-1 in kinflux's scaling.
The anthranilate incidence is also reported at -2.5 h^-1 in RENAISSANCE's training
scaling (= -3.50 h^-1 in kinflux's). Then 1 million Km sets are generated and written
(``generate_1M_s``, with the matrix-multiply floor of the same forward pass,
``generate_1M_floor_s``), and 1 million complete sets (Km, Keq, vmax) are generated,
completed and written (``complete_1M_s``).

Usage:
    python benchmarks/renaissance.py [--quick] [--profiles 1] [--repeats 10]
        [--generations 50] [--n-generate 1000000] [--skip-published]

``--quick``: 2 repeats x 3 generations of 6 members x 20 models, 100,000 generated sets
(times scaled to 1 million and marked ``"generate_n"``), 300 ORACLE draws; < 1-2 min.
Progress and one JSON line per finished training go to stderr.

Last line: JSON {"model", "profiles", "generations", "repeats", "partition",
"incidence_mean_final", "incidence_min_final", "incidence_mean_final_training_scaling",
"oracle_incidence", "published_rule_incidence_mean_final", "train_s_per_repeat",
"generate_1M_s", "generate_1M_floor_s", "complete_1M_s", ...} with the kin_varma row
and the generations to 90 % under ``"kin_varma_strain_1"`` and ``"rules"``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


def choose_profiles(k: int, candidates: int, draws: int, seed: int, rounding: bool = True):  # noqa: ANN201
    """The ``k`` screened profiles with the lowest nonzero ORACLE incidence."""
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.oracle import oracle_sample
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.sampling import anthranilate_constraints, sample_steady_states

    model = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
    t0 = time.perf_counter()
    cons = anthranilate_constraints(model)
    samples = sample_steady_states(model, candidates, cons, seed=seed, rounding=rounding)
    _log(f"{candidates} anthranilate profiles sampled in {time.perf_counter() - t0:.0f} s")
    chosen = []
    for i in range(candidates):
        pb = KineticProblem.from_samples(samples, i)
        r = oracle_sample(pb, draws, seed=0)
        _log(f"profile {i}: ORACLE incidence {r.incidence:.4f} ({draws} draws)")
        if r.incidence > 0:
            chosen.append((i, pb, r.incidence))
    return sorted(chosen, key=lambda c: (c[2], c[0]))[:k]


def train(problem, rule: str, repeats: int, generations: int, quick: bool, label: str):  # noqa: ANN001, ANN201
    """Fit ``repeats`` generators; returns (histories, seconds per repeat, last estimator)."""
    import pandas as pd

    from kinflux.kinetic.renaissance import RenaissanceGenerator

    size = {"population": 6, "n_models": 20} if quick else {}
    hs, secs, est = [], [], None
    for r in range(repeats):
        t0 = time.perf_counter()
        est = RenaissanceGenerator(generations=generations, update=rule, random_state=r, **size)
        est.fit(problem)
        secs.append(time.perf_counter() - t0)
        h = est.history_.assign(repeat=r, rule=rule)
        lam = est.lambda_max_[:, 0, :].double()
        h["incidence_training_scaling"] = [
            float((row < problem.partition_in(_training_scaling())).double().mean()) for row in lam
        ]
        hs.append(h)
        _log(
            json.dumps(
                {
                    "problem": label,
                    "rule": rule,
                    "repeat": r,
                    "seconds": round(secs[-1], 1),
                    "incidence": [round(x, 3) for x in h.incidence],
                }
            )
        )
    return pd.concat(hs, ignore_index=True), float(np.mean(secs)), est


def _training_scaling():  # noqa: ANN202
    from kinflux.kinetic.units import RENAISSANCE_TRAINING_SCALING

    return RENAISSANCE_TRAINING_SCALING


def summarize(h) -> dict:  # noqa: ANN001
    """Final mean/min incidence, min-max band and first generation with mean >= 0.9."""
    G = int(h.generation.max())
    last = h[h.generation == G]
    mean = h.groupby("generation").incidence.mean()
    reach = [int(g) for g, v in mean.items() if v >= 0.9]
    return {
        "incidence_mean_final": round(float(last.incidence.mean()), 4),
        "incidence_min_final": round(float(last.incidence.min()), 4),
        "band_final": round(float(last.incidence.max() - last.incidence.min()), 4),
        "generations_to_90": reach[0] if reach else None,
        "incidence_mean_final_training_scaling": round(
            float(last.incidence_training_scaling.mean()), 4
        ),
    }


def generation_speed(est, problem, n: int, out_dir: Path) -> dict:  # noqa: ANN001
    """Seconds to generate and write ``n`` Km sets, the matmul floor, and complete sets."""
    from kinflux.io import save_npz

    g = est.generator_
    t0, c0 = time.perf_counter(), time.process_time()
    lk = est.generate(n, chunk=50_000)
    save_npz(out_dir / "km.npz", {"log_km": lk.numpy()}, {"n": n}, force=True, compress=False)
    gen_s, gen_cpu = time.perf_counter() - t0, time.process_time() - c0
    # floor: the four matrix products of the same forward pass, nothing else
    ws = [lin.weight.detach().t().contiguous() for lin in g.layers]
    x = torch.randn(50_000, ws[0].shape[0])
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for _ in range(0, n, 50_000):
            h = x
            for w in ws:
                h = h @ w
    floor_s, floor_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    vcols = problem.layout.vmax_columns
    vmax = np.empty((n, len(vcols)))
    for s in range(0, n, 50_000):
        vmax[s : s + 50_000] = problem.parameters(lk[s : s + 50_000])[:, vcols].numpy()
    save_npz(
        out_dir / "sets.npz",
        {"log_km": lk.numpy(), "vmax": vmax, "base_parameters": problem.layout.base.numpy()},
        {"n": n},
        force=True,
        compress=False,
    )
    complete_s = gen_s + time.perf_counter() - t0
    complete_cpu = gen_cpu + time.process_time() - c0
    return {
        "generate_s": gen_s,
        "floor_s": floor_s,
        "complete_s": complete_s,
        "generate_cpu_s": gen_cpu,
        "floor_cpu_s": floor_cpu,
        "complete_cpu_s": complete_cpu,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--old-sampler",
        action="store_true",
        help="profiles from the isotropic hit-and-run of sessions 1-5 (reproduces docs)",
    )
    ap.add_argument("--profiles", type=int, default=1)
    ap.add_argument("--candidates", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--generations", type=int, default=None)
    ap.add_argument("--oracle-draws", type=int, default=None)
    ap.add_argument("--n-generate", type=int, default=None)
    ap.add_argument("--skip-published", action="store_true")
    ap.add_argument("--skip-strain-1", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    q = args.quick
    repeats = args.repeats or (2 if q else 10)
    gens = args.generations or (3 if q else 50)
    draws = args.oracle_draws or (300 if q else 5000)
    candidates = args.candidates or (3 if q else 20)
    n_gen = args.n_generate or (100_000 if q else 1_000_000)
    torch.set_num_threads(1)

    import pandas as pd

    from kinflux.kinetic.oracle import oracle_sample
    from kinflux.kinetic.problem import KineticProblem

    result: dict = {}
    chosen = choose_profiles(args.profiles, candidates, draws, args.seed, not args.old_sampler)
    if not chosen:
        raise SystemExit("no sampled profile with a valid ORACLE model; raise --candidates")
    from kinflux.kinetic.renaissance import RenaissanceGenerator

    untrained = RenaissanceGenerator(generations=0, n_models=1).fit(chosen[0][1])
    with tempfile.TemporaryDirectory(prefix="ren_bench_") as d:
        sp = generation_speed(untrained, chosen[0][1], n_gen, Path(d))
    scale = 1_000_000 / n_gen
    speed = {
        "generate_1M_s": round(sp["generate_s"] * scale, 2),
        "generate_1M_floor_s": round(sp["floor_s"] * scale, 2),
        "generate_floor_ratio": round(sp["generate_s"] / sp["floor_s"], 2),
        "complete_1M_s": round(sp["complete_s"] * scale, 2),
        "cpu_s": {k: round(v * scale, 2) for k, v in sp.items() if k.endswith("cpu_s")},
        "generate_n": n_gen,
    }
    _log(json.dumps(speed))
    hs, hp, secs = [], [], []
    for i, pb, _ in chosen:
        h, s, _ = train(pb, "improved", repeats, gens, q, f"anthranilate profile {i}")
        hs.append(h.assign(profile=i))
        secs.append(s)
        if not args.skip_published:
            h2, _, _ = train(pb, "published", repeats, gens, q, f"anthranilate profile {i}")
            hp.append(h2.assign(profile=i))
    imp = summarize(pd.concat(hs, ignore_index=True))
    pub = summarize(pd.concat(hp, ignore_index=True)) if hp else {}
    result.update(
        {
            "model": "kin_varma_anthranilate",
            "profiles": [i for i, _, _ in chosen],
            "generations": gens,
            "repeats": repeats,
            "partition": chosen[0][1].partition,
            "partition_training_scaling": round(chosen[0][1].partition_in(_training_scaling()), 4),
            "incidence_mean_final": imp["incidence_mean_final"],
            "incidence_min_final": imp["incidence_min_final"],
            "incidence_mean_final_training_scaling": imp["incidence_mean_final_training_scaling"],
            "oracle_incidence": [round(x, 4) for _, _, x in chosen],
            "published_rule_incidence_mean_final": pub.get("incidence_mean_final"),
            "train_s_per_repeat": round(float(np.mean(secs)), 1),
            "rules": {"improved": imp, "published": pub},
        }
    )
    if not args.skip_strain_1:
        pb = KineticProblem.bundled("kin_varma")
        o = oracle_sample(pb, draws, seed=0)
        h, s, _ = train(pb, "improved", repeats, gens, q, "kin_varma/strain_1")
        row = {"oracle_incidence": round(o.incidence, 4), "train_s_per_repeat": round(s, 1)}
        row.update({k: v for k, v in summarize(h).items() if "training" not in k})
        if not args.skip_published:
            h2, _, _ = train(pb, "published", repeats, gens, q, "kin_varma/strain_1")
            row["published"] = {k: v for k, v in summarize(h2).items() if "training" not in k}
        result["kin_varma_strain_1"] = row
    result.update(speed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
