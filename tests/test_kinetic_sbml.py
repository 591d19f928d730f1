"""SBML export of the strain_1 kinetic model (kinflux.kinetic.io.sbml.write_sbml)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kinflux import KinfluxError
from kinflux.datasets import kinetic_model_path
from kinflux.kinetic.io.sbml import SBMLExportError, sbml_ids, write_sbml
from kinflux.kinetic.model import KineticModel
from kinflux.kinetic.steady import SteadyState

libsbml = pytest.importorskip("libsbml")


@pytest.fixture(scope="module")
def strain1() -> tuple[KineticModel, torch.Tensor, torch.Tensor]:
    m = KineticModel.from_yaml(kinetic_model_path("varma_strain_1"))
    ss = SteadyState.from_tfa_csv(kinetic_model_path("tfa_reference_strain_1"), m)
    p = ss.fill_constants(m.default_parameters())
    return m, ss.x, p


def _read(path: Path):
    doc = libsbml.readSBMLFromFile(str(path))
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    doc.checkConsistency()
    errors = [
        doc.getError(i).getMessage()
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    assert errors == []
    return doc.getModel()


def test_write_validates_and_counts(strain1, tmp_path: Path) -> None:
    m, x, p = strain1
    out = write_sbml(m, p, x, tmp_path / "strain1.xml")
    assert out.exists()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # atomic: no temp
    sm = _read(out)
    assert sm.getNumSpecies() == len(m.species)
    assert sm.getNumReactions() == m.n_reactions
    ids = sbml_ids(m)
    for s in m.constants:
        sp = sm.getSpecies(ids["species"][s])
        assert sp.getBoundaryCondition() and sp.getConstant()
    j = m.variables.index("o2_c")
    sp = sm.getSpecies(ids["species"]["o2_c"])
    assert sp.getInitialConcentration() == pytest.approx(float(x[j]), rel=1e-12)


def test_kinetic_laws_reproduce_rates(strain1, tmp_path: Path) -> None:
    """Every kinetic law, evaluated by libsbml, equals kinflux's rate (cell volumes 1)."""
    m, x, p = strain1
    sm = _read(write_sbml(m, p, x, tmp_path / "s.xml"))
    v = m.rates(x, p)[0].numpy()
    got = np.array(
        [
            libsbml.SBMLTransforms.evaluateASTNode(sm.getReaction(j).getKineticLaw().getMath(), sm)
            for j in range(m.n_reactions)
        ]
    )
    np.testing.assert_allclose(got, v, rtol=1e-9)


def test_sbml_ode_matches_dxdt(strain1, tmp_path: Path) -> None:
    """Off the steady state, sum_j stoich * law / volume equals KineticModel.dxdt."""
    m, x, p = strain1
    g = torch.Generator().manual_seed(1)
    xp = x * (1.0 + 0.05 * (2 * torch.rand(x.shape, generator=g, dtype=x.dtype) - 1))
    sm = _read(write_sbml(m, p, xp, tmp_path / "p.xml"))
    ids = sbml_ids(m)
    rate = {}
    for j in range(sm.getNumReactions()):
        r = sm.getReaction(j)
        rate[r.getId()] = libsbml.SBMLTransforms.evaluateASTNode(r.getKineticLaw().getMath(), sm)
    d = {sid: 0.0 for sid in ids["species"].values()}
    for j in range(sm.getNumReactions()):
        r = sm.getReaction(j)
        for refs, sign in ((r.getListOfReactants(), -1.0), (r.getListOfProducts(), 1.0)):
            for ref in refs:
                d[ref.getSpecies()] += sign * ref.getStoichiometry() * rate[r.getId()]
    got = np.array(
        [
            d[ids["species"][s]]
            / sm.getCompartment(sm.getSpecies(ids["species"][s]).getCompartment()).getSize()
            for s in m.variables
        ]
    )
    want = m.dxdt(xp, p)[0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8 * np.abs(want).max())


def test_bad_input_raises(strain1, tmp_path: Path) -> None:
    m, x, p = strain1
    bad = p.clone()
    bad[0] = float("nan")
    with pytest.raises(SBMLExportError):
        write_sbml(m, bad, x, tmp_path / "bad.xml")
    with pytest.raises(KinfluxError):
        write_sbml(m, p[:-1], x, tmp_path / "bad.xml")
    assert not (tmp_path / "bad.xml").exists()
