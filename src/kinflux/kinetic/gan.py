"""GANs that generate kinetic parameter sets (ln Km), plain and conditional.

The architecture is the one of the EPFL-LCSB poster on generative baselines (5,000
kinetic models of a hypothetical pathway): generator and discriminator each have one
hidden layer of 1,024 units; learning rate 1e-4; generator weight decay 1e-4;
discriminator dropout 0.3; batch 50; a sigmoid on the discriminator's output and no
activation on the generator's; 20,000 epochs. What the poster does not state is chosen
here and listed so it can be changed:

- optimizer: Adam for both networks with ``betas = (0.5, 0.999)`` (the setting of
  REKINDLE, the conditional GAN of the same group); the weight decay is Adam's L2 term;
- hidden activation: LeakyReLU with slope 0.2 (as in REKINDLE);
- loss: binary cross-entropy, non-saturating generator loss; one discriminator step
  (a real and a generated batch) then one generator step per batch;
- data scaling: each column standardized to mean 0, sd 1 on the training data (the
  generator has no output activation, so no [-1, 1] range is needed); samples are
  mapped back to the data's units;
- latent noise ``z ~ N(0, I)``.

:class:`ConditionalKineticGAN` adds a label input to both networks (REKINDLE's
conditioning): ``+1`` for a valid set (``lambda_max`` below the partition), ``-1`` for
an invalid one; during training the generator gets the labels of the real batch, so it
learns ``p(x | label)``; :meth:`ConditionalKineticGAN.sample` draws with the "valid"
label by default.

Both are scikit-learn-style estimators (``__init__`` stores the hyper-parameters; fitted
state ends in ``_``; ``random_state`` fixes every random draw). ``fit(X, checkpoint=path)``
saves the full training state every ``checkpoint_every`` epochs (atomically) and, when
the file exists, resumes from it and reaches the same weights as an uninterrupted run
on the same machine (CPU).

Shapes: ``X`` ``(n_sets, d)`` (ln Km, one column per Michaelis constant in the study);
``y`` ``(n_sets,)`` bool (True = valid).

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> gan = KineticGAN(latent_dim=2, hidden_units=16, epochs=2, random_state=0).fit(X)
    >>> gan.sample(5).shape
    (5, 3)
    >>> y = X[:, 0] > 0
    >>> cgan = ConditionalKineticGAN(latent_dim=2, hidden_units=16, epochs=2, random_state=0)
    >>> cgan.fit(X, y).sample(4, label="valid").shape
    (4, 3)
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from kinflux import KinfluxError
from kinflux.progress import ProgressArg, progress_bar

__all__ = ["KineticGAN", "ConditionalKineticGAN", "GANError"]


class GANError(KinfluxError):
    """Bad data, settings or checkpoint for a GAN, or a training run that diverged."""


def _generator(latent: int, d: int, hidden: int, slope: float, n_label: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(latent + n_label, hidden), nn.LeakyReLU(slope), nn.Linear(hidden, d)
    )


def _discriminator(d: int, hidden: int, slope: float, dropout: float, n_label: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(d + n_label, hidden),
        nn.LeakyReLU(slope),
        nn.Dropout(dropout),
        nn.Linear(hidden, 1),
        nn.Sigmoid(),
    )


def _fingerprint(X: np.ndarray, y: np.ndarray | None) -> str:
    h = hashlib.sha256(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    if y is not None:
        h.update(np.ascontiguousarray(y, dtype=np.int8).tobytes())
    return h.hexdigest()[:16]


class KineticGAN(BaseEstimator):
    """The poster's GAN on parameter sets.

    Args:
        latent_dim: size of the noise vector ``z``.
        hidden_units: units of the one hidden layer of each network (1,024 published).
        epochs: passes over the training sets (20,000 published).
        batch_size: sets per step (50 published).
        learning_rate: Adam step size of both networks (1e-4 published).
        betas: Adam's ``(beta1, beta2)``.
        generator_weight_decay: L2 weight decay of the generator (1e-4 published).
        dropout: dropout of the discriminator's hidden layer (0.3 published).
        negative_slope: LeakyReLU slope of the hidden layers.
        checkpoint_every: epochs between checkpoints when ``fit`` gets a path.
        device: torch device (``"cpu"``, ``"cuda"``).
        random_state: seed of every draw (weights, batches, noise, dropout).
        progress: progress bar over epochs (bool or callback).

    Attributes:
        generator_, discriminator_: the trained ``nn.Module`` s.
        mean_, scale_: ``(d,)`` column scaling of the training data.
        history_: per epoch ``{"epoch", "d_loss", "g_loss", "d_real", "d_fake"}``
            (mean discriminator outputs on real and generated sets).
        epochs_done_: epochs trained; seconds_: training wall time (s, summed over
            resumed pieces); n_features_in_: ``d``.
    """

    _conditional = False

    def __init__(
        self,
        latent_dim: int = 8,
        hidden_units: int = 1024,
        epochs: int = 20000,
        batch_size: int = 50,
        learning_rate: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        generator_weight_decay: float = 1e-4,
        dropout: float = 0.3,
        negative_slope: float = 0.2,
        checkpoint_every: int = 100,
        device: str = "cpu",
        random_state: int | None = None,
        progress: ProgressArg = False,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.betas = betas
        self.generator_weight_decay = generator_weight_decay
        self.dropout = dropout
        self.negative_slope = negative_slope
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ checks
    def _check(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray | None]:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 2:
            raise GANError(f"GAN.fit needs a 2-D array (n_sets >= 2, d), got shape {X.shape}")
        if not np.isfinite(X).all():
            raise GANError("GAN.fit: X has non-finite values; drop those parameter sets first")
        for name in ("latent_dim", "hidden_units", "epochs", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise GANError(f"GAN: {name} must be >= 1, got {getattr(self, name)!r}")
        if not 0 <= self.dropout < 1:
            raise GANError(f"GAN: dropout must be in [0, 1), got {self.dropout!r}")
        if self._conditional:
            if y is None:
                raise GANError("ConditionalKineticGAN.fit needs labels y (True = valid set)")
            y = np.asarray(y).astype(bool).reshape(-1)
            if y.shape[0] != X.shape[0]:
                raise GANError(f"GAN.fit: {y.shape[0]} labels for {X.shape[0]} parameter sets")
        else:
            y = None
        return X, y

    def _signature(self) -> dict[str, Any]:
        p = self.get_params()
        for k in ("epochs", "progress", "checkpoint_every", "device"):
            p.pop(k)
        p["betas"] = list(p["betas"])
        p["conditional"] = self._conditional
        return p

    # ------------------------------------------------------------------ training
    def fit(self, X: Any, y: Any = None, checkpoint: str | os.PathLike | None = None) -> Any:
        """Train on ``X`` ``(n_sets, d)`` (and labels ``y`` for the conditional GAN).

        Args:
            X: training parameter sets.
            y: ``(n_sets,)`` bool, True = valid (conditional GAN only; ignored otherwise).
            checkpoint: a ``.pt`` file: resume from it if it exists (same data and
                hyper-parameters, ``epochs`` may grow), and save to it every
                ``checkpoint_every`` epochs and at the end.

        Returns:
            self.

        Raises:
            GANError: bad input, a checkpoint from other data or settings, or
                non-finite losses (training diverged).
        """
        X, y = self._check(X, y)
        dev = torch.device(self.device)
        n, d = X.shape
        n_label = 1 if self._conditional else 0
        if self.random_state is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        else:
            seed = int(self.random_state)
        fp = _fingerprint(X, y)
        state = self._load_checkpoint(checkpoint, fp) if checkpoint else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = _generator(self.latent_dim, d, self.hidden_units, self.negative_slope, n_label)
            dis = _discriminator(d, self.hidden_units, self.negative_slope, self.dropout, n_label)
            gen, dis = gen.to(dev), dis.to(dev)
            opt_g = torch.optim.Adam(
                gen.parameters(),
                lr=self.learning_rate,
                betas=tuple(self.betas),
                weight_decay=self.generator_weight_decay,
            )
            opt_d = torch.optim.Adam(
                dis.parameters(), lr=self.learning_rate, betas=tuple(self.betas)
            )
            draws = torch.Generator().manual_seed(seed + 1)
            mean, scale = X.mean(axis=0), X.std(axis=0)
            scale = np.where(scale > 0, scale, 1.0)
            history: list[dict[str, float]] = []
            start, seconds = 0, 0.0
            if state is not None:
                gen.load_state_dict(state["generator"])
                dis.load_state_dict(state["discriminator"])
                opt_g.load_state_dict(state["opt_g"])
                opt_d.load_state_dict(state["opt_d"])
                draws.set_state(state["draws"])
                torch.set_rng_state(state["torch_rng"])
                history, start, seconds = list(state["history"]), state["epoch"], state["seconds"]
            xt = torch.as_tensor((X - mean) / scale, dtype=torch.float32, device=dev)
            lt = None
            if y is not None:
                lt = torch.as_tensor(np.where(y, 1.0, -1.0)[:, None], dtype=torch.float32)
                lt = lt.to(dev)
            self.generator_, self.discriminator_ = gen, dis
            self.mean_, self.scale_, self.n_features_in_ = mean, scale, d
            bce = nn.BCELoss()
            bs = min(int(self.batch_size), n)
            with progress_bar(int(self.epochs), self._describe(), self.progress) as bar:
                bar.update(start)
                for epoch in range(start, int(self.epochs)):
                    t0 = time.perf_counter()
                    row = self._epoch(xt, lt, gen, dis, opt_g, opt_d, bce, draws, bs, dev)
                    seconds += time.perf_counter() - t0
                    row["epoch"] = epoch + 1
                    history.append(row)
                    if not np.isfinite(row["d_loss"] + row["g_loss"]):
                        raise GANError(
                            f"GAN training diverged at epoch {epoch + 1} (non-finite loss); "
                            "lower learning_rate or change random_state"
                        )
                    bar.advance(1, d_loss=row["d_loss"], g_loss=row["g_loss"])
                    done = epoch + 1
                    if checkpoint and (
                        done % int(self.checkpoint_every) == 0 or done == self.epochs
                    ):
                        self._save_checkpoint(
                            checkpoint, fp, opt_g, opt_d, draws, history, done, seconds
                        )
        self.history_ = history
        self.epochs_done_ = len(history)
        self.seconds_ = seconds
        gen.eval()
        return self

    def _epoch(self, xt, lt, gen, dis, opt_g, opt_d, bce, draws, bs, dev) -> dict[str, float]:  # noqa: ANN001
        gen.train()
        dis.train()
        n = xt.shape[0]
        perm = torch.randperm(n, generator=draws).to(dev)
        ones = torch.ones(bs, 1, device=dev)
        zeros = torch.zeros(bs, 1, device=dev)
        sums = np.zeros(4)
        steps = 0
        for i in range(0, n - bs + 1, bs):
            idx = perm[i : i + bs]
            real = xt[idx]
            lab = lt[idx] if lt is not None else None
            z = torch.randn(bs, self.latent_dim, generator=draws).to(dev)
            fake = gen(_join(z, lab))
            opt_d.zero_grad(set_to_none=True)
            p_real = dis(_join(real, lab))
            p_fake = dis(_join(fake.detach(), lab))
            d_loss = bce(p_real, ones) + bce(p_fake, zeros)
            d_loss.backward()
            opt_d.step()
            z = torch.randn(bs, self.latent_dim, generator=draws).to(dev)
            opt_g.zero_grad(set_to_none=True)
            g_loss = bce(dis(_join(gen(_join(z, lab)), lab)), ones)
            g_loss.backward()
            opt_g.step()
            sums += [d_loss.item(), g_loss.item(), p_real.mean().item(), p_fake.mean().item()]
            steps += 1
        m = sums / max(steps, 1)
        return {
            "d_loss": float(m[0]),
            "g_loss": float(m[1]),
            "d_real": float(m[2]),
            "d_fake": float(m[3]),
        }

    def _describe(self) -> str:
        kind = "cGAN" if self._conditional else "GAN"
        return f"{kind} latent {self.latent_dim}"

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, path, fp, opt_g, opt_d, draws, history, epoch, seconds) -> None:  # noqa: ANN001
        from kinflux.io import atomic_write

        state = {
            "signature": self._signature(),
            "fingerprint": fp,
            "generator": self.generator_.state_dict(),
            "discriminator": self.discriminator_.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "draws": draws.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": history,
            "epoch": int(epoch),
            "seconds": float(seconds),
        }
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(p, "wb") as fh:
            torch.save(state, fh)

    def _load_checkpoint(self, path: str | os.PathLike, fp: str) -> dict[str, Any] | None:
        p = Path(path)
        if not p.exists():
            return None
        try:
            state = torch.load(p, map_location=self.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001  (any unreadable file)
            raise GANError(
                f"{p}: unreadable GAN checkpoint ({exc}); delete it to start again"
            ) from exc
        if state.get("signature") != self._signature():
            raise GANError(
                f"{p}: checkpoint of a GAN with other settings ({state.get('signature')}); "
                "use the same hyper-parameters or delete the checkpoint"
            )
        if state.get("fingerprint") != fp:
            raise GANError(
                f"{p}: checkpoint was trained on other data; delete it or pass the same X/y"
            )
        if state["epoch"] > int(self.epochs):
            raise GANError(
                f"{p}: checkpoint has {state['epoch']} epochs, more than epochs={self.epochs}"
            )
        return state

    # ------------------------------------------------------------------ sampling
    def _fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise GANError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def _draw(self, n: int, labels: torch.Tensor | None, random_state: int | None) -> np.ndarray:
        self._fitted()
        seed = self.random_state if random_state is None else random_state
        g = torch.Generator()
        if seed is None:
            g.seed()
        else:
            g.manual_seed(int(seed) + 2)
        dev = next(self.generator_.parameters()).device
        z = torch.randn(int(n), self.latent_dim, generator=g).to(dev)
        lab = labels.to(dev) if labels is not None else None
        self.generator_.eval()
        with torch.no_grad():
            out = self.generator_(_join(z, lab)).double().cpu().numpy()
        return out * self.scale_ + self.mean_

    def sample(self, n: int, random_state: int | None = None) -> np.ndarray:
        """``n`` generated sets in the data's units, ``(n, d)``.

        ``random_state`` overrides the estimator's seed for this call.
        """
        return self._draw(n, None, random_state)


class ConditionalKineticGAN(KineticGAN):
    """The poster's GAN with a label input (REKINDLE's conditioning); same arguments.

    ``fit(X, y)`` needs ``y`` (bool, True = valid); :meth:`sample` draws with a label.
    """

    _conditional = True

    def sample(self, n: int, label: Any = "valid", random_state: int | None = None) -> np.ndarray:
        """``n`` sets generated with ``label``: ``"valid"``/True (default),
        ``"invalid"``/False, or a ``(n,)`` bool array; ``(n, d)`` in the data's units."""
        if isinstance(label, str):
            if label not in ("valid", "invalid"):
                raise GANError(f"label must be 'valid' or 'invalid', got {label!r}")
            lab = np.full(int(n), label == "valid")
        else:
            lab = np.broadcast_to(np.asarray(label, dtype=bool), (int(n),))
        t = torch.as_tensor(np.where(lab, 1.0, -1.0)[:, None], dtype=torch.float32)
        return self._draw(n, t, random_state)


def _join(x: torch.Tensor, label: torch.Tensor | None) -> torch.Tensor:
    return x if label is None else torch.cat([x, label], dim=1)
