"""Bad input to the flux commands: a named error, a non-zero exit, no output.

One table row per input: the command line (``{d}`` is a scratch folder holding good
and bad files), the text the error must contain, and the output that must not exist.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from kinflux.cli import app

runner = CliRunner()

GOOD_GUIDE = "name,EX_glc__D_e_i,EX_o2_e_i\nlevel,1,1\nmax_value,10,20\nratio_drawing,0.5,\n"


@pytest.fixture(scope="module")
def d(tmp_path_factory, core_network, core_guide):
    """Scratch folder with a good training set, model file and media, and bad ones."""
    import cobra
    import torch

    from kinflux.flux.amn import AMN
    from kinflux.flux.problem import FluxProblem
    from kinflux.flux.training_set import build_training_set
    from kinflux.io import save_npz

    root = tmp_path_factory.mktemp("bad")
    ts = build_training_set(core_network, core_guide, 30, seed=0)
    ts.save(root / "train.npz")
    amn = AMN(FluxProblem.from_training_set(ts, core_network), arch="ANN-Dense", hidden=(8,))
    amn.set_params(epochs=2).fit(ts.X, ts.Y).save(root / "model.pt")
    ids = ts.medium_ids
    # training sets
    for name, fix in (("nan_y", ("Y", np.nan)), ("inf_x", ("X", np.inf))):
        arrays = {"X": ts.X.copy(), "Y": ts.Y.copy()}
        arrays[fix[0]][2, 3] = fix[1]
        arrays |= {"medium_ids": np.array(ids), "reaction_ids": np.array(ts.reaction_ids)}
        save_npz(root / f"{name}.npz", arrays, ts.metadata)
    save_npz(root / "no_y.npz", {"X": ts.X}, {})
    (root / "empty.npz").write_bytes(b"")
    # guides
    (root / "guide_inf.csv").write_text(GOOD_GUIDE.replace("max_value,10,20", "max_value,inf,20"))
    (root / "guide_noratio.csv").write_text(
        GOOD_GUIDE.replace("ratio_drawing,0.5,", "ratio_drawing,,")
    )
    (root / "guide_unknown.csv").write_text(GOOD_GUIDE.replace("EX_o2_e_i", "EX_foo_e_i"))
    (root / "guide_text.csv").write_text(GOOD_GUIDE.replace("max_value,10,20", "max_value,ten,20"))
    (root / "empty.csv").write_text("")
    (root / "exp_missing.csv").write_text("EX_glc__D_e_i\n1\n")
    # models
    (root / "garbage.xml").write_text("<sbml><not really")
    model = core_network.model.copy()
    model.reactions.PGK.upper_bound = 500.0
    cobra.io.write_sbml_model(model, str(root / "changed.xml"))
    model.objective_direction = "min"
    cobra.io.write_sbml_model(model, str(root / "minimise.xml"))
    (root / "garbage.pt").write_bytes(b"not a torch file")
    torch.save({"a": 1}, root / "other.pt")
    payload = torch.load(root / "model.pt", weights_only=True)
    next(iter(payload["state_dict"].values())).fill_(float("nan"))
    torch.save(payload, root / "nan_weights.pt")
    # media tables
    glc = {i: (10.0 if i == "EX_glc__D_e_i" else 0.0) for i in ids}
    base = ",".join(ids) + "\n"
    row = ",".join(str(glc[i]) for i in ids) + "\n"
    (root / "media_ok.csv").write_text(base + row)
    (root / "media_missing.csv").write_text(",".join(ids[1:]) + "\n" + ",".join(row.split(",")[1:]))
    (root / "media_extra.csv").write_text(base.strip() + ",EX_bogus\n" + row.strip() + ",1\n")
    (root / "media_nan.csv").write_text(base + row.replace("10.0", "nan", 1))
    (root / "media_neg.csv").write_text(base + row.replace("10.0", "-10.0", 1))
    (root / "media_text.csv").write_text(base + row.replace("10.0", "lots", 1))
    (root / "media_header_only.csv").write_text(base)
    (root / "afile").write_text("x")
    return root


DS = "flux dataset --size 5 --out {d}/out.npz"
TR = "flux train --data {d}/train.npz --epochs 1 --hidden 8 --folds 0 --out {d}/run"
PR = "flux predict --model-file {d}/model.pt --data {d}/media_ok.csv --out {d}/pred.csv"

CASES = [
    # (id, command, expected text, output that must not exist)
    ("guide inf", DS + " --guide {d}/guide_inf.csv", "max_value must be a finite", "out.npz"),
    ("guide no ratio", DS + " --guide {d}/guide_noratio.csv", "ratio_drawing", "out.npz"),
    ("guide unknown id", DS + " --guide {d}/guide_unknown.csv", "EX_foo_e_i", "out.npz"),
    ("guide text", DS + " --guide {d}/guide_text.csv", "must be numbers", "out.npz"),
    ("guide empty", DS + " --guide {d}/empty.csv", "not a readable CSV", "out.npz"),
    ("guide missing", DS + " --guide {d}/nope.csv", "not found", "out.npz"),
    ("model missing", DS + " --model {d}/nope.xml", "neither a file nor a bundled", "out.npz"),
    ("model corrupt", DS + " --model {d}/garbage.xml", "could not be read", "out.npz"),
    ("model minimises", DS + " --model {d}/minimise.xml", "minimises its objective", "out.npz"),
    ("size 0", "flux dataset --size 0 --out {d}/out.npz", "Invalid value", "out.npz"),
    ("mode XX", DS + " --mode XX", "Invalid value", "out.npz"),
    ("jobs 0", DS + " --jobs 0", "--jobs 0", "out.npz"),
    ("seed -1", DS + " --seed -1", "Invalid value", "out.npz"),
    ("out unwritable", "flux dataset --size 5 --out {d}/afile/out.npz", "cannot write", ""),
    ("exp columns", DS + " --experimental {d}/exp_missing.csv", "lacks guide column", "out.npz"),
    ("exp missing", DS + " --experimental {d}/nope.csv", "not found", "out.npz"),
    ("train NaN Y", TR.replace("train.npz", "nan_y.npz"), "non-finite value", "run"),
    ("train inf X", TR.replace("train.npz", "inf_x.npz"), "non-finite value", "run"),
    ("train empty npz", TR.replace("train.npz", "empty.npz"), "not a readable training", "run"),
    ("train no Y", TR.replace("train.npz", "no_y.npz"), "missing array(s) Y", "run"),
    ("train missing", TR.replace("train.npz", "nope.npz"), "not found", "run"),
    ("dropout 1.5", TR + " --dropout 1.5", "Invalid value", "run"),
    ("dropout 1", TR + " --dropout 1", "dropout must be in [0, 1)", "run"),
    ("lr -1", TR + " --lr -1", "Invalid value", "run"),
    ("lr 0", TR + " --lr 0", "lr must be > 0", "run"),
    ("batch 0", TR + " --batch-size 0", "Invalid value", "run"),
    ("hidden abc", TR.replace("--hidden 8", "--hidden abc"), "hidden must be integers", "run"),
    ("hidden 0", TR.replace("--hidden 8", "--hidden 0"), "hidden sizes must be >= 1", "run"),
    ("folds 1", TR.replace("--folds 0", "--folds 1"), "0 for no cross-validation", "run"),
    ("folds > n", TR.replace("--folds 0", "--folds 99"), "exceeds the 30 samples", "run"),
    ("arch", TR + " --arch AMN-XX", "Invalid value", "run"),
    ("n-iter 0", TR + " --n-iter 0", "Invalid value", "run"),
    ("train seed -1", TR + " --seed -1", "Invalid value", "run"),
    ("epochs 0", TR.replace("--epochs 1", "--epochs 0"), "Invalid value", "run"),
    ("val 1", TR + " --val-fraction 1", "val_fraction must be in [0, 1)", "run"),
    ("reference", TR + " --reference NOPE", "'NOPE' is not in model", "run"),
    ("train other model", TR + " --model {d}/changed.xml", "built on a network with hash", "run"),
    ("train test missing", TR + " --test {d}/nope.npz", "not found", "run"),
    ("train out unwritable", TR.replace("{d}/run", "{d}/afile/run"), "cannot write", ""),
    ("predict no model", PR.replace("model.pt", "nope.pt"), "not found", "pred.csv"),
    ("predict garbage", PR.replace("model.pt", "garbage.pt"), "not a readable kinflux", "pred.csv"),
    ("predict not AMN", PR.replace("model.pt", "other.pt"), "not a kinflux AMN", "pred.csv"),
    ("predict NaN weights", PR.replace("model.pt", "nan_weights.pt"), "holds NaN", "pred.csv"),
    ("media missing col", PR.replace("ok", "missing"), "missing medium column", "pred.csv"),
    ("media extra col", PR.replace("ok", "extra"), "unknown column(s) EX_bogus", "pred.csv"),
    ("media NaN", PR.replace("ok", "nan"), "non-finite value", "pred.csv"),
    ("media negative", PR.replace("ok", "neg"), "negative medium value", "pred.csv"),
    ("media text", PR.replace("ok", "text"), "non-numeric", "pred.csv"),
    ("media no rows", PR.replace("ok", "header_only"), "no media", "pred.csv"),
    ("media empty", PR.replace("media_ok.csv", "empty.csv"), "not a readable CSV", "pred.csv"),
    ("predict other model", PR + " --model {d}/changed.xml", "made for network", "pred.csv"),
    ("info missing model", "flux info {d}/nope.xml", "neither a file nor a bundled", ""),
    ("knockout unknown", PR + " --knockout NOPE", "'NOPE' is not in model", "pred.csv"),
    ("infeasible knockout", PR + " --knockout EX_glc__D_e", "no feasible flux", "pred.csv"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, d):
    _, command, expected, output = case
    res = runner.invoke(app, command.format(d=d).split())
    text = " ".join(res.output.split())
    assert res.exit_code != 0, text
    assert expected in text, text
    assert "Traceback" not in text
    if output:
        assert not (d / output).exists()
        assert not (d / f".{output}.partial").exists()


def test_existing_output_is_kept(d):
    out = d / "kept.csv"
    out.write_text("good")
    res = runner.invoke(app, PR.replace("pred.csv", "kept.csv").format(d=d).split())
    assert res.exit_code != 0 and "--force" in " ".join(res.output.split())
    assert out.read_text() == "good"


def test_good_inputs_pass(d):
    """The table's good files work, so each bad row fails for its own reason."""
    res = runner.invoke(app, (PR + " --quiet").format(d=d).split())
    assert res.exit_code == 0, res.output
    assert (d / "pred.csv").exists()
    (d / "pred.csv").unlink()
