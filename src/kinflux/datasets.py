"""Loaders for the reference data bundled with kinflux (see ``kinflux/data/README.md``).

>>> from kinflux import datasets
>>> growth = datasets.load_exp110()
>>> growth.shape[0]
110
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from kinflux import KinfluxError

__all__ = [
    "data_path",
    "list_files",
    "load_exp110",
    "load_iml1515_exp",
    "medium_guide_path",
    "kinetic_model_path",
]

_GUIDES = {
    "e_coli_core": "amn/e_coli_core_medium.csv",
    "textbook": "amn/e_coli_core_medium.csv",
    "iML1515": "amn/iML1515_medium.csv",
    "iJO1366": "amn/iML1515_medium.csv",
}

_KINETIC = {
    "kin_varma": "kinetic/kin_varma.yml",
    "varma_strain_1": "kinetic/varma_strain_1.yml",
    "kin_varma_anthranilate": "kinetic/kin_varma_anthranilate.yaml",
    "single_species_reactor": "kinetic/single_species_reactor.yaml",
    "anthranilate_bioreactor": "kinetic/anthranilate_bioreactor.yaml",
    "tfa_reference_strain_1": "kinetic/tfa_reference_strain_1.csv",
}


def data_path(relative: str) -> Path:
    """Absolute path of a bundled data file, e.g. ``data_path("amn/EXP110.csv")``."""
    p = Path(str(resources.files("kinflux") / "data" / relative))
    if not p.exists():
        raise KinfluxError(
            f"bundled data file '{relative}' not found in {p.parent}; "
            f"available: {', '.join(list_files())}"
        )
    return p


def list_files() -> list[str]:
    """Relative names of every bundled data file."""
    root = Path(str(resources.files("kinflux") / "data"))
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "README.md"
    )


def medium_guide_path(name: str) -> Path:
    """Bundled medium guide for a model name (``e_coli_core``, ``iML1515``/``iJO1366``)."""
    if name not in _GUIDES:
        raise KinfluxError(f"no bundled medium guide for '{name}'; known: {', '.join(_GUIDES)}")
    return data_path(_GUIDES[name])


def kinetic_model_path(name: str) -> Path:
    """Bundled kinetic model or reference file by short name (``kin_varma``, ...)."""
    if name not in _KINETIC:
        raise KinfluxError(f"no bundled kinetic file '{name}'; known: {', '.join(_KINETIC)}")
    return data_path(_KINETIC[name])


def load_exp110() -> pd.DataFrame:
    """Measured E. coli DH5-alpha growth rates (h^-1) in 110 media.

    One row per medium: 0/1 columns for the 10 variable compounds (``EX_<met>_e_i``),
    replicates ``GR_1..GR_8`` (NaN = no replicate), ``GR_AVG`` and ``GR_STD``.
    """
    df = pd.read_csv(data_path("amn/EXP110.csv"), index_col=0)
    df.index.name = "medium"
    return df


def load_iml1515_exp() -> pd.DataFrame:
    """The 110 media as full 0/1 medium vectors over iML1515 exchanges, plus ``GR_AVG``."""
    return pd.read_csv(data_path("amn/iML1515_EXP.csv"))
