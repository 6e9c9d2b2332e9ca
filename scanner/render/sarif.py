"""SARIF 2.1.0 for code-scanning tools (GitHub code scanning, Azure DevOps, IDE viewers).

One run. The driver lists every rule of the result with its remediation; each FAIL finding is a result, a
WAIVED finding is a result with an external suppression carrying the waiver, and an ERROR finding (a rule that
could not be evaluated) is an `error` result and a tool execution notification. PASS and NOT_APPLICABLE
findings are not results. A finding with a manifest location points at its file and line; every result also
names its Kubernetes object as a logical location.

Reads the canonical result only. Output is deterministic: sorted keys, rules by id, results in the result's
finding order, and no time other than the result's own.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO
from urllib.parse import quote

import orjson

from scanner.render.stream import write_json
from scanner.textsafe import visible

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "netpolAuditFindingId/v1"
SRCROOT = "SRCROOT"

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low; 0.0 is "none".
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
REPORTED = ("FAIL", "WAIVED", "ERROR")

_WINDOWS_ABS = re.compile(r"^[A-Za-z]:[\\/]|^\\\\")


def _subject_ref(s: dict[str, Any]) -> str:
    return f"{s['kind']}/{s['namespace']}/{s['name']}" if s["namespace"] else f"{s['kind']}/{s['name']}"


def _artifact(file: str) -> dict[str, Any] | None:
    """artifactLocation for a manifest path: relative paths (as given) against SRCROOT, absolute ones as file
    URIs; None for input that has no file (stdin)."""
    if not file or file == "<stdin>" or file == "-":
        return None
    if _WINDOWS_ABS.match(file):
        return {"uri": PureWindowsPath(file).as_uri()}
    if file.startswith("/"):
        return {"uri": PurePosixPath(posixpath.normpath(file)).as_uri()}
    return {"uri": quote(file.replace("\\", "/"), safe="/"), "uriBaseId": SRCROOT}


def _rule(meta: dict[str, Any], disabled: set[str]) -> dict[str, Any]:
    example = meta.get("remediation_example") or ""
    text = meta["remediation"]
    markdown = meta["remediation"]
    if example:
        text += "\n\nExample:\n" + example.rstrip("\n")
        fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", example)), default=0))
        markdown += f"\n\nExample:\n\n{fence}yaml\n" + example.rstrip("\n") + f"\n{fence}"
    refs = [r for r in meta.get("references") or [] if r.get("url")]
    if meta.get("references"):
        listed = "\n".join(f"- [{r['title']}]({r['url']})" if r.get("url") else f"- {r['title']}"
                           for r in meta["references"])
        markdown += "\n\nReferences:\n\n" + listed
        text += "\n\nReferences:\n" + "\n".join(
            f"- {r['title']}" + (f" <{r['url']}>" if r.get("url") else "") for r in meta["references"])
    out: dict[str, Any] = {
        "id": meta["id"],
        "name": meta["slug"],
        "shortDescription": {"text": meta["title"]},
        "fullDescription": {"text": meta["rationale"]},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS[meta["severity"]], "enabled": meta["id"] not in disabled},
        "properties": {
            "tags": sorted({"security", "kubernetes", "networkpolicy", meta["category"]}),
            "security-severity": SECURITY_SEVERITY[meta["severity"]],
            "severity": meta["severity"],
            "category": meta["category"],
            "deprecated": bool(meta.get("deprecated")),
        },
    }
    if refs:
        out["helpUri"] = refs[0]["url"]
    return out


def _locations(f: dict[str, Any]) -> list[dict[str, Any]]:
    s = f["subject"]
    logical = {"name": s["name"], "fullyQualifiedName": _subject_ref(s), "kind": "resource",
               "properties": {"kubernetesKind": s["kind"], "namespace": s["namespace"]}}
    loc: dict[str, Any] = {"logicalLocations": [logical]}
    where = f.get("location")
    artifact = _artifact(where["file"]) if where else None
    if where and artifact is not None:
        physical: dict[str, Any] = {"artifactLocation": artifact}
        if isinstance(where.get("line"), int) and where["line"] >= 1:
            physical["region"] = {"startLine": where["line"]}
        loc["physicalLocation"] = physical
    return [loc]


def _result(f: dict[str, Any], rule_index: dict[str, int]) -> dict[str, Any]:
    status = f["status"]
    message = f["message"]
    if status == "ERROR":
        message = f"{f['rule']} could not be evaluated, so its checks neither passed nor failed: {message}"
    tags = sorted({f"{fw}:{req}" for fw, reqs in f["controls"].items() for req in reqs})
    out: dict[str, Any] = {
        "ruleId": f["rule"],
        "kind": "fail",
        "level": "error" if status == "ERROR" else LEVELS[f["severity"]],
        "message": {"text": visible(message)},  # shown by code-scanning UIs; the data stays in properties
        "locations": _locations(f),
        "partialFingerprints": {FINGERPRINT_KEY: f["id"]},
        "properties": {
            "tags": tags,
            "findingId": f["id"],
            "status": status,
            "severity": f["severity"],
            "severityOverridden": f["severity_overridden"],
            "system": f["system"],
            "subject": f["subject"],
            "evidence": f["evidence"],
            "controls": f["controls"],
        },
    }
    if f["rule"] in rule_index:
        out["ruleIndex"] = rule_index[f["rule"]]
    if status == "WAIVED" and f.get("waiver"):
        w = f["waiver"]
        out["suppressions"] = [{
            "kind": "external", "status": "accepted", "justification": w["reason"],
            "properties": {"owner": w["owner"], "expires": w["expires"], "rule": w["rule"],
                           "subject": w["subject"], "waiverIndex": w.get("index")},
        }]
    return out


def render(result: dict[str, Any]) -> str:
    return render_bytes(result).decode()


def render_bytes(result: dict[str, Any]) -> bytes:
    return orjson.dumps(_log(result, lazy=False), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_to(result: dict[str, Any], fh: BinaryIO) -> None:
    """`render_bytes` written piece by piece, results built while they are written (same bytes)."""
    write_json(fh, _log(result, lazy=True), depth=4)  # runs[0].results[i]


def _log(result: dict[str, Any], lazy: bool) -> dict[str, Any]:
    disabled = set(result.get("coverage", {}).get("rules_disabled") or [])
    rules = sorted(result["rules"], key=lambda m: m["id"])
    rule_index = {m["id"]: i for i, m in enumerate(rules)}
    reported = [f for f in result["findings"] if f["status"] in REPORTED]
    errors = [f for f in reported if f["status"] == "ERROR"]
    run_info = result["run"]
    invocation: dict[str, Any] = {
        "executionSuccessful": not errors,
        "startTimeUtc": run_info["started_at"],
        "endTimeUtc": run_info["finished_at"],
        "toolExecutionNotifications": [
            {"level": "error", "message": {"text": f"rule {f['rule']} could not be evaluated: {f['message']}"},
             "descriptor": {"id": f["rule"]},
             **({"associatedRule": {"id": f["rule"], "index": rule_index[f["rule"]]}}
                if f["rule"] in rule_index else {})}
            for f in errors
        ],
    }
    if not invocation["toolExecutionNotifications"]:
        del invocation["toolExecutionNotifications"]
    tool = result["tool"]
    run = {
        "tool": {"driver": {
            "name": tool["name"], "version": tool["version"], "semanticVersion": tool["version"],
            "rules": [_rule(m, disabled) for m in rules],
        }},
        "originalUriBaseIds": {SRCROOT: {"description": {
            "text": "The directory netpol-audit was run from: relative manifest paths are relative to it."}}},
        "invocations": [invocation],
        "results": (_result(f, rule_index) for f in reported) if lazy else [_result(f, rule_index) for f in reported],
        "properties": {
            "schemaVersion": result["schema_version"],
            "result": result["summary"]["result"],
            "failOn": result["summary"]["fail_on"],
            "gatingFindings": result["summary"]["gating_findings"],
            "catalogDigest": run_info["catalog_digest"],
            "coverageComplete": result["coverage"]["complete"],
            "coverageStatement": result["coverage"]["statement"],
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
