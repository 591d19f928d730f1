"""Kinetic models as tensors: load SKiMpy YAML, evaluate rates, ODEs and Jacobians batched.

>>> from kinflux.datasets import kinetic_model_path
>>> m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
>>> m.n_reactions, m.n_variables, m.n_independent
(65, 49, 43)

Layout conventions:

- **species**: every reactant of the YAML file. Each is either a *variable* (an ODE state)
  or a *constant* (a ConstantConcentration boundary, or a modifier-only small molecule
  such as ``h_c``, see below). A constant's concentration is a parameter of the same name.
- **parameters**: a plain ``(batch, n_params)`` float tensor, columns named by
  :attr:`KineticModel.parameter_names` (SKiMpy names, e.g. ``km_substrate1_PGK``,
  ``vmax_forward_PGK``, ``k_equilibrium_PGK``, ``ac_e``, ``volume_c``). Unknown values
  (``null`` in YAML) are NaN.
- **state** ``x``: ``(batch, n_variables)`` concentrations (uM, see :mod:`.units`), in the
  order of :attr:`KineticModel.variables`.
- **rates** ``v``: ``(batch, n_reactions)`` (uM/h); ``dx/dt = r * (S v)`` with ``r`` the
  cell_volume/volume ratio of each species' compartment.

Modifier-only small molecules. A species that occurs in no mechanism, only in
DisplacementSmallMoleculeModifier / FirstOrderSmallMoleculeModifier terms (``h_c`` in the
varma models), is an ODE state in SKiMpy: ``get_expressions_from_model`` adds
``stoichiometry x v_net`` to its balance for every modifier reactant with non-zero
stoichiometry, of either modifier class. kinflux's default, ``small_molecules="dynamic"``,
does the same. With it, ``h_c`` of varma_strain_1 balances at the strain_1 fluxes to
1e-12: the DisplacementSmallMoleculeModifier terms alone give +240.46 mmol/gDW/h and the
FirstOrderSmallMoleculeModifier terms (respiratory chain) give -240.46. Counting only the
displacement terms is what makes ``h_c`` look unbalanced. ``small_molecules="constant"``
instead treats such species as buffered constants (fixed pH, as ``h_e`` is a boundary):
they scale the rates but are not states, and their concentration is a parameter.

Conservation: the left null space of the variables' stoichiometry gives the moieties;
the dependent species are those of the YAML ``dependent_reactants`` when they form a
valid choice, otherwise SKiMpy's rule (pivot columns of the reduced row echelon form).
``x = L @ x_indep + offset`` with ``offset`` fixed by the moiety totals.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from scipy.linalg import null_space

from kinflux import KinfluxError
from kinflux.kinetic.ratelaws import (
    MECHANISMS,
    MOD_DSM,
    MOD_FOSM,
    MODIFIERS,
    SEPARABLE,
    PackedGroup,
    group_rates,
    separable_elasticities,
)

__all__ = ["KineticModel", "ReactionSpec", "KineticModelError"]

_MECH_PARAMS = {
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
_FIXED_ARITY = {"UniBiReversibleHill": (1, 2), "BiUniReversibleHill": (2, 1)}


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
        kinds = list(_MECH_PARAMS[self.mechanism])
        if self.mechanism not in _NO_KM:
            kinds += [f"km_{slot}" for slot, _, _ in self.substrates]
            if self.mechanism not in _NO_PRODUCT_KM:
                kinds += [f"km_{slot}" for slot, _, _ in self.products]
        return kinds


def _slot_key(slot: str) -> int:
    digits = re.findall(r"\d+", slot)
    return int(digits[0]) if digits else 0


def _parse_reaction(path: Path, name: str, rd: dict) -> ReactionSpec:
    mech = dict(rd.get("mechanism") or {})
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
    stoich = mech.pop("mechanism_stoichiometry", None) or {}
    subs, prods = [], []
    for slot, species in mech.items():
        if slot.startswith("substrate"):
            subs.append((slot, str(species), abs(float(stoich.get(slot, -1.0)))))
        elif slot.startswith("product"):
            prods.append((slot, str(species), abs(float(stoich.get(slot, 1.0)))))
        else:
            raise KineticModelError(
                f"{path}: reaction '{name}': unexpected mechanism entry '{slot}' for {cls}"
            )
    subs.sort(key=lambda t: _slot_key(t[0]))
    prods.sort(key=lambda t: _slot_key(t[0]))
    if cls in _FIXED_ARITY and (len(subs), len(prods)) != _FIXED_ARITY[cls]:
        raise KineticModelError(
            f"{path}: reaction '{name}': {cls} needs {_FIXED_ARITY[cls]} substrates/products, "
            f"got {len(subs)}/{len(prods)}"
        )
    mods = []
    for mname, md in (rd.get("modifiers") or {}).items():
        mcls = md.get("class")
        if mcls not in MODIFIERS:
            raise KineticModelError(
                f"{path}: reaction '{name}', modifier '{mname}' has class '{mcls}', which "
                f"kinflux does not implement; supported: {', '.join(MODIFIERS)}."
            )
        ms = md.get("mechanism_stoichiometry", 0.0)
        ms = ms.get("small_molecule", 0.0) if isinstance(ms, dict) else ms
        mods.append((mcls, str(md["small_molecule"]), float(ms)))
    return ReactionSpec(name, cls, subs, prods, mods)


class KineticModel:
    """A kinetic model whose rates, ODE and Jacobian are evaluated for parameter batches.

    Build with :meth:`from_yaml`. All tensors are float64 on CPU; inputs on another
    device/dtype are honoured (index tensors are moved and cached per device).
    """

    def __init__(
        self,
        name: str,
        species: list[str],
        compartments: dict[str, str | None],
        reactions: list[ReactionSpec],
        boundary: list[str],
        defaults: dict[str, float | None],
        dependent_hint: list[str] | None = None,
        small_molecules: str = "dynamic",
        source: str = "<memory>",
    ) -> None:
        if small_molecules not in ("constant", "dynamic"):
            raise KinfluxError(
                f"small_molecules must be 'constant' or 'dynamic', got {small_molecules!r}"
            )
        self.name = name
        self.source = source
        self.species = list(species)
        self.compartment_of = dict(compartments)
        self.reactions = list(reactions)
        self.reaction_names = [r.name for r in reactions]
        self.small_molecules = small_molecules
        in_mech = {s for r in reactions for _, s, _ in r.substrates + r.products}
        in_mods = {s for r in reactions for _, s, _ in r.modifiers}
        for s in in_mech | in_mods:
            if s not in self.compartment_of:
                self.species.append(s)
                self.compartment_of[s] = None
        #: species that occur only in small-molecule modifiers
        self.modifier_only = [s for s in self.species if s in in_mods and s not in in_mech]
        self.boundary = [s for s in self.species if s in set(boundary)]
        const = set(self.boundary)
        if small_molecules == "constant":
            const |= set(self.modifier_only)
        self.constants = [s for s in self.species if s in const]
        self.variables = [s for s in self.species if s not in const]
        self._build_parameters(defaults)
        self._build_stoichiometry()
        self._build_conservation(dependent_hint)
        self._build_groups()
        self._cache: dict[tuple, Any] = {}

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_yaml(cls, path: str | Path, small_molecules: str = "dynamic") -> KineticModel:
        """Load a SKiMpy YAML model (``reactions``, ``reactants``, ``parameters``, ...)."""
        p = Path(path)
        if not p.exists():
            raise KineticModelError(
                f"{p}: no such kinetic model file; bundled ones are reachable with "
                "kinflux.datasets.kinetic_model_path('varma_strain_1') etc."
            )
        try:
            d = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            raise KineticModelError(f"{p}: not valid YAML ({exc})") from exc
        if not isinstance(d, dict) or "reactions" not in d:
            raise KineticModelError(f"{p}: no 'reactions' section; is it a SKiMpy model file?")
        reactions = [_parse_reaction(p, n, rd) for n, rd in (d.get("reactions") or {}).items()]
        reactants = d.get("reactants") or {}
        comps = {k: (v or {}).get("compartment") for k, v in reactants.items()}
        boundary = []
        for bname, bc in (d.get("boundary_conditions") or {}).items():
            if bc.get("class") != "ConstantConcentration":
                raise KineticModelError(
                    f"{p}: boundary condition '{bname}' has class '{bc.get('class')}'; only "
                    "ConstantConcentration is supported."
                )
            boundary.append(str(bc["reactant"]))
        dep = list((d.get("dependent_reactants") or {}).keys()) or None
        return cls(
            name=str(d.get("name", p.stem)),
            species=list(reactants.keys()),
            compartments=comps,
            reactions=reactions,
            boundary=boundary,
            defaults=d.get("parameters") or {},
            dependent_hint=dep,
            small_molecules=small_molecules,
            source=str(p),
        )

    def _build_parameters(self, defaults: dict[str, float | None]) -> None:
        names: list[str] = []
        kinds: list[str] = []
        for r in self.reactions:
            for k in r.parameter_kinds():
                names.append(f"{k}_{r.name}")
                kinds.append("km" if k.startswith("km_") else k)
        for s in self.constants:
            names.append(s)
            kinds.append("boundary_concentration" if s in self.boundary else "small_molecule")
        self.compartments = sorted({c for c in self.compartment_of.values() if c is not None})
        for c in self.compartments:
            names += [f"cell_volume_{c}", f"volume_{c}"]
            kinds += ["volume", "volume"]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise KineticModelError(f"{self.source}: duplicate parameter names {dup}")
        self.parameter_names = names
        self.parameter_kinds = dict(zip(names, kinds, strict=True))
        self._pidx = {n: i for i, n in enumerate(names)}
        vals = []
        for n, k in zip(names, kinds, strict=True):
            v = defaults.get(n)
            if v is None and k == "volume":
                v = 1.0
            vals.append(math.nan if v is None else float(v))
        self._defaults = torch.tensor(vals, dtype=torch.float64)
        #: YAML parameters that no QSSA rate law reads (elementary constants, vmax_backward)
        self.unused_yaml_parameters = sorted(set(defaults) - set(names))

    def _build_stoichiometry(self) -> None:
        sidx = {s: i for i, s in enumerate(self.species)}
        S = np.zeros((len(self.species), len(self.reactions)))
        for j, r in enumerate(self.reactions):
            for _, s, n in r.substrates:
                S[sidx[s], j] -= n
            for _, s, n in r.products:
                S[sidx[s], j] += n
            for _, s, n in r.modifiers:
                if n != 0.0:  # SKiMpy assigns (not adds) the modifier stoichiometry
                    S[sidx[s], j] = n
        self.S_full = S
        vi = [sidx[s] for s in self.variables]
        self.S = S[vi]  # (n_variables, n_reactions)

    def _build_conservation(self, hint: list[str] | None) -> None:
        nv = len(self.variables)
        C0 = null_space(self.S.T).T if nv else np.zeros((0, 0))
        m = C0.shape[0]
        dep: list[int] | None = None
        self.conservation_note = ""
        if hint is not None:
            vidx = {s: i for i, s in enumerate(self.variables)}
            cand = [vidx[s] for s in hint if s in vidx]
            if len(cand) == len(hint) == m and m > 0 and np.linalg.matrix_rank(C0[:, cand]) == m:
                dep = sorted(cand)
            else:
                self.conservation_note = (
                    f"dependent_reactants {hint} of the file do not fit the {m} moieties "
                    "found; chose dependents by the SKiMpy pivot rule instead"
                )
        if dep is None:
            dep, rank = [], 0
            for j in range(nv):
                if rank == m:
                    break
                if np.linalg.matrix_rank(C0[:, dep + [j]]) > rank:
                    dep.append(j)
                    rank += 1
        C = np.linalg.solve(C0[:, dep], C0) if m else np.zeros((0, nv))
        Cr = np.round(C)
        C = np.where(np.abs(C - Cr) < 1e-9, Cr, C)
        ind = [i for i in range(nv) if i not in set(dep)]
        L = np.zeros((nv, len(ind)))
        L[ind, np.arange(len(ind))] = 1.0
        L[dep, :] = -C[:, ind]
        self.dependent_idx, self.independent_idx = dep, ind
        self.conservation = C  # (n_moieties, n_variables), C[:, dep] = I
        self.link = L  # (n_variables, n_independent)

    def _build_groups(self) -> None:
        nv, nc = len(self.variables), len(self.constants)
        lay = {s: i for i, s in enumerate(self.variables)}
        lay.update({s: nv + i for i, s in enumerate(self.constants)})
        self._n_layout = nv + nc + 1
        pad_c, pad_p = nv + nc, len(self.parameter_names)
        groups = []
        for mech in MECHANISMS:
            rs = [(j, r) for j, r in enumerate(self.reactions) if r.mechanism == mech]
            if not rs:
                continue
            ns = max(len(r.substrates) for _, r in rs)
            npr = max(len(r.products) for _, r in rs)
            nm = max(len(r.modifiers) for _, r in rs)
            R = len(rs)
            a = {
                "rxn": np.array([j for j, _ in rs]),
                "sub_sp": np.full((R, ns), pad_c),
                "sub_n": np.zeros((R, ns)),
                "sub_on": np.zeros((R, ns)),
                "sub_km": np.full((R, ns), pad_p),
                "prod_sp": np.full((R, npr), pad_c),
                "prod_n": np.zeros((R, npr)),
                "prod_on": np.zeros((R, npr)),
                "prod_km": np.full((R, npr), pad_p),
                "mod_sp": np.full((R, nm), pad_c),
                "mod_n": np.zeros((R, nm)),
                "mod_kind": np.zeros((R, nm), dtype=np.int64),
                "vmax": np.full(R, pad_p),
                "keq": np.full(R, pad_p),
                "hill": np.full(R, pad_p),
            }
            for i, (_, r) in enumerate(rs):
                kinds = r.parameter_kinds()
                for pre, slots in (("sub", r.substrates), ("prod", r.products)):
                    for k, (slot, s, n) in enumerate(slots):
                        a[f"{pre}_sp"][i, k] = lay[s]
                        a[f"{pre}_n"][i, k] = n
                        a[f"{pre}_on"][i, k] = 1.0
                        if f"km_{slot}" in kinds:
                            a[f"{pre}_km"][i, k] = self._pidx[f"km_{slot}_{r.name}"]
                for k, (mcls, s, n) in enumerate(r.modifiers):
                    a["mod_sp"][i, k] = lay[s]
                    a["mod_n"][i, k] = n
                    kind = MOD_DSM if mcls == MODIFIERS[0] else MOD_FOSM
                    a["mod_kind"][i, k] = kind
                for key, pk in (
                    ("vmax", "vmax_forward"),
                    ("keq", "k_equilibrium"),
                    ("hill", "hill_coefficient"),
                ):
                    if pk in kinds:
                        a[key][i] = self._pidx[f"{pk}_{r.name}"]
            groups.append(
                PackedGroup(
                    mech,
                    **{
                        k: torch.as_tensor(v, dtype=torch.float64)
                        if v.dtype.kind == "f"
                        else torch.as_tensor(v, dtype=torch.long)
                        for k, v in a.items()
                    },
                )
            )
        self.groups = groups
        # volume ratios of the variables: (cell_volume / volume) of their compartment
        cv = [self.compartment_of.get(s) for s in self.variables]
        self._vol_num = [self._pidx[f"cell_volume_{c}"] if c else -1 for c in cv]
        self._vol_den = [self._pidx[f"volume_{c}"] if c else -1 for c in cv]

    # ------------------------------------------------------------------ sizes & names
    @property
    def n_reactions(self) -> int:
        return len(self.reactions)

    @property
    def n_variables(self) -> int:
        return len(self.variables)

    @property
    def n_independent(self) -> int:
        return len(self.independent_idx)

    @property
    def n_params(self) -> int:
        return len(self.parameter_names)

    @property
    def independent(self) -> list[str]:
        """Names of the independent variables (order of the reduced Jacobian)."""
        return [self.variables[i] for i in self.independent_idx]

    @property
    def dependent(self) -> list[str]:
        return [self.variables[i] for i in self.dependent_idx]

    def parameter_index(self, name: str) -> int:
        """Column of parameter ``name`` (KinfluxError naming close matches if absent)."""
        try:
            return self._pidx[name]
        except KeyError:
            close = [n for n in self.parameter_names if name.split("_")[-1] in n][:5]
            raise KinfluxError(
                f"model '{self.name}' has no parameter '{name}'; similar: {close}"
            ) from None

    def parameter_indices(self, kind: str) -> list[int]:
        """Columns of every parameter of a kind: ``km``, ``vmax_forward``, ``k_equilibrium``,
        ``hill_coefficient``, ``boundary_concentration``, ``small_molecule``, ``volume``."""
        return [i for i, n in enumerate(self.parameter_names) if self.parameter_kinds[n] == kind]

    def default_parameters(self, batch: int | None = None) -> torch.Tensor:
        """YAML values, NaN where unknown: ``(n_params,)`` or ``(batch, n_params)``."""
        p = self._defaults.clone()
        return p if batch is None else p.expand(batch, -1).clone()

    def parameters_from_dict(self, values: dict[str, float], base: torch.Tensor | None = None):
        """Parameter vector ``(n_params,)`` from a name -> value mapping (others: ``base``)."""
        p = self.default_parameters() if base is None else base.clone()
        for k, v in values.items():
            if k in self._pidx:
                p[..., self._pidx[k]] = float(v)
        return p

    def as_dict(self, params: torch.Tensor) -> dict[str, float]:
        """One parameter vector ``(n_params,)`` as a name -> value dict."""
        return {n: float(v) for n, v in zip(self.parameter_names, params.tolist(), strict=True)}

    # ------------------------------------------------------------------ tensors per device
    def _dev(self, ref: torch.Tensor) -> dict[str, Any]:
        key = (ref.device, ref.dtype)
        if key not in self._cache:
            fdt = ref.dtype

            def mv(t: torch.Tensor) -> torch.Tensor:
                return t.to(ref.device, fdt if t.is_floating_point() else t.dtype)

            groups = [g.map(mv) for g in self.groups]
            idx = []
            for g in groups:
                slot = g.slot_sp  # (R, K)
                idx.append((g.rxn[:, None] * self._n_layout + slot).reshape(-1))
            self._cache[key] = {
                "groups": groups,
                "flat": idx,
                "eye": [torch.eye(g.n_slots, dtype=fdt, device=ref.device) for g in groups],
                "S": torch.as_tensor(self.S, dtype=fdt, device=ref.device),
                "S_ind": torch.as_tensor(
                    self.S[self.independent_idx], dtype=fdt, device=ref.device
                ),
                "L": torch.as_tensor(self.link, dtype=fdt, device=ref.device),
                "C": torch.as_tensor(self.conservation, dtype=fdt, device=ref.device),
                "const": torch.tensor(
                    [self._pidx[s] for s in self.constants], dtype=torch.long, device=ref.device
                ),
            }
        return self._cache[key]

    def _prepare(self, x: torch.Tensor, params: torch.Tensor) -> tuple:
        """Batch-last layouts: concentrations ``(n_layout, B)``, parameters ``(P+1, B)``."""
        if x.dim() == 1:
            x = x[None]
        if params.dim() == 1:
            params = params[None]
        b = max(x.shape[0], params.shape[0])
        params = params.to(device=x.device, dtype=x.dtype)
        d = self._dev(x)
        xt = x.T.expand(-1, b) if x.shape[0] == 1 else x.T
        pt = params.T.expand(-1, b) if params.shape[0] == 1 else params.T
        ones = torch.ones(1, b, dtype=x.dtype, device=x.device)
        conc = torch.cat([xt, pt.index_select(0, d["const"]), ones], dim=0)
        par = torch.cat([pt, ones], dim=0)
        return conc, par, d

    def volume_ratios(self, params: torch.Tensor) -> torch.Tensor:
        """cell_volume/volume of each variable's compartment, ``(batch, n_variables)``."""
        if params.dim() == 1:
            params = params[None]
        out = torch.ones(
            params.shape[0], self.n_variables, dtype=params.dtype, device=params.device
        )
        num = torch.tensor(self._vol_num, device=params.device)
        den = torch.tensor(self._vol_den, device=params.device)
        has = num >= 0
        out[:, has] = params[:, num[has]] / params[:, den[has]]
        return out

    # ------------------------------------------------------------------ evaluation
    def rates(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Net reaction rates (uM/h), ``(batch, n_reactions)``.

        ``x``: ``(batch, n_variables)`` or ``(n_variables,)`` concentrations (uM);
        ``params``: ``(batch, n_params)`` or ``(n_params,)``; batches broadcast.
        """
        conc, par, d = self._prepare(x, params)
        v = conc.new_empty(self.n_reactions, conc.shape[1])
        for g in d["groups"]:
            v[g.rxn] = group_rates(g, conc, par)
        return v.T

    def elasticities(self, x: torch.Tensor, params: torch.Tensor) -> tuple:
        """Rates ``(batch, n_reactions)`` and dv/dx ``(batch, n_reactions, n_variables)``.

        Exact derivatives: closed forms for the separable laws, forward-mode duals
        through the Hill laws (no autograd, no finite differences).
        """
        conc, par, d = self._prepare(x, params)
        b = conc.shape[1]
        v = conc.new_empty(self.n_reactions, b)
        E = conc.new_zeros(self.n_reactions * self._n_layout, b)
        for g, flat, eye in zip(d["groups"], d["flat"], d["eye"], strict=True):
            if g.mechanism in SEPARABLE:
                vg, der = separable_elasticities(g, conc, par)  # (R, B), (R, K, B)
            else:
                out = group_rates(g, conc, par, eye=eye)
                vg = out.val
                der = out.der.expand(len(g.rxn), b, g.n_slots).permute(0, 2, 1)
            v[g.rxn] = vg
            E.index_add_(0, flat, der.reshape(-1, b))
        E = E.view(self.n_reactions, self._n_layout, b)[:, : self.n_variables]
        return v.T, E.permute(2, 0, 1)

    def _elasticities_batch_last(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        v, E = self.elasticities(x, params)
        return E.permute(1, 2, 0)  # (n_reactions, n_variables, B), a view

    def dxdt(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """ODE right-hand side (uM/h), ``(batch, n_variables)``."""
        v = self.rates(x, params)
        d = self._dev(v)
        return (v @ d["S"].T) * self.volume_ratios(params.to(v.dtype)).to(v.device)

    def jacobian(self, x: torch.Tensor, params: torch.Tensor, reduced: bool = True) -> torch.Tensor:
        """Jacobian of the ODE (h^-1).

        ``reduced=True``: with respect to the independent variables, dependent ones
        following the moieties (``J = diag(r_ind) S_ind (dv/dx) L``),
        ``(batch, n_independent, n_independent)``; ``reduced=False``: full
        ``(batch, n_variables, n_variables)``.
        """
        Et = self._elasticities_batch_last(x, params)  # (n_rxn, n_var, B)
        d = self._dev(Et)
        n_r, n_v, b = Et.shape
        r = self.volume_ratios(params.to(Et.dtype)).to(Et.device)
        S = d["S_ind"] if reduced else d["S"]
        n_i = S.shape[0]
        # two plain GEMMs (batched matmul on strided views is slow on CPU)
        SE = (S @ Et.reshape(n_r, n_v * b)).view(n_i, n_v, b)
        if reduced:
            L = d["L"]
            J = (SE.permute(0, 2, 1).reshape(n_i * b, n_v) @ L).view(n_i, b, L.shape[1])
            J = J.permute(1, 0, 2)
            rows = r[:, self.independent_idx]
        else:
            J = SE.permute(2, 0, 1)
            rows = r
        return (J * rows[:, :, None]).contiguous()

    # ------------------------------------------------------------------ conservation
    def moiety_totals(self, x: torch.Tensor) -> torch.Tensor:
        """Conserved totals ``C x`` (uM), ``(batch, n_moieties)``."""
        d = self._dev(x)
        return x @ d["C"].T

    def full_state(self, x_ind: torch.Tensor, totals: torch.Tensor) -> torch.Tensor:
        """All variables from the independent ones and the moiety totals.

        ``x = L x_ind + offset`` with ``offset[dep] = totals``; shapes
        ``(batch, n_independent)``, ``(batch, n_moieties)`` -> ``(batch, n_variables)``.
        """
        d = self._dev(x_ind)
        x = x_ind @ d["L"].T
        if self.dependent_idx:
            x[:, self.dependent_idx] += totals
        return x

    def moieties(self) -> list[dict[str, float]]:
        """Conserved moieties as ``{species: coefficient}`` dicts."""
        return [
            {self.variables[j]: float(c) for j, c in enumerate(row) if c != 0}
            for row in self.conservation
        ]

    def summary(self) -> dict[str, Any]:
        """Counts for ``kinflux kinetic info``."""
        kinds: dict[str, int] = {}
        for n in self.parameter_names:
            kinds[self.parameter_kinds[n]] = kinds.get(self.parameter_kinds[n], 0) + 1
        unknown = int(torch.isnan(self._defaults).sum())
        mech: dict[str, int] = {}
        for r in self.reactions:
            mech[r.mechanism] = mech.get(r.mechanism, 0) + 1
        return {
            "name": self.name,
            "species": len(self.species),
            "variables": self.n_variables,
            "constants": len(self.constants),
            "boundary": len(self.boundary),
            "modifier_only_small_molecules": self.modifier_only,
            "reactions": self.n_reactions,
            "mechanisms": mech,
            "parameters": self.n_params,
            "parameters_unknown": unknown,
            "parameters_by_kind": kinds,
            "unused_yaml_parameters": len(self.unused_yaml_parameters),
            "moieties": len(self.dependent_idx),
            "dependent": self.dependent,
            "independent": self.n_independent,
        }
