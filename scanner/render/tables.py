"""Plain-text tables and CSV for the query commands (isolation, reach, matrix)."""

from __future__ import annotations

import csv
import io
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip()]
    lines += [fmt.format(*r).rstrip() for r in rows]
    return "\n".join(lines)


def isolation_table(data: dict[str, Any]) -> str:
    rows = []
    def state(p: dict[str, Any], direction: str) -> str:
        if p["host_network"]:
            return "hostNetwork"
        if p[f"{direction}_isolated"]:
            return "isolated"
        return "tier-isolated" if p.get(f"{direction}_isolated_by_tier") else "OPEN"

    for p in data["pods"]:
        pols = [x.split("/", 1)[1] for x in sorted(set(p["ingress_policies"]) | set(p["egress_policies"]))]
        pols += sorted({t["policy"] for d in ("ingress", "egress") if (t := p.get(f"{d}_isolated_by_tier"))})
        rows.append([p["namespace"], p["name"], p["kind"], state(p, "ingress"), state(p, "egress"),
                     ", ".join(pols) or "-"])
    out = [table(["NAMESPACE", "NAME", "KIND", "INGRESS", "EGRESS", "POLICIES"], rows)]
    n = len(data["pods"])

    def count(direction: str) -> str:
        np_ = sum(1 for p in data["pods"] if p[f"{direction}_isolated"])
        tier = sum(1 for p in data["pods"] if p.get(f"{direction}_isolated_by_tier"))
        return f"{np_} isolated for {direction}" + (
            f" ({tier} more by a cluster-scoped default deny)" if tier else "")

    out.append("")
    out.append(f"{n} pods and workload templates: {count('ingress')}, {count('egress')}")
    if data["ignored"]:
        out.append(f"{len(data['ignored'])} ignored: "
                   + "; ".join(f"{i['namespace']}/{i['name']} ({i['reason']})" for i in data["ignored"]))
    if data["invalid_policies"]:
        out.append(f"{len(data['invalid_policies'])} problem(s) in invalid policies, left out of the analysis: "
                   + "; ".join(f"{i['namespace']}/{i['name']} {i['field']}" for i in data["invalid_policies"]))
    return "\n".join(out)


def _ports_cell(ports: dict[str, Any]) -> str:
    if ports and all(ports.get(p) == "all" for p in ("TCP", "UDP", "SCTP")):
        return "all"
    parts = []
    for proto, spec in ports.items():
        parts.append(f"{proto} {spec if isinstance(spec, str) else ','.join(spec)}")
    return " ".join(parts)


def matrix_table(data: dict[str, Any]) -> str:
    entries = data["entries"]
    if data["level"] == "namespace":
        names = sorted({e["from"] for e in entries} | {e["to"] for e in entries})
        if 0 < len(names) <= 12:
            cell = {(e["from"], e["to"]): _ports_cell(e["ports"]) for e in entries}
            width = 16

            def short(s: str) -> str:
                return s if len(s) <= width else s[: width - 1] + "~"

            rows = [[n] + [short(cell.get((n, m), "-")) for m in names] for n in names]
            return (table(["FROM \\ TO"] + [short(m) for m in names], rows)
                    + "\n\n(cells: ports allowed from the row namespace to the column namespace; '-' none)")
    rows = [[e["from"], e["to"], _ports_cell(e["ports"])] for e in entries]
    return table(["FROM", "TO", "PORTS"], rows)


def matrix_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["from", "to", "protocol", "ports"])
    for e in data["entries"]:
        for proto, spec in e["ports"].items():
            w.writerow([csv_safe(e["from"]), csv_safe(e["to"]), proto,
                        spec if isinstance(spec, str) else ";".join(spec)])
    return buf.getvalue()


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas in a cell taken from the cluster."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def side_by_side(left: list[str], right: list[str], width: int | None = None) -> str:
    """Two explanation columns, or one above the other on a narrow terminal."""
    total = width or shutil.get_terminal_size((120, 24)).columns
    if total < 100:
        return "\n".join([*left, "", *right])
    col = (total - 3) // 2

    def wrap(lines: list[str]) -> list[str]:
        out: list[str] = []
        for ln in lines:
            indent = len(ln) - len(ln.lstrip())
            out += textwrap.wrap(ln, col, subsequent_indent=" " * (indent + 2)) or [""]
        return out

    a, b = wrap(left), wrap(right)
    n = max(len(a), len(b))
    a += [""] * (n - len(a))
    b += [""] * (n - len(b))
    return "\n".join(f"{x:<{col}} | {y}".rstrip() for x, y in zip(a, b, strict=True))
