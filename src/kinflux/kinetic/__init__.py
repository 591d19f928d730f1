"""Kinetic models as batched tensors: SKiMpy YAML loading, rate laws, ODEs, Jacobians.

Main entry points: :class:`~kinflux.kinetic.model.KineticModel`,
:class:`~kinflux.kinetic.steady.SteadyState`, :func:`~kinflux.kinetic.dynamics.lambda_max`,
:func:`~kinflux.kinetic.params.backcalculate_vmax`; units in :mod:`kinflux.kinetic.units`.
Submodules are imported on demand (``from kinflux.kinetic.model import KineticModel``).
"""
