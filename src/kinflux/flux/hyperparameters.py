"""The AMN's hyper-parameters: one table of names, defaults, ranges and help texts.

:class:`~kinflux.flux.amn.AMN` takes exactly these as ``__init__`` arguments (after the
problem), with these defaults (a test checks it); the ``kinflux flux train`` options,
the run folder's ``config.json`` and the model file all derive from this table or from
``AMN.get_params()``. The module imports neither torch nor scikit-learn, so the
command line can build its options without loading them.

Example:
    >>> DEFAULTS["arch"], DEFAULTS["epochs"]
    ('AMN-QP', 200)
    >>> check_hyperparameters({**DEFAULTS, "dropout": 1.5})
    Traceback (most recent call last):
    ...
    kinflux.flux.hyperparameters.HyperParameterError: dropout must be in [0, 1), got 1.5
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kinflux import KinfluxError

__all__ = [
    "ARCHITECTURES",
    "SCHEDULES",
    "HyperParameter",
    "HYPERPARAMETERS",
    "DEFAULTS",
    "HyperParameterError",
    "check_hyperparameters",
    "parse_hidden",
]

#: Architectures, named as in Faure et al. (2023); see :mod:`kinflux.flux.architectures`.
ARCHITECTURES = ("ANN-Dense", "ANN-SV", "AMN-QP", "AMN-LP", "AMN-UB", "AMN-W")
#: Learning-rate schedules.
SCHEDULES = ("cosine", "constant")


class HyperParameterError(KinfluxError):
    """A hyper-parameter is out of its range or of the wrong type."""


@dataclass(frozen=True)
class HyperParameter:
    """One hyper-parameter: name, default, help, and its allowed values.

    ``low``/``high`` bound numbers (``low_open``/``high_open``: strict); ``choices``
    lists allowed strings; ``cli`` says whether ``kinflux flux train`` exposes it
    (``cli_name`` when the option is spelled differently, e.g. ``--seed``).
    """

    name: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    optional: bool = False
    cli: bool = True
    cli_name: str | None = None


HYPERPARAMETERS: tuple[HyperParameter, ...] = (
    HyperParameter("arch", "AMN-QP", "Architecture.", choices=ARCHITECTURES),
    HyperParameter("hidden", (500,), "Hidden layer sizes of the prior network (e.g. 500,250)."),
    HyperParameter(
        "dropout", 0.25, "Dropout after each hidden layer, in [0, 1).", 0, 1, False, True
    ),
    HyperParameter(
        "n_iter",
        None,
        "Mechanistic iterations per forward pass (default: the layer's own).",
        low=1,
        optional=True,
    ),
    HyperParameter(
        "reference", "all", "Fluxes in the reference error: 'all', 'growth' or ids a,b,c."
    ),
    HyperParameter("epochs", 200, "Training epochs (Adam).", low=1),
    HyperParameter("batch_size", 64, "Samples per batch.", low=1),
    HyperParameter("lr", 3e-3, "Adam learning rate, > 0.", low=0, low_open=True),
    HyperParameter("weight_decay", 0.0, "Adam weight decay, >= 0.", low=0),
    HyperParameter(
        "schedule", "cosine", "Learning rate: cosine (to lr/100) or constant.", choices=SCHEDULES
    ),
    HyperParameter(
        "patience", 30, "Early stopping after this many epochs without improvement.", low=0
    ),
    HyperParameter(
        "val_fraction", 0.1, "Share held out for early stopping, in [0, 1).", 0, 1, False, True
    ),
    HyperParameter("loss_ref", 1.0, "Weight of the reference (flux) error.", low=0),
    HyperParameter("loss_sv", 10.0, "Weight of the mass balance ||SV||^2.", low=0),
    HyperParameter("loss_bounds", 10.0, "Weight of the medium-bound residual.", low=0),
    HyperParameter("loss_positivity", 10.0, "Weight of positivity and other bounds.", low=0),
    HyperParameter("loss_growth", 5.0, "Extra weight of the growth flux's error.", low=0),
    HyperParameter("prune", True, "Run the mechanistic layer on unblocked reactions only."),
    HyperParameter(
        "random_state",
        0,
        "Seed (>= 0): the same seed gives the same model.",
        low=0,
        cli_name="seed",
    ),
    HyperParameter("device", "cpu", "torch device (cpu, cuda).", cli=False),
    HyperParameter(
        "n_threads",
        None,
        "torch threads while fitting/predicting (default: leave as set).",
        low=1,
        optional=True,
        cli=False,
    ),
)

#: name -> default
DEFAULTS: dict[str, Any] = {h.name: h.default for h in HYPERPARAMETERS}


def parse_hidden(value: Any) -> tuple[int, ...]:
    """Hidden sizes from ``"500,250"``, ``500`` or ``(500, 250)``; each an integer >= 1."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, int):
        parts = [value]
    else:
        parts = list(value)
    try:
        sizes = tuple(int(p) for p in parts)
        if any(str(p).strip() != str(int(p)) for p in parts if not isinstance(p, int)):
            raise ValueError
    except (TypeError, ValueError):
        raise HyperParameterError(
            f"hidden must be integers >= 1 separated by commas (e.g. 500 or 500,250), got {value!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise HyperParameterError(f"hidden sizes must be >= 1, got {value!r}")
    return sizes


def _in_range(h: HyperParameter, v: float) -> bool:
    if h.low is not None and (v < h.low or (h.low_open and v == h.low)):
        return False
    return not (h.high is not None and (v > h.high or (h.high_open and v == h.high)))


def _range_text(h: HyperParameter) -> str:
    if h.low is not None and h.high is not None:
        lo, hi = ("(" if h.low_open else "["), (")" if h.high_open else "]")
        return f"in {lo}{h.low:g}, {h.high:g}{hi}"
    if h.low is not None:
        return f"{'>' if h.low_open else '>='} {h.low:g}"
    return f"{'<' if h.high_open else '<='} {h.high:g}"


def check_hyperparameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Check every known hyper-parameter in ``params``; return them normalized.

    Raises :class:`HyperParameterError` naming the first bad one and its range.
    """
    out = dict(params)
    for h in HYPERPARAMETERS:
        if h.name not in out:
            continue
        v = out[h.name]
        if v is None and h.optional:
            continue
        if h.name == "hidden":
            out[h.name] = parse_hidden(v)
            continue
        if h.choices is not None:
            v = getattr(v, "value", v)  # Enum members
            if v not in h.choices:
                raise HyperParameterError(
                    f"{h.name} must be one of {', '.join(h.choices)}, got {v!r}"
                )
            out[h.name] = v
            continue
        if isinstance(h.default, bool):
            if not isinstance(v, bool):
                raise HyperParameterError(f"{h.name} must be True or False, got {v!r}")
            continue
        if isinstance(h.default, int | float) or h.low is not None:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise HyperParameterError(f"{h.name} must be a number, got {v!r}")
            if isinstance(h.default, int) and not isinstance(h.default, bool) and v != int(v):
                raise HyperParameterError(f"{h.name} must be an integer, got {v!r}")
            if not math.isfinite(v) or not _in_range(h, v):
                raise HyperParameterError(f"{h.name} must be {_range_text(h)}, got {v!r}")
    ref = out.get("reference")
    if ref is not None and not isinstance(ref, str | list | tuple):
        raise HyperParameterError(f"reference must be 'all', 'growth' or a list of ids: {ref!r}")
    return out
