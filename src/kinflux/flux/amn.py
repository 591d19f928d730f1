"""The AMN estimator: a scikit-learn regressor from media to all split fluxes.

``AMN(problem, arch="AMN-QP", ...)`` follows scikit-learn's conventions: every
hyper-parameter (:mod:`kinflux.flux.hyperparameters`) is an ``__init__`` argument
stored under the same name, so ``sklearn.base.clone``, ``get_params`` and
``set_params`` work; checks happen in :meth:`AMN.fit`; learned state ends in ``_``;
``random_state`` makes a fit reproducible on the same machine.

Loss (Faure et al. 2023), for predicted split fluxes ``V`` ``(batch, n)``::

    L = loss_ref * mean(((V - Y) / sd)[:, ref]^2)         reference error (sd: per-flux
        + loss_growth * mean(((V - Y) / sd)[:, growth]^2)  spread of the training Y)
        + loss_sv  * ||S V||^2 / m                          mass balance
        + loss_bounds * ||r_in||^2 / n_in                   medium bounds (UB) or
                                                            exact uptakes (EB)
        + loss_positivity * (||ReLU(lb - V)||^2 + ||ReLU(V - ub)||^2) / n

with the residuals of :func:`kinflux.flux.losses.residuals`; ``ANN-Dense`` uses the
reference terms only, ``ANN-SV`` adds the mass balance.

Example:
    >>> from kinflux.flux.network import Network
    >>> from kinflux.flux.problem import FluxProblem
    >>> net = Network.load("e_coli_core")
    >>> problem = FluxProblem(net, ["EX_glc__D_e_i", "EX_o2_e_i"], open_inflows=None)
    >>> amn = AMN(problem, arch="ANN-Dense", hidden=(8,), epochs=2)
    >>> amn.get_params()["arch"]
    'ANN-Dense'
    >>> import numpy as np
    >>> X = np.array([[10.0, 20.0], [5.0, 20.0]] * 10)
    >>> Y = np.tile(np.linspace(0, 1, net.n_reactions), (20, 1))
    >>> amn.fit(X, Y).predict(X[:3]).shape
    (3, 154)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from kinflux import KinfluxError, __version__
from kinflux.flux.hyperparameters import DEFAULTS, check_hyperparameters
from kinflux.flux.problem import FluxProblem, ProblemError
from kinflux.flux.training import TrainingError, train
from kinflux.progress import ProgressArg

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kinflux.flux.architectures import FluxModel
    from kinflux.flux.knockout import Knockout
    from kinflux.flux.network import Network

__all__ = ["AMN", "ModelMismatchError", "TrainingError", "ModelFileError"]

_D = DEFAULTS


class ModelMismatchError(ProblemError):
    """A saved AMN was loaded onto a network other than the one it was trained on."""


class ModelFileError(KinfluxError):
    """A model file is missing, corrupt, or not a kinflux AMN."""


class AMN(RegressorMixin, BaseEstimator):
    """Neural-mechanistic flux model (or an ANN baseline) for one flux problem.

    Args:
        problem: network, medium ids (the columns of ``X``), open inflows and mode.
        arch: ``ANN-Dense``, ``ANN-SV``, ``AMN-QP``, ``AMN-LP``, ``AMN-UB``, ``AMN-W``.
        hidden: hidden layer sizes of the prior network.
        dropout: dropout probability after each hidden layer, in [0, 1).
        n_iter: mechanistic iterations per forward pass (None: the layer's default).
        reference: fluxes in the reference error: ``"all"``, ``"growth"`` or ids.
        epochs: training epochs (Adam).
        batch_size: samples per batch.
        lr: learning rate.
        weight_decay: Adam weight decay.
        schedule: ``"cosine"`` (annealed to lr/100 over ``epochs``) or ``"constant"``.
        patience: early stopping after this many epochs without validation
            improvement (0: no early stopping).
        val_fraction: share of the training data held out for early stopping.
        loss_ref: weight of the reference error (dimensionless, as every loss weight).
        loss_sv: weight of the mass balance ``||S V||^2``.
        loss_bounds: weight of the medium-bound residual.
        loss_positivity: weight of positivity and the other bounds.
        loss_growth: extra weight of the growth flux's scaled error.
        prune: run the mechanistic layer on the unblocked reactions only (exact:
            blocked fluxes are 0 in every feasible solution).
        random_state: seed; the same seed gives the same model on the same machine.
        device: torch device.
        n_threads: torch threads while fitting and predicting (None: as set).

    Learned state: ``model_`` (the torch module), ``history_`` (per-epoch losses),
    ``n_params_``, ``seconds_per_epoch_``, ``n_features_in_``.
    """

    def __init__(
        self,
        problem: FluxProblem | None = None,
        arch: str = _D["arch"],
        hidden: tuple[int, ...] = _D["hidden"],
        dropout: float = _D["dropout"],
        n_iter: int | None = _D["n_iter"],
        reference: str | list[str] = _D["reference"],
        epochs: int = _D["epochs"],
        batch_size: int = _D["batch_size"],
        lr: float = _D["lr"],
        weight_decay: float = _D["weight_decay"],
        schedule: str = _D["schedule"],
        patience: int = _D["patience"],
        val_fraction: float = _D["val_fraction"],
        loss_ref: float = _D["loss_ref"],
        loss_sv: float = _D["loss_sv"],
        loss_bounds: float = _D["loss_bounds"],
        loss_positivity: float = _D["loss_positivity"],
        loss_growth: float = _D["loss_growth"],
        prune: bool = _D["prune"],
        random_state: int = _D["random_state"],
        device: str = _D["device"],
        n_threads: int | None = _D["n_threads"],
    ) -> None:
        self.problem = problem
        self.arch = arch
        self.hidden = hidden
        self.dropout = dropout
        self.n_iter = n_iter
        self.reference = reference
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.patience = patience
        self.val_fraction = val_fraction
        self.loss_ref = loss_ref
        self.loss_sv = loss_sv
        self.loss_bounds = loss_bounds
        self.loss_positivity = loss_positivity
        self.loss_growth = loss_growth
        self.prune = prune
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads

    # ------------------------------------------------------------------ helpers
    @property
    def network(self) -> Network:
        """The problem's split network."""
        return self._problem().network

    def _problem(self) -> FluxProblem:
        if not isinstance(self.problem, FluxProblem):
            raise ProblemError(
                "AMN needs a FluxProblem as its first argument, e.g. "
                "AMN(FluxProblem.from_training_set(ts)); got "
                f"{type(self.problem).__name__}"
            )
        return self.problem

    def hyperparameters(self) -> dict[str, Any]:
        """``get_params()`` without the problem, checked and normalized (JSON-able)."""
        params = self.get_params(deep=False)
        params.pop("problem")
        params = check_hyperparameters(params)
        params["hidden"] = list(params["hidden"])
        if isinstance(params["reference"], tuple):
            params["reference"] = list(params["reference"])
        return params

    def _reference_idx(self) -> np.ndarray:
        net = self.network
        if self.reference == "all":
            return np.arange(net.n_reactions)
        if self.reference == "growth":
            return np.array([net.objective_index])
        return net.indices(list(self.reference))

    def _build(self) -> FluxModel:
        import torch

        from kinflux.flux.architectures import build_flux_model

        model = build_flux_model(
            self.arch,
            self._problem(),
            hidden=tuple(check_hyperparameters({"hidden": self.hidden})["hidden"]),
            dropout=self.dropout,
            n_iter=self.n_iter,
            prune=self.prune,
        )
        return model.to(torch.device(self.device), torch.float32)

    # ------------------------------------------------------------------ data
    def _media(self, X: Any, what: str = "X") -> np.ndarray:
        """``X`` as a float array ``(n, n_medium)``; DataFrame columns matched by id."""
        from kinflux.flux.validation import media_array

        return media_array(X, self._problem().medium_ids, what=what)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, Y: Any, progress: ProgressArg = False, checkpoint: Any = None) -> AMN:
        """Train on media ``X`` ``(n, n_medium)`` and fluxes ``Y`` ``(n, n_reactions)``.

        Args:
            X: media (mmol/gDW/h), an array or a DataFrame with one column per medium
                inflow id.
            Y: split fluxes (mmol/gDW/h), an array or a DataFrame with reaction ids.
            progress: True for a bar over epochs, or a callback ``(done, total, info)``.
            checkpoint: optional object with ``load() -> dict | None``, ``save(state)``
                and ``every`` (epochs): training resumes from the saved state and ends
                with the same model as an uninterrupted fit.

        Raises:
            TrainingError: on bad data, or on the first non-finite loss (naming the
                epoch and batch).
        """
        from kinflux.compute import threads
        from kinflux.flux.validation import flux_array

        check_hyperparameters(self.get_params(deep=False))
        problem = self._problem()
        self._reference_idx()  # unknown reference ids fail before any work
        with np.errstate(over="ignore"):
            X = self._media(X).astype(np.float32)
            Y = flux_array(Y, problem.network.reaction_ids).astype(np.float32)
        if not (np.isfinite(X).all() and np.isfinite(Y).all()):
            raise TrainingError(
                "X or Y holds values beyond the float32 range (|v| > 3.4e38); rescale the data"
            )
        if len(X) != len(Y):
            raise TrainingError(f"X has {len(X)} rows but Y has {len(Y)}; give one Y per medium")
        if len(X) < 1:
            raise TrainingError("no training samples: X and Y are empty")
        self.n_features_in_ = X.shape[1]
        with threads(self.n_threads):
            train(self, X, Y, progress, checkpoint)
        return self

    # ------------------------------------------------------------------ predict
    def predict(
        self,
        X: Any,
        as_frame: bool | None = None,
        project: bool | None = None,
        project_growth_weight: float = 1000.0,
        batch_size: int = 1024,
        progress: ProgressArg = False,
    ) -> np.ndarray | pd.DataFrame:
        """Fluxes ``(n, n_reactions)`` (mmol/gDW/h) for media ``X`` ``(n, n_medium)``.

        Args:
            X: media; a DataFrame's columns are matched by medium inflow id (a missing
                or unknown column is an error naming it).
            as_frame: return a DataFrame (X's index, reaction ids as columns); default:
                when ``X`` is a DataFrame.
            project: replace each prediction by the closest flux distribution that
                satisfies every constraint exactly (weighted-L1 LP, see
                :mod:`kinflux.flux.knockout`); a medium with no feasible flux
                distribution gives a row of NaN. Default: only inside a
                :meth:`knockout` context opened with ``project=True``.
            project_growth_weight: weight of growth in that distance (1000 keeps the
                AMN's growth whenever the constraints allow it).
            batch_size: media per forward pass.
            progress: bar (or callback) over the projected media.
        """
        import pandas as pd
        import torch

        from kinflux.compute import threads
        from kinflux.flux.knockout import project_rows

        if getattr(self, "model_", None) is None:
            raise KinfluxError("this AMN is not fitted yet; call fit(X, Y) or AMN.load(path)")
        frame = isinstance(X, pd.DataFrame)
        index = X.index if frame else None
        X = self._media(X).astype(np.float64)
        ko = getattr(self, "_knockout", None)
        if ko is not None and ko.input_columns is not None:  # knocked-out inflows: no uptake
            X = X.copy()
            X[:, ko.input_columns] = 0.0
        Xt = torch.as_tensor(X.astype(np.float32), device=torch.device(self.device))
        out = []
        with threads(self.n_threads), torch.no_grad():
            for start in range(0, len(Xt), batch_size):
                out.append(self.model_(Xt[start : start + batch_size]).cpu().numpy())
        V = (
            np.concatenate(out).astype(np.float64)
            if out
            else np.zeros((0, self.network.n_reactions))
        )
        solver = None if project is False or ko is None else ko.solver
        if project and solver is None:
            from kinflux.flux.knockout import feasibility_solver

            solver = feasibility_solver(self._problem())
        if solver is not None:
            weights = 1.0 / self.model_.prior.v_scale.detach().cpu().numpy().astype(np.float64)
            weights[self.network.objective_index] *= project_growth_weight
            V = project_rows(solver, V, X, weights, progress=progress)
        if as_frame or (as_frame is None and frame):
            return pd.DataFrame(V, index=index, columns=self.network.reaction_ids)
        return V

    def knockout(
        self, reaction_ids: list[str], n_iter: int | None = None, project: bool = True
    ) -> Knockout:
        """Context in which :meth:`predict` simulates a mutant lacking ``reaction_ids``.

        See :class:`kinflux.flux.knockout.Knockout`.

        Example:
            >>> import numpy as np
            >>> from kinflux.flux import FluxProblem, Network
            >>> net = Network.load("e_coli_core")
            >>> p = FluxProblem(net, ["EX_glc__D_e_i"], open_inflows=None)
            >>> X, Y = np.full((4, 1), 10.0), np.ones((4, net.n_reactions))
            >>> amn = AMN(p, arch="ANN-Dense", hidden=(4,), epochs=1).fit(X, Y)
            >>> with amn.knockout(["PGK"], project=False):
            ...     mutant = amn.predict(X)
            >>> float(mutant[0, net.index("PGK_rev")])
            0.0
        """
        from kinflux.flux.knockout import Knockout

        return Knockout(self, reaction_ids, n_iter=n_iter, project=project)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Weights, problem (with its unblocked set) and hyper-parameters in one ``.pt``."""
        import torch

        from kinflux.io import atomic_write, check_output

        if getattr(self, "model_", None) is None:
            raise KinfluxError("nothing to save: the AMN is not fitted")
        p = check_output(path, force=force)
        payload = {
            "format": "kinflux-amn-2",
            "kinflux_version": __version__,
            "problem": self._problem().to_dict(),
            "hyperparameters": self.hyperparameters(),
            "state_dict": self.model_.state_dict(),
            "n_params": self.n_params_,
            "history": self.history_,
        }
        if self.prune and self.arch.startswith("AMN-"):
            payload["problem"]["unblocked_ids"] = list(self._problem().unblocked_ids)
        with atomic_write(p, "wb") as fh:
            torch.save(payload, fh)
        return p

    @classmethod
    def load(
        cls, path: str | os.PathLike, network: Network | None = None, device: str = "cpu"
    ) -> AMN:
        """Load a saved AMN (``torch.load(weights_only=True)``).

        ``network`` defaults to the model named in the file; a network whose hash
        differs from the training one is refused (:class:`ModelMismatchError`).
        """
        from kinflux.flux.validation import read_model_file

        payload = read_model_file(path)
        try:
            problem = FluxProblem.from_dict(payload["problem"], network, source=str(path))
        except ProblemError as exc:
            raise ModelMismatchError(f"{path}: {exc}") from None
        params = dict(payload["hyperparameters"], device=device)
        params["hidden"] = tuple(params["hidden"])
        amn = cls(problem, **params)
        amn.model_ = amn._build()
        try:
            amn.model_.load_state_dict(payload["state_dict"])
        except (RuntimeError, KeyError) as exc:
            raise ModelFileError(
                f"{path}: weights do not fit the stored architecture ({exc}); "
                "the file is corrupt, train the model again"
            ) from None
        amn.model_.eval()
        amn.n_params_ = int(payload["n_params"])
        amn.history_ = list(payload["history"])
        amn.n_features_in_ = problem.n_medium
        return amn
