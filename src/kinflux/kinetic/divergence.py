"""Kullback-Leibler divergences between two sets of kinetic parameter sets.

Three estimators of ``KL(P || Q)`` (nats) from samples ``X ~ P`` ``(n, d)`` and
``Y ~ Q`` ``(m, d)``; in the generative study ``P`` is the held-out ORACLE data and
``Q`` a generator's output, both as ln Km (ln mol/L, one column per Michaelis constant):

- :func:`knn_kl` — the k-nearest-neighbour estimator of the **joint** divergence of
  Wang, Kulkarni and Verdu (IEEE Trans. Inf. Theory 55, 2009):

  ``D = d/n * sum_i ln(nu_k(i) / rho_k(i)) + ln(m / (n - 1))``

  with ``rho_k(i)`` the distance from ``x_i`` to its k-th nearest neighbour among the
  other ``x`` and ``nu_k(i)`` the distance to its k-th nearest neighbour among the ``y``
  (scipy ``cKDTree``). It is consistent for any fixed ``k`` and sees the correlations
  between parameters, which decide stability. In many dimensions (230 Km for
  kin_varma) its finite-sample bias is large and can have either sign: a generator
  whose sets collapse near the centre of the data is closer to every real set than
  the real sets are to each other (in ``d`` dimensions the nearest real neighbour lies
  ~sqrt(2) times farther than the centre), so ``KL(P || Q)`` comes out strongly
  *negative* for it. :func:`knn_kl_reverse` (``KL(Q || P)``, same estimator with the
  roles swapped) catches that case (collapsed sets are close to each other: large
  positive values). The study reports both directions and their value between two
  real samples of the same size (the floor).
- :func:`marginal_kl` — the mean over parameters of the 1-D divergences of the
  marginals (the same estimator with ``d = 1``); blind to correlations.
- :func:`mean_histogram_kl` — REKINDLE's figure (EPFL-LCSB/rekindle): the per-parameter
  means of each set form two vectors of length ``d``; both are binned on unit-width
  bins ``[floor(min), ceil(max)]`` (densities), and ``KL`` is taken between the two
  histograms. It compares the *spread of the means across parameters*, not the
  distributions of parameter sets: a generator that outputs the data mean every time
  scores 0. REKINDLE's own ``KL_div`` is not in its repository; here empty bins of
  ``Q`` get ``eps`` (1e-10) so the value stays finite.

:func:`gaussian_kl` is the closed form between two Gaussians, against which every
estimator is tested.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(0.0, 1.0, (2000, 2))
    >>> y = rng.normal(1.0, 1.0, (2000, 2))
    >>> float(gaussian_kl(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)))
    1.0
    >>> abs(knn_kl(x, y) - 1.0) < 0.15
    True
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from kinflux import KinfluxError

__all__ = [
    "DivergenceError",
    "gaussian_kl",
    "knn_kl",
    "knn_kl_reverse",
    "marginal_kl",
    "mean_histogram_kl",
    "ESTIMATORS",
]

#: floor on nearest-neighbour distances (duplicated rows would give ln 0)
_TINY = 1e-300


class DivergenceError(KinfluxError):
    """The two sets cannot be compared (shapes, sizes or non-finite values)."""


def _check_pair(x: np.ndarray, y: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise DivergenceError(
            f"KL needs two sample matrices with the same number of columns, got shapes "
            f"{x.shape} and {y.shape}; pass (n, d) and (m, d) arrays of parameter sets"
        )
    if x.shape[0] < k + 1 or y.shape[0] < k:
        raise DivergenceError(
            f"KL with k={k} needs at least {k + 1} reference and {k} compared samples, "
            f"got {x.shape[0]} and {y.shape[0]}; use more samples or a smaller k"
        )
    for name, a in (("reference", x), ("compared", y)):
        if not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).any(axis=1).sum())
            raise DivergenceError(
                f"KL: {bad} {name} samples have non-finite values; drop them (e.g. a "
                "generator's diverged sets) before comparing"
            )
    return x, y


def gaussian_kl(mu0: np.ndarray, cov0: np.ndarray, mu1: np.ndarray, cov1: np.ndarray) -> float:
    """Closed-form ``KL(N(mu0, cov0) || N(mu1, cov1))`` in nats.

    ``0.5 * (tr(S1^-1 S0) + (m1 - m0)^T S1^-1 (m1 - m0) - d + ln det S1 - ln det S0)``.

    Args:
        mu0, mu1: means, ``(d,)``.
        cov0, cov1: covariances, ``(d, d)``, positive definite.

    Returns:
        The divergence (nats).

    Example:
        >>> round(gaussian_kl(np.zeros(1), np.eye(1), np.zeros(1), 4 * np.eye(1)), 4)
        0.3181
    """
    mu0, mu1 = np.atleast_1d(mu0).astype(float), np.atleast_1d(mu1).astype(float)
    cov0, cov1 = np.atleast_2d(cov0).astype(float), np.atleast_2d(cov1).astype(float)
    d = mu0.shape[0]
    c1 = np.linalg.cholesky(cov1)
    c0 = np.linalg.cholesky(cov0)
    a = np.linalg.solve(c1, c0)
    diff = np.linalg.solve(c1, mu1 - mu0)
    logdet = 2.0 * (np.log(np.diag(c1)).sum() - np.log(np.diag(c0)).sum())
    return float(0.5 * ((a**2).sum() + diff @ diff - d + logdet))


def knn_kl(x: np.ndarray, y: np.ndarray, k: int = 5, standardize: bool = True) -> float:
    """k-nearest-neighbour estimate of the joint ``KL(P || Q)`` (nats).

    Wang-Kulkarni-Verdu with the same ``k`` in both sets (the digamma terms cancel).

    Args:
        x: samples of ``P``, ``(n, d)`` (e.g. held-out ln Km sets).
        y: samples of ``Q``, ``(m, d)`` (e.g. generated ln Km sets).
        k: neighbour order (>= 1); larger ``k`` lowers the variance.
        standardize: rescale every column by the mean and standard deviation of ``x``
            first. KL is invariant under this map; it keeps one column's units from
            dominating the distances. Constant columns are left as they are.

    Returns:
        The estimate (nats); it can be slightly negative when ``P = Q``.

    Raises:
        DivergenceError: shapes differ, too few samples or non-finite values.
    """
    x, y = _check_pair(x, y, k)
    if k < 1:
        raise DivergenceError(f"k must be >= 1, got {k}")
    if standardize:
        mu, sd = x.mean(axis=0), x.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        x, y = (x - mu) / sd, (y - mu) / sd
    n, d = x.shape
    m = y.shape[0]
    rho = cKDTree(x).query(x, k=k + 1)[0][:, -1]  # first neighbour is the point itself
    nu = cKDTree(y).query(x, k=k)[0]
    nu = nu if nu.ndim == 1 else nu[:, -1]
    rho = np.maximum(rho, _TINY)
    nu = np.maximum(nu, _TINY)
    return float(d * np.mean(np.log(nu / rho)) + math.log(m / (n - 1)))


def knn_kl_reverse(x: np.ndarray, y: np.ndarray, k: int = 5, standardize: bool = True) -> float:
    """``KL(Q || P)`` by :func:`knn_kl` with the roles swapped, still standardized by the
    reference ``x`` ``(n, d)``; ``y`` ``(m, d)`` are the samples of ``Q`` (generated).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(0, 1, (2000, 1)), rng.normal(1, 1, (2000, 1))
        >>> true = gaussian_kl(np.ones(1), np.eye(1), np.zeros(1), np.eye(1))
        >>> abs(knn_kl_reverse(x, y) - true) < 0.1
        True
    """
    x, y = _check_pair(x, y, k)
    if standardize:
        mu, sd = x.mean(axis=0), x.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        x, y = (x - mu) / sd, (y - mu) / sd
    return knn_kl(y, x, k, standardize=False)


def _knn_kl_1d(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """1-D Wang-Kulkarni-Verdu estimate by sorting (no tree)."""
    n, m = x.size, y.size
    xs, ys = np.sort(x), np.sort(y)
    rho = _kth_distance(xs, xs, k, self_included=True)
    nu = _kth_distance(ys, xs, k, self_included=False)
    rho = np.maximum(rho, _TINY)
    nu = np.maximum(nu, _TINY)
    return float(np.mean(np.log(nu / rho)) + math.log(m / (n - 1)))


def _kth_distance(sorted_ref: np.ndarray, q: np.ndarray, k: int, self_included: bool) -> np.ndarray:
    """Distance from each ``q`` to its k-th nearest point of ``sorted_ref`` (1-D).

    The k nearest points of a sorted array around a query lie within the ``k`` (or
    ``k + 1``) positions on either side of its insertion point.
    """
    kk = k + 1 if self_included else k
    pos = np.searchsorted(sorted_ref, q)
    offsets = np.arange(-kk, kk)
    idx = np.clip(pos[:, None] + offsets[None, :], 0, sorted_ref.size - 1)
    dist = np.abs(sorted_ref[idx] - q[:, None])
    # clipped indices repeat the end points; mark repeats so they are not counted twice
    dup = np.zeros_like(dist, dtype=bool)
    dup[:, 1:] = idx[:, 1:] == idx[:, :-1]
    dist[dup] = np.inf
    dist.sort(axis=1)
    return dist[:, kk - 1]


def marginal_kl(x: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Mean over the ``d`` parameters of the 1-D kNN divergences of the marginals (nats).

    Args:
        x: samples of ``P``, ``(n, d)``; y: samples of ``Q``, ``(m, d)``.
        k: neighbour order of the 1-D estimator.

    Returns:
        ``mean_j KL(P_j || Q_j)``; correlations between parameters are ignored.
    """
    x, y = _check_pair(x, y, k)
    return float(np.mean([_knn_kl_1d(x[:, j], y[:, j], k) for j in range(x.shape[1])]))


