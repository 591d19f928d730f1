"""One reaction of a kinetic model: its mechanism, reactant slots and parameter kinds."""

from __future__ import annotations

from dataclasses import dataclass, field

from kinflux import KinfluxError

__all__ = ["ReactionSpec", "KineticModelError", "MECHANISM_PARAMETERS"]

MECHANISM_PARAMETERS = {
    "ReversibleMichaelisMenten": ("vmax_forward", "k_equilibrium"),
    "Convenience": ("vmax_forward", "k_equilibrium"),
    "IrrevMichaelisMenten": ("vmax_forward",),
    "RevMassaction": ("vmax_forward", "k_equilibrium"),
    "H1GeneralizedReversibleHill": ("vmax_forward", "k_equilibrium"),
    "UniBiReversibleHill": ("vmax_forward", "k_equilibrium", "hill_coefficient"),
    "BiUniReversibleHill": ("vmax_forward", "k_equilibrium", "hill_coefficient"),
}
_NO_KM = ("RevMassaction",)
_NO_PRODUCT_KM = ("IrrevMichaelisMenten",)


class KineticModelError(KinfluxError):
    """A kinetic model file cannot be loaded (names the file, reaction and fix)."""


@dataclass
class ReactionSpec:
    """One reaction as read from YAML.

    ``substrates``/``products``: ``(slot, species, |stoichiometry|)`` in slot order;
    ``modifiers``: ``(class, species, signed stoichiometry)``.
    """

    name: str
    mechanism: str
    substrates: list[tuple[str, str, float]]
    products: list[tuple[str, str, float]]
    modifiers: list[tuple[str, str, float]] = field(default_factory=list)

    def parameter_kinds(self) -> list[str]:
        """Parameter kinds of the rate law (without the ``_<reaction>`` suffix)."""
        kinds = list(MECHANISM_PARAMETERS[self.mechanism])
        if self.mechanism not in _NO_KM:
            kinds += [f"km_{slot}" for slot, _, _ in self.substrates]
            if self.mechanism not in _NO_PRODUCT_KM:
                kinds += [f"km_{slot}" for slot, _, _ in self.products]
        return kinds
