"""RENAISSANCE studies: robustness to perturbations, batch bioreactor, measured Km.

1. Robustness (anthranilate model around one profile sampled with the published
   constraints plus kinflux's turnover limit, seed 0): of 20 profiles in which every
   variable pool turns over within 15 s (``--max-turnover 15``; 0 for no limit,
   ``--n-profiles``), the one whose slowest cytosolic pool turns over fastest
   (``--profile turnover``; a physical selection made before any integration: E. coli
   pools turn over in seconds; without the limit the median sampled profile has a pool
   that takes hours). Valid models (lambda_max < -2.5 h^-1) from a generator trained here
   (or read with ``--generator-run``) and from ORACLE; each model's steady state perturbed
   once by up to +-50 % (every species in the box, moiety totals kept), integrated to 10 h
   (BDF, analytic Jacobian, rtol 1e-6, atol 1e-9 x_ss, 30 s per model), returned = within
   1 % from 24 / 34 min on. The generator: ``RenaissanceGenerator(generations=30,
   population=10, n_models=50, hidden=(128, 128), latent_dim=32, update="improved",
   reward="incidence")`` trained for incidence at -15 h^-1 (``--train-partition``; the
   robustness study still takes every model valid at -2.5), with every generated Km
   between S/1000 and S, S its species' steady-state concentration
   (``--km-window=-6.9:0``: ln(Km/S) in [-6.9, 0], every enzyme 50-99.9 % saturated;
   E. coli substrate levels exceed Km for most enzymes, Bennett et al. 2009; ``W`` for
   [-W, W], 0 for the published box ln Km in [-25, 3] mol/L, where a quarter of the
   generated enzymes end up > 99.8 % saturated). A third source, ORACLE drawn
   log-uniformly inside the same window (``--n-window-oracle``, 200), shows what the
   window alone does (``window_oracle_robust_24min``); ``--reward fastest`` is the
   published code's default reward (``reward_flag = 1``: mean of the 10 most negative
   lambda_max), which widens the generator and loses robustness (docs/studies.md). Two
   worker processes (``kinflux.compute.map``), one task of up to 512 models each, 96
   solvers at a time. ``--only-robustness`` stops after part 1, ``--only-km`` runs part 3
   only. Session 6's default: ``--max-turnover 0 --n-profiles 200 --train-partition
   -2.5 --km-window 0``; session 7's: ``--km-window 6.9``.
2. Bioreactor: valid models in ``anthranilate_bioreactor.yaml`` (60 h, 1,000 points) and
   ``varma_strain_1`` in ``single_species_reactor.yaml``; simulated ranges only.
3. Measured Km: kin_varma, the 35 TCA Km of ``varma_strain_1.yml`` as "measured"; 10
   random splits into 18 integrated / 17 held out; generators (``STUDY_GENERATOR``:
   published shape, population 20, 100 models, 40 updates) with and without integration
   (integrated Km fixed to value +-20 %, log-uniform), trained in parallel over
   ``--n-jobs`` workers; held-out overlap score (ln scale, min-max and 5-95 % generated
   range of valid sets), incidence, and an ORACLE baseline (1,500 draws per arm). Also
   lambda_max of the complete published set at the reference steady state.

Usage:
    python benchmarks/renaissance_studies.py [--quick] [--generator-run RUN] [--n-jobs 2]

``--quick`` (about a minute on an idle 2-core machine): best of 5 profiles, 8 generator,
4 ORACLE and 4 window-ORACLE robustness models (8 s each),
1 short reactor run each, 1 tiny Km split. Last line: JSON {"robust_24min": {"biomass",
"nadh", "atp", "nadph", "all_cytosolic"}, "robust_all_34min", "oracle_robust_all_24min",
"integrations_per_s", "timed_out", "bioreactor_models", "overlap_with",
"overlap_without", "incidence_with", "incidence_without"} (shares in %).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch


def _log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


def _km_view(problem, args):  # noqa: ANN001, ANN202
    """The generator's problem: every free Km in the --km-window (or the published box)."""
    if args.km_window in ("0", "none"):
        return problem
    from kinflux.kinetic.known_km import FixedKmProblem, parse_km_window

    return FixedKmProblem(problem, {}, saturation=parse_km_window(args.km_window))