def mean_histogram_kl(x: np.ndarray, y: np.ndarray, eps: float = 1e-10) -> float:
    """REKINDLE's KL between the per-parameter means of two sets (nats).

    The column means of ``x`` and ``y`` (two vectors of ``d`` values, in the data's
    units, ln Km here) are histogrammed on shared unit-width bins from
    ``floor(min)`` to ``ceil(max)`` of both; returns ``sum_b p_b ln(p_b / q_b)`` with
    ``q_b`` floored at ``eps``. Only meaningful when ``d`` is large (many parameters).

    Args:
        x: samples of ``P``, ``(n, d)``; y: samples of ``Q``, ``(m, d)``.
        eps: floor on the bin probabilities of ``Q``.

    Returns:
        The divergence between the two histograms of means.
    """
    x, y = _check_pair(x, y, 0)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    lo = math.floor(min(mx.min(), my.min()))
    hi = max(math.ceil(max(mx.max(), my.max())), lo + 1)
    edges = np.arange(lo, hi + 1, dtype=float)
    p = np.histogram(mx, bins=edges)[0] / mx.size
    q = np.histogram(my, bins=edges)[0] / my.size
    q = np.maximum(q, eps)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


#: the estimators by the names the study's tables use
ESTIMATORS = {
    "kl_joint": knn_kl,
    "kl_joint_reverse": knn_kl_reverse,
    "kl_marginal": marginal_kl,
    "kl_means_hist": mean_histogram_kl,
}
