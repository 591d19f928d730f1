"""Reservoir computing: a frozen AMN plus a trainable uptake head fitted to measured growth.

Faure et al. (2023) learn measured growth in defined media (EXP110) in two steps:

1. *Frozen part*: an AMN trained on pFBA fluxes for media drawn around the experimental
   compositions (:func:`reservoir_training_media`: 100 media per composition; each
   keeps exactly that composition's variable compounds, at
   ``(k + 1) * randint(1, 100) * 2.2 / 99`` mmol/gDW/h with ``k`` compounds present, so
   up to 11.0; fixed compounds at 2.2). Its weights are then frozen.
2. *Uptake head* (:class:`Reservoir`): a dense network on the 0/1 composition,
   ``n_variable -> 500 relu (dropout) -> n_variable relu``, masked by presence, gives
   the variable compounds' uptake bounds ``bound_scale * head(c)`` (mmol/gDW/h); fixed
   compounds stay at their bound; the frozen AMN turns these bounds into fluxes and its
   growth is fitted to the measurement (Adam, growth MSE).

The head's bounds are a medium for any FBA tool: :meth:`Reservoir.predict_bounds`
gives them per medium, and :func:`bounds_to_cobra` as COBRApy exchange bounds.

Published and here: iML1515 reduced to 550 reactions; iML1515 is not bundled, so
kinflux uses iJO1366 reduced to the reactions active in the frozen part's training
set (:func:`active_subnetwork`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from torch import nn

from kinflux import KinfluxError
from kinflux.flux.frozen import (
    FrozenError,
    active_subnetwork,
    frozen_amn,
    make_amn,
    reservoir_training_media,
    solve_media,
)

__all__ = [
    "Reservoir",
    "ReservoirError",
    "UptakeHead",
    "bounds_to_cobra",
    # the frozen part's recipe, re-exported from kinflux.flux.frozen
    "frozen_amn",
    "make_amn",
    "reservoir_training_media",
    "solve_media",
    "active_subnetwork",
    "FrozenError",
]


class ReservoirError(KinfluxError):
    """A reservoir cannot be built, fitted or read as asked."""


def _frozen_module(amn: Any) -> tuple[nn.Module, int, list[str]]:
    """The AMN's torch module (eval mode, no gradients), growth column, medium ids."""
    module = getattr(amn, "model_", None)
    if module is None:
        raise ReservoirError("the frozen AMN is not fitted; fit it or load a saved one")
    problem = getattr(amn, "problem", None)
    network = problem.network if problem is not None else amn.network
    medium = list(problem.medium_ids if problem is not None else amn.medium_ids)
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module, int(network.objective_index), medium


