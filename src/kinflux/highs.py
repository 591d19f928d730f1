"""HiGHS helpers shared by both halves (flux-balance LPs, steady-state sampling MILPs)."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["quiet_highs"]


def quiet_highs(**options: Any):
    """A ``highspy.Highs`` with logging off and its start-up banner kept off stdout.

    Keyword arguments are HiGHS options, e.g.
    ``quiet_highs(primal_feasibility_tolerance=1e-9)``.
    """
    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    for key, value in options.items():
        h.setOptionValue(key, value)
    return h
