"""Kinetic models as batched tensors: SKiMpy YAML loading, rate laws, ODEs, Jacobians.

Main entry points: :class:`~kinflux.kinetic.problem.KineticProblem` (a model around a
steady state: ln Km -> parameters -> lambda_max),
:class:`~kinflux.kinetic.model.KineticModel`, :class:`~kinflux.kinetic.steady.SteadyState`,
:func:`~kinflux.kinetic.dynamics.lambda_max`; units in :mod:`kinflux.kinetic.units`.
Public names are imported on first use, so ``import kinflux.kinetic`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "KineticProblem": "kinflux.kinetic.problem",
    "KineticModel": "kinflux.kinetic.model",
    "SteadyState": "kinflux.kinetic.steady",
    "Scaling": "kinflux.kinetic.units",
    "lambda_max": "kinflux.kinetic.dynamics",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kinflux.kinetic' has no attribute {name!r}")
