"""Reader of kinetic parameter files: ``{name: value}`` YAML, optionally under ``parameters:``.

Every name must be a parameter of the model (or one of the YAML parameters that no
rate law reads, such as elementary constants), and every value a finite number > 0.

Example:
    >>> import tempfile, pathlib
    >>> from kinflux.datasets import kinetic_model_path
    >>> from kinflux.kinetic.model import KineticModel
    >>> m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.yml"
    >>> _ = f.write_text("parameters:\\n  vmax_forward_PGK: 2.5\\n")
    >>> p = read_parameter_yaml(f, m)
    >>> float(p[m.parameter_index("vmax_forward_PGK")])
    2.5
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import yaml

from kinflux import KinfluxError

__all__ = ["ParameterFileError", "read_parameter_yaml", "check_parameters"]


class ParameterFileError(KinfluxError):
    """A parameter file is missing, malformed, names unknown parameters or bad values."""


def check_parameters(model, params: torch.Tensor, what: str = "parameters") -> None:  # noqa: ANN001
    """Every known value of ``params`` ``(..., n_params)`` finite and > 0 (NaN = unknown).

    Raises:
        ParameterFileError: naming the first offending parameter and its value.
    """
    p = params.reshape(-1, model.n_params)
    bad = ~torch.isnan(p) & ~(torch.isfinite(p) & (p > 0))
    if bad.any():
        i, j = (int(k) for k in bad.nonzero()[0])
        raise ParameterFileError(
            f"{what}: '{model.parameter_names[j]}' is {float(p[i, j])!r} (set {i}); Km, vmax, "
            "Keq, Hill coefficients, concentrations and volumes must be finite and > 0"
        )


def read_parameter_yaml(path: str | Path, model, base: torch.Tensor | None = None) -> torch.Tensor:  # noqa: ANN001
    """Parameters ``(n_params,)``: the file's values over ``base`` (default the model's).

    Args:
        path: YAML file, ``{name: value}`` or ``{parameters: {name: value}}``.
        model: the :class:`~kinflux.kinetic.model.KineticModel` they belong to.
        base: values for parameters the file does not set.

    Raises:
        ParameterFileError: missing/unreadable file, not a mapping, an unknown name
            (with close matches), text or a non-finite/non-positive number as a value.
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterFileError(f"{p}: no such parameter file")
    try:
        d = yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParameterFileError(f"{p}: not valid YAML ({exc})") from exc
    if isinstance(d, dict) and isinstance(d.get("parameters"), dict):
        d = d["parameters"]
    if not isinstance(d, dict) or not d:
        raise ParameterFileError(
            f"{p}: expected a mapping of parameter names to values (optionally under "
            "'parameters:'), e.g. 'vmax_forward_PGK: 2.5'"
        )
    out = (model.default_parameters() if base is None else base).clone()
    known = set(model.parameter_names)
    ignored = set(model.unused_yaml_parameters)
    unknown = [str(k) for k in d if str(k) not in known and str(k) not in ignored]
    if unknown:
        close = [n for n in model.parameter_names if unknown[0].split("_")[-1] in n][:3]
        raise ParameterFileError(
            f"{p}: unknown parameter(s) {unknown[:5]} for model '{model.name}' "
            f"(similar: {close}); fix the names"
        )
    for k, v in d.items():
        if str(k) in ignored:
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ParameterFileError(f"{p}: parameter '{k}' must be a number, got {v!r}") from None
        if not (math.isfinite(x) and x > 0):
            raise ParameterFileError(
                f"{p}: parameter '{k}' is {v!r}; it must be a finite number > 0"
            )
        out[model.parameter_index(str(k))] = x
    return out
