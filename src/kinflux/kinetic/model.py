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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinflux import KinfluxError
from kinflux.kinetic.elasticities import SEPARABLE, separable_elasticities
from kinflux.kinetic.ratelaws import (
    group_rates,
)
from kinflux.kinetic.reaction import KineticModelError, ReactionSpec

__all__ = ["KineticModel", "ReactionSpec", "KineticModelError"]


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
        """Load a SKiMpy YAML model (:func:`kinflux.kinetic.io.skimpy_yaml.read_skimpy_yaml`).

        Raises:
            KineticModelError: naming the file, the reaction or parameter, and the fix.
        """
        from kinflux.kinetic.io.skimpy_yaml import read_skimpy_yaml

        return cls(**read_skimpy_yaml(path), small_molecules=small_molecules)

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
            if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
                raise KineticModelError(
                    f"{self.source}: parameter '{n}' ({k}) is {v!r}; it must be a finite "
                    "number > 0 (or null when unknown)"
                )
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
        from kinflux.kinetic.conservation import conserved_moieties

        cons = conserved_moieties(self.S, self.variables, hint)
        self.conservation_note = cons.note
        self.dependent_idx, self.independent_idx = cons.dependent_idx, cons.independent_idx
        self.conservation_exact = cons.exact  # rationals, C @ S == 0 exactly
        self.conservation = cons.matrix  # (n_moieties, n_variables), C[:, dep] = I
        self.link = cons.link  # (n_variables, n_independent)

    def _build_groups(self) -> None:
        from kinflux.kinetic.packing import pack_groups

        self._n_layout = len(self.variables) + len(self.constants) + 1
        self.groups = pack_groups(
            self.reactions, self.variables, self.constants, self.parameter_names
        )
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

    def parameters_from_dict(
        self, values: dict[str, float], base: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Parameter vector ``(n_params,)`` from a name -> value mapping (others: ``base``).

        Raises:
            KinfluxError: a name that is not a parameter of the model.
        """
        unknown = [k for k in values if k not in self._pidx]
        if unknown:
            raise KinfluxError(
                f"model '{self.name}' has no parameter(s) {unknown[:5]}; check the names"
            )
        p = self.default_parameters() if base is None else base.clone()
        for k, v in values.items():
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
        from kinflux.kinetic.jacobian import sparse_jacobian

        fast = sparse_jacobian(self, x, params, reduced)
        if fast is not None:
            return fast
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
