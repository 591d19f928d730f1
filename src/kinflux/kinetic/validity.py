"""Validity of kinetic parameter sets: the lambda_max partition and the incidence.

A parameter set is *valid* (RENAISSANCE/ORACLE call it "relevant") when the largest real
part of the eigenvalues of its Jacobian at the steady state, ``lambda_max`` (h^-1), lies
below a partition value. The partition comes from one rule, :func:`lambda_partition`:

    tau = doubling_time / 5                        (dominant time constant, min)
    tau = min(tau, time_constant)                  (if a stricter user value is given)
    partition = -1 / tau  [h^-1] = -60 / tau[min]

With the published setting (doubling time 134 min, dominant time constant 24 min) this
gives exactly -2.5 h^-1 (:data:`kinflux.kinetic.dynamics.LAMBDA_MAX_THRESHOLD`); with the
doubling time alone, -60 / 26.8 = -2.2388 h^-1.

The *incidence* is the share of valid parameter sets in a batch (NaN lambda_max, e.g.
from a failed back-calculation, counts as not valid).
"""

from __future__ import annotations

import math

import torch

from kinflux import KinfluxError

__all__ = ["lambda_partition", "is_valid", "incidence", "time_constant_from_partition"]


def lambda_partition(
    doubling_time_min: float = 134.0, time_constant_min: float | None = None
) -> float:
    """Largest admissible lambda_max (h^-1) for a doubling time (min).

    The dominant time constant ``tau`` (min) of a valid model must be at most a fifth of
    the doubling time, or ``time_constant_min`` when that is stricter (smaller):
    ``tau = min(doubling_time_min / 5, time_constant_min)``; the partition is
    ``-60 / tau`` h^-1. ``lambda_partition(134.0, 24.0) == -2.5``.

    Raises :class:`KinfluxError` for non-positive or non-finite times.
    """
    for name, val in (
        ("doubling_time_min", doubling_time_min),
        ("time_constant_min", time_constant_min),
    ):
        if val is not None and (not math.isfinite(val) or val <= 0):
            raise KinfluxError(f"{name} must be a positive number of minutes, got {val!r}")
    tau = doubling_time_min / 5.0
    if time_constant_min is not None:
        tau = min(tau, float(time_constant_min))
    return -60.0 / tau


def time_constant_from_partition(partition: float) -> float:
    """Dominant time constant (min) implied by a partition (h^-1): ``-60 / partition``."""
    if not partition < 0:
        raise KinfluxError(f"a lambda_max partition must be negative (h^-1), got {partition!r}")
    return -60.0 / partition


def is_valid(lambda_max: torch.Tensor | float, partition: float = -2.5) -> torch.Tensor:
    """``lambda_max < partition`` elementwise (bool tensor, shape of ``lambda_max``);
    NaN is not valid. ``lambda_max`` and ``partition`` in h^-1."""
    lm = torch.as_tensor(lambda_max, dtype=torch.float64)
    return lm < partition  # NaN compares False


def incidence(lambda_max: torch.Tensor | float, partition: float = -2.5) -> float:
    """Share of valid parameter sets in a batch ``(batch,)`` (0.0 for an empty batch)."""
    valid = is_valid(lambda_max, partition)
    if valid.numel() == 0:
        return 0.0
    return float(valid.to(torch.float64).mean())
