"""Evolution strategies (kinflux.kinetic.nes) and the training loop of RenaissanceGenerator:
one update equals the published formula computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinflux import KinfluxError
from kinflux.kinetic.generators import batched_log_km
from kinflux.kinetic.nes import ImprovedES, PublishedES, centered_ranks, make_strategy, seed_for
from kinflux.kinetic.renaissance import RenaissanceGenerator


class ToyProblem:
    """lambda_max = mean ln Km + 9.5 (h^-1): valid when the mean ln Km < -12."""

    n_km, log_km_low, log_km_high, partition = 4, -25.0, 3.0, -2.5

    def lambda_max_of_log_km(self, log_km: torch.Tensor) -> torch.Tensor:
        return log_km.to(torch.float64).mean(-1) + 9.5


def test_published_step_equals_formula() -> None:
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.normal(size=7), dtype=torch.float64)
    es = PublishedES(population=5, sigma=0.01, learning_rate=1e-3, decay=0.95)
    eps = es.ask(w, torch.Generator().manual_seed(1))
    r = torch.tensor([0.1, 0.5, 0.2, 0.9, 0.0], dtype=torch.float64)
    new = es.tell(w, eps, r)
    rn = r.numpy()
    z = (rn - rn.mean()) / rn.std()  # numpy std: ddof 0
    want = w.numpy() + 1e-3 / (5 * 0.01) * (eps.numpy().T @ z)
    np.testing.assert_allclose(new.numpy(), want, rtol=1e-12)
    assert es.learning_rate == pytest.approx(0.95e-3)


def test_published_no_update_when_rewards_equal() -> None:
    es = PublishedES(population=3, learning_rate=1e-3)
    w = torch.zeros(4)
    eps = es.ask(w, torch.Generator().manual_seed(0))
    assert torch.equal(es.tell(w, eps, torch.ones(3)), w)
    assert es.learning_rate == 1e-3 and es.updates == 0


def test_improved_antithetic_ranks_and_adam_first_step() -> None:
    es = ImprovedES(population=4, sigma=0.1, learning_rate=0.01, adam=True, antithetic=True)
    w = torch.zeros(6, dtype=torch.float64)
    eps = es.ask(w, torch.Generator().manual_seed(0))
    assert torch.equal(eps[2:], -eps[:2])
    r = torch.tensor([3.0, 1.0, 2.0, 0.0])
    assert centered_ranks(r).tolist() == pytest.approx([0.5, -1 / 6, 1 / 6, -0.5])
    g = es.gradient(eps, r)
    want_g = (centered_ranks(r) @ eps) / (4 * 0.1)
    torch.testing.assert_close(g, want_g)
    new = es.tell(w, eps, r)  # first Adam step: lr * g / |g| elementwise
    torch.testing.assert_close(new, 0.01 * torch.sign(g), atol=1e-7, rtol=0)
    sgd = ImprovedES(population=4, sigma=0.1, learning_rate=0.01, decay=0.5)
    torch.testing.assert_close(sgd.tell(w, eps, r), 0.01 * want_g)  # default: plain step
    assert sgd.learning_rate == 0.005
    with pytest.raises(KinfluxError, match="even population"):
        ImprovedES(population=5, antithetic=True)
    with pytest.raises(KinfluxError, match="unknown update rule"):
        make_strategy("cma")


def test_state_roundtrip() -> None:
    es = ImprovedES(population=2, learning_rate=0.1, decay=0.5, adam=True)
    w = torch.zeros(3)
    eps = es.ask(w, torch.Generator().manual_seed(0))
    es.tell(w, eps, torch.tensor([1.0, 0.0]))
    es2 = ImprovedES(population=2, learning_rate=0.1, decay=0.5, adam=True)
    es2.load_state_dict(es.state_dict())
    assert es2.learning_rate == 0.05 and es2.updates == 1
    assert torch.equal(es2._m, es._m)


def test_one_generation_of_the_estimator_by_hand() -> None:
    """fit(generations=1) on a toy problem: w1 = w0 + lr/(P sigma) sum z_i eps_i with the
    members' incidence rewards, recomputed here from the same random stream."""
    pb = ToyProblem()
    est = RenaissanceGenerator(
        generations=1,
        population=6,
        n_models=10,
        latent_dim=3,
        hidden=(5,),
        random_state=3,
        update="published",
    )
    est.fit(pb)
    w0 = est._new_generator(pb).flat()
    gen = est._new_generator(pb)
    rng = torch.Generator().manual_seed(seed_for(3, 1, 0))
    eps = torch.randn(6, w0.numel(), generator=rng)
    thetas = torch.cat([w0[None], w0 + 0.01 * eps])
    noise = torch.randn(7, 10, 3, generator=rng)
    lam = pb.lambda_max_of_log_km(batched_log_km(gen, thetas, noise)).numpy()
    r = np.array(
        [
            (row <= -2.5).mean() if row.min() <= -2.5 else 0.01 / (1 + np.exp(row.min() + 2.5))
            for row in lam[1:]
        ]
    )
    z = (r - r.mean()) / r.std()
    want = w0.double().numpy() + 1e-3 / (6 * 0.01) * (eps.double().numpy().T @ z)
    np.testing.assert_allclose(est.generator_.flat().double().numpy(), want, atol=2e-6)
    assert len(est.history_) == 2 and est.lambda_max_.shape == (2, 7, 10)
    np.testing.assert_allclose(est.lambda_max_[0].numpy(), lam, rtol=1e-5)


def test_seed_for_and_training_reproducible() -> None:
    assert seed_for(0, 1, 2) == seed_for(0, 1, 2) != seed_for(0, 2, 1)
    kw = {"generations": 2, "population": 4, "n_models": 5, "latent_dim": 2, "hidden": (4,)}
    a = RenaissanceGenerator(**kw, update="improved").fit(ToyProblem())
    b = RenaissanceGenerator(**kw, update="improved").fit(ToyProblem())
    assert torch.equal(a.generator_.flat(), b.generator_.flat())
