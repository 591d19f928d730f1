"""Rewards of RENAISSANCE generators: one number per batch of generated kinetic models.

A generator proposes a batch of ``n`` parameter sets (100 in the published method); each
set has ``lambda_max`` (h^-1), the largest real part of its Jacobian's eigenvalues at the
steady state. A reward turns the batch's ``lambda_max`` into the fitness that the
evolution strategy (:mod:`kinflux.kinetic.nes`) maximizes.

**Incidence** (published ``reward_flag = 0``), with ``p`` the partition (h^-1)::

    r = #{lambda_max <= p} / n                     if min lambda_max <= p
    r = 0.01 / (1 + exp(min lambda_max - p))       otherwise (a small, smooth fallback
                                                    that rewards approaching p)

The published code counts ``<=`` here, while :func:`kinflux.kinetic.validity.is_valid`
counts ``<``; the two differ only for a lambda exactly on the partition.

**Fastest dynamics** (published ``reward_flag = 1``)::

    r = 0.5 * exp(-0.1 * lambda_bar),   lambda_bar = mean of the k (= 10) most negative

This is what the RENAISSANCE code computes (``exp(-0.1 * avg) / 2``); the paper's
equation prints ``exp(-0.1 * lambda_bar / 2)``, i.e. the halving inside the exponent.
The two rank batches in the same order (both increase as lambda_bar falls), so the
z-scored or rank-shaped updates differ only through the curvature of the exponential.

``lambda_max`` that is NaN (a parameter set that could not be evaluated) counts as +inf:
never valid, never among the fastest.

Shapes: ``lambda_max`` is ``(..., n)``; rewards are ``(...)`` (float64 tensors).

Example:
    >>> import torch
    >>> lam = torch.tensor([[-3.0, -1.0, -2.6, 0.5], [-1.0, -2.0, 0.0, 1.0]])
    >>> incidence_reward(lam, partition=-2.5).tolist()[0]
    0.5
    >>> round(float(incidence_reward(lam, partition=-2.5)[1]), 6)  # 0.01/(1+e^0.5)
    0.003775
    >>> round(float(fastest_reward(torch.tensor([-10.0, -20.0, 5.0]), n_consider=2)), 4)
    2.2408
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from kinflux import KinfluxError

__all__ = ["incidence_reward", "fastest_reward", "REWARDS", "reward_function"]


def _as_lambda(lambda_max: torch.Tensor) -> torch.Tensor:
    lam = torch.as_tensor(lambda_max, dtype=torch.float64)
    if lam.dim() == 0 or lam.shape[-1] == 0:
        raise KinfluxError("a reward needs a batch of lambda_max values, shape (..., n >= 1)")
    return torch.where(torch.isnan(lam), torch.full_like(lam, math.inf), lam)


def incidence_reward(lambda_max: torch.Tensor, partition: float = -2.5) -> torch.Tensor:
    """Share of models with ``lambda_max <= partition`` (h^-1), with the published
    fallback ``0.01 / (1 + exp(min lambda_max - partition))`` when none qualifies.

    Args:
        lambda_max: ``(..., n)`` h^-1; NaN counts as +inf.
        partition: h^-1 (published: -2.5).

    Returns:
        ``(...)`` float64 rewards in [0, 1].
    """
    lam = _as_lambda(lambda_max)
    n = lam.shape[-1]
    share = (lam <= partition).to(torch.float64).sum(-1) / n
    low = lam.amin(-1)
    fallback = 0.01 / (1.0 + torch.exp(low - partition))
    return torch.where(low <= partition, share, fallback)


def fastest_reward(lambda_max: torch.Tensor, n_consider: int = 10) -> torch.Tensor:
    """``0.5 exp(-0.1 lambda_bar)`` with ``lambda_bar`` the mean of the ``n_consider``
    most negative ``lambda_max`` (h^-1) of the batch (the code's form, see the module
    docstring for the paper's ``/2`` inside the exponent).

    Args:
        lambda_max: ``(..., n)`` h^-1; NaN counts as +inf.
        n_consider: how many of the most negative to average (published: 10).

    Returns:
        ``(...)`` float64 rewards (> 0; 0 if fewer than ``n_consider`` are finite).
    """
    lam = _as_lambda(lambda_max)
    k = int(n_consider)
    if not 1 <= k <= lam.shape[-1]:
        raise KinfluxError(
            f"n_consider must be between 1 and the batch size {lam.shape[-1]}, got {k}"
        )
    lowest = torch.topk(lam, k, dim=-1, largest=False).values
    return 0.5 * torch.exp(-0.1 * lowest.mean(-1))


#: reward names accepted by the CLI and the estimators
REWARDS = ("incidence", "fastest")


def reward_function(
    name: str, partition: float = -2.5, n_consider: int = 10
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The reward called ``name`` (``"incidence"`` or ``"fastest"``) as a function of
    ``lambda_max (..., n)`` h^-1 -> ``(...)``."""
    if name == "incidence":
        return lambda lam: incidence_reward(lam, partition)
    if name == "fastest":
        return lambda lam: fastest_reward(lam, n_consider)
    raise KinfluxError(f"unknown reward '{name}'; choose one of {', '.join(REWARDS)}")
