"""Write instances/template.xlsx: the workbook a committee member fills in.

Run from the project root:  .venv/bin/python instances/make_template.py

The template is instances/tiny.json as a workbook (sheets providers, cases, offers,
budgets, settings, with the example rows to be replaced) plus a README sheet that explains
every column. It is built by `solver.tables.template_workbook`; edit that, never the file.
With --check, exit 1 if the file's cells differ from what the code builds (the bytes differ
from run to run: a workbook stores when it was saved).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from solver.tables import template_workbook, workbook_cells, write_template  # noqa: E402

TEMPLATE = HERE / "template.xlsx"


def main(argv: list[str]) -> int:
    if "--check" in argv:
        from openpyxl import load_workbook

        if TEMPLATE.exists() and workbook_cells(load_workbook(TEMPLATE)) == workbook_cells(
            template_workbook()
        ):
            return 0
        print(f"{TEMPLATE.name} differs from the code; run make_template.py", file=sys.stderr)
        return 1
    write_template(TEMPLATE)
    print(f"wrote {TEMPLATE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
