"""Training runs of RENAISSANCE generators: repeats in a run folder, resume, generation.

:func:`train_generators` trains ``repeats`` independent generators
(:class:`~kinflux.kinetic.renaissance.RenaissanceGenerator`, repeat ``r`` seeded
``random_state + r``) on one kinetic problem and writes a run folder
(:class:`kinflux.runs.RunFolder`)::

    config.json              hyper-parameters, repeats, the problem's summary
    problem.json             the kinetic problem (model file, steady state, bounds, partition)
    metrics.csv              one row per repeat and curve point (reward, incidence, lr, ...)
    repeats.csv              final reward and incidence per repeat
    lambda_max/repeat_R.npz  lambda_max (h^-1) of every model of the parent and every
                             member, (generations + 1, 1 + population, n_models)
    parents/repeat_R.pt      the final parent's weights (and every ``save_every``-th)
    checkpoints/             state after the last finished generation (for ``resume``)
    figures/                 incidence over generations, lambda_max per generation

An interrupted run continues with ``resume=True`` and ends with the same weights as an
uninterrupted one (every generation's random draws are derived from the seed and the
generation index). :func:`generate_parameter_sets` draws complete parameter sets (Km,
Keq, vmax; optionally lambda_max and validity) from a finished run into one ``.npz``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinflux import KinfluxError
from kinflux.kinetic.renaissance import RenaissanceGenerator, evaluate_log_km
from kinflux.runs import RunError, RunFolder

__all__ = [
    "train_generators",
    "load_generator",
    "load_problem",
    "generate_parameter_sets",
    "problem_to_dict",
    "problem_from_dict",
]


def problem_to_dict(problem: Any) -> dict[str, Any]:
    """A :class:`~kinflux.kinetic.problem.KineticProblem` as JSON-able data (model file
    path, steady state in model units, Km bounds in mol/L, partition in h^-1)."""
    fixed = getattr(problem, "fixed", None)
    if fixed is not None:  # a FixedKmProblem view: the base problem plus its ranges
        d = problem_to_dict(problem.base)
        d["fixed_km_molar"] = {k: list(v) for k, v in fixed.items()}
        d["fixed_km_seed"] = problem.seed
        sat = getattr(problem, "saturation", None)
        d["km_saturation"] = None if sat is None else list(sat)
        return d
    ss = problem.steady_state
    return {
        "model_source": str(Path(problem.model.source).resolve()),
        "model_name": problem.model.name,
        "small_molecules": problem.model.small_molecules,
        "fluxes": ss.fluxes.tolist(),
        "fluxes_mmol": None if ss.fluxes_mmol is None else ss.fluxes_mmol.tolist(),
        "concentrations": dict(ss.concentrations),
        "log_displacements": dict(ss.log_displacements),
        "delta_g": dict(ss.delta_g),
        "scaling": dataclasses.asdict(ss.scaling),
        "km_bounds_molar": list(problem.km_bounds_molar),
        "partition": problem.partition,
    }


def problem_from_dict(d: dict[str, Any]) -> Any:
    """Inverse of :func:`problem_to_dict`."""
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.steady import SteadyState
    from kinflux.kinetic.units import Scaling

    src = Path(d["model_source"])
    if not src.is_file():
        raise KinfluxError(f"model file {src} of this run is missing; restore it to generate")
    model = KineticModel.from_yaml(src, small_molecules=d["small_molecules"])
    fm = d.get("fluxes_mmol")
    ss = SteadyState(
        model=model,
        fluxes=torch.tensor(d["fluxes"], dtype=torch.float64),
        concentrations=d["concentrations"],
        log_displacements=d["log_displacements"],
        delta_g=d["delta_g"],
        scaling=Scaling(**d["scaling"]),
        fluxes_mmol=None if fm is None else torch.tensor(fm, dtype=torch.float64),
    )
    problem = KineticProblem(
        model, ss, tuple(d["km_bounds_molar"]), d["partition"], accept_residual=True
    )
    sat = d.get("km_saturation")
    if d.get("fixed_km_molar") or sat:
        from kinflux.kinetic.known_km import FixedKmProblem

        fixed = {k: (float(v[0]), float(v[1])) for k, v in (d.get("fixed_km_molar") or {}).items()}
        problem = FixedKmProblem(
            problem,
            fixed,
            int(d.get("fixed_km_seed", 0)),
            saturation=None if not sat else (float(sat[0]), float(sat[1])),
        )
    return problem


def train_generators(
    problem: Any,
    out: str | os.PathLike,
    estimator: RenaissanceGenerator | None = None,
    repeats: int = 10,
    resume: bool = False,
    force: bool = False,
    save_every: int = 0,
    info: dict[str, Any] | None = None,
    progress: Any = False,
) -> Path:
    """Train ``repeats`` generators on ``problem`` into the run folder ``out``.

    Args:
        problem: a :class:`~kinflux.kinetic.problem.KineticProblem`.
        out: the run folder (refused if it exists, unless ``force``).
        estimator: hyper-parameters (an unfitted :class:`RenaissanceGenerator`);
            repeat ``r`` uses ``random_state + r``.
        repeats: independent trainings.
        resume: continue an interrupted run of the same configuration.
        force: replace a finished run once this one succeeds.
        save_every: also keep the parent's weights every this many generations (0: the
            final parent only).
        info: extra JSON-able facts for ``config.json`` (e.g. the model and profile).
        progress: bar over all generations of all repeats.

    Returns:
        the finished run folder.
    """
    import pandas as pd
    from sklearn.base import clone

    from kinflux.io import save_npz, write_json
    from kinflux.progress import progress_bar

    est = estimator if estimator is not None else RenaissanceGenerator()
    if int(repeats) < 1:
        raise KinfluxError(f"repeats must be >= 1, got {repeats}")
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in est.get_params().items()}
    params.pop("progress", None)
    config = {
        "estimator": params,
        "repeats": int(repeats),
        "save_every": int(save_every),
        "partition": problem.partition,
        "n_km": problem.n_km,
        "km_bounds_molar": list(problem.km_bounds_molar),
        "info": info or {},
        "n_jobs": est.n_jobs,
        "backend": est.backend,
    }
    config["estimator"].pop("n_jobs")
    config["estimator"].pop("backend")
    G = int(est.generations)
    with RunFolder(out, config, force=force, resume=resume) as run:
        ck = run.load_checkpoint() if run.resumed else None
        first = 0 if ck is None else int(ck["repeat"])
        histories: list[pd.DataFrame] = []
        if ck is not None:
            histories = [pd.DataFrame(h) for h in ck["done"]]
        if not run.resumed:
            write_json(run.file("problem.json"), problem_to_dict(problem))
        with progress_bar(int(repeats) * (G + 1), "generations", progress) as bar:
            bar.advance(first * (G + 1))
            for r in range(first, int(repeats)):
                state = ck["state"] if (ck is not None and r == first) else None
                if state is not None:
                    bar.advance(int(state["generation"]))
                t0 = time.perf_counter()
                seed = int(est.random_state) + r
                model = clone(est).set_params(random_state=seed, progress=False)

                def _save(st: dict[str, Any], r: int = r) -> None:
                    g = int(st["generation"])
                    run.save_checkpoint(
                        {"repeat": r, "state": st, "done": [h.to_dict("list") for h in histories]}
                    )
                    cur = pd.DataFrame(st["history"]).assign(repeat=r)
                    run.write_table(pd.concat([*histories, cur], ignore_index=True))
                    if save_every and g - 1 > 0 and (g - 1) % int(save_every) == 0 and g <= G:
                        _save_weights(
                            run.file(f"parents/repeat_{r}_gen_{g - 1}.pt"), st["weights"], g - 1
                        )
                    bar.advance(1)

                model.fit(problem, state=state, callback=_save)
                hist = model.history_.assign(repeat=r)
                hist["seconds_repeat"] = time.perf_counter() - t0
                histories.append(hist)
                save_npz(
                    run.file(f"lambda_max/repeat_{r}.npz"),
                    {"lambda_max": model.lambda_max_.numpy()},
                    {"unit": "h^-1", "axes": "generation, parent then members, model"},
                    force=True,
                )
                _save_weights(run.file(f"parents/repeat_{r}.pt"), model.generator_.flat(), G)
                run.save_checkpoint(
                    {"repeat": r + 1, "state": None, "done": [h.to_dict("list") for h in histories]}
                )
                run.write_table(pd.concat(histories, ignore_index=True))
                run.log(f"repeat {r}: final incidence {hist['incidence'].iloc[-1]:.3f}")
        allh = pd.concat(histories, ignore_index=True)
        last = allh[allh.generation == G]
        run.write_table(
            last[["repeat", "reward", "incidence"]].reset_index(drop=True), "repeats.csv"
        )
        _figures(run, allh)
    return Path(out)


def _save_weights(path: Path, weights: torch.Tensor, generation: int) -> None:
    from kinflux.io import atomic_write

    with atomic_write(path, "wb") as fh:
        torch.save({"weights": weights.detach().clone(), "generation": int(generation)}, fh)


def _figures(run: RunFolder, history: Any) -> None:
    from kinflux.plots.renaissance import incidence_curve, lambda_max_violins

    incidence_curve(history, run.file("figures/incidence.png"))
    lam = np.load(run.work / "lambda_max" / "repeat_0.npz")["lambda_max"]
    partition = RunFolder.read_config(run.work)["partition"]
    lambda_max_violins(lam[:, 0, :], run.file("figures/lambda_max.png"), partition)


def load_generator(run: str | os.PathLike, repeat: int | None = None) -> RenaissanceGenerator:
    """The fitted generator of one repeat of a finished run (default: the repeat with
    the highest final incidence)."""
    import pandas as pd

    from kinflux.kinetic.generators import KmGenerator

    p = Path(run)
    cfg = RunFolder.read_config(p)
    if repeat is None:
        rep = pd.read_csv(p / "repeats.csv")
        repeat = int(rep.sort_values(["incidence", "reward"], ascending=False).repeat.iloc[0])
    wp = p / "parents" / f"repeat_{int(repeat)}.pt"
    if not wp.is_file():
        raise RunError(f"{p}: no parent weights for repeat {repeat} ({wp.name}); see repeats.csv")
    est = RenaissanceGenerator(**{**cfg["estimator"], "hidden": tuple(cfg["estimator"]["hidden"])})
    lo, hi = (float(np.log(v)) for v in cfg["km_bounds_molar"])
    g = KmGenerator(cfg["n_km"], est.latent_dim, tuple(est.hidden), lo, hi, est.output_map)
    g.load_flat(torch.load(wp, weights_only=True)["weights"])
    est.generator_ = g.eval().requires_grad_(False)
    est.n_km_ = cfg["n_km"]
    est.repeat_ = int(repeat)
    return est


def load_problem(run: str | os.PathLike) -> Any:
    """The :class:`~kinflux.kinetic.problem.KineticProblem` a run was trained on."""
    from kinflux.io import read_json

    p = Path(run) / "problem.json"
    if not p.is_file():
        raise RunError(f"{run} is not a finished generator run (no problem.json)")
    return problem_from_dict(read_json(p))


def generate_parameter_sets(
    run: str | os.PathLike,
    n: int,
    out: str | os.PathLike,
    repeat: int | None = None,
    random_state: int = 0,
    chunk: int = 50_000,
    with_lambda_max: bool = False,
    force: bool = False,
    progress: Any = False,
) -> dict[str, Any]:
    """Draw ``n`` complete parameter sets from a trained run and write one ``.npz``.

    Written arrays: ``log_km`` ``(n, n_km)`` float32 ln(mol/L) and ``km_names``; ``keq``
    ``(n_keq,)`` (the same for every set: Keq follows from the steady state) and
    ``keq_names``; ``vmax`` ``(n, n_vmax)`` float64 uM/h and ``vmax_names``;
    ``base_parameters`` ``(n_params,)`` with ``km_columns``, ``vmax_columns`` and
    ``parameter_names`` (set ``i`` is ``base`` with its Km (uM) and vmax written into
    those columns); with ``with_lambda_max``: ``lambda_max`` ``(n,)`` h^-1 and ``valid``.

    Returns:
        a summary dict (n, seconds, incidence when computed, out).
    """
    from kinflux.io import check_output, save_npz
    from kinflux.progress import progress_bar

    out = check_output(out, force)
    est = load_generator(run, repeat)
    problem = load_problem(run)
    t0 = time.perf_counter()
    log_km = est.generate(int(n), random_state=random_state, chunk=chunk, progress=progress)
    lay = problem.layout
    vcols = lay.vmax_columns
    vmax = np.empty((int(n), len(vcols)), dtype=np.float64)
    lam = np.empty(int(n), dtype=np.float64) if with_lambda_max else None
    with progress_bar(int(n), "complete sets", progress) as bar:
        for s in range(0, int(n), int(chunk)):
            lk = log_km[s : s + chunk]
            if hasattr(problem, "fixed_log_km"):  # known Km: write the values used
                lk = problem.fixed_log_km(lk)
                log_km[s : s + chunk] = lk.to(log_km.dtype)
                p = problem.base.parameters(lk)
            else:
                p = problem.parameters(lk)
            vmax[s : s + chunk] = p[:, vcols].numpy()
            if lam is not None:
                lam[s : s + chunk] = problem.lambda_max(p).numpy()
            bar.advance(p.shape[0])
    names = np.array(problem.parameter_names)
    kcols = [
        problem.parameter_names.index(nm)
        for nm in problem.parameter_names
        if nm.startswith("k_equilibrium_")
    ]
    arrays = {
        "log_km": log_km.numpy(),
        "km_names": np.array(problem.km_names),
        "keq": lay.base[kcols].numpy(),
        "keq_names": names[kcols],
        "vmax": vmax,
        "vmax_names": names[vcols.numpy()],
        "base_parameters": lay.base.numpy(),
        "km_columns": lay.km_columns.numpy(),
        "vmax_columns": vcols.numpy(),
        "parameter_names": names,
    }
    summary: dict[str, Any] = {"n": int(n), "repeat": est.repeat_, "run": str(run)}
    if lam is not None:
        valid = lam < problem.partition
        arrays["lambda_max"], arrays["valid"] = lam, valid
        summary["incidence"] = float(valid.mean())
    meta = {
        **summary,
        "random_state": random_state,
        "partition_per_h": problem.partition,
        "units": {"log_km": "ln mol/L", "vmax": "uM/h", "lambda_max": "h^-1"},
        "model": problem.model.name,
    }
    save_npz(out, arrays, meta, force=force, compress=False)
    summary["seconds"] = time.perf_counter() - t0
    summary["out"] = str(out)
    return summary


def evaluate_generated(run: str | os.PathLike, n: int = 1000, repeat: int | None = None) -> float:
    """Incidence of ``n`` fresh sets from a run's generator (h^-1 partition of the run)."""
    est, problem = load_generator(run, repeat), load_problem(run)
    lam = evaluate_log_km(problem, est.generate(n))
    return float((lam < problem.partition).double().mean())
