"""Kinetic model files: the SKiMpy YAML reader and the SBML writer.

- :mod:`kinflux.kinetic.io.skimpy_yaml`: ``read_skimpy_yaml(path)`` (used by
  ``KineticModel.from_yaml``).
- :mod:`kinflux.kinetic.io.sbml`: ``write_sbml(model, params, x_ss, path)``.
"""
