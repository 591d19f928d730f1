"""Baselines for growth in defined media: black boxes on the composition and FBA.

Every baseline is a scikit-learn style estimator on the 0/1 composition of the
variable compounds, ``X`` ``(n, n_variable)``, predicting growth ``(n,)`` in h^-1:

- black boxes (:func:`black_box`): ``OLS`` (least squares), ``GBM`` (scikit-learn's
  ``HistGradientBoostingRegressor``; XGBoost is not a dependency: its wheel pulls over
  300 MB), ``RF`` (random forest), ``ANN`` (dense network, 500 relu units);
- :class:`ScaledBoundsFBA`: FBA with every present variable compound at ``s`` mmol/gDW/h
  (fixed compounds at the design's bound), the scalar ``s`` chosen on the training media;
- :class:`FittedBoundsFBA`: FBA with one bound per variable compound, fitted to the
  training growth by BFGS (gradients from the LP's reduced costs) or derivative-free
  (Nelder-Mead), since FBA growth is piecewise linear in the bounds.

The FBA baselines solve ``max c.v`` with HiGHS (:class:`GrowthLP`) on a
:class:`~kinflux.flux.problem.FluxProblem` whose ``medium_ids`` are the design's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kinflux import KinfluxError
from kinflux.flux.experiments import MediumDesign, q2_score
from kinflux.flux.problem import FluxProblem

__all__ = [
    "BLACK_BOXES",
    "black_box",
    "GrowthLP",
    "ScaledBoundsFBA",
    "FittedBoundsFBA",
    "fba_growth_with_bounds",
]

#: Names accepted by :func:`black_box`.
BLACK_BOXES = ("OLS", "GBM", "RF", "ANN")


def black_box(name: str, random_state: int = 0) -> Any:
    """An unfitted scikit-learn regressor by name (see :data:`BLACK_BOXES`).

    ``GBM`` uses depth-6 trees, learning rate 0.3, 100 rounds and leaves of one sample,
    XGBoost's defaults; ``RF`` 100 trees; ``ANN`` one hidden layer of 500 relu units
    (Adam, early stopping off, 2000 iterations at most).

    Example:
        >>> import numpy as np
        >>> X = np.array([[0, 1], [1, 0], [1, 1], [0, 0]], float)
        >>> ols = black_box("OLS").fit(X, X @ [0.1, 0.2] + 0.05)
        >>> np.round(ols.predict([[1, 1]]), 3).tolist()
        [0.35]
    """
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.neural_network import MLPRegressor

    if name == "OLS":
        return LinearRegression()
    if name == "GBM":
        return HistGradientBoostingRegressor(
            max_depth=6,
            learning_rate=0.3,
            max_iter=100,
            min_samples_leaf=1,
            random_state=random_state,
        )
    if name == "RF":
        return RandomForestRegressor(n_estimators=100, random_state=random_state, n_jobs=1)
    if name == "ANN":
        return MLPRegressor(
            hidden_layer_sizes=(500,),
            learning_rate_init=1e-3,
            max_iter=2000,
            random_state=random_state,
            tol=1e-7,
            n_iter_no_change=50,
        )
    raise KinfluxError(f"unknown black box '{name}'; choose one of {', '.join(BLACK_BOXES)}")


class GrowthLP:
    """Maximal growth (h^-1) for batches of media on one persistent HiGHS LP.

    Args:
        problem: network, medium inflows (the columns of medium vectors) and the
            inflows open outside the medium.

    ``growth(media)`` takes medium upper bounds ``(n, n_medium)`` in mmol/gDW/h;
    ``growth(media, gradient=True)`` also returns ``d growth / d bound`` ``(n, n_medium)``
    (h^-1 per mmol/gDW/h), the reduced costs of the medium inflows: exact wherever the
    optimal basis does not change, a one-sided derivative at the kinks.

    Example:
        >>> from kinflux.flux.network import Network
        >>> net = Network.load("e_coli_core")
        >>> lp = GrowthLP(FluxProblem(net, ["EX_glc__D_e_i"]))  # glucose-limited
        >>> np.round(lp.growth(np.array([[10.0], [5.0]])), 4).tolist()
        [0.8739, 0.4156]
    """

    def __init__(self, problem: FluxProblem) -> None:
        import scipy.sparse as sp

        from kinflux.highs import sparse_lp

        net = problem.network
        self.problem = problem
        self._idx = net.indices(list(problem.medium_ids)).astype(np.int32)
        self._lower = net.lower_bounds[self._idx].astype(np.float64)
        upper = problem.inflow_upper_bounds()
        zeros = np.zeros(net.n_metabolites)
        self._h = sparse_lp(
            sp.csr_matrix(net.S),
            net.objective,
            (net.lower_bounds, np.maximum(upper, net.lower_bounds)),
            (zeros, zeros),
            maximize=True,
            tolerance=1e-9,
        )

    def growth(
        self, media: np.ndarray, gradient: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Growth ``(n,)`` (NaN if infeasible), and its gradient when asked."""
        import highspy

        M = np.atleast_2d(np.asarray(media, dtype=np.float64))
        if M.shape[1] != len(self._idx):
            raise KinfluxError(f"media must have {len(self._idx)} columns, got {M.shape[1]}")
        out = np.full(len(M), np.nan)
        grad = np.zeros_like(M)
        h, ok = self._h, highspy.HighsModelStatus.kOptimal
        for i, x in enumerate(M):
            ub = np.maximum(x, self._lower)
            h.changeColsBounds(len(self._idx), self._idx, self._lower, ub)
            h.run()
            if h.getModelStatus() != ok:
                h.clearSolver()
                h.run()
                if h.getModelStatus() != ok:
                    continue
            out[i] = h.getInfo().objective_function_value
            if gradient:
                sol = h.getSolution()
                dual = np.asarray(sol.col_dual)[self._idx]
                at_upper = np.asarray(sol.col_value)[self._idx] >= ub - 1e-9
                grad[i] = np.where(at_upper, np.maximum(dual, 0.0), 0.0)
        return (out, grad) if gradient else out


