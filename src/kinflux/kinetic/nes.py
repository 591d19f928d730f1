"""Natural evolution strategies over a flat weight vector, as published and improved.

A strategy proposes a population of perturbations ``eps_i`` (``(population, n_weights)``)
around the parent weights ``w``; the caller evaluates a reward for every member
``w + sigma eps_i`` and hands the rewards back; the strategy moves ``w``. Nothing here
knows about kinetic models: the rewards come from any callable.

**Published rule** (:class:`PublishedES`, the evostra copy used by RENAISSANCE)::

    eps_i ~ N(0, I), i = 1..P (P = 20, no antithetic pairs), sigma = 0.01
    z_i = (r_i - mean r) / std r          (population std, ddof 0)
    w  <- w + lr / (P sigma) * sum_i z_i eps_i
    lr <- decay * lr                      (decay 0.95, lr starts at 1e-3)

and when ``std r == 0`` neither ``w`` nor ``lr`` changes.

**Improved rule** (:class:`ImprovedES`), standard changes (Salimans et al. 2017,
Wierstra et al. 2014, Kingma and Ba 2015), each switchable; the default is rank shaping
with plain decayed steps (what measured best, docs/renaissance.md):

- antithetic sampling (off by default): members come in pairs ``+eps, -eps``;
- rank-based fitness shaping: rewards are replaced by centred ranks in [-0.5, 0.5]
  (invariant to the reward's scale, so the fallback branch of the incidence reward, two
  orders of magnitude below the share branch, steers as strongly);
- optional Adam steps on the gradient estimate ``g = 1/(P sigma) sum_i u_i eps_i``
  (per-weight step sizes, momentum; off by default, plain ``w += lr g`` with decay).

The estimator in :mod:`kinflux.kinetic.renaissance` adds common random numbers
(``common_noise``): all members of a generation generate from the same noise.

Why own code and not evotorch/cma: CMA-ES keeps an ``n x n`` covariance (``n`` = 1.08
million weights: impossible); separable variants and evotorch's PGPE/SNES are the same
few lines as here but would add a dependency, hide the random stream that makes resumed
runs bit-identical, and do not reproduce the published rule, which must stay available
for the comparison.

Shapes: ``w`` ``(n_weights,)`` float32; ``eps`` ``(population, n_weights)``; rewards
``(population,)``. Randomness: ``ask`` takes a ``torch.Generator``.

Example:
    >>> import torch
    >>> es = PublishedES(population=4, sigma=0.1, learning_rate=0.5, decay=0.9)
    >>> w = torch.zeros(3)
    >>> eps = es.ask(w, torch.Generator().manual_seed(0))
    >>> eps.shape
    torch.Size([4, 3])
    >>> w2 = es.tell(w, eps, torch.tensor([1.0, 2.0, 3.0, 4.0]))
    >>> es.learning_rate
    0.45
"""

from __future__ import annotations

from typing import Any

import torch

from kinflux import KinfluxError

__all__ = [
    "EvolutionStrategy",
    "PublishedES",
    "ImprovedES",
    "STRATEGIES",
    "centered_ranks",
    "make_strategy",
    "seed_for",
]


def centered_ranks(rewards: torch.Tensor) -> torch.Tensor:
    """Ranks of ``rewards (P,)`` mapped linearly onto [-0.5, 0.5] (ties get their mean
    rank), ``(P,)`` float64.

    Example:
        >>> centered_ranks(torch.tensor([3.0, 1.0, 2.0, 2.0])).tolist()
        [0.5, -0.5, 0.0, 0.0]
    """
    r = torch.as_tensor(rewards, dtype=torch.float64)
    p = r.numel()
    if p < 2:
        return torch.zeros_like(r)
    order = torch.argsort(r, stable=True)
    ranks = torch.empty_like(r)
    ranks[order] = torch.arange(p, dtype=torch.float64)
    for v in torch.unique(r):  # mean rank of ties
        tie = r == v
        if int(tie.sum()) > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks / (p - 1) - 0.5


