"""Known Michaelis constants as fixed ranges: a problem view used in generator training.

RENAISSANCE integrates measured Km by fixing each to its value +-20 %, drawn
log-uniformly in that range every time a parameter set is built.
:class:`FixedKmProblem` does this as a view of a
:class:`~kinflux.kinetic.problem.KineticProblem`: its ``parameters(log_km)`` replaces the
fixed columns by such draws, so any generator trains with known Km without a change to
its code. A draw depends only on the row's values and the view's seed (a hash), so the
same ln Km rows give the same parameters in every process and on every backend.

kinflux adds a second use of measured Km (``saturation``): the Km that are *not* fixed
are drawn in a saturation range learnt from the known ones. With ``S`` the steady-state
concentration of a Km's species, ``r = ln(Km / S)`` says how saturated the enzyme is;
:func:`saturation_range` takes the range of ``r`` over the known Km (widened by a
margin) and the view maps the generator's output for every free Km from the problem's
box ``[log_km_low, log_km_high]`` affinely onto ``[ln S + r_low, ln S + r_high]``
(intersected with the box). Measured values then inform every Km, not only their own.

Ranges are in mol/L. From the command line: ``--fix-km NAME:LOW:HIGH`` (mM) with
:func:`parse_fixed_km`, or a CSV of known values (columns ``km_name``, ``value_mM``) with
:func:`read_known_km_csv` and :func:`fixed_ranges`.

Example:
    >>> fixed_ranges({"km_substrate_FUM": 5e-4})
    {'km_substrate_FUM': (0.0004, 0.0006)}
    >>> parse_fixed_km(["km_substrate_FUM:0.4:0.6"])["km_substrate_FUM"]
    (0.0004, 0.0006)
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from kinflux import KinfluxError

__all__ = [
    "FixedKmProblem",
    "parse_fixed_km",
    "read_known_km_csv",
    "fixed_ranges",
    "saturation_range",
    "parse_km_window",
]


class FixedKmProblem:
    """A kinetic problem whose fixed Km are drawn log-uniformly in known ranges.

    Args:
        problem: the base :class:`~kinflux.kinetic.problem.KineticProblem`.
        fixed: Km name -> ``(low, high)`` in mol/L.
        seed: mixes into every row's draw.
        saturation: ``(r_low, r_high)``, range of ``ln(Km / S)`` for the free Km
            (:func:`saturation_range`); None keeps the problem's box.

    Every other attribute (``n_km``, ``km_names``, ``log_km_low``, ``partition``,
    ``model``, ``lambda_max``, ...) is the base problem's.
    """

    def __init__(
        self,
        problem: Any,
        fixed: dict[str, tuple[float, float]],
        seed: int = 0,
        saturation: tuple[float, float] | None = None,
    ) -> None:
        idx = {n: i for i, n in enumerate(problem.km_names)}
        bad = [n for n in fixed if n not in idx]
        if bad:
            raise KinfluxError(
                f"fixed Km {bad[:5]} are not Michaelis constants of model "
                f"'{problem.model.name}'; examples: {problem.km_names[:3]}"
            )
        for n, (lo, hi) in fixed.items():
            if not (0 < float(lo) <= float(hi) < math.inf):
                raise KinfluxError(f"fixed Km '{n}': need 0 < low <= high (mol/L), got {(lo, hi)}")
        self.base = problem
        self.fixed = {n: (float(lo), float(hi)) for n, (lo, hi) in fixed.items()}
        self.seed = int(seed)
        self.columns = torch.tensor([idx[n] for n in self.fixed], dtype=torch.long)
        self._lo = torch.tensor([math.log(v[0]) for v in self.fixed.values()], dtype=torch.float64)
        self._hi = torch.tensor([math.log(v[1]) for v in self.fixed.values()], dtype=torch.float64)
        self.saturation = None if saturation is None else tuple(float(v) for v in saturation)
        self._free_lo = self._free_hi = None
        if self.saturation is not None:
            r_lo, r_hi = self.saturation
            if not (math.isfinite(r_lo) and math.isfinite(r_hi) and r_lo < r_hi):
                raise KinfluxError(
                    f"saturation range must be finite with low < high (ln(Km/S)), got "
                    f"{saturation!r}"
                )
            ls = problem.log_km_steady.to(torch.float64)
            lo = (ls + r_lo).clamp(problem.log_km_low, problem.log_km_high)
            hi = (ls + r_hi).clamp(problem.log_km_low, problem.log_km_high)
            self._free_lo, self._free_hi = lo, torch.maximum(hi, lo)

    def __getattr__(self, name: str) -> Any:
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def _uniforms(self, rows: np.ndarray) -> torch.Tensor:
        salt = self.seed.to_bytes(8, "little", signed=True)
        out = np.empty((rows.shape[0], len(self.fixed)))
        for i, r in enumerate(rows):
            h = hashlib.blake2b(r.tobytes() + salt, digest_size=8).digest()
            out[i] = np.random.default_rng(int.from_bytes(h, "little")).random(len(self.fixed))
        return torch.from_numpy(out)

    def fixed_log_km(self, log_km: torch.Tensor) -> torch.Tensor:
        """Effective ln Km ``(batch, n_km)`` (mol/L) of generator outputs ``log_km``: free
        columns mapped into the saturation range (when given), fixed columns redrawn.

        The fixed columns' draws hash the rows as given, so they do not depend on the
        saturation mapping."""
        given = torch.as_tensor(log_km).reshape(-1, self.base.n_km).to(torch.float64)
        lk = given.clone()
        if lk.shape[0] == 0:
            return lk
        if self._free_lo is not None:
            low, high = self.base.log_km_low, self.base.log_km_high
            u = ((given - low) / (high - low)).clamp(0.0, 1.0)
            lk = self._free_lo.to(lk.device) + (self._free_hi - self._free_lo).to(lk.device) * u
        if len(self.fixed):
            u = self._uniforms(np.ascontiguousarray(given.cpu().numpy()))
            lk[:, self.columns] = (self._lo + (self._hi - self._lo) * u).to(lk.device)
        return lk

    def parameters(self, log_km: torch.Tensor) -> torch.Tensor:
        """Complete parameter sets ``(batch, n_params)`` with the fixed Km redrawn."""
        return self.base.parameters(self.fixed_log_km(log_km))

    def lambda_max_of_log_km(self, log_km: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
        """lambda_max (h^-1) ``(batch,)`` of :meth:`parameters` of ``log_km``."""
        lk = torch.as_tensor(log_km).reshape(-1, self.base.n_km)
        parts = [
            self.base.lambda_max(self.parameters(lk[i : i + chunk]), chunk)
            for i in range(0, lk.shape[0], chunk)
        ]
        return torch.cat(parts) if parts else torch.empty(0, dtype=torch.float64)

    def km_ranges(self) -> dict[str, tuple[float, float]]:
        """Every Km's range, name -> ``(low, high)`` mol/L: the fixed ranges, and for the
        free Km their saturation window (or the problem's box). Passed as ``fixed`` to
        :class:`~kinflux.kinetic.studies.sources.OracleSource`, it gives ORACLE draws
        (log-uniform) in the same ranges as the generator's: the window's own effect,
        without a generator."""
        names = list(self.base.km_names)
        if self._free_lo is None:
            lo = torch.full((len(names),), float(self.base.log_km_low), dtype=torch.float64)
            hi = torch.full((len(names),), float(self.base.log_km_high), dtype=torch.float64)
        else:
            lo, hi = self._free_lo, self._free_hi
        out = {
            n: (math.exp(float(a)), math.exp(float(b)))
            for n, a, b in zip(names, lo, hi, strict=True)
        }
        out.update(self.fixed)
        return out

    def with_partition(self, partition: float) -> FixedKmProblem:
        """The same view (fixed Km, seed, saturation range) over the base problem with
        another partition (h^-1)."""
        return FixedKmProblem(
            self.base.with_partition(partition), self.fixed, self.seed, self.saturation
        )

    def __repr__(self) -> str:
        sat = "" if self.saturation is None else f", saturation {self.saturation}"
        return f"FixedKmProblem({self.base!r}, {len(self.fixed)} fixed Km{sat})"


def parse_fixed_km(specs: list[str], unit: str = "mM") -> dict[str, tuple[float, float]]:
    """``["NAME:LOW:HIGH", ...]`` (``unit`` mM or M) -> ``{name: (low, high)}`` mol/L."""
    per = {"mM": 1e-3, "M": 1.0, "uM": 1e-6}.get(unit)
    if per is None:
        raise KinfluxError(f"Km unit {unit!r}: use mM, uM or M")
    out = {}
    for s in specs:
        parts = s.split(":")
        try:
            name, lo, hi = parts[0], float(parts[1]) * per, float(parts[2]) * per
            if len(parts) != 3:
                raise ValueError
        except (IndexError, ValueError):
            raise KinfluxError(
                f"--fix-km {s!r}: write NAME:LOW:HIGH with LOW and HIGH in {unit}, e.g. "
                "km_substrate_FUM:0.4:0.6"
            ) from None
        out[name] = (lo, hi)
    return out


def parse_km_window(text: str | float) -> tuple[float, float]:
    """A Km window as text -> ``(r_low, r_high)``, the range of ``ln(Km / S)``.

    ``"W"`` (W > 0) is the symmetric window ``(-W, W)``; ``"LOW:HIGH"`` (``LOW < HIGH``,
    ln units, negative numbers allowed) an asymmetric one, e.g. ``"-6.9:2.3"``: Km from
    S/1000 (99.9 % saturated) to 10 S (9 % saturated).

    Example:
        >>> parse_km_window("6.9"), parse_km_window("-6.9:2.3")
        ((-6.9, 6.9), (-6.9, 2.3))
    """
    fix = "write W > 0 (ln(Km/S) in [-W, W]) or LOW:HIGH with LOW < HIGH, e.g. -6.9:0"
    parts = str(text).split(":")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise KinfluxError(f"Km window {text!r} is not a number; {fix}") from None
    if len(vals) == 1:
        lo, hi = -vals[0], vals[0]
    elif len(vals) == 2:
        lo, hi = vals
    else:
        raise KinfluxError(f"Km window {text!r}: {fix}")
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise KinfluxError(f"Km window {text!r} is empty or not finite; {fix}")
    return (lo, hi)


def read_known_km_csv(path: str | os.PathLike) -> dict[str, float]:
    """Known Km from a CSV with columns ``km_name`` and ``value_mM`` -> ``{name: mol/L}``
    (turn them into ranges with :func:`fixed_ranges`)."""
    p = Path(path)
    try:
        df = pd.read_csv(p)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise KinfluxError(f"{p}: cannot read known Km ({exc})") from exc
    if not {"km_name", "value_mM"} <= set(df.columns):
        raise KinfluxError(f"{p}: needs columns km_name and value_mM, found {list(df.columns)}")
    vals = pd.to_numeric(df["value_mM"], errors="coerce")
    bad = df["km_name"][~(vals > 0)].tolist()
    if bad:
        raise KinfluxError(f"{p}: Km {bad[:5]} have no positive value_mM; fix or drop the rows")
    return {str(n): float(v) * 1e-3 for n, v in zip(df["km_name"], vals, strict=True)}


def fixed_ranges(known: dict[str, float], spread: float = 0.2) -> dict[str, tuple[float, float]]:
    """``{name: k}`` mol/L -> ``{name: (k (1 - spread), k (1 + spread))}``."""
    if not 0 <= spread < 1:
        raise KinfluxError(f"spread must be in [0, 1), got {spread}")
    return {n: (k * (1.0 - spread), k * (1.0 + spread)) for n, k in known.items()}


def saturation_range(
    problem: Any, known: dict[str, float], margin: float = 1.0
) -> tuple[float, float]:
    """Range of ``ln(Km / S)`` over the known Km, widened by ``margin`` on each side.

    Args:
        problem: the :class:`~kinflux.kinetic.problem.KineticProblem` (its
            ``log_km_steady`` gives ``ln S``, mol/L, per Km).
        known: ``{name: Km}`` in mol/L.
        margin: ln units added below and above (default 1, a factor e).

    Returns:
        ``(r_low, r_high)``, ln units.

    Example:
        >>> class P:
        ...     km_names = ["a", "b"]
        ...     log_km_steady = torch.log(torch.tensor([1e-3, 1e-4]))
        >>> lo, hi = saturation_range(P(), {"a": 1e-3, "b": 1e-3}, margin=0.5)
        >>> round(lo, 3), round(hi, 3)
        (-0.5, 2.803)
    """
    idx = {n: i for i, n in enumerate(problem.km_names)}
    bad = [n for n in known if n not in idx]
    if bad or not known:
        raise KinfluxError(
            f"saturation range needs known Km of the model; unknown: {bad[:5]}"
            if bad
            else "saturation range needs at least one known Km"
        )
    if not (math.isfinite(margin) and margin >= 0):
        raise KinfluxError(f"margin must be a finite number >= 0 (ln units), got {margin!r}")
    ls = problem.log_km_steady
    r = [math.log(float(k)) - float(ls[idx[n]]) for n, k in known.items()]
    return (min(r) - margin, max(r) + margin)