_LPS: dict[Any, GrowthLP] = {}


def _growth_lp(problem: FluxProblem) -> GrowthLP:
    """One :class:`GrowthLP` per problem and process (HiGHS objects do not pickle)."""
    if problem not in _LPS:
        _LPS[problem] = GrowthLP(problem)
    return _LPS[problem]


class _FBABase:
    """Shared checks of the FBA baselines."""

    problem: FluxProblem
    design: MediumDesign

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        n_var = len(self.design.variable_ids)
        if X.ndim != 2 or X.shape[1] != n_var:
            raise KinfluxError(f"X must be (n, {n_var}) 0/1 compositions, got shape {X.shape}")
        if tuple(self.problem.medium_ids) != tuple(self.design.medium_ids):
            raise KinfluxError("the problem's medium_ids must equal the design's medium_ids")
        return X

    def _growth(self, X: np.ndarray, levels: np.ndarray | float) -> np.ndarray:
        g = _growth_lp(self.problem).growth(self.design.bounds(X, levels))
        return np.nan_to_num(g, nan=0.0)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """``R^2`` of the predicted growth."""
        return q2_score(y, self.predict(X))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters (scikit-learn convention)."""
        import inspect

        names = inspect.signature(type(self).__init__).parameters
        return {k: getattr(self, k) for k in names if k != "self"}

    def set_params(self, **params: Any) -> _FBABase:
        """Set hyper-parameters (scikit-learn convention)."""
        for k, v in params.items():
            setattr(self, k, v)
        return self


class ScaledBoundsFBA(_FBABase):
    """FBA with every present variable compound bounded at one scalar ``s`` (mmol/gDW/h).

    Args:
        problem: flux problem over the design's ``medium_ids``.
        design: compositions -> medium bounds.
        scales: candidate scalars; ``fit`` keeps the one with the least squared error.

    Learned state: ``scale_`` (mmol/gDW/h), ``train_r2_``.
    """

    def __init__(
        self,
        problem: FluxProblem,
        design: MediumDesign,
        scales: Sequence[float] = tuple(np.round(np.arange(0.1, 11.01, 0.1), 2)),
    ) -> None:
        self.problem = problem
        self.design = design
        self.scales = scales

    def fit(self, X: np.ndarray, y: np.ndarray) -> ScaledBoundsFBA:
        """Choose ``scale_`` on compositions ``X`` ``(n, n_variable)``, growth ``y`` (h^-1)."""
        X = self._check(X)
        y = np.asarray(y, dtype=float)
        sse = [float(((self._growth_cached(X, s) - y) ** 2).sum()) for s in self.scales]
        self.scale_ = float(self.scales[int(np.argmin(sse))])
        self.train_r2_ = q2_score(y, self._growth_cached(X, self.scale_))
        return self

    def _growth_cached(self, X: np.ndarray, s: float) -> np.ndarray:
        cache = _SCALED_CACHE.setdefault(self.problem, {})
        out = np.empty(len(X))
        for i, row in enumerate(X):
            key = (row.tobytes(), float(s))
            if key not in cache:
                cache[key] = float(self._growth(row[None], s)[0])
            out[i] = cache[key]
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """FBA growth ``(n,)`` (h^-1) at the fitted scale."""
        return self._growth_cached(self._check(X), self.scale_)


_SCALED_CACHE: dict[Any, dict] = {}

#: Optimizers of :class:`FittedBoundsFBA`.
_METHODS = ("BFGS", "Nelder-Mead", "Powell")


class FittedBoundsFBA(_FBABase):
    """FBA with one upper bound per variable compound, fitted to measured growth.

    Minimizes the squared growth error over the bounds ``b`` ``(n_variable,)``
    (mmol/gDW/h, clipped at 0) from ``b = x0``: ``method="BFGS"`` uses the LP's reduced
    costs as gradient (FBA growth is piecewise linear, so BFGS sees a subgradient at
    the kinks); ``"Nelder-Mead"`` is derivative-free, a cross-check. (``"Powell"``
    is accepted too, but on e_coli_core it stopped far from known bounds.)

    Args:
        problem: flux problem over the design's ``medium_ids``.
        design: compositions -> medium bounds.
        method: ``"BFGS"``, ``"Nelder-Mead"`` or ``"Powell"``.
        x0: starting bound for every variable compound (mmol/gDW/h).
        maxiter: optimizer iterations (times ``n_variable`` for the derivative-free ones).

    Learned state: ``bounds_`` ``(n_variable,)``, ``train_r2_``, ``n_evaluations_``.
    """

    def __init__(
        self,
        problem: FluxProblem,
        design: MediumDesign,
        method: str = "BFGS",
        x0: float = 2.2,
        maxiter: int = 100,
    ) -> None:
        self.problem = problem
        self.design = design
        self.method = method
        self.x0 = x0
        self.maxiter = maxiter

    def fit(self, X: np.ndarray, y: np.ndarray) -> FittedBoundsFBA:
        """Fit ``bounds_`` on compositions ``X`` ``(n, n_variable)`` and growth ``y`` (h^-1)."""
        from scipy.optimize import minimize

        X = self._check(X)
        y = np.asarray(y, dtype=float)
        if self.method not in _METHODS:
            raise KinfluxError(f"method must be one of {', '.join(_METHODS)}, got '{self.method}'")
        lp = _growth_lp(self.problem)
        var = self.design.variable_index
        count = [0]

        def sse(b: np.ndarray) -> tuple[float, np.ndarray]:
            count[0] += 1
            bc = np.maximum(b, 0.0)
            g, dg = lp.growth(self.design.bounds(X, bc), gradient=True)
            g = np.nan_to_num(g, nan=0.0)
            r = g - y
            grad = 2.0 * (r[:, None] * dg[:, var] * X).sum(0) * (b > 0)
            return float((r**2).sum()), grad

        b0 = np.full(X.shape[1], float(self.x0))
        if self.method == "BFGS":
            res = minimize(sse, b0, jac=True, method="BFGS", options={"maxiter": self.maxiter})
        else:  # derivative-free; scipy's default Nelder-Mead simplex around x0
            res = minimize(
                lambda b: sse(b)[0],
                b0,
                method=self.method,
                options={"maxiter": self.maxiter * len(b0), "xatol": 1e-3, "fatol": 1e-12},
            )
        self.bounds_ = np.maximum(res.x, 0.0)
        self.n_evaluations_ = count[0]
        self.train_r2_ = q2_score(y, self._growth(X, self.bounds_))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """FBA growth ``(n,)`` (h^-1) with the fitted bounds."""
        return self._growth(self._check(X), self.bounds_)


def fba_growth_with_bounds(problem: FluxProblem, bounds: pd.DataFrame) -> pd.Series:
    """pFBA growth (h^-1) for media given as uptake bounds, one row per medium.

    ``bounds`` ``(n, n_medium)`` in mmol/gDW/h has the problem's medium ids as columns
    (e.g. :meth:`kinflux.flux.reservoir.Reservoir.predict_bounds`); inflows outside
    them follow the problem's ``open_inflows``. The same numbers as COBRApy's
    ``pfba`` with those exchange bounds (see ``bounds_to_cobra`` in
    :mod:`kinflux.flux.reservoir`). Media that do not grow give 0.
    """
    from kinflux.flux.fba import FluxSolver

    missing = [r for r in problem.medium_ids if r not in bounds.columns]
    if missing:
        raise KinfluxError(f"bounds lack medium column(s) {', '.join(missing[:5])}")
    solver = FluxSolver(problem)
    M = bounds[list(problem.medium_ids)].to_numpy(dtype=float)
    g = [solver.pfba(x).growth for x in M]
    return pd.Series(np.nan_to_num(g, nan=0.0), index=bounds.index, name="growth")
