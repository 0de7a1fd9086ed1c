"""Allocation of contact-person cases to providers (docs/instance-format.md).

Public API::

    from solver import load_instance, solve, SolveParams
    result = solve(load_instance("instances/tiny.json"), SolveParams(time_limit=10))
    print(result.summary())
"""

from solver.errors import InstanceError
from solver.instance import Budget, Case, Instance, Offer, Provider, Weights
from solver.io import load_instance, parse_instance, validate_instance
from solver.result import Result
from solver.solve import SolveParams, solve
from solver.tables import load_any, save_any

__all__ = [
    "Budget",
    "Case",
    "Instance",
    "InstanceError",
    "Offer",
    "Provider",
    "Result",
    "SolveParams",
    "Weights",
    "load_any",
    "load_instance",
    "parse_instance",
    "save_any",
    "solve",
    "validate_instance",
]
