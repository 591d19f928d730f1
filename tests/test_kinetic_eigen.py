"""Eigenvalues / lambda_max of Jacobian batches (kinflux.kinetic.dynamics)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.dynamics import _balance, eigenvalues, lambda_max
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.parameterization import backcalculate_vmax
from kinflux.kinetic.steady import SteadyState


@pytest.fixture(scope="module")
def real_jacobians():
    """Reduced kin_varma Jacobians (43x43) around strain_1, Km perturbed, vmax recomputed."""
    model = KineticModel.from_yaml(kinetic_model_path("kin_varma"))
    ref = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), model)
    vals = ref.as_dict(ref.default_parameters())
    base = model.parameters_from_dict(
        {k: v for k, v in vals.items() if not np.isnan(v)}, base=model.default_parameters()
    )
    base = ss.fill_constants(base)
    n = 12
    g = torch.Generator().manual_seed(3)
    p = base.expand(n, -1).clone().to(torch.float64)
    km = torch.tensor(model.parameter_indices("km"))
    p[:, km] = p[:, km] * torch.exp(0.5 * torch.randn(n, len(km), generator=g, dtype=torch.float64))
    p = backcalculate_vmax(model, ss.x, ss.fluxes, p)
    J = model.jacobian(ss.x, p).to(torch.float64)
    xi = ss.x.to(torch.float64).reshape(-1)[model.independent_idx]
    return J, xi


def _graded_random(n: int, b: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(b, n, n, generator=g, dtype=torch.float64)
    s = 10.0 ** (6.0 * torch.rand(b, n, generator=g, dtype=torch.float64) - 3.0)
    return A * s[:, None, :] / s[:, :, None]  # badly scaled, same spectrum as A


def _matched_max_dist(a: np.ndarray, b: np.ndarray) -> float:
    """max over a of the distance to the nearest eigenvalue of b (and vice versa)."""
    d = np.abs(a[:, None] - b[None, :])
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()))


def _assert_exact_power_of_two_similarity(J: torch.Tensor, B: torch.Tensor) -> None:
    """B == D^-1 J D bitwise, with D a diagonal of powers of two (exact similarity)."""
    nz = J != 0
    assert torch.equal(nz, B != 0)
    assert torch.equal(torch.diagonal(J, dim1=-2, dim2=-1), torch.diagonal(B, dim1=-2, dim2=-1))
    ratio = torch.where(nz, B / torch.where(nz, J, 1.0), 1.0)
    m, e = torch.frexp(ratio)
    assert torch.all(m == 0.5)  # every ratio is an exact power of two


def test_balance_random_exact_and_spectrum_unchanged() -> None:
    J = _graded_random(20, 8, seed=0)
    B = _balance(J)
    _assert_exact_power_of_two_similarity(J, B)
    assert B.abs().amax() < J.abs().amax()  # it actually rescaled something
    for b in range(J.shape[0]):
        ej = scipy.linalg.eigvals(J[b].numpy())
        eb = scipy.linalg.eigvals(B[b].numpy())
        assert _matched_max_dist(ej, eb) <= 1e-9 * np.abs(ej).max()
        ek = eigenvalues(J[b : b + 1])[0].numpy()
        assert _matched_max_dist(ej, ek) <= 1e-9 * np.abs(ej).max()


def test_balance_real_jacobians_exact_and_spectrum_unchanged(real_jacobians) -> None:
    J, xi = real_jacobians
    B = _balance(J)
    _assert_exact_power_of_two_similarity(J, B)
    for b in range(J.shape[0]):
        ej = scipy.linalg.eigvals(J[b].numpy())
        ek = eigenvalues(J[b : b + 1])[0].numpy()
        assert _matched_max_dist(ej, ek) <= 1e-9 * np.abs(ej).max()


def test_lambda_max_real_jacobians_accurate(real_jacobians) -> None:
    """Against scipy on the log-concentration form diag(x)^-1 J diag(x) (an exact
    similarity, accurate to ~1e-8 h^-1 here): the slowest mode to 1e-6 h^-1 although
    the spectrum reaches ~-2.6e10 h^-1."""
    J, xi = real_jacobians
    lam = lambda_max(J).numpy()
    Jx = (J * xi[None, None, :] / xi[None, :, None]).numpy()
    ref = np.array([scipy.linalg.eigvals(a).real.max() for a in Jx])
    assert np.abs(lam - ref).max() <= 1e-6
    assert np.all(np.abs(ref) < 1e4)  # it is the slow end of a stiff spectrum
    assert eigenvalues(J).abs().amax().item() > 1e9


@pytest.mark.parametrize(
    "A",
    [
        [[-1.0, 0.0], [0.0, -3.0]],
        [[0.0, 1.0], [-2.0, -3.0]],  # eigenvalues -1, -2
        [[-1.0, 5.0], [-5.0, -1.0]],  # -1 +- 5i
        [[1.0, 1e6, 0.0], [1e-6, 2.0, 1e6], [0.0, 1e-6, -4.0]],
        [[-2.0, 0.0, 0.0], [7.0, -1.0, 0.0], [1.0, 2.0, 0.5]],  # triangular, zero rows/cols
        [[3.0]],
    ],
)
def test_lambda_max_small_matches_scipy(A) -> None:
    a = np.array(A, dtype=np.float64)
    want = scipy.linalg.eigvals(a).real.max()
    got = lambda_max(torch.tensor(a)[None])
    assert got.shape == (1,)
    assert got.item() == pytest.approx(want, rel=1e-12, abs=1e-12)
    got2 = lambda_max(torch.tensor(a))  # unbatched input keeps working
    assert got2.item() == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_balance_leaves_nonfinite_and_zero_alone() -> None:
    Z = torch.zeros(2, 4, 4, dtype=torch.float64)
    assert torch.equal(_balance(Z), Z)
    J = _graded_random(5, 2, seed=1)
    J[0, 1, 2] = float("nan")
    B = _balance(J)
    assert torch.isnan(B[0]).any()
    _assert_exact_power_of_two_similarity(J[1:], B[1:])
