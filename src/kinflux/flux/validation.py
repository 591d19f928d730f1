"""Checks where flux data enters kinflux: media, fluxes, media tables, model files.

Every function raises a :class:`~kinflux.KinfluxError` subclass whose message names
the file (or argument), the offending column, id or row, and the fix; nothing
non-finite passes.

Example:
    >>> import pandas as pd
    >>> media_array(pd.DataFrame({"b": [2.0], "a": [1.0]}), ["a", "b"]).tolist()
    [[1.0, 2.0]]
    >>> media_array(pd.DataFrame({"a": [1.0]}), ["a", "b"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kinflux.flux.validation.DataError: X: missing medium column(s) b; give one column ...
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kinflux import KinfluxError

__all__ = [
    "DataError",
    "media_array",
    "flux_array",
    "check_finite",
    "read_media_table",
    "read_model_file",
]


class DataError(KinfluxError):
    """Input data (media, fluxes, tables, model files) is malformed."""


def check_finite(a: np.ndarray, what: str, columns: Sequence[str] | None = None) -> None:
    """Raise :class:`DataError` naming the first non-finite entry of ``a`` (2-D or 1-D)."""
    bad = ~np.isfinite(a)
    if bad.any():
        idx = np.argwhere(bad)[0]
        row = int(idx[0])
        col = "" if a.ndim < 2 else f", column {columns[idx[1]] if columns else int(idx[1])}"
        raise DataError(
            f"{what}: {int(bad.sum())} non-finite value(s) (NaN or inf), first at row {row}"
            f"{col} ({a[tuple(idx)]}); remove or fix those rows"
        )


def _as_matrix(data: Any, ids: Sequence[str], what: str, kind: str) -> np.ndarray:
    import pandas as pd

    ids = list(ids)
    if isinstance(data, pd.DataFrame):
        cols = [str(c) for c in data.columns]
        missing = [c for c in ids if c not in cols]
        unknown = [c for c in cols if c not in set(ids)]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            names = ", ".join(ids[:8]) + (" ..." if len(ids) > 8 else "")
            raise DataError(
                f"{what}: missing {kind} column(s) {shown}; give one column per {kind} id ({names})"
            )
        if unknown:
            raise DataError(
                f"{what}: unknown column(s) {', '.join(unknown[:5])}; the columns must be "
                f"the {kind} ids the model was built for, nothing else"
            )
        frame = data.copy()
        frame.columns = cols
        try:
            arr = frame[ids].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{what}: non-numeric values ({exc}); use numbers only") from None
    else:
        try:
            arr = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{what}: not a numeric array ({exc})") from None
        if arr.ndim == 1 and len(ids) and arr.shape[0] == len(ids):
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != len(ids):
            raise DataError(
                f"{what} must have shape (n, {len(ids)}) (one column per {kind} id), "
                f"got {arr.shape}"
            )
    check_finite(arr, what, ids)
    return np.ascontiguousarray(arr)


def media_array(X: Any, medium_ids: Sequence[str], what: str = "X") -> np.ndarray:
    """Media ``(n, n_medium)`` (mmol/gDW/h), finite and >= 0; DataFrames matched by id."""
    arr = _as_matrix(X, medium_ids, what, "medium")
    neg = np.argwhere(arr < 0)
    if len(neg):
        r, c = neg[0]
        raise DataError(
            f"{what}: negative medium value {arr[r, c]} at row {int(r)}, column "
            f"{list(medium_ids)[c]}; media are uptake bounds >= 0 (mmol/gDW/h)"
        )
    return arr


def flux_array(Y: Any, reaction_ids: Sequence[str], what: str = "Y") -> np.ndarray:
    """Split fluxes ``(n, n_reactions)`` (mmol/gDW/h), finite; DataFrames matched by id."""
    return _as_matrix(Y, reaction_ids, what, "reaction")


def read_media_table(path: str | os.PathLike, medium_ids: Sequence[str]) -> Any:
    """A CSV of media (one column per medium inflow id) as a checked DataFrame.

    Columns other than the medium ids are ignored when the file has an index-like
    first column named ``medium``, ``id`` or ``name``; every other extra column is an
    error (it would be silently dropped otherwise).
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise DataError(f"media table {p} not found")
    try:
        df = pd.read_csv(p)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not a readable CSV ({exc}); write one row per medium") from None
    if df.empty:
        raise DataError(f"{p}: no media (the table has no rows)")
    first = str(df.columns[0])
    if first in ("medium", "id", "name") or first.startswith("Unnamed"):
        df = df.set_index(df.columns[0])
    media_array(df, medium_ids, what=str(p))
    return df[list(medium_ids)].astype(float)


def read_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """The payload of a saved AMN, read with ``torch.load(weights_only=True)``."""
    import pickle

    import torch

    p = Path(path)
    if not p.is_file():
        raise DataError(f"model file {p} not found; train one with `kinflux flux train`")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        msg = str(exc).splitlines()[0][:200]
        raise DataError(
            f"{p}: not a readable kinflux model file ({msg}); use the model.pt written by "
            "`kinflux flux train`"
        ) from None
    need = ("problem", "hyperparameters", "state_dict", "n_params", "history")
    if not isinstance(payload, dict) or any(k not in payload for k in need):
        raise DataError(
            f"{p}: not a kinflux AMN model file (missing "
            f"{', '.join(k for k in need if not isinstance(payload, dict) or k not in payload)});"
            " train it again with this kinflux version"
        )
    for name, t in payload["state_dict"].items():
        if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all():
            raise DataError(f"{p}: weight '{name}' holds NaN or inf; train the model again")
    return payload
