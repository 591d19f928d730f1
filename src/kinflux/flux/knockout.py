"""Knockout mutants and the feasibility projection of AMN predictions.

:class:`Knockout` is the context :meth:`kinflux.flux.amn.AMN.knockout` returns: inside
it the AMN predicts a mutant lacking some reactions. :func:`project_rows` moves
predictions to the closest flux distributions that satisfy every constraint exactly
(weighted-L1 LP solved by HiGHS, :meth:`kinflux.flux.fba.FluxSolver.nearest_feasible`),
so a lethal knockout predicts zero growth, as FBA does.

Example:
    >>> import numpy as np
    >>> from kinflux.flux.network import Network
    >>> from kinflux.flux.problem import FluxProblem
    >>> net = Network.load("e_coli_core")
    >>> problem = FluxProblem(net, ["EX_glc__D_e_i"], open_inflows=None)
    >>> solver = feasibility_solver(problem, ["PGK_for", "PGK_rev"])
    >>> V = project_rows(solver, np.zeros((1, 154)), np.array([[10.0]]), np.ones(154))
    >>> bool(abs(V[0, net.objective_index]) < 1e-6)  # PGK is lethal on glucose
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kinflux.progress import ProgressArg, progress_bar

if TYPE_CHECKING:  # pragma: no cover
    from kinflux.flux.amn import AMN
    from kinflux.flux.fba import FluxSolver
    from kinflux.flux.problem import FluxProblem

__all__ = ["Knockout", "feasibility_solver", "project_rows", "split_ids"]


def split_ids(problem: FluxProblem, reaction_ids: list[str]) -> list[str]:
    """Split ids of original (``PGI`` -> ``PGI_for``, ``PGI_rev``) or split reaction ids."""
    net = problem.network
    out: list[str] = []
    for rid in reaction_ids:
        parts = [sr.id for sr in net.reactions if sr.original_id == rid]
        out += parts or [net.reaction_ids[net.index(rid)]]
    return out


def feasibility_solver(problem: FluxProblem, knocked_out: list[str] | None = None) -> FluxSolver:
    """A :class:`FluxSolver` for ``problem`` with the split reactions ``knocked_out`` at 0."""
    from kinflux.flux.fba import FluxSolver

    solver = FluxSolver(problem)
    if knocked_out:
        solver.set_bounds(knocked_out, np.zeros(len(knocked_out)))
    return solver


def project_rows(
    solver: FluxSolver,
    V: np.ndarray,
    X: np.ndarray,
    weights: np.ndarray,
    progress: ProgressArg = False,
) -> np.ndarray:
    """Closest feasible flux distribution to each row of ``V`` for medium ``X[i]``.

    Args:
        solver: solver holding the constraints (and knockouts).
        V: predicted fluxes ``(n, n_reactions)`` (mmol/gDW/h).
        X: media ``(n, n_medium)`` (mmol/gDW/h).
        weights: ``(n_reactions,)`` weights of the L1 distance, e.g. ``1 / sd`` of the
            training fluxes, so that a small-valued flux such as growth is not moved
            more than its spread allows.
        progress: bar (or callback) over the projected media.

    Returns:
        ``(n, n_reactions)``; a medium without any feasible flux distribution gives a
        row of NaN (as COBRApy's ``slim_optimize`` gives NaN).
    """
    from kinflux.flux.fba import SolverError

    out = np.full_like(V, np.nan)
    with progress_bar(len(V), "projections", progress) as bar:
        for i, (v, x) in enumerate(zip(V, X, strict=True)):
            try:
                out[i] = solver.nearest_feasible(v, x, weights)
            except SolverError:
                pass  # infeasible medium: NaN row
            bar.advance()
    return out


class Knockout:
    """Context in which an AMN predicts a mutant lacking ``reaction_ids``.

    Original ids (``PGI``) knock out every split part (``PGI_for``, ``PGI_rev``); a
    knocked-out medium inflow (``EX_glc__D_e``) also zeroes its input column. The
    fluxes are set to 0 after the prior and bounded to 0 inside the mechanistic layer
    (ANN baselines only mask). With ``project`` (default), each prediction is then
    moved to the closest flux distribution that the mutant can carry: a lethal
    knockout predicts zero growth, a neutral one keeps the AMN's fluxes up to the
    correction that makes them exactly feasible. Compare with the wild type predicted
    by ``predict(X, project=True)``.

    Args:
        amn: a fitted AMN.
        reaction_ids: original or split reaction ids.
        n_iter: mechanistic iterations inside the context (default: the layer's own
            with ``project``, 300 without, so the layer re-balances the fluxes itself).
        project: project predictions onto the mutant's feasible set.
    """

    def __init__(
        self,
        amn: AMN,
        reaction_ids: list[str],
        n_iter: int | None = None,
        project: bool = True,
    ) -> None:
        self.amn = amn
        self.split_ids = split_ids(amn._problem(), list(reaction_ids))
        self.n_iter = (0 if project else 300) if n_iter is None else int(n_iter)
        self.project = project
        self.solver: Any = None
        self.input_columns: np.ndarray | None = None
        self._handles: list[Any] = []
        self._saved: tuple | None = None

    def __enter__(self) -> AMN:
        import torch

        from kinflux import KinfluxError

        amn = self.amn
        model = getattr(amn, "model_", None)
        if model is None:
            raise KinfluxError("fit the AMN before simulating knockouts")
        idx = torch.as_tensor(amn.network.indices(self.split_ids), device=torch.device(amn.device))

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
            local = mech.local_index(idx) if hasattr(mech, "local_index") else idx
            cons.upper[local] = 0.0
            cons.other_mask[local] = True
            mech.n_iter = max(mech.n_iter, self.n_iter)
        if self.project:
            self.solver = feasibility_solver(amn._problem(), self.split_ids)
        medium = list(amn._problem().medium_ids)
        cols = [medium.index(r) for r in self.split_ids if r in medium]
        self.input_columns = np.asarray(cols, dtype=np.int64) if cols else None
        amn._knockout = self
        return amn

    def __exit__(self, *exc: object) -> None:
        amn = self.amn
        amn._knockout = None
        for h in self._handles:
            h.remove()
        self._handles.clear()
        mech = amn.model_.mechanistic if getattr(amn, "model_", None) is not None else None
        if self._saved is not None and mech is not None:
            upper, mask, n_iter = self._saved
            mech.constraints.upper.copy_(upper)
            mech.constraints.other_mask.copy_(mask)
            mech.n_iter = n_iter
