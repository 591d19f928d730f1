"""Sources of valid kinetic parameter sets for the studies.

A study needs complete parameter sets ``(n, n_params)`` (model units: Km uM, vmax uM/h)
that are *valid* on a :class:`~kinflux.kinetic.problem.KineticProblem` (lambda_max below
its partition). Anything with ``valid_parameters(n, seed) -> (n, n_params)`` and a
``name`` is a source:

- :class:`OracleSource`: unbiased ORACLE draws (:func:`kinflux.kinetic.oracle.oracle_sample`),
  the baseline; invalid draws are discarded.
- :class:`GeneratorSource`: ln Km from a trained generator (anything with
  ``generate(n, random_state) -> (n, n_km)`` ln mol/L, e.g.
  :class:`~kinflux.kinetic.renaissance.RenaissanceGenerator`), completed by the problem;
  invalid sets are discarded. :meth:`GeneratorSource.from_run` reads a generator run folder.

Example:
    >>> from kinflux.kinetic.problem import KineticProblem
    >>> src = OracleSource(KineticProblem.bundled("varma_strain_1"), batch=50)
    >>> src.valid_parameters(3, seed=0).shape
    torch.Size([3, 378])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from kinflux import KinfluxError

__all__ = ["ParameterSource", "OracleSource", "GeneratorSource", "NoValidModelsError"]


class NoValidModelsError(KinfluxError):
    """A source did not yield enough valid parameter sets within its draw budget."""


class ParameterSource(Protocol):
    """Yields valid complete parameter sets of one kinetic problem."""

    name: str
    problem: Any

    def valid_parameters(self, n: int, seed: int = 0) -> torch.Tensor: ...


def _collect(
    name: str, draw: Any, problem: Any, n: int, seed: int, batch: int, max_draws: int
) -> torch.Tensor:
    kept: list[torch.Tensor] = []
    got = drawn = i = 0
    while got < n and drawn < max_draws:
        m = min(batch, max_draws - drawn)
        params = draw(m, seed + i)
        lam = problem.lambda_max(params)
        ok = problem.is_valid(lam)
        kept.append(params[ok])
        got += int(ok.sum())
        drawn += m
        i += 1
    if got < n:
        raise NoValidModelsError(
            f"{name}: only {got} valid parameter sets in {drawn} draws (need {n}); raise "
            "max_draws, lower n, or train the generator longer"
        )
    return torch.cat(kept)[:n]


@dataclass
class OracleSource:
    """Valid sets from unbiased ORACLE sampling.

    Args:
        problem: the kinetic problem.
        batch: draws per round (default ``min(1000, max(64, 2 n))``).
        max_draws: give up (:class:`NoValidModelsError`) after this many draws.
        fixed: Km name -> ``(low, high)`` mol/L drawn log-uniformly (known Km).
    """

    problem: Any
    batch: int | None = None
    max_draws: int = 200_000
    fixed: dict[str, tuple[float, float]] | None = None
    name: str = "oracle"

    def valid_parameters(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` valid sets ``(n, n_params)``; round ``i`` uses seed ``seed + i``."""
        from kinflux.kinetic.oracle import oracle_sample

        def draw(m: int, s: int) -> torch.Tensor:
            return oracle_sample(self.problem, m, seed=s, fixed=self.fixed).params

        batch = self.batch or min(1000, max(64, 2 * int(n)))
        return _collect(self.name, draw, self.problem, n, seed, batch, self.max_draws)


@dataclass
class GeneratorSource:
    """Valid sets from a trained ln-Km generator.

    Args:
        problem: the kinetic problem the generator was trained on (or a view of it,
            e.g. :class:`~kinflux.kinetic.studies.km_integration.FixedKmProblem`).
        generator: has ``generate(n, random_state) -> (n, n_km)`` ln(mol/L).
        batch, max_draws: as for :class:`OracleSource`.
    """

    problem: Any
    generator: Any
    batch: int = 1000
    max_draws: int = 200_000
    name: str = "generator"
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_run(
        cls, run: str | os.PathLike, repeat: int | None = None, **kwargs: Any
    ) -> GeneratorSource:
        """The generator (best or given ``repeat``) and problem of a training run folder."""
        from kinflux.kinetic.generator_runs import load_generator, load_problem

        return cls(
            load_problem(run),
            load_generator(run, repeat),
            name=f"generator:{os.fspath(run)}",
            **kwargs,
        )

    def valid_parameters(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` valid sets ``(n, n_params)``; round ``i`` uses noise seed ``seed + i``."""

        def draw(m: int, s: int) -> torch.Tensor:
            lk = self.generator.generate(m, random_state=s).to(torch.float64)
            return self.problem.parameters(lk)

        return _collect(self.name, draw, self.problem, n, seed, self.batch, self.max_draws)
