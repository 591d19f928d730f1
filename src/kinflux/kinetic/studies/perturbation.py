"""Physical perturbations of a steady state: a box around it, moiety totals unchanged.

A perturbation of the steady state ``x_ss`` (uM, ``(n_variables,)``) by up to a fraction
``p`` is *physical* when

- every species, independent and dependent, stays within ``[(1 - p) x_ss, (1 + p) x_ss]``;
- every conserved moiety total is that of the steady state: ``C x = C x_ss`` with ``C``
  the model's conservation matrix ``(n_moieties, n_variables)``.

Writing ``x = x_ss (1 + p u)`` the set is the polytope ``{u : -1 <= u <= 1,
C diag(x_ss) u = 0}``: the box cut by the null space of ``A = C diag(x_ss)``. With an
orthonormal basis ``N`` ``(n_variables, d)`` of that null space, ``u = N z`` and the
polytope is ``{z : -1 <= N z <= 1}``, full-dimensional in ``z``. :func:`sample_perturbations`
draws from it uniformly by hit-and-run: a chain starts at the centre ``z = 0`` (the steady
state), picks a direction uniformly on the sphere, finds the chord through the current
point inside the box and jumps to a uniform point of the chord. Chains run
``burn_in`` steps (default ``10 d``) and then yield a sample every ``thin`` steps (default
``d``); ``min(n, chains)`` chains run side by side. Tracking ``z`` (not ``u``) keeps every
sample on the null space to rounding, so the moiety totals hold to ~1e-15 relative.

Independent draws of each species (the published scheme) are the special case of a model
without moieties; perturbing only the independent species and recomputing the dependent
ones (:func:`kinflux.kinetic.dynamics.perturb_state`) can push a small pool of a large
moiety far outside the box (nadh_c by x1363 on the anthranilate model at 20 %).

Example:
    >>> import torch
    >>> from kinflux.kinetic.problem import KineticProblem
    >>> pr = KineticProblem.bundled("varma_strain_1")
    >>> x_ss = pr.steady_state.x
    >>> x = sample_perturbations(pr.model, x_ss, 0.5, 8, seed=0)
    >>> x.shape, bool(((x / x_ss - 1).abs() <= 0.5 + 1e-12).all())
    (torch.Size([8, 49]), True)
    >>> tot, tot_ss = pr.model.moiety_totals(x), pr.model.moiety_totals(x_ss[None])
    >>> bool(torch.allclose(tot, tot_ss.expand_as(tot), rtol=1e-10))
    True
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import null_space

from kinflux import KinfluxError

__all__ = ["perturbation_basis", "sample_perturbations"]


def perturbation_basis(conservation: np.ndarray, x_ss: np.ndarray) -> np.ndarray:
    """Orthonormal basis ``(n_variables, d)`` of ``{u : C diag(x_ss) u = 0}``.

    Args:
        conservation: ``C`` ``(n_moieties, n_variables)``.
        x_ss: steady state ``(n_variables,)``, uM, all positive.
    """
    x_ss = np.asarray(x_ss, dtype=np.float64)
    C = np.asarray(conservation, dtype=np.float64).reshape(-1, x_ss.shape[0])
    if C.shape[0] == 0:
        return np.eye(x_ss.shape[0])
    return null_space(C * x_ss[None, :])


def sample_perturbations(
    model,  # noqa: ANN001 - a KineticModel
    x_ss: torch.Tensor,
    fraction: float,
    n: int,
    seed: int = 0,
    chains: int = 64,
    burn_in: int | None = None,
    thin: int | None = None,
) -> torch.Tensor:
    """``n`` physical perturbations ``(n, n_variables)`` (uM) of ``x_ss``.

    Args:
        model: a :class:`~kinflux.kinetic.model.KineticModel` (its ``conservation``).
        x_ss: steady state ``(n_variables,)``, uM.
        fraction: largest relative change of any species, ``0 < fraction < 1``
            (0.5 for +-50 %).
        n: number of states.
        seed: random seed (same seed, same states).
        chains: hit-and-run chains run side by side.
        burn_in: steps before a chain's first sample (default ``10 d``).
        thin: steps between a chain's samples (default ``d``).

    Returns:
        States with every species in ``[(1 - fraction) x_ss, (1 + fraction) x_ss]`` and
        the moiety totals of ``x_ss``.
    """
    if not 0.0 < float(fraction) < 1.0:
        raise KinfluxError(f"perturbation fraction must be in (0, 1), got {fraction!r}")
    if int(n) < 1:
        raise KinfluxError(f"number of perturbed states must be >= 1, got {n}")
    x = torch.as_tensor(x_ss, dtype=torch.float64).reshape(-1)
    if not bool((x > 0).all()):
        raise KinfluxError(f"model '{model.name}': the steady state has non-positive species")
    N = perturbation_basis(np.asarray(model.conservation), x.numpy())
    d = N.shape[1]
    if d == 0:
        return x.expand(int(n), -1).clone()
    burn = 10 * d if burn_in is None else int(burn_in)
    step = d if thin is None else max(1, int(thin))
    k = max(1, min(int(chains), int(n)))
    per_chain = -(-int(n) // k)
    rng = np.random.default_rng(int(seed))
    z = np.zeros((k, d))
    out: list[np.ndarray] = []
    total = burn + (per_chain - 1) * step + 1
    for it in range(total):
        dz = rng.standard_normal((k, d))
        dz /= np.linalg.norm(dz, axis=1, keepdims=True)
        u, du = z @ N.T, dz @ N.T
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = (-1.0 - u) / du, (1.0 - u) / du
        small = np.abs(du) < 1e-14
        lo = np.where(small, -np.inf, np.minimum(a, b)).max(axis=1)
        hi = np.where(small, np.inf, np.maximum(a, b)).min(axis=1)
        lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
        z = z + (lo + (hi - lo) * rng.random(k))[:, None] * dz
        if it >= burn and (it - burn) % step == 0:
            out.append(z.copy())
    zs = np.stack(out, axis=1).reshape(-1, d)[: int(n)]
    u = np.clip(zs @ N.T, -1.0, 1.0)
    return x[None, :] * (1.0 + float(fraction) * torch.from_numpy(u))
