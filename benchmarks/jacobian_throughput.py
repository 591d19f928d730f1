"""Throughput of batched Jacobians + lambda_max for kin_varma.yml around strain_1.

Parameter sets: the Km of varma_strain_1 perturbed log-normally (sigma 0.5), Keq, Hill
coefficients and boundary concentrations from the file, vmax back-calculated so that
every set reproduces the strain_1 fluxes (so all are steady states of the same profile).

Measured in one run, on this machine, float64 CPU:
  (a) kinflux: batched analytic Jacobians + batched eigvals -> lambda_max;
  (b) loop: one model at a time, NumPy Jacobian (the same rate-law formulas evaluated
      on NumPy arrays with forward-mode duals, stoichiometry and link matrix products in
      NumPy) + scipy.linalg.eigvals;
  (c) floor: batched torch eigvals of random matrices of the same size, timed
      interleaved with (a) (best of 5 each), so that load from other jobs on the shared
      machine hits both alike.

kin_varma_anthranilate: parameter sets from ORACLE draws (Km bounds exp(-25)..exp(3) M)
around one sampled steady state, through :class:`~kinflux.kinetic.problem.KineticProblem`.

All three run under the same ``torch.set_num_threads`` (``--threads``, default 1): with
the 2-core machine shared with other jobs, intra-op threading made the elementwise
Jacobian kernels ~30x slower (OpenMP threads waiting on busy cores), and batched
``eigvals`` of 43x43 matrices gains nothing from it.

Accuracy: ``max_abs_lambda_diff`` compares kinflux with the loop. Both are also compared
with a reference computed outside the timings: scipy eigvals of the loop's Jacobian in
log-concentration form ``diag(x)^-1 J diag(x)`` (an exact similarity; checked against
40-digit mpmath inverse iteration on 10 models: errors ~1e-8 h^-1, whereas plain
LAPACK on ``J`` errs by up to ~2e-6 h^-1 on the slowest mode of these stiff Jacobians).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.linalg
import torch

from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.dynamics import lambda_max
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.parameterization import backcalculate_vmax
from kinflux.kinetic.ratelaws import Dual, group_rates
from kinflux.kinetic.steady import SteadyState


def make_batch(n: int, seed: int = 0) -> tuple[KineticModel, torch.Tensor, torch.Tensor]:
    """kin_varma structure, strain_1 values; ``n`` Km-perturbed, vmax-recomputed sets."""
    model = KineticModel.from_yaml(kinetic_model_path("kin_varma"))
    ref = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), model)
    base = model.default_parameters()
    ref_vals = ref.as_dict(ref.default_parameters())
    base = model.parameters_from_dict(
        {k: v for k, v in ref_vals.items() if not np.isnan(v)}, base=base
    )
    base = ss.fill_constants(base)
    g = torch.Generator().manual_seed(seed)
    p = base.expand(n, -1).clone()
    km = torch.tensor(model.parameter_indices("km"))
    p[:, km] = p[:, km] * torch.exp(0.5 * torch.randn(n, len(km), generator=g, dtype=torch.float64))
    p = backcalculate_vmax(model, ss.x, ss.fluxes, p)
    return model, ss.x, p


def numpy_jacobian(model: KineticModel, groups: list, x: np.ndarray, p: np.ndarray, mats: dict):
    """Reduced Jacobian of ONE model with NumPy (batch of 1, batch-last arrays)."""
    nv = model.n_variables
    const = mats["const"]
    conc = np.concatenate([x, p[const], [1.0]])[:, None]
    par = np.concatenate([p, [1.0]])[:, None]
    E = np.zeros((model.n_reactions, mats["n_layout"]))
    for g in groups:
        eye = np.eye(g.n_slots)
        out = group_rates(g, conc, par, eye=eye)
        der = np.broadcast_to(out.der, (len(g.rxn), 1, g.n_slots))[:, 0, :]
        slots = np.concatenate([g.sub_sp, g.prod_sp, g.mod_sp], axis=1)
        np.add.at(E, (np.repeat(g.rxn, g.n_slots), slots.reshape(-1)), der.reshape(-1))
    # compartment volume ratios (cell volume / compartment volume) of the independent rows
    num, den = mats["vol_num"], mats["vol_den"]
    ratio = np.where(num >= 0, p[np.maximum(num, 0)] / p[np.maximum(den, 0)], 1.0)
    return (ratio[:, None] * mats["S_ind"]) @ E[:, :nv] @ mats["L"]


def make_anthranilate_batch(n: int, seed: int = 0):
    """kin_varma_anthranilate: one sampled steady state, ``n`` ORACLE parameter sets."""
    from kinflux.kinetic.oracle import sample_log_km
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.sampling import anthranilate_constraints, sample_steady_states

    model = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
    samples = sample_steady_states(model, 1, anthranilate_constraints(model), seed=seed)
    problem = KineticProblem(model, samples.profile(0))
    log_km, _sigma = sample_log_km(problem, n, seed=seed)
    return model, problem.layout.x, problem.parameters(log_km)


def measure(model: KineticModel, x: torch.Tensor, p: torch.Tensor, n_loop: int) -> dict:
    """Figures (a), (b), (c) for one model and parameter batch ``p`` ``(n, n_params)``."""
    n, reps = len(p), 5
    # (a) kinflux batched and (c) the eigenvalue floor on random matrices of the same size,
    # interleaved (best of reps each) so that load from other jobs hits both alike
    m = model.n_independent
    R = torch.randn(n, m, m, generator=torch.Generator().manual_seed(1))
    lambda_max(model.jacobian(x, p))
    torch.linalg.eigvals(R)
    t_k, t_e = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        lam_k = lambda_max(model.jacobian(x, p))
        t_k.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        torch.linalg.eigvals(R)
        t_e.append(time.perf_counter() - t0)
    kin_rate = n / min(t_k)
    eig_rate = n / min(t_e)
    if not torch.isfinite(lam_k).all():
        raise SystemExit("non-finite lambda_max in the kinflux batch")

    # (b) per-model NumPy loop
    groups = [g.map(lambda t: t.numpy()) for g in model.groups]
    mats = {
        "const": np.array([model.parameter_index(s) for s in model.constants], dtype=int),
        "n_layout": model.n_variables + len(model.constants) + 1,
        "S_ind": model.S[model.independent_idx],
        "L": model.link,
        "vol_num": np.asarray(model._vol_num)[np.asarray(model.independent_idx)],
        "vol_den": np.asarray(model._vol_den)[np.asarray(model.independent_idx)],
    }
    xn, pn = x.numpy(), p.numpy()
    assert Dual is not None
    t0 = time.perf_counter()
    lam_l = []
    for b in range(n_loop):
        J = numpy_jacobian(model, groups, xn, pn[b], mats)
        lam_l.append(scipy.linalg.eigvals(J).real.max())
    loop_rate = n_loop / (time.perf_counter() - t0)
    lam_l = np.array(lam_l)
    lam_kn = lam_k[:n_loop].numpy()
    diff = float(np.max(np.abs(lam_l - lam_kn)))

    # reference (untimed): the loop's Jacobian in log-concentration form, scipy eigvals
    xi = xn[np.asarray(model.independent_idx)]
    lam_r = np.array(
        [
            scipy.linalg.eigvals(
                numpy_jacobian(model, groups, xn, pn[b], mats) * xi[None, :] / xi[:, None]
            ).real.max()
            for b in range(n_loop)
        ]
    )
    err_k = float(np.max(np.abs(lam_kn - lam_r)))
    err_l = float(np.max(np.abs(lam_l - lam_r)))

    stable = int((lam_k < 0).sum())
    print(f"jacobian size {m}x{m}; stable {stable}/{n}; loop timed on {n_loop} models")
    print(f"kinflux {kin_rate:.0f}/s  loop {loop_rate:.0f}/s  eig floor {eig_rate:.0f}/s")
    return {
        "models": n,
        "loop_models_per_s": round(loop_rate, 1),
        "kinflux_models_per_s": round(kin_rate, 1),
        "eig_only_models_per_s": round(eig_rate, 1),
        "speedup": round(kin_rate / loop_rate, 2),
        "fraction_of_eig_floor": round(kin_rate / eig_rate, 3),
        "max_abs_lambda_diff": diff,
        "max_abs_lambda_diff_vs_reference": err_k,
        "loop_max_abs_lambda_diff_vs_reference": err_l,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer loop models (< 1 minute)")
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (all paths)")
    ap.add_argument(
        "--no-anthranilate", action="store_true", help="skip the kin_varma_anthranilate figures"
    )
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(args.threads)
    n_loop = 100 if args.quick else args.models
    result = measure(*make_batch(args.models), n_loop)
    result["torch_threads"] = args.threads
    if not args.no_anthranilate:
        # same figures around a steady state sampled by kinflux (none is published)
        result["kin_varma_anthranilate"] = measure(
            *make_anthranilate_batch(args.models), min(n_loop, 50)
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
