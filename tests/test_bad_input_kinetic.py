"""Bad input at every kinetic loader and command: a named error, never a result.

Each row: a way to break an input file or option, the loader or command that reads it,
and a fragment of the expected message. CLI rows also check the exit code and that no
output was written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinflux import KinfluxError
from kinflux.cli import app
from kinflux.datasets import kinetic_model_path

MODEL = kinetic_model_path("varma_strain_1")
TFA = kinetic_model_path("tfa_reference_strain_1")
REACTOR = kinetic_model_path("single_species_reactor")


def _model_text(old: str, new: str) -> str:
    text = MODEL.read_text()
    assert old in text, old
    return text.replace(old, new, 1)


# ---------------------------------------------------------------- SKiMpy YAML
YAML_CASES = [
    ("missing file", None, "no such kinetic model file"),
    ("not YAML", "reactions: [unclosed\n  - :", "not valid YAML"),
    ("empty file", "", "no 'reactions' section"),
    (
        "text for a Km",
        _model_text("km_substrate1_PGK: 8217.9", "km_substrate1_PGK: abc #"),
        "must be a number",
    ),
    (
        "Km = 0",
        _model_text("km_substrate1_PGK: 8217.910003299596", "km_substrate1_PGK: 0"),
        "finite number > 0",
    ),
    (
        "negative vmax",
        _model_text("vmax_forward_PGK: 2160", "vmax_forward_PGK: -2160"),
        "finite number > 0",
    ),
    (
        "Keq = 0",
        _model_text("k_equilibrium_PGK: 5.94613810028822", "k_equilibrium_PGK: 0.0"),
        "finite number > 0",
    ),
    ("zero volume", _model_text("volume_c: 1.0", "volume_c: 0.0"), "finite number > 0"),
    (
        "NaN Km",
        _model_text("km_substrate1_PGK: 8217.910003299596", "km_substrate1_PGK: .nan"),
        "must be finite",
    ),
    (
        "text stoichiometry",
        _model_text("        substrate3: -1.0\n", "        substrate3: lots\n"),
        "must be a number",
    ),
    ("unknown mechanism", _model_text("class: Convenience", "class: Magic"), "does not implement"),
]


@pytest.mark.parametrize("case,text,message", YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_skimpy_yaml(tmp_path, case, text, message):
    from kinflux.kinetic.model import KineticModel, KineticModelError

    f = tmp_path / "model.yml"
    if text is not None:
        f.write_text(text)
    with pytest.raises(KineticModelError, match=message) as ei:
        KineticModel.from_yaml(f)
    assert str(f) in str(ei.value)


# ---------------------------------------------------------------- parameter YAML
PARAM_CASES = [
    ("unknown name", "km_substrate1_NOPE: 1.0\n", "unknown parameter"),
    ("Km = 0", "km_substrate1_PGK: 0\n", "finite number > 0"),
    ("Keq = 0", "parameters:\n  k_equilibrium_PGK: 0\n", "finite number > 0"),
    ("text value", "vmax_forward_PGK: fast\n", "must be a number"),
    ("not a mapping", "- 1\n- 2\n", "expected a mapping"),
    ("inf vmax", "vmax_forward_PGK: .inf\n", "finite number > 0"),
]


@pytest.fixture(scope="module")
def strain1():
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.steady import SteadyState

    m = KineticModel.from_yaml(MODEL)
    return m, SteadyState.from_tfa_csv(TFA, m)


@pytest.mark.parametrize("case,text,message", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_parameter_yaml(tmp_path, strain1, case, text, message):
    from kinflux.kinetic.io.parameters import ParameterFileError, read_parameter_yaml

    f = tmp_path / "p.yml"
    f.write_text(text)
    with pytest.raises(ParameterFileError, match=message):
        read_parameter_yaml(f, strain1[0])


def test_parameter_file_missing(tmp_path, strain1):
    from kinflux.kinetic.io.parameters import ParameterFileError, read_parameter_yaml

    with pytest.raises(ParameterFileError, match="no such"):
        read_parameter_yaml(tmp_path / "nope.yml", strain1[0])


# ---------------------------------------------------------------- steady-state CSV / .npz
def _csv(tmp_path, change):
    df = pd.read_csv(TFA, index_col=0)
    df = change(df)
    f = tmp_path / "tfa.csv"
    df.to_csv(f)
    return f


CSV_CASES = [
    ("NaN flux", lambda d: d.assign(PGK=np.nan), "non-finite"),
    ("text concentration", lambda d: d.assign(LC_atp_c="high"), "non-finite"),
    ("missing flux column", lambda d: d.drop(columns=["PGK"]), "no flux column"),
    ("no rows", lambda d: d.iloc[:0], "no rows"),
]


@pytest.mark.parametrize("case,change,message", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_steady_state_csv(tmp_path, strain1, case, change, message):
    from kinflux.kinetic.steady import SteadyState

    f = _csv(tmp_path, change)
    with pytest.raises(KinfluxError, match=message):
        SteadyState.from_tfa_csv(f, strain1[0])


def test_steady_state_csv_empty_and_row(tmp_path, strain1):
    from kinflux.kinetic.steady import SteadyState

    f = tmp_path / "empty.csv"
    f.write_text("")
    with pytest.raises(KinfluxError, match="cannot read"):
        SteadyState.from_tfa_csv(f, strain1[0])
    with pytest.raises(KinfluxError, match="row 3 requested"):
        SteadyState.from_tfa_csv(TFA, strain1[0], row=3)


@pytest.fixture(scope="module")
def samples(strain1):
    from kinflux.kinetic.sampling import SteadyStateConstraints, sample_steady_states

    m, ref = strain1
    return sample_steady_states(
        m, 3, SteadyStateConstraints(reference=ref.concentrations), seed=0, n_patterns=1
    )


def test_steady_state_npz(tmp_path, strain1, samples):
    from kinflux.io import save_npz
    from kinflux.kinetic.sampling import SteadyStateSamples

    m = strain1[0]
    good = samples.save(tmp_path / "good.npz")
    assert len(SteadyStateSamples.load(good, m)) == 3
    bad = SteadyStateSamples(**{**samples.__dict__, "fluxes": samples.fluxes.clone()})
    bad.fluxes[1, 4] = float("nan")
    with pytest.raises(KinfluxError, match="profile 1 has a non-finite"):
        SteadyStateSamples.load(bad.save(tmp_path / "nan.npz"), m)
    empty = save_npz(tmp_path / "empty.npz", {})
    with pytest.raises(KinfluxError, match="missing array"):
        SteadyStateSamples.load(empty, m)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(KinfluxError, match="not a readable"):
        SteadyStateSamples.load(junk, m)


def test_not_a_steady_state_refused_unless_accepted(strain1):
    from kinflux.kinetic.problem import KineticProblem, SteadyStateResidualError
    from kinflux.kinetic.steady import SteadyState

    m, ss = strain1
    fl = ss.fluxes.clone()
    fl[m.reaction_names.index("PGK")] *= 1.5
    bad = SteadyState(m, fl, ss.concentrations, ss.log_displacements, scaling=ss.scaling)
    with pytest.raises(SteadyStateResidualError, match="not a steady state"):
        KineticProblem(m, bad)
    with pytest.warns(UserWarning, match="accepted"):
        KineticProblem(m, bad, accept_residual=True)


# ---------------------------------------------------------------- reactor YAML
REACTOR_CASES = [
    ("zero density", ("density: 1200.0", "density: 0.0"), "must be > 0"),
    ("text density", ("density: 1200.0", "density: dense"), "cannot read"),
    ("no scaling block", ("\nscaling:", "\nscalings:"), "cannot read"),
]


@pytest.mark.parametrize("case,edit,message", REACTOR_CASES, ids=[c[0] for c in REACTOR_CASES])
def test_reactor_yaml(tmp_path, case, edit, message):
    from kinflux.kinetic.units import Scaling

    text = REACTOR.read_text()
    assert edit[0] in text
    f = tmp_path / "reactor.yaml"
    f.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(KinfluxError, match=message):
        Scaling.from_reactor_yaml(f)


# ---------------------------------------------------------------- commands
def _keq0(tmp_path):
    f = tmp_path / "keq0.yml"
    f.write_text("k_equilibrium_PGK: 0\n")
    return str(f)


CLI_CASES = [
    ("perturb 1.5", ["simulate", "varma_strain_1", "--perturb", "1.5"], "between 0 and 1"),
    ("n 0", ["simulate", "varma_strain_1", "--n", "0"], "--n"),
    ("method", ["simulate", "varma_strain_1", "--method", "Euler"], "Euler"),
    ("t-end -1", ["simulate", "varma_strain_1", "--t-end", "-1"], "> 0"),
    ("Keq = 0 params", ["simulate", "varma_strain_1", "--params", _keq0], "k_equilibrium_PGK"),
    ("unknown model", ["simulate", "no_such_model"], "not a bundled kinetic file"),
    ("timeout", ["simulate", "varma_strain_1", "--max-seconds", "1e-4", "--n", "1"], "timed out"),
    ("km-low -1", ["sample-parameters", "--km-low", "-1", "--n", "5"], "> 0"),
    ("km bounds reversed", ["sample-parameters", "--km-low", "1", "--km-high", "0.1"], "Km bounds"),
    ("fix-km syntax", ["sample-parameters", "--fix-km", "km_x:1", "--n", "5"], "NAME:LOW:HIGH"),
    ("n 0 samples", ["sample-parameters", "--n", "0"], "--n"),
    ("steady states n 0", ["sample-steady-states", "--n", "0"], "--n"),
    (
        "conc range",
        [
            "sample-steady-states",
            "--model",
            "kin_varma",
            "--conc-low",
            "5",
            "--conc-high",
            "1",
            "--n",
            "2",
        ],
        "--conc-low",
    ),
]


@pytest.mark.parametrize("case,args,message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli(tmp_path, case, args, message):
    out = tmp_path / "out"
    argv = ["kinetic"] + [a(tmp_path) if callable(a) else a for a in args] + ["-o", str(out)]
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 2, r.output
    assert message in r.output, r.output
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())
