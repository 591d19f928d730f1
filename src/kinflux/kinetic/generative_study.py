"""GAN versus probabilistic PCA on ORACLE parameter sets, by latent size.

The study (issue: generative baselines for kinetic parameter sets):

1. **Data** (:func:`oracle_dataset`): ``n_sets`` ORACLE draws of ln Km (ln mol/L) around
   the problem's steady state, each labelled valid when ``lambda_max < partition``
   (h^-1), split into training and held-out sets (``test_fraction``) with a fixed seed.
2. For each latent size ``q``: a :class:`~kinflux.kinetic.ppca.PPCA` and a
   :class:`~kinflux.kinetic.gan.KineticGAN` are fitted on the training sets; each draws
   ``n_generated`` sets which are compared with the held-out sets by the three
   estimators of :mod:`kinflux.kinetic.divergence` (``kl_joint`` is the headline), and
   checked through the Jacobian (``incidence`` = share with ``lambda_max < partition``);
   ``seconds`` is the training time.
3. A :class:`~kinflux.kinetic.gan.ConditionalKineticGAN` (latent ``cgan_latent``) is
   trained on sets and labels and sampled with the "valid" label.
4. Reference rows: the training data itself (``n_generated`` training sets against the
   held-out ones: the estimator's floor for two samples of one distribution, and the
   training incidence).

Everything goes into a :class:`~kinflux.runs.RunFolder`: ``data.npz`` (the ORACLE sets),
``metrics.csv`` (one row per model and latent size), ``generated/*.npz`` (sets of the
latent sizes in ``keep_latents`` and of the cGAN), ``checkpoints/`` (GAN training
states), ``figures/``. An interrupted study resumed with ``resume=True`` skips the rows
already written and continues a GAN from its last checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from kinflux import KinfluxError
from kinflux.kinetic.divergence import ESTIMATORS
from kinflux.kinetic.gan import ConditionalKineticGAN, GANError, KineticGAN
from kinflux.kinetic.ppca import PPCA
from kinflux.kinetic.problem import KineticProblem
from kinflux.progress import ProgressArg, progress_bar

__all__ = [
    "GenerativeData",
    "oracle_dataset",
    "anthranilate_problem",
    "evaluate_sets",
    "generative_study",
]


@dataclass
class GenerativeData:
    """ORACLE training and held-out sets of one problem.

    Attributes:
        train, test: ln Km (ln mol/L), ``(n_train, n_km)`` and ``(n_test, n_km)``.
        valid_train, valid_test: labels, ``(n_train,)`` / ``(n_test,)`` bool.
        lambda_train, lambda_test: lambda_max (h^-1).
        km_names: column names; incidence: share of valid sets among all.
    """

    train: np.ndarray
    test: np.ndarray
    valid_train: np.ndarray
    valid_test: np.ndarray
    lambda_train: np.ndarray
    lambda_test: np.ndarray
    km_names: list[str]
    incidence: float

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write one ``.npz`` (atomic)."""
        from kinflux.io import save_npz

        arrays = {k: getattr(self, k) for k in self._arrays()}
        arrays["km_names"] = list(self.km_names)
        return save_npz(path, arrays, {**(metadata or {}), "incidence": self.incidence}, True)

    @classmethod
    def load(cls, path: str | Path) -> GenerativeData:
        """Read :meth:`save` output."""
        from kinflux.io import load_npz

        a, meta = load_npz(path, required=[*cls._arrays(), "km_names"], what="generative data")
        return cls(
            **{k: a[k] for k in cls._arrays()},
            km_names=[str(s) for s in a["km_names"]],
            incidence=float(meta["incidence"]),
        )

    @staticmethod
    def _arrays() -> list[str]:
        return ["train", "test", "valid_train", "valid_test", "lambda_train", "lambda_test"]


