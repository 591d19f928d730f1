"""Training runs on disk: one folder per run, written atomically.

``train_run`` fills a temporary sibling folder (config.json, metrics.csv, model.pt,
parity and learning-curve PNGs) and renames it onto the requested folder only when
everything succeeded, so a failed run never replaces a good one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kinflux import KinfluxError
from kinflux.flux.dataset import TrainingSet
from kinflux.flux.network import Network
from kinflux.flux.train import AMN, cross_validate, evaluate
from kinflux.io import OutputExistsError, check_output, write_json

__all__ = ["TrainSpec", "train_run", "predict_file"]


@dataclass
class TrainSpec:
    """Everything that defines a training run (saved as ``config.json``)."""

    data: Path
    arch: str = "AMN-QP"
    folds: int = 5
    test: Path | None = None
    model: str | None = None
    epochs: int = 200
    hidden: tuple[int, ...] = (500,)
    dropout: float = 0.25
    n_iter: int | None = None
    reference: str | list[str] = "all"
    lr: float = 3e-3
    batch_size: int = 64
    seed: int = 0

    def make_amn(self, network: Network, ts: TrainingSet) -> AMN:
        """A fresh AMN for this spec."""
        return AMN(
            network,
            ts.medium_ids,
            arch=self.arch,
            mode=ts.metadata.get("mode", "UB"),
            hidden=self.hidden,
            dropout=self.dropout,
            n_iter=self.n_iter,
            reference=self.reference,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            open_inflows=ts.metadata.get("open_inflows"),
            random_state=self.seed,
        )


def network_for(ts: TrainingSet, model: str | None) -> Network:
    """The network a training set was built on (checked by hash)."""
    net = Network.load(model or ts.metadata.get("model", "e_coli_core"))
    want = ts.metadata.get("network_hash")
    if want and want != net.hash:
        raise KinfluxError(
            f"the training set was built on a network with hash {want[:12]}, but model "
            f"'{net.name}' has hash {net.hash[:12]}; pass --model with the original model file"
        )
    return net


def train_run(
    spec: TrainSpec, out: str | os.PathLike, force: bool = False, progress: bool = False
) -> dict[str, Any]:
    """Cross-validate (if ``spec.folds >= 2``), fit on all data, write the run folder.

    Returns the metrics written to ``metrics.csv``.
    """
    from kinflux import plots

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExistsError(f"run folder {out} exists; pass --force to replace it")
    ts = TrainingSet.load(spec.data)
    net = network_for(ts, spec.model)
    metrics: dict[str, Any] = {"arch": spec.arch, "samples": len(ts)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        g = net.objective_index
        if spec.folds >= 2:
            cv = cross_validate(
                lambda: spec.make_amn(net, ts), ts.X, ts.Y, folds=spec.folds, random_state=spec.seed
            )
            pred = cv.pop("predictions")
            metrics.update(cv)
            plots.parity_plot(
                ts.Y[:, g],
                pred[:, g],
                tmp / "parity_growth_cv.png",
                title=f"{spec.arch} growth (CV)",
                label="growth (h^-1)",
            )
            plots.parity_plot(
                ts.Y, pred, tmp / "parity_fluxes_cv.png", title=f"{spec.arch} all fluxes (CV)"
            )
        amn = spec.make_amn(net, ts).fit(ts.X, ts.Y, progress=progress)
        train = evaluate(amn, ts.X, ts.Y)
        metrics.update(
            {
                "growth_R2_final": train["growth_r2"],
                "all_flux_R2_final": train["all_flux_r2"],
                "SV2_train": train["SV2"],
                "s_per_epoch_final": amn.seconds_per_epoch_,
                "params": amn.n_params_,
            }
        )
        if spec.test is not None:
            te = TrainingSet.load(spec.test)
            scores = evaluate(amn, te.X, te.Y)
            metrics.update(
                {
                    "growth_Q2_test": scores["growth_r2"],
                    "all_flux_Q2_test": scores["all_flux_r2"],
                    "SV2_test": scores["SV2"],
                }
            )
            V = amn.predict(te.X)
            plots.parity_plot(
                te.Y[:, g],
                V[:, g],
                tmp / "parity_growth_test.png",
                title=f"{spec.arch} growth (test)",
                label="growth (h^-1)",
            )
        amn.save(tmp / "model.pt")
        plots.learning_curve(amn.history_, tmp / "learning_curve.png", title=spec.arch)
        pd.DataFrame([metrics]).to_csv(tmp / "metrics.csv", index=False)
        cfg = asdict(spec)
        cfg["network_hash"] = net.hash
        write_json(tmp / "config.json", cfg)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return metrics


def _read_media(path: Path, medium_ids: list[str]) -> np.ndarray:
    if path.suffix == ".npz":
        ts = TrainingSet.load(path)
        if ts.medium_ids != medium_ids:
            raise KinfluxError(f"{path}: medium columns differ from the model's medium_ids")
        return ts.X
    df = pd.read_csv(path)
    missing = [c for c in medium_ids if c not in df.columns]
    if missing:
        raise KinfluxError(
            f"{path}: missing medium column(s) {', '.join(missing[:5])}; "
            "the CSV needs one column per inflow id the model was trained with"
        )
    return df[medium_ids].to_numpy(dtype=float)


def predict_file(
    model_file: Path,
    data: Path,
    out: Path,
    model: str | None = None,
    knockout: list[str] | None = None,
    force: bool = False,
    project: bool | None = None,
) -> pd.DataFrame:
    """Predict split fluxes for the media in ``data``; write a CSV atomically.

    ``project``: replace each prediction by the closest exactly feasible flux
    distribution (see :meth:`AMN.predict`); default: only for knockouts.
    """
    import torch

    from kinflux.io import atomic_write

    check_output(out, force=force)
    payload = torch.load(model_file, map_location="cpu", weights_only=False)
    net = Network.load(model or payload["network_name"])
    amn = AMN.load(model_file, net)
    X = _read_media(Path(data), amn.medium_ids)
    if knockout:
        with amn.knockout(knockout, project=True if project is None else project):
            V = amn.predict(X)
    else:
        V = amn.predict(X, project=bool(project))
    df = pd.DataFrame(V, columns=net.reaction_ids)
    with atomic_write(out, "w") as fh:
        df.to_csv(fh, index=False)
    return df
