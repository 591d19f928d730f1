"""FluxProblem: immutable, hashable, None vs {} open inflows, saved unblocked set."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from kinflux import KinfluxError
from kinflux.flux.problem import FluxProblem

IDS = ["EX_glc__D_e_i", "EX_o2_e_i", "EX_nh4_e_i", "EX_pi_e_i"]


def test_equal_problems_hash_equal_and_are_immutable(core_network):
    a = FluxProblem(core_network, IDS, {}, "ub")
    b = FluxProblem(core_network, tuple(IDS), {}, "UB")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a.mode == "UB" and a.medium_ids == tuple(IDS)
    with pytest.raises(AttributeError, match="immutable"):
        a.mode = "EB"
    opened = a.open_inflows
    opened["EX_co2_e_i"] = 5.0  # a copy: the problem does not change
    assert a.open_inflows == {}


def test_none_and_empty_open_inflows_stay_distinct(core_network):
    none = FluxProblem(core_network, IDS, None)
    closed = FluxProblem(core_network, IDS, {})
    assert none != closed and none.open_inflows is None and closed.open_inflows == {}
    j = core_network.index("EX_co2_e_i")
    assert none.inflow_upper_bounds()[j] == core_network.upper_bounds[j] > 0
    assert closed.inflow_upper_bounds()[j] == 0.0


def test_bad_problems_name_the_id(core_network):
    with pytest.raises(KinfluxError, match="EX_foo_e_i"):
        FluxProblem(core_network, ["EX_foo_e_i"])
    with pytest.raises(KinfluxError, match="repeat EX_glc__D_e_i"):
        FluxProblem(core_network, ["EX_glc__D_e_i", "EX_glc__D_e_i"])
    with pytest.raises(KinfluxError, match="finite value >= 0"):
        FluxProblem(core_network, IDS, {"EX_co2_e_i": float("nan")})
    with pytest.raises(KinfluxError, match="mode"):
        FluxProblem(core_network, IDS, mode="XX")


def test_unblocked_set_cached_pickled_and_saved(core_network):
    p = FluxProblem(core_network, IDS, {})
    keep = p.unblocked_ids
    assert "EX_fru_e_i" not in keep and "Biomass_Ecoli_core" in keep
    assert p.unblocked_ids is keep  # computed once
    back = pickle.loads(pickle.dumps(p))
    assert back == p and back._unblocked == keep  # travels to workers without a new search
    again = FluxProblem.from_dict(p.to_dict(), core_network)
    assert again._unblocked == keep
    sub = p.pruned()
    assert sub.network.n_reactions == len(keep)
    assert np.abs(sub.network.S).sum() > 0


def test_from_dict_refuses_other_network(core_network):
    d = FluxProblem(core_network, IDS).to_dict() | {"network_hash": "0" * 64}
    with pytest.raises(KinfluxError, match="made for network"):
        FluxProblem.from_dict(d, core_network)
