"""Reservoir: the frozen-AMN training recipe, the estimator, bounds usable by COBRApy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from kinflux.flux.baselines import fba_growth_with_bounds
from kinflux.flux.experiments import MediumDesign
from kinflux.flux.problem import FluxProblem
from kinflux.flux.reservoir import (
    FrozenError,
    Reservoir,
    ReservoirError,
    bounds_to_cobra,
    frozen_amn,
    reservoir_training_media,
)
from reservoir_case import COMPS, FIXED, VARIABLE, cobra_pfba_growth, small_frozen


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    cache = tmp_path_factory.mktemp("frozen")
    net, design, amn, sub, params = small_frozen(cache)
    return net, design, amn, sub, cache, params


def test_training_media_follow_the_published_recipe():
    design = MediumDesign(
        ("EX_a_e_i", "EX_b_e_i", "EX_c_e_i", "EX_d_e_i"), ("EX_b_e_i", "EX_c_e_i", "EX_d_e_i"), 2.2
    )
    comps = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [1, 1, 1]], float)
    M = reservoir_training_media(design, comps, per_composition=300, seed=1)
    assert M.shape == (1200, 4)
    assert np.all(M[:, 0] == 2.2)
    for r, comp in enumerate(comps):
        block = M[r * 300 : (r + 1) * 300, 1:]
        assert np.array_equal(block > 0, np.broadcast_to(comp > 0, block.shape))
        k = comp.sum()
        steps = block[block > 0] / ((k + 1) * 2.2 / 99)  # integer steps j in 1..99
        assert np.allclose(steps, np.round(steps)) and steps.min() > 0.5 and steps.max() < 99.5
        assert steps.max() > 90 and steps.min() < 10  # the whole range is drawn
    assert np.array_equal(M, reservoir_training_media(design, comps, 300, seed=1))


def test_frozen_amn_is_cached_and_refuses_other_settings(frozen):
    net, design, amn, sub, cache, params = frozen
    names = sorted(p.name for p in cache.iterdir())
    assert names[2:] == ["config.json", "reactions.json", "training_set.npz"]
    assert names[0].startswith("amn_") and names[0].endswith(".json")
    assert sub.n_reactions < net.n_reactions
    again, _ = frozen_amn(cache, net, design, COMPS, {}, per_composition=4, amn_params=params)
    X = np.full((2, len(design.medium_ids)), 2.2)
    assert np.allclose(again.predict(X), amn.predict(X))
    with pytest.raises(FrozenError, match="other settings"):
        frozen_amn(cache, net, design, COMPS, {}, per_composition=5, amn_params=params)


def test_reservoir_fits_predicts_and_clones(frozen):
    _net, design, amn, _sub, _cache, _ = frozen
    X = pd.DataFrame(COMPS, columns=VARIABLE, index=[f"m{i}" for i in range(len(COMPS))])
    y = 0.1 + 0.2 * COMPS[:, 0] + 0.1 * COMPS[:, 2]
    res = Reservoir(amn, epochs=3, hidden=8, random_state=0).fit(X, y)
    g = res.predict(X)
    assert g.shape == (15,) and np.isfinite(g).all()
    assert len(res.history_) == 3
    B = res.predict_bounds(X)
    assert list(B.columns) == list(design.medium_ids) and list(B.index) == list(X.index)
    assert np.all(B[FIXED].to_numpy() == pytest.approx(2.2))
    assert np.all(B[VARIABLE].to_numpy()[COMPS == 0] == 0.0)
    same = Reservoir(amn, epochs=3, hidden=8, random_state=0).fit(X, y)
    assert np.allclose(same.predict(X), g)
    twin = clone(res)
    assert twin.frozen_amn is amn and not hasattr(twin, "head_")
    penalised = Reservoir(amn, epochs=2, hidden=8, constraint_weight=1.0).fit(X, y)
    assert np.isfinite(penalised.history_).all()
    # several heads in one batched pass: each member sees only its own samples
    members = [(np.arange(15), 0), (np.arange(8), 1), (np.arange(8, 15), 2)]
    fitted = Reservoir(amn, epochs=3, hidden=8).fit_members(X, y, members)
    assert len(fitted) == 3 and all(r.predict(X).shape == (15,) for r in fitted)
    assert not np.allclose(fitted[1].predict(X), fitted[2].predict(X))


def test_reservoir_bad_input(frozen):
    amn = frozen[2]
    with pytest.raises(ReservoirError, match="DataFrame"):
        Reservoir(amn, epochs=1).fit(COMPS, np.ones(15))
    with pytest.raises(ReservoirError, match="0/1"):
        Reservoir(amn, VARIABLE, epochs=1).fit(COMPS * 2, np.ones(15))
    with pytest.raises(ReservoirError, match="not fitted"):
        Reservoir(amn, VARIABLE).predict(COMPS)
    with pytest.raises(ReservoirError, match="finite"):
        Reservoir(amn, VARIABLE, epochs=1).fit(COMPS, np.full(15, np.nan))


def test_predicted_bounds_reproduce_growth_in_cobrapy(frozen, tmp_path):
    net, design, amn, _sub, _cache, _ = frozen
    X = pd.DataFrame(COMPS[[0, 6, 14]], columns=VARIABLE, index=["a", "b", "c"])
    res = Reservoir(amn, epochs=2, hidden=8).fit(X, [0.2, 0.3, 0.4])
    bounds = res.predict_bounds(X)
    kinflux_growth = fba_growth_with_bounds(FluxProblem(net, design.medium_ids, {}), bounds)
    path = tmp_path / "bounds.csv"
    bounds_to_cobra(bounds).to_csv(path)
    table = pd.read_csv(path, index_col=0)
    for medium, row in table.iterrows():
        growth = cobra_pfba_growth(net.model, row.to_dict())
        assert growth == pytest.approx(kinflux_growth[medium], abs=1e-6)


def test_study_run_folder_and_predict(tmp_path):
    from typer.testing import CliRunner

    from kinflux.cli.reservoir import app
    from kinflux.flux.reservoir_study import predict_from_run, run_reservoir_study

    rng = np.random.default_rng(0)
    cols = ["EX_ac_e", "EX_fru_e", "EX_pyr_e_i", "EX_succ_e"]
    comps = COMPS[rng.permutation(len(COMPS))]
    table = pd.DataFrame(comps, columns=cols, index=[f"m{i}" for i in range(len(comps))])
    table["GR_1"] = 0.2 + comps @ [0.1, 0.3, 0.2, 0.15] + rng.normal(0, 0.01, len(comps))
    table["GR_2"] = table["GR_1"] + 0.01
    table.loc["m3", ["GR_1", "GR_2"]] = np.nan  # no replicate: excluded
    exp = tmp_path / "exp.csv"
    table.to_csv(exp)
    out = tmp_path / "run"
    result = run_reservoir_study(
        out,
        experiments=str(exp),
        model="e_coli_core",
        folds=2,
        repeats=2,
        frozen_params={"arch": "ANN-Dense", "epochs": 2, "hidden": (16,), "patience": 0},
        reservoir_params={"epochs": 2, "hidden": 8},
        models=("reservoir", "fba_predicted_bounds", "ols", "fba_scaled"),
        per_composition=5,
        baseline_params={"fba_scaled": {"scales": (1.0, 5.0, 10.0)}},
    )
    assert list(result["model"]) == ["reservoir", "fba_predicted_bounds", "ols", "fba_scaled"]
    assert {"Q2", "Q2_sd", "Q2_avg", "Q2_0", "Q2_1", "R2_train"} <= set(result.columns)
    names = {p.name for p in out.iterdir()}
    assert {
        "comparison.csv",
        "comparison.md",
        "predictions.csv",
        "bounds_in_sample.csv",
        "bounds_oof_seed0.csv",
        "bounds_oof_seed1.csv",
        "reservoir.pt",
    } <= names
    assert (out / "figures" / "parity_oof.png").exists()
    assert "1 excluded" in (out / "log.txt").read_text()
    bounds = pd.read_csv(out / "bounds_in_sample.csv", index_col=0)
    assert len(bounds) == 14 and "EX_ac_e" in bounds.columns
    new = tmp_path / "new.csv"
    table[cols].iloc[:3].to_csv(new)
    pred = predict_from_run(out, new)
    assert list(pred.index) == ["m0", "m1", "m2"] and pred["growth"].notna().all()
    res = CliRunner().invoke(
        app, ["predict", "--run", str(out), "--media", str(new), "--out", str(tmp_path / "p.csv")]
    )
    assert res.exit_code == 0, res.output
    bad = tmp_path / "bad.csv"
    table[cols[:2]].to_csv(bad)
    res = CliRunner().invoke(app, ["predict", "--run", str(out), "--media", str(bad)])
    assert res.exit_code == 2 and "EX_pyr_e_i" in res.output


def test_cli_fit_names_columns_that_are_not_exchanges(tmp_path):
    from typer.testing import CliRunner

    from kinflux.cli import app

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"EX_glc__D_e_i": [1, 0], "EX_foo_e_i": [0, 1], "GR_1": [0.3, 0.2]}).to_csv(bad)
    res = CliRunner().invoke(
        app,
        [
            "flux",
            "reservoir",
            "fit",
            "--experiments",
            str(bad),
            "--model",
            "e_coli_core",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "EX_foo_e_i" in res.output
    assert not (tmp_path / "r").exists()
