"""The AMN training loop: Adam epochs, early stopping, checkpoints, non-finite guard.

Called by :meth:`kinflux.flux.amn.AMN.fit`; a resumed fit (``checkpoint``) restores
the model, optimizer, scheduler and both random generators, so it ends with the same
weights as an uninterrupted one.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from kinflux import KinfluxError
from kinflux.progress import ProgressArg, progress_bar

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kinflux.flux.amn import AMN

__all__ = ["TrainingError", "train", "amn_loss"]


class TrainingError(KinfluxError):
    """Training data or the training itself went wrong (non-finite values, shapes)."""


def amn_loss(amn: AMN, V, x, y, cons, ref) -> torch.Tensor:
    """The AMN loss of a batch (see :mod:`kinflux.flux.amn`); a scalar tensor."""
    from kinflux.flux.losses import residuals

    err = (V - y) / amn.model_.prior.v_scale
    ref_term = (err[:, ref] ** 2).mean()
    if amn.loss_growth:
        g = amn.network.objective_index
        ref_term = ref_term + amn.loss_growth * (err[:, g] ** 2).mean()
    if amn.arch == "ANN-Dense":
        return amn.loss_ref * ref_term
    r = residuals(V, x, cons, amn._problem().mode)
    total = amn.loss_ref * ref_term + amn.loss_sv * (
        r.SV.square().sum(1).mean() / cons.n_metabolites
    )
    if amn.arch != "ANN-SV":
        bounds = r.inflow.square().sum(1).mean() / max(1, cons.n_medium)
        pos = (r.lower.square().sum(1) + r.upper.square().sum(1)).mean() / cons.n_reactions
        total = total + amn.loss_bounds * bounds + amn.loss_positivity * pos
    return total


def train(amn: AMN, X: np.ndarray, Y: np.ndarray, progress: ProgressArg, ckpt: Any) -> None:
    """Fit ``amn.model_`` on float32 ``X`` ``(n, n_medium)``, ``Y`` ``(n, n_reactions)``.

    Sets ``model_``, ``history_``, ``seconds_per_epoch_``, ``n_params_``; resumes from
    ``ckpt`` (see :meth:`AMN.fit`) and raises :class:`TrainingError` on the first
    non-finite loss.
    """
    import torch

    from kinflux.flux.losses import Constraints

    device = torch.device(amn.device)
    torch.manual_seed(amn.random_state)
    rng = np.random.default_rng(amn.random_state)
    order = rng.permutation(len(X))
    n_val = int(round(amn.val_fraction * len(X))) if amn.patience and len(X) >= 20 else 0
    val, tr = order[:n_val], order[n_val:]
    model = amn.model_ = amn._build()
    model.prior.x_scale.copy_(torch.as_tensor(np.maximum(np.abs(X[tr]).max(axis=0), 1e-6)))
    model.prior.v_scale.copy_(torch.as_tensor(np.maximum(Y[tr].std(axis=0), 0.1)))
    model.prior.v_mean.copy_(torch.as_tensor(Y[tr].mean(axis=0)))
    opt = torch.optim.Adam(model.parameters(), lr=amn.lr, weight_decay=amn.weight_decay)
    sched = None
    if amn.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, amn.epochs, eta_min=amn.lr / 100)
    cons = Constraints(amn._problem()).to(device, torch.float32)
    ref = torch.as_tensor(amn._reference_idx(), device=device)
    Xt, Yt = torch.as_tensor(X, device=device), torch.as_tensor(Y, device=device)
    gen = torch.Generator().manual_seed(amn.random_state)
    tr_t = torch.as_tensor(tr)
    s = {"epoch": 0, "best": float("inf"), "best_state": None, "wait": 0, "history": []}
    state = ckpt.load() if ckpt is not None else None
    if state is not None:  # continue an interrupted fit exactly
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if sched is not None:
            sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["rng"])
        s = {k: state[k] for k in s}
    t0 = time.perf_counter()
    ran = 0
    with progress_bar(amn.epochs, f"{amn.arch} epochs", progress) as bar:
        bar.update(s["epoch"])
        for epoch in range(s["epoch"], amn.epochs):
            model.train()
            perm = tr_t[torch.randperm(len(tr_t), generator=gen)]
            total = 0.0
            for b_i, start in enumerate(range(0, len(perm), amn.batch_size)):
                b = perm[start : start + amn.batch_size].to(device)
                loss = amn_loss(amn, model(Xt[b]), Xt[b], Yt[b], cons, ref)
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"the loss became {float(loss.detach())} at epoch {epoch + 1}, batch "
                        f"{b_i + 1}; check the training data for extreme values or "
                        f"lower the learning rate (lr={amn.lr})"
                    )
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
                    vb = torch.as_tensor(val, device=device)
                    rec["val_loss"] = float(amn_loss(amn, model(Xt[vb]), Xt[vb], Yt[vb], cons, ref))
                if rec["val_loss"] < s["best"] - 1e-12:
                    s["best"], s["wait"] = rec["val_loss"], 0
                    s["best_state"] = copy.deepcopy(model.state_dict())
                else:
                    s["wait"] += 1
            s["history"].append(rec)
            s["epoch"] = epoch + 1
            ran += 1
            stop = bool(n_val and s["wait"] >= amn.patience)
            if ckpt is not None and (s["epoch"] % max(1, ckpt.every) == 0 or stop):
                ckpt.save(
                    {
                        **s,
                        "model": model.state_dict(),
                        "opt": opt.state_dict(),
                        "sched": None if sched is None else sched.state_dict(),
                        "gen": gen.get_state(),
                        "rng": torch.get_rng_state(),
                    }
                )
            bar.update(epoch + 1, loss=rec.get("val_loss", rec["train_loss"]))
            if stop:
                break
    if s["best_state"] is not None:
        model.load_state_dict(s["best_state"])
    model.eval()
    amn.history_ = s["history"]
    amn.seconds_per_epoch_ = (time.perf_counter() - t0) / max(1, ran)
    amn.n_params_ = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
