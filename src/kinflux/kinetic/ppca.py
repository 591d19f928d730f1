"""Probabilistic PCA (Tipping and Bishop, 1999) as a generator of parameter sets.

The model: ``x = W z + mu + eps`` with ``z ~ N(0, I_q)`` and ``eps ~ N(0, sigma^2 I_d)``,
so ``x ~ N(mu, W W^T + sigma^2 I)``. Its maximum-likelihood solution is closed-form:
``mu`` the data mean, ``sigma^2`` the mean of the ``d - q`` discarded eigenvalues of the
sample covariance, ``W = U_q (L_q - sigma^2 I)^(1/2)`` (up to a rotation) with ``U_q, L_q``
the leading eigenvectors and eigenvalues. scikit-learn's :class:`~sklearn.decomposition.
PCA` already fits exactly this model (``noise_variance_``, ``get_covariance``,
``score_samples`` = the PPCA log-likelihood), so :class:`PPCA` wraps it and adds the one
thing it lacks: drawing new samples from the fitted latent model. (scikit-learn divides
the covariance by ``n - 1`` rather than ``n``; the difference is ``1/n`` relative.)

In the generative study the rows are ln Km sets (ln mol/L), ``d = n_km`` columns.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)) @ np.array([[3.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    >>> model = PPCA(n_components=2, random_state=0).fit(X)
    >>> model.sample(4).shape
    (4, 3)
    >>> C = model.W_ @ model.W_.T + model.noise_variance_ * np.eye(3)
    >>> bool(np.allclose(C, model.get_covariance()))
    True
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA

from kinflux import KinfluxError

__all__ = ["PPCA", "PPCAError"]


class PPCAError(KinfluxError):
    """Bad data or settings for probabilistic PCA."""


class PPCA(BaseEstimator):
    """Probabilistic PCA by maximum likelihood, with sampling.

    Args:
        n_components: latent size ``q`` (1 <= q <= min(n, d)).
        standardize: fit on columns scaled to unit variance (samples are scaled back).
            The published PPCA works on the raw values; off by default.
        random_state: seed of :meth:`sample` (an int, or None for fresh randomness).

    Attributes:
        pca_: the fitted scikit-learn ``PCA``.
        mean_: ``(d,)`` data mean ``mu``.
        W_: ``(d, q)`` loading matrix ``U_q (L_q - sigma^2 I)^(1/2)``.
        noise_variance_: ``sigma^2`` (in the scaled units when ``standardize``).
        scale_: ``(d,)`` column scales (ones unless ``standardize``).
        components_: ``(q, d)`` principal axes.
        n_features_in_: ``d``.
    """

    def __init__(
        self, n_components: int = 8, standardize: bool = False, random_state: int | None = None
    ) -> None:
        self.n_components = n_components
        self.standardize = standardize
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: object = None) -> PPCA:
        """Fit ``mu``, ``W`` and ``sigma^2`` to ``X`` ``(n, d)``; ``y`` is ignored."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise PPCAError(f"PPCA.fit needs a 2-D array (n_sets, n_parameters), got {X.shape}")
        if not np.isfinite(X).all():
            raise PPCAError("PPCA.fit: X has non-finite values; drop or repair those rows")
        n, d = X.shape
        q = int(self.n_components)
        if not 1 <= q <= min(n, d):
            raise PPCAError(
                f"PPCA: n_components must be in [1, {min(n, d)}] for data of shape {X.shape}, "
                f"got {self.n_components}"
            )
        scale = X.std(axis=0, ddof=1) if self.standardize else np.ones(d)
        scale = np.where(scale > 0, scale, 1.0)
        pca = PCA(n_components=q, svd_solver="full").fit(X / scale)
        self.pca_ = pca
        self.scale_ = scale
        self.mean_ = pca.mean_ * scale
        self.components_ = pca.components_
        self.noise_variance_ = float(pca.noise_variance_)
        lam = np.maximum(pca.explained_variance_ - pca.noise_variance_, 0.0)
        self.W_ = pca.components_.T * np.sqrt(lam)[None, :]
        self.n_features_in_ = d
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "pca_"):
            raise PPCAError("this PPCA is not fitted yet; call fit(X) first")

    def sample(self, n: int, random_state: int | None = None) -> np.ndarray:
        """Draw ``n`` sets ``x = W z + mu + eps`` from the fitted model, ``(n, d)``.

        ``random_state`` overrides the estimator's seed for this call.
        """
        self._fitted()
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        q, d = self.W_.shape[1], self.W_.shape[0]
        z = rng.standard_normal((int(n), q))
        eps = rng.standard_normal((int(n), d)) * np.sqrt(self.noise_variance_)
        return (z @ self.W_.T + eps) * self.scale_ + self.mean_

    def get_covariance(self) -> np.ndarray:
        """Model covariance ``W W^T + sigma^2 I`` in the data's units, ``(d, d)``."""
        self._fitted()
        return self.pca_.get_covariance() * np.outer(self.scale_, self.scale_)

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Log-likelihood of each row of ``X`` under the model (nats), ``(n,)``."""
        self._fitted()
        X = np.asarray(X, dtype=np.float64)
        return self.pca_.score_samples(X / self.scale_) - np.log(self.scale_).sum()

    def score(self, X: np.ndarray, y: object = None) -> float:
        """Mean log-likelihood of the rows of ``X`` (nats)."""
        return float(np.mean(self.score_samples(X)))
