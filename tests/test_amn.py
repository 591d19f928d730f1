"""AMN estimator: fit/predict, save/load, knockouts, CV metrics, train run folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinflux import KinfluxError
from kinflux.flux.amn import AMN, ModelMismatchError, TrainingError
from kinflux.flux.metrics import cross_validate, evaluate, flat_r2
from kinflux.flux.problem import FluxProblem
from kinflux.flux.training_set import build_training_set


@pytest.fixture(scope="module")
def core_set(core_network, core_guide):
    return build_training_set(core_network, core_guide, 240, seed=0)


@pytest.fixture(scope="module")
def problem(core_network, core_set):
    return FluxProblem.from_training_set(core_set, core_network)


@pytest.fixture(scope="module")
def fitted_qp(problem, core_set):
    torch.set_num_threads(1)
    amn = AMN(problem, arch="AMN-QP", epochs=150, random_state=0)
    return amn.fit(core_set.X, core_set.Y)


def test_r2_score_hand_values():
    assert flat_r2([1, 2, 3], [1, 2, 3]) == 1.0
    assert flat_r2([1, 2, 3], [2, 2, 2]) == pytest.approx(0.0)
    assert flat_r2([0, 2], [1, 1]) == pytest.approx(0.0)
    assert flat_r2([1, 3], [1, 2]) == pytest.approx(1 - 1 / 2)


def test_sklearn_clone_and_params(problem):
    from sklearn.base import clone

    from kinflux.flux.hyperparameters import DEFAULTS

    amn = AMN(problem, arch="AMN-QP")
    twin = clone(amn)
    assert twin.get_params()["arch"] == "AMN-QP" and twin.problem is problem
    params = amn.get_params()
    assert set(params) == {"problem", *DEFAULTS}  # one definition of the hyper-parameters
    assert {k: params[k] for k in DEFAULTS} == DEFAULTS
    twin.set_params(epochs=7)
    assert twin.epochs == 7 and amn.epochs == 200
    assert not hasattr(twin, "model_")  # __init__ stores, nothing more


def test_fit_validates_hyperparameters_and_data(problem, core_set):
    with pytest.raises(KinfluxError, match="dropout must be in"):
        AMN(problem, dropout=1.5).fit(core_set.X, core_set.Y)
    with pytest.raises(KinfluxError, match="hidden must be integers"):
        AMN(problem, hidden="abc").fit(core_set.X, core_set.Y)
    Y = core_set.Y.copy()
    Y[3, 5] = np.nan
    with pytest.raises(KinfluxError, match="non-finite.*row 3"):
        AMN(problem, epochs=1).fit(core_set.X, Y)
    with pytest.raises(KinfluxError, match="FluxProblem"):
        AMN(None).fit(core_set.X, core_set.Y)


def test_non_finite_loss_stops_training(problem, core_set):
    with pytest.raises(TrainingError, match=r"epoch 1, batch \d+; .* lower the learning rate"):
        AMN(problem, arch="ANN-Dense", epochs=2, hidden=(8,), lr=1e30).fit(core_set.X, core_set.Y)
    with pytest.raises(TrainingError, match="float32"):
        AMN(problem, epochs=1).fit(core_set.X, core_set.Y * 1e300)


def test_predict_dataframe_by_column_id(problem, core_set):
    import pandas as pd

    amn = AMN(problem, arch="ANN-Dense", epochs=2, hidden=(8,)).fit(core_set.X, core_set.Y)
    X = pd.DataFrame(core_set.X[:4], columns=core_set.medium_ids, index=list("abcd"))
    shuffled = X[list(reversed(core_set.medium_ids))]
    out = amn.predict(shuffled)
    assert isinstance(out, pd.DataFrame) and list(out.index) == list("abcd")
    assert list(out.columns) == problem.network.reaction_ids
    np.testing.assert_array_equal(out.to_numpy(), amn.predict(core_set.X[:4]))
    with pytest.raises(KinfluxError, match="missing medium column.*EX_glc__D_e_i"):
        amn.predict(X.drop(columns=["EX_glc__D_e_i"]))
    with pytest.raises(KinfluxError, match="unknown column.*extra"):
        amn.predict(X.assign(extra=1.0))
    assert isinstance(amn.predict(core_set.X[:2], as_frame=True), pd.DataFrame)


@pytest.mark.parametrize("arch", ["ANN-Dense", "ANN-SV", "AMN-QP", "AMN-LP", "AMN-UB", "AMN-W"])
def test_every_architecture_trains_and_predicts(arch, problem, core_set, core_network):
    amn = AMN(problem, arch=arch, epochs=3, hidden=(32,))
    amn.fit(core_set.X[:64], core_set.Y[:64])
    V = amn.predict(core_set.X[:10])
    assert V.shape == (10, core_network.n_reactions)
    assert np.isfinite(V).all()
    assert amn.n_params_ > 0 and len(amn.history_) >= 1


def test_amn_qp_learns_growth_and_mass_balance(fitted_qp, problem, core_set):
    scores = evaluate(fitted_qp, core_set.X, core_set.Y)
    assert scores["growth_r2"] > 0.8
    assert scores["all_flux_r2"] > 0.9
    dense = AMN(problem, arch="ANN-Dense", epochs=60).fit(core_set.X, core_set.Y)
    # the mechanistic layer keeps mass balance better than a plain dense network
    assert scores["SV2"] < evaluate(dense, core_set.X, core_set.Y)["SV2"]


def test_same_seed_same_model(problem, core_set):
    def fit():
        return AMN(problem, arch="ANN-Dense", epochs=5, hidden=(16,))

    a = fit().fit(core_set.X, core_set.Y).predict(core_set.X[:5])
    b = fit().fit(core_set.X, core_set.Y).predict(core_set.X[:5])
    np.testing.assert_array_equal(a, b)


def test_save_load_roundtrip_and_refuses_other_network(tmp_path, fitted_qp, core_set):
    from tests.test_network import toy_model

    from kinflux.flux.network import Network

    path = fitted_qp.save(tmp_path / "m.pt")
    back = AMN.load(path, fitted_qp.network)
    np.testing.assert_allclose(back.predict(core_set.X[:5]), fitted_qp.predict(core_set.X[:5]))
    # the unblocked set travels with the model: no new search on load
    assert back.problem._unblocked == fitted_qp.problem.unblocked_ids
    assert back.get_params(deep=False) | {"problem": None} == fitted_qp.get_params() | {
        "problem": None
    }
    with pytest.raises(ModelMismatchError, match="made for network"):
        AMN.load(path, Network(toy_model()))


def _glucose_medium(core_set) -> np.ndarray:
    """The guide's minimal glucose medium (10 mmol/gDW/h of each base inflow, no extras)."""
    x = np.zeros((1, len(core_set.medium_ids)))
    x[0, :7] = core_set.X[0, :7]
    assert core_set.medium_ids[1] == "EX_glc__D_e_i" and x[0, 1] == 10.0
    return x


