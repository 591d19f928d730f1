"""Probabilistic PCA: the fitted model is Tipping-Bishop's, and sampling follows it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.base import clone

from kinflux.kinetic.ppca import PPCA, PPCAError


@pytest.fixture()
def data():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 2))
    z = rng.normal(size=(3000, 2))
    return z @ w.T + 0.3 * rng.normal(size=(3000, 6)) + np.arange(6)


def test_ml_solution_by_hand(data):
    m = PPCA(n_components=2, random_state=0).fit(data)
    cov = np.cov(data, rowvar=False)
    lam, u = np.linalg.eigh(cov)
    lam, u = lam[::-1], u[:, ::-1]
    sigma2 = lam[2:].mean()
    assert m.noise_variance_ == pytest.approx(sigma2, rel=1e-10)
    ww = u[:, :2] @ np.diag(lam[:2] - sigma2) @ u[:, :2].T
    np.testing.assert_allclose(m.W_ @ m.W_.T, ww, atol=1e-10)
    np.testing.assert_allclose(m.get_covariance(), ww + sigma2 * np.eye(6), atol=1e-10)
    np.testing.assert_allclose(m.mean_, data.mean(axis=0))
    logp = multivariate_normal(m.mean_, m.get_covariance()).logpdf(data[:5])
    np.testing.assert_allclose(m.score_samples(data[:5]), logp, rtol=1e-10)


def test_samples_follow_the_model(data):
    m = PPCA(n_components=2, random_state=1).fit(data)
    s = m.sample(40_000)
    assert s.shape == (40_000, 6)
    np.testing.assert_allclose(s.mean(axis=0), m.mean_, atol=0.05)
    np.testing.assert_allclose(np.cov(s, rowvar=False), m.get_covariance(), atol=0.06)
    np.testing.assert_array_equal(m.sample(3), m.sample(3))  # seeded
    assert not np.array_equal(m.sample(3), m.sample(3, random_state=5))


def test_standardize_matches_in_data_units(data):
    m = PPCA(n_components=5, standardize=True, random_state=0).fit(data * [1, 10, 1, 1, 1, 100])
    s = m.sample(30_000)
    assert s[:, 5].std() == pytest.approx((data[:, 5] * 100).std(), rel=0.05)


def test_estimator_protocol_and_errors(data):
    m = PPCA(n_components=3)
    assert clone(m).get_params()["n_components"] == 3
    with pytest.raises(PPCAError, match="not fitted"):
        m.sample(2)
    with pytest.raises(PPCAError, match="n_components"):
        PPCA(n_components=7).fit(data)
    with pytest.raises(PPCAError, match="non-finite"):
        PPCA(n_components=1).fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