def oracle_dataset(
    problem: KineticProblem, n_sets: int = 5000, test_fraction: float = 0.2, seed: int = 0
) -> GenerativeData:
    """``n_sets`` ORACLE ln Km sets with their labels, split train / held-out.

    Args:
        problem: model, steady state, Km bounds and partition.
        n_sets: number of sets (>= 10).
        test_fraction: share held out (0 < f < 1).
        seed: seed of the draw and of the split.

    Returns:
        A :class:`GenerativeData`.
    """
    from kinflux.kinetic.oracle import oracle_sample

    if n_sets < 10 or not 0 < test_fraction < 1:
        raise KinfluxError(
            f"need n_sets >= 10 and 0 < test_fraction < 1, got {n_sets}, {test_fraction}"
        )
    res = oracle_sample(problem, n_sets, seed=seed)
    x = res.log_km.numpy()
    lam = res.lambda_max.numpy()
    valid = res.valid.numpy().astype(bool)
    perm = np.random.default_rng(seed).permutation(n_sets)
    n_test = max(1, int(round(test_fraction * n_sets)))
    te, tr = perm[:n_test], perm[n_test:]
    return GenerativeData(
        x[tr], x[te], valid[tr], valid[te], lam[tr], lam[te], list(res.km_names), res.incidence
    )


def anthranilate_problem(
    n_profiles: int = 20, min_incidence: float = 0.05, probe: int = 500, seed: int = 0
) -> tuple[KineticProblem, pd.DataFrame]:
    """kin_varma_anthranilate around one sampled steady-state profile.

    Samples ``n_profiles`` profiles under the published constraints (growth >= 0.26
    h^-1, anthranilate >= 0.14 mmol/gDW/h), measures each one's ORACLE incidence on
    ``probe`` sets, and picks the profile with the *lowest* incidence that is still
    ``>= min_incidence``: a hard case for generators that still gives the conditional
    GAN valid examples to learn from. Returns the problem and the per-profile table.
    """
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.oracle import oracle_sample
    from kinflux.kinetic.sampling import anthranilate_constraints, sample_steady_states

    model = KineticModel.from_yaml(kinetic_model_path("kin_varma_anthranilate"))
    samples = sample_steady_states(model, n_profiles, anthranilate_constraints(model), seed=seed)
    rows = []
    for i in range(n_profiles):
        pb = KineticProblem.from_samples(samples, i)
        rows.append({"profile": i, "incidence": oracle_sample(pb, probe, seed=seed + i).incidence})
    table = pd.DataFrame(rows)
    ok = table[table.incidence >= min_incidence]
    if ok.empty:
        raise KinfluxError(
            f"none of {n_profiles} anthranilate profiles (seed {seed}) reaches an ORACLE "
            f"incidence of {min_incidence}; lower min_incidence or sample more profiles"
        )
    best = int(ok.sort_values(["incidence", "profile"]).iloc[0].profile)
    return KineticProblem.from_samples(samples, best), table.assign(chosen=table.profile == best)


def evaluate_sets(
    problem: KineticProblem, generated: np.ndarray, reference: np.ndarray
) -> dict[str, float]:
    """KL of ``generated`` ``(m, n_km)`` from ``reference`` ``(n, n_km)`` by every
    estimator, and the incidence of valid models among the generated sets.

    Sets with non-finite values count as invalid and are left out of the KL
    (``nonfinite`` counts them); ``out_of_bounds`` is the share of sets with a Km
    outside the problem's bounds.
    """
    g = np.asarray(generated, dtype=np.float64)
    fin = np.isfinite(g).all(axis=1)
    lam = problem.lambda_max_of_log_km(torch.as_tensor(g[fin]))
    valid = int(problem.is_valid(lam).sum())
    oob = ((g < problem.log_km_low) | (g > problem.log_km_high)).any(axis=1) & fin
    row: dict[str, float] = {}
    for name, fn in ESTIMATORS.items():
        row[name] = fn(reference, g[fin]) if fin.sum() > 5 else float("nan")
    row["incidence"] = valid / max(len(g), 1)
    row["nonfinite"] = int((~fin).sum())
    row["out_of_bounds"] = float(oob.mean())
    return row


