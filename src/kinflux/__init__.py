"""kinflux — trainable metabolic networks.

Two halves share one idea, metabolic networks as trainable objects:

- :mod:`kinflux.flux` — neural-mechanistic flux models (Artificial Metabolic Networks).
- :mod:`kinflux.kinetic` — kinetic models and their generative parameterization.

Heavy submodules are imported lazily; ``import kinflux`` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "KinfluxError"]


class KinfluxError(Exception):
    """Base class of every error kinflux raises on bad input.

    Messages name the file, the id and the fix, so that a user can act on them.
    """
