"""SBML Level 3 export of a parameterized kinetic model (python-libsbml).

Units: concentrations uM (substance umol, volume L), time h. Each reaction's kinetic law
is the engine's own rate law: the formula is produced by running
:func:`kinflux.kinetic.ratelaws.law_terms` and :func:`~kinflux.kinetic.ratelaws.apply_modifiers`
on symbolic operands (:class:`_Sym`), so it is the same expression kinflux evaluates,
for every mechanism in :data:`~kinflux.kinetic.ratelaws.MECHANISMS`.

Volumes: compartment ``c`` has size ``volume_c`` and the kinetic law is
``v * cell_volume_X`` (X: compartment of the reaction's first reactant), so that
``d[conc]/dt = S v cell_volume_X / volume_c`` as in :meth:`KineticModel.dxdt` whenever
all ``cell_volume_*`` are equal (true for the bundled models; checked, else an error).
Species without a compartment go to a compartment ``default`` of size 1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinflux import KinfluxError
from kinflux.io import atomic_write
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.ratelaws import MOD_DSM, MOD_FOSM, MODIFIERS, apply_modifiers, law_terms

__all__ = ["SBMLExportError", "write_sbml", "rate_formula", "sbml_ids"]


class SBMLExportError(KinfluxError):
    """The model cannot be exported to a consistent SBML document."""


class _Sym:
    """A formula string that supports the arithmetic used by the rate laws."""

    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s

    @staticmethod
    def _str(o: Any) -> str:
        if isinstance(o, _Sym):
            return f"({o.s})"
        return repr(float(o))

    def __add__(self, o: Any) -> Any:
        if not isinstance(o, _Sym) and float(o) == 0.0:
            return self
        return _Sym(f"{self._str(self)} + {self._str(o)}")

    def __radd__(self, o: Any) -> Any:
        if not isinstance(o, _Sym) and float(o) == 0.0:
            return self
        return _Sym(f"{self._str(o)} + {self._str(self)}")

    def __sub__(self, o: Any) -> Any:
        return _Sym(f"{self._str(self)} - {self._str(o)}")

    def __rsub__(self, o: Any) -> Any:
        return _Sym(f"{self._str(o)} - {self._str(self)}")

    def __neg__(self) -> Any:
        return _Sym(f"-{self._str(self)}")

    def __mul__(self, o: Any) -> Any:
        if not isinstance(o, _Sym):
            if float(o) == 1.0:
                return self
            if float(o) == 0.0:
                return 0.0
        return _Sym(f"{self._str(self)} * {self._str(o)}")

    def __rmul__(self, o: Any) -> Any:
        if not isinstance(o, _Sym):
            if float(o) == 1.0:
                return self
            if float(o) == 0.0:
                return 0.0
        return _Sym(f"{self._str(o)} * {self._str(self)}")

    def __truediv__(self, o: Any) -> Any:
        if not isinstance(o, _Sym) and float(o) == 1.0:
            return self
        return _Sym(f"{self._str(self)} / {self._str(o)}")

    def __rtruediv__(self, o: Any) -> Any:
        return _Sym(f"{self._str(o)} / {self._str(self)}")

    def __pow__(self, e: Any) -> Any:
        if not isinstance(e, _Sym):
            if float(e) == 0.0:
                return 1.0
            if float(e) == 1.0:
                return self
            if float(e) < 0.0:  # 1 / x^|e|: keeps unit checks free of unary minus
                return 1.0 / (self ** (-float(e)))
        return _Sym(f"{self._str(self)}^{self._str(e)}")


#: SBML units of the parameter kinds (KineticModel.parameter_kinds)
_PARAM_UNITS = {
    "vmax_forward": "uM_per_h",
    "km": "uM",
    "hill_coefficient": "dimensionless",
    "volume": "litre",
}


def _sid(name: str, taken: set[str]) -> str:
    s = re.sub(r"\W", "_", name)
    if not re.match(r"[A-Za-z_]", s):
        s = "_" + s
    base, k = s, 1
    while s in taken:
        s, k = f"{base}_{k}", k + 1
    taken.add(s)
    return s


def sbml_ids(model: KineticModel) -> dict[str, dict[str, str]]:
    """SBML SIds of the model's objects: ``{"compartment"|"species"|"parameter"|"reaction":
    {kinflux name: SId}}`` (non-word characters become ``_``; clashes get a suffix)."""
    taken: set[str] = set()
    out: dict[str, dict[str, str]] = {"species": {}, "parameter": {}, "compartment": {}}
    for s in model.species:
        out["species"][s] = _sid(s, taken)
    const = set(model.constants)
    for n in model.parameter_names:
        if n not in const:
            out["parameter"][n] = _sid(n, taken)
    for c in [*model.compartments, "default"]:
        out["compartment"][c] = _sid(c if c != "default" else "default", taken)
    out["reaction"] = {r: _sid(r, taken) for r in model.reaction_names}
    return out


def rate_formula(model: KineticModel, j: int, ids: dict[str, dict[str, str]] | None = None) -> str:
    """SBML L3 infix formula (uM/h) of the net rate of reaction ``j``, identical in
    structure to kinflux's rate law (constants and species by their SBML SIds)."""
    ids = ids or sbml_ids(model)
    r = model.reactions[j]
    kinds = r.parameter_kinds()

    def conc(s: str) -> _Sym:
        return _Sym(ids["species"][s])

    def par(kind: str) -> Any:
        return _Sym(ids["parameter"][f"{kind}_{r.name}"]) if kind in kinds else 1.0

    subs = [conc(s) for _, s, _ in r.substrates]
    prods = [conc(s) for _, s, _ in r.products]
    fwd, bwd, den = law_terms(
        r.mechanism,
        subs,
        [n for _, _, n in r.substrates],
        [par(f"km_{slot}") for slot, _, _ in r.substrates],
        [1.0] * len(subs),
        prods,
        [n for _, _, n in r.products],
        [par(f"km_{slot}") for slot, _, _ in r.products],
        [1.0] * len(prods),
        par("vmax_forward"),
        par("k_equilibrium"),
        par("hill_coefficient"),
    )
    fwd, bwd = apply_modifiers(
        fwd,
        bwd,
        [conc(s) for _, s, _ in r.modifiers],
        [n for _, _, n in r.modifiers],
        [MOD_DSM if c == MODIFIERS[0] else MOD_FOSM for c, _, _ in r.modifiers],
    )
    num = fwd if bwd is None else fwd - bwd
    v = num / den
    return v.s if isinstance(v, _Sym) else repr(float(v))


