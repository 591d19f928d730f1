"""RENAISSANCE studies on valid kinetic models: robustness to perturbations, batch
bioreactor, integration of measured Km.

- :mod:`.sources`: where valid parameter sets come from (ORACLE baseline, generators).
- :mod:`.perturbation`: physical perturbations (box around the steady state, moieties kept).
- :mod:`.integration`: many stiff integrations with batched right-hand sides.
- :mod:`.robustness`: share of models returning to their steady state.
- :mod:`.bioreactor`: batch fermentation of valid models.
- :mod:`.km_integration`: fixed Km ranges, overlap score, integrated vs held-out Km.
- :mod:`.reports`: one call per study that writes a run folder with tables and figures.
"""
