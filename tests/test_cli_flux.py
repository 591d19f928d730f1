"""The `kinflux` CLI: help everywhere, dataset command, clear errors."""

from __future__ import annotations

from typer.testing import CliRunner

from kinflux.cli import app

runner = CliRunner()


def test_help_on_every_command():
    for args in (
        ["--help"],
        ["flux", "--help"],
        ["kinetic", "--help"],
        ["flux", "dataset", "--help"],
        ["flux", "train", "--help"],
        ["flux", "predict", "--help"],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "Usage" in res.output


def test_every_flux_option_has_help_and_train_options_match_amn():
    import typer.main

    from kinflux.cli.flux import app as flux_app
    from kinflux.flux.hyperparameters import HYPERPARAMETERS

    group = typer.main.get_group(flux_app)
    for name, command in group.commands.items():
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"flux {name} {param.opts} has no help text"
    train = {p.name for p in group.commands["train"].params}
    assert {h.cli_name or h.name for h in HYPERPARAMETERS if h.cli} <= train
    text = runner.invoke(app, ["flux", "train", "--help"]).output
    assert "AMN-LP" in text and "cosine" in text  # choices listed in --help
    for cmd in ("dataset", "train", "predict"):
        opts = {o for p in group.commands[cmd].params for o in p.opts}
        assert {"--out", "-o", "--force", "--quiet"} <= opts, cmd


def test_dataset_command_and_no_overwrite(tmp_path):
    out = tmp_path / "core" / "train.npz"
    args = ["flux", "dataset", "--model", "e_coli_core", "--size", "20", "--seed", "0"]
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists()
    before = out.read_bytes()
    res = runner.invoke(app, [*args, "--seed", "1", "--out", str(out)])
    assert res.exit_code == 2
    assert "--force" in res.output
    assert out.read_bytes() == before


def test_dataset_bad_guide_names_id_and_model(tmp_path):
    guide = tmp_path / "g.csv"
    guide.write_text("name,EX_foo_e_i\nlevel,1\nmax_value,10\nratio_drawing,0.5\n")
    out = tmp_path / "t.npz"
    res = runner.invoke(
        app, ["flux", "dataset", "--guide", str(guide), "--size", "5", "--out", str(out)]
    )
    assert res.exit_code == 2
    assert "EX_foo_e_i" in res.output and "e_coli_core" in res.output
    assert not out.exists()


def test_info_command():
    res = runner.invoke(app, ["flux", "info", "e_coli_core"])
    assert res.exit_code == 0 and "154" in res.output
