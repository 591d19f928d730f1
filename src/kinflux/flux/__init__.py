"""Flux half of kinflux: split networks, pFBA training sets, mechanistic layers, AMNs.

Public names (imported lazily, so ``import kinflux.flux`` and ``kinflux --help`` stay
fast):

=====================  ==============================================================
``Network``            split (irreversible) metabolic network (:mod:`.network`)
``MediumGuide``        how training media are drawn (:mod:`.media`)
``FluxProblem``        network + medium ids + open inflows + mode (:mod:`.problem`)
``FluxSolver``         persistent HiGHS FBA/pFBA (:mod:`.fba`)
``TrainingSet``        media and pFBA fluxes; ``build_training_set`` (:mod:`.training_set`)
``QPLayer`` ...        mechanistic layers ``QPLayer``, ``LPLayer``, ``UBLayer``,
                       ``WLayer`` (:mod:`.layers`)
``Constraints``        constraint data of a problem (:mod:`.losses`)
``AMN``                scikit-learn estimator (:mod:`.amn`)
``Knockout``           mutant context (:mod:`.knockout`)
``evaluate``           scores; ``cross_validate`` (:mod:`.metrics`)
``train_run``          run folders; ``predict_file`` (:mod:`.runs`)
=====================  ==============================================================

Example:
    >>> from kinflux.flux import AMN, FluxProblem, Network
    >>> problem = FluxProblem(Network.load("e_coli_core"), ["EX_glc__D_e_i"])
    >>> AMN(problem, arch="AMN-QP").get_params()["arch"]
    'AMN-QP'
"""

from __future__ import annotations

from kinflux import lazy_exports

_EXPORTS = {
    "Network": "network",
    "MediumGuide": "media",
    "FluxProblem": "problem",
    "FluxSolver": "fba",
    "TrainingSet": "training_set",
    "build_training_set": "training_set",
    "QPLayer": "layers",
    "LPLayer": "layers",
    "UBLayer": "layers",
    "WLayer": "layers",
    "Constraints": "losses",
    "AMN": "amn",
    "Knockout": "knockout",
    "evaluate": "metrics",
    "cross_validate": "metrics",
    "train_run": "runs",
    "predict_file": "runs",
    "ARCHITECTURES": "hyperparameters",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
