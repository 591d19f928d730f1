"""kinflux — trainable metabolic networks.

Two halves share one idea, metabolic networks as trainable objects:

- :mod:`kinflux.flux` — neural-mechanistic flux models (Artificial Metabolic Networks).
- :mod:`kinflux.kinetic` — kinetic models and their generative parameterization.

Heavy submodules are imported lazily; ``import kinflux`` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "KinfluxError", "lazy_exports"]


class KinfluxError(Exception):
    """Base class of every error kinflux raises on bad input.

    Messages name the file, the id and the fix, so that a user can act on them.
    """


def lazy_exports(package: str, exports: dict[str, str]):  # noqa: ANN201 - a pair of functions
    """``(__getattr__, __dir__)`` for a package whose public names load on first use.

    ``exports`` maps a public name to the submodule (relative to ``package``) that
    defines it, so ``import kinflux.flux`` stays fast while ``kinflux.flux.AMN`` works.
    """
    import importlib

    def __getattr__(name: str):  # noqa: ANN202, N807
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(exports)

    return __getattr__, __dir__
