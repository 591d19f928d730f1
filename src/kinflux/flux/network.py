"""Irreversible (split) metabolic networks as plain arrays and torch tensors.

A :class:`Network` is built from a COBRApy model, an SBML/JSON/MAT file or a bundled
model name (``e_coli_core``/``textbook``, ``iJO1366``; both ship inside COBRApy). It
holds the *split* form used by Artificial Metabolic Networks (Faure et al. 2023):

- each reversible internal reaction ``R`` becomes ``R_for`` and ``R_rev``; a reaction
  that can only run backwards becomes ``R_rev`` alone; irreversible ones keep their id;
- each exchange ``EX_x`` becomes an inflow ``EX_x_i`` (uptake, ``-> x``) and an outflow
  ``EX_x_o`` (secretion, ``x ->``);
- every flux of the split network is >= 0 (mmol/gDW/h).

``Network.to_original`` maps split fluxes back to net fluxes of the original model.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kinflux import KinfluxError

if TYPE_CHECKING:  # pragma: no cover
    import cobra
    import torch

__all__ = ["Network", "SplitReaction", "NetworkError", "load_cobra_model", "BUNDLED_MODELS"]

#: Bundled model names -> COBRApy ``load_model`` names (no download needed).
BUNDLED_MODELS = {"e_coli_core": "textbook", "textbook": "textbook", "iJO1366": "iJO1366"}

#: Bound used for "open" reactions (mmol/gDW/h), as in BiGG/COBRApy models.
DEFAULT_BOUND = 1000.0


class NetworkError(KinfluxError):
    """A metabolic model could not be read or split."""


@dataclass(frozen=True)
class SplitReaction:
    """One irreversible reaction of the split network.

    Attributes:
        id: id in the split network (``R``, ``R_for``, ``R_rev``, ``EX_x_i``, ``EX_x_o``).
        original_id: id of the reaction it comes from.
        direction: +1 if it carries the original reaction forward, -1 if backward.
        kind: ``"internal"``, ``"inflow"`` or ``"outflow"``.
        lower_bound, upper_bound: bounds in mmol/gDW/h, both >= 0.
    """

    id: str
    original_id: str
    direction: int
    kind: str
    lower_bound: float
    upper_bound: float


def load_cobra_model(source: str | os.PathLike | cobra.Model) -> cobra.Model:
    """Return a COBRApy model from a model, a bundled name, or a file path.

    Files: ``.xml``/``.sbml`` (SBML, optionally ``.gz``), ``.json``, ``.mat``, ``.yml``.
    Raises :class:`NetworkError` naming the file when it cannot be read.
    """
    import cobra

    if isinstance(source, cobra.Model):
        return source
    name = str(source)
    if name in BUNDLED_MODELS and not Path(name).exists():
        from cobra.io import load_model

        return load_model(BUNDLED_MODELS[name])
    path = Path(name)
    if not path.exists():
        raise NetworkError(
            f"model '{name}' is neither a file nor a bundled model; "
            f"bundled: {', '.join(sorted(BUNDLED_MODELS))}"
        )
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".xml", ".sbml", ".xml.gz", ".sbml.gz")):
            model = cobra.io.read_sbml_model(str(path))
        elif suffixes.endswith(".json"):
            model = cobra.io.load_json_model(str(path))
        elif suffixes.endswith(".mat"):
            model = cobra.io.load_matlab_model(str(path))
        elif suffixes.endswith((".yml", ".yaml")):
            model = cobra.io.load_yaml_model(str(path))
        else:
            raise NetworkError(
                f"{path}: unknown model format '{path.suffix}'; use SBML (.xml), JSON, MAT or YAML"
            )
    except NetworkError:
        raise
    except Exception as exc:  # cobra raises many kinds of errors on bad files
        raise NetworkError(
            f"{path}: could not be read as a metabolic model ({type(exc).__name__}: {exc}). "
            "Check that it is valid SBML/JSON (e.g. with libsbml's validator)."
        ) from exc
    if len(model.reactions) == 0:
        raise NetworkError(f"{path}: the model has no reactions; is this the right file?")
    return model


class Network:
    """Split (irreversible) form of a metabolic model.

    Shapes: ``S`` is ``(n_metabolites, n_reactions)`` of the split network; flux
    vectors are ``(batch, n_reactions)`` in mmol/gDW/h, all >= 0.

    Example:
        >>> net = Network.load("e_coli_core")
        >>> net.S.shape
        (72, 154)
        >>> net.reaction_ids[net.objective_index]
        'Biomass_Ecoli_core'
    """

    def __init__(self, model: cobra.Model, name: str | None = None) -> None:
        self.model = model
        self.name = name or model.id or "model"
        _check_model(model, self.name)
        self.metabolite_ids: list[str] = [m.id for m in model.metabolites]
        self.original_reaction_ids: list[str] = [r.id for r in model.reactions]
        exchanges = {r.id for r in model.exchanges}
        self.exchange_ids: list[str] = [r.id for r in model.reactions if r.id in exchanges]
        met_index = {m: i for i, m in enumerate(self.metabolite_ids)}
        S_orig = np.zeros((len(self.metabolite_ids), len(model.reactions)))
        for j, r in enumerate(model.reactions):
            for m, coef in r.metabolites.items():
                S_orig[met_index[m.id], j] = coef
        self.S_original = S_orig

        reactions: list[SplitReaction] = []
        cols: list[np.ndarray] = []
        for j, r in enumerate(model.reactions):
            lb, ub = float(r.lower_bound), float(r.upper_bound)
            col = S_orig[:, j]
            if r.id in exchanges:
                # cobra convention: EX_x: x <=>, forward = secretion, lb < 0 = uptake.
                reactions.append(
                    SplitReaction(r.id + "_i", r.id, -1, "inflow", max(0.0, -ub), max(0.0, -lb))
                )
                cols.append(-col)
                reactions.append(
                    SplitReaction(r.id + "_o", r.id, +1, "outflow", max(0.0, lb), max(0.0, ub))
                )
                cols.append(col)
            elif lb < 0 < ub:
                reactions.append(SplitReaction(r.id + "_for", r.id, +1, "internal", 0.0, ub))
                cols.append(col)
                reactions.append(SplitReaction(r.id + "_rev", r.id, -1, "internal", 0.0, -lb))
                cols.append(-col)
            elif ub <= 0 and lb < 0:
                reactions.append(
                    SplitReaction(r.id + "_rev", r.id, -1, "internal", max(0.0, -ub), -lb)
                )
                cols.append(-col)
            else:
                reactions.append(SplitReaction(r.id, r.id, +1, "internal", max(0.0, lb), ub))
                cols.append(col)
        self.reactions: list[SplitReaction] = reactions
        self.reaction_ids: list[str] = [sr.id for sr in reactions]
        self.S: np.ndarray = np.stack(cols, axis=1) if cols else np.zeros((len(met_index), 0))
        self.lower_bounds = np.array([sr.lower_bound for sr in reactions])
        self.upper_bounds = np.array([sr.upper_bound for sr in reactions])
        self._index = {rid: k for k, rid in enumerate(self.reaction_ids)}

        # Objective of the original model mapped onto the split reactions.
        coefs = {rxn.id: float(c) for rxn, c in _objective_coefficients(model).items()}
        self.objective = np.array(
            [sr.direction * coefs.get(sr.original_id, 0.0) for sr in reactions]
        )
        pos = np.flatnonzero(self.objective > 0)
        if pos.size == 0:
            raise NetworkError(f"model '{self.name}' has no objective (e.g. a biomass reaction)")
        self.objective_index = int(pos[0])
        self.inflow_ids = [sr.id for sr in reactions if sr.kind == "inflow"]
        self.outflow_ids = [sr.id for sr in reactions if sr.kind == "outflow"]

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, source: str | os.PathLike | cobra.Model, name: str | None = None) -> Network:
        """Build from a cobra.Model, a bundled name (``e_coli_core``, ``iJO1366``) or a file."""
        model = load_cobra_model(source)
        if name is None and isinstance(source, str | os.PathLike) and str(source) in BUNDLED_MODELS:
            name = str(source)
        return cls(model, name=name)

    def inflow_upper_bounds(self, open_inflows: dict[str, float] | None = None) -> np.ndarray:
        """Upper bounds ``(n_reactions,)`` (mmol/gDW/h) with only ``open_inflows`` open.

        ``None`` keeps the model's own bounds; a dict (possibly empty) closes every inflow
        and opens those listed, ``{id: bound}``. The convention of the FBA solver, the
        layers' constraints and the blocked-reaction search.
        """
        upper = self.upper_bounds.astype(np.float64).copy()
        if open_inflows is not None:
            upper[self.indices(self.inflow_ids)] = 0.0
            for rid, val in open_inflows.items():
                upper[self.index(rid)] = float(val)
        return upper

    def subnetwork(self, reaction_ids: list[str], name: str | None = None) -> Network:
        """The network restricted to some split reactions (e.g. without blocked ones).

        Keeps the given columns, in this network's order, and the metabolites they
        touch. ``model`` still refers to the full COBRApy model, so export the full
        network, not a subnetwork. Raises :class:`NetworkError` on unknown ids or when
        the objective reaction is dropped.
        """
        cols = np.sort(self.indices(list(reaction_ids)))
        if self.objective_index not in cols:
            raise NetworkError(
                f"subnetwork of '{self.name}' must keep the objective "
                f"'{self.reaction_ids[self.objective_index]}'"
            )
        S = self.S[:, cols]
        rows = np.flatnonzero(np.any(S != 0, axis=1))
        sub = object.__new__(Network)
        sub.model = self.model
        sub.name = name or f"{self.name}[{len(cols)} reactions]"
        sub.metabolite_ids = [self.metabolite_ids[i] for i in rows]
        sub.reactions = [self.reactions[j] for j in cols]
        kept = {sr.original_id for sr in sub.reactions}
        orig = [k for k, r in enumerate(self.original_reaction_ids) if r in kept]
        sub.original_reaction_ids = [self.original_reaction_ids[k] for k in orig]
        sub.exchange_ids = [r for r in self.exchange_ids if r in kept]
        sub.S_original = self.S_original[np.ix_(rows, orig)]
        sub.reaction_ids = [sr.id for sr in sub.reactions]
        sub.S = S[rows]
        sub.lower_bounds = self.lower_bounds[cols]
        sub.upper_bounds = self.upper_bounds[cols]
        sub._index = {rid: k for k, rid in enumerate(sub.reaction_ids)}
        sub.objective = self.objective[cols]
        sub.objective_index = int(np.flatnonzero(cols == self.objective_index)[0])
        sub.inflow_ids = [sr.id for sr in sub.reactions if sr.kind == "inflow"]
        sub.outflow_ids = [sr.id for sr in sub.reactions if sr.kind == "outflow"]
        return sub

    # ------------------------------------------------------------------ lookups
    @property
    def n_reactions(self) -> int:
        """Number of split (irreversible) reactions."""
        return len(self.reaction_ids)

    @property
    def n_metabolites(self) -> int:
        """Number of metabolites (rows of ``S``)."""
        return len(self.metabolite_ids)

    def index(self, reaction_id: str) -> int:
        """Column of a split reaction id; raises a clear error on unknown ids."""
        try:
            return self._index[reaction_id]
        except KeyError:
            raise NetworkError(
                _unknown_id_message(reaction_id, self.reaction_ids, self.name)
            ) from None

    def indices(self, reaction_ids: list[str]) -> np.ndarray:
        """Columns of several split reaction ids, shape ``(len(reaction_ids),)``."""
        return np.array([self.index(r) for r in reaction_ids], dtype=np.int64)

    # ------------------------------------------------------------------ matrices
    @cached_property
    def V2M(self) -> np.ndarray:
        """Production matrix ``(n_metabolites, n_reactions)``: positive part of ``S``."""
        return np.where(self.S > 0, self.S, 0.0)

    @cached_property
    def M2V(self) -> np.ndarray:
        """Substrate matrix ``(n_reactions, n_metabolites)`` as in AMN Fig. 1C.

        ``M2V[j, i] = 1 / |S[i, j]|`` when metabolite ``i`` is consumed by reaction ``j``.
        """
        out = np.zeros_like(self.S)
        neg = self.S < 0
        out[neg] = -1.0 / self.S[neg]
        return out.T.copy()

    @cached_property
    def to_original(self) -> np.ndarray:
        """Map ``(n_original, n_reactions)``: net flux = ``to_original @ v`` (signs +-1)."""
        idx = {rid: k for k, rid in enumerate(self.original_reaction_ids)}
        M = np.zeros((len(self.original_reaction_ids), self.n_reactions))
        for j, sr in enumerate(self.reactions):
            M[idx[sr.original_id], j] = sr.direction
        return M

    def tensors(
        self, dtype: torch.dtype | None = None, device: str | torch.device | None = None
    ) -> dict[str, torch.Tensor]:
        """Dense torch tensors ``S``, ``V2M``, ``M2V``, ``objective``, ``lower``, ``upper``."""
        import torch

        dtype = dtype or torch.get_default_dtype()
        arrays = {
            "S": self.S,
            "V2M": self.V2M,
            "M2V": self.M2V,
            "objective": self.objective,
            "lower": self.lower_bounds,
            "upper": self.upper_bounds,
        }
        return {k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in arrays.items()}

    @cached_property
    def hash(self) -> str:
        """SHA-256 over ids, stoichiometry, bounds and objective: identifies the network."""
        h = hashlib.sha256()
        h.update("\n".join(self.reaction_ids).encode())
        h.update("\n".join(self.metabolite_ids).encode())
        for arr in (self.S, self.lower_bounds, self.upper_bounds, self.objective):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        return h.hexdigest()

    # ------------------------------------------------------------------ export
    def to_cobra(self) -> cobra.Model:
        """The split network as a new COBRApy model (all reactions irreversible)."""
        import cobra

        out = cobra.Model(f"{self.model.id}_split")
        mets = {m.id: m.copy() for m in self.model.metabolites}
        out.add_metabolites(list(mets.values()))
        new = []
        for j, sr in enumerate(self.reactions):
            r = cobra.Reaction(sr.id, lower_bound=sr.lower_bound, upper_bound=sr.upper_bound)
            rows = np.flatnonzero(self.S[:, j])
            r.add_metabolites(
                {out.metabolites.get_by_id(self.metabolite_ids[i]): self.S[i, j] for i in rows}
            )
            orig = self.model.reactions.get_by_id(sr.original_id)
            r.gene_reaction_rule = orig.gene_reaction_rule
            r.name = orig.name
            new.append(r)
        out.add_reactions(new)
        out.objective = {out.reactions[self.objective_index]: 1.0}
        return out

    def write_sbml(self, path: str | os.PathLike) -> None:
        """Write the split network as SBML (atomically)."""
        import cobra

        from kinflux.io import atomic_write

        with atomic_write(path, "w") as fh:
            cobra.io.write_sbml_model(self.to_cobra(), fh.name)

    def __repr__(self) -> str:
        return (
            f"Network('{self.name}', {self.n_metabolites} metabolites, "
            f"{self.n_reactions} split reactions from {len(self.original_reaction_ids)}, "
            f"{len(self.inflow_ids)} inflows)"
        )


def _check_model(model: cobra.Model, name: str) -> None:
    """Refuse what the split form cannot represent faithfully (named, with the fix)."""
    import math

    if len(model.reactions) == 0:
        raise NetworkError(f"model '{name}' has no reactions; is this the right file?")
    if getattr(model, "objective_direction", "max") == "min":
        raise NetworkError(
            f"model '{name}' minimises its objective, but kinflux maximises growth; set "
            "the objective direction to 'max' (model.objective_direction = 'max') or use "
            "a model whose objective is a growth (biomass) reaction"
        )
    for r in model.reactions:
        lb, ub = float(r.lower_bound), float(r.upper_bound)
        if math.isnan(lb) or math.isnan(ub):
            raise NetworkError(f"model '{name}': reaction '{r.id}' has a NaN bound; fix it")
        if lb > ub:
            raise NetworkError(
                f"model '{name}': reaction '{r.id}' has lower bound {lb} > upper bound {ub}"
            )
        for m, coef in r.metabolites.items():
            if not math.isfinite(float(coef)):
                raise NetworkError(
                    f"model '{name}': reaction '{r.id}' has a non-finite coefficient "
                    f"({coef}) for metabolite '{m.id}'; fix the stoichiometry"
                )


def _objective_coefficients(model: cobra.Model) -> dict:
    from cobra.util.solver import linear_reaction_coefficients

    return linear_reaction_coefficients(model)


def _unknown_id_message(rid: str, known: list[str], model_name: str) -> str:
    import difflib

    close = difflib.get_close_matches(rid, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"reaction '{rid}' is not in model '{model_name}'{hint}"
