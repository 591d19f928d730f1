"""Persistent pFBA against COBRApy; training sets."""

from __future__ import annotations

import numpy as np
import pytest

from kinflux.flux.fba import FluxSolver, SolverError, cobra_exchange_bounds
from kinflux.flux.media import MediumError, MediumGuide
from kinflux.flux.problem import FluxProblem
from kinflux.flux.training_set import TrainingSet, build_training_set, essential_setup
from kinflux.io import OutputExistsError


def test_split_fba_equals_original_fba_50_media(core_network, core_guide):
    net, guide = core_network, core_guide
    _, open_inflows = essential_setup(net, guide)
    problem = FluxProblem(net, guide.inflow_ids, open_inflows)
    solver = FluxSolver(problem)
    media = guide.draw(50, np.random.default_rng(123))
    model = net.model
    for x in media:
        solver.set_medium(x)
        g_split = solver.optimize()
        with model:
            for rid, lb in cobra_exchange_bounds(problem, x).items():
                model.reactions.get_by_id(rid).lower_bound = lb
            g_orig = model.slim_optimize()
        assert abs(g_split - g_orig) <= 1e-6


def test_pfba_matches_cobra_total_flux(core_network):
    from cobra.flux_analysis import pfba

    res = FluxSolver(core_network).pfba()
    sol = pfba(core_network.model)
    assert res.status == "optimal"
    assert res.growth == pytest.approx(sol.fluxes["Biomass_Ecoli_core"], abs=1e-6)
    assert res.total_flux == pytest.approx(sol.objective_value, rel=1e-6)
    # Split solution mapped back equals a valid net flux distribution.
    net_flux = core_network.to_original @ res.fluxes
    assert np.abs(core_network.S_original @ net_flux).max() < 1e-6


def test_zero_uptake_is_reported(core_network, core_guide):
    solver = FluxSolver(FluxProblem(core_network, core_guide.inflow_ids, {}))
    res = solver.pfba(np.zeros(core_guide.n_medium))
    assert res.status in ("zero_growth", "infeasible") and res.fluxes is None


def test_essential_inflow_of_core(core_network):
    from kinflux.flux.fba import find_essential_inflows

    assert find_essential_inflows(core_network) == ["EX_pi_e_i"]


def test_training_set_mass_balance_and_reproducible(tmp_path, core_network, core_guide):
    ts = build_training_set(core_network, core_guide, 60, mode="UB", seed=7)
    assert ts.X.shape == (60, 20) and ts.Y.shape == (60, 154)
    assert np.linalg.norm(core_network.S @ ts.Y.T, axis=0).max() <= 1e-6
    assert (ts.Y >= 0).all()
    assert (ts.growth > 0).all()
    # UB: uptakes never exceed the medium bounds
    idx = core_network.indices(ts.medium_ids)
    assert (ts.Y[:, idx] <= ts.X + 1e-7).all()
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    ts.save(a)
    build_training_set(core_network, core_guide, 60, mode="UB", seed=7).save(b)
    assert a.read_bytes() == b.read_bytes()
    back = TrainingSet.load(a)
    np.testing.assert_array_equal(back.Y, ts.Y)
    assert back.metadata["network_hash"] == core_network.hash
    assert back.metadata["seed"] == 7 and back.metadata["mode"] == "UB"


def test_eb_mode_x_are_uptakes(core_network, core_guide):
    ts = build_training_set(core_network, core_guide, 20, mode="EB", seed=1)
    np.testing.assert_allclose(ts.X, ts.Y[:, core_network.indices(ts.medium_ids)])


def test_parallel_equals_serial(core_network, core_guide):
    """Identical sets for 1 and 2 local workers, and (if installed) on Ray."""
    a = build_training_set(core_network, core_guide, 40, seed=3)
    b = build_training_set(core_network, core_guide, 40, seed=3, n_jobs=2)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Y, b.Y)


def test_ray_equals_local(core_network, core_guide):
    ray = pytest.importorskip("ray")
    local = build_training_set(core_network, core_guide, 40, seed=3, n_jobs=2)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = build_training_set(core_network, core_guide, 40, seed=3, n_jobs=2, backend="ray")
    finally:
        if started:
            ray.shutdown()
    np.testing.assert_array_equal(local.X, remote.X)
    np.testing.assert_array_equal(local.Y, remote.Y)


