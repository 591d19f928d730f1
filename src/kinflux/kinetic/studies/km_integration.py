"""Integration of measured Michaelis constants into generator training.

RENAISSANCE fixes each known Km to its measured value +-20 %, drawn log-uniformly in
that range every time a parameter set is built, and scores how well the generator then
places the Km it was not told (held out) with the *overlap score*

    OS = |overlap(generated range, measured range)| / |generated range|

(1 when the generated range lies inside the measured one, 0 when they are disjoint).
kinflux computes ranges on the natural-log scale of Km (mol/L): the generated range of a
Km is ``[q_low, q_high]`` quantiles of its ln value over the valid generated sets
(default min and max, as the published ranges; the study also reports the central 90 %,
5-95 %, which a few outlying sets cannot widen), the measured range
``[ln(0.8 k), ln(1.2 k)]`` around the measured value ``k``; a zero-width generated range
scores 1 inside and 0 outside the measured one. The measured range is 0.41 ln units
wide, so a generated range of width ``w`` that contains it scores ``0.41 / w``.

Two ways to integrate (``integration``): ``"fix"`` is the published one (the integrated
Km fixed, nothing else changes). On kin_varma it leaves the held-out Km where they were:
validity barely couples Km there (largest correlation of two ln Km among valid ORACLE
sets 0.066), so fixing some says nothing about the others (docs/studies.md).
``"saturation"`` (kinflux's default) also uses what the measured values share: how
saturated the enzymes are, ``ln(Km / S)`` with ``S`` the steady-state concentration. The
free Km are drawn in the range of that quantity over the integrated Km (plus a margin of
1 ln unit each side) instead of the whole ``[log_km_low, log_km_high]`` box; held-out Km
whose saturation resembles the integrated ones then get narrower ranges around their
measured values.

- :class:`FixedKmProblem` is a view of a :class:`~kinflux.kinetic.problem.KineticProblem`
  whose ``parameters(log_km)`` replaces the fixed columns by log-uniform draws in their
  ranges, so any generator trains with known Km without a change to its code. A draw
  depends only on the row's values and the view's seed (a hash), so the same ln Km rows
  give the same parameters in every process and on every backend.
- :func:`known_km_from_model` reads published Km from a parameterized model file
  (``varma_strain_1.yml`` stands in for BRENDA, which kinflux does not ship);
  :func:`measured_set_lambda_max` checks that such a set is itself a valid model at the
  problem's steady state.
- :func:`km_integration_study` runs random splits of a set of Km into integrated and
  held-out ones, trains generators with and without integration (in parallel through
  :func:`kinflux.compute.map`) and reports OS and incidence.

Example:
    >>> import torch
    >>> from kinflux.kinetic.problem import KineticProblem
    >>> base = KineticProblem.bundled("kin_varma")
    >>> view = FixedKmProblem(base, {"km_substrate_FUM": (1e-4, 2e-4)})
    >>> lk = torch.full((3, base.n_km), -9.0)
    >>> col = base.km_names.index("km_substrate_FUM")
    >>> fixed = view.fixed_log_km(lk)[:, col].exp()
    >>> bool(((fixed >= 1e-4) & (fixed <= 2e-4)).all()), view.parameters(lk).shape
    (True, torch.Size([3, 378]))
    >>> overlap_score((0.0, 2.0), (1.0, 5.0))
    0.5
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import pandas as pd
import torch

from kinflux import KinfluxError
from kinflux.kinetic.known_km import (  # noqa: F401  (part of this study's API)
    FixedKmProblem,
    fixed_ranges,
    parse_fixed_km,
    read_known_km_csv,
    saturation_range,
)
from kinflux.kinetic.studies.overlap import (  # noqa: F401  (part of this study's API)
    held_out_scores,
    measured_range,
    overlap_score,
)

__all__ = [
    "FixedKmProblem",
    "overlap_score",
    "parse_fixed_km",
    "read_known_km_csv",
    "fixed_ranges",
    "known_km_from_model",
    "measured_set_lambda_max",
    "pathway_km",
    "km_integration_study",
    "INTEGRATIONS",
    "TCA_REACTIONS",
    "STUDY_GENERATOR",
]

#: how measured Km enter training: ``"fix"`` (published: each integrated Km fixed to its
#: value +-spread) or ``"saturation"`` (kinflux: fixed as well, and every other Km drawn in
#: the saturation range ln(Km/S) of the integrated ones, :func:`saturation_range`)
INTEGRATIONS = ("fix", "saturation")

#: the TCA cycle of the varma models (RENAISSANCE's integration study used the TCA Km)
TCA_REACTIONS = ("CS", "ACONTa", "ACONTb", "ICDHyr", "AKGDH", "SUCOAS", "SUCDi", "FUM", "MDH")

#: generator of the study: the published shape, population (20) and batch (100) with 40
#: updates of the improved rule; reaches incidence >= 0.9 on kin_varma/strain_1 with and
#: without integration (0.96 each on 1,000 sets, split 0; docs/studies.md). Population 10
#: or 50 models per member stayed below 0.9 (0.84, 0.88).
STUDY_GENERATOR: dict[str, Any] = {
    "generations": 40,
    "population": 20,
    "n_models": 100,
    "update": "improved",
}


def known_km_from_model(
    path: str | os.PathLike, names: list[str], concentration_scaling: float = 1e6
) -> dict[str, float]:
    """Km values (mol/L) of ``names`` from a parameterized SKiMpy YAML (values in model
    units divided by ``concentration_scaling``); names without a value are skipped."""
    from kinflux.kinetic.model import KineticModel

    m = KineticModel.from_yaml(path)
    d = m.as_dict(m.default_parameters())
    return {
        n: d[n] / concentration_scaling
        for n in names
        if n in d and math.isfinite(d[n]) and d[n] > 0
    }


def measured_set_lambda_max(problem: Any, known: dict[str, float]) -> float:
    """lambda_max (h^-1) of the complete measured Km set ``known`` (``{name: mol/L}``, all
    of ``problem.km_names``) at the problem's steady state (Keq and vmax as for every
    generated set); below ``problem.partition`` means the measured values are themselves
    a valid model there.

    Raises:
        KinfluxError: when a Km of the problem has no measured value.
    """
    missing = [n for n in problem.km_names if n not in known]
    if missing:
        raise KinfluxError(
            f"measured set lacks {len(missing)} of {problem.n_km} Km (e.g. {missing[:3]}); "
            "the check needs a complete parameterization"
        )
    lk = torch.tensor([[math.log(known[n]) for n in problem.km_names]], dtype=torch.float64)
    return float(problem.lambda_max(problem.parameters(lk))[0])


def pathway_km(problem: Any, reactions: tuple[str, ...] = TCA_REACTIONS) -> list[str]:
    """Km names of the given reactions (default the TCA cycle), problem order."""
    return [n for n in problem.km_names if any(n.endswith("_" + r) for r in reactions)]


def _evaluate(problem: Any, generator: Any, n: int, seed: int) -> tuple[torch.Tensor, float]:
    """Valid effective ln Km ``(n_valid, n_km)`` of ``n`` generated sets and the incidence."""
    lk = generator.generate(n, random_state=seed).to(torch.float64)
    fixed = isinstance(problem, FixedKmProblem)
    eff = problem.fixed_log_km(lk) if fixed else lk
    base = problem.base if fixed else problem
    ok = base.is_valid(base.lambda_max(base.parameters(eff)))
    return eff[ok], float(ok.double().mean())


def _train_task(task: dict[str, Any]) -> dict[str, Any]:
    """One training (``task["fixed"]`` empty: without integration) and its evaluation."""
    from kinflux.compute import worker_state
    from kinflux.kinetic.renaissance import RenaissanceGenerator

    problem = worker_state()["problem"]
    view = (
        FixedKmProblem(problem, task["fixed"], task["view_seed"], task.get("saturation"))
        if task["fixed"]
        else problem
    )
    t0 = time.perf_counter()
    est = RenaissanceGenerator(**task["options"]).fit(view)
    lk, inc = _evaluate(view, est, task["n_generate"], task["seed"])
    return {
        "log_km": lk.to(torch.float32),
        "incidence": inc,
        "curve": est.history_["incidence"].tolist(),
        "seconds": time.perf_counter() - t0,
    }


def km_integration_study(
    problem: Any,
    known: dict[str, float],
    n_splits: int = 10,
    n_integrated: int | None = None,
    spread: float = 0.2,
    integration: str = "saturation",
    saturation_margin: float = 1.0,
    generator_options: dict[str, Any] | None = None,
    n_generate: int = 1000,
    quantiles: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
    n_jobs: int = 1,
    backend: str = "local",
    address: str | None = None,
    oracle: int = 0,
    progress: Any = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random splits of ``known`` Km into integrated and held out; generators with and
    without integration; overlap score of the held-out Km and incidence.

    Split ``s`` permutes ``known`` with seed ``seed + s`` (splits are never chosen by
    their result); its first ``n_integrated`` Km are fixed to value ``(1 +- spread)``
    during training, the rest are held out. One generator is trained without
    integration and one per split with it; all trainings use the same
    ``generator_options`` and ``random_state = seed``, so the with/without difference
    is the integration alone.

    Args:
        problem: the :class:`~kinflux.kinetic.problem.KineticProblem`.
        known: measured Km, ``{name: mol/L}``.
        n_splits: random splits.
        n_integrated: Km integrated per split (default half, rounded up).
        spread: measured range and fixed range ``k (1 +- spread)``.
        integration: ``"saturation"`` (default, kinflux): the integrated Km are fixed
            and every other Km is drawn in their saturation range ``ln(Km/S)`` widened by
            ``saturation_margin`` (:func:`saturation_range`); ``"fix"`` (published):
            the integrated Km are fixed, the others keep the problem's Km box. The arm
            without integration always uses the problem's box.
        saturation_margin: ln units added on each side of the saturation range.
        generator_options: :class:`~kinflux.kinetic.renaissance.RenaissanceGenerator`
            arguments (default :data:`STUDY_GENERATOR`).
        n_generate: sets generated per trained generator for OS and incidence.
        quantiles: generated range of the main OS (``os_with``/``os_without``), default
            min-max; the 5-95 % range is always reported as ``os90_*``.
        seed: seed of splits, generators and generation.
        n_jobs, backend, address: trainings run as tasks of :func:`kinflux.compute.map`
            (``1 + n_splits`` tasks, each single-process); the numbers do not depend on
            them.
        oracle: ORACLE draws per arm for a baseline (0: none): the valid sets of
            :func:`~kinflux.kinetic.oracle.oracle_sample` with the integrated Km fixed
            (rejection sampling: the held-out Km given the integrated ones and validity)
            and without; columns ``oracle_os_*``, ``oracle_os90_*``, ``oracle_error_*``.
        progress: bar or callback over trainings.

    Returns:
        ``(splits, per_km)``: one row per split (``os_with``, ``os_without``,
        ``os90_with``, ``os90_without``, ``error_with``, ``error_without`` = median over
        the held-out Km of |median generated ln Km - ln measured|, ``incidence_with``,
        ``incidence_without``, ``seconds_with``, integrated and held-out names) and one
        row per split and held-out Km (OS values and generated ranges, ln mol/L).
    """
    from kinflux.compute import map as cmap

    names = list(known)
    if len(names) < 2:
        raise KinfluxError("need at least two known Km to split into integrated and held out")
    k_int = (len(names) + 1) // 2 if n_integrated is None else int(n_integrated)
    if not 0 < k_int < len(names):
        raise KinfluxError(f"n_integrated must be in [1, {len(names) - 1}], got {k_int}")
    if integration not in INTEGRATIONS:
        raise KinfluxError(f"integration must be one of {INTEGRATIONS}, got {integration!r}")
    opts = {**STUDY_GENERATOR, **(generator_options or {}), "random_state": seed}
    if n_jobs != 1 or backend != "local":
        opts["n_jobs"], opts["backend"] = 1, "local"  # parallel over trainings instead
    parts = []
    for s in range(int(n_splits)):
        perm = [names[i] for i in np.random.default_rng(seed + s).permutation(len(names))]
        parts.append((perm[:k_int], perm[k_int:]))
    base_task = {"options": opts, "n_generate": int(n_generate), "seed": seed}
    tasks = [{**base_task, "fixed": {}, "view_seed": seed}]
    for s, (integ, _) in enumerate(parts):
        values = {n: known[n] for n in integ}
        sat = None
        if integration == "saturation":
            sat = saturation_range(problem, values, saturation_margin)
        tasks.append(
            {
                **base_task,
                "fixed": fixed_ranges(values, spread),
                "view_seed": seed + s,
                "saturation": sat,
            }
        )
    res = cmap(
        _train_task,
        tasks,
        backend=backend,
        n_jobs=n_jobs,
        address=address,
        shared={"problem": problem},
        progress=progress,
        description="trainings",
    )
    plain, all_names, q = res[0], problem.km_names, tuple(quantiles)
    lk_oracle = _oracle_valid(problem, int(oracle), seed, None, n_jobs) if oracle else None
    splits, per_km = [], []
    for s, ((integ, held), r) in enumerate(zip(parts, res[1:], strict=True)):
        w = held_out_scores(r["log_km"], held, all_names, known, spread, q)
        wo = held_out_scores(plain["log_km"], held, all_names, known, spread, q)
        for i, n in enumerate(held):
            meas = measured_range(known[n], spread)
            per_km.append(
                {
                    "split": s,
                    "km": n,
                    "os_with": w["os"][i],
                    "os_without": wo["os"][i],
                    "os90_with": w["os90"][i],
                    "os90_without": wo["os90"][i],
                    "measured_low": meas[0],
                    "measured_high": meas[1],
                    "generated_with": w["range"][i],
                    "generated_without": wo["range"][i],
                    "error_with": w["error"][i],
                    "error_without": wo["error"][i],
                }
            )
        splits.append(
            {
                "split": s,
                "os_with": float(np.mean(w["os"])),
                "os_without": float(np.mean(wo["os"])),
                "os90_with": float(np.mean(w["os90"])),
                "os90_without": float(np.mean(wo["os90"])),
                "error_with": float(np.median(w["error"])),
                "error_without": float(np.median(wo["error"])),
                "incidence_with": r["incidence"],
                "incidence_without": plain["incidence"],
                "seconds_with": r["seconds"],
                **dict(
                    zip(
                        ("saturation_low", "saturation_high"),
                        tasks[s + 1]["saturation"] or (math.nan, math.nan),
                        strict=True,
                    )
                ),
                "seconds_without": plain["seconds"],
                **(
                    _oracle_columns(
                        problem,
                        known,
                        integ,
                        held,
                        spread,
                        q,
                        int(oracle),
                        seed,
                        s,
                        n_jobs,
                        lk_oracle,
                    )
                    if oracle
                    else {}
                ),
                "integrated": " ".join(integ),
                "held_out": " ".join(held),
            }
        )
    return pd.DataFrame(splits), pd.DataFrame(per_km)


