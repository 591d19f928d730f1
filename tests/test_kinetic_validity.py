import math

import pytest
import torch

from kinflux import KinfluxError
from kinflux.kinetic.dynamics import LAMBDA_MAX_THRESHOLD
from kinflux.kinetic.validity import (
    incidence,
    is_valid,
    lambda_partition,
    time_constant_from_partition,
)


def test_published_partition_is_exact():
    assert lambda_partition(134.0, 24.0) == -2.5
    assert lambda_partition(134.0, 24.0) == LAMBDA_MAX_THRESHOLD


def test_default_partition_from_doubling_time():
    # tau = 134 / 5 = 26.8 min -> -60 / 26.8 h^-1
    assert lambda_partition() == pytest.approx(-60.0 / 26.8, rel=1e-15)
    # a looser user time constant does not relax the doubling-time rule
    assert lambda_partition(134.0, 60.0) == pytest.approx(-60.0 / 26.8)
    assert lambda_partition(60.0) == -5.0


def test_time_constant_roundtrip():
    assert time_constant_from_partition(-2.5) == 24.0
    with pytest.raises(KinfluxError):
        time_constant_from_partition(1.0)


@pytest.mark.parametrize("bad", [0.0, -3.0, math.inf, math.nan])
def test_bad_times(bad):
    with pytest.raises(KinfluxError, match="minutes"):
        lambda_partition(bad)
    with pytest.raises(KinfluxError, match="time_constant_min"):
        lambda_partition(134.0, bad)


def test_is_valid_and_incidence():
    lm = torch.tensor([-10.0, -2.5, -2.4, 1.0, math.nan])
    assert is_valid(lm, -2.5).tolist() == [True, False, False, False, False]
    assert incidence(lm, -2.5) == pytest.approx(0.2)
    assert incidence(lm, -2.0) == pytest.approx(0.6)
    assert incidence(torch.empty(0)) == 0.0
    assert bool(is_valid(-3.0)) is True
