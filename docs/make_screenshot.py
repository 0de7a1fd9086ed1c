"""Regenerate docs/report-screenshot.png: the Ballerup report, rendered by headless Chromium.

    .venv/bin/python docs/make_screenshot.py [--lang da|en] [--out docs/report-screenshot.png]

Needs /usr/bin/chromium (`make chromium` installs it). The helpers here (running Chromium
offline, reading a PNG with the standard library) are used by tests/test_report.py too.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
WINDOW = (1280, 2400)
# Headless, offline, no profile left behind: nothing is fetched, nothing phones home.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_command(profile: Path, *extra: str, window: tuple[int, int] = WINDOW) -> list[str]:
    return [
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={window[0]},{window[1]}",
        *extra,
    ]


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def screenshot(
    html: Path, png: Path, timeout: float = 60, window: tuple[int, int] = WINDOW
) -> None:
    """Render `html` (a local file) to `png`; raise if Chromium writes nothing."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        args = chromium_command(
            Path(profile), f"--screenshot={png}", Path(html).resolve().as_uri(), window=window
        )
        done = _run(args, timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr}")


def dump_dom(html: Path, timeout: float = 60) -> str:
    """The DOM Chromium builds from `html`, serialised."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        args = chromium_command(Path(profile), "--dump-dom", Path(html).resolve().as_uri())
        done = _run(args, timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium --dump-dom failed (exit {done.returncode}): {done.stderr}")
    return done.stdout


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of raw pixel bytes) of an 8-bit, non-interlaced RGB/RGBA/grey PNG.

    Standard library only: chunks with `struct`, IDAT with `zlib`, the five scanline filters
    undone by hand.
    """
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat = 8, bytearray()
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
            if depth != 8 or channels is None or interlace:
                raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {colour})")
            bpp = channels
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if ftype == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif ftype != 0:
            raise ValueError(f"{path}: bad filter type {ftype} in row {y}")
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def png_colours(path: Path, step: int = 2) -> tuple[int, int, int]:
    """(width, height, distinct colours among every `step`-th pixel of every `step`-th row)."""
    width, height, rows = read_png(path)
    bpp = len(rows[0]) // width if rows else 0
    seen: set[bytes] = set()
    for row in rows[::step]:
        for x in range(0, width * bpp, bpp * step):
            seen.add(row[x : x + bpp])
    return width, height, len(seen)


def ballerup_report(out: Path, lang: str = "da", alternatives: bool = False) -> str:
    """Solve the Ballerup instance (10 s, 2 workers, seed 0) and write its report at `out`."""
    from solver import SolveParams, load_instance, solve
    from solver.budget import budget_table, placement_of
    from solver.report import write_report

    instance = load_instance(ROOT / "instances" / "ballerup-2022.json")
    doc = solve(instance, SolveParams(time_limit=10, workers=2, seed=0)).to_dict()
    explanations = None
    if alternatives:
        from solver.explain import explain

        explanations = explain(instance, doc, time_limit=10, workers=2, seed=0)
    budget = budget_table(instance, placement_of(doc))
    return write_report(out, instance, doc, budget, explanations, lang)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("da", "en"), default="da")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report-screenshot.png")
    parser.add_argument("--alternatives", action="store_true", help="re-solve per case too")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        print(f"error: {CHROMIUM} is missing: run `make chromium`", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="report-") as tmp:
        html = Path(tmp) / "report.html"
        ballerup_report(html, args.lang, args.alternatives)
        shot = Path(tmp) / "shot.png"
        screenshot(html, shot)
        args.out.write_bytes(shot.read_bytes())
    width, height, colours = png_colours(args.out)
    print(f"wrote {args.out}: {width}x{height}, {colours} colours sampled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