def test_knockouts_lethal_and_neutral(fitted_qp, core_network, core_set):
    """PGK is lethal on glucose (COBRApy and kinflux FBA: growth 0), FRD7 neutral."""
    from kinflux.flux.fba import FluxSolver

    model = core_network.model
    with model:
        model.reactions.PGK.knock_out()
        assert model.slim_optimize() < 1e-6
    with model:
        model.reactions.FRD7.knock_out()
        assert model.slim_optimize() == pytest.approx(0.8739, abs=1e-3)
    g = core_network.objective_index
    x = _glucose_medium(core_set)
    solver = FluxSolver(FluxProblem(core_network, core_set.medium_ids, open_inflows={}))
    solver.set_medium(x[0])
    fba_wild = solver.optimize()
    pgk = [sr.id for sr in core_network.reactions if sr.original_id == "PGK"]
    solver.set_bounds(pgk, np.zeros(2))
    assert solver.optimize() < 1e-6  # lethal in the guide's glucose medium too
    wild = fitted_qp.predict(x, project=True)[0, g]  # compare like with like
    assert wild == pytest.approx(fba_wild, rel=0.2)
    assert wild <= fba_wild + 1e-6  # a feasible point cannot beat FBA
    with fitted_qp.knockout(["PGK"]):
        lethal = fitted_qp.predict(x)
    with fitted_qp.knockout(["FRD7"]):
        neutral = fitted_qp.predict(x)
    assert (lethal[:, core_network.indices(pgk)] == 0).all()
    assert abs(lethal[0, g]) < 1e-6  # projected onto the mutant's feasible set
    assert abs(neutral[0, g] - wild) < 0.1 * wild
    assert neutral[0, g] <= fba_wild + 1e-6  # feasible: never above FBA's optimum
    for V in (lethal, neutral):  # exactly feasible
        assert np.abs(core_network.S @ V[0]).max() < 1e-5
        assert V.min() >= 0
    with fitted_qp.knockout(["FRD7"]):  # project=True inside the context keeps the mutant
        np.testing.assert_allclose(fitted_qp.predict(x, project=True), neutral)
    # a knocked-out medium inflow removes the uptake: without glucose the ATP
    # maintenance flux cannot be met (FBA infeasible), so the prediction is NaN
    with fitted_qp.knockout(["EX_glc__D_e"]):
        starved = fitted_qp.predict(x)
    assert np.isnan(starved).all()
    solver.set_bounds(pgk, np.full(2, 1000.0))
    solver.set_bounds(["EX_glc__D_e_i"], np.zeros(1))
    assert np.isnan(solver.optimize())
    # without the projection the mechanistic layer alone only lowers growth
    plain = fitted_qp.predict(x)[0, g]
    with fitted_qp.knockout(["PGK"], project=False):
        unprojected = fitted_qp.predict(x)[0, g]
    assert unprojected < 0.5 * plain
    # context restored
    np.testing.assert_allclose(fitted_qp.predict(x, project=True)[0, g], wild, rtol=1e-6)


