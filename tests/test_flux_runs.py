"""AMN training runs: run folders, interrupt and resume to the same result."""

from __future__ import annotations

import numpy as np
import pytest

from kinflux.flux.amn import AMN
from kinflux.flux.runs import train_run
from kinflux.flux.training_set import build_training_set


class Stop(Exception):
    """Raised from a progress callback to interrupt a run."""


@pytest.fixture(scope="module")
def data(tmp_path_factory, core_network, core_guide):
    p = tmp_path_factory.mktemp("runs") / "train.npz"
    build_training_set(core_network, core_guide, 60, seed=0).save(p)
    return p


OPTIONS = {"arch": "AMN-QP", "epochs": 12, "hidden": (16,), "patience": 0}


def test_interrupted_run_resumes_to_the_same_result(tmp_path, data, core_network):
    whole = tmp_path / "whole"
    m1 = train_run(data, whole, folds=2, checkpoint_every=3, **OPTIONS)

    calls = {"n": 0}

    def interrupt(done, total, info):
        calls["n"] += 1
        if calls["n"] == 20:  # in the second fold, after a checkpoint
            raise Stop

    cut = tmp_path / "cut"
    with pytest.raises(Stop):
        train_run(data, cut, folds=2, checkpoint_every=3, progress=interrupt, **OPTIONS)
    partial = tmp_path / ".cut.partial"
    assert not cut.exists() and (partial / "checkpoints" / "fold_0.pt").exists()
    m2 = train_run(data, cut, folds=2, checkpoint_every=3, resume=True, **OPTIONS)
    assert cut.exists() and not partial.exists()
    for key in ("growth_Q2_cv", "all_flux_Q2_cv", "SV2", "growth_R2_final"):
        assert m1[key] == m2[key]
    X = np.load(data)["X"][:5]
    a = AMN.load(whole / "model.pt", core_network).predict(X)
    b = AMN.load(cut / "model.pt", core_network).predict(X)
    np.testing.assert_array_equal(a, b)


def test_resume_refuses_changed_options(tmp_path, data):
    cut = tmp_path / "cut"

    def interrupt(done, total, info):
        if done >= 4:
            raise Stop

    with pytest.raises(Stop):
        train_run(data, cut, folds=0, checkpoint_every=2, progress=interrupt, **OPTIONS)
    with pytest.raises(Exception, match="differs in hyperparameters"):
        train_run(data, cut, folds=0, resume=True, **{**OPTIONS, "lr": 0.1})


def test_folds_one_is_refused(tmp_path, data):
    with pytest.raises(Exception, match="0 for no cross-validation"):
        train_run(data, tmp_path / "r", folds=1, **OPTIONS)
    assert not (tmp_path / "r").exists()
