"""Medium guides: which exchanges a training medium opens, and how far.

A guide is a CSV in the format of the AMN papers (``kinflux/data/amn/*_medium.csv``):
one column per inflow id (``EX_<met>_e_i``), rows ``level`` (number of levels),
``max_value`` (upper bound, mmol/gDW/h) and ``ratio_drawing`` (first column: the
probability p that a variable exchange is present in a drawn medium).

Exchanges with ``level == 1`` are *fixed*: always present at ``max_value``. The others
are *variable*: each is activated with probability ``p``; an active one gets a level
``k`` drawn uniformly from ``1..level`` and the value ``max_value * k / level``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kinflux import KinfluxError
from kinflux.flux.network import Network

__all__ = ["MediumGuide", "MediumError"]


class MediumError(KinfluxError):
    """A medium guide is malformed or does not fit the network."""


@dataclass
class MediumGuide:
    """Medium guide: inflow ids with their levels, maximum values and drawing ratio.

    Attributes:
        inflow_ids: split inflow ids (``EX_x_i``), the columns of medium vectors.
        levels: number of levels per inflow, shape ``(n_medium,)``; 1 = fixed.
        max_values: upper bound per inflow (mmol/gDW/h), shape ``(n_medium,)``.
        ratio: probability that a variable inflow is present in a drawn medium.
        source: where the guide was read from (for metadata and messages).
    """

    inflow_ids: list[str]
    levels: np.ndarray
    max_values: np.ndarray
    ratio: float
    source: str = "<memory>"

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> MediumGuide:
        """Read a guide CSV; raises :class:`MediumError` naming the file on bad content."""
        p = Path(path)
        if not p.exists():
            raise MediumError(f"medium guide {p} not found")
        try:
            df = pd.read_csv(p, index_col=0)
        except Exception as exc:
            raise MediumError(f"{p}: not a readable CSV ({exc})") from exc
        missing = [row for row in ("level", "max_value", "ratio_drawing") if row not in df.index]
        if missing:
            raise MediumError(
                f"{p}: missing row(s) {', '.join(missing)}; a guide has rows "
                "'level', 'max_value', 'ratio_drawing' and one column per inflow id"
            )
        cols = [str(c) for c in df.columns]
        try:
            levels = df.loc["level"].astype(float).to_numpy()
            max_values = df.loc["max_value"].astype(float).to_numpy()
        except ValueError as exc:
            raise MediumError(f"{p}: 'level' and 'max_value' must be numbers ({exc})") from exc
        bad = [c for c, lv in zip(cols, levels, strict=True) if not (lv >= 1 and lv == int(lv))]
        if bad:
            raise MediumError(f"{p}: level must be an integer >= 1 for {', '.join(bad)}")
        neg = [c for c, mv in zip(cols, max_values, strict=True) if not mv >= 0]
        if neg:
            raise MediumError(f"{p}: max_value must be >= 0 for {', '.join(neg)}")
        ratio = float(pd.to_numeric(df.loc["ratio_drawing"], errors="coerce").dropna().iloc[0])
        if not 0.0 <= ratio <= 1.0:
            raise MediumError(f"{p}: ratio_drawing must be in [0, 1], got {ratio}")
        return cls(cols, levels.astype(int), max_values, ratio, source=str(p))

    # ------------------------------------------------------------------
    @property
    def n_medium(self) -> int:
        """Number of medium inflows (columns of medium vectors)."""
        return len(self.inflow_ids)

    @property
    def variable(self) -> np.ndarray:
        """Boolean mask of variable inflows, shape ``(n_medium,)``."""
        return self.levels > 1

    def check(self, network: Network) -> None:
        """Raise :class:`MediumError` if an inflow id of the guide is not in ``network``."""
        known = set(network.inflow_ids)
        for rid in self.inflow_ids:
            if rid not in known:
                import difflib

                close = difflib.get_close_matches(rid, network.inflow_ids, n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise MediumError(
                    f"{self.source}: exchange '{rid}' is not an inflow of model "
                    f"'{network.name}'.{hint} Remove the column or use a guide made for this model."
                )

    def draw(
        self,
        n: int,
        rng: np.random.Generator,
        base_media: np.ndarray | None = None,
    ) -> np.ndarray:
        """Draw ``n`` media, shape ``(n, n_medium)``, in mmol/gDW/h.

        Without ``base_media``: fixed inflows at ``max_value``; each variable inflow is
        present with probability ``ratio`` and then at a uniformly drawn level.
        With ``base_media`` (0/1 array ``(n_base, n_medium)``, e.g. the 110 experimental
        media): each medium picks a base row at random; the inflows present there are
        set, variable ones at a uniformly drawn level.
        """
        lv = self.levels
        k = rng.integers(1, lv + 1, size=(n, self.n_medium))
        values = self.max_values * k / lv
        if base_media is None:
            present = rng.random((n, self.n_medium)) < self.ratio
            present |= ~self.variable
        else:
            base = np.asarray(base_media, dtype=float)
            if base.ndim != 2 or base.shape[1] != self.n_medium:
                raise MediumError(
                    f"base media must have shape (n, {self.n_medium}), got {base.shape}"
                )
            rows = rng.integers(0, base.shape[0], size=n)
            present = base[rows] > 0
        return np.where(present, values, 0.0)

    def base_media_from_csv(self, path: str | os.PathLike) -> np.ndarray:
        """Experimental media (e.g. ``iML1515_EXP.csv``) as 0/1 rows over this guide's ids."""
        df = pd.read_csv(path)
        missing = [c for c in self.inflow_ids if c not in df.columns]
        if missing:
            raise MediumError(f"{path}: lacks guide column(s) {', '.join(missing[:5])}")
        return (df[self.inflow_ids].to_numpy(dtype=float) > 0).astype(float)
