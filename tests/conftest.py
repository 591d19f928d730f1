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
