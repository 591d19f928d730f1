"""The poster's GAN and its conditional variant on tiny synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from kinflux.kinetic.gan import ConditionalKineticGAN, GANError, KineticGAN

SMALL = dict(hidden_units=32, batch_size=50, learning_rate=2e-3)


@pytest.fixture()
def data():
    rng = np.random.default_rng(0)
    x = rng.normal([5.0, -3.0], [2.0, 0.5], size=(400, 2))
    return x


def test_architecture_is_the_posters(data):
    gan = KineticGAN(latent_dim=3, epochs=1, random_state=0).fit(data[:100])
    lin_g = [m for m in gan.generator_ if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in lin_g] == [1024, 2]  # one hidden layer, linear output
    assert lin_g[0].in_features == 3
    mods = list(gan.discriminator_)
    assert [m.out_features for m in mods if isinstance(m, torch.nn.Linear)] == [1024, 1]
    assert isinstance(mods[-1], torch.nn.Sigmoid)
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.3 for m in mods)
    p = gan.get_params()
    assert (p["learning_rate"], p["batch_size"], p["generator_weight_decay"]) == (1e-4, 50, 1e-4)
    assert p["epochs"] == 1 and len(gan.history_) == 1


def test_learns_location_and_scale(data):
    gan = KineticGAN(latent_dim=2, epochs=40, random_state=0, **SMALL).fit(data)
    s = gan.sample(2000)
    assert s.shape == (2000, 2)
    np.testing.assert_allclose(s.mean(axis=0), data.mean(axis=0), atol=0.6)
    assert 0.2 < s[:, 1].std() < 1.2 and 1.0 < s[:, 0].std() < 3.5


def test_seeded_and_clone(data):
    a = KineticGAN(latent_dim=2, epochs=2, random_state=3, **SMALL).fit(data).sample(5)
    b = KineticGAN(latent_dim=2, epochs=2, random_state=3, **SMALL).fit(data).sample(5)
    np.testing.assert_array_equal(a, b)
    g = clone(KineticGAN(latent_dim=4, random_state=1))
    assert g.get_params()["latent_dim"] == 4 and not hasattr(g, "generator_")


def test_checkpoint_resume_reaches_the_same_weights(tmp_path, data):
    full = KineticGAN(latent_dim=2, epochs=4, random_state=0, **SMALL).fit(data)
    ck = tmp_path / "gan.pt"
    part = KineticGAN(latent_dim=2, epochs=2, checkpoint_every=1, random_state=0, **SMALL)
    part.fit(data, checkpoint=ck)
    assert ck.exists()
    resumed = KineticGAN(latent_dim=2, epochs=4, checkpoint_every=1, random_state=0, **SMALL)
    resumed.fit(data, checkpoint=ck)
    assert resumed.epochs_done_ == 4
    np.testing.assert_array_equal(resumed.sample(6), full.sample(6))
    with pytest.raises(GANError, match="other settings"):
        KineticGAN(latent_dim=3, epochs=4, random_state=0, **SMALL).fit(data, checkpoint=ck)
    with pytest.raises(GANError, match="other data"):
        KineticGAN(latent_dim=2, epochs=5, random_state=0, **SMALL).fit(data + 1, checkpoint=ck)


def test_conditional_gan_follows_the_label():
    rng = np.random.default_rng(1)
    y = rng.random(600) < 0.5
    x = np.where(y[:, None], 2.0, -2.0) + 0.3 * rng.normal(size=(600, 2))
    cgan = ConditionalKineticGAN(latent_dim=2, epochs=60, random_state=0, **SMALL).fit(x, y)
    valid = cgan.sample(500, label="valid")
    invalid = cgan.sample(500, label="invalid")
    assert (valid.mean(axis=1) > 0).mean() > 0.9
    assert (invalid.mean(axis=1) < 0).mean() > 0.9


def test_bad_input(data):
    with pytest.raises(GANError, match="needs labels"):
        ConditionalKineticGAN(epochs=1).fit(data)
    with pytest.raises(GANError, match="non-finite"):
        KineticGAN(epochs=1).fit(np.array([[np.nan, 1.0], [1.0, 2.0]]))
    with pytest.raises(GANError, match="not fitted"):
        KineticGAN().sample(3)
    with pytest.raises(GANError, match="label"):
        ConditionalKineticGAN(hidden_units=8, epochs=1).fit(data, data[:, 0] > 5).sample(
            2, label="maybe"
        )


@pytest.fixture(scope="module")
def varma_problem():
    from kinflux.kinetic.problem import KineticProblem

    return KineticProblem.bundled("kin_varma")


def test_study_resumes_per_latent_size(tmp_path, varma_problem):
    from kinflux.kinetic.generative_study import generative_study

    kw = dict(
        latents=[1, 2],
        epochs=1,
        cgan_epochs=1,
        cgan_latent=2,
        n_sets=150,
        n_generated=40,
        hidden_units=8,
    )

    class Stop(Exception):
        pass

    def interrupt(done, total, info):
        if done == 3:  # training data, PPCA 1, GAN 1 written
            raise Stop

    out = tmp_path / "study"
    with pytest.raises(Stop):
        generative_study(varma_problem, out, progress=interrupt, **kw)
    assert not out.exists() and (tmp_path / ".study.partial" / "metrics.csv").exists()
    table = generative_study(varma_problem, out, resume=True, progress=False, **kw)
    assert list(table.model) == ["training data", "PPCA", "GAN", "PPCA", "GAN", "cGAN"]
    assert table.incidence.between(0, 1).all() and (table.seconds >= 0).all()
    assert {"kl_joint", "kl_joint_reverse", "kl_marginal", "kl_means_hist"} <= set(table)
    assert (out / "figures" / "kl_joint_by_latent.png").exists()
    assert (out / "figures" / "projection.png").exists()


def test_cli_compare_generative(tmp_path):
    from typer.testing import CliRunner

    from kinflux.cli import app

    out = tmp_path / "cli"
    args = ["kinetic", "compare-generative", "--latents", "1", "--epochs", "1"]
    args += ["--cgan-epochs", "0", "--sets", "60", "--generated", "20", "--out", str(out)]
    r = CliRunner().invoke(app, [*args, "--quiet"])
    assert r.exit_code == 0, r.output
    assert "PPCA" in r.output and (out / "metrics.csv").exists()
    r = CliRunner().invoke(app, [*args, "--quiet"])
    assert r.exit_code != 0 and "exists" in r.output
    r = CliRunner().invoke(app, ["kinetic", "compare-generative", "--latents", "a-b"])
    assert r.exit_code != 0 and "latent" in r.output