class UptakeHead(nn.Module):
    """``n_members`` independent heads: 0/1 compositions -> uptake levels >= 0.

    Member ``e`` maps ``c`` ``(batch, n_variable)`` to
    ``relu(W2_e dropout(relu(W1_e c + b1_e)) + b2_e) * c`` (absent compounds get 0).
    Members are stacked so that many heads (e.g. every cross-validation fold) train
    in one batched pass; each sees only its own samples, and Adam's updates are
    per weight, so members do not interact.

    Args:
        n_variable: compounds (inputs and outputs).
        hidden: hidden units.
        dropout: dropout probability after the hidden layer.
        n_members: stacked heads.
    """

    def __init__(
        self, n_variable: int, hidden: int = 500, dropout: float = 0.25, n_members: int = 1
    ) -> None:
        super().__init__()
        E = int(n_members)

        def uniform(*shape: int, fan_in: int) -> nn.Parameter:  # nn.Linear's default init
            bound = 1.0 / fan_in**0.5
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        self.W1 = uniform(E, n_variable, hidden, fan_in=n_variable)
        self.b1 = uniform(E, 1, hidden, fan_in=n_variable)
        self.W2 = uniform(E, hidden, n_variable, fan_in=hidden)
        self.b2 = uniform(E, 1, n_variable, fan_in=hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """``(n_members, batch, n_variable)`` (or ``(batch, n_variable)`` for one member)
        -> levels of the same shape (dimensionless; times ``bound_scale`` for mmol/gDW/h)."""
        single = c.ndim == 2
        if single:
            c = c.unsqueeze(0)
        h = self.dropout(torch.relu(torch.baddbmm(self.b1, c, self.W1)))
        out = torch.relu(torch.baddbmm(self.b2, h, self.W2)) * c
        return out.squeeze(0) if single else out

    def member(self, e: int) -> UptakeHead:
        """Member ``e`` alone, as a one-member head (eval mode)."""
        n_var, hidden = self.W1.shape[1], self.W1.shape[2]
        one = UptakeHead(n_var, hidden, self.dropout.p, 1)
        with torch.no_grad():
            for name in ("W1", "b1", "W2", "b2"):
                getattr(one, name).copy_(getattr(self, name)[e : e + 1])
        return one.eval()


class Reservoir(RegressorMixin, BaseEstimator):
    """Frozen AMN plus a trainable uptake head, fitted to measured growth.

    Args:
        frozen_amn: a fitted :class:`~kinflux.flux.amn.AMN` (see :func:`frozen_amn`);
            never trained here, and shared (not copied) by ``sklearn.base.clone``.
        variable_ids: inflow ids of the composition columns (default: the columns of a
            DataFrame ``X``).
        fixed_bound: bound of the other medium compounds (mmol/gDW/h).
        bound_scale: head output -> bound (mmol/gDW/h); the published head works on
            media divided by 11, so its outputs times 11 are the bounds.
        hidden, dropout: the head's hidden layer.
        epochs, batch_size, lr: Adam training of the head (published: 1000, 5, 1e-4).
        constraint_weight: weight of the frozen AMN's constraint residuals (mass
            balance, bounds, positivity) added to the growth MSE (published: 0).
        random_state: seed of the head's weights, dropout and batch order.
        n_threads: torch threads while fitting and predicting.

    Learned state: ``head_``, ``history_`` (loss per epoch), ``variable_ids_``,
    ``medium_ids_``.
    """

    def __init__(
        self,
        frozen_amn: Any = None,
        variable_ids: list[str] | None = None,
        fixed_bound: float = 2.2,
        bound_scale: float = 11.0,
        hidden: int = 500,
        dropout: float = 0.25,
        epochs: int = 1000,
        batch_size: int = 5,
        lr: float = 1e-4,
        constraint_weight: float = 0.0,
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.frozen_amn = frozen_amn
        self.variable_ids = variable_ids
        self.fixed_bound = fixed_bound
        self.bound_scale = bound_scale
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.constraint_weight = constraint_weight
        self.random_state = random_state
        self.n_threads = n_threads

    def __sklearn_clone__(self) -> Reservoir:
        """An unfitted copy sharing the (read-only) frozen AMN."""
        return type(self)(**self.get_params(deep=False))

    # ------------------------------------------------------------------ helpers
    def _compositions(self, X: Any, fitting: bool = False) -> np.ndarray:
        """``X`` as a float32 0/1 array in the order of ``variable_ids_``."""
        is_df = isinstance(X, pd.DataFrame)
        if fitting:
            if self.variable_ids is not None:
                self.variable_ids_ = list(self.variable_ids)
            elif is_df:
                self.variable_ids_ = [str(c) for c in X.columns]
            else:
                raise ReservoirError(
                    "pass X as a DataFrame with inflow-id columns, or give variable_ids"
                )
        if is_df:
            missing = [c for c in self.variable_ids_ if c not in X.columns]
            if missing:
                raise ReservoirError(f"X lacks composition column(s) {', '.join(missing)}")
            X = X[self.variable_ids_]
        c = np.asarray(X, dtype=np.float32)
        if c.ndim != 2 or not np.isin(c, (0.0, 1.0)).all():
            raise ReservoirError("X must be a 2-D array of 0/1 compositions")
        return c

    def _medium(self, levels: torch.Tensor) -> torch.Tensor:
        """Head levels ``(batch, n_variable)`` -> medium bounds ``(batch, n_medium)``."""
        out = self._base.expand(levels.shape[0], -1).clone()
        return out.index_copy(1, self._var_index, levels * float(self.bound_scale))

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> Reservoir:
        """Fit the head on compositions ``X`` ``(n, n_variable)`` and growth ``y`` (h^-1)."""
        return self.fit_members(X, y, [(np.arange(len(y)), int(self.random_state))])[0]

    def fit_members(self, X: Any, y: Any, members: list[tuple[np.ndarray, int]]) -> list[Reservoir]:
        """Fit one head per ``(train_index, seed)`` in one batched pass.

        Each member trains on ``X[train_index]`` with its own seed for batch order (its
        weights come from ``random_state``-seeded draws of its stack), e.g. every fold of
        a repeated k-fold at once: ``[(tr, seed) for seed, _, tr, _ in splits]``. Members
        with the same number of batches per epoch share one stack.

        Returns:
            Fitted reservoirs (clones of this one), one per member; this estimator is
            fitted as member 0.
        """
        from kinflux.compute import threads

        module, g, medium = _frozen_module(self.frozen_amn)
        c = self._compositions(X, fitting=True)
        y = np.asarray(y, dtype=np.float32).ravel()
        if len(y) != len(c) or not np.isfinite(y).all():
            raise ReservoirError(f"y must hold {len(c)} finite growth rates")
        unknown = [r for r in self.variable_ids_ if r not in medium]
        if unknown or c.shape[1] != len(self.variable_ids_):
            raise ReservoirError(
                f"composition columns {unknown or c.shape[1]} do not match the frozen "
                f"AMN's medium ({len(medium)} inflows)"
            )
        self.medium_ids_, self._g = medium, g
        self._prepare(module)
        # members with as many batches per epoch train together, so that no member
        # ever takes an Adam step on an empty batch (its momentum would still move it)
        B = int(self.batch_size)
        groups: dict[int, list[int]] = {}
        for e, (tr, _seed) in enumerate(members):
            groups.setdefault(-(-len(tr) // B), []).append(e)
        out: list[Reservoir | None] = [None] * len(members)
        for ids in groups.values():
            with threads(self.n_threads):
                head, history = self._train(module, c, y, [members[e] for e in ids])
            for k, e in enumerate(ids):
                res = self if e == 0 else self.__sklearn_clone__()
                res.variable_ids_, res.medium_ids_, res._g = self.variable_ids_, medium, g
                res._prepare(module)
                res.head_ = head.member(k)
                res.history_ = [float(h[k]) for h in history]
                res.n_features_in_ = c.shape[1]
                out[e] = res
        return out  # type: ignore[return-value]

    def _train(
        self, module: nn.Module, c: np.ndarray, y: np.ndarray, members: list
    ) -> tuple[UptakeHead, list[np.ndarray]]:
        """Adam on the stacked heads; returns the head and the loss per epoch and member."""
        E, B = len(members), int(self.batch_size)
        torch.manual_seed(int(self.random_state))
        head = UptakeHead(c.shape[1], int(self.hidden), float(self.dropout), E)
        opt = torch.optim.Adam(head.parameters(), lr=float(self.lr))
        gens = [torch.Generator().manual_seed(int(seed)) for _tr, seed in members]
        idx = [torch.as_tensor(np.asarray(tr), dtype=torch.long) for tr, _seed in members]
        if min(len(i) for i in idx) < 1:
            raise ReservoirError("every member needs at least one training sample")
        n_steps = -(-max(len(i) for i in idx) // B)
        ct, yt = torch.as_tensor(c), torch.as_tensor(y)
        cons = self._constraints() if self.constraint_weight else None
        history = []
        head.train()
        for _ in range(int(self.epochs)):
            order = torch.full((E, n_steps * B), -1, dtype=torch.long)
            for e, (i, gen) in enumerate(zip(idx, gens, strict=True)):
                order[e, : len(i)] = i[torch.randperm(len(i), generator=gen)]
            total = torch.zeros(E)
            for step in range(n_steps):
                rows = order[:, step * B : (step + 1) * B]
                mask = (rows >= 0).to(torch.float32)
                rows = rows.clamp(min=0)
                levels = head(ct[rows])  # (E, B, n_variable)
                x = self._medium(levels.reshape(E * B, -1))
                V = module(x)
                err = (V[:, self._g].reshape(E, B) - yt[rows]) ** 2 * mask
                per = err.sum(1) / mask.sum(1).clamp(min=1.0)
                loss = per.sum()
                if cons is not None:
                    w = mask.reshape(-1) > 0
                    loss = loss + self.constraint_weight * _constraint_penalty(V[w], x[w], cons)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += per.detach() * mask.sum(1)
            history.append((total / torch.as_tensor([len(i) for i in idx])).numpy())
        head.eval()
        return head, history

    def _prepare(self, module: nn.Module) -> None:
        self._module = module
        base = torch.zeros(1, len(self.medium_ids_))
        var = [self.medium_ids_.index(r) for r in self.variable_ids_]
        base[0, :] = float(self.fixed_bound)
        base[0, var] = 0.0
        self._base = base
        self._var_index = torch.as_tensor(var, dtype=torch.long)

    def _constraints(self) -> Any:
        from kinflux.flux.losses import Constraints

        return Constraints(self.frozen_amn.problem)

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if getattr(self, "head_", None) is None:
            raise ReservoirError("this Reservoir is not fitted yet; call fit(X, y)")

    def predict_bounds(self, X: Any) -> pd.DataFrame:
        """Predicted uptake bounds ``(n, n_medium)`` (mmol/gDW/h), columns inflow ids."""
        self._check_fitted()
        c = self._compositions(X)
        with torch.no_grad():
            M = self._medium(self.head_(torch.as_tensor(c))).numpy().astype(np.float64)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(M, columns=self.medium_ids_, index=index)

    def predict_fluxes(self, X: Any) -> np.ndarray:
        """The frozen AMN's split fluxes ``(n, n_reactions)`` (mmol/gDW/h)."""
        self._check_fitted()
        M = torch.as_tensor(self.predict_bounds(X).to_numpy(), dtype=torch.float32)
        with torch.no_grad():
            return self._module(M).numpy().astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted growth ``(n,)`` (h^-1)."""
        return self.predict_fluxes(X)[:, self._g]

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """The head's weights and hyper-parameters (not the frozen AMN) in one ``.pt``."""
        from kinflux.io import atomic_write, check_output

        self._check_fitted()
        p = check_output(path, force=force)
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "frozen_amn"}
        payload = {
            "format": "kinflux-reservoir-1",
            "params": {**params, "variable_ids": self.variable_ids_},
            "medium_ids": self.medium_ids_,
            "state_dict": self.head_.state_dict(),
            "history": self.history_,
        }
        with atomic_write(p, "wb") as fh:
            torch.save(payload, fh)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike, frozen_amn: Any) -> Reservoir:
        """A saved reservoir on ``frozen_amn`` (the AMN it was fitted with)."""
        p = Path(path)
        try:
            payload = torch.load(p, map_location="cpu", weights_only=True)
            params = payload["params"]
        except Exception as exc:
            raise ReservoirError(f"{p}: not a kinflux reservoir file ({exc})") from None
        res = cls(frozen_amn, **params)
        module, res._g, medium = _frozen_module(frozen_amn)
        if list(payload["medium_ids"]) != medium:
            raise ReservoirError(f"{p}: the frozen AMN has other medium ids than the saved one")
        res.variable_ids_ = list(params["variable_ids"])
        res.medium_ids_ = medium
        res._prepare(module)
        head = UptakeHead(len(res.variable_ids_), int(res.hidden), float(res.dropout))
        head.load_state_dict(payload["state_dict"])
        head.eval()
        res.head_ = head
        res.history_ = list(payload["history"])
        res.n_features_in_ = len(res.variable_ids_)
        return res


def _constraint_penalty(V: torch.Tensor, x: torch.Tensor, cons: Any) -> torch.Tensor:
    """Mean squared constraint residuals of the AMN loss (mass balance, bounds, signs)."""
    from kinflux.flux.losses import residuals

    r = residuals(V, x, cons, "UB")
    return (
        r.SV.square().sum(1).mean() / max(1, r.SV.shape[1])
        + r.inflow.square().sum(1).mean() / max(1, r.inflow.shape[1])
        + (r.lower.square().sum(1) + r.upper.square().sum(1)).mean() / V.shape[1]
    )


def bounds_to_cobra(bounds: pd.DataFrame) -> pd.DataFrame:
    """Uptake bounds ``(n, n_medium)`` with inflow-id columns -> a COBRApy medium table.

    Columns become exchange ids (``EX_<met>_e``, the ``_i`` suffix stripped); values
    stay the uptake bounds (mmol/gDW/h, >= 0). A row is a complete medium for
    COBRApy: ``model.medium = row.to_dict()`` opens these exchanges at these bounds and
    closes every other uptake.

    Example:
        >>> b = pd.DataFrame({"EX_a_e_i": [2.2], "EX_b_e_i": [0.0]}, index=["m0"])
        >>> bounds_to_cobra(b).loc["m0"].to_dict()
        {'EX_a_e': 2.2, 'EX_b_e': 0.0}
    """
    out = bounds.copy()
    out.columns = [str(c).removesuffix("_i") for c in bounds.columns]
    return out.astype(float)