def _generator_source(problem, view, args):  # noqa: ANN001, ANN202
    from kinflux.kinetic.renaissance import RenaissanceGenerator
    from kinflux.kinetic.studies.sources import GeneratorSource

    if args.generator_run:
        return GeneratorSource.from_run(args.generator_run)
    q = args.quick
    est = RenaissanceGenerator(
        generations=3 if q else args.generations,
        population=4 if q else 10,
        n_models=16 if q else 50,
        hidden=(32, 32) if q else (128, 128),
        latent_dim=16 if q else 32,
        update="improved",
        reward=args.reward,
        random_state=args.seed,
        n_jobs=args.n_jobs,
    )
    # the training target may be tighter than the validity partition (-2.5 h^-1), which
    # the robustness study keeps: GeneratorSource filters on `view`, not on this one
    train_on = view if args.train_partition is None else view.with_partition(args.train_partition)
    est.fit(train_on)
    lam = est.lambda_max_[-1, 0].double()
    _log(
        f"generator ({args.reward} reward, trained at partition {train_on.partition:g} h^-1): "
        f"incidence curve {[round(x, 3) for x in est.history_['incidence']]}; final "
        f"lambda_max median {float(lam.nanmedian()):.2f} h^-1, share < -2.5: "
        f"{float((lam < problem.partition).double().mean()):.2f}"
    )
    return GeneratorSource(view, est, name="generator (trained here)")


def _at_24min(shares) -> dict:  # noqa: ANN001
    """Group -> share (%) returned within 24 min, rounded for the JSON line."""
    return {g: round(float(shares.loc[g, "24 min"]), 2) for g in shares.index}


def _robustness(problem, source, n, args):  # noqa: ANN001, ANN202
    from kinflux.kinetic.studies.robustness import robustness_study

    t0 = time.perf_counter()
    params = source.valid_parameters(n, seed=args.seed)
    _log(f"{source.name}: {n} valid sets in {time.perf_counter() - t0:.1f} s")
    res = robustness_study(problem, params, time_limit=args.time_limit, n_jobs=args.n_jobs)
    sh = res.shares()
    _log(f"{source.name} shares (%), tolerance 1 %:\n{sh.round(1).to_string()}")
    _log(f"same, tolerance 5 %:\n{res.shares(tolerance=0.05).round(1).to_string()}")
    oc = res.outcomes(groups=("biomass", "nadh", "atp")).value_counts().to_dict()
    _log(f"{source.name} outcomes (biomass, NADH, ATP at 24 min): {oc}")
    st = res.settling_times()["all_cytosolic"]
    _log(f"all_cytosolic settling time (min): median {60 * st.median():.1f}")
    lam = problem.lambda_max(params)
    _log(f"lambda_max (h^-1): median {float(lam.median()):.2f}, max {float(lam.max()):.2f}")
    _log(
        f"{source.name}: {res.n_models} models in {res.wall_seconds:.1f} s, "
        f"timed out {res.timed_out}, failed {res.failed}"
    )
    return res, sh


