"""``kinflux kinetic ...`` commands (kinetic models)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kinflux.cli.common import console, run_cli_errors

app = typer.Typer(
    help="Kinetic models: load, inspect, simulate, parameterize.", no_args_is_help=True
)


@app.command()
def info(
    model: Path = typer.Argument(..., help="SKiMpy YAML model file."),
    small_molecules: str = typer.Option("dynamic", help="dynamic (SKiMpy) or constant."),
) -> None:
    """Counts of reactants, reactions, parameters by kind and conserved moieties."""
    from kinflux.kinetic.model import KineticModel

    with run_cli_errors():
        m = KineticModel.from_yaml(model, small_molecules=small_molecules)
        s = m.summary()
        t = Table(title=f"{model.name} ({s['name']})")
        t.add_column("item")
        t.add_column("value")
        for k in (
            "species",
            "variables",
            "constants",
            "boundary",
            "reactions",
            "parameters",
            "parameters_unknown",
            "moieties",
            "independent",
        ):
            t.add_row(k, str(s[k]))
        for k, v in s["parameters_by_kind"].items():
            t.add_row(f"  parameters: {k}", str(v))
        for k, v in s["mechanisms"].items():
            t.add_row(f"  mechanism: {k}", str(v))
        t.add_row("dependent", ", ".join(s["dependent"]))
        t.add_row("modifier-only small molecules", ", ".join(s["modifier_only_small_molecules"]))
        console.print(t)


@app.command()
def simulate(
    model: Path = typer.Argument(..., help="SKiMpy YAML model file (parameterized)."),
    params: Path = typer.Option(None, help="Parameter YAML (default: the model's own)."),
    steady_state: Path = typer.Option(..., "--steady-state", help="TFA profile CSV."),
    perturb: float = typer.Option(0.1, help="Relative perturbation of the initial state."),
    n: int = typer.Option(3, help="Number of perturbed initial states."),
    t_end: float = typer.Option(1.0, "--t-end", help="End time, h."),
    method: str = typer.Option("LSODA", help="BDF, LSODA or Radau."),
    out: Path = typer.Option(..., help="Output folder (trajectories.npz, summary.json, plot)."),
    force: bool = typer.Option(False, help="Overwrite existing outputs."),
) -> None:
    """Integrate perturbed initial states back towards the steady state; write a plot."""
    import numpy as np
    import yaml

    from kinflux import KinfluxError
    from kinflux.io import atomic_write, check_output, write_json
    from kinflux.kinetic.dynamics import integrate, lambda_max, perturb_state
    from kinflux.kinetic.model import KineticModel
    from kinflux.kinetic.steady import SteadyState

    with run_cli_errors():
        for f in ("trajectories.npz", "summary.json", "trajectories.png"):
            check_output(out / f, force=force)
        m = KineticModel.from_yaml(model)
        ss = SteadyState.from_tfa_csv(steady_state, m)
        p = m.default_parameters()
        if params is not None:
            d = yaml.safe_load(Path(params).read_text())
            p = m.parameters_from_dict(d.get("parameters", d), base=p)
        p = ss.fill_constants(p)
        lam = float(lambda_max(m.jacobian(ss.x, p))[0])
        console.print(f"lambda_max at the steady state: {lam:.4g} h^-1")
        x0 = perturb_state(m, ss.x, perturb, n)
        with console.status("integrating..."):
            tr = integrate(m, x0, p, t_end, method=method)
        if not any(tr.success):
            raise KinfluxError(f"integration failed for every initial state: {tr.messages[0]}")
        with atomic_write(out / "trajectories.npz") as fh:
            np.savez(fh, t=tr.t, x=tr.x, variables=np.array(m.variables))
        write_json(
            out / "summary.json",
            {"lambda_max": lam, "success": tr.success, "messages": tr.messages},
        )
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        rel = tr.x / ss.x.numpy()[None, None]
        for b in range(rel.shape[0]):
            ax.plot(tr.t, rel[b], lw=0.6, alpha=0.6)
        ax.set_xlabel("time (h)")
        ax.set_ylabel("x / x_steady")
        with atomic_write(out / "trajectories.png") as fh:
            fig.savefig(fh, format="png", dpi=120)
        console.print(f"wrote {out}")
