"""KL estimators against Gaussians with closed-form divergences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from kinflux.kinetic.divergence import (
    DivergenceError,
    gaussian_kl,
    knn_kl,
    knn_kl_reverse,
    marginal_kl,
    mean_histogram_kl,
)


def test_gaussian_kl_matches_monte_carlo():
    rng = np.random.default_rng(0)
    m0, m1 = np.array([0.0, 1.0]), np.array([0.5, -0.5])
    c0 = np.array([[1.0, 0.3], [0.3, 0.5]])
    c1 = np.array([[2.0, -0.2], [-0.2, 1.0]])
    x = rng.multivariate_normal(m0, c0, 200_000)
    mc = np.mean(multivariate_normal(m0, c0).logpdf(x) - multivariate_normal(m1, c1).logpdf(x))
    assert gaussian_kl(m0, c0, m1, c1) == pytest.approx(mc, abs=0.01)
    assert gaussian_kl(m0, c0, m0, c0) == pytest.approx(0.0, abs=1e-12)
    # 1-D by hand: ln(s1/s0) + (s0^2 + (m0 - m1)^2) / (2 s1^2) - 1/2
    assert gaussian_kl([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(
        np.log(2.0) + 2.0 / 8.0 - 0.5
    )


@pytest.mark.parametrize("d", [1, 2, 3])
def test_knn_kl_close_to_closed_form(d):
    rng = np.random.default_rng(d)
    a = rng.normal(size=(d, d))
    c0 = a @ a.T / d + np.eye(d)
    # Q wider than P (its samples cover P's tails): the regime where 4,000 samples suffice
    m1, c1 = np.full(d, 0.7), 1.5 * c0
    x = rng.multivariate_normal(np.zeros(d), c0, 4000)
    y = rng.multivariate_normal(m1, c1, 4000)
    true = gaussian_kl(np.zeros(d), c0, m1, c1)
    assert knn_kl(x, y) == pytest.approx(true, abs=0.05 + 0.1 * true)
    # the other direction with the roles of the two samples swapped
    true_rev = gaussian_kl(np.zeros(d), c0, m1, c1)
    assert knn_kl_reverse(y, x) == pytest.approx(true_rev, abs=0.05 + 0.15 * true_rev)


def test_knn_kl_same_distribution_near_zero_and_invariant_to_scale():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3000, 2)), rng.normal(size=(3000, 2))
    assert abs(knn_kl(x, y)) < 0.05
    s = np.array([1e3, 1e-3])
    assert knn_kl(x * s, (y + 1.0) * s) == pytest.approx(knn_kl(x, y + 1.0), rel=1e-9)


def test_marginal_kl_is_mean_of_1d_divergences():
    rng = np.random.default_rng(2)
    n = 5000
    x = rng.normal(0.0, 1.0, (n, 3))
    mu, sd = np.array([0.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0])
    y = rng.normal(mu, sd, (n, 3))
    true = np.mean(
        [gaussian_kl([0.0], [[1.0]], [m], [[s * s]]) for m, s in zip(mu, sd, strict=True)]
    )
    assert marginal_kl(x, y) == pytest.approx(true, abs=0.04)


def test_mean_histogram_kl_tracks_kl_of_gaussian_means():
    # 20,000 parameters whose means are N(0, 10^2) in P and N(0, 20^2) in Q: the unit-bin
    # histograms of the means approach those Gaussians, KL = ln 2 + 1/8 - 1/2
    rng = np.random.default_rng(3)
    d = 20_000
    x = rng.normal(0.0, 10.0, d)[None, :] + rng.normal(0.0, 0.01, (4, d))
    y = rng.normal(0.0, 20.0, d)[None, :] + rng.normal(0.0, 0.01, (4, d))
    true = gaussian_kl([0.0], [[100.0]], [0.0], [[400.0]])
    assert mean_histogram_kl(x, y) == pytest.approx(true, abs=0.03)
    # a set with the same per-parameter means scores ~0 whatever its spread
    z = x.mean(axis=0)[None, :] + rng.normal(0.0, 0.001, (50, d))
    assert mean_histogram_kl(x, z) == pytest.approx(0.0, abs=1e-4)


def test_bad_input():
    x = np.zeros((10, 2))
    with pytest.raises(DivergenceError, match="same number of columns"):
        knn_kl(x, np.zeros((10, 3)))
    y = np.ones((10, 2))
    y[0, 0] = np.nan
    with pytest.raises(DivergenceError, match="non-finite"):
        marginal_kl(x + np.arange(10)[:, None], y)
