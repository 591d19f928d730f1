"""RENAISSANCE: kinetic-parameter generators trained by natural evolution strategies.

:class:`RenaissanceGenerator` is the estimator (scikit-learn conventions): ``fit`` trains
one :class:`~kinflux.kinetic.generators.KmGenerator` on a kinetic problem with an
evolution strategy (:mod:`kinflux.kinetic.nes`) and a reward
(:mod:`kinflux.kinetic.rewards`); ``generate`` draws ln Km sets from it. Run folders with
repeats, resume and figures are in :mod:`kinflux.kinetic.generator_runs`.

The problem is anything with ``n_km``, ``log_km_low``, ``log_km_high`` (ln mol/L),
``partition`` (h^-1) and ``lambda_max_of_log_km(log_km (batch, n_km)) -> (batch,)``
h^-1, e.g. :class:`~kinflux.kinetic.problem.KineticProblem`.

Example:
    >>> import torch
    >>> class Toy:  # valid when the mean ln Km is below -12
    ...     n_km, log_km_low, log_km_high, partition = 3, -25.0, 3.0, -2.5
    ...     def lambda_max_of_log_km(self, lk):
    ...         return (lk.mean(-1) + 9.5).double()
    >>> est = RenaissanceGenerator(generations=3, population=4, n_models=8, hidden=(8,),
    ...                            latent_dim=4, update="improved", learning_rate=0.1)
    >>> est = est.fit(Toy())
    >>> len(est.history_), est.lambda_max_.shape
    (4, torch.Size([4, 5, 8]))
    >>> est.generate(10).shape
    torch.Size([10, 3])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from sklearn.base import BaseEstimator

from kinflux import KinfluxError
from kinflux.kinetic.generators import (
    HIDDEN,
    LATENT_DIM,
    KmGenerator,
    batched_log_km,
    map_log_km,
)
from kinflux.kinetic.nes import make_strategy, seed_for
from kinflux.kinetic.rewards import reward_function

__all__ = ["RenaissanceGenerator", "evaluate_log_km"]


def _eval_task(blocks: list[torch.Tensor]) -> list[torch.Tensor]:
    from kinflux.compute import worker_state

    pb = worker_state()["problem"]
    return [torch.as_tensor(pb.lambda_max_of_log_km(b), dtype=torch.float64) for b in blocks]


def evaluate_log_km(
    problem: Any,
    log_km: torch.Tensor,
    n_jobs: int = 1,
    backend: str = "local",
    block: int = 100,
    address: str | None = None,
) -> torch.Tensor:
    """lambda_max (h^-1) of ln Km sets ``(batch, n_km)`` -> ``(batch,)`` float64.

    The sets are evaluated in blocks of ``block`` rows (one member's models), in
    process for ``n_jobs == 1``, else the blocks are shared among ``n_jobs`` workers
    through :func:`kinflux.compute.map`; the numbers are identical either way.
    """
    lk = log_km.detach().reshape(-1, problem.n_km).to(torch.float64)
    blocks = list(torch.split(lk, max(1, int(block))))
    if n_jobs == 1 and backend == "local":
        out = [
            torch.as_tensor(problem.lambda_max_of_log_km(b), dtype=torch.float64) for b in blocks
        ]
    else:
        from kinflux.compute import map as cmap

        k = max(1, min(len(blocks), n_jobs if n_jobs > 0 else 2))
        tasks = [blocks[i::k] for i in range(k)]
        res = cmap(
            _eval_task,
            tasks,
            backend=backend,
            address=address,
            n_jobs=n_jobs,
            shared={"problem": problem},
        )
        out = [None] * len(blocks)
        for i, r in enumerate(res):
            out[i::k] = r
    return torch.cat(out) if out else torch.empty(0, dtype=torch.float64)


class RenaissanceGenerator(BaseEstimator):
    """A RENAISSANCE generator trained by an evolution strategy.

    Each generation ``g``: the parent weights ``w_g`` and its ``population`` members
    ``w_g + sigma eps_i`` each generate ``n_models`` Km sets from fresh noise; all
    ``(1 + population) * n_models`` sets are evaluated as one batch
    (:func:`evaluate_log_km`); the members' rewards move ``w``. The parent's reward is
    the recorded curve; after the last update the final parent is evaluated once more,
    so the curve has ``generations + 1`` points: point 0 is the untrained generator and
    point ``g >= 1`` equals the published curve's entry ``g - 1`` (the parent right
    after update ``g``, on fresh noise).

    Args:
        generations: updates (published 50).
        population: members per generation (published 20).
        n_models: Km sets per member and per parent evaluation (published 100).
        sigma: perturbation scale (published 0.01).
        update: ``"improved"`` (centred ranks, common noise; default) or
            ``"published"`` (evostra, for fidelity).
        learning_rate, decay: step size and its factor per update; ``None``: the rule's
            default (published 1e-3 and 0.95; improved 3.5e-3 and 0.95).
        reward: ``"incidence"`` or ``"fastest"`` (:mod:`kinflux.kinetic.rewards`).
        n_consider: models averaged by the fastest reward (published 10).
        output_map: ``"sigmoid"`` or ``"published"``
            (:func:`~kinflux.kinetic.generators.map_log_km`).
        latent_dim, hidden: generator shape (published 99, (256, 512, 1024)).
        es_options: further options of the update rule, e.g. ``{"adam": False}`` for
            :class:`~kinflux.kinetic.nes.ImprovedES`.
        common_noise: all members of a generation generate their models from the same
            noise (common random numbers: member rewards then differ by their weights,
            not by the draw); ``None``: on for ``"improved"``, off for ``"published"``
            (the published members draw their own noise). The parent always draws its own.
        random_state: seed of the initialization and of every generation's draws.
        n_jobs, backend: evaluation workers (:func:`kinflux.compute.map`);
            ``address``: a Ray cluster (``"auto"``) for ``backend="ray"``.
        progress: bar or callback over curve points.

    Attributes:
        generator_: the trained :class:`KmGenerator` (the final parent).
        history_: pandas DataFrame, one row per curve point (generation, reward,
            incidence, learning_rate, member reward mean and max, seconds).
        lambda_max_: ``(generations + 1, 1 + population, n_models)`` float32, h^-1; row
            0 of each point is the parent, members are NaN at the last point.
        strategy_: the evolution strategy in its final state.
    """

    def __init__(
        self,
        generations: int = 50,
        population: int = 20,
        n_models: int = 100,
        sigma: float = 0.01,
        update: str = "improved",
        learning_rate: float | None = None,
        decay: float | None = None,
        reward: str = "incidence",
        n_consider: int = 10,
        output_map: str = "sigmoid",
        latent_dim: int = LATENT_DIM,
        hidden: tuple[int, ...] = HIDDEN,
        es_options: dict[str, Any] | None = None,
        common_noise: bool | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
        backend: str = "local",
        address: str | None = None,
        progress: bool = False,
    ) -> None:
        self.generations = generations
        self.population = population
        self.n_models = n_models
        self.sigma = sigma
        self.update = update
        self.learning_rate = learning_rate
        self.decay = decay
        self.reward = reward
        self.n_consider = n_consider
        self.output_map = output_map
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.es_options = es_options
        self.common_noise = common_noise
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.backend = backend
        self.address = address
        self.progress = progress

    # ------------------------------------------------------------------ building blocks
    def _check(self, problem: Any) -> None:
        for attr in ("n_km", "log_km_low", "log_km_high", "partition", "lambda_max_of_log_km"):
            if not hasattr(problem, attr):
                raise KinfluxError(
                    f"RenaissanceGenerator.fit needs a KineticProblem-like object; "
                    f"{type(problem).__name__} has no '{attr}'"
                )
        if int(self.generations) < 0 or int(self.n_models) < 1:
            raise KinfluxError(
                f"need generations >= 0 and n_models >= 1, got {self.generations}, {self.n_models}"
            )
        if self.reward == "fastest" and self.n_consider > self.n_models:
            raise KinfluxError(
                f"n_consider ({self.n_consider}) cannot exceed n_models ({self.n_models})"
            )

    def _new_generator(self, problem: Any) -> KmGenerator:
        return KmGenerator(
            problem.n_km,
            self.latent_dim,
            tuple(self.hidden),
            problem.log_km_low,
            problem.log_km_high,
            self.output_map,
            generator=torch.Generator().manual_seed(seed_for(self.random_state, 0, 0)),
        )

    def _strategy(self):  # noqa: ANN202
        return make_strategy(
            self.update,
            population=self.population,
            sigma=self.sigma,
            learning_rate=self.learning_rate,
            decay=self.decay,
            **(self.es_options or {}),
        )

    # ------------------------------------------------------------------ training
    def fit(
        self,
        problem: Any,
        state: dict[str, Any] | None = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
    ) -> RenaissanceGenerator:
        """Train on ``problem``.

        Args:
            problem: a :class:`~kinflux.kinetic.problem.KineticProblem` (or alike).
            state: a dict that ``callback`` received earlier: continue from it (resume;
                the result equals an uninterrupted fit).
            callback: ``callback(state)`` after every curve point (checkpointing).

        Returns:
            self, with ``generator_``, ``history_``, ``lambda_max_``, ``strategy_``.
        """
        import pandas as pd

        from kinflux.progress import progress_bar

        self._check(problem)
        gen = self._new_generator(problem)
        strategy = self._strategy()
        reward_fn = reward_function(self.reward, problem.partition, self.n_consider)
        G, P, n = int(self.generations), int(self.population), int(self.n_models)
        common = self.update == "improved" if self.common_noise is None else self.common_noise
        w = gen.flat()
        rows: list[dict[str, Any]] = []
        lam_all = torch.full((G + 1, 1 + P, n), float("nan"), dtype=torch.float32)
        start = 0
        if state is not None:
            w = state["weights"].to(w.dtype).clone()
            strategy.load_state_dict(state["strategy"])
            rows = list(state["history"])
            start = int(state["generation"])
            lam_all[:start] = state["lambda_max"][:start]
        with progress_bar(G + 1, "generations", self.progress) as bar:
            bar.advance(start)
            for g in range(start, G + 1):
                import time

                t0 = time.perf_counter()
                rng = torch.Generator().manual_seed(seed_for(self.random_state, 1, g))
                eps = strategy.ask(w, rng) if g < G else None
                thetas = w[None] if eps is None else torch.cat([w[None], w + self.sigma * eps])
                noise = torch.randn(thetas.shape[0], n, gen.latent_dim, generator=rng)
                if common and thetas.shape[0] > 2:
                    noise[2:] = noise[1]
                with torch.no_grad():
                    lk = batched_log_km(gen, thetas, noise)
                del thetas
                lam = evaluate_log_km(
                    problem, lk, self.n_jobs, self.backend, n, self.address
                ).reshape(-1, n)
                rewards = reward_fn(lam)
                lam_all[g, : lam.shape[0]] = lam.to(torch.float32)
                row = {
                    "generation": g,
                    "reward": float(rewards[0]),
                    "incidence": float((lam[0] < problem.partition).double().mean()),
                    "learning_rate": strategy.learning_rate,
                    "member_reward_mean": float(rewards[1:].mean()) if g < G else float("nan"),
                    "member_reward_max": float(rewards[1:].max()) if g < G else float("nan"),
                }
                if eps is not None:
                    w = strategy.tell(w, eps, rewards[1:])
                row["seconds"] = time.perf_counter() - t0
                rows.append(row)
                bar.advance(1, incidence=f"{row['incidence']:.2f}")
                if callback is not None:
                    callback(
                        {
                            "generation": g + 1,
                            "weights": w,
                            "strategy": strategy.state_dict(),
                            "history": rows,
                            "lambda_max": lam_all[: g + 1].clone(),
                        }
                    )
        gen.load_flat(w)
        self.generator_ = gen.eval().requires_grad_(False)
        self.strategy_ = strategy
        self.history_ = pd.DataFrame(rows)
        self.lambda_max_ = lam_all
        self.n_km_ = int(problem.n_km)
        return self

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        n: int,
        random_state: int = 0,
        chunk: int = 100_000,
        map_batch: int | None = None,
        progress: Any = False,
    ) -> torch.Tensor:
        """``n`` Km sets, ln(Km in mol/L) ``(n, n_km)`` float32, drawn in chunks.

        Args:
            n: number of sets.
            random_state: seed of the noise (chunk ``k`` uses its own derived seed).
            chunk: sets per forward pass (bounds memory).
            map_batch: published map only: the min-max map covers blocks of this many
                sets (default ``n_models``, as in training); 0 maps all ``n`` together,
                as the published script does (two passes over the same noise).
            progress: bar or callback over sets.
        """
        from kinflux.progress import progress_bar

        if not hasattr(self, "generator_"):
            raise KinfluxError("this RenaissanceGenerator is not fitted; call fit() first")
        if int(n) < 1 or int(chunk) < 1:
            raise KinfluxError(f"need n >= 1 and chunk >= 1, got {n}, {chunk}")
        g = self.generator_
        published = g.output_map == "published"
        block = int(self.n_models if map_batch is None else map_batch) if published else 0
        if published and block > 0:
            chunk = max(block, int(chunk) // block * block)
        starts = list(range(0, int(n), int(chunk)))
        out = torch.empty(int(n), g.n_km, dtype=torch.float32)
        lo_hi = None
        if published and block == 0:
            lo_hi = self._raw_range(n, chunk, random_state)
        with torch.no_grad(), progress_bar(int(n), "Km sets", progress) as bar:
            for k, s in enumerate(starts):
                m = min(int(chunk), int(n) - s)
                z = torch.randn(
                    m,
                    g.latent_dim,
                    generator=torch.Generator().manual_seed(seed_for(random_state, 2, k)),
                )
                raw = g.raw(z)
                if not published:
                    span = g.log_km_high - g.log_km_low
                    out[s : s + m] = torch.sigmoid_(raw).mul_(span).add_(g.log_km_low)
                elif lo_hi is not None:
                    span = max(lo_hi[1] - lo_hi[0], 1e-30)
                    out[s : s + m] = g.log_km_low + (g.log_km_high - g.log_km_low) * (
                        (raw - lo_hi[0]) / span
                    )
                else:
                    full, rest = divmod(m, block)
                    if full:
                        out[s : s + full * block] = map_log_km(
                            raw[: full * block].reshape(full, block, -1),
                            g.log_km_low,
                            g.log_km_high,
                            "published",
                        ).reshape(-1, g.n_km)
                    if rest:
                        out[s + full * block : s + m] = map_log_km(
                            raw[full * block :], g.log_km_low, g.log_km_high, "published"
                        )
                bar.advance(m)
        return out

    def _raw_range(self, n: int, chunk: int, random_state: int) -> tuple[float, float]:
        """Smallest and largest raw output over all ``n`` sets (first pass of map_batch=0)."""
        g, lo, hi = self.generator_, float("inf"), float("-inf")
        with torch.no_grad():
            for k, s in enumerate(range(0, int(n), int(chunk))):
                m = min(int(chunk), int(n) - s)
                gk = torch.Generator().manual_seed(seed_for(random_state, 2, k))
                raw = g.raw(torch.randn(m, g.latent_dim, generator=gk))
                lo, hi = min(lo, float(raw.min())), max(hi, float(raw.max()))
        return lo, hi
