"""Shared fixtures: small bundled networks, built once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def core_network():
    from kinflux.flux.network import Network

    return Network.load("e_coli_core")


@pytest.fixture(scope="session")
def core_guide():
    from kinflux.datasets import medium_guide_path
    from kinflux.flux.media import MediumGuide

    return MediumGuide.from_csv(medium_guide_path("e_coli_core"))


@pytest.fixture(scope="session")
def kin_varma():
    """kin_varma.yml (structure only) with the strain_1 reference steady state."""
    from kinflux.datasets import kinetic_model_path
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.steady import SteadyState

    m = KineticModel.from_yaml(kinetic_model_path("kin_varma"))
    return m, SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