def test_progress_per_medium_with_one_worker(core_network, core_guide):
    seen: list[int] = []
    build_training_set(
        core_network, core_guide, 40, seed=3, progress=lambda d, t, i: seen.append(d)
    )
    assert len(set(seen)) > 2  # the bar moves while the media are solved, not only at the end


def test_no_overwrite_without_force(tmp_path, core_network, core_guide):
    ts = build_training_set(core_network, core_guide, 5, seed=0)
    p = tmp_path / "t.npz"
    ts.save(p)
    before = p.read_bytes()
    with pytest.raises(OutputExistsError):
        ts.save(p)
    assert p.read_bytes() == before
    ts.save(p, force=True)


def test_failed_save_leaves_no_partial_file(tmp_path, core_network, core_guide, monkeypatch):
    ts = build_training_set(core_network, core_guide, 5, seed=0)
    p = tmp_path / "t.npz"
    ts.save(p)
    good = p.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("json.dumps", boom)
    with pytest.raises(KeyboardInterrupt):
        ts.save(p, force=True)
    assert p.read_bytes() == good
    assert [f.name for f in tmp_path.iterdir()] == ["t.npz"]


def test_guide_with_unknown_exchange(tmp_path, core_network):
    csv = tmp_path / "guide.csv"
    csv.write_text(
        "name,EX_glc__D_e_i,EX_unobtainium_e_i\nlevel,1,5\nmax_value,10,10\nratio_drawing,0.5,\n"
    )
    guide = MediumGuide.from_csv(csv)
    with pytest.raises(MediumError, match="EX_unobtainium_e_i.*e_coli_core"):
        build_training_set(core_network, guide, 5)


def test_guide_draw_levels(core_guide):
    media = core_guide.draw(2000, np.random.default_rng(0))
    fixed = ~core_guide.variable
    assert (media[:, fixed] == 10).all()
    var = media[:, core_guide.variable]
    assert set(np.unique(var)) == {0.0, 2.0, 4.0, 6.0, 8.0, 10.0}
    assert (var > 0).mean() == pytest.approx(0.5, abs=0.03)


def test_nearest_feasible_projects_onto_knockout(core_network):
    """The projection keeps a feasible point and gives 0 growth for a lethal knockout."""
    solver = FluxSolver(core_network)
    v = solver.pfba().fluxes
    same = solver.nearest_feasible(v)
    np.testing.assert_allclose(same, v, atol=1e-4)
    pgk = [sr.id for sr in core_network.reactions if sr.original_id == "PGK"]
    solver.set_bounds(pgk, np.zeros(len(pgk)))
    mutant = solver.nearest_feasible(v)
    assert mutant[core_network.objective_index] == pytest.approx(0.0, abs=1e-7)
    assert np.abs(core_network.S @ mutant).max() < 1e-6
    assert mutant[core_network.indices(pgk)].max() <= 1e-9
    # closest point: no feasible point on the segment towards a far one is nearer
    solver.set_bounds(pgk, np.full(len(pgk), 1000.0))
    assert np.linalg.norm(solver.nearest_feasible(v) - v) < np.linalg.norm(mutant - v)


def test_nearest_feasible_rejects_bad_shape(core_network):
    with pytest.raises(SolverError, match="expected"):
        FluxSolver(core_network).nearest_feasible(np.zeros(3))


def test_find_blocked_reactions_matches_cobra(core_network, core_guide):
    """No e_coli_core reaction is blocked as a whole (COBRApy agrees); some directions are."""
    from cobra.flux_analysis import find_blocked_reactions as cobra_blocked

    from kinflux.flux.blocked import find_blocked_reactions

    blocked = set(find_blocked_reactions(FluxProblem(core_network, core_guide.inflow_ids, {})))
    model = core_network.model.copy()
    medium = {rid[:-2] for rid in core_guide.inflow_ids}
    for r in model.exchanges:
        r.lower_bound = -1000.0 if r.id in medium else 0.0
    assert cobra_blocked(model, open_exchanges=False, processes=1) == []
    whole = {
        sr.original_id
        for sr in core_network.reactions
        if all(o.id in blocked for o in core_network.reactions if o.original_id == sr.original_id)
    }
    assert whole == set()
    # formate can leave the cell but never be consumed, so its uptake is blocked
    assert "EX_for_e_i" in blocked and "EX_for_e_o" not in blocked
    # closing glucose and fructose blocks glucose transport
    others = [r for r in core_guide.inflow_ids if r not in ("EX_glc__D_e_i", "EX_fru_e_i")]
    assert "GLCpts" in set(find_blocked_reactions(FluxProblem(core_network, others, {})))