class EvolutionStrategy:
    """Common part: hyper-parameters, the population draw and state for resuming.

    Args:
        population: members per generation ``P``.
        sigma: perturbation scale (weight units).
        learning_rate: initial step size.
        decay: learning-rate factor applied after each update (1 = none).
    """

    name = "base"

    def __init__(
        self,
        population: int = 20,
        sigma: float = 0.01,
        learning_rate: float = 1e-3,
        decay: float = 0.95,
    ) -> None:
        if int(population) < 2:
            raise KinfluxError(f"population must be >= 2, got {population}")
        if not (sigma > 0 and learning_rate > 0 and 0 < decay <= 1):
            raise KinfluxError(
                "need sigma > 0, learning_rate > 0 and 0 < decay <= 1, got "
                f"{sigma}, {learning_rate}, {decay}"
            )
        self.population = int(population)
        self.sigma = float(sigma)
        self.learning_rate = float(learning_rate)
        self.decay = float(decay)
        self.updates = 0

    def ask(self, w: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Perturbations ``eps`` ``(population, n_weights)`` (dtype of ``w``); the
        members are ``w + sigma * eps``."""
        return torch.randn(
            self.population, w.numel(), generator=generator, dtype=w.dtype, device=w.device
        )

    def tell(self, w: torch.Tensor, eps: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """New parent weights from the members' ``rewards (population,)``."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Everything that changes during training (for checkpoints)."""
        return {"learning_rate": self.learning_rate, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.learning_rate = float(state["learning_rate"])
        self.updates = int(state["updates"])

    def _check(self, w: torch.Tensor, eps: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        r = torch.as_tensor(rewards, dtype=torch.float64).reshape(-1)
        if eps.shape != (self.population, w.numel()) or r.numel() != self.population:
            raise KinfluxError(
                f"{self.name}: expected eps ({self.population}, {w.numel()}) and "
                f"{self.population} rewards, got {tuple(eps.shape)} and {r.numel()}"
            )
        if not torch.isfinite(r).all():
            raise KinfluxError(f"{self.name}: rewards must be finite, got {r.tolist()}")
        return r


class PublishedES(EvolutionStrategy):
    """The evostra rule used by RENAISSANCE, exactly (see the module docstring)."""

    name = "published"

    def tell(self, w: torch.Tensor, eps: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """``w + lr/(P sigma) sum_i z_i eps_i`` (z-scored rewards, ddof 0), then decay
        ``lr``; ``w`` unchanged (and no decay) when all rewards are equal."""
        r = self._check(w, eps, rewards)
        std = float(r.std(correction=0))
        if std == 0.0:
            return w
        z = ((r - r.mean()) / std).to(eps.dtype)
        step = (self.learning_rate / (self.population * self.sigma)) * (z @ eps)
        self.learning_rate *= self.decay
        self.updates += 1
        return w + step


class ImprovedES(EvolutionStrategy):
    """Antithetic pairs, centred-rank shaping and Adam steps (each switchable).

    Args:
        population: members (even when ``antithetic``).
        sigma: perturbation scale.
        learning_rate: step size of ``w += lr g`` (or Adam's step with ``adam=True``).
            The default 3.5e-3 with centred ranks (sd 0.3) moves ``w`` about as far per
            generation as the published 1e-3 with z-scores (sd 1).
        decay: learning-rate factor per update (1: none).
        antithetic: members ``+eps_j, -eps_j`` (off by default: paired members' rewards
            are correlated, which shrinks the steps; it learned more slowly here).
        rank_shaping: centred ranks instead of z-scores.
        adam: Adam moments ``beta1``, ``beta2`` (off by default: on the kinetic problems
            per-weight normalization learned more slowly, see docs/renaissance.md).
    """

    name = "improved"

    def __init__(
        self,
        population: int = 20,
        sigma: float = 0.01,
        learning_rate: float = 3.5e-3,
        decay: float = 0.95,
        antithetic: bool = False,
        rank_shaping: bool = True,
        adam: bool = False,
        beta1: float = 0.9,
        beta2: float = 0.999,
    ) -> None:
        super().__init__(population, sigma, learning_rate, decay)
        if antithetic and self.population % 2:
            raise KinfluxError(f"antithetic sampling needs an even population, got {population}")
        self.antithetic = bool(antithetic)
        self.rank_shaping = bool(rank_shaping)
        self.adam = bool(adam)
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self._m: torch.Tensor | None = None
        self._v: torch.Tensor | None = None

    def ask(self, w: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``(population, n_weights)``; with antithetic sampling rows ``P/2..`` are the
        negatives of rows ``0..P/2``."""
        if not self.antithetic:
            return super().ask(w, generator)
        half = torch.randn(
            self.population // 2, w.numel(), generator=generator, dtype=w.dtype, device=w.device
        )
        return torch.cat([half, -half])

    def gradient(self, eps: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """Search-gradient estimate ``1/(P sigma) sum_i u_i eps_i`` ``(n_weights,)``
        with ``u`` the shaped rewards (zero when all rewards are equal)."""
        r = torch.as_tensor(rewards, dtype=torch.float64)
        if self.rank_shaping:
            u = centered_ranks(r)
        else:
            std = float(r.std(correction=0))
            u = (r - r.mean()) / std if std > 0 else torch.zeros_like(r)
        return (u.to(eps.dtype) @ eps) / (self.population * self.sigma)

    def tell(self, w: torch.Tensor, eps: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """One Adam (or SGD) ascent step along :meth:`gradient`; no step when all
        rewards are equal."""
        r = self._check(w, eps, rewards)
        if float(r.max() - r.min()) == 0.0:
            return w
        g = self.gradient(eps, r)
        self.updates += 1
        if self.adam:
            if self._m is None:
                self._m, self._v = torch.zeros_like(w), torch.zeros_like(w)
            self._m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
            self._v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            mhat = self._m / (1 - self.beta1**self.updates)
            vhat = self._v / (1 - self.beta2**self.updates)
            step = self.learning_rate * mhat / (vhat.sqrt() + 1e-8)
        else:
            step = self.learning_rate * g
        self.learning_rate *= self.decay
        return w + step

    def state_dict(self) -> dict[str, Any]:
        """Learning rate, update count and Adam moments."""
        return {**super().state_dict(), "m": self._m, "v": self._v}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        super().load_state_dict(state)
        self._m, self._v = state.get("m"), state.get("v")


#: update rules by name
STRATEGIES = ("published", "improved")


def make_strategy(name: str, **kwargs: Any) -> EvolutionStrategy:
    """A strategy by name (``"published"`` or ``"improved"``); ``kwargs`` are its
    hyper-parameters (``None`` values fall back to the class defaults)."""
    kw = {k: v for k, v in kwargs.items() if v is not None}
    if name == "published":
        return PublishedES(**kw)
    if name == "improved":
        return ImprovedES(**kw)
    raise KinfluxError(f"unknown update rule '{name}'; choose one of {', '.join(STRATEGIES)}")


def seed_for(random_state: int, *keys: int) -> int:
    """A 63-bit seed derived from ``random_state`` and integer ``keys`` (e.g. repeat and
    generation) with :class:`numpy.random.SeedSequence`, so any generation's random
    stream can be rebuilt on resume.

    Example:
        >>> seed_for(0, 1, 2) == seed_for(0, 1, 2) != seed_for(0, 2, 1)
        True
    """
    import numpy as np

    state = np.random.SeedSequence([int(random_state), *map(int, keys)]).generate_state(
        1, np.uint64
    )
    return int(state[0] >> np.uint64(1))
