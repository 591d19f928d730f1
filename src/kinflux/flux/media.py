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

__all__ = ["MediumGuide", "MediumError", "GuideWarning"]


class MediumError(KinfluxError):
    """A medium guide is malformed or does not fit the network."""


class GuideWarning(UserWarning):
    """A guide overrides the model's own exchange bounds."""


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
            raise MediumError(
                f"{p}: not a readable CSV ({exc}); a guide has rows 'level', 'max_value', "
                "'ratio_drawing' and one column per inflow id"
            ) from None
        if df.shape[1] == 0:
            raise MediumError(f"{p}: no inflow columns; add one column per inflow id")
        dup = sorted({str(c).split(".")[0] for c in df.columns if "." in str(c)})
        dup = [c for c in dup if c in {str(x) for x in df.columns}]
        if dup:
            raise MediumError(f"{p}: column(s) {', '.join(dup)} appear twice; keep one")
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
        except (ValueError, TypeError) as exc:
            raise MediumError(f"{p}: 'level' and 'max_value' must be numbers ({exc})") from None
        bad = [c for c, lv in zip(cols, levels, strict=True) if not (lv >= 1 and lv == int(lv))]
        if bad:
            raise MediumError(f"{p}: level must be an integer >= 1 for {', '.join(bad)}")
        neg = [
            c for c, mv in zip(cols, max_values, strict=True) if not (mv >= 0 and np.isfinite(mv))
        ]
        if neg:
            raise MediumError(
                f"{p}: max_value must be a finite number >= 0 (mmol/gDW/h) for {', '.join(neg)}"
            )
        ratios = pd.to_numeric(df.loc["ratio_drawing"], errors="coerce").dropna()
        if ratios.empty:
            raise MediumError(
                f"{p}: row 'ratio_drawing' has no number; put the drawing probability "
                "(in [0, 1]) in its first column"
            )
        ratio = float(ratios.iloc[0])
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

    def bound_changes(self, network: Network) -> list[str]:
        """Where drawn media override the model's own inflow bounds (for a warning).

        Returns one text per inflow whose guide ``max_value`` exceeds the model's upper
        bound (mmol/gDW/h); inflows outside the guide are closed or kept open as the
        training set's ``open_inflows`` say.
        """
        out = []
        for rid, mv in zip(self.inflow_ids, self.max_values, strict=True):
            ub = float(network.upper_bounds[network.index(rid)])
            if mv > ub + 1e-12:
                out.append(f"{rid} (model {ub:g}, guide {mv:g})")
        return out

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
        p = Path(path)
        if not p.is_file():
            raise MediumError(f"experimental media file {p} not found")
        try:
            df = pd.read_csv(p)
        except Exception as exc:
            raise MediumError(f"{p}: not a readable CSV ({exc})") from None
        missing = [c for c in self.inflow_ids if c not in df.columns]
        if missing:
            raise MediumError(
                f"{p}: lacks guide column(s) {', '.join(missing[:5])}; it needs one 0/1 "
                "column per inflow id of the guide"
            )
        if df.empty:
            raise MediumError(f"{p}: no media (the table has no rows)")
        try:
            values = df[self.inflow_ids].to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise MediumError(f"{p}: non-numeric presence values ({exc}); use 0 or 1") from None
        if not np.isfinite(values).all():
            r, c = np.argwhere(~np.isfinite(values))[0]
            raise MediumError(
                f"{p}: missing or non-finite value at row {int(r)}, column "
                f"{self.inflow_ids[c]}; use 0 or 1"
            )
        return (values > 0).astype(float)