def _check(rc: int, what: str) -> None:
    import libsbml

    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SBMLExportError(
            f"libsbml failed to {what}: {libsbml.OperationReturnValue_toString(rc)}"
        )


def write_sbml(
    model: KineticModel, params: torch.Tensor, x_ss: torch.Tensor, path: str | Path
) -> Path:
    """Write ``model`` with parameters ``params`` ``(n_params,)`` and initial
    concentrations ``x_ss`` ``(n_variables,)`` uM as an SBML L3V2 file at ``path``.

    Constant species (boundary concentrations and buffered small molecules) take their
    value from ``params`` and are ``boundaryCondition``/``constant``. The file is written
    atomically after ``checkConsistency`` reports no error (else :class:`SBMLExportError`).
    Returns the path.
    """
    import libsbml

    p = params.reshape(-1).to(torch.float64).cpu().numpy()
    x = x_ss.reshape(-1).to(torch.float64).cpu().numpy()
    if p.shape[0] != model.n_params or x.shape[0] != model.n_variables:
        raise SBMLExportError(
            f"params must be ({model.n_params},) and x_ss ({model.n_variables},); got "
            f"{tuple(params.shape)} and {tuple(x_ss.shape)}"
        )
    if np.isnan(p).any() or np.isnan(x).any():
        bad = [model.parameter_names[i] for i in np.flatnonzero(np.isnan(p))][:5]
        raise SBMLExportError(f"NaN parameters {bad} or concentrations; set them first")
    pv = dict(zip(model.parameter_names, p.tolist(), strict=True))
    cvs = {pv[f"cell_volume_{c}"] for c in model.compartments}
    if len(cvs) > 1:
        raise SBMLExportError(
            f"cell_volume_* differ ({sorted(cvs)}); one kinetic law per reaction cannot "
            "reproduce compartment-specific volume ratios"
        )
    ids = sbml_ids(model)
    doc = libsbml.SBMLDocument(3, 2)
    sm = doc.createModel()
    sm.setId(_sid(model.name, set()))
    # units: umol, L, h
    ud = sm.createUnitDefinition()
    ud.setId("umol")
    u = ud.createUnit()
    u.setKind(libsbml.UNIT_KIND_MOLE), u.setExponent(1), u.setScale(-6), u.setMultiplier(1)
    ud = sm.createUnitDefinition()
    ud.setId("hour")
    u = ud.createUnit()
    u.setKind(libsbml.UNIT_KIND_SECOND), u.setExponent(1), u.setScale(0), u.setMultiplier(3600)
    for uid, factors in (
        ("uM", ((libsbml.UNIT_KIND_MOLE, 1, -6, 1.0), (libsbml.UNIT_KIND_LITRE, -1, 0, 1.0))),
        (
            "uM_per_h",
            (
                (libsbml.UNIT_KIND_MOLE, 1, -6, 1.0),
                (libsbml.UNIT_KIND_LITRE, -1, 0, 1.0),
                (libsbml.UNIT_KIND_SECOND, -1, 0, 3600.0),
            ),
        ),
    ):
        ud = sm.createUnitDefinition()
        ud.setId(uid)
        for kind, exp, scale, mult in factors:
            u = ud.createUnit()
            u.setKind(kind), u.setExponent(exp), u.setScale(scale), u.setMultiplier(mult)
    sm.setSubstanceUnits("umol")
    sm.setExtentUnits("umol")
    sm.setTimeUnits("hour")
    sm.setVolumeUnits("litre")

    used_comps = {model.compartment_of.get(s) or "default" for s in model.species}
    for c in [*model.compartments, "default"]:
        if c not in used_comps:
            continue
        comp = sm.createCompartment()
        _check(comp.setId(ids["compartment"][c]), f"set compartment id {c}")
        comp.setSpatialDimensions(3)
        comp.setConstant(True)
        comp.setSize(pv[f"volume_{c}"] if c != "default" else 1.0)
        comp.setUnits("litre")
    vidx = {s: i for i, s in enumerate(model.variables)}
    const = set(model.constants)
    for s in model.species:
        sp = sm.createSpecies()
        _check(sp.setId(ids["species"][s]), f"set species id {s}")
        sp.setName(s)
        sp.setCompartment(ids["compartment"][model.compartment_of.get(s) or "default"])
        sp.setInitialConcentration(pv[s] if s in const else float(x[vidx[s]]))
        sp.setHasOnlySubstanceUnits(False)
        sp.setBoundaryCondition(s in const)
        sp.setConstant(s in const)
        sp.setSubstanceUnits("umol")
    for n, sid in ids["parameter"].items():
        par = sm.createParameter()
        _check(par.setId(sid), f"set parameter id {n}")
        par.setName(n)
        par.setValue(pv[n])
        par.setConstant(True)
        unit = _PARAM_UNITS.get(model.parameter_kinds[n])
        if unit is not None:  # k_equilibrium: uM^(sum of stoichiometries), left unset
            par.setUnits(unit)
    sidx = {s: i for i, s in enumerate(model.species)}
    for j, r in enumerate(model.reactions):
        rx = sm.createReaction()
        _check(rx.setId(ids["reaction"][r.name]), f"set reaction id {r.name}")
        rx.setName(r.name)
        rx.setReversible(r.mechanism != "IrrevMichaelisMenten")
        in_law = [s for _, s, _ in r.substrates + r.products + r.modifiers]
        listed: set[str] = set()
        for s in dict.fromkeys(
            [*in_law, *[model.species[i] for i in np.flatnonzero(model.S_full[:, j])]]
        ):
            n = float(model.S_full[sidx[s], j])
            if n == 0.0:
                continue
            ref = rx.createReactant() if n < 0 else rx.createProduct()
            ref.setSpecies(ids["species"][s])
            ref.setStoichiometry(abs(n))
            ref.setConstant(True)
            listed.add(s)
        for s in dict.fromkeys(in_law):
            if s not in listed:
                mref = rx.createModifier()
                mref.setSpecies(ids["species"][s])
        first = (r.substrates + r.products)[0][1]
        cv = model.compartment_of.get(first)
        formula = f"({rate_formula(model, j, ids)})"
        if cv is not None:
            formula += f" * {ids['parameter'][f'cell_volume_{cv}']}"
        ast = libsbml.parseL3Formula(formula)
        if ast is None:
            raise SBMLExportError(
                f"reaction {r.name}: libsbml cannot parse {formula!r}: "
                f"{libsbml.getLastParseL3Error()}"
            )
        kl = rx.createKineticLaw()
        _check(kl.setMath(ast), f"set the kinetic law of {r.name}")
    doc.checkConsistency()
    errs = [
        doc.getError(i)
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    if errs:
        msg = "; ".join(f"{e.getErrorId()}: {e.getMessage().strip()}" for e in errs[:5])
        raise SBMLExportError(f"SBML consistency check failed ({len(errs)} errors): {msg}")
    text = libsbml.writeSBMLToString(doc)
    out = Path(path)
    with atomic_write(out, "w") as fh:
        fh.write(text)
    return out
