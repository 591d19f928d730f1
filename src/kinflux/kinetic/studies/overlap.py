"""Overlap score of generated and measured Km ranges (RENAISSANCE's OS), ln scale.

Example:
    >>> overlap_score((0.0, 2.0), (1.0, 5.0))
    0.5
"""

from __future__ import annotations

import math

import torch

from kinflux.kinetic.known_km import fixed_ranges

__all__ = ["overlap_score", "held_out_scores", "measured_range"]


def overlap_score(generated: tuple[float, float], measured: tuple[float, float]) -> float:
    """``|[a, b] & [c, d]| / |[a, b]|`` for a generated ``(a, b)`` and measured ``(c, d)``
    range (any scale; kinflux passes ln Km)."""
    a, b = sorted(float(v) for v in generated)
    c, d = sorted(float(v) for v in measured)
    if b - a <= 0.0:
        return 1.0 if c <= a <= d else 0.0
    return max(0.0, min(b, d) - max(a, c)) / (b - a)


def held_out_scores(
    lk: torch.Tensor,
    held: list[str],
    names: list[str],
    known: dict[str, float],
    spread: float,
    quantiles: tuple[float, float],
) -> dict[str, list]:
    """Per held-out Km: OS of the ``quantiles`` range and of the 5-95 % range, the
    ranges (ln mol/L) and |median generated ln Km - ln measured|."""
    out: dict[str, list] = {"os": [], "os90": [], "range": [], "range90": [], "error": []}
    for n in held:
        meas = measured_range(known[n], spread)
        if len(lk) == 0:
            for k, v in (("os", 0.0), ("os90", 0.0), ("range", None), ("range90", None)):
                out[k].append(v)
            out["error"].append(math.nan)
            continue
        col = lk[:, names.index(n)].to(torch.float64)
        q = col.quantile(torch.tensor([*quantiles, 0.05, 0.95], dtype=torch.float64)).tolist()
        out["range"].append((q[0], q[1]))
        out["range90"].append((q[2], q[3]))
        out["os"].append(overlap_score((q[0], q[1]), meas))
        out["os90"].append(overlap_score((q[2], q[3]), meas))
        out["error"].append(abs(float(col.median()) - math.log(known[n])))
    return out


def measured_range(k: float, spread: float) -> tuple[float, float]:
    """Measured range on the ln scale: :func:`fixed_ranges` of ``k``, logged."""
    low, high = fixed_ranges({"km": k}, spread)["km"]
    return (math.log(low), math.log(high))
