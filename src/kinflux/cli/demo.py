"""The ``kinflux demo`` job: a short end-to-end run on bundled data (< 1 minute on CPU)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from kinflux.cli.common import console


def run_demo(out: str) -> None:
    """Flux half: 200-medium e_coli_core pFBA set, then a small AMN-QP on it.
    Kinetic half: strain_1 stability and the ORACLE incidence of 200 Km draws.
    """
    import numpy as np

    from kinflux.cli.flux import show_warnings, summary_table
    from kinflux.datasets import medium_guide_path
    from kinflux.flux.media import MediumGuide
    from kinflux.flux.network import Network
    from kinflux.flux.training_set import build_training_set

    folder = Path(out)
    console.rule("[bold]1. e_coli_core pFBA training set")
    net = Network.load("e_coli_core")
    console.print(f"{net!r}")
    guide = MediumGuide.from_csv(medium_guide_path("e_coli_core"))
    with show_warnings():
        ts = build_training_set(net, guide, 200, mode="UB", seed=0, progress=True)
    path = ts.save(folder / "train_UB.npz", force=True)
    console.print(summary_table(ts.summary(), ts.seconds, f"pFBA training set -> {path}"))
    sv = float(np.abs(net.S @ ts.Y.T).max())
    console.print(f"max |S v| over all samples: {sv:.2e} mmol/gDW/h")

    console.rule("[bold]2. AMN-QP on 150 media, tested on 50")
    _demo_amn(net, ts, folder)

    console.rule("[bold]3. Kinetic model varma_strain_1: stability and ORACLE incidence")
    _demo_kinetic()


def _demo_amn(net, ts, folder: Path) -> None:
    from kinflux.flux.amn import AMN
    from kinflux.flux.metrics import evaluate
    from kinflux.flux.problem import FluxProblem

    t0 = time.perf_counter()
    amn = AMN(FluxProblem.from_training_set(ts, net), arch="AMN-QP", epochs=150, n_threads=1)
    amn.fit(ts.X[:150], ts.Y[:150], progress=True)
    scores = evaluate(amn, ts.X[150:], ts.Y[150:])
    amn.save(folder / "amn_qp.pt", force=True)
    table = Table(title=f"AMN-QP ({amn.n_params_} parameters, {time.perf_counter() - t0:.1f} s)")
    table.add_column("held-out metric")
    table.add_column("value", justify="right")
    table.add_row("growth Q²", f"{scores['growth_r2']:.3f}")
    table.add_row("all-flux Q²", f"{scores['all_flux_r2']:.3f}")
    table.add_row("mean ||SV||² ((mmol/gDW/h)²)", f"{scores['SV2']:.3g}")
    console.print(table)


def _demo_kinetic() -> None:
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.dynamics import lambda_max
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.oracle import oracle_sample
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.steady import SteadyState
    from kinflux.kinetic.validity import lambda_partition

    model = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), model)
    params = ss.fill_constants(model.default_parameters(batch=1))
    lam = float(lambda_max(model.jacobian(ss.x[None], params))[0])
    partition = lambda_partition(134.0, 24.0)
    res = oracle_sample(KineticProblem(model, ss, partition=partition), 200, seed=0)
    table = Table(title="varma_strain_1 around the strain_1 steady state")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("published parameters: lambda_max (h^-1)", f"{lam:.2f}")
    table.add_row("validity partition (h^-1; 134 min doubling, 24 min)", f"{partition:.2f}")
    table.add_row("ORACLE Km draws", str(len(res.lambda_max)))
    table.add_row("incidence of valid models", f"{res.incidence:.3f}")
    table.add_row("seconds", f"{res.seconds:.2f}")
    console.print(table)
