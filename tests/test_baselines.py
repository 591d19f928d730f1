"""Growth experiments (EXP110 handling, fold protocol) and the growth baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kinflux import KinfluxError
from kinflux.flux.baselines import (
    BLACK_BOXES,
    FittedBoundsFBA,
    GrowthLP,
    ScaledBoundsFBA,
    black_box,
)
from kinflux.flux.experiments import (
    ExperimentError,
    GrowthExperiments,
    MediumDesign,
    cross_val_growth,
    growth_scores,
    q2_score,
    repeated_folds,
)
from kinflux.flux.network import Network
from kinflux.flux.problem import FluxProblem

FIXED = ["EX_o2_e_i", "EX_nh4_e_i", "EX_pi_e_i", "EX_h2o_e_i", "EX_h_e_i"]
VARIABLE = ["EX_glc__D_e_i", "EX_fru_e_i", "EX_succ_e_i", "EX_pyr_e_i"]


@pytest.fixture(scope="module")
def core():
    net = Network.load("e_coli_core")
    design = MediumDesign(tuple(FIXED + VARIABLE), tuple(VARIABLE), 20.0)
    problem = FluxProblem(net, design.medium_ids, open_inflows={})
    comps = np.array(
        [[a, b, c, d] for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)][1:],
        dtype=float,
    )
    return net, design, problem, comps


# ---------------------------------------------------------------- experiments
def test_exp110_loads_and_checks_exchanges():
    net_ids = [f"EX_{m}_e" for m in "rib__D malt melib tre fru gal ac lac__D succ pyr".split()]
    exp = GrowthExperiments.from_table("EXP110", exchange_ids=net_ids)
    assert exp.compositions.shape == (110, 10)
    assert exp.variable_ids[0] == "EX_rib__D_e_i"
    assert exp.n_excluded == 0
    assert exp.growth.between(0.0, 1.5).all()


def test_table_with_suffixes_unknown_columns_and_missing_replicates(tmp_path):
    df = pd.DataFrame(
        {
            "EX_glc__D_e": [1, 0, 1],
            "EX_fru_e_i": [0, 1, 1],
            "GR_1": [0.5, np.nan, 0.7],
            "GR_2": [0.7, np.nan, np.nan],
        },
        index=["m0", "m1", "m2"],
    )
    exp = GrowthExperiments.from_table(df, exchange_ids=["EX_glc__D_e", "EX_fru_e"])
    assert exp.variable_ids == ["EX_glc__D_e_i", "EX_fru_e_i"]
    assert exp.excluded == ["m1"] and exp.n_excluded == 1
    assert exp.growth.tolist() == pytest.approx([0.6, 0.7])
    assert exp.growth_sd["m0"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    bad = df.rename(columns={"EX_fru_e_i": "EX_foo_e_i"})
    path = tmp_path / "bad.csv"
    bad.to_csv(path)
    with pytest.raises(ExperimentError, match=r"bad.csv.*EX_foo_e_i"):
        GrowthExperiments.from_table(path, exchange_ids=["EX_glc__D_e", "EX_fru_e"])
    with pytest.raises(ExperimentError, match="not found"):
        GrowthExperiments.from_table(tmp_path / "none.csv")


def test_scores_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert q2_score(y, [1.0, 2.0, 3.0, 3.0]) == pytest.approx(1 - 1 / 5)
    oof = pd.DataFrame({"seed_0": [1.0, 2.0, 3.0, 3.0], "seed_1": [1.0, 2.0, 3.0, 5.0]})
    s = growth_scores(y, oof)
    assert s["Q2_0"] == pytest.approx(0.8) and s["Q2_1"] == pytest.approx(0.8)
    assert s["Q2_sd"] == pytest.approx(0.0)
    assert s["Q2_avg"] == pytest.approx(1.0)  # the errors cancel in the average


def test_repeated_folds_cover_every_sample_once_per_seed():
    splits = repeated_folds(23, 10, (0, 1, 2))
    assert len(splits) == 30
    for seed in (0, 1, 2):
        tests = np.concatenate([te for s, _k, _tr, te in splits if s == seed])
        assert sorted(tests.tolist()) == list(range(23))
    first = [te.tolist() for s, _k, _tr, te in splits if s == 0]
    again = [te.tolist() for s, _k, _tr, te in repeated_folds(23, 10, (0,))]
    assert first == again
    with pytest.raises(ExperimentError):
        repeated_folds(5, 10)


def test_cross_val_growth_of_ols_on_a_linear_law():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, 3)).astype(float)
    y = X @ [0.1, 0.2, 0.3] + 0.05
    oof = cross_val_growth(lambda s: black_box("OLS", s), X, y, folds=5, seeds=(0, 1))
    assert list(oof.columns) == ["seed_0", "seed_1"]
    assert growth_scores(y, oof)["Q2"] == pytest.approx(1.0)


def test_black_boxes_fit_and_unknown_name():
    X = np.eye(4)
    for name in BLACK_BOXES:
        assert black_box(name, 0).fit(X, [0.1, 0.2, 0.3, 0.4]).predict(X).shape == (4,)
    with pytest.raises(KinfluxError, match="XGB"):
        black_box("XGB")


# ---------------------------------------------------------------- FBA baselines
def test_growth_lp_gradient_matches_finite_differences(core):
    _net, design, problem, comps = core
    lp = GrowthLP(problem)
    media = design.bounds(comps, np.array([3.0, 4.0, 5.0, 6.0]))
    g, dg = lp.growth(media, gradient=True)
    h = 1e-5
    for i in (0, 5, 14):
        for j in range(len(design.medium_ids)):
            step = media[i].copy()
            step[j] += h
            fd = (lp.growth(step[None])[0] - g[i]) / h
            assert dg[i, j] == pytest.approx(fd, abs=1e-4)


def test_scaled_fba_recovers_the_scale(core):
    _net, design, problem, comps = core
    y = GrowthLP(problem).growth(design.bounds(comps, 3.0))
    fba = ScaledBoundsFBA(problem, design, scales=(1.0, 2.0, 3.0, 4.0)).fit(comps, y)
    assert fba.scale_ == 3.0 and fba.train_r2_ == pytest.approx(1.0)
    assert fba.predict(comps) == pytest.approx(y)
    with pytest.raises(KinfluxError, match="0/1 compositions"):
        fba.predict(comps[:, :2])


@pytest.mark.parametrize("method", ["BFGS", "Nelder-Mead"])
def test_fitted_fba_recovers_per_compound_bounds(core, method):
    _net, design, problem, comps = core
    truth = np.array([2.0, 4.0, 6.0, 3.0])
    y = GrowthLP(problem).growth(design.bounds(comps, truth))
    fba = FittedBoundsFBA(problem, design, method=method, x0=3.0).fit(comps, y)
    assert fba.train_r2_ > 0.999
    assert fba.predict(comps) == pytest.approx(y, abs=2e-3)
    with pytest.raises(KinfluxError, match="method"):
        FittedBoundsFBA(problem, design, method="CG").fit(comps, y)
