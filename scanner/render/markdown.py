"""Markdown for pull-request and merge-request comments: the verdict and counts, the frameworks, then the
failing findings by severity (at most `limit` rows; the JSON, SARIF and CSV outputs carry all of them).

Every string in a table cell is escaped with `cell()`: names, labels and messages come from the cluster (or
from a pull request under review), so a hostile value must not add columns, rows, links, HTML or @-mentions.
Reads the canonical result only.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.findings import SEVERITIES
from scanner.render.report_model import PDF_LIMITS, SEGMENTATION_DISCLAIMER, segmentation
from scanner.textsafe import visible

LIMIT = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_NEWLINES = re.compile(r"\r\n|[\r\n]")
# Markdown punctuation that could start emphasis, links, code, strikethrough or a table column.
_PUNCT = re.compile(r"([\\`*_\[\]|~])")
_VERDICT = {"pass": "PASS", "fail": "FAIL", "incomplete": "INCOMPLETE"}


def cell(value: Any) -> str:
    """Text safe inside a GitHub/GitLab table cell: one line, no HTML, no markup, no mentions."""
    text = visible(_CONTROL.sub("", str(value)))
    text = _NEWLINES.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _PUNCT.sub(r"\\\1", text)
    # "@team" would notify people; a word joiner after the @ keeps the text readable and breaks the mention.
    return text.replace("@", "@\u2060")


def _row(values: list[Any]) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(headers), "|" + "|".join("---" for _ in headers) + "|", *(_row(r) for r in rows)]


def _subject(s: dict[str, Any]) -> str:
    return f"{s['kind']} {s['namespace'] + '/' if s['namespace'] else ''}{s['name']}"


def _segmentation(result: dict[str, Any]) -> list[str]:
    """The segmentation requirements (NP038) with their status; nothing when the scan had no requirement file."""
    seg = segmentation(list(result["findings"]), PDF_LIMITS)  # the PDF's caps: a comment stays short
    if seg is None:
        return []
    rows = []
    for r in seg["requirements"]:
        first = r["flows"][0] if r["flows"] else None
        breaking = (f"{r['flows_total']}: {first['from']} -> {first['to']} ({first['ports']})"
                    + (" …" if r["flows_total"] > 1 else "")) if first else ("none" if r["status"] == "PASS" else "")
        rows.append([r["id"], r["status_label"], f"{r['type']} {r['source']} -> {r['destination']} on {r['ports']}",
                     breaking or r["message"]])
    return ["", "### Segmentation requirements", "",
            *_table(["Requirement", "Status", "Asserts", "Flows breaking it"], rows),
            "", f"_{cell(SEGMENTATION_DISCLAIMER)}_"]


CHANGE_ROWS = 20


def _changes(drift: dict[str, Any]) -> list[str]:
    """The drift of a scheduled run (or `scan --previous`): one sentence, then the new failing findings."""
    from scanner.render.report_model import change_sentence

    sentence = change_sentence(drift, "→")
    out = ["", "### Changes since last scan", "", cell(sentence[0].upper() + sentence[1:]) + "."]
    new = drift["findings"]["new"]
    if new:
        out += ["", *_table(["Severity", "Rule", "Subject", "New failing finding"],
                            [[x["severity"], x["rule"], x["subject"], x["message"]] for x in new[:CHANGE_ROWS]])]
        if len(new) > CHANGE_ROWS:
            out += ["", f"_… and {len(new) - CHANGE_ROWS} more new finding(s): see the JSON result (drift)._"]
    return out


def render(result: dict[str, Any], limit: int = LIMIT) -> str:
    s = result["summary"]
    f = s["findings"]
    sev = s["failed_by_severity"]
    out = [f"## netpol-audit {cell(result['tool']['version'])}: **{_VERDICT[s['result']]}**", ""]
    gate = "none" if s["fail_on"] == "none" else f"≥ {s['fail_on']}"
    out += _table(
        ["Result", f"Gating ({gate})", *(k.capitalize() for k in SEVERITIES), "Waived", "Errors", "Passed",
         "Not applicable"],
        [[_VERDICT[s["result"]], s["gating_findings"], *(sev[k] for k in SEVERITIES), f["WAIVED"], f["ERROR"],
          f["PASS"], f["NOT_APPLICABLE"]]])
    out.append("")
    out.append("Severity columns count failed findings; waived findings are not counted as failures.")
    if result.get("drift"):
        out += _changes(result["drift"])
    if result["frameworks"]:
        out += ["", "### Frameworks", ""]
        rows = []
        for fw in result["frameworks"]:
            c = fw["counts"]
            score = f"{fw['score']}%" if fw["score"] is not None else "n/a"
            rows.append([fw["title"], fw["version"], c["PASS"], c["FAIL"], c["ERROR"], c["NOT_ASSESSED"], score,
                         f"{fw['coverage']}%"])
        out += _table(["Framework", "Version", "Pass", "Fail", "Error", "Not assessed", "Score",
                       "Automated coverage"], rows)
    out += _segmentation(result)
    notes = list(result["coverage"]["statement"][1:])
    if notes:
        out.append("")
        out += [f"> {cell(n)}" for n in notes]
    failing = [x for x in result["findings"] if x["status"] in ("FAIL", "ERROR")]
    if failing:
        out += ["", "### Failing findings"]
        shown = 0
        groups: list[tuple[str, list[dict[str, Any]]]] = [
            ("Errors (rules that could not be evaluated)", [x for x in failing if x["status"] == "ERROR"])]
        groups += [(k.capitalize(), [x for x in failing if x["status"] == "FAIL" and x["severity"] == k])
                   for k in SEVERITIES]
        for title, items in groups:
            if not items or shown >= limit:
                continue
            take = items[: limit - shown]
            shown += len(take)
            out += ["", f"#### {title} ({len(items)})", ""]
            out += _table(["Rule", "Subject", "Message"],
                          [[f"{x['rule']} {x['slug']}", _subject(x["subject"]), x["message"]] for x in take])
        if len(failing) > shown:
            out += ["", f"_{len(failing) - shown} more failing finding(s) not shown (the table is capped at "
                        f"{limit} rows): see the JSON, SARIF or CSV output._"]
    else:
        out += ["", "No failing findings."]
    return "\n".join(out) + "\n"