def _km_part(args, out: dict) -> None:  # noqa: ANN001
    """Part 3: measured Km on kin_varma (fills ``out``)."""
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.studies import km_integration as ki

    q = args.quick
    kv = KineticProblem.bundled("kin_varma")
    published = ki.known_km_from_model(kinetic_model_path("varma_strain_1"), kv.km_names)
    out["measured_set_lambda_max"] = round(ki.measured_set_lambda_max(kv, published), 3)
    known = {n: published[n] for n in ki.pathway_km(kv)}
    tiny = {"population": 4, "n_models": 16, "hidden": (32, 32), "latent_dim": 16}
    gen_opts = dict(tiny) if q else {}
    if args.km_generations or q:
        gen_opts["generations"] = args.km_generations or 2
    t_km = time.perf_counter()
    modes = ["saturation", "fix"] if args.km_integration == "both" else [args.km_integration]
    runs = {}
    for mode in modes:
        runs[mode], _ = ki.km_integration_study(
            kv,
            known,
            n_splits=args.splits or (1 if q else 10),
            integration=mode,
            generator_options=gen_opts,
            n_generate=100 if q else 1000,
            seed=args.seed,
            n_jobs=args.n_jobs,
            oracle=(200 if q else 1500) if mode == modes[0] else 0,
        )
    splits = runs[modes[0]]
    _log(f"Km integration: {modes[0]}")
    _log(f"Km integration splits ({time.perf_counter() - t_km:.0f} s):")
    _log(splits.drop(columns=["integrated", "held_out"]).round(4).to_string())
    mean = splits.drop(columns=["integrated", "held_out"]).mean()
    for key, col in (
        ("overlap_with", "os_with"),
        ("overlap_without", "os_without"),
        ("incidence_with", "incidence_with"),
        ("incidence_without", "incidence_without"),
        ("overlap90_with", "os90_with"),
        ("overlap90_without", "os90_without"),
        ("km_error_with", "error_with"),
        ("km_error_without", "error_without"),
        ("oracle_overlap_with", "oracle_os_with"),
        ("oracle_overlap_without", "oracle_os_without"),
    ):
        v = float(mean[col])
        out[key] = round(v, 4) if v == v else None  # NaN: no valid set
    out["km_integration"] = modes[0]
    if "fix" in runs and modes[0] != "fix":
        fx = runs["fix"]
        _log("Km integration: fix (published)")
        _log(fx.drop(columns=["integrated", "held_out"]).round(4).to_string())
        out["overlap_fix_with"] = round(float(fx.os_with.mean()), 4)
        out["incidence_fix_with"] = round(float(fx.incidence_with.mean()), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (about a minute)")
    ap.add_argument("--generator-run", default=None, help="generator run folder to use")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=None, help="s per model (30; --quick 8)")
    ap.add_argument("--n-robust", type=int, default=None, help="generator models (1000)")
    ap.add_argument("--n-oracle", type=int, default=None, help="ORACLE models (--n-robust)")
    ap.add_argument(
        "--n-window-oracle",
        type=int,
        default=None,
        help="ORACLE models drawn inside the Km window (200; --quick 4; 0: skip)",
    )
    ap.add_argument(
        "--reward", default="incidence", help="generator reward: incidence or fastest (published)"
    )
    ap.add_argument(
        "--train-partition",
        type=float,
        default=-15.0,
        help="training partition, h^-1 (-15; the published -2.5 is the validity partition)",
    )
    ap.add_argument("--generations", type=int, default=30, help="generator updates (30)")
    ap.add_argument(
        "--profile",
        default="turnover",
        help="anthranilate profile: an index into --n-profiles, or 'turnover' (fastest pools)",
    )
    ap.add_argument(
        "--n-profiles",
        type=int,
        default=None,
        help="profiles sampled, seed --seed (20; --quick 5)",
    )
    ap.add_argument(
        "--physiological",
        action="store_true",
        help="sample profiles with protons at pH 7 and E. coli cofactor pools",
    )
    ap.add_argument(
        "--max-turnover",
        type=float,
        default=15.0,
        help="every pool turns over within this many seconds (sampler constraint; 15; 0: no limit)",
    )
    ap.add_argument(
        "--km-window",
        default="-6.9:0",
        help="range of ln(Km/S) of the generated Km, S their species' steady-state level: "
        "LOW:HIGH (write --km-window=LOW:HIGH when LOW < 0) or W for -W:W (-6.9:0 = S/1000 "
        "to S; 0: the whole published box)",
    )
    ap.add_argument(
        "--ph",
        default="7",
        help="pH of the physiological profiles: a value or LOW:HIGH (7)",
    )
    ap.add_argument(
        "--only-robustness", action="store_true", help="skip the bioreactor and Km parts"
    )
    ap.add_argument("--only-km", action="store_true", help="run the measured-Km part only")
    ap.add_argument(
        "--km-integration",
        default="saturation",
        help="saturation (kinflux) or fix (published); with 'both' the published arm is "
        "also reported as overlap_fix_* (10 more trainings)",
    )
    ap.add_argument("--n-reactor", type=int, default=None, help="anthranilate reactor models (8)")
    ap.add_argument("--reactor-time-limit", type=float, default=300.0, help="s per model")
    ap.add_argument("--splits", type=int, default=None, help="Km splits (10)")
    ap.add_argument("--km-generations", type=int, default=None, help="generator updates (40)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    q = args.quick
    if args.time_limit is None:
        args.time_limit = 8.0 if q else 30.0
    if args.n_profiles is None:
        args.n_profiles = 5 if q else 20

    from kinflux.kinetic.problem import KineticProblem
    from kinflux.kinetic.studies.bioreactor import Bioreactor, simulate_bioreactor
    from kinflux.kinetic.studies.reports import anthranilate_problem, slowest_cytosolic_turnover
    from kinflux.kinetic.studies.sources import NoValidModelsError, OracleSource

    out: dict = {}
    t0 = time.perf_counter()
    if args.only_km:
        _km_part(args, out)
        _log(f"total {time.perf_counter() - t0:.0f} s (robustness and bioreactor skipped)")
        print(json.dumps(out))
        return
    profile = args.profile if args.profile == "turnover" else int(args.profile)
    problem = anthranilate_problem(
        seed=args.seed,
        profile=profile,
        n_profiles=args.n_profiles,
        physiological=args.physiological,
        max_turnover_s=args.max_turnover or None,
        ph=tuple(float(x) for x in args.ph.split(":")) if ":" in args.ph else float(args.ph),
    )
    _log(f"anthranilate problem: {problem!r}")
    slow = slowest_cytosolic_turnover(problem.model, problem.steady_state)
    _log(f"profile {args.profile} of {args.n_profiles}: slowest cytosolic pool {60 * slow:.2f} min")

    # 1. robustness
    n_rob = args.n_robust or (8 if q else 1000)
    view = _km_view(problem, args)
    gen_src = _generator_source(problem, view, args)
    if args.generator_run:  # the run's own window, if it has one
        view = gen_src.problem
    try:
        res_g, sh_g = _robustness(problem, gen_src, n_rob, args)
        out["robust_24min"] = _at_24min(sh_g)
        out["robust_all_34min"] = round(float(sh_g.loc["all_cytosolic", "34 min"]), 2)
        out["integrations_per_s"] = round(res_g.models_per_second, 3)
        timed_out = res_g.timed_out
    except NoValidModelsError as exc:
        _log(f"generator: {exc}")
        out["robust_24min"], out["robust_all_34min"], timed_out = None, None, 0
    n_orc = args.n_oracle or (4 if q else n_rob)
    res_o, sh_o = _robustness(problem, OracleSource(problem), n_orc, args)
    out["oracle_robust_all_24min"] = round(float(sh_o.loc["all_cytosolic", "24 min"]), 2)
    out["oracle_robust_24min"] = _at_24min(sh_o)
    out.setdefault("integrations_per_s", round(res_o.models_per_second, 3))
    out["timed_out"] = int(timed_out + res_o.timed_out)
    n_win = args.n_window_oracle if args.n_window_oracle is not None else (4 if q else 200)
    if getattr(view, "saturation", None) and n_win > 0:  # the window alone: ORACLE inside it
        win = OracleSource(problem, fixed=view.km_ranges(), name="oracle in the Km window")
        _, sh_w = _robustness(problem, win, n_win, args)
        out["window_oracle_robust_24min"] = _at_24min(sh_w)
    _log(f"robustness done at {time.perf_counter() - t0:.0f} s")

    if args.only_robustness:
        _log(f"total {time.perf_counter() - t0:.0f} s (bioreactor and Km parts skipped)")
        print(json.dumps(out))
        return

    # 2. bioreactor
    n_bio = args.n_reactor or (1 if q else 8)
    done = 0
    reactors = [
        (problem, gen_src, Bioreactor.from_yaml("anthranilate_bioreactor"), n_bio),
        (
            KineticProblem.bundled("varma_strain_1"),
            None,
            Bioreactor.from_yaml("single_species_reactor"),
            1 if q else max(1, n_bio // 2),
        ),
    ]
    for pr, src, reactor, n in reactors:
        src = src or OracleSource(pr)
        try:
            params = src.valid_parameters(n, seed=args.seed)
        except NoValidModelsError:
            params = OracleSource(pr).valid_parameters(n, seed=args.seed)
        res = simulate_bioreactor(
            pr,
            params,
            reactor,
            t_end=0.02 if q else 60.0,
            n_times=5 if q else 1000,
            time_limit=20.0 if q else args.reactor_time_limit,
            n_jobs=args.n_jobs,
        )
        done += sum(s == "ok" for s in res.status)
        _log(
            f"reactor {reactor.source.split('/')[-1]}: status {res.status.count('ok')} ok / "
            f"{len(res.status)} in {res.wall_seconds:.0f} s, reached (h) "
            f"{[round(float(x), 2) for x in res.reached]}; g/L (simulated):\n"
            f"{res.summary().to_string()}"
        )
    out["bioreactor_models"] = done
    _log(f"bioreactor done at {time.perf_counter() - t0:.0f} s")

    _km_part(args, out)
    _log(f"total {time.perf_counter() - t0:.0f} s")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
