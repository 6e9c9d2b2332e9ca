"""The drift document (`scanner.diff.diff`) as text, Markdown, JSON or a standalone HTML page.

Text and Markdown list at most `LIMIT` rows per section with the count of the rest; JSON carries everything.
Markdown cells go through `markdown.cell`, HTML through the report's sandboxed, autoescaped environment.
"""

from __future__ import annotations

from typing import Any

import orjson

from scanner.diff import parse_ports
from scanner.intervals import ports_text
from scanner.render.markdown import cell
from scanner.textsafe import visible

LIMIT = 200
SECTIONS = (
    ("connections", "namespace", "became_allowed", "Namespace connections that became allowed"),
    ("connections", "namespace", "became_denied", "Namespace connections that became denied"),
    ("connections", "workload", "became_allowed", "Workload connections that became allowed"),
    ("connections", "workload", "became_denied", "Workload connections that became denied"),
)


def _ports(described: dict[str, Any]) -> str:
    return ports_text(parse_ports(described))


def rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Every section as (title, header, rows) for the renderers, in reading order."""
    out: list[dict[str, Any]] = []
    for top, level, key, title in SECTIONS:
        part = d[top][level]
        if level == "workload" and not part.get("computed", True):
            out.append({"title": title, "header": [], "rows": [], "note": part["note"]})
            continue
        state = "was" if key == "became_allowed" else "now"
        out.append({"title": title, "header": ["from", "to", "ports", state],
                    "rows": [[e["from"], e["to"], _ports(e["ports"]), e[state]] for e in part[key]]})
    f = d["findings"]
    out.append({"title": "New findings", "header": ["severity", "rule", "subject", "message"],
                "rows": [[e["severity"], e["rule"], e["subject"], e["message"]] for e in f["new"]]})
    out.append({"title": "Resolved findings", "header": ["severity", "rule", "subject", "message"],
                "rows": [[e["severity"], e["rule"], e["subject"], e["message"]] for e in f["resolved"]]})
    out.append({"title": "Findings whose severity changed", "header": ["was", "now", "rule", "subject"],
                "rows": [[e["was"], e["severity"], e["rule"], e["subject"]] for e in f["severity_changed"]]})
    p = d["policies"]
    policy_rows = ([["added", n, ""] for n in p["added"]] + [["removed", n, ""] for n in p["removed"]]
                   + [["changed", c["policy"], ", ".join(c["fields"])] for c in p["changed"]]
                   + [["became invalid", n, "see NP026"] for n in p["became_invalid"]]
                   + [["became valid", n, ""] for n in p["became_valid"]])
    out.append({"title": "Policies", "header": ["change", "policy", "fields"], "rows": policy_rows})
    return out


def _posture_rows(d: dict[str, Any]) -> list[list[str]]:
    a, b = d["old"]["posture"], d["new"]["posture"]

    def pct(x: float) -> str:
        return f"{x:.0%}"

    lines = [["result", a["result"], b["result"]], ["grade", f"{a['grade']} ({a['score']})", f"{b['grade']} ({b['score']})"],
             ["pods isolated for ingress", pct(a["ingress_isolated_share"]), pct(b["ingress_isolated_share"])],
             ["pods isolated for egress", pct(a["egress_isolated_share"]), pct(b["egress_isolated_share"])],
             ["pods", str(a["pods"]), str(b["pods"])], ["policies", str(a["policies"]), str(b["policies"])]]
    lines += [[f"failed {sev}", str(a["failed_by_severity"][sev]), str(b["failed_by_severity"][sev])]
              for sev in a["failed_by_severity"]]
    return lines


def text(d: dict[str, Any]) -> str:
    lines = [f"netpol-audit diff: {d['old']['label']} -> {d['new']['label']}",
             "no change" if not d["changed"] else "changes found", ""]
    for sec in rows(d):
        n = len(sec["rows"])
        if "note" in sec:
            lines.append(f"{sec['title']}: {sec['note']}")
            continue
        lines.append(f"{sec['title']}: {n}")
        for r in sec["rows"][:LIMIT]:
            lines.append("  " + "  ".join(str(c) for c in r))
        if n > LIMIT:
            lines.append(f"  ... and {n - LIMIT} more (the JSON output lists all)")
    lines += ["", "posture (old -> new):"]
    lines += [f"  {k}: {a} -> {b}" for k, a, b in _posture_rows(d)]
    if d["incomplete"]:
        lines.append(f"INCOMPLETE side(s): {', '.join(d['incomplete'])}: changes may be artefacts of missing data")
    return visible("\n".join(lines) + "\n")


def markdown(d: dict[str, Any]) -> str:
    out = [f"## netpol-audit diff: {cell(d['old']['label'])} → {cell(d['new']['label'])}", ""]
    if d["incomplete"]:
        out += [f"**Incomplete side(s):** {cell(', '.join(d['incomplete']))}: changes may be artefacts of missing "
                "data.", ""]
    out += ["| | old | new |", "|---|---|---|"]
    out += [f"| {cell(k)} | {cell(a)} | {cell(b)} |" for k, a, b in _posture_rows(d)]
    for sec in rows(d):
        out += ["", f"### {sec['title']} ({len(sec['rows'])})" if "note" not in sec else f"### {sec['title']}", ""]
        if "note" in sec:
            out.append(cell(sec["note"]))
            continue
        if not sec["rows"]:
            out.append("None.")
            continue
        out.append("| " + " | ".join(sec["header"]) + " |")
        out.append("|" + "---|" * len(sec["header"]))
        out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in sec["rows"][:LIMIT]]
        if len(sec["rows"]) > LIMIT:
            out.append(f"\n… and {len(sec['rows']) - LIMIT} more (the JSON output lists all).")
    return "\n".join(out) + "\n"


def html(d: dict[str, Any]) -> str:
    from scanner.render.html import csp, environment

    template = environment().get_template("diff.html.j2")
    return template.render(d=d, sections=rows(d), posture=_posture_rows(d), csp=csp(), limit=LIMIT)


def render_diff(d: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(d, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    return {"text": text, "md": markdown, "html": html}[fmt](d)