def _oracle_valid(problem: Any, n: int, seed: int, fixed: dict | None, n_jobs: int) -> torch.Tensor:
    """ln Km ``(n_valid, n_km)`` of the valid sets among ``n`` ORACLE draws."""
    from kinflux.kinetic.oracle import oracle_sample

    r = oracle_sample(problem, n, seed=seed, fixed=fixed, n_jobs=max(1, n_jobs))
    return r.log_km.to(torch.float64)[r.valid]


def _oracle_columns(
    problem: Any,
    known: dict[str, float],
    integ: list[str],
    held: list[str],
    spread: float,
    q: tuple[float, float],
    n: int,
    seed: int,
    split: int,
    n_jobs: int,
    lk_without: torch.Tensor,
) -> dict[str, float]:
    """ORACLE baseline of one split: held-out OS and error with and without fixing."""
    fixed = fixed_ranges({k: known[k] for k in integ}, spread)
    lk_with = _oracle_valid(problem, n, seed + split, fixed, n_jobs)
    out = {}
    for arm, lk in (("with", lk_with), ("without", lk_without)):
        sc = held_out_scores(lk, held, problem.km_names, known, spread, q)
        out[f"oracle_os_{arm}"] = float(np.mean(sc["os"]))
        out[f"oracle_os90_{arm}"] = float(np.mean(sc["os90"]))
        out[f"oracle_error_{arm}"] = float(np.median(sc["error"]))
    return out