def _done_rows(run: Any) -> pd.DataFrame:
    p = run.work / "metrics.csv"
    return pd.read_csv(p) if p.exists() else pd.DataFrame(columns=["model", "latent"])


def generative_study(
    problem: KineticProblem,
    out: str | Path,
    name: str = "kin_varma/strain_1",
    latents: Sequence[int] = tuple(range(1, 19)),
    epochs: int = 20000,
    cgan_epochs: int | None = None,
    cgan_latent: int = 8,
    n_sets: int = 5000,
    n_generated: int = 1000,
    hidden_units: int = 1024,
    keep_latents: Sequence[int] = (2, 8),
    seed: int = 0,
    force: bool = False,
    resume: bool = False,
    progress: ProgressArg = True,
) -> pd.DataFrame:
    """Run the study on one problem into the run folder ``out``; returns its table.

    Args:
        problem: the kinetic problem (validity through its Jacobian).
        out: run folder.
        name: label of the problem in the table and figures.
        latents: latent sizes for GAN and PPCA (may be empty: cGAN only).
        epochs: GAN epochs per latent size; cgan_epochs: the cGAN's (default ``epochs``;
            0 skips the cGAN); cgan_latent: its latent size.
        n_sets: ORACLE sets (train + held-out, 20 % held out).
        n_generated: sets drawn from every model and checked through the Jacobian.
        hidden_units: GAN hidden layer width (1,024 published; smaller for tests).
        keep_latents: latent sizes whose generated sets are kept for the figures.
        seed: seed of the data, the split and every model.
        force, resume: see :class:`~kinflux.runs.RunFolder`.
        progress: a bar over models (bool or callback).

    Returns:
        DataFrame with one row per ``model`` (``PPCA``, ``GAN``, ``cGAN``,
        ``training data``) and ``latent``: ``kl_joint``, ``kl_marginal``,
        ``kl_means_hist`` (nats), ``incidence``, ``nonfinite``, ``out_of_bounds``,
        ``seconds`` (training), ``epochs``.
    """
    from kinflux.io import save_npz
    from kinflux.runs import RunFolder

    cgan_epochs = epochs if cgan_epochs is None else int(cgan_epochs)
    config = {
        "study": "gan_vs_ppca",
        "problem": name,
        "model_source": str(problem.model.source),
        "partition_per_h": problem.partition,
        "latents": [int(q) for q in latents],
        "epochs": int(epochs),
        "cgan_epochs": cgan_epochs,
        "cgan_latent": int(cgan_latent),
        "n_sets": int(n_sets),
        "n_generated": int(n_generated),
        "hidden_units": int(hidden_units),
        "keep_latents": [int(q) for q in keep_latents],
        "seed": int(seed),
        "gan": "Adam(lr 1e-4, betas (0.5, 0.999)), batch 50, G weight decay 1e-4, D dropout 0.3",
        "progress": bool(progress),
    }
    with RunFolder(out, config, force=force, resume=resume) as run:
        data_path = run.work / "data.npz"
        if data_path.exists():
            data = GenerativeData.load(data_path)
        else:
            data = oracle_dataset(problem, n_sets, seed=seed)
            data.save(data_path, {"problem": name, "seed": seed})
        run.save_checkpoint({"stage": "data"}, "study.pt")
        done = _done_rows(run)
        have = {(str(m), int(q)) for m, q in zip(done["model"], done["latent"], strict=True)}
        tasks = [("training data", 0)] + [(m, int(q)) for q in latents for m in ("PPCA", "GAN")]
        if cgan_epochs > 0:
            tasks.append(("cGAN", int(cgan_latent)))
        todo = [t for t in tasks if t not in have]
        with progress_bar(len(tasks), f"{name}: GAN vs PPCA", progress) as bar:
            bar.update(len(tasks) - len(todo))
            for kind, q in todo:
                row = _fit_and_evaluate(kind, q, problem, data, config, run, bar)
                if q in keep_latents or kind == "cGAN":
                    save_npz(
                        run.file(f"generated/{kind}_latent_{q}.npz"),
                        {"log_km": row.pop("_sets")},
                        {"model": kind, "latent": q},
                        force=True,
                    )
                row.pop("_sets", None)
                run.append_metrics({"problem": name, "model": kind, "latent": q, **row})
                run.log(f"{kind} latent {q}: {row}")
                bar.advance(1, model=kind, latent=q)
        table = pd.read_csv(run.work / "metrics.csv")
        _figures(run, table, data, name, keep_latents)
    return table


