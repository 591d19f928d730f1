"""Integration of measured Km: overlap score, fixed-Km problem view, the study."""

from __future__ import annotations

import math

import pytest
import torch

from kinflux import KinfluxError
from kinflux.kinetic.studies import km_integration as ki


@pytest.fixture(scope="module")
def problem():
    from kinflux.kinetic.problem import KineticProblem

    return KineticProblem.bundled("kin_varma")


def test_overlap_score_by_hand():
    assert ki.overlap_score((0.0, 2.0), (1.0, 5.0)) == 0.5
    assert ki.overlap_score((1.0, 2.0), (0.0, 5.0)) == 1.0
    assert ki.overlap_score((0.0, 1.0), (2.0, 3.0)) == 0.0
    assert ki.overlap_score((0.0, 4.0), (1.0, 2.0)) == 0.25
    assert ki.overlap_score((1.5, 1.5), (1.0, 2.0)) == 1.0


def test_fixed_view_draws_log_uniform(problem):
    view = ki.FixedKmProblem(problem, {"km_substrate_FUM": (1e-4, 1e-2)}, seed=3)
    col = problem.km_names.index("km_substrate_FUM")
    lk = torch.randn(400, problem.n_km, dtype=torch.float64) - 9.0
    fixed = view.fixed_log_km(lk)
    v = fixed[:, col]
    assert bool(((v >= math.log(1e-4)) & (v <= math.log(1e-2))).all())
    # log-uniform: the mean of ln Km is the middle of the ln range
    assert abs(float(v.mean()) - math.log(1e-3)) < 0.3
    other = [i for i in range(problem.n_km) if i != col]
    assert torch.equal(fixed[:, other], lk[:, other])
    assert torch.equal(view.fixed_log_km(lk), fixed)  # same rows, same draws
    assert view.n_km == problem.n_km and view.partition == problem.partition
    lam = view.lambda_max_of_log_km(lk[:3])
    assert lam.shape == (3,)


def test_fixed_view_rejects_unknown(problem):
    with pytest.raises(KinfluxError, match="not Michaelis"):
        ki.FixedKmProblem(problem, {"km_nope": (1.0, 2.0)})


def test_parse_and_csv(tmp_path):
    assert ki.parse_fixed_km(["km_substrate_FUM:0.4:0.6"]) == {
        "km_substrate_FUM": pytest.approx((4e-4, 6e-4))
    }
    with pytest.raises(KinfluxError, match="NAME:LOW:HIGH"):
        ki.parse_fixed_km(["km_substrate_FUM:0.4"])
    p = tmp_path / "km.csv"
    p.write_text("km_name,value_mM\nkm_substrate_FUM,0.5\n")
    assert ki.read_known_km_csv(p) == {"km_substrate_FUM": pytest.approx(5e-4)}
    p.write_text("km_name,value_mM\nkm_substrate_FUM,-1\n")
    with pytest.raises(KinfluxError, match="positive"):
        ki.read_known_km_csv(p)
    assert ki.fixed_ranges({"a": 1.0}) == {"a": (0.8, 1.2)}


def test_known_km_from_published_model(problem):
    from kinflux.datasets import kinetic_model_path

    names = ki.pathway_km(problem)
    assert len(names) == 35
    known = ki.known_km_from_model(kinetic_model_path("varma_strain_1"), names)
    assert known["km_substrate_FUM"] == pytest.approx(524986.8682207386e-6)


def test_tiny_study(problem):
    known = {"km_substrate_FUM": 0.5, "km_product_FUM": 0.17, "km_substrate1_CS": 5e-7}
    splits, per = ki.km_integration_study(
        problem,
        known,
        n_splits=1,
        generator_options={
            "generations": 1,
            "population": 2,
            "n_models": 4,
            "hidden": (8,),
            "latent_dim": 4,
            "update": "improved",
        },
        n_generate=20,
        oracle=40,
    )
    assert len(splits) == 1 and len(per) == 1
    row = splits.iloc[0]
    assert 0 <= row.os_with <= 1 and 0 <= row.incidence_without <= 1
    assert 0 <= row.os90_with <= 1 and 0 <= row.os90_without <= 1
    assert 0 <= row.oracle_os_with <= 1 and row.oracle_error_without >= 0


