"""Shared machinery of the mechanistic layers: the iteration loop and step rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from kinflux.flux.losses import Constraints, LayerError, mechanistic_loss
from kinflux.flux.problem import FluxProblem

__all__ = ["IterativeLayer", "StepRule"]

#: callback(iteration, V) called every ``callback_every`` iterations (no grad needed).
Callback = Callable[[int, torch.Tensor], None]


@dataclass
class StepRule:
    """Step size control of an iterative layer.

    ``dt`` is the initial step. With ``patience`` set (the published AMN rule: 10^4),
    ``dt`` is multiplied by ``factor`` (0.7) whenever the batch-mean mechanistic loss has
    not improved for ``patience`` iterations (checked every ``check_every``).
    """

    dt: float
    patience: int | None = None
    factor: float = 0.7
    check_every: int = 100


class IterativeLayer(nn.Module):
    """Base class: ``forward(x, v0=None, n_iter=None) -> V (batch, n_reactions)``.

    Subclasses implement ``init_state``, ``step`` and ``output``. The medium ``x`` is
    ``(batch, n_medium)`` in mmol/gDW/h in the order of ``problem.medium_ids``; the
    problem's mode says whether ``x`` bounds (UB) or fixes (EB) the uptakes. Gradients
    flow to ``x``, ``v0`` and any parameters.
    """

    def __init__(self, problem: FluxProblem, n_iter: int, rule: StepRule) -> None:
        super().__init__()
        network = problem.network
        self.problem = problem
        self.mode = problem.mode
        self.constraints = Constraints(problem)
        self.n_iter = int(n_iter)
        self.rule = rule
        self.n_reactions = network.n_reactions
        self.objective_index = network.objective_index
        #: iterations run by the last forward, and its final step size
        self.last_iterations = 0
        self.last_dt = rule.dt

    @property
    def medium_ids(self) -> list[str]:
        """Inflow ids of the medium vector's columns."""
        return self.constraints.medium_ids

    def _dtype_device(self) -> tuple[torch.dtype, torch.device]:
        lower = self.constraints.lower
        return lower.dtype, lower.device

    # -- to implement -------------------------------------------------------------
    def init_state(self, x: torch.Tensor, v0: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def step(self, state: tuple, x: torch.Tensor, dt: float) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def output(self, state: tuple, x: torch.Tensor) -> torch.Tensor:
        return state[0]

    # -- loop ---------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        v0: torch.Tensor | None = None,
        n_iter: int | None = None,
        callback: Callback | None = None,
        callback_every: int = 100,
    ) -> torch.Tensor:
        """Run ``n_iter`` iterations (default: the constructor's) from ``v0``.

        Args:
            x: media ``(batch, n_medium)``, mmol/gDW/h.
            v0: initial fluxes ``(batch, n_reactions)``; None = cold start (zeros).
            n_iter: number of iterations.
            callback: called as ``callback(t, V)`` after every ``callback_every``
                iterations with the current output fluxes (detached).

        Returns:
            Fluxes ``(batch, n_reactions)`` in mmol/gDW/h.
        """
        dtype, device = self._dtype_device()
        self.constraints.check_x(x)
        x = x.to(dtype=dtype, device=device)
        if v0 is not None:
            if v0.shape != (x.shape[0], self.n_reactions):
                raise LayerError(
                    f"v0 must have shape ({x.shape[0]}, {self.n_reactions}), got {tuple(v0.shape)}"
                )
            v0 = v0.to(dtype=dtype, device=device)
        n = self.n_iter if n_iter is None else int(n_iter)
        rule = self.rule
        dt = rule.dt
        best, since = float("inf"), 0
        state = self.init_state(x, v0)
        for t in range(1, n + 1):
            state = self.step(state, x, dt)
            if rule.patience is not None and t % rule.check_every == 0:
                with torch.no_grad():
                    V = self.output(state, x)
                    loss = float(mechanistic_loss(V, x, self.constraints, self.mode))
                if loss < best * (1 - 1e-9):
                    best, since = loss, 0
                else:
                    since += rule.check_every
                    if since >= rule.patience:
                        dt *= rule.factor
                        since = 0
            if callback is not None and t % callback_every == 0:
                with torch.no_grad():
                    callback(t, self.output(state, x).detach())
        self.last_iterations, self.last_dt = n, dt
        return self.output(state, x)

    def growth(self, V: torch.Tensor) -> torch.Tensor:
        """Growth rates ``(batch,)`` (h^-1) of fluxes ``V``."""
        return V[:, self.objective_index]
