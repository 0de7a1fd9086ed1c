"""GAP instances of types d and e at Yagiura's sizes, for measuring on instances not seen.

Chu and Beasley's rules (1997): type d, hours a = U[1, 100] and cost 111 - a + U[-10, 10];
type e, hours a = 1 - 10 ln U(0, 1] and cost 1000 / a - 10 U[0, 1]; each agent's capacity
80 % of its hours over the agents (at least its largest). Sizes (agents, jobs) as in
Yagiura, Ibaraki and Glover (2004). OR-Library format (`../shared/gap/README.md`).

    python benchmarks/unseen_gap.py OUT_DIR [SEED]
    allocate bench-gap OUT_DIR --time-limit 60 --workers 2 --out PREFIX
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

SIZES = [(10, 400), (20, 400), (40, 400), (15, 900), (30, 900), (60, 900)]
SIZES += [(20, 1600), (40, 1600), (80, 1600)]


def instance(kind: str, agents: int, jobs: int, rng: random.Random) -> str:
    """One instance of type `kind` ("d" or "e") as OR-Library text."""
    if kind == "d":
        use = [[rng.randint(1, 100) for _ in range(jobs)] for _ in range(agents)]
        cost = [[111 - u + rng.randint(-10, 10) for u in row] for row in use]
    else:
        use = [[int(1 - 10 * math.log(1 - rng.random())) for _ in range(jobs)]
               for _ in range(agents)]  # fmt: skip
        # (at least 0, as the format wants: 1000 / a - 10 U may fall below 0 for a > 100)
        cost = [[max(0, int(1000 / u - 10 * rng.random())) for u in row] for row in use]
    capacity = [max(int(0.8 * sum(row) / agents), max(row)) for row in use]
    lines = [f"{agents} {jobs}", *(" ".join(map(str, row)) for row in cost + use)]
    return "\n".join([*lines, " ".join(map(str, capacity))]) + "\n"


def write_all(out: Path, seed: int) -> list[Path]:
    """Every type and size, named as Yagiura's (d10400, ..., e801600)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for kind in "de":
        for agents, jobs in SIZES:
            path = out / f"{kind}{agents}{jobs}"
            path.write_text(instance(kind, agents, jobs, rng))
            paths.append(path)
    return paths


if __name__ == "__main__":
    write_all(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 7)
