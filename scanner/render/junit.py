"""JUnit XML for CI test-report views (GitLab, Jenkins, Azure DevOps, GitHub test-report actions).

One testsuite per evaluated rule ("NP002 missing-default-deny-ingress"), one testcase per (rule, subject):
classname is the rule id, name the subject (`Kind/namespace/name`). FAIL gives a <failure> (type = the
severity) with the message and evidence, ERROR an <error>, WAIVED and NOT_APPLICABLE a <skipped>, PASS a plain
testcase. When one rule has several findings for one subject they share the testcase, and the worst status
decides its outcome (ERROR, then FAIL, WAIVED, NOT_APPLICABLE, PASS). The shape is the subset described by
tests/schemas/junit.xsd.

Reads the canonical result only. Text goes through xml.etree (so it is escaped) after the characters XML 1.0
forbids are removed, so hostile names in the cluster cannot make the document ill-formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import orjson

from scanner.textsafe import visible

# Everything outside XML 1.0's Char production (controls except tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PRECEDENCE = {"ERROR": 0, "FAIL": 1, "WAIVED": 2, "NOT_APPLICABLE": 3, "PASS": 4}


def xml_text(value: Any) -> str:
    """A string XML 1.0 can carry: forbidden characters removed, bidi controls spelled out (`visible`)."""
    return visible(_FORBIDDEN.sub("", str(value)))


def _subject_ref(s: dict[str, Any]) -> str:
    return f"{s['kind']}/{s['namespace']}/{s['name']}" if s["namespace"] else f"{s['kind']}/{s['name']}"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    e = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = xml_text(text)
    return e


def _details(f: dict[str, Any]) -> str:
    lines = [f["message"], "", f"finding: {f['id']}", f"severity: {f['severity']}"]
    loc = f.get("location")
    if loc:
        lines.append(f"location: {loc['file']}" + (f":{loc['line']}" if loc.get("line") else ""))
    controls = "; ".join(f"{fw} {', '.join(reqs)}" for fw, reqs in f["controls"].items())
    if controls:
        lines.append(f"controls: {controls}")
    if f["evidence"]:
        lines.append("evidence: " + orjson.dumps(f["evidence"], option=orjson.OPT_SORT_KEYS
                                                 | orjson.OPT_INDENT_2).decode())
    return "\n".join(lines)


def _counts(cases: list[list[dict[str, Any]]]) -> dict[str, int]:
    worst = [min(_PRECEDENCE[f["status"]] for f in fs) for fs in cases]
    return {"tests": len(cases), "failures": worst.count(_PRECEDENCE["FAIL"]),
            "errors": worst.count(_PRECEDENCE["ERROR"]),
            "skipped": sum(1 for w in worst if w in (_PRECEDENCE["WAIVED"], _PRECEDENCE["NOT_APPLICABLE"]))}


def _testcase(suite: ET.Element, rule: str, fs: list[dict[str, Any]]) -> None:
    first = fs[0]
    loc = next((f["location"] for f in fs if f.get("location")), None)
    case = _el(suite, "testcase", classname=rule, name=_subject_ref(first["subject"]), time="0",
               file=loc["file"] if loc else None, line=loc["line"] if loc and loc.get("line") else None)
    status = min((f["status"] for f in fs), key=_PRECEDENCE.__getitem__)
    chosen = [f for f in fs if f["status"] == status]
    summary = chosen[0]["message"] if len(chosen) == 1 else \
        f"{len(chosen)} findings: " + "; ".join(f["message"] for f in chosen)
    body = "\n\n".join(_details(f) for f in chosen)
    if status == "FAIL":
        severity = min((f["severity"] for f in chosen),
                       key=("critical", "high", "medium", "low", "info").index)
        _el(case, "failure", body, message=summary, type=severity)
    elif status == "ERROR":
        _el(case, "error", body, message=summary, type="ERROR")
    elif status == "WAIVED":
        reasons = sorted({f"{w['reason']} (owner {w['owner']}, expires {w['expires']})"
                          for f in chosen if (w := f.get("waiver"))})
        _el(case, "skipped", message="waived: " + ("; ".join(reasons) or summary))
    elif status == "NOT_APPLICABLE":
        _el(case, "skipped", message=f"not applicable: {summary}")


def render(result: dict[str, Any]) -> str:
    metas = {m["id"]: m for m in result["rules"]}
    by_rule: dict[str, dict[tuple[str, str, str], list[dict[str, Any]]]] = {}
    for f in result["findings"]:  # the result's order: failures first, then by severity and subject
        s = f["subject"]
        by_rule.setdefault(f["rule"], {}).setdefault((s["kind"], s["namespace"] or "", s["name"]), []).append(f)
    started = result["run"]["started_at"]
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rule in sorted(by_rule):
        cases = list(by_rule[rule].values())
        meta = metas.get(rule)
        counts = _counts(cases)
        for k, v in counts.items():
            totals[k] += v
        suite = _el(root, "testsuite", name=f"{rule} {meta['slug']}" if meta else rule,
                    **{k: str(v) for k, v in counts.items()}, time="0", timestamp=started)
        props = _el(suite, "properties")
        if meta:
            _el(props, "property", name="title", value=meta["title"])
            _el(props, "property", name="severity", value=meta["severity"])
            _el(props, "property", name="category", value=meta["category"])
        for fs in cases:
            _testcase(suite, rule, fs)
    root.attrib.update({"name": xml_text(result["tool"]["name"]), **{k: str(v) for k, v in totals.items()},
                        "time": "0", "timestamp": started})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
