"""CSV for spreadsheets and ticket imports: one row per finding, every status, in the result's order.

Columns: id, rule, slug, severity, status, kind, namespace, name, message, controls (`framework:requirement`
joined by `;`), waiver_reason, file, line. Text cells lose control characters and go through `csv_safe`:
names, messages, file names and waiver reasons can come from the cluster or from a pull request, and a cell
a spreadsheet would read as a formula must not run. Reads the canonical result only.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from scanner.render.tables import csv_safe
from scanner.textsafe import visible

# Control characters other than tab, newline and carriage return (NUL truncates cells in some tools).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
COLUMNS = ("id", "rule", "slug", "severity", "status", "kind", "namespace", "name", "message", "controls",
           "waiver_reason", "file", "line")


def _row(f: dict[str, Any]) -> list[str]:
    s = f["subject"]
    loc = f.get("location") or {}
    waiver = f.get("waiver") or {}
    controls = ";".join(f"{fw}:{req}" for fw, reqs in sorted(f["controls"].items()) for req in reqs)
    line = loc.get("line")
    cells = [f["id"], f["rule"], f["slug"], f["severity"], f["status"], s["kind"], s["namespace"] or "",
             s["name"], f["message"], controls, waiver.get("reason") or "", loc.get("file") or ""]
    return [csv_safe(visible(_CONTROL.sub("", c))) for c in cells] + ["" if line is None else str(int(line))]


def render(result: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for f in result["findings"]:
        w.writerow(_row(f))
    return buf.getvalue()