def test_study_same_numbers_in_parallel(problem):
    known = {"km_substrate_FUM": 0.5, "km_product_FUM": 0.17, "km_substrate1_CS": 5e-7}
    opts = {"generations": 1, "population": 2, "n_models": 4, "hidden": (8,), "latent_dim": 4}
    kw = {"n_splits": 2, "generator_options": opts, "n_generate": 20, "seed": 1}
    a, pa = ki.km_integration_study(problem, known, **kw)
    b, pb = ki.km_integration_study(problem, known, n_jobs=2, **kw)
    cols = ["os_with", "os_without", "incidence_with", "incidence_without", "held_out"]
    assert a[cols].equals(b[cols]) and pa["km"].equals(pb["km"])


def test_held_out_scores_by_hand():
    # one Km column, 101 valid sets with ln Km = -10 .. 0 in steps of 0.1
    lk = torch.linspace(-10.0, 0.0, 101, dtype=torch.float64)[:, None]
    k = math.exp(-5.0)
    out = ki.held_out_scores(lk, ["a"], ["a"], {"a": k}, 0.2, (0.0, 1.0))
    width = math.log(1.2) - math.log(0.8)
    assert out["os"][0] == pytest.approx(width / 10.0)
    assert out["range90"][0] == pytest.approx((-9.5, -0.5))
    assert out["os90"][0] == pytest.approx(width / 9.0)
    assert out["error"][0] == pytest.approx(0.0, abs=1e-12)  # median -5 = ln k


def test_measured_set_is_valid_at_the_reference_state(problem):
    """varma_strain_1's published Km at the strain_1 profile: the file's own model."""
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.problem import KineticProblem

    known = ki.known_km_from_model(kinetic_model_path("varma_strain_1"), problem.km_names)
    lam = ki.measured_set_lambda_max(problem, known)
    strain = KineticProblem.bundled("varma_strain_1")  # the file's own Keq and vmax
    published = strain.model.default_parameters()[None].to(torch.float64)
    assert lam == pytest.approx(float(strain.lambda_max(published)[0]), abs=1e-5)
    assert lam < problem.partition
    with pytest.raises(KinfluxError, match="lacks"):
        ki.measured_set_lambda_max(problem, {"km_substrate_FUM": 0.5})


def test_saturation_range_by_hand(problem):
    from kinflux.kinetic.known_km import saturation_range

    i, j = 0, 5
    a, b = problem.km_names[i], problem.km_names[j]
    ls = problem.log_km_steady
    known = {a: math.exp(float(ls[i]) + 0.7), b: math.exp(float(ls[j]) - 1.2)}
    lo, hi = saturation_range(problem, known, margin=0.5)
    assert lo == pytest.approx(-1.7) and hi == pytest.approx(1.2)
    with pytest.raises(KinfluxError, match="unknown"):
        saturation_range(problem, {"km_nope": 1.0})
    with pytest.raises(KinfluxError, match="margin"):
        saturation_range(problem, known, margin=-1.0)


def test_saturation_view_maps_free_km_affinely(problem):
    col = problem.km_names.index("km_substrate_FUM")
    view = ki.FixedKmProblem(problem, {"km_substrate_FUM": (1e-4, 1e-2)}, saturation=(-2.0, 3.0))
    low, high = problem.log_km_low, problem.log_km_high
    lk = torch.stack([torch.full((problem.n_km,), v) for v in (low, high, 0.5 * (low + high))])
    eff = view.fixed_log_km(lk.double())
    ls = problem.log_km_steady.double().clamp(low, high)
    free = [k for k in range(problem.n_km) if k != col]
    # box bottom -> ln S - 2, box top -> ln S + 3, middle -> ln S + 0.5 (inside the box)
    inside = [k for k in free if low <= float(ls[k]) - 2 and float(ls[k]) + 3 <= high]
    assert len(inside) > 100
    for row, r in ((0, -2.0), (1, 3.0), (2, 0.5)):
        assert torch.allclose(eff[row, inside], ls[inside] + r)
    assert bool((eff >= low - 1e-12).all() and (eff <= high + 1e-12).all())
    # the fixed column's draw does not depend on the saturation mapping
    plain = ki.FixedKmProblem(problem, {"km_substrate_FUM": (1e-4, 1e-2)})
    assert torch.equal(plain.fixed_log_km(lk.double())[:, col], eff[:, col])
    with pytest.raises(KinfluxError, match="saturation"):
        ki.FixedKmProblem(problem, {}, saturation=(1.0, 1.0))


