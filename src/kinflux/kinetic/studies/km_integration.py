"""Integration of measured Michaelis constants into generator training.

RENAISSANCE fixes each known Km to its measured value +-20 %, drawn log-uniformly in
that range every time a parameter set is built, and scores how well the generator then
places the Km it was not told (held out) with the *overlap score*

    OS = |overlap(generated range, measured range)| / |generated range|

(1 when the generated range lies inside the measured one, 0 when they are disjoint).
kinflux computes ranges on the natural-log scale of Km (mol/L): the generated range of a
Km is ``[q_low, q_high]`` quantiles (default min and max) of its ln value over the valid
generated sets, the measured range ``[ln(0.8 k), ln(1.2 k)]`` around the measured value
``k``; a zero-width generated range scores 1 inside and 0 outside the measured one.

- :class:`FixedKmProblem` is a view of a :class:`~kinflux.kinetic.problem.KineticProblem`
  whose ``parameters(log_km)`` replaces the fixed columns by log-uniform draws in their
  ranges, so any generator trains with known Km without a change to its code. A draw
  depends only on the row's values and the view's seed (a hash), so the same ln Km rows
  give the same parameters in every process and on every backend.
- :func:`known_km_from_model` reads published Km from a parameterized model file
  (``varma_strain_1.yml`` stands in for BRENDA, which kinflux does not ship).
- :func:`km_integration_study` runs random splits of a set of Km into integrated and
  held-out ones, trains generators with and without integration and reports OS and
  incidence.

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
)

__all__ = [
    "FixedKmProblem",
    "overlap_score",
    "parse_fixed_km",
    "read_known_km_csv",
    "fixed_ranges",
    "known_km_from_model",
    "km_ranges",
    "pathway_km",
    "km_integration_study",
]

#: the TCA cycle of the varma models (RENAISSANCE's integration study used the TCA Km)
TCA_REACTIONS = ("CS", "ACONTa", "ACONTb", "ICDHyr", "AKGDH", "SUCOAS", "SUCDi", "FUM", "MDH")


def overlap_score(generated: tuple[float, float], measured: tuple[float, float]) -> float:
    """``|[a, b] & [c, d]| / |[a, b]|`` for a generated ``(a, b)`` and measured ``(c, d)``
    range (any scale; kinflux passes ln Km)."""
    a, b = sorted(float(v) for v in generated)
    c, d = sorted(float(v) for v in measured)
    if b - a <= 0.0:
        return 1.0 if c <= a <= d else 0.0
    return max(0.0, min(b, d) - max(a, c)) / (b - a)


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


def pathway_km(problem: Any, reactions: tuple[str, ...] = TCA_REACTIONS) -> list[str]:
    """Km names of the given reactions (default the TCA cycle), problem order."""
    return [n for n in problem.km_names if any(n.endswith("_" + r) for r in reactions)]


def km_ranges(
    log_km: torch.Tensor, names: list[str], all_names: list[str], quantiles=(0.0, 1.0)
) -> dict[str, tuple[float, float]]:
    """Generated ln-Km range per name from valid sets ``(n, n_km)`` (quantiles)."""
    out = {}
    for n in names:
        col = log_km[:, all_names.index(n)].to(torch.float64)
        out[n] = (float(col.quantile(quantiles[0])), float(col.quantile(quantiles[1])))
    return out


def _evaluate(problem: Any, generator: Any, n: int, seed: int) -> tuple[torch.Tensor, float]:
    """Valid effective ln Km ``(n_valid, n_km)`` of ``n`` generated sets and the incidence."""
    lk = generator.generate(n, random_state=seed).to(torch.float64)
    fixed = isinstance(problem, FixedKmProblem)
    eff = problem.fixed_log_km(lk) if fixed else lk
    base = problem.base if fixed else problem
    ok = base.is_valid(base.lambda_max(base.parameters(eff)))
    return eff[ok], float(ok.double().mean())


def km_integration_study(
    problem: Any,
    known: dict[str, float],
    n_splits: int = 10,
    n_integrated: int | None = None,
    spread: float = 0.2,
    generator_options: dict[str, Any] | None = None,
    n_generate: int = 1000,
    quantiles: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
    progress: Any = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random splits of ``known`` Km into integrated and held out; generators with and
    without integration; overlap score of the held-out Km and incidence.

    Args:
        problem: the :class:`~kinflux.kinetic.problem.KineticProblem`.
        known: measured Km, ``{name: mol/L}``.
        n_splits: random splits (split ``s`` seeded ``seed + s``).
        n_integrated: Km integrated per split (default half, rounded up).
        spread: measured range and fixed range ``k (1 +- spread)``.
        generator_options: :class:`~kinflux.kinetic.renaissance.RenaissanceGenerator`
            arguments (the same for every training).
        n_generate: sets generated per trained generator for OS and incidence.
        quantiles: generated range quantiles.
        seed: seed of splits, generators and generation.
        progress: passed to the generators.

    Returns:
        ``(splits, per_km)``: one row per split (``os_with``, ``os_without``,
        ``incidence_with``, ``incidence_without``, integrated and held-out names) and one
        row per split and held-out Km (both OS values and the ranges).
    """
    from kinflux.kinetic.renaissance import RenaissanceGenerator

    names = list(known)
    if len(names) < 2:
        raise KinfluxError("need at least two known Km to split into integrated and held out")
    k_int = (len(names) + 1) // 2 if n_integrated is None else int(n_integrated)
    if not 0 < k_int < len(names):
        raise KinfluxError(f"n_integrated must be in [1, {len(names) - 1}], got {k_int}")
    opts = {"random_state": seed, **(generator_options or {}), "progress": progress}
    measured = {
        n: (math.log(k * (1 - spread)), math.log(k * (1 + spread))) for n, k in known.items()
    }
    plain = RenaissanceGenerator(**opts).fit(problem)
    lk_plain, inc_plain = _evaluate(problem, plain, n_generate, seed)
    splits, per_km = [], []
    for s in range(int(n_splits)):
        rng = np.random.default_rng(seed + s)
        perm = [names[i] for i in rng.permutation(len(names))]
        integ, held = perm[:k_int], perm[k_int:]
        view = FixedKmProblem(problem, fixed_ranges({n: known[n] for n in integ}, spread), seed + s)
        gen = RenaissanceGenerator(**opts).fit(view)
        lk_with, inc_with = _evaluate(view, gen, n_generate, seed)
        r_with = km_ranges(lk_with, held, problem.km_names, quantiles) if len(lk_with) else {}
        r_without = km_ranges(lk_plain, held, problem.km_names, quantiles) if len(lk_plain) else {}
        os_w = [overlap_score(r_with[n], measured[n]) if r_with else 0.0 for n in held]
        os_wo = [overlap_score(r_without[n], measured[n]) if r_without else 0.0 for n in held]
        for n, a, b in zip(held, os_w, os_wo, strict=True):
            per_km.append(
                {
                    "split": s,
                    "km": n,
                    "os_with": a,
                    "os_without": b,
                    "measured_low": measured[n][0],
                    "measured_high": measured[n][1],
                    "generated_with": r_with.get(n),
                    "generated_without": r_without.get(n),
                }
            )
        splits.append(
            {
                "split": s,
                "os_with": float(np.mean(os_w)),
                "os_without": float(np.mean(os_wo)),
                "incidence_with": inc_with,
                "incidence_without": inc_plain,
                "integrated": " ".join(integ),
                "held_out": " ".join(held),
            }
        )
    return pd.DataFrame(splits), pd.DataFrame(per_km)
