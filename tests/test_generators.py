"""RENAISSANCE generator network, output maps, rewards and the estimator's API."""

from __future__ import annotations

import math

import pytest
import torch
from sklearn.base import clone

from kinflux import KinfluxError
from kinflux.kinetic.generators import KmGenerator, batched_log_km, map_log_km
from kinflux.kinetic.renaissance import RenaissanceGenerator
from kinflux.kinetic.rewards import fastest_reward, incidence_reward, reward_function


def test_published_size_384_km() -> None:
    g = KmGenerator(384)
    # (100*256 + 256) + (256*512 + 512) + (512*1024 + 1024) + (1024*384 + 384)
    assert g.n_weights == 1_076_352
    assert g.shapes == [(256, 100), (512, 256), (1024, 512), (384, 1024)]
    assert all(float(lin.bias.detach().abs().max()) == 0 for lin in g.layers)  # Keras: zero biases
    bound = math.sqrt(6 / (100 + 256))  # Glorot uniform
    assert float(g.layers[0].weight.detach().abs().max()) <= bound


def test_output_maps() -> None:
    raw = torch.tensor([[[0.0, 2.0], [1.0, 4.0]], [[-1.0, -1.0], [-1.0, -1.0]]])
    pub = map_log_km(raw, -25.0, 3.0, "published")
    assert pub[0].min() == -25.0 and pub[0].max() == 3.0  # per block of one member
    assert pub[0, 0, 1] == pytest.approx(-25 + 28 * 2 / 4)
    assert torch.all(pub[1] == -11.0)  # a constant block maps to the midpoint
    sig = map_log_km(torch.tensor([0.0, 100.0, -100.0]), -25.0, 3.0, "sigmoid")
    assert sig.tolist() == pytest.approx([-11.0, 3.0, -25.0])
    with pytest.raises(KinfluxError, match="unknown output map"):
        map_log_km(raw, -25.0, 3.0, "clip")


def test_batched_forward_equals_module() -> None:
    g = KmGenerator(5, latent_dim=3, hidden=(6, 4), output_map="published")
    w = torch.stack([g.flat(), g.flat() + 0.1 * torch.randn(g.n_weights)])
    z = torch.randn(2, 7, 3)
    got = batched_log_km(g, w, z)
    for i in range(2):
        h = KmGenerator(5, latent_dim=3, hidden=(6, 4), output_map="published").load_flat(w[i])
        torch.testing.assert_close(got[i], h(z[i]))
    # the label input is the constant 1: a (latent_dim + 1)-wide first layer
    assert g.layers[0].in_features == 4


def test_rewards_by_hand() -> None:
    lam = torch.tensor([-3.0, -2.5, -1.0, float("nan")])
    assert float(incidence_reward(lam, -2.5)) == 0.5  # <= counts, NaN never valid
    lam2 = torch.tensor([-1.0, 0.0, 4.0])
    assert float(incidence_reward(lam2, -2.5)) == pytest.approx(0.01 / (1 + math.exp(1.5)))
    lam3 = torch.tensor([-30.0, -10.0, -20.0, 1.0])
    assert float(fastest_reward(lam3, 3)) == pytest.approx(0.5 * math.exp(2.0))
    assert float(fastest_reward(torch.tensor([-1.0, float("nan")]), 2)) == 0.0
    assert float(reward_function("fastest", n_consider=1)(lam3)) == pytest.approx(
        0.5 * math.exp(3.0)
    )
    with pytest.raises(KinfluxError, match="unknown reward"):
        reward_function("speed")


def test_estimator_conventions_and_generate() -> None:
    est = RenaissanceGenerator(generations=1, population=2, n_models=4, hidden=(3,))
    c = clone(est)
    assert c.get_params() == est.get_params()
    with pytest.raises(KinfluxError, match="not fitted"):
        est.generate(3)

    class Toy:
        n_km, log_km_low, log_km_high, partition = 2, -25.0, 3.0, -2.5

        def lambda_max_of_log_km(self, lk: torch.Tensor) -> torch.Tensor:
            return lk.double().sum(-1)

    est.set_params(output_map="published").fit(Toy())
    a = est.generate(10, random_state=1, chunk=4)
    assert a.shape == (10, 2)
    assert a[:4].min() == -25 and a[:4].max() == 3  # min-max per training batch of 4
    whole = est.generate(10, random_state=1, chunk=4, map_batch=0)
    assert whole.min() == -25 and whole.max() == 3
    assert torch.equal(est.generate(10, random_state=1, chunk=4), a)
    with pytest.raises(KinfluxError, match="KineticProblem-like"):
        RenaissanceGenerator().fit(object())
