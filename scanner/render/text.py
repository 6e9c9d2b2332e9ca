"""The terminal summary of a scan: readable in ten seconds, then the failing findings by severity."""

from __future__ import annotations

from typing import Any

from scanner.findings import SEVERITIES
from scanner.textsafe import visible

_MARK = {"critical": "CRIT", "high": "HIGH", "medium": "MED ", "low": "LOW ", "info": "INFO"}


def _subject(s: dict[str, Any]) -> str:
    return f"{s['kind']} {s['namespace'] + '/' if s['namespace'] else ''}{s['name']}"


def render(result: dict[str, Any], limit: int = 60) -> str:
    s = result["summary"]
    iso = s["isolation"]
    lines = []
    verdict = {"pass": "PASS", "fail": "FAIL", "incomplete": "INCOMPLETE"}[s["result"]]
    lines.append(f"netpol-audit {result['tool']['version']}: {verdict} "
                 f"(fail-on {s['fail_on']}: {s['gating_findings']} finding(s) at or above)")
    sev = ", ".join(f"{s['failed_by_severity'][k]} {k}" for k in SEVERITIES if s["failed_by_severity"][k])
    f = s["findings"]
    lines.append(f"findings: {f['FAIL']} failed ({sev or 'none'}), {f['WAIVED']} waived, {f['ERROR']} errors, "
                 f"{f['PASS']} passed, {f['NOT_APPLICABLE']} not applicable")
    pods = iso["pods"] or 1
    lines.append(f"isolation: {iso['ingress_isolated']}/{iso['pods']} pods isolated for ingress "
                 f"({100 * iso['ingress_isolated'] // pods}%), {iso['egress_isolated']}/{iso['pods']} for egress "
                 f"({100 * iso['egress_isolated'] // pods}%); {iso['policies']} policies in "
                 f"{iso['namespaces']} namespaces" + (f", {iso['invalid_policies']} invalid"
                                                     if iso["invalid_policies"] else ""))
    if result.get("drift"):
        from scanner.render.report_model import change_sentence

        lines.append(change_sentence(result["drift"]))
    for fw in result["frameworks"]:
        c = fw["counts"]
        score = f"{fw['score']}%" if fw["score"] is not None else "n/a"
        lines.append(f"  {fw['title']} {fw['version']}: {c['PASS']} pass, {c['FAIL']} fail, {c['ERROR']} error, "
                     f"{c['NOT_ASSESSED']} not assessed (score {score}, automated coverage {fw['coverage']}%)")
    for st in result["coverage"]["statement"][1:]:
        lines.append(f"note: {st}")
    for w in result.get("waivers") or []:
        if w["status"] != "applied":
            lines.append(f"waiver {w['status']}: {w['rule']} {w['subject']} (owner {w['owner']}, expires "
                         f"{w['expires']})" + (": no longer applies" if w["status"] == "expired" else
                                               ": matched nothing"))
    rem = result.get("remediation")
    if rem:
        v = rem["verified"]
        lines.append(f"remediation: {len(rem['files'])} file(s) in {rem['directory']} for "
                     f"{', '.join(rem['namespaces']) or 'no namespace'}; NP002/NP003 fixed: "
                     f"{'yes' if v['np002_np003_fixed'] else 'NO ' + ', '.join(v['still_failing'])}; new NP007: "
                     f"{', '.join(v['new_np007']) or 'none'}")
        for ch in rem["impact"]:
            removed = " ".join(f"{p} {x if isinstance(x, str) else ','.join(x)}" for p, x in ch["removed"].items())
            lines.append(f"  would remove {ch['from']} -> {ch['to']}: {removed}")
        for sk in rem["skipped"]:
            lines.append(f"  skipped {sk}")
    failing = [x for x in result["findings"] if x["status"] in ("FAIL", "ERROR")]
    if failing:
        lines.append("")
        for x in failing[:limit]:
            tag = "ERR " if x["status"] == "ERROR" else _MARK[x["severity"]]
            lines.append(f"{tag} {x['rule']} {_subject(x['subject'])}: {x['message']}")
        if len(failing) > limit:
            lines.append(f"... and {len(failing) - limit} more (see the JSON, CSV or HTML output)")
    return visible("\n".join(lines))