def _fit_and_evaluate(
    kind: str, q: int, problem: KineticProblem, data: GenerativeData, cfg: dict, run: Any, bar: Any
) -> dict[str, Any]:
    """Train one model (or take the training data), draw sets, evaluate them.

    ``cfg``: ``n_generated``, ``epochs``, ``cgan_epochs``, ``hidden_units``, ``seed``.
    """
    n_gen, seed = int(cfg["n_generated"]), int(cfg["seed"])
    t0 = time.perf_counter()
    n_epochs, ref = 0, data.test
    if kind == "training data":
        rng = np.random.default_rng(seed)
        sets = data.train[rng.permutation(len(data.train))[:n_gen]]
    elif kind == "PPCA":
        sets = PPCA(n_components=q, random_state=seed + q).fit(data.train).sample(n_gen)
    else:
        conditional = kind == "cGAN"
        n_epochs = int(cfg["cgan_epochs"] if conditional else cfg["epochs"])
        if conditional and data.valid_test.sum() > 5:
            ref = data.test[data.valid_test]  # the cGAN draws valid sets: compare with those

        def _tick(done: int, total: int, info: dict) -> None:
            bar.update(bar.done, model=kind, latent=q, epoch=f"{done}/{total}", **info)

        cls = ConditionalKineticGAN if conditional else KineticGAN
        gan = cls(
            latent_dim=q,
            hidden_units=int(cfg["hidden_units"]),
            epochs=n_epochs,
            random_state=seed + q,
            progress=_tick,
        )
        ckpt = run.file(f"checkpoints/{kind}_latent_{q}.pt")
        try:
            if conditional:
                gan.fit(data.train, data.valid_train, checkpoint=ckpt)
                sets = gan.sample(n_gen, label="valid")
            else:
                gan.fit(data.train, checkpoint=ckpt)
                sets = gan.sample(n_gen)
            seconds = gan.seconds_
        except GANError as exc:
            run.log(f"{kind} latent {q} failed: {exc}")
            sets = np.full((n_gen, data.train.shape[1]), np.nan)
            seconds = time.perf_counter() - t0
        ckpt.unlink(missing_ok=True)
        return {
            **evaluate_sets(problem, sets, ref),
            "seconds": round(seconds, 3),
            "epochs": n_epochs,
            "_sets": sets,
        }
    seconds = time.perf_counter() - t0
    return {
        **evaluate_sets(problem, sets, ref),
        "seconds": round(seconds, 3),
        "epochs": n_epochs,
        "_sets": sets,
    }


def _figures(run: Any, table: pd.DataFrame, data: GenerativeData, name: str, keep) -> None:  # noqa: ANN001
    from kinflux.io import load_npz
    from kinflux.plots.generative import kl_by_latent, projection

    sweep = table[table.model.isin(["GAN", "PPCA"])]
    if not sweep.empty:
        for est in ESTIMATORS:
            kl_by_latent(table, run.file(f"figures/{est}_by_latent.png"), est, title=name)
    gen = {}
    for p in sorted((run.work / "generated").glob("*.npz")):
        a, meta = load_npz(p, required=["log_km"], what="generated sets")
        if meta.get("model") == "cGAN" or int(meta.get("latent", -1)) in keep:
            gen[f"{meta['model']} (latent {meta['latent']})"] = a["log_km"]
    if gen:
        projection(data.test, gen, run.file("figures/projection.png"), title=name)
