"""The ORACLE baseline: unbiased Km draws around a steady state, and their incidence.

Per Km, an unbiased value ``sigma ~ U(0, 1)`` sets ``Km = [S] sigma / (1 - sigma)`` with
``[S]`` the steady-state concentration of the slot's reactant (``sigma`` = Km/(Km + [S]);
as ``1 - sigma`` is U(0, 1) too, this is the same distribution as sampling the enzyme
saturation [S]/([S] + Km)). The draw is restricted to the sigma interval that maps into
the problem's Km bounds (mol/L, :data:`~kinflux.kinetic.problem.KM_BOUNDS_MOLAR`). Each
Km set is completed (Keq, vmax) and judged by its lambda_max through a
:class:`~kinflux.kinetic.problem.KineticProblem`; the share of valid sets is the
*incidence* without learning, the bar that generative models must beat.

Example:
    >>> from kinflux.kinetic.problem import KineticProblem
    >>> problem = KineticProblem.bundled("varma_strain_1")
    >>> res = oracle_sample(problem, 20, seed=0)
    >>> res.lambda_max.shape, 0.0 <= res.incidence <= 1.0
    (torch.Size([20]), True)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kinflux import KinfluxError
from kinflux.kinetic.problem import KineticProblem
from kinflux.progress import ProgressArg

__all__ = ["OracleResult", "sample_log_km", "oracle_sample"]


def sample_log_km(
    problem: KineticProblem,
    n: int,
    seed: int = 0,
    fixed: dict[str, tuple[float, float]] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """ORACLE draw of ``n`` Km sets.

    Args:
        problem: the kinetic problem (steady state and Km bounds).
        n: number of sets (>= 1).
        seed: seed of the draw; same seed -> same numbers.
        fixed: Km name -> known ``(low, high)`` range in mol/L (e.g. a measured value
            +-20 %): those Km are drawn log-uniformly in that range.

    Returns:
        ``(log_km, sigma)``: ln(Km in mol/L) ``(n, n_km)`` and the unbiased draws
        ``sigma = Km / (Km + [S])``, same shape.
    """
    if n < 1:
        raise KinfluxError(f"number of samples must be >= 1, got {n}")
    lo, hi = problem.km_bounds_molar
    conc = torch.exp(problem.log_km_steady)  # mol/L
    s_lo = lo / (lo + conc)
    s_hi = hi / (hi + conc)
    g = torch.Generator().manual_seed(int(seed))
    u = torch.rand(n, problem.n_km, generator=g, dtype=torch.float64)
    sigma = s_lo + (s_hi - s_lo) * u
    km = (conc * sigma / (1.0 - sigma)).clamp(lo, hi)
    if fixed:
        idx = {nm: i for i, nm in enumerate(problem.km_names)}
        for name, (a, b) in fixed.items():
            if name not in idx:
                raise KinfluxError(
                    f"fixed Km '{name}' is not a Michaelis constant of model "
                    f"'{problem.model.name}'; examples: {problem.km_names[:3]}"
                )
            if not (0 < a <= b < math.inf):
                raise KinfluxError(f"fixed Km '{name}': need 0 < low <= high (mol/L), got {(a, b)}")
            w = torch.rand(n, generator=g, dtype=torch.float64)
            j = idx[name]
            km[:, j] = torch.exp(math.log(a) + w * (math.log(b) - math.log(a)))
            sigma[:, j] = km[:, j] / (km[:, j] + conc[j])
    return torch.log(km), sigma


@dataclass
class OracleResult:
    """Outcome of :func:`oracle_sample`.

    Attributes:
        params: ``(n, n_params)`` complete parameter sets (uM, uM/h).
        log_km: ``(n, n_km)`` ln(Km in mol/L); ``sigma``: the unbiased draws, same shape.
        lambda_max: ``(n,)`` h^-1; ``valid``: ``(n,)`` bool.
        incidence: share of valid sets; ``partition``: h^-1.
        residual: ``(n,)`` relative steady-state residual of each set.
        seconds: wall time of sampling + evaluation.
        km_names, parameter_names: column names.
        metadata: model, seed, bounds, scaling (JSON-serializable).
    """

    params: torch.Tensor
    log_km: torch.Tensor
    sigma: torch.Tensor
    lambda_max: torch.Tensor
    valid: torch.Tensor
    incidence: float
    partition: float
    residual: torch.Tensor
    seconds: float
    km_names: list[str] = field(default_factory=list)
    parameter_names: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def km(self) -> torch.Tensor:
        """Km in mol/L, ``(n, n_km)``."""
        return torch.exp(self.log_km)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per set: the parameters (model units) by name,
        then ``lambda_max`` (h^-1) and ``valid``; index ``set``."""
        import pandas as pd

        df = pd.DataFrame(self.params.numpy(), columns=self.parameter_names)
        df["lambda_max"] = self.lambda_max.numpy()
        df["valid"] = self.valid.numpy()
        df.index.name = "set"
        return df

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write one ``.npz`` (:func:`kinflux.io.save_npz`); atomic, never overwrites
        unless ``force``."""
        from kinflux.io import save_npz

        return save_npz(
            path,
            {
                "parameters": self.params.numpy(),
                "parameter_names": list(self.parameter_names),
                "log_km_molar": self.log_km.numpy(),
                "km_names": list(self.km_names),
                "sigma": self.sigma.numpy(),
                "lambda_max": self.lambda_max.numpy(),
                "valid": self.valid.numpy(),
                "residual": self.residual.numpy(),
            },
            {
                **self.metadata,
                "incidence": self.incidence,
                "partition_per_h": self.partition,
                "seconds": self.seconds,
                "units": {
                    "parameters": "model units (uM, uM/h)",
                    "log_km_molar": "ln(mol/L)",
                    "lambda_max": "h^-1",
                },
            },
            force=force,
        )

    @classmethod
    def load(cls, path: str | Path) -> OracleResult:
        """Read :meth:`save` output."""
        from kinflux.io import load_npz

        req = ["parameters", "parameter_names", "log_km_molar", "km_names", "sigma"]
        req += ["lambda_max", "valid", "residual"]
        a, meta = load_npz(path, required=req, what="ORACLE sample file")
        return cls(
            params=torch.from_numpy(a["parameters"]),
            log_km=torch.from_numpy(a["log_km_molar"]),
            sigma=torch.from_numpy(a["sigma"]),
            lambda_max=torch.from_numpy(a["lambda_max"]),
            valid=torch.from_numpy(a["valid"]),
            incidence=float(meta.get("incidence", math.nan)),
            partition=float(meta.get("partition_per_h", math.nan)),
            residual=torch.from_numpy(a["residual"]),
            seconds=float(meta.get("seconds", math.nan)),
            km_names=[str(s) for s in a["km_names"]],
            parameter_names=[str(s) for s in a["parameter_names"]],
            metadata=meta,
        )


def _evaluate(log_km: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from kinflux.compute import worker_state

    problem: KineticProblem = worker_state()["problem"]
    p = problem.parameters(log_km)
    return p, problem.lambda_max(p), problem.steady_state_residual(p)


def oracle_sample(
    problem: KineticProblem,
    n: int,
    seed: int = 0,
    fixed: dict[str, tuple[float, float]] | None = None,
    chunk: int = 500,
    n_jobs: int = 1,
    backend: str = "local",
    address: str | None = None,
    progress: ProgressArg = False,
) -> OracleResult:
    """ORACLE baseline: ``n`` unbiased Km draws -> parameters -> lambda_max -> incidence.

    Args:
        problem: model, steady state, Km bounds (mol/L) and partition (h^-1).
        n: number of parameter sets.
        seed: seed of the Km draw (the only randomness).
        fixed: Km name -> ``(low, high)`` mol/L, drawn log-uniformly.
        chunk: sets per task; results do not depend on it, nor on ``n_jobs``/``backend``.
        n_jobs, backend, address: :func:`kinflux.compute.map` options.
        progress: a bar (True), a callback, or False.

    Returns:
        An :class:`OracleResult`.
    """
    from kinflux.compute import chunks
    from kinflux.compute import map as cmap

    if chunk < 1:
        raise KinfluxError(f"chunk must be >= 1, got {chunk}")
    t0 = time.perf_counter()
    log_km, sigma = sample_log_km(problem, n, seed, fixed)
    tasks = [log_km[a:b] for a, b in chunks(n, chunk)]
    out = cmap(
        _evaluate,
        tasks,
        backend=backend,
        n_jobs=n_jobs,
        address=address,
        shared={"problem": problem},
        progress=progress,
        description="ORACLE batches",
    )
    params = torch.cat([o[0] for o in out])
    lm = torch.cat([o[1] for o in out])
    res = torch.cat([o[2] for o in out])
    valid = problem.is_valid(lm)
    meta = {
        "model": problem.model.name,
        "model_source": problem.model.source,
        "n": n,
        "seed": seed,
        "km_bounds_molar": list(problem.km_bounds_molar),
        "scaling": {
            "concentration": problem.scaling.concentration,
            "density": problem.scaling.density,
            "gdw_gww": problem.scaling.gdw_gww,
            "time": problem.scaling.time,
        },
        "fixed": {k: list(v) for k, v in (fixed or {}).items()},
    }
    return OracleResult(
        params=params,
        log_km=log_km,
        sigma=sigma,
        lambda_max=lm,
        valid=valid,
        incidence=problem.incidence(lm),
        partition=problem.partition,
        residual=res,
        seconds=time.perf_counter() - t0,
        km_names=list(problem.km_names),
        parameter_names=list(problem.parameter_names),
        metadata=meta,
    )