def test_study_integration_modes(problem):
    known = {"km_substrate_FUM": 0.5, "km_product_FUM": 0.17, "km_substrate1_CS": 5e-7}
    opts = {"generations": 1, "population": 2, "n_models": 4, "hidden": (8,), "latent_dim": 4}
    kw = {"n_splits": 1, "generator_options": opts, "n_generate": 20}
    sat, _ = ki.km_integration_study(problem, known, **kw)
    fix, _ = ki.km_integration_study(problem, known, integration="fix", **kw)
    assert math.isfinite(sat.saturation_low[0]) and math.isnan(fix.saturation_low[0])
    assert sat.os_without[0] == fix.os_without[0]  # the arm without is the same
    with pytest.raises(KinfluxError, match="integration"):
        ki.km_integration_study(problem, known, integration="bogus", **kw)


def test_fixed_view_keeps_itself_under_another_partition(problem):
    view = ki.FixedKmProblem(
        problem, {"km_substrate_FUM": (1e-4, 2e-4)}, seed=2, saturation=(-1.0, 2.0)
    )
    other = view.with_partition(-5.0)
    assert isinstance(other, ki.FixedKmProblem) and other.partition == -5.0
    assert other.fixed == view.fixed and other.saturation == view.saturation
    assert view.partition == problem.partition  # the original view is unchanged
    lk = torch.randn(5, problem.n_km, dtype=torch.float64) - 9.0
    assert torch.equal(other.fixed_log_km(lk), view.fixed_log_km(lk))


def test_parse_km_window():
    from kinflux.kinetic.known_km import parse_km_window

    assert parse_km_window("2") == (-2.0, 2.0)
    assert parse_km_window(6.9) == (-6.9, 6.9)
    assert parse_km_window("-6.9:2.3") == (-6.9, 2.3)
    assert parse_km_window("0.5:3") == (0.5, 3.0)  # every enzyme below half saturation
    for bad in ("0", "-1", "2:1", "1:1", "a", "1:2:3", "nan", "-inf:1"):
        with pytest.raises(KinfluxError, match="Km window"):
            parse_km_window(bad)


def test_km_ranges_give_oracle_the_window(problem):
    """km_ranges: free Km in [S e^lo, S e^hi] (hand values from ln S), fixed ones as given;
    ORACLE draws with them stay in the window."""
    from kinflux.kinetic.oracle import oracle_sample

    name = problem.km_names[3]
    view = ki.FixedKmProblem(problem, {name: (1e-4, 2e-4)}, saturation=(-1.0, 0.5))
    ranges = view.km_ranges()
    assert list(ranges) == list(problem.km_names)
    assert ranges[name] == (1e-4, 2e-4)
    ls = problem.log_km_steady.to(torch.float64)
    lo, hi = ranges[problem.km_names[0]]
    assert math.log(lo) == pytest.approx(max(float(ls[0]) - 1.0, problem.log_km_low))
    assert math.log(hi) == pytest.approx(min(float(ls[0]) + 0.5, problem.log_km_high))
    lk = oracle_sample(problem, 20, seed=0, fixed=ranges).log_km
    r = lk - ls[None, :]
    free = [i for i, n in enumerate(problem.km_names) if n != name]
    assert r[:, free].min() >= -1.0 - 1e-9 and r[:, free].max() <= 0.5 + 1e-9
    box = ki.FixedKmProblem(problem, {}).km_ranges()[problem.km_names[0]]
    assert box == pytest.approx((math.exp(problem.log_km_low), math.exp(problem.log_km_high)))
