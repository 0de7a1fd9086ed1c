"""The result fields that may differ between two runs with the same seed and workers."""

from __future__ import annotations

from typing import Any

VARYING = (
    "build_seconds",
    "heuristic_seconds",
    "solve_seconds",
    "lp_seconds",
    "lns_seconds",
    # the search's step counts depend on when CP-SAT's bound (beside it) arrives
    "lns_steps",
    "lns_improved",
    "first_solution_seconds",
    "best_solution_seconds",
)


def without_varying(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in VARYING}
