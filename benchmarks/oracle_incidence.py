"""Incidence of valid kinetic models under ORACLE-style unbiased sampling (no learning).

For each model and steady state: unbiased Km draws (sigma ~ U(0, 1), Km = [S] sigma /
(1 - sigma), within RENAISSANCE's ln(Km / (mol/L)) in [-25, 3], i.e. 1.39e-11 .. 20.1 M),
Keq from the displacements, Vmax back-calculated, reduced Jacobian, lambda_max; a set is
valid when lambda_max < -2.5 h^-1 (``lambda_partition(134, 24)``), in the steady state's
own unit scaling. ``incidence_old_bounds`` repeats the draw with the bounds kinflux used
before (1.3e-11 .. 20 read as mM but converted as if uM: 1.3e-14 .. 0.02 M);
``incidence_training_scaling`` judges the same sets at the partition equivalent to
-2.5 h^-1 in RENAISSANCE's training scaling (density 1200 g/L x gDW/gWW 0.25 = 300 gDW/L;
-3.50 h^-1 for the anthranilate reactor's 419.9 gDW/L).

Rows:
- ``kin_varma/strain_1``: kin_varma.yml around the bundled TFA profile of strain_1.
- ``kin_varma_anthranilate``: profiles drawn by :func:`kinflux.kinetic.sampling.
  sample_steady_states` with the published constraints (growth >= 0.26 h^-1,
  anthranilate secretion >= 0.14 mmol/gDW/h).

Usage:
    python benchmarks/oracle_incidence.py [--quick] [--samples N] [--seed S]

``--quick``: 200 parameter sets per model (anthranilate: 2 profiles x 100), < 1 min;
default: 5000 per model (anthranilate: 10 profiles x 500). ``models_per_s`` counts
sampling + Keq + Vmax + Jacobian + eigenvalues (steady-state sampling excluded).

Last line: JSON {"rows": [{"model", "steady_states", "samples", "incidence",
"incidence_old_bounds", "incidence_training_scaling", "partition_training_scaling",
"lambda_max_median", "models_per_s"}, ...]}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

#: Km bounds (mol/L) of kinflux before the fix: (1.3e-11, 20) "mM" converted as uM
OLD_KM_BOUNDS_MOLAR = (1.3e-14, 0.02)


def _row(name: str, model, states, n: int, seed: int) -> dict:  # noqa: ANN001
    from kinflux.kinetic.oracle import oracle_sample
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.units import RENAISSANCE_TRAINING_SCALING

    problems = [KineticProblem(model, ss) for ss in states]
    oracle_sample(problems[0], min(n, 200), seed=seed)  # warm-up, untimed
    lms, lms_old, parts, t = [], [], [], 0.0
    for i, pb in enumerate(problems):
        r = oracle_sample(pb, n, seed=seed + i)
        assert float(r.residual.max()) <= 1e-8, "parameter sets must reproduce the steady state"
        lms.append(r.lambda_max)
        t += r.seconds
        old = KineticProblem(model, pb.steady_state, km_bounds_molar=OLD_KM_BOUNDS_MOLAR)
        lms_old.append(oracle_sample(old, n, seed=seed + i).lambda_max)
        parts.append(pb.partition_in(RENAISSANCE_TRAINING_SCALING))
    lm, lm_old = torch.cat(lms), torch.cat(lms_old)
    part_t = torch.cat([torch.full((n,), p) for p in parts])
    ok = lm[~lm.isnan()]
    return {
        "model": name,
        "steady_states": len(states),
        "samples": int(lm.numel()),
        "incidence": round(float((lm < -2.5).double().mean()), 4),
        "incidence_old_bounds": round(float((lm_old < -2.5).double().mean()), 4),
        "incidence_training_scaling": round(float((lm < part_t).double().mean()), 4),
        "partition_training_scaling": round(sum(parts) / len(parts), 4),
        "lambda_max_median": round(float(ok.median()), 4) if ok.numel() else None,
        "models_per_s": round(lm.numel() / t, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (under a minute)")
    ap.add_argument("--samples", type=int, default=None, help="parameter sets per steady state")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = args.samples or (200 if args.quick else 5000)

    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.steady import SteadyState

    rows = []
    t0 = time.perf_counter()
    m = KineticModel.from_yaml(kinetic_model_path("kin_varma"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    rows.append(_row("kin_varma/strain_1", m, [ss], n, args.seed))
    print(
        f"# kin_varma/strain_1 done in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
        flush=True,
    )

    try:
        from kinflux.kinetic.sampling import anthranilate_constraints, sample_steady_states
    except ImportError as exc:  # sampler not available
        print(f"# anthranilate row skipped: {exc}", file=sys.stderr)
    else:
        t0 = time.perf_counter()
        ma = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
        n_ss = 2 if args.quick else 10
        samples = sample_steady_states(ma, n_ss, anthranilate_constraints(ma), seed=args.seed)
        states = [samples.profile(i) for i in range(n_ss)]
        per = max(1, n // n_ss)
        rows.append(_row("kin_varma_anthranilate", ma, states, per, args.seed))
        print(
            f"# anthranilate done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True
        )
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
