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

kinflux's options beyond the published recipe (defaults keep the published one):
``head_fixed`` (the head also sets the bounds of some fixed compounds, e.g. the fixed
carbon sources, which the frozen AMN's training media then draw as well),
``clip_bounds`` (bounds capped at the frozen training set's range, where the frozen
AMN still agrees with FBA) and ``n_heads`` (an ensemble of heads, averaged).

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

from kinflux.flux.frozen import (
    FrozenError,
    active_subnetwork,
    frozen_amn,
    frozen_module,
    growth_module,
    make_amn,
    reservoir_training_media,
    solve_media,
)
from kinflux.flux.uptake_head import (
    ReservoirError,
    UptakeHead,
    bounds_to_cobra,
    carbon_sources,
    constraint_penalty,
    head_fixed_ids,
)

__all__ = [
    "Reservoir",
    "ReservoirError",
    "UptakeHead",
    "bounds_to_cobra",
    "carbon_sources",
    "head_fixed_ids",
    # the frozen part's recipe, re-exported from kinflux.flux.frozen
    "frozen_amn",
    "make_amn",
    "reservoir_training_media",
    "solve_media",
    "active_subnetwork",
    "FrozenError",
]


class Reservoir(RegressorMixin, BaseEstimator):
    """Frozen AMN plus a trainable uptake head, fitted to measured growth.

    Args:
        frozen_amn: a fitted :class:`~kinflux.flux.amn.AMN` (see :func:`frozen_amn`);
            never trained here, and shared (not copied) by ``sklearn.base.clone``.
        variable_ids: inflow ids of the composition columns (default: the columns of a
            DataFrame ``X``).
        fixed_bound: bound of the other medium compounds (mmol/gDW/h).
        head_fixed: fixed compounds whose bounds the head sets as well (kinflux's
            option, not in the published recipe): ``None`` (published: every fixed
            compound at ``fixed_bound``), ``"carbon"`` (the organic fixed compounds,
            :func:`carbon_sources`; for EXP110 glycerol and four amino acids) or a
            list of inflow ids. The frozen AMN must have been trained on media that
            draw these compounds' levels (``frozen_amn(..., drawn_fixed=...)``); their
            bounds are capped at ``fixed_bound`` (the range of that training set).
        clip_bounds: cap each variable compound's bound at the frozen training set's
            largest level for its medium, ``(k + 1) * fixed_bound`` with ``k`` compounds
            present (kinflux's option; the published head is unbounded, and where the
            frozen AMN extrapolates it no longer agrees with FBA on the same bounds).
        bound_scale: head output -> bound (mmol/gDW/h); the published head works on
            media divided by 11, so its outputs times 11 are the bounds.
        hidden, dropout: the head's hidden layer (``hidden=0``: a linear head).
        epochs, batch_size, lr: Adam training of the head (published: 1000, 5, 1e-4).
        constraint_weight: weight of the frozen AMN's constraint residuals (mass
            balance, bounds, positivity) added to the growth MSE (published: 0).
        n_heads: heads trained independently (own weights and batch order) on the same
            data; growth is their mean prediction, the bounds their mean bounds
            (kinflux's ensemble; published: 1).
        random_state: seed of the head's weights, dropout and batch order.
        n_threads: torch threads while fitting and predicting.

    Learned state: ``head_``, ``history_`` (loss per epoch), ``variable_ids_``,
    ``medium_ids_``, ``head_fixed_ids_`` (the fixed compounds set by the head).
    """

    def __init__(
        self,
        frozen_amn: Any = None,
        variable_ids: list[str] | None = None,
        fixed_bound: float = 2.2,
        head_fixed: str | list[str] | tuple[str, ...] | None = None,
        clip_bounds: bool = False,
        bound_scale: float = 11.0,
        hidden: int = 500,
        dropout: float = 0.25,
        epochs: int = 1000,
        batch_size: int = 5,
        lr: float = 1e-4,
        constraint_weight: float = 0.0,
        n_heads: int = 1,
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.frozen_amn = frozen_amn
        self.variable_ids = variable_ids
        self.fixed_bound = fixed_bound
        self.head_fixed = head_fixed
        self.clip_bounds = clip_bounds
        self.bound_scale = bound_scale
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.constraint_weight = constraint_weight
        self.n_heads = n_heads
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

    def _medium(self, levels: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Head levels ``(batch, n_variable + n_head_fixed)`` and compositions
        ``(batch, n_variable)`` -> medium bounds ``(batch, n_medium)`` (mmol/gDW/h).

        Head-set fixed compounds are capped at ``fixed_bound`` (they can only be
        lowered); with ``clip_bounds`` a variable compound is capped at the frozen
        training set's largest level for its medium, ``(k + 1) * fixed_bound``.
        """
        b = levels * float(self.bound_scale)
        n_var = c.shape[-1]
        if b.shape[-1] > n_var or self.clip_bounds:
            cap = torch.full_like(b, float(self.fixed_bound))
            if self.clip_bounds:
                k = c.sum(-1, keepdim=True)
                cap[..., :n_var] = (k + 1.0) * float(self.fixed_bound)
            else:
                cap[..., :n_var] = float("inf")
            b = torch.minimum(b, cap)
        out = self._base.expand(*levels.shape[:-1], -1).clone()
        out[..., self._var_index] = b
        return out

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

        module, g, medium = frozen_module(self.frozen_amn)
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
        self.head_fixed_ids_ = head_fixed_ids(
            self.head_fixed, self.frozen_amn.problem.network, medium, self.variable_ids_
        )
        self._prepare(module)
        # every member is n_heads heads (an ensemble: own weights, own batch order);
        # heads with as many batches per epoch train together, so that no head ever
        # takes an Adam step on an empty batch (its momentum would still move it)
        H, B = int(self.n_heads), int(self.batch_size)
        if H < 1:
            raise ReservoirError(f"n_heads must be >= 1, got {self.n_heads}")
        heads = [(tr, int(seed) + 100_003 * j) for tr, seed in members for j in range(H)]
        groups: dict[int, list[int]] = {}
        for e, (tr, _seed) in enumerate(members):
            groups.setdefault(-(-len(tr) // B), []).append(e)
        out: list[Reservoir | None] = [None] * len(members)
        for ids in groups.values():
            rows = [e * H + j for e in ids for j in range(H)]
            with threads(self.n_threads):
                head, history = self._train(module, c, y, [heads[r] for r in rows])
            for k, e in enumerate(ids):
                res = self if e == 0 else self.__sklearn_clone__()
                res.variable_ids_, res.medium_ids_, res._g = self.variable_ids_, medium, g
                res.head_fixed_ids_ = self.head_fixed_ids_
                res._prepare(module)
                res.head_ = head.members(range(k * H, (k + 1) * H))
                res.history_ = [float(h[k * H : (k + 1) * H].mean()) for h in history]
                res.n_features_in_ = c.shape[1]
                out[e] = res
        return out  # type: ignore[return-value]

    def _train(
        self, module: nn.Module, c: np.ndarray, y: np.ndarray, members: list
    ) -> tuple[UptakeHead, list[np.ndarray]]:
        """Adam on the stacked heads; returns the head and the loss per epoch and member."""
        E, B = len(members), int(self.batch_size)
        torch.manual_seed(int(self.random_state))
        n_fixed = len(self.head_fixed_ids_)
        head = UptakeHead(c.shape[1], int(self.hidden), float(self.dropout), E, n_fixed)
        opt = torch.optim.Adam(head.parameters(), lr=float(self.lr))
        gens = [torch.Generator().manual_seed(int(seed)) for _tr, seed in members]
        idx = [torch.as_tensor(np.asarray(tr), dtype=torch.long) for tr, _seed in members]
        if min(len(i) for i in idx) < 1:
            raise ReservoirError("every member needs at least one training sample")
        n_steps = -(-max(len(i) for i in idx) // B)
        ct, yt = torch.as_tensor(c), torch.as_tensor(y)
        cons = self._constraints() if self.constraint_weight else None
        grow = growth_module(module, self._g) if cons is None else None
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
                x = self._medium(levels.reshape(E * B, -1), ct[rows].reshape(E * B, -1))
                if grow is not None:
                    V, growth = None, grow(x)
                else:
                    V = module(x)
                    growth = V[:, self._g]
                err = (growth.reshape(E, B) - yt[rows]) ** 2 * mask
                per = err.sum(1) / mask.sum(1).clamp(min=1.0)
                loss = per.sum()
                if cons is not None and V is not None:
                    w = mask.reshape(-1) > 0
                    loss = loss + self.constraint_weight * constraint_penalty(V[w], x[w], cons)
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
        var += [self.medium_ids_.index(r) for r in self.head_fixed_ids_]
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

    def _head_media(self, X: Any) -> torch.Tensor:
        """Every head's medium bounds ``(n_heads, n, n_medium)`` (mmol/gDW/h)."""
        self._check_fitted()
        ct = torch.as_tensor(self._compositions(X))
        H = self.head_.W2.shape[0]
        with torch.no_grad():
            return self._medium(self.head_(ct.expand(H, -1, -1)), ct)

    def predict_bounds(self, X: Any) -> pd.DataFrame:
        """Predicted uptake bounds ``(n, n_medium)`` (mmol/gDW/h), columns inflow ids;
        the mean over the ``n_heads`` heads."""
        M = self._head_media(X).mean(0).numpy().astype(np.float64)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(M, columns=self.medium_ids_, index=index)

    def predict_fluxes(self, X: Any) -> np.ndarray:
        """The frozen AMN's split fluxes ``(n, n_reactions)`` (mmol/gDW/h), averaged
        over the heads (each head's medium through the frozen AMN)."""
        M = self._head_media(X)
        with torch.no_grad():
            V = torch.stack([self._module(m) for m in M]).mean(0)
        return V.numpy().astype(np.float64)

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
            "head_fixed_ids": self.head_fixed_ids_,
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
        module, res._g, medium = frozen_module(frozen_amn)
        if list(payload["medium_ids"]) != medium:
            raise ReservoirError(f"{p}: the frozen AMN has other medium ids than the saved one")
        res.variable_ids_ = list(params["variable_ids"])
        res.medium_ids_ = medium
        res.head_fixed_ids_ = list(payload.get("head_fixed_ids", []))
        res._prepare(module)
        head = UptakeHead(
            len(res.variable_ids_),
            int(res.hidden),
            float(res.dropout),
            n_members=int(res.n_heads),
            n_fixed=len(res.head_fixed_ids_),
        )
        head.load_state_dict(payload["state_dict"])
        head.eval()
        res.head_ = head
        res.history_ = list(payload["history"])
        res.n_features_in_ = len(res.variable_ids_)
        return res