def test_predict_project_matches_fba_feasibility(fitted_qp, core_network, core_set):
    """predict(project=True) returns feasible fluxes close to the plain prediction."""
    X = core_set.X[:5]
    V = fitted_qp.predict(X)
    P = fitted_qp.predict(X, project=True)
    assert np.abs(P @ core_network.S.T).max() < 1e-5
    g = core_network.objective_index
    np.testing.assert_allclose(P[:, g], V[:, g], atol=0.1)
    # an empty medium cannot supply the ATP maintenance flux: NaN, as in COBRApy
    empty = fitted_qp.predict(np.zeros((1, X.shape[1])), project=True)
    assert np.isnan(empty).all()


def test_cross_validate_reports_metrics(problem, core_set):
    ticks: list[int] = []
    cv = cross_validate(
        AMN(problem, arch="ANN-Dense", epochs=5, hidden=(16,)),
        core_set.X,
        core_set.Y,
        folds=3,
        progress=lambda d, t, i: ticks.append(d),
    )
    for key in ("growth_R2", "growth_Q2_cv", "all_flux_Q2_cv", "SV2", "s_per_epoch", "params"):
        assert key in cv
    assert cv["predictions"].shape == core_set.Y.shape
    assert max(ticks) == 15 and len(ticks) >= 15  # one tick per epoch of every fold


def test_train_run_folder_and_predict_cli(tmp_path, core_set):
    import json

    from typer.testing import CliRunner

    from kinflux.cli import app

    data = tmp_path / "train.npz"
    core_set.save(data)
    out = tmp_path / "run"
    runner = CliRunner()
    args = ["flux", "train", "--data", str(data), "--arch", "AMN-QP", "--folds", "2"]
    res = runner.invoke(app, [*args, "--epochs", "3", "--hidden", "16", "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("metrics.csv", "model.pt", "config.json", "figures/parity_growth_cv.png"):
        assert (out / name).exists()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["hyperparameters"]["epochs"] == 3 and cfg["hyperparameters"]["hidden"] == [16]
    assert "versions" in cfg and cfg["folds"] == 2
    before = (out / "model.pt").read_bytes()
    res = runner.invoke(app, [*args, "--epochs", "3", "--out", str(out)])
    assert res.exit_code == 2 and (out / "model.pt").read_bytes() == before
    pred = tmp_path / "pred.csv"
    res = runner.invoke(
        app,
        [
            "flux",
            "predict",
            "--model-file",
            str(out / "model.pt"),
            "--data",
            str(data),
            "--out",
            str(pred),
            "--knockout",
            "PGK",
        ],
    )
    assert res.exit_code == 0, res.output
    assert pred.exists()


def test_pruned_layer_zeroes_blocked_reactions(core_network, problem, core_set):
    """AMN layers run on the unblocked subnetwork; blocked fluxes come out as 0."""
    from kinflux.flux.architectures import PrunedLayer
    from kinflux.flux.blocked import find_blocked_reactions

    torch.set_num_threads(1)
    amn = AMN(problem, arch="AMN-LP", epochs=3).fit(core_set.X[:64], core_set.Y[:64])
    mech = amn.model_.mechanistic
    assert isinstance(mech, PrunedLayer)
    blocked = find_blocked_reactions(problem)
    dropped = [r for r in blocked if r not in core_set.medium_ids]
    assert len(mech.keep) == core_network.n_reactions - len(dropped)
    V = amn.predict(core_set.X[:8])
    assert np.abs(V[:, core_network.indices(dropped)]).max() == 0
    assert np.abs(V @ core_network.S.T).max() < 1e-4  # the LP layer's exact projection
    # knockouts address full-network columns even though the layer is smaller
    assert mech.local_index(torch.as_tensor(core_network.indices(["PGK_for"])))[0] != int(
        core_network.index("PGK_for")
    )
    with amn.knockout(["PGK"], project=False):
        mutant = amn.predict(core_set.X[:8])
    pgk = core_network.indices(["PGK_for", "PGK_rev"])
    assert np.abs(mutant[:, pgk]).max() == 0
    assert np.abs(mutant - V).max() > 0
    full = AMN(problem, arch="AMN-LP", prune=False)._build()
    assert not isinstance(full.mechanistic, PrunedLayer)
