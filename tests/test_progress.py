"""Progress of long solves: a line on a terminal, nothing otherwise or with --quiet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from solver import SolveParams, load_instance, solve

ROOT = Path(__file__).resolve().parent.parent
BALLERUP = ROOT / "instances" / "ballerup-2022.json"


def test_progress_points_improve_and_end_at_the_result():
    points = []
    result = solve(
        load_instance(BALLERUP), SolveParams(time_limit=10, workers=2, progress=points.append)
    )
    objectives = [p.objective for p in points if p.objective is not None]
    bounds = [p.bound for p in points if p.bound is not None]
    assert objectives and bounds
    assert objectives == sorted(objectives, reverse=True)  # each solution improves
    assert bounds == sorted(bounds)  # each bound tightens
    assert objectives[-1] == result.objective
    assert bounds[-1] <= result.objective
    assert len(result.trace) == len(points)


def _run(args, tty: bool):
    cmd = [sys.executable, "-m", "cli", "solve", str(BALLERUP), "--time-limit", "10", *args]
    if not tty:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True).stderr
    leader, follower = os.openpty()
    try:
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=follower, check=True)
    finally:
        os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode()


def test_progress_line_on_a_terminal(tmp_path):
    err = _run(["--out", str(tmp_path / "a.json")], tty=True)
    assert "objective" in err and "bound" in err and "gap" in err


def test_quiet_when_not_a_terminal_or_asked(tmp_path):
    assert _run(["--out", str(tmp_path / "a.json")], tty=False) == ""
    assert _run(["--out", str(tmp_path / "b.json"), "--quiet"], tty=True) == ""
