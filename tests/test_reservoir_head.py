"""Reservoir head options: fixed compounds set by the head, the growth-only frozen path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from kinflux.flux.baselines import fba_growth_with_bounds
from kinflux.flux.experiments import MediumDesign
from kinflux.flux.frozen import growth_module
from kinflux.flux.network import Network
from kinflux.flux.problem import FluxProblem
from kinflux.flux.reservoir import (
    Reservoir,
    ReservoirError,
    bounds_to_cobra,
    carbon_sources,
    frozen_amn,
    reservoir_training_media,
)
from kinflux.flux.uptake_head import UptakeHead
from reservoir_case import COMPS, FIXED, VARIABLE, cobra_pfba_growth, small_frozen

DRAWN = ["EX_o2_e_i"]


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    cache = tmp_path_factory.mktemp("frozen_drawn")
    net, design, amn, _, _ = small_frozen(cache, drawn_fixed=DRAWN)
    return net, design, amn, cache


def test_drawn_fixed_levels_keep_the_published_variable_draw():
    design = MediumDesign(("EX_a_e_i", "EX_b_e_i", "EX_c_e_i"), ("EX_c_e_i",), 2.2)
    comps = np.array([[1.0], [0.0]])
    M = reservoir_training_media(design, comps, per_composition=400, seed=3)
    D = reservoir_training_media(design, comps, 400, seed=3, drawn_fixed=["EX_b_e_i"])
    assert np.array_equal(M[:, [0, 2]], D[:, [0, 2]])  # undrawn fixed and variable
    steps = D[:, 1] / (2.2 / 99)
    assert np.allclose(steps, np.round(steps)) and steps.min() >= 1 and steps.max() <= 99
    assert steps.min() < 5 and steps.max() > 95
    with pytest.raises(Exception, match="fixed compounds"):
        reservoir_training_media(design, comps, 4, drawn_fixed=["EX_c_e_i"])


def test_drawn_fixed_is_part_of_the_cache_settings(frozen):
    net, design, _amn, cache = frozen
    with pytest.raises(Exception, match="other settings"):
        frozen_amn(cache, net, design, COMPS, {}, per_composition=4, amn_params={"epochs": 3})


def test_carbon_sources_are_the_organic_inflows():
    net = Network.load("e_coli_core")
    ids = ["EX_o2_e_i", "EX_co2_e_i", "EX_glc__D_e_i", "EX_ac_e_i", "EX_nh4_e_i"]
    assert carbon_sources(net, ids) == ["EX_glc__D_e_i", "EX_ac_e_i"]


def test_head_with_fixed_outputs_masks_only_the_composition():
    torch.manual_seed(0)
    head = UptakeHead(3, hidden=6, dropout=0.0, n_members=2, n_fixed=2)
    with torch.no_grad():
        head.b2.fill_(1.0)  # every output positive before masking
    c = torch.tensor([[[1.0, 0.0, 1.0]], [[0.0, 0.0, 0.0]]])
    out = head(c)
    assert out.shape == (2, 1, 5)
    assert out[0, 0, 1] == 0 and out[1, 0, :3].abs().sum() == 0
    assert (out[:, 0, 3:] > 0).all()  # fixed outputs are never masked
    one = head.member(1)
    assert torch.allclose(one(c[1]), out[1])


def test_growth_module_equals_the_frozen_models_growth(frozen):
    _net, design, amn, _ = frozen
    module, g = amn.model_.eval(), amn.problem.network.objective_index
    x = torch.rand(7, len(design.medium_ids)) * 4
    with torch.no_grad():
        assert torch.allclose(growth_module(module, g)(x), module(x)[:, g], atol=1e-6)


def test_reservoir_sets_head_fixed_bounds_and_reloads(frozen, tmp_path):
    net, design, amn, _ = frozen
    X = pd.DataFrame(COMPS, columns=VARIABLE, index=[f"m{i}" for i in range(len(COMPS))])
    y = 0.1 + 0.2 * COMPS[:, 0]
    res = Reservoir(amn, head_fixed=DRAWN, epochs=3, hidden=8).fit(X, y)
    assert res.head_fixed_ids_ == DRAWN
    B = res.predict_bounds(X)
    others = [r for r in FIXED if r not in DRAWN]
    assert np.all(B[others].to_numpy() == pytest.approx(2.2))
    assert not np.allclose(B["EX_o2_e_i"], 2.2) and (B["EX_o2_e_i"] >= 0).all()
    assert np.all(B[VARIABLE].to_numpy()[COMPS == 0] == 0.0)
    res.save(tmp_path / "r.pt")
    again = Reservoir.load(tmp_path / "r.pt", amn)
    assert again.head_fixed_ids_ == DRAWN and np.allclose(again.predict(X), res.predict(X))
    # "carbon": no organic fixed compound here, so the published head
    plain = Reservoir(amn, head_fixed="carbon", epochs=1, hidden=8).fit(X, y)
    assert plain.head_fixed_ids_ == [] and plain.head_.W2.shape[-1] == len(VARIABLE)
    # the CSV (head-set O2 bound included) reproduces kinflux's pFBA growth in COBRApy
    bounds = res.predict_bounds(X)
    growth = fba_growth_with_bounds(FluxProblem(net, design.medium_ids, {}), bounds)
    table = bounds_to_cobra(bounds)[growth > 1e-6].iloc[:3]  # infeasible media give 0
    assert len(table) == 3
    for medium, row in table.iterrows():
        assert cobra_pfba_growth(net.model, row.to_dict()) == pytest.approx(
            growth[medium], abs=1e-6
        )


def test_head_fixed_bad_ids(frozen):
    amn = frozen[2]
    X = pd.DataFrame(COMPS, columns=VARIABLE)
    with pytest.raises(ReservoirError, match="EX_glc__D_e_i"):
        Reservoir(amn, head_fixed=["EX_glc__D_e_i"], epochs=1).fit(X, np.ones(15))
    with pytest.raises(ReservoirError, match="head_fixed"):
        Reservoir(amn, head_fixed="nitrogen", epochs=1).fit(X, np.ones(15))


def test_ensemble_of_heads_averages_bounds_and_growth(frozen, tmp_path):
    amn = frozen[2]
    X = pd.DataFrame(COMPS, columns=VARIABLE)
    y = 0.1 + 0.2 * COMPS[:, 0]
    res = Reservoir(amn, n_heads=3, epochs=2, hidden=8, clip_bounds=True).fit(X, y)
    assert res.head_.W2.shape[0] == 3 and len(res.history_) == 2
    singles = [res.head_.member(j) for j in range(3)]
    ct = torch.as_tensor(COMPS, dtype=torch.float32)
    with torch.no_grad():
        media = [res._medium(h(ct), ct) for h in singles]
        growth = torch.stack([res._module(m)[:, res._g] for m in media]).mean(0)
    B = res.predict_bounds(X)
    assert np.allclose(B.to_numpy(), torch.stack(media).mean(0).numpy(), atol=1e-6)
    assert np.allclose(res.predict(X), growth.numpy(), atol=1e-6)
    k = COMPS.sum(1, keepdims=True)
    assert (B[VARIABLE].to_numpy() <= (k + 1) * 2.2 + 1e-6).all()  # clip_bounds
    res.save(tmp_path / "e.pt")
    again = Reservoir.load(tmp_path / "e.pt", amn)
    assert np.allclose(again.predict(X), res.predict(X))
    with pytest.raises(ReservoirError, match="n_heads"):
        Reservoir(amn, n_heads=0, epochs=1).fit(X, y)


def test_clip_bounds_caps_by_composition():
    res = Reservoir(fixed_bound=2.0, bound_scale=10.0, clip_bounds=True)
    res.medium_ids_, res.variable_ids_, res.head_fixed_ids_ = (
        ["f", "a", "b", "h"],
        ["a", "b"],
        ["h"],
    )
    res._prepare(None)
    c = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    levels = torch.tensor([[0.5, 0.0, 0.9], [0.1, 0.9, 0.05]])
    M = res._medium(levels, c)
    # a: min(5, 2*2) = 4; b: min(9, 3*2) = 6; head-set fixed h: min(9, 2) and 0.5
    assert np.allclose(M.numpy(), [[2.0, 4.0, 0.0, 2.0], [2.0, 1.0, 6.0, 0.5]])


def test_study_recipes(tmp_path):
    from kinflux.flux.reservoir_study import HEAD_RECIPES, run_reservoir_study

    assert HEAD_RECIPES["published"] == {}
    assert HEAD_RECIPES["kinflux"]["head_fixed"] == "carbon"
    with pytest.raises(ReservoirError, match="recipe"):
        run_reservoir_study(tmp_path / "r", recipe="bespoke")
    assert not (tmp_path / "r").exists()
