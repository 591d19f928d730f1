"""Pool turnover: how fast each metabolite pool is replaced at a steady state.

The turnover time of a variable species is its pool divided by the flux through it,
``tau_i = x_i / (1/2 sum_j |S_ij v_j|)`` (production equals consumption at steady state).
E. coli's central metabolite pools turn over in seconds to about a minute (e.g. Bennett
et al., Nat Chem Biol 2009: mM pools, fluxes of mM per second). A pool that turns over in
hours bounds how fast a kinetic model around that state can relax after a perturbation,
whatever its enzyme parameters.

:func:`log_concentration_caps` turns a turnover limit into upper bounds on ``ln x``; the
steady-state sampler applies them per profile (``SteadyStateConstraints.max_turnover_s``).

Example:
    A pool of 2 uM fed at 3,600 uM/h turns over in 2 s; capped at 1 s it may hold at
    most 1 uM:

    >>> import numpy as np
    >>> S = np.array([[1.0, -1.0]])                  # one pool, in -> out
    >>> float(pool_throughput(S, np.array([3600.0, 3600.0]))[0])
    3600.0
    >>> cap = log_concentration_caps(S, np.array([3600.0, 3600.0]), np.array([True]), 1.0)
    >>> round(float(np.exp(cap[0])), 9)
    1.0
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SECONDS_PER_HOUR",
    "capped_profiles",
    "floor_turnover_s",
    "log_concentration_caps",
    "pool_throughput",
]

SECONDS_PER_HOUR = 3600.0


def pool_throughput(S_full: np.ndarray, fluxes: np.ndarray) -> np.ndarray:
    """Flux through every species, ``1/2 sum_j |S_ij v_j|``.

    Args:
        S_full: ``(n_species, n_reactions)`` stoichiometry of every species.
        fluxes: ``(n_reactions,)`` net rates, concentration unit per hour (uM/h).

    Returns:
        ``(n_species,)`` throughput, uM/h.
    """
    return 0.5 * np.abs(S_full * fluxes[None, :]).sum(axis=1)


def log_concentration_caps(
    S_full: np.ndarray, fluxes: np.ndarray, capped: np.ndarray, max_turnover_s: float
) -> np.ndarray:
    """Upper bounds on ``ln x`` (x in uM) that make every capped pool turn over within
    ``max_turnover_s``: ``ln(max_turnover_s / 3600 * throughput)``.

    Args:
        S_full: ``(n_species, n_reactions)`` stoichiometry; fluxes: ``(n_reactions,)`` uM/h.
        capped: ``(n_species,)`` bool, the pools to cap (e.g. the model's variables).
        max_turnover_s: turnover limit, seconds (> 0).

    Returns:
        ``(n_species,)``; ``+inf`` for pools not capped or without flux through them.
    """
    through = pool_throughput(S_full, fluxes)
    out = np.full(len(through), np.inf)
    ok = capped & (through > 0)
    out[ok] = np.log(max_turnover_s / SECONDS_PER_HOUR * through[ok])
    return out


def floor_turnover_s(
    S_full: np.ndarray, fluxes: np.ndarray, capped: np.ndarray, ylo: np.ndarray
) -> tuple[float, int]:
    """Slowest turnover (s) of the capped pools with every pool at its lower bound
    ``exp(ylo)`` uM, and that pool's index: a lower bound on what any concentration
    profile can reach at these fluxes (uM/h)."""
    through = pool_throughput(S_full, fluxes)
    ok = capped & (through > 0)
    tau = np.zeros(len(through))
    tau[ok] = np.exp(ylo[ok]) / through[ok] * SECONDS_PER_HOUR
    k = int(np.argmax(tau))
    return float(tau[k]), k


def capped_profiles(
    A: np.ndarray,
    b: np.ndarray,
    ylo: np.ndarray,
    yhi: np.ndarray,
    draw_fluxes,  # noqa: ANN001  (k -> (k, n_reactions) mmol/gDW/h)
    flux_factor: float,
    S_full: np.ndarray,
    capped: np.ndarray,
    max_turnover_s: float,
    n: int,
    thin: int,
    rng: np.random.Generator,
    tries: int = 10,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Up to ``n`` profiles of one direction pattern whose capped pools turn over within
    ``max_turnover_s``: per profile, fluxes from ``draw_fluxes(1)``, then one point of
    the rounded hit-and-run in {A y <= b, ylo <= y <= min(yhi, caps)}. A flux draw whose
    concentration polytope is empty is redrawn, up to ``tries`` times per profile; the
    pattern is given up after ``tries`` failures in a row.

    Returns:
        ``(fluxes (k, n_reactions) mmol/gDW/h, y (k, n_species) ln uM, best floor s)``
        with ``k <= n``; the last entry is the smallest :func:`floor_turnover_s` of the
        rejected draws (``inf`` if none was rejected), for the error message.
    """
    from kinflux.kinetic.constraints import InfeasibleConstraintsError
    from kinflux.kinetic.polytope import rounded_hit_and_run

    F, Y = [], []
    fails, best = 0, float("inf")
    while len(F) < n and fails < tries:
        fl = draw_fluxes(1)[0]
        v = fl * flux_factor
        hi = np.minimum(yhi, log_concentration_caps(S_full, v, capped, max_turnover_s))
        ok = bool(np.all(hi >= ylo))
        if ok:
            try:
                y = rounded_hit_and_run(A, b, ylo, hi, 1, thin, rng)[0]
            except InfeasibleConstraintsError:
                ok = False
        if not ok:
            fails += 1
            best = min(best, floor_turnover_s(S_full, v, capped, ylo)[0])
            continue
        fails = 0
        F.append(fl)
        Y.append(y)
    nr, ns = S_full.shape[1], S_full.shape[0]
    return (
        np.array(F).reshape(len(F), nr),
        np.array(Y).reshape(len(Y), ns),
        best,
    )
