"""Training AMNs: the mechanistic loss, an estimator with fit/predict, metrics, CV.

Loss (Faure et al. 2023), for predicted split fluxes ``V`` ``(batch, n)``::

    L = w_ref * mean(((V - Y) / sd)[:, ref]^2)           reference error (sd: per-flux
                                                          standard deviation of Y)
      + w_sv  * ||S V||^2 / m                              mass balance
      + w_ub  * ||ReLU(V[:, in] - x)||^2 / n_in            uptake bounds (UB mode)
             (or ||V[:, in] - x||^2 / n_in in EB mode)     exact uptakes (EB mode)
      + w_pos * (||ReLU(lb - V)||^2 + ||ReLU(V - ub)||^2) / n   positivity and the other
                                                          bounds (e.g. ATPM >= 8.39)

The mechanistic residuals come from :func:`kinflux.flux.losses.residuals`, shared with
the neural solvers.

each squared norm averaged over the batch. ``ANN-Dense`` uses the reference term only.

Metrics: ``R2`` on training data, ``Q2`` on held-out data (CV folds or a test set),
both as ``1 - SSE/SST``; for "all fluxes" over the flattened ``(n_samples * n)`` matrix.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinflux import KinfluxError, __version__
from kinflux.flux.losses import Constraints, residuals
from kinflux.flux.models import ARCHITECTURES, FluxModel, build_flux_model
from kinflux.flux.network import Network
from kinflux.io import atomic_write, check_output

__all__ = [
    "LossWeights",
    "AMN",
    "r2_score",
    "evaluate",
    "cross_validate",
    "ModelMismatchError",
]


class ModelMismatchError(KinfluxError):
    """A saved AMN was loaded onto a network other than the one it was trained on."""


@dataclass
class LossWeights:
    """Weights of the loss terms (dimensionless).

    Defaults were chosen on e_coli_core (1000 samples, 5-fold CV; see docs/flux.md):
    mechanistic terms x10 keep ``||SV||^2`` of AMN-QP below ANN-Dense's, and the extra
    growth weight 5 raises growth Q^2 from 0.978 to 0.999 at almost no all-flux cost.
    """

    ref: float = 1.0
    sv: float = 10.0
    bounds: float = 10.0
    positivity: float = 10.0
    #: extra weight of the growth flux's scaled squared error (on top of ``ref``)
    growth: float = 5.0


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``1 - SSE/SST`` over all entries (flattened); NaN if ``y_true`` is constant."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    sst = float(((y_true - y_true.mean()) ** 2).sum())
    if sst == 0.0:
        return float("nan")
    return 1.0 - float(((y_true - y_pred) ** 2).sum()) / sst


@dataclass
class _Config:
    arch: str = "AMN-QP"
    mode: str = "UB"
    hidden: tuple[int, ...] = (500,)
    dropout: float = 0.25
    n_iter: int | None = None
    reference: str | list[str] = "all"
    epochs: int = 200
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    patience: int = 30
    val_fraction: float = 0.1
    weights: LossWeights = field(default_factory=LossWeights)
    random_state: int = 0
    prune: bool = True


class AMN:
    """Neural-mechanistic flux model with a scikit-learn-like API.

    Args:
        network: the split network the fluxes live on.
        medium_ids: inflow ids of the medium columns (a training set's ``medium_ids``).
        arch: one of :data:`kinflux.flux.models.ARCHITECTURES`.
        mode: ``"UB"`` or ``"EB"``, as the training set.
        hidden, dropout: prior network.
        n_iter: mechanistic iterations per forward pass (layer default if None).
        reference: fluxes in the reference error: ``"all"``, ``"growth"`` or a list of ids.
        epochs, batch_size, lr, weight_decay: Adam training.
        schedule: ``"cosine"`` (learning rate annealed to lr/100 over ``epochs``) or
            ``"constant"``.
        patience: early stopping after this many epochs without validation improvement.
        val_fraction: share of the training data held out for early stopping.
        weights: :class:`LossWeights`.
        open_inflows: inflows open outside the medium (a training set's metadata).
        prune: build the mechanistic layer on the reactions that are not blocked for
            these media (exact: blocked fluxes are 0 in every feasible solution; on
            iJO1366 it halves the layer's size). Predictions still cover every reaction.
        random_state: seed; the same seed gives the same model on the same machine.
        device: torch device.

    Learned state: ``model_`` (the torch module), ``history_`` (per-epoch losses),
    ``n_params_``, ``seconds_per_epoch_``.

    Example:
        >>> amn = AMN(net, ts.medium_ids, arch="ANN-Dense", epochs=50).fit(ts.X, ts.Y)
        >>> fluxes = amn.predict(ts.X)  # (n, n_reactions)
    """

    def __init__(
        self,
        network: Network,
        medium_ids: list[str],
        arch: str = "AMN-QP",
        mode: str = "UB",
        hidden: Sequence[int] = (500,),
        dropout: float = 0.25,
        n_iter: int | None = None,
        reference: str | list[str] = "all",
        epochs: int = 200,
        batch_size: int = 64,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        schedule: str = "cosine",
        patience: int = 30,
        val_fraction: float = 0.1,
        weights: LossWeights | None = None,
        open_inflows: dict[str, float] | None = None,
        random_state: int = 0,
        device: str = "cpu",
        prune: bool = True,
    ) -> None:
        if arch not in ARCHITECTURES:
            raise KinfluxError(
                f"unknown architecture '{arch}'; choose one of {', '.join(ARCHITECTURES)}"
            )
        self.network = network
        self.medium_ids = list(medium_ids)
        self.config = _Config(
            arch=arch,
            mode=mode.upper(),
            hidden=tuple(hidden),
            dropout=dropout,
            n_iter=n_iter,
            reference=reference,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            schedule=schedule,
            patience=patience,
            val_fraction=val_fraction,
            weights=weights or LossWeights(),
            random_state=random_state,
            prune=prune,
        )
        # None: the network's own bounds for inflows outside the medium; {}: all closed
        self.open_inflows = None if open_inflows is None else dict(open_inflows)
        self.device = torch.device(device)
        self.model_: FluxModel | None = None
        self.model_scale_: torch.Tensor | None = None
        self._knockout_solver: Any = None  # set inside knockout(project=True)
        self._knockout_inputs: np.ndarray | None = None  # medium columns knocked out

    # ------------------------------------------------------------------ helpers
    @property
    def arch(self) -> str:
        return self.config.arch

    def _reference_idx(self) -> np.ndarray:
        ref = self.config.reference
        if ref == "all":
            return np.arange(self.network.n_reactions)
        if ref == "growth":
            return np.array([self.network.objective_index])
        return self.network.indices(list(ref))

    def _build(self) -> FluxModel:
        c = self.config
        return build_flux_model(
            c.arch,
            self.network,
            self.medium_ids,
            mode=c.mode,
            hidden=c.hidden,
            dropout=c.dropout,
            n_iter=c.n_iter,
            open_inflows=self.open_inflows,
            prune=c.prune,
        ).to(self.device, torch.float32)

    def _constraints(self) -> Constraints:
        return Constraints(self.network, self.medium_ids, open_inflows=self.open_inflows).to(
            self.device, torch.float32
        )

    def _loss(
        self, V: torch.Tensor, x: torch.Tensor, y: torch.Tensor, cons: Constraints, ref
    ) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.config.weights
        scale = self.model_scale_ if self.model_scale_ is not None else 1.0
        err = (V - y) / scale
        ref_term = (err[:, ref] ** 2).mean()
        if w.growth:
            ref_term = ref_term + w.growth * (err[:, self.network.objective_index] ** 2).mean()
        if self.arch == "ANN-Dense":
            return w.ref * ref_term, {"ref": float(ref_term.detach())}
        r = residuals(V, x, cons, self.config.mode)
        terms = {
            "sv": r.SV.square().sum(1).mean() / cons.n_metabolites,
            "bounds": r.inflow.square().sum(1).mean() / max(1, cons.n_medium),
            "positivity": (r.lower.square().sum(1) + r.upper.square().sum(1)).mean()
            / cons.n_reactions,
        }
        total = w.ref * ref_term + w.sv * terms["sv"]
        parts = {k: float(t.detach()) for k, t in terms.items()}
        parts["ref"] = float(ref_term.detach())
        if self.arch != "ANN-SV":
            total = total + w.bounds * terms["bounds"] + w.positivity * terms["positivity"]
        return total, parts

    # ------------------------------------------------------------------ fit / predict
    def fit(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        progress: bool | Callable[[int, int, float], None] = False,
    ) -> AMN:
        """Train on media ``X`` ``(n, n_medium)`` and fluxes ``Y`` ``(n, n_reactions)``."""
        X = np.asarray(X, dtype=np.float32)
        Y = np.asarray(Y, dtype=np.float32)
        if X.shape[1] != len(self.medium_ids) or Y.shape[1] != self.network.n_reactions:
            raise KinfluxError(
                f"X must be (n, {len(self.medium_ids)}) and Y (n, {self.network.n_reactions}); "
                f"got {X.shape} and {Y.shape}"
            )
        c = self.config
        torch.manual_seed(c.random_state)
        rng = np.random.default_rng(c.random_state)
        order = rng.permutation(len(X))
        n_val = int(round(c.val_fraction * len(X))) if c.patience and len(X) >= 20 else 0
        val, tr = order[:n_val], order[n_val:]
        model = self._build()
        x_scale = np.maximum(np.abs(X[tr]).max(axis=0), 1e-6)
        v_scale = np.maximum(Y[tr].std(axis=0), 0.1)  # floor: fluxes that never vary
        model.prior.x_scale.copy_(torch.as_tensor(x_scale))
        model.prior.v_scale.copy_(torch.as_tensor(v_scale))
        model.prior.v_mean.copy_(torch.as_tensor(Y[tr].mean(axis=0)))
        self.model_scale_ = model.prior.v_scale
        opt = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        sched = None
        if c.schedule == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, c.epochs, eta_min=c.lr / 100)
        elif c.schedule != "constant":
            raise KinfluxError(f"schedule must be 'cosine' or 'constant', got '{c.schedule}'")
        cons = self._constraints()
        ref = torch.as_tensor(self._reference_idx(), device=self.device)
        Xt = torch.as_tensor(X, device=self.device)
        Yt = torch.as_tensor(Y, device=self.device)
        best, best_state, wait = float("inf"), None, 0
        history: list[dict[str, float]] = []
        bar = _EpochBar(progress, c.epochs)
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(c.random_state)
        tr_t = torch.as_tensor(tr)
        try:
            for epoch in range(c.epochs):
                model.train()
                perm = tr_t[torch.randperm(len(tr_t), generator=gen)]
                total = 0.0
                for start in range(0, len(perm), c.batch_size):
                    b = perm[start : start + c.batch_size].to(self.device)
                    V = model(Xt[b])
                    loss, _ = self._loss(V, Xt[b], Yt[b], cons, ref)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(b)
                if sched is not None:
                    sched.step()
                rec = {"epoch": epoch, "train_loss": total / max(1, len(tr))}
                if n_val:
                    model.eval()
                    with torch.no_grad():
                        vb = torch.as_tensor(val, device=self.device)
                        vloss, _ = self._loss(model(Xt[vb]), Xt[vb], Yt[vb], cons, ref)
                    rec["val_loss"] = float(vloss)
                    if rec["val_loss"] < best - 1e-12:
                        best, best_state, wait = (
                            rec["val_loss"],
                            copy.deepcopy(model.state_dict()),
                            0,
                        )
                    else:
                        wait += 1
                history.append(rec)
                bar.update(epoch + 1, rec.get("val_loss", rec["train_loss"]))
                if n_val and wait >= c.patience:
                    break
        finally:
            bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        self.model_ = model
        self.history_ = history
        self.seconds_per_epoch_ = (time.perf_counter() - t0) / max(1, len(history))
        self.n_params_ = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
        return self

    def predict(
        self,
        X: np.ndarray,
        batch_size: int = 1024,
        project: bool | None = None,
        growth_weight: float = 1000.0,
    ) -> np.ndarray:
        """Fluxes ``(n, n_reactions)`` (mmol/gDW/h) for media ``X`` ``(n, n_medium)``.

        With ``project=True`` each prediction is replaced by the closest flux
        distribution that satisfies every constraint exactly (mass balance, medium
        upper bounds, reaction bounds and knockouts): an LP solved by HiGHS minimizing
        the L1 distance in units of each flux's training spread; a medium with no feasible
        flux distribution gives a row of NaN. The default (None)
        projects inside a :meth:`knockout` context opened with ``project=True`` only.
        ``growth_weight`` multiplies the weight of growth in that distance: the default
        1000 keeps the AMN's growth whenever the constraints allow it (and caps it at
        the largest feasible growth otherwise); 1 treats growth like any other flux, a
        linear MOMA around the AMN's prediction, which on iJO1366 called viable
        knockouts lethal.
        """
        if self.model_ is None:
            raise KinfluxError("this AMN is not fitted yet; call fit(X, Y) or AMN.load(path)")
        X = np.asarray(X, dtype=np.float64)
        if self._knockout_inputs is not None:  # knocked-out medium inflows: no uptake
            X = X.copy()
            X[:, self._knockout_inputs] = 0.0
        Xt = torch.as_tensor(X.astype(np.float32), device=self.device)
        out = []
        with torch.no_grad():
            for start in range(0, len(Xt), batch_size):
                out.append(self.model_(Xt[start : start + batch_size]).cpu().numpy())
        V = np.concatenate(out).astype(np.float64)
        solver = None if project is False else self._knockout_solver
        if project and solver is None:
            solver = self._feasibility_solver()
        if solver is not None:
            scale = self.model_.prior.v_scale.detach().cpu().numpy().astype(np.float64)
            weights = 1.0 / scale
            weights[self.network.objective_index] *= growth_weight
            V = _project_rows(solver, V, X, weights)
        return V

    def _feasibility_solver(self, knocked_out: list[str] | None = None):
        from kinflux.flux.fba import FluxSolver

        solver = FluxSolver(self.network, self.medium_ids, open_inflows=self.open_inflows)
        if knocked_out:
            solver.set_bounds(knocked_out, np.zeros(len(knocked_out)))
        return solver

    def knockout(
        self, reaction_ids: list[str], n_iter: int | None = None, project: bool = True
    ) -> _Knockout:
        """Context in which ``predict`` simulates a mutant lacking ``reaction_ids``.

        Original ids (``PGI``) knock out every split part (``PGI_for``, ``PGI_rev``);
        a knocked-out medium inflow (``EX_glc__D_e``) also zeroes its input column.
        The fluxes are set to 0 after the prior and bounded to 0 inside the mechanistic
        layer (ANN baselines only mask). With ``project`` (default), each prediction is
        then moved to the closest flux distribution that the mutant can carry (see
        :meth:`predict`): a lethal knockout then predicts zero growth, as FBA does, and a
        neutral one keeps the AMN's fluxes up to the correction that makes them exactly
        feasible. Compare with the wild type predicted by ``predict(X, project=True)``.
        ``n_iter``: mechanistic iterations inside the context (default: the layer's own
        with ``project``, 300 without, so the layer re-balances the fluxes itself).

        Example:
            >>> with amn.knockout(["PGK"]):
            ...     mutant = amn.predict(X)
        """
        if n_iter is None:
            n_iter = 0 if project else 300
        return _Knockout(self, self._split_ids(reaction_ids), n_iter, project)

    def _split_ids(self, reaction_ids: list[str]) -> list[str]:
        out = []
        for rid in reaction_ids:
            parts = [sr.id for sr in self.network.reactions if sr.original_id == rid]
            out += parts or [self.network.reaction_ids[self.network.index(rid)]]
        return out

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Weights, network hash and hyper-parameters in one ``.pt`` file (atomic)."""
        if self.model_ is None:
            raise KinfluxError("nothing to save: the AMN is not fitted")
        p = check_output(path, force=force)
        cfg = asdict(self.config)
        payload = {
            "kinflux_version": __version__,
            "network_hash": self.network.hash,
            "network_name": self.network.name,
            "medium_ids": self.medium_ids,
            "open_inflows": self.open_inflows,
            "config": cfg,
            "state_dict": self.model_.state_dict(),
            "n_params": self.n_params_,
            "history": self.history_,
        }
        with atomic_write(p, "wb") as fh:
            torch.save(payload, fh)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike, network: Network, device: str = "cpu") -> AMN:
        """Load a saved AMN; refuses a network whose hash differs from the training one."""
        p = Path(path)
        if not p.exists():
            raise KinfluxError(f"model file {p} not found")
        payload = torch.load(p, map_location=device, weights_only=False)
        if payload["network_hash"] != network.hash:
            raise ModelMismatchError(
                f"{p} was trained on network '{payload['network_name']}' "
                f"(hash {payload['network_hash'][:12]}), not on '{network.name}' "
                f"(hash {network.hash[:12]}); load it with the model it was trained on."
            )
        cfg = dict(payload["config"])
        weights = LossWeights(**cfg.pop("weights"))
        amn = cls(
            network,
            payload["medium_ids"],
            weights=weights,
            open_inflows=payload.get("open_inflows"),
            device=device,
            **cfg,
        )
        amn.model_ = amn._build()
        amn.model_.load_state_dict(payload["state_dict"])
        amn.model_.eval()
        amn.n_params_ = payload["n_params"]
        amn.history_ = payload["history"]
        return amn


class _Knockout:
    """Context manager in which an AMN predicts a mutant lacking some reactions.

    The knocked-out split fluxes are set to 0 after the prior; inside the mechanistic
    layer their upper bound becomes 0, and the layer runs ``n_iter`` iterations so that
    the remaining fluxes re-balance around the missing reactions.
    """

    def __init__(self, amn: AMN, split_ids: list[str], n_iter: int, project: bool) -> None:
        self.amn = amn
        self.split_ids = split_ids
        self.idx = torch.as_tensor(amn.network.indices(split_ids), device=amn.device)
        self.n_iter = n_iter
        self.project = project
        self._handles: list[Any] = []
        self._saved: tuple | None = None

    def __enter__(self) -> AMN:
        model = self.amn.model_
        if model is None:
            raise KinfluxError("fit the AMN before simulating knockouts")
        idx = self.idx

        def mask(_module, _inp, out):
            out = out.clone()
            out[:, idx] = 0.0
            return out

        self._handles.append(model.prior.register_forward_hook(mask))
        mech = model.mechanistic
        if mech is not None:
            self._handles.append(mech.register_forward_hook(mask))
        cons = getattr(mech, "constraints", None)
        if cons is not None:
            self._saved = (cons.upper.clone(), cons.other_mask.clone(), mech.n_iter)
            local = idx
            if hasattr(mech, "local_index"):  # layer on the unblocked subnetwork
                local = mech.local_index(idx)
            cons.upper[local] = 0.0
            cons.other_mask[local] = True
            mech.n_iter = max(mech.n_iter, self.n_iter)
        if self.project:
            self.amn._knockout_solver = self.amn._feasibility_solver(self.split_ids)
        medium = self.amn.medium_ids
        cols = [medium.index(r) for r in self.split_ids if r in medium]
        self.amn._knockout_inputs = np.asarray(cols, dtype=np.int64) if cols else None
        return self.amn

    def __exit__(self, *exc: object) -> None:
        self.amn._knockout_solver = None
        self.amn._knockout_inputs = None
        for h in self._handles:
            h.remove()
        mech = self.amn.model_.mechanistic if self.amn.model_ is not None else None
        if self._saved is not None and mech is not None:
            upper, mask, n_iter = self._saved
            mech.constraints.upper.copy_(upper)
            mech.constraints.other_mask.copy_(mask)
            mech.n_iter = n_iter


def _project_rows(solver: Any, V: np.ndarray, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Closest feasible flux distribution to each row of ``V`` for medium ``X[i]``.

    Distances are weighted by ``weights`` ``(n_reactions,)``: ``1 / sd`` of the
    training fluxes (the scale of the reference loss), so that a small-valued flux such
    as growth is not moved more than its spread allows.
    """
    from kinflux.flux.fba import SolverError

    out = np.full_like(V, np.nan)
    for i, (v, x) in enumerate(zip(V, X, strict=True)):
        try:
            out[i] = solver.nearest_feasible(v, x, weights)
        except SolverError:
            pass  # infeasible medium: NaN row, as COBRApy's slim_optimize gives NaN
    return out


def evaluate(amn: AMN, X: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """R^2 of growth and of all fluxes, and mean ``||S V||^2`` of the predictions."""
    V = amn.predict(X)
    g = amn.network.objective_index
    sv = float((((V @ amn.network.S.T) ** 2).sum(axis=1)).mean())
    return {
        "growth_r2": r2_score(Y[:, g], V[:, g]),
        "all_flux_r2": r2_score(Y, V),
        "SV2": sv,
    }


def cross_validate(
    make_amn: Callable[[], AMN],
    X: np.ndarray,
    Y: np.ndarray,
    folds: int = 5,
    random_state: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """k-fold cross-validation.

    Args:
        make_amn: returns a fresh, unfitted :class:`AMN`.
        X, Y: media ``(n, n_medium)`` and fluxes ``(n, n_reactions)``.
        folds: number of folds.
        random_state: seed of the fold assignment.

    Returns:
        ``growth_R2``/``all_flux_R2`` (training, mean over folds), ``growth_Q2_cv``/
        ``all_flux_Q2_cv`` (pooled out-of-fold predictions), ``SV2`` (mean over
        out-of-fold predictions), ``s_per_epoch``, ``params``, ``predictions``.
    """
    if folds < 2:
        raise KinfluxError(f"folds must be >= 2, got {folds}")
    rng = np.random.default_rng(random_state)
    assign = rng.permutation(len(X)) % folds
    V_oof = np.zeros_like(Y, dtype=float)
    train_scores, s_epoch = [], []
    amn: AMN | None = None
    for k in range(folds):
        tr, te = assign != k, assign == k
        amn = make_amn().fit(X[tr], Y[tr])
        V_oof[te] = amn.predict(X[te])
        train_scores.append(evaluate(amn, X[tr], Y[tr]))
        s_epoch.append(amn.seconds_per_epoch_)
        if progress:
            progress(k + 1, folds)
    assert amn is not None
    g = amn.network.objective_index
    S = amn.network.S
    params = amn.n_params_
    return {
        "growth_R2": float(np.mean([s["growth_r2"] for s in train_scores])),
        "all_flux_R2": float(np.mean([s["all_flux_r2"] for s in train_scores])),
        "growth_Q2_cv": r2_score(Y[:, g], V_oof[:, g]),
        "all_flux_Q2_cv": r2_score(Y, V_oof),
        "SV2": float((((V_oof @ S.T) ** 2).sum(axis=1)).mean()),
        "s_per_epoch": float(np.mean(s_epoch)),
        "params": params,
        "predictions": V_oof,
    }


class _EpochBar:
    def __init__(self, progress: bool | Callable[[int, int, float], None], total: int) -> None:
        self._cb = progress if callable(progress) else None
        self._rich = None
        self.total = total
        if progress is True:
            from rich.progress import Progress

            self._rich = Progress(transient=True)
            self._task = self._rich.add_task("training", total=total)
            self._rich.start()

    def update(self, epoch: int, loss: float) -> None:
        if self._cb:
            self._cb(epoch, self.total, loss)
        if self._rich is not None:
            self._rich.update(self._task, completed=epoch, description=f"loss {loss:.3g}")

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
