"""Run folders of the studies: one call per study writes tables, arrays and figures.

Each function runs its study inside a :class:`kinflux.runs.RunFolder` (``config.json``,
``log.txt``, written to a hidden partial folder and renamed on success) and returns the
study's result:

- :func:`robustness_run`: ``shares.csv`` (group x check time, %), ``settling_times.csv``,
  ``status.csv`` (with each model's outcome, :meth:`~.robustness.RobustnessResult.outcomes`),
  ``summary.json``, ``deviations.npz``, ``figures/deviations.png``.
- :func:`bioreactor_run`: ``summary.csv`` (final g/L), ``status.csv``, ``curves.npz``,
  ``figures/bioreactor.png``.
- :func:`km_integration_run`: ``splits.csv``, ``held_out_km.csv``, ``summary.json``,
  ``figures/overlap.png``.

Also :func:`anthranilate_problem`, the anthranilate model around one sampled profile.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from kinflux.io import save_npz, write_json
from kinflux.kinetic.turnover import pool_throughput
from kinflux.runs import RunFolder

__all__ = [
    "anthranilate_problem",
    "turnover_times",
    "slowest_cytosolic_turnover",
    "fastest_turnover_profile",
    "robustness_run",
    "bioreactor_run",
    "km_integration_run",
]


def turnover_times(model: Any, steady_state: Any) -> pd.Series:
    """Turnover time (h) of every variable species of ``model`` at ``steady_state``.

    ``tau_i = x_i / (1/2 sum_j |S_ij v_j|)``: the pool divided by its production (equal to
    its consumption at steady state), with ``x`` in the model's concentration unit and
    ``v`` the net rates in that unit per hour. A pool much slower to turn over than
    ``1 / |partition|`` usually also relaxes slowly after a perturbation.

    Returns:
        Series indexed by species id (``model.variables``), hours; ``inf`` where no
        reaction carries flux through the species.
    """
    through = pool_throughput(
        np.asarray(model.S_full, dtype=float), np.asarray(steady_state.fluxes, dtype=float)
    )
    row = {s: i for i, s in enumerate(model.species)}
    out = {}
    for s in model.variables:
        t = through[row[s]]
        out[s] = float(steady_state.concentrations[s]) / t if t > 0 else float("inf")
    return pd.Series(out, name="turnover_h")


def slowest_cytosolic_turnover(model: Any, steady_state: Any) -> float:
    """Largest turnover time (h) over the cytosolic variable species (compartment ``c``)."""
    tau = turnover_times(model, steady_state)
    cyt = [s for s in tau.index if model.compartment_of.get(s) == "c"]
    return float(tau[cyt].max())


def fastest_turnover_profile(model: Any, samples: Any) -> int:
    """Index of the profile of ``samples`` (:class:`~kinflux.kinetic.sampling.
    SteadyStateSamples`) whose slowest cytosolic pool turns over fastest
    (:func:`slowest_cytosolic_turnover`)."""
    slow = [slowest_cytosolic_turnover(model, samples.steady_state(i)) for i in range(len(samples))]
    return int(np.argmin(slow))


def anthranilate_problem(
    seed: int = 0,
    profile: int | str = 0,
    n_profiles: int = 1,
    physiological: bool = False,
    max_turnover_s: float | None = None,
    ph: float | tuple[float, float] = 7.0,
) -> Any:
    """KineticProblem of ``kin_varma_anthranilate`` around profile ``profile`` of
    ``n_profiles`` drawn with the published constraints (growth >= 0.26 h^-1,
    anthranilate >= 0.14 mmol/gDW/h) and ``seed``.

    ``profile="turnover"`` picks, among the ``n_profiles``, the one whose slowest
    cytosolic pool turns over fastest (:func:`slowest_cytosolic_turnover`): a profile
    selection, used to study how the steady state limits relaxation speed.
    ``physiological=True`` samples with protons at pH 7 and cofactor pools near E. coli's
    (:func:`~kinflux.kinetic.constraints.anthranilate_constraints`). ``max_turnover_s``
    makes every variable pool turn over within that many seconds
    (:mod:`kinflux.kinetic.turnover`); ``ph`` sets the physiological pH (a value or a
    range).
    """
    from kinflux import KinfluxError
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.sampling import anthranilate_constraints, sample_steady_states

    m = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
    cons = anthranilate_constraints(
        m, physiological=physiological, max_turnover_s=max_turnover_s, ph=ph
    )
    s = sample_steady_states(m, n_profiles, cons, seed=seed)
    if profile == "turnover":
        profile = fastest_turnover_profile(m, s)
    if not isinstance(profile, int) or not 0 <= profile < n_profiles:
        raise KinfluxError(
            f"profile must be an integer in [0, {n_profiles}) or 'turnover', got {profile!r}"
        )
    return KineticProblem.from_samples(s, profile)


def robustness_run(
    out: str | os.PathLike,
    source: Any,
    n_models: int = 1000,
    force: bool = False,
    config: dict[str, Any] | None = None,
    **study: Any,
) -> Any:
    """Valid sets from ``source`` -> :func:`~.robustness.robustness_study` -> run folder.

    ``study`` are :func:`~.robustness.robustness_study` options; ``config`` extra
    entries for ``config.json`` (e.g. the command line's model and profile).
    """
    from kinflux.kinetic.studies.robustness import PUBLISHED_SHARES, robustness_study
    from kinflux.plots.studies import robustness_figure

    cfg = {"study": "robustness", "source": source.name, "n_models": n_models, **study}
    cfg.update(config or {})
    with RunFolder(out, cfg, force=force) as run:
        params = source.valid_parameters(n_models, seed=int(study.get("seed", 0)))
        run.log(f"{len(params)} valid parameter sets from {source.name}")
        res = robustness_study(source.problem, params, **study)
        shares = res.shares()
        run.write_table(shares.reset_index(), "shares.csv")
        run.write_table(res.settling_times().reset_index(), "settling_times.csv")
        outcome = res.outcomes()  # judged on every group at 24 min
        run.write_table(
            pd.DataFrame(
                {
                    "status": res.status,
                    "seconds": res.seconds,
                    "outcome_24min": outcome.to_numpy(),
                    "final_drift_per_h": res.final_drift,
                }
            ).rename_axis("model"),
            "status.csv",
            index=True,
        )
        save_npz(
            run.file("deviations.npz"),
            {"t": res.t, **{f"deviation_{g}": d for g, d in res.deviations.items()}},
            {"tolerance": res.tolerance, "groups": list(res.deviations)},
        )
        summary = {
            "shares_percent": shares.to_dict(),
            "published_percent": PUBLISHED_SHARES,
            "models": res.n_models,
            "timed_out": res.timed_out,
            "failed": res.failed,
            "outcomes_24min": {k: int(v) for k, v in outcome.value_counts().items()},
            "models_per_s": res.models_per_second,
            "wall_seconds": res.wall_seconds,
        }
        write_json(run.file("summary.json"), summary)
        robustness_figure(
            res, run.file("figures/deviations.png"), title=f"robustness ({source.name})"
        )
    return res


def bioreactor_run(
    out: str | os.PathLike,
    source: Any,
    reactor: Any,
    n_models: int = 100,
    force: bool = False,
    seed: int = 0,
    config: dict[str, Any] | None = None,
    **study: Any,
) -> Any:
    """Valid sets from ``source`` -> :func:`~.bioreactor.simulate_bioreactor` -> run folder."""
    from kinflux.kinetic.studies.bioreactor import simulate_bioreactor
    from kinflux.plots.studies import bioreactor_figure

    cfg = {"study": "bioreactor", "source": source.name, "reactor": reactor.source}
    cfg.update({"n_models": n_models, "seed": seed, **study, **(config or {})})
    with RunFolder(out, cfg, force=force) as run:
        params = source.valid_parameters(n_models, seed=seed)
        res = simulate_bioreactor(source.problem, params, reactor, **study)
        run.write_table(res.summary().reset_index(), "summary.csv")
        run.write_table(
            pd.DataFrame(
                {"status": res.status, "seconds": res.seconds, "reached_h": res.reached}
            ).rename_axis("model"),
            "status.csv",
            index=True,
        )
        save_npz(
            run.file("curves.npz"),
            {"t": res.t, **{f"{k}_g_per_l": v for k, v in res.curves().items()}},
            {"note": "simulated only; no measured fermentation data in kinflux"},
        )
        bioreactor_figure(
            res, run.file("figures/bioreactor.png"), title=f"batch reactor ({source.name})"
        )
    return res


def km_integration_run(
    out: str | os.PathLike,
    problem: Any,
    known: dict[str, float],
    force: bool = False,
    config: dict[str, Any] | None = None,
    **study: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`~.km_integration.km_integration_study` -> run folder."""
    from kinflux.kinetic.studies.km_integration import km_integration_study
    from kinflux.plots.studies import km_overlap_figure

    cfg = {"study": "km_integration", "known_km": known, **study, **(config or {})}
    with RunFolder(out, cfg, force=force) as run:
        splits, per_km = km_integration_study(problem, known, **study)
        run.write_table(splits, "splits.csv")
        per = per_km.copy()
        for c in ("generated_with", "generated_without"):
            per[c] = per[c].map(lambda r: "" if r is None else f"{r[0]:.4g}:{r[1]:.4g}")
        run.write_table(per, "held_out_km.csv")
        numeric = splits.drop(columns=["integrated", "held_out"]).mean()
        write_json(
            run.file("summary.json"),
            {k: (float(v) if v == v else None) for k, v in numeric.items() if k != "split"},
        )
        km_overlap_figure(splits, run.file("figures/overlap.png"), title="measured Km")
    return splits, per_km
