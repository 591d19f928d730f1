"""Kinetic models as batched tensors: SKiMpy YAML loading, rate laws, ODEs, Jacobians.

Main entry points: :class:`~kinflux.kinetic.problem.KineticProblem` (a model around a
steady state: ln Km -> parameters -> lambda_max),
:class:`~kinflux.kinetic.model.KineticModel`, :class:`~kinflux.kinetic.steady.SteadyState`,
:func:`~kinflux.kinetic.dynamics.lambda_max`; units in :mod:`kinflux.kinetic.units`.
Public names are imported on first use, so ``import kinflux.kinetic`` stays fast.
"""

from __future__ import annotations

from kinflux import lazy_exports

_LAZY = {
    "KineticProblem": "problem",
    "KineticModel": "model",
    "SteadyState": "steady",
    "Scaling": "units",
    "lambda_max": "dynamics",
    "RenaissanceGenerator": "renaissance",
    "KmGenerator": "generators",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
