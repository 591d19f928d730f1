"""Bundled data loaders."""

from __future__ import annotations

import pytest

from kinflux import KinfluxError, datasets


def test_exp110_table():
    df = datasets.load_exp110()
    assert df.shape[0] == 110
    assert "GR_AVG" in df.columns and "EX_succ_e_i" in df.columns
    assert 0.0 < df["GR_AVG"].max() < 2.0  # growth rates in h^-1


def test_iml1515_exp_and_files():
    df = datasets.load_iml1515_exp()
    assert df.shape[0] == 110
    assert "amn/EXP110.csv" in datasets.list_files()
    assert datasets.kinetic_model_path("kin_varma").exists()


def test_unknown_bundled_file():
    with pytest.raises(KinfluxError, match="available"):
        datasets.data_path("amn/nope.csv")
