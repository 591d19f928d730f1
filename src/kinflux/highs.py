"""The one place that builds HiGHS models (flux-balance LPs of :mod:`kinflux.flux`).

:func:`sparse_lp` loads ``rows_lo <= A x <= rows_hi, lo <= x <= hi`` with a sparse ``A``
into a quiet, persistent ``highspy.Highs`` instance; callers then change bounds or
costs between solves and HiGHS restarts from the last basis. One-shot problems that
need no persistence should use :func:`scipy.optimize.linprog` / ``milp`` instead.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> h = sparse_lp(sp.csr_matrix([[1.0, 1.0]]), cost=[1.0, 2.0],
    ...               col_bounds=([0, 0], [10, 10]), row_bounds=([3], [3]), maximize=True)
    >>> _ = h.run()
    >>> round(h.getInfo().objective_function_value, 6)
    6.0
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

__all__ = ["quiet_highs", "sparse_lp", "INF"]

#: HiGHS' infinity, for unbounded rows and columns.
INF = float("inf")


def quiet_highs(**options: Any):
    """A ``highspy.Highs`` with logging off and its start-up banner kept off stdout.

    Keyword arguments are HiGHS options, e.g.
    ``quiet_highs(primal_feasibility_tolerance=1e-9)``.
    """
    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    for key, value in options.items():
        h.setOptionValue(key, value)
    return h


def sparse_lp(
    A: Any,
    cost: Any,
    col_bounds: tuple[Any, Any],
    row_bounds: tuple[Any, Any],
    maximize: bool = False,
    tolerance: float | None = None,
):
    """A quiet HiGHS instance holding one LP.

    Args:
        A: constraint matrix ``(n_rows, n_cols)``, scipy sparse or dense.
        cost: objective coefficients ``(n_cols,)``.
        col_bounds: ``(lower, upper)`` of the variables, each ``(n_cols,)``; use
            ``inf``/``-inf`` for none.
        row_bounds: ``(lower, upper)`` of ``A x``, each ``(n_rows,)``.
        maximize: maximize instead of minimize.
        tolerance: primal and dual feasibility tolerance (HiGHS' default 1e-7 if None).

    Returns:
        A ``highspy.Highs`` with the model passed (call ``run()``).
    """
    import highspy
    import scipy.sparse as sp

    A = sp.csc_matrix(A)
    tol = (
        {}
        if tolerance is None
        else {"primal_feasibility_tolerance": tolerance, "dual_feasibility_tolerance": tolerance}
    )
    h = quiet_highs(**tol)
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = A.shape
    inf = highspy.kHighsInf

    def _arr(b: Any) -> np.ndarray:
        return np.clip(np.asarray(b, dtype=np.float64), -inf, inf)

    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_, lp.col_upper_ = (_arr(b) for b in col_bounds)
    lp.row_lower_, lp.row_upper_ = (_arr(b) for b in row_bounds)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h.passModel(lp)
    return h
