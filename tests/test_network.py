"""Split networks: structure, mapping back, export, bad input."""

from __future__ import annotations

import cobra
import numpy as np
import pytest

from kinflux.flux.network import Network, NetworkError


def toy_model() -> cobra.Model:
    """A -> B reversible; exchange of A and B; biomass consumes B."""
    m = cobra.Model("toy")
    a_e = cobra.Metabolite("a_e", compartment="e")
    a = cobra.Metabolite("a_c", compartment="c")
    b = cobra.Metabolite("b_c", compartment="c")
    ex = cobra.Reaction("EX_a_e", lower_bound=-10, upper_bound=1000)
    ex.add_metabolites({a_e: -1})
    t = cobra.Reaction("TA", lower_bound=-1000, upper_bound=1000)
    t.add_metabolites({a_e: -1, a: 1})
    r = cobra.Reaction("R", lower_bound=0, upper_bound=1000)
    r.add_metabolites({a: -2, b: 1})
    back = cobra.Reaction("BACK", lower_bound=-5, upper_bound=0)
    back.add_metabolites({b: -1, a: 2})
    bio = cobra.Reaction("BIO", lower_bound=0, upper_bound=1000)
    bio.add_metabolites({b: -1})
    m.add_reactions([ex, t, r, back, bio])
    m.objective = "BIO"
    return m


def test_split_ids_bounds_and_signs():
    net = Network(toy_model())
    assert net.reaction_ids == ["EX_a_e_i", "EX_a_e_o", "TA_for", "TA_rev", "R", "BACK_rev", "BIO"]
    assert net.inflow_ids == ["EX_a_e_i"] and net.outflow_ids == ["EX_a_e_o"]
    np.testing.assert_allclose(net.upper_bounds, [10, 1000, 1000, 1000, 1000, 5, 1000])
    np.testing.assert_allclose(net.lower_bounds, 0)
    a_e = net.metabolite_ids.index("a_e")
    assert net.S[a_e, 0] == 1 and net.S[a_e, 1] == -1  # inflow produces, outflow consumes
    # BACK_rev runs BACK backwards: b -> ... consumes 2 a? no: reverse of (b -> 2a) is 2a -> b
    a_c, b_c = net.metabolite_ids.index("a_c"), net.metabolite_ids.index("b_c")
    assert net.S[a_c, 5] == -2 and net.S[b_c, 5] == 1
    assert net.reaction_ids[net.objective_index] == "BIO"


def test_to_original_recovers_net_fluxes():
    net = Network(toy_model())
    v = np.array([3.0, 1.0, 4.0, 2.0, 0.5, 1.5, 0.7])
    net_flux = net.to_original @ v
    # EX = out - in, TA = for - rev, R, BACK = -BACK_rev, BIO
    np.testing.assert_allclose(net_flux, [1 - 3, 4 - 2, 0.5, -1.5, 0.7])
    # Mass balance is preserved by the split: S_orig @ net == S_split @ v
    np.testing.assert_allclose(net.S_original @ net_flux, net.S @ v)


def test_v2m_m2v_hand_values():
    net = Network(toy_model())
    j = net.index("R")  # 2 a_c -> b_c
    a_c, b_c = net.metabolite_ids.index("a_c"), net.metabolite_ids.index("b_c")
    assert net.V2M[b_c, j] == 1 and net.V2M[a_c, j] == 0
    assert net.M2V[j, a_c] == pytest.approx(0.5) and net.M2V[j, b_c] == 0
    assert net.M2V.shape == (net.n_reactions, net.n_metabolites)


def test_core_shapes(core_network):
    net = core_network
    assert net.S.shape == (72, 154)
    assert len(net.inflow_ids) == 20
    assert net.reaction_ids[net.objective_index] == "Biomass_Ecoli_core"
    t = net.tensors()
    assert t["S"].shape == (72, 154)


def test_hash_is_stable_and_sensitive():
    a, b = Network(toy_model()), Network(toy_model())
    assert a.hash == b.hash
    m = toy_model()
    m.reactions.R.upper_bound = 10
    assert Network(m).hash != a.hash


def test_write_sbml_roundtrip(tmp_path):
    net = Network(toy_model())
    path = tmp_path / "split.xml"
    net.write_sbml(path)
    back = cobra.io.read_sbml_model(str(path))
    assert {r.id for r in back.reactions} == set(net.reaction_ids)
    assert all(r.lower_bound >= 0 for r in back.reactions)


def test_unreadable_sbml_names_file(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<sbml>not really</sbml>")
    with pytest.raises(NetworkError, match="broken.xml"):
        Network.load(bad)


def test_unknown_model_name():
    with pytest.raises(NetworkError, match="bundled"):
        Network.load("no_such_model")


def test_unknown_reaction_suggests(core_network):
    with pytest.raises(NetworkError, match="EX_glc__D_e_i"):
        core_network.index("EX_glc_D_e_i")


def test_subnetwork_keeps_columns_and_touched_metabolites(core_network):
    net = core_network
    drop = {"GLCpts", "EX_glc__D_e_i", "EX_glc__D_e_o"}
    sub = net.subnetwork([r for r in net.reaction_ids if r not in drop])
    assert sub.n_reactions == net.n_reactions - 3
    assert "glc__D_e" not in sub.metabolite_ids  # touched only by the dropped reactions
    j, k = sub.index("PGK_for"), net.index("PGK_for")
    col_sub = dict(zip(sub.metabolite_ids, sub.S[:, j], strict=True))
    col_net = dict(zip(net.metabolite_ids, net.S[:, k], strict=True))
    assert {m: c for m, c in col_net.items() if c} == {m: c for m, c in col_sub.items() if c}
    assert sub.reaction_ids[sub.objective_index] == net.reaction_ids[net.objective_index]
    assert "EX_glc__D_e_i" not in sub.inflow_ids
    with pytest.raises(NetworkError, match="objective"):
        net.subnetwork(["PGK_for"])


def test_inflow_upper_bounds_convention(core_network):
    net = core_network
    same = net.inflow_upper_bounds(None)
    np.testing.assert_array_equal(same, net.upper_bounds)
    closed = net.inflow_upper_bounds({"EX_o2_e_i": 5.0})
    assert closed[net.index("EX_o2_e_i")] == 5.0
    assert closed[net.index("EX_glc__D_e_i")] == 0.0
    internal = [j for j, sr in enumerate(net.reactions) if sr.kind != "inflow"]
    np.testing.assert_array_equal(closed[internal], net.upper_bounds[internal])
