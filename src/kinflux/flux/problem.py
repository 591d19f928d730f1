"""Flux problems: a network bound to its media conditions.

A :class:`FluxProblem` is what every solver, constraint set, mechanistic layer and
:class:`~kinflux.flux.amn.AMN` is built from: the split network, the inflows a medium
vector sets (``medium_ids``, the columns of ``X``), the inflows kept open outside the
medium (``open_inflows``), and whether media are upper bounds (``"UB"``) or exact
uptakes (``"EB"``).

``open_inflows`` has two distinct empty-ish values:

- ``None``: inflows outside the medium keep the network's own bounds;
- ``{}``: every inflow outside the medium is closed.

A problem is immutable and hashable (equal problems hash equal), pickles cheaply for
worker processes, and owns its *unblocked* reaction set (reactions that can carry net
flux in some medium over ``medium_ids``), computed once on first use and saved with it
(:meth:`FluxProblem.to_dict`), so a saved genome-scale AMN does not search it again.

Example:
    >>> from kinflux.flux.network import Network
    >>> net = Network.load("e_coli_core")
    >>> p = FluxProblem(net, ["EX_glc__D_e_i", "EX_o2_e_i"], open_inflows={}, mode="UB")
    >>> p.n_medium, p.mode, p.open_inflows
    (2, 'UB', {})
    >>> p == FluxProblem(net, ["EX_glc__D_e_i", "EX_o2_e_i"], {}) and hash(p) == hash(p)
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from kinflux import KinfluxError
from kinflux.flux.network import Network

if TYPE_CHECKING:  # pragma: no cover
    from kinflux.flux.training_set import TrainingSet

__all__ = ["FluxProblem", "ProblemError", "MODES", "check_mode"]

#: ``UB``: media are upper bounds of the uptakes; ``EB``: media are the exact uptakes.
MODES = ("UB", "EB")


class ProblemError(KinfluxError):
    """A flux problem is inconsistent with its network (ids, bounds, mode)."""


def check_mode(mode: str) -> str:
    """Upper-case ``mode`` and check that it is ``UB`` or ``EB``."""
    m = str(getattr(mode, "value", mode)).upper()
    if m not in MODES:
        raise ProblemError(f"mode must be 'UB' or 'EB', got '{mode}'")
    return m


class FluxProblem:
    """A split network with its medium inflows, open inflows and mode (immutable).

    Args:
        network: the split network.
        medium_ids: inflow ids set by a medium vector, in column order (default none).
        open_inflows: ``{inflow id: upper bound}`` (mmol/gDW/h) kept open in every
            medium, all other inflows outside the medium closed; ``None`` keeps the
            network's own bounds for inflows outside the medium.
        mode: ``"UB"`` (media are upper bounds) or ``"EB"`` (exact uptakes).
        unblocked_ids: the unblocked split reactions when already known (e.g. read
            from a model file); computed on first use otherwise.

    Raises:
        ProblemError: on duplicate or unknown ids, non-finite or negative bounds, or
            an unknown mode.
    """

    __slots__ = ("_network", "_medium_ids", "_open", "_mode", "_unblocked")

    def __init__(
        self,
        network: Network,
        medium_ids: Iterable[str] = (),
        open_inflows: Mapping[str, float] | None = None,
        mode: str = "UB",
        unblocked_ids: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(network, Network):
            raise ProblemError(
                f"a FluxProblem needs a kinflux Network, got {type(network).__name__}; "
                "build one with Network.load(...)"
            )
        ids = tuple(str(r) for r in medium_ids)
        inflows = set(network.inflow_ids)
        dup = sorted({r for r in ids if ids.count(r) > 1})
        if dup:
            raise ProblemError(f"medium ids repeat {', '.join(dup[:3])}; give each inflow once")
        bad = [r for r in ids if r not in inflows]
        if bad:
            raise ProblemError(
                f"medium ids {', '.join(bad[:3])} are not inflows of model '{network.name}'; "
                "inflow ids end in '_i' (e.g. EX_glc__D_e_i)"
            )
        opened: tuple[tuple[str, float], ...] | None = None
        if open_inflows is not None:
            items = []
            for rid, val in sorted(dict(open_inflows).items()):
                if rid not in inflows:
                    raise ProblemError(
                        f"open inflow '{rid}' is not an inflow of model '{network.name}'"
                    )
                v = float(val)
                if not (math.isfinite(v) and v >= 0):
                    raise ProblemError(
                        f"open inflow '{rid}' has bound {val}; use a finite value >= 0 (mmol/gDW/h)"
                    )
                items.append((str(rid), v))
            opened = tuple(items)
        set_ = object.__setattr__
        set_(self, "_network", network)
        set_(self, "_medium_ids", ids)
        set_(self, "_open", opened)
        set_(self, "_mode", check_mode(mode))
        set_(self, "_unblocked", None if unblocked_ids is None else tuple(unblocked_ids))
        if self._unblocked is not None:
            unknown = [r for r in self._unblocked if r not in network._index]
            if unknown:
                raise ProblemError(
                    f"unblocked ids {', '.join(unknown[:3])} are not in model '{network.name}'"
                )

    # ------------------------------------------------------------------ fields
    @property
    def network(self) -> Network:
        """The split network."""
        return self._network

    @property
    def medium_ids(self) -> tuple[str, ...]:
        """Inflow ids of the medium columns."""
        return self._medium_ids

    @property
    def open_inflows(self) -> dict[str, float] | None:
        """Inflows open outside the medium, ``{id: bound}`` (a copy), or None."""
        return None if self._open is None else dict(self._open)

    @property
    def mode(self) -> str:
        """``"UB"`` or ``"EB"``."""
        return self._mode

    @property
    def n_medium(self) -> int:
        """Number of medium columns."""
        return len(self._medium_ids)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FluxProblem is immutable; use replace(...) for a changed copy")

    # ------------------------------------------------------------------ identity
    def _key(self) -> tuple:
        return (self._network.hash, self._medium_ids, self._open, self._mode)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FluxProblem) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self):  # pickles with its cached unblocked set
        return (
            FluxProblem,
            (self._network, self._medium_ids, self.open_inflows, self._mode, self._unblocked),
        )

    def __copy__(self) -> FluxProblem:
        return self

    def __deepcopy__(self, memo: dict) -> FluxProblem:  # immutable: share it
        return self

    def __repr__(self) -> str:
        opened = "network bounds" if self._open is None else f"{len(self._open)} open"
        return (
            f"FluxProblem('{self._network.name}', {self.n_medium} medium inflows, "
            f"{opened}, mode={self._mode})"
        )

    def replace(self, **changes: Any) -> FluxProblem:
        """A copy with some of ``medium_ids``, ``open_inflows``, ``mode`` changed."""
        args = {
            "medium_ids": self._medium_ids,
            "open_inflows": self.open_inflows,
            "mode": self._mode,
        }
        unknown = set(changes) - set(args)
        if unknown:
            raise ProblemError(f"cannot replace {', '.join(sorted(unknown))} of a FluxProblem")
        args.update(changes)
        same = all(args[k] == getattr(self, k) for k in ("medium_ids", "open_inflows"))
        keep = self._unblocked if same else None
        return FluxProblem(self._network, unblocked_ids=keep, **args)

    # ------------------------------------------------------------------ derived
    def inflow_upper_bounds(self) -> np.ndarray:
        """Upper bounds ``(n_reactions,)`` (mmol/gDW/h) outside the medium.

        Medium columns keep the network's bound (they are set per medium).
        """
        return self._network.inflow_upper_bounds(self.open_inflows)

    @property
    def unblocked_ids(self) -> tuple[str, ...]:
        """Split reactions that can carry net flux in some medium (network order).

        Medium inflows, open inflows and the objective are always kept. Computed once
        (:func:`kinflux.flux.blocked.find_blocked_reactions`, ~15 s on iJO1366) and
        cached in the problem and in saved models.
        """
        if self._unblocked is None:
            from kinflux.flux.blocked import find_blocked_reactions

            net = self._network
            blocked = set(find_blocked_reactions(self))
            blocked -= set(self._medium_ids) | {r for r, _ in self._open or ()}
            blocked.discard(net.reaction_ids[net.objective_index])
            object.__setattr__(
                self, "_unblocked", tuple(r for r in net.reaction_ids if r not in blocked)
            )
        return self._unblocked  # type: ignore[return-value]

    def pruned(self) -> FluxProblem:
        """The same problem on the subnetwork of unblocked reactions (or self)."""
        keep = self.unblocked_ids
        if len(keep) == self._network.n_reactions:
            return self
        sub = self._network.subnetwork(list(keep), name=f"{self._network.name} (unblocked)")
        return FluxProblem(sub, self._medium_ids, self.open_inflows, self._mode, keep)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (network by name and hash), with the unblocked set."""
        return {
            "network_name": self._network.name,
            "network_hash": self._network.hash,
            "medium_ids": list(self._medium_ids),
            "open_inflows": self.open_inflows,
            "mode": self._mode,
            "unblocked_ids": None if self._unblocked is None else list(self._unblocked),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], network: Network | None = None, source: str = "model file"
    ) -> FluxProblem:
        """Rebuild from :meth:`to_dict`; loads the network by name unless given.

        Raises :class:`ProblemError` when the network's hash differs from the stored one.
        """
        try:
            name, want = data["network_name"], data["network_hash"]
            medium, opened, mode = data["medium_ids"], data["open_inflows"], data["mode"]
        except (KeyError, TypeError) as exc:
            raise ProblemError(f"{source}: no flux problem stored ({exc} missing)") from exc
        net = network if network is not None else Network.load(name)
        if net.hash != want:
            raise ProblemError(
                f"{source} was made for network '{name}' (hash {want[:12]}), not for "
                f"'{net.name}' (hash {net.hash[:12]}); load it with the model it was made for"
            )
        return cls(net, medium, opened, mode, data.get("unblocked_ids"))

    @classmethod
    def from_training_set(cls, ts: TrainingSet, network: Network | None = None) -> FluxProblem:
        """The problem a training set was built for (medium ids, open inflows, mode).

        ``network`` defaults to the model named in the set's metadata; its hash must
        match the one recorded there.
        """
        meta = ts.metadata
        net = network or Network.load(meta.get("model", "e_coli_core"))
        want = meta.get("network_hash")
        if want and want != net.hash:
            raise ProblemError(
                f"the training set was built on a network with hash {want[:12]}, but model "
                f"'{net.name}' has hash {net.hash[:12]}; pass the original model (--model)"
            )
        return cls(net, ts.medium_ids, meta.get("open_inflows"), meta.get("mode", "UB"))
