"""Reader of SKiMpy YAML kinetic models (``reactions``, ``reactants``, ``parameters``, ...).

:func:`read_skimpy_yaml` checks the file and returns the arguments of
:class:`~kinflux.kinetic.model.KineticModel`; use ``KineticModel.from_yaml(path)``.
Every error names the file, the reaction or parameter, and the fix.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from kinflux.kinetic.ratelaws import MECHANISMS, MODIFIERS
from kinflux.kinetic.reaction import KineticModelError, ReactionSpec

__all__ = ["read_skimpy_yaml"]

_FIXED_ARITY = {"UniBiReversibleHill": (1, 2), "BiUniReversibleHill": (2, 1)}


def _slot_key(slot: str) -> int:
    digits = re.findall(r"\d+", slot)
    return int(digits[0]) if digits else 0


def _number(path: Path, where: str, value: Any, default: float | None = None) -> float:
    """A finite float from YAML, or a :class:`KineticModelError` naming ``where``."""
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise KineticModelError(f"{path}: {where} must be a number, got {value!r}")
    try:
        x = float(value)
    except ValueError:
        raise KineticModelError(f"{path}: {where} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise KineticModelError(f"{path}: {where} must be finite, got {value!r}")
    return x


def _mapping(path: Path, where: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KineticModelError(
            f"{path}: {where} must be a mapping (name: value), got {type(value).__name__}"
        )
    return value


def _parse_reaction(path: Path, name: str, rd: Any) -> ReactionSpec:
    rd = _mapping(path, f"reaction '{name}'", rd)
    mech = dict(_mapping(path, f"reaction '{name}': mechanism", rd.get("mechanism")))
    cls = mech.pop("class", None)
    if cls not in MECHANISMS:
        raise KineticModelError(
            f"{path}: reaction '{name}' uses mechanism class '{cls}', which kinflux does not "
            f"implement; supported: {', '.join(MECHANISMS)}. Change the mechanism or add "
            "the rate law to kinflux.kinetic.ratelaws."
        )
    if rd.get("enzyme") is not None:
        raise KineticModelError(
            f"{path}: reaction '{name}' has an explicit enzyme ('{rd['enzyme']}'); kinflux "
            "supports vmax_forward parameterizations only (enzyme: null)."
        )
    where = f"reaction '{name}': mechanism_stoichiometry"
    stoich = _mapping(path, where, mech.pop("mechanism_stoichiometry", None))
    subs, prods = [], []
    for slot, species in mech.items():
        if not isinstance(slot, str) or not slot.startswith(("substrate", "product")):
            raise KineticModelError(
                f"{path}: reaction '{name}': unexpected mechanism entry '{slot}' for {cls}"
            )
        if not isinstance(species, str) or not species:
            raise KineticModelError(
                f"{path}: reaction '{name}': {slot} must name a reactant, got {species!r}"
            )
        sub = slot.startswith("substrate")
        n = abs(_number(path, f"{where} of {slot}", stoich.get(slot), -1.0 if sub else 1.0))
        if n == 0:
            raise KineticModelError(f"{path}: {where} of {slot} is 0; use a non-zero number")
        (subs if sub else prods).append((slot, species, n))
    subs.sort(key=lambda t: _slot_key(t[0]))
    prods.sort(key=lambda t: _slot_key(t[0]))
    if cls in _FIXED_ARITY and (len(subs), len(prods)) != _FIXED_ARITY[cls]:
        raise KineticModelError(
            f"{path}: reaction '{name}': {cls} needs {_FIXED_ARITY[cls]} substrates/products, "
            f"got {len(subs)}/{len(prods)}"
        )
    if not subs:
        raise KineticModelError(f"{path}: reaction '{name}' has no substrate")
    mods = []
    for mname, md in _mapping(path, f"reaction '{name}': modifiers", rd.get("modifiers")).items():
        md = _mapping(path, f"reaction '{name}', modifier '{mname}'", md)
        mcls = md.get("class")
        if mcls not in MODIFIERS:
            raise KineticModelError(
                f"{path}: reaction '{name}', modifier '{mname}' has class '{mcls}', which "
                f"kinflux does not implement; supported: {', '.join(MODIFIERS)}."
            )
        if not isinstance(md.get("small_molecule"), str):
            raise KineticModelError(
                f"{path}: reaction '{name}', modifier '{mname}' names no small_molecule"
            )
        ms = md.get("mechanism_stoichiometry", 0.0)
        ms = ms.get("small_molecule", 0.0) if isinstance(ms, dict) else ms
        w = f"reaction '{name}', modifier '{mname}': mechanism_stoichiometry"
        mods.append((mcls, md["small_molecule"], _number(path, w, ms, 0.0)))
    return ReactionSpec(name, cls, subs, prods, mods)


def read_skimpy_yaml(path: str | Path) -> dict[str, Any]:
    """Read and check a SKiMpy YAML model.

    Args:
        path: the YAML file.

    Returns:
        Keyword arguments of :class:`~kinflux.kinetic.model.KineticModel` (``name``,
        ``species``, ``compartments``, ``reactions``, ``boundary``, ``defaults``,
        ``dependent_hint``, ``source``). Parameter values are finite floats or None;
        their signs are checked by the model, which knows each parameter's kind.

    Raises:
        KineticModelError: missing file, invalid YAML, unsupported mechanism, text where
            a number belongs, a non-finite number.
    """
    p = Path(path)
    if not p.is_file():
        raise KineticModelError(
            f"{p}: no such kinetic model file; bundled ones are reachable by name "
            "(kinflux.datasets.kinetic_model_path('varma_strain_1'), CLI --model kin_varma)"
        )
    try:
        d = yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KineticModelError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(d, dict) or not d.get("reactions"):
        raise KineticModelError(
            f"{p}: no 'reactions' section; is it a SKiMpy model file (skimpy.io.yaml)?"
        )
    rx = _mapping(p, "'reactions'", d.get("reactions"))
    reactions = [_parse_reaction(p, str(n), rd) for n, rd in rx.items()]
    reactants = _mapping(p, "'reactants'", d.get("reactants"))
    comps = {
        str(k): (_mapping(p, f"reactant '{k}'", v)).get("compartment") for k, v in reactants.items()
    }
    boundary = []
    for bname, bc in _mapping(p, "'boundary_conditions'", d.get("boundary_conditions")).items():
        bc = _mapping(p, f"boundary condition '{bname}'", bc)
        if bc.get("class") != "ConstantConcentration":
            raise KineticModelError(
                f"{p}: boundary condition '{bname}' has class '{bc.get('class')}'; only "
                "ConstantConcentration is supported."
            )
        if not isinstance(bc.get("reactant"), str):
            raise KineticModelError(f"{p}: boundary condition '{bname}' names no reactant")
        boundary.append(bc["reactant"])
    defaults: dict[str, float | None] = {}
    for k, v in _mapping(p, "'parameters'", d.get("parameters")).items():
        defaults[str(k)] = None if v is None else _number(p, f"parameter '{k}'", v)
    dep = list(_mapping(p, "'dependent_reactants'", d.get("dependent_reactants")).keys())
    return {
        "name": str(d.get("name", p.stem)),
        "species": [str(k) for k in reactants],
        "compartments": comps,
        "reactions": reactions,
        "boundary": boundary,
        "defaults": defaults,
        "dependent_hint": dep or None,
        "source": str(p),
    }
