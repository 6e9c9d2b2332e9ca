"""The auditor report's view model: turns the canonical scan result into what the report templates need
(grouping, ordering, the posture grade, limitations, caps), so the templates only lay things out.

Owns every judgement the report makes on top of the result (the grade and its inputs, which risks come
first, how many rows a format may show). It must not consult the engine, the cluster or the file system:
`report --from result.json` must give the same report as the scan that wrote the result. Every string here
is still untrusted text (names, labels and messages come from the cluster); escaping is the templates' job.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.errors import InputError
from scanner.findings import SEVERITIES, SEVERITY_RANK, STATUSES

JSON_ATTACHMENT = "netpol-audit.json"
TIMES = "\u00d7"  # the multiplication sign of "Calico policy x 3" and the grade formulas


@dataclass(frozen=True, slots=True)
class Limits:
    """How much detail one output format shows; the JSON result always carries everything."""

    detail_rows: int  # failing findings listed per rule
    detail_budget: int  # failing findings listed in all rule sections together
    detail_floor: int  # rows a rule keeps even when the budget is spent
    namespace_groups: int  # namespace groups listed per rule
    system_rows: int  # findings listed per rule in the system-namespace section
    system_budget: int  # findings listed in the system-namespace section together
    waived_rows: int
    inventory_namespaces: int
    inventory_policies: int
    heatmap_namespaces: int
    bar_namespaces: int
    list_items: int  # items of one evidence list
    text_chars: int  # characters of one evidence value
    message_chars: int  # characters of one finding message
    evidence_chars: int  # characters of one finding's evidence, all keys together
    policy_rules: int  # rules of a policy excerpt
    not_evaluated: int  # unmodelled policy objects listed in the limitations
    pdf: bool
    change_rows: int = 200  # rows of one table of "Changes since last scan"


HTML_LIMITS = Limits(detail_rows=250, detail_budget=5000, detail_floor=25, namespace_groups=200, system_rows=100,
                     system_budget=1000, waived_rows=1000, inventory_namespaces=2000, inventory_policies=3000,
                     heatmap_namespaces=60, bar_namespaces=60, list_items=40, text_chars=2000, message_chars=4000,
                     evidence_chars=20000, policy_rules=20, not_evaluated=200, pdf=False)
# The PDF budget: about 40 pages of findings at most (WeasyPrint lays out about 2 pages a second), whatever the
# cluster size; the most severe rules get their rows first, every rule keeps a few.
PDF_LIMITS = Limits(detail_rows=25, detail_budget=120, detail_floor=2, namespace_groups=10, system_rows=3,
                    system_budget=30, waived_rows=25, inventory_namespaces=40, inventory_policies=40,
                    heatmap_namespaces=40, bar_namespaces=30, list_items=6, text_chars=300, message_chars=1000,
                    evidence_chars=600, policy_rules=5, not_evaluated=30, pdf=True, change_rows=25)

STATUS_LABEL = {"PASS": "PASS", "FAIL": "FAIL", "ERROR": "ERROR", "NOT_ASSESSED": "NOT ASSESSED",
                "WAIVED": "WAIVED", "NOT_APPLICABLE": "NOT APPLICABLE"}

# --- the posture grade ------------------------------------------------------------------------------------
# Points lost per failed finding grow with the logarithm of the count, so ten failures of a kind weigh more
# than one but a large cluster is not failed for its size alone.
GRADE_WEIGHTS = {"critical": 12.0, "high": 6.0, "medium": 3.0, "low": 1.0, "info": 0.0}
ISOLATION_WEIGHTS = {"ingress": 20.0, "egress": 10.0}  # points lost if no pod is isolated in that direction
GRADE_BANDS = (("A", 90), ("B", 75), ("C", 60), ("D", 45), ("F", 0))
CRITICAL_CAP = "C"  # an open critical finding caps the grade here
INERT_RULE = "NP030"  # the network plugin enforces no NetworkPolicy: every policy-based verdict is moot

_ANCHOR_BAD = re.compile(r"[^A-Za-z0-9_.-]")
_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                   "ReplicationController"}


def anchor(prefix: str, value: str) -> str:
    """A fragment id safe in any attribute and URL: only [A-Za-z0-9_.-] survive."""
    return f"{prefix}-{_ANCHOR_BAD.sub('_', str(value))[:80]}"


def short(text: Any, limit: int) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: max(limit - 1, 1)] + "…"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _sev_rank(sev: str) -> int:
    return SEVERITY_RANK.get(sev, len(SEVERITIES))


def _ns_of(subject: Mapping[str, Any]) -> str:
    if subject.get("namespace"):
        return str(subject["namespace"])
    if subject.get("kind") == "Namespace":
        return str(subject.get("name"))
    return ""


def subject_text(subject: Mapping[str, Any]) -> str:
    ns = subject.get("namespace")
    return f"{subject.get('kind')} {ns + '/' if ns else ''}{subject.get('name')}"


def _location(loc: Mapping[str, Any] | None) -> str:
    if not loc:
        return ""
    out = str(loc.get("file") or "")
    if loc.get("line"):
        out += f":{loc['line']}"
    if loc.get("document") and not loc.get("line"):
        out += f" (document {loc['document']})"
    return out


def _human_key(key: str) -> str:
    return str(key).replace("_", " ")


def evidence_text(value: Any, limits: Limits, depth: int = 0) -> str:
    """A readable one-paragraph rendering of an evidence value (lists joined, mappings as `key: value`)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int) else str(value)
    if isinstance(value, str):
        return short(value, limits.text_chars)
    if depth > 3:
        return "…"
    if isinstance(value, Mapping):
        if not value:
            return "none"
        items = list(value.items())
        parts = [f"{_human_key(k)}: {evidence_text(v, limits, depth + 1)}" for k, v in items[: limits.list_items]]
        if len(items) > limits.list_items:
            parts.append(f"… {len(items) - limits.list_items:,} more")
        return short("; ".join(parts), limits.text_chars)
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        parts = [evidence_text(v, limits, depth + 1) for v in value[: limits.list_items]]
        if len(value) > limits.list_items:
            parts.append(f"… {len(value) - limits.list_items:,} more")
        return short(", ".join(parts), limits.text_chars)
    return short(value, limits.text_chars)


def evidence_items(evidence: Mapping[str, Any] | None, limits: Limits) -> list[dict[str, Any]]:
    """One entry per evidence key: `value` text for a scalar, `items` (a bullet each) for a list or mapping."""
    if not evidence:
        return []
    keys = sorted(evidence, key=str)
    out: list[dict[str, Any]] = []
    budget = limits.evidence_chars
    for n, k in enumerate(keys[: limits.list_items]):
        if budget <= 0:
            out.append({"key": "…", "value": f"{len(keys) - n:,} more evidence item(s) in the JSON result",
                        "items": []})
            return out
        v = evidence[k]
        items: list[str] = []
        rest = 0
        # Short values stay on one line; lists of structures and long mappings get a bullet per item.
        if isinstance(v, Mapping) and v and len(evidence_text(v, limits)) > 100:
            items = [f"{_human_key(a)}: {evidence_text(b, limits, 1)}" for a, b in list(v.items())[: limits.list_items]]
            rest = len(v) - len(items)
        elif isinstance(v, list | tuple) and v and any(isinstance(x, Mapping | list | tuple) for x in v):
            items = [evidence_text(x, limits, 1) for x in v[: limits.list_items]]
            rest = len(v) - len(items)
        if items:
            kept: list[str] = []
            for item in items:
                if budget <= 0:
                    break
                kept.append(short(item, max(budget, 40)))
                budget -= len(kept[-1])
            rest += len(items) - len(kept)
            if rest > 0:
                kept.append(f"… {rest:,} more in the JSON result")
            out.append({"key": _human_key(k), "value": "", "items": kept})
        else:
            text = short(evidence_text(v, limits), max(budget, 40))
            budget -= len(text)
            out.append({"key": _human_key(k), "value": text, "items": []})
    if len(keys) > limits.list_items:
        out.append({"key": "…", "value": f"{len(keys) - limits.list_items:,} more items in the JSON result",
                    "items": []})
    return out


# --- cover ---------------------------------------------------------------------------------------------------


def identity(run: Mapping[str, Any]) -> dict[str, Any]:
    """What was scanned: a cluster or context name for live input, else the input paths."""
    inp = run.get("input") or {}
    name = ""
    for key in ("cluster", "context", "server"):
        if isinstance(inp.get(key), str) and inp[key]:
            name = inp[key]
            break
    inputs = [str(x) for x in inp.get("inputs") or []]
    if not name:
        name = ", ".join(inputs[:3]) + (f" and {len(inputs) - 3} more" if len(inputs) > 3 else "") if inputs \
            else "unnamed input"
    extra = [{"key": _human_key(k), "value": evidence_text(v, HTML_LIMITS)} for k, v in sorted(inp.items())
             if k not in ("inputs", "snapshot_sha256", "type")]
    return {"name": name, "short": short(name, 70), "type": str(inp.get("type") or "unknown"),
            "inputs": inputs, "snapshots": [str(s) for s in inp.get("snapshot_sha256") or []], "extra": extra}


def _scan_time(run: Mapping[str, Any]) -> dict[str, str]:
    started = str(run.get("started_at") or "")
    finished = str(run.get("finished_at") or "")

    def pretty(t: str) -> str:
        return t.replace("T", " ").replace("Z", " UTC") if t else "unknown"

    iso = started if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", started) else ""
    return {"date": started[:10] or "unknown", "started": pretty(started), "finished": pretty(finished),
            "iso": iso}


def _scope(run: Mapping[str, Any]) -> dict[str, Any]:
    config = run.get("config") or {}
    scope = config.get("scope")
    ns = run.get("namespaces") or {}
    return {
        "compliance": None if not scope else {
            "name": str(scope.get("name") or "compliance scope"),
            "namespace_selector": scope.get("namespaceSelector"),
            "pod_selector": scope.get("podSelector")},
        "included": [str(x) for x in ns.get("included") or []],
        "excluded": [str(x) for x in ns.get("excluded") or []],
        "system": [str(x) for x in config.get("system_namespaces") or []],
        "config_path": config.get("path"),
    }


def _fw_title(fw: Mapping[str, Any]) -> str:
    title = f"{fw['title']} {fw['version']}".strip()
    return f"Threat view: {title}" if fw.get("threat_view") else title


def _signoff(fw: Mapping[str, Any]) -> dict[str, Any]:
    by, on = fw.get("reviewed_by") or "", fw.get("reviewed_on") or ""
    if by and on:
        state = f"reviewed by {by} on {on}"
    elif by or on:
        state = f"partly signed ({'by ' + by if by else 'on ' + on}): not yet reviewed"
    else:
        state = "not yet reviewed"
    return {"signed_off": bool(by and on), "state": state}


# --- executive summary -----------------------------------------------------------------------------------


def grade(summary: Mapping[str, Any], plugin_inert: bool) -> dict[str, Any]:
    """Posture grade A-F from the failed findings (weighted by severity) and the isolation shares."""
    failed = summary.get("failed_by_severity") or {}
    inputs = []
    lost = 0.0
    for sev in SEVERITIES:
        n = int(failed.get(sev, 0))
        pts = GRADE_WEIGHTS[sev] * math.log2(1 + n)
        lost += pts
        inputs.append({"label": f"{sev.capitalize()} failed findings", "value": f"{n:,}",
                       "formula": f"{GRADE_WEIGHTS[sev]:g} {TIMES} log2(1 + {n:,})", "points": round(pts, 1)})
    iso = summary.get("isolation") or {}
    pods = int(iso.get("pods", 0))
    for direction, weight in ISOLATION_WEIGHTS.items():
        isolated = int(iso.get(f"{direction}_isolated", 0))
        share = isolated / pods if pods else 1.0
        pts = weight * (1 - share)
        lost += pts
        inputs.append({"label": f"Pods not isolated for {direction}",
                       "value": f"{pods - isolated:,} of {pods:,}" if pods else "no pods",
                       "formula": f"{weight:g} {TIMES} {1 - share:.0%} not isolated", "points": round(pts, 1)})
    score = max(0.0, round(100 - lost, 1))
    letter = next(g for g, floor in GRADE_BANDS if score >= floor)
    caps = []
    if int(failed.get("critical", 0)) and letter < CRITICAL_CAP:
        letter = CRITICAL_CAP
        caps.append(f"an open critical finding caps the grade at {CRITICAL_CAP}")
    if plugin_inert:
        letter = "F"
        caps.append("the network plugin does not enforce NetworkPolicy (NP030): no policy is in force, grade F")
    incomplete = summary.get("result") == "incomplete"
    return {"letter": letter, "score": score, "lost": round(lost, 1), "inputs": inputs, "caps": caps,
            "bands": [{"letter": g, "floor": f} for g, f in GRADE_BANDS], "provisional": incomplete,
            "weights": [{"name": k, "weight": f"{v:g}"} for k, v in GRADE_WEIGHTS.items()],
            "isolation_weights": [{"name": k, "weight": f"{v:g}"} for k, v in ISOLATION_WEIGHTS.items()]}


def _kind_noun(kinds: Counter[str]) -> str:
    nouns: Counter[str] = Counter()
    for kind, n in kinds.items():
        if kind == "Namespace":
            nouns["namespace"] += n
        elif kind == "NetworkPolicy":
            nouns["policy"] += n
        elif kind == "Pod":
            nouns["pod"] += n
        elif kind in _WORKLOAD_KINDS:
            nouns["workload"] += n
        elif kind == "Cluster":
            nouns["cluster-wide check"] += n
        else:
            nouns[kind.lower() if kind.isalpha() and len(kind) < 30 else "object"] += n
    parts = []
    for noun, n in sorted(nouns.items(), key=lambda kv: (-kv[1], kv[0])):
        many = "policies" if noun == "policy" else noun + "s"
        parts.append(plural(n, noun, many))
    return " and ".join(parts) if len(parts) <= 2 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _names(values: Iterable[str], limit: int = 3, chars: int = 40) -> str:
    vals = sorted(set(values))
    shown = [short(v or "cluster-wide", chars) for v in vals[:limit]]
    if len(vals) > limit:
        return ", ".join(shown) + f" and {len(vals) - limit:,} more"
    return " and ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + " and " + shown[-1]


def top_risks(findings: list[dict[str, Any]], rules: Mapping[str, Mapping[str, Any]], limit: int = 10
              ) -> tuple[list[dict[str, Any]], int]:
    """Failing and errored findings grouped by rule, most important first: errors (unknown state), then a
    network plugin that enforces nothing (every other verdict depends on it), then by worst severity, then by
    how many subjects are affected."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        if f["status"] in ("FAIL", "ERROR") and (f["status"] == "ERROR" or f["severity"] != "info"):
            groups[f["rule"]].append(f)
    risks = []
    for rid, fs in groups.items():
        errored = any(f["status"] == "ERROR" for f in fs)
        fails = [f for f in fs if f["status"] == "FAIL"]
        worst = min((f["severity"] for f in fails), key=_sev_rank, default="info")
        meta = rules.get(rid, {})
        title = str(meta.get("title") or (fs[0].get("title") if fs else rid))
        spaces = [_ns_of(f["subject"]) for f in fails]
        system = sum(1 for f in fails if f.get("system"))
        if errored and not fails:
            sentence = f"{title}: the check could not be evaluated, so its requirements are reported as ERROR."
            count_text = "not evaluated"
        else:
            where = [s for s in spaces if s]
            count_text = _kind_noun(Counter(f["subject"]["kind"] for f in fails))
            detail = [_names(where)] if where else []
            if system:
                detail.append(f"{system:,} in system namespaces")
            sentence = f"{title}: {count_text} affected" + (f" ({'; '.join(detail)})" if detail else "") + "."
        risks.append({"rule": rid, "anchor": anchor("rule", rid), "title": title, "severity": worst,
                      "errored": errored, "count": len(fails), "count_text": count_text, "sentence": sentence,
                      "_key": (0 if errored else 1 if rid == INERT_RULE and fails else 2, _sev_rank(worst),
                               -len(fails), rid)})
    risks.sort(key=lambda r: r["_key"])
    for r in risks:
        del r["_key"]
    return risks[:limit], max(0, len(risks) - limit)


def _isolation(summary: Mapping[str, Any], inventory: Mapping[str, Any]) -> dict[str, Any]:
    iso = summary.get("isolation") or {}
    pods = int(iso.get("pods", 0))
    ing, eg = int(iso.get("ingress_isolated", 0)), int(iso.get("egress_isolated", 0))
    host = sum(int(n.get("host_network", 0)) for n in inventory.get("namespaces") or [])
    return {"pods": pods, "ingress": ing, "egress": eg, "ingress_pct": percent(ing, pods),
            "egress_pct": percent(eg, pods), "host_network": host,
            "namespaces": int(iso.get("namespaces", 0)), "policies": int(iso.get("policies", 0)),
            "invalid_policies": int(iso.get("invalid_policies", 0))}


# --- limitations ------------------------------------------------------------------------------------------


def limitations(result: Mapping[str, Any], limits: Limits) -> list[dict[str, Any]]:
    cov = result.get("coverage") or {}
    findings = result.get("findings") or []
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        by_rule[f["rule"]].append(f)

    def failing(rule: str) -> list[dict[str, Any]]:
        return [f for f in by_rule.get(rule, []) if f["status"] in ("FAIL", "WAIVED")]

    out: list[dict[str, Any]] = []
    plugin = cov.get("network_plugin") or {}
    lines = [f"Evidence: {e}" for e in plugin.get("evidence") or []][: limits.list_items]
    if failing("NP030"):
        level, text = "critical", (f"The network plugin {plugin.get('name') or ''} does not enforce NetworkPolicy "
                                   "(NP030): every policy in this report is inert, and every requirement that "
                                   "passes on policies is marked \"not effective\".")
    elif not plugin.get("name") or failing("NP031"):
        level, text = "warning", ("The network plugin could not be identified from the input (NP031): whether "
                                  "the policies are enforced at all is not evidenced. CIS 5.3.1 stays a manual "
                                  "check; confirm the CNI and its policy mode with the platform team.")
    elif plugin.get("enforces") is False:
        level, text = "critical", f"The network plugin {plugin['name']} is not known to enforce NetworkPolicy."
    elif plugin.get("enforces") is None:
        level, text = "warning", (f"The network plugin {plugin['name']} was identified, but whether it enforces "
                                  "NetworkPolicy in this configuration is unknown.")
    else:
        level, text = "info", (f"Network plugin: {plugin['name']}, which enforces NetworkPolicy. This is "
                               "configuration evidence; the scan does not send traffic to confirm enforcement.")
    out.append({"title": "Network plugin enforcement", "level": level, "text": text, "lines": lines})

    unmodelled = list(cov.get("not_evaluated_policies") or [])
    np034 = failing("NP034")
    if unmodelled or np034:
        kinds = Counter(str(o.get("kind")) for o in unmodelled)
        text = ("Policy objects of kinds the analysis does not model are present "
                f"({', '.join(f'{k} {TIMES}{n:,}' for k, n in sorted(kinds.items())) or 'see NP034'}): reachability "
                "verdicts for the pods they select may differ from what the cluster enforces (NP034).")
        lines = [f"{o.get('kind')} {(str(o['namespace']) + '/') if o.get('namespace') else ''}{o.get('name')}"
                 for o in unmodelled[: limits.not_evaluated]]
        if len(unmodelled) > limits.not_evaluated:
            lines.append(f"… {len(unmodelled) - limits.not_evaluated:,} more in the JSON result "
                         "(coverage.not_evaluated_policies)")
        out.append({"title": "Policy kinds not evaluated", "level": "warning", "text": text, "lines": lines})
    else:
        out.append({"title": "Policy kinds not evaluated", "level": "info", "lines": [],
                    "text": "The input holds no AdminNetworkPolicy, BaselineAdminNetworkPolicy, Calico or Cilium "
                            "policy objects: every policy found was evaluated."})

    problems = list(cov.get("collection_problems") or [])
    if not cov.get("complete", True) or failing("NP035") or problems:
        lines = [evidence_text(p, limits) for p in problems[: limits.not_evaluated]]
        out.append({"title": "Incomplete collection", "level": "critical", "lines": lines,
                    "text": "Part of the cluster could not be read (NP035): no requirement can pass on this "
                            "input, and verdicts that depend on the missing objects are reported as ERROR."})
    else:
        out.append({"title": "Collection", "level": "info", "lines": [],
                    "text": "The input was read completely: no kind or namespace is missing."})

    excluded = [str(x) for x in cov.get("excluded_namespaces") or []]
    run_ns = (result.get("run") or {}).get("namespaces") or {}
    included = [str(x) for x in run_ns.get("included") or []]
    if excluded or included:
        lines = []
        if included:
            lines.append("Only these namespaces were reported: " + ", ".join(included))
        if excluded:
            lines.append("Excluded namespace patterns: " + ", ".join(excluded))
        out.append({"title": "Namespaces left out", "level": "warning", "lines": lines,
                    "text": "Findings for the namespaces left out are not in this report; requirements are "
                            "judged on the namespaces reported only."})
    else:
        system = ((result.get("run") or {}).get("config") or {}).get("system_namespaces") or []
        out.append({"title": "Namespaces left out", "level": "info", "lines": [],
                    "text": "No namespace was excluded. System namespaces "
                            f"({', '.join(str(s) for s in system) or 'none configured'}) are scanned and reported "
                            "in their own section."})

    summary = result.get("summary") or {}
    errored = list((summary.get("rules") or {}).get("errored") or [])
    disabled = list(cov.get("rules_disabled") or [])
    if errored or disabled:
        lines = []
        if errored:
            lines.append("Rules that could not be evaluated (ERROR): " + ", ".join(errored))
        if disabled:
            lines.append("Rules disabled or deprecated in this run: " + ", ".join(disabled))
        out.append({"title": "Rules not evaluated", "level": "warning" if errored else "info", "lines": lines,
                    "text": "Requirements resting only on these rules are ERROR or NOT ASSESSED, never PASS."})

    invalid = list((result.get("inventory") or {}).get("invalid_policies") or [])
    if invalid:
        lines = [f"{p.get('namespace')}/{p.get('name')}: "
                 + "; ".join(f"{x.get('field')}: {x.get('reason')}" for x in p.get("problems") or [])
                 for p in invalid[: limits.not_evaluated]]
        if len(invalid) > limits.not_evaluated:
            lines.append(f"… {len(invalid) - limits.not_evaluated:,} more in the JSON result")
        out.append({"title": "Invalid policies left out", "level": "warning", "lines": lines,
                    "text": "These NetworkPolicies would be rejected by the API server; they are left out of "
                            "the analysis (NP026)."})

    skipped = cov.get("skipped_kinds") or {}
    if skipped:
        out.append({"title": "Objects not analysed", "level": "info", "lines": [],
                    "text": "Objects of these kinds were read but play no part in NetworkPolicy analysis: "
                            + ", ".join(f"{k} {TIMES}{n:,}" for k, n in sorted(skipped.items())) + "."})
    return out


# --- frameworks -------------------------------------------------------------------------------------------


def frameworks(result: Mapping[str, Any], rule_sections: set[str], catalog_ids: set[str]
               ) -> list[dict[str, Any]]:
    by_id = {f["id"]: f for f in result.get("findings") or []}
    states: dict[str, Counter[str]] = defaultdict(Counter)
    for f in result.get("findings") or []:
        states[f["rule"]][f["status"]] += 1
    evaluated = set((result.get("coverage") or {}).get("rules_evaluated") or [])

    def state(rid: str) -> str:
        c = states.get(rid, Counter())
        if c["ERROR"]:
            return "error"
        if c["FAIL"]:  # failing findings a requirement does not count: info-level observations
            return "info-level findings"
        if c["PASS"]:
            return "passed"
        if c["NOT_APPLICABLE"]:
            return "not applicable"
        return "not evaluated" if rid not in evaluated else "no subject"

    out = []
    for fw in result.get("frameworks") or []:
        rows = []
        pci = str(fw.get("id", "")).startswith("pci")
        for req in fw.get("requirements") or []:
            per_rule: Counter[str] = Counter(by_id[i]["rule"] for i in req.get("findings") or [] if i in by_id)
            waived: Counter[str] = Counter(by_id[i]["rule"] for i in req.get("waived_findings") or []
                                           if i in by_id)
            rules = []
            for rid in req.get("rules") or []:
                target = anchor("rule", rid) if rid in rule_sections else (
                    anchor("cat", rid) if rid in catalog_ids else None)
                rules.append({"id": rid, "href": target, "failing": per_rule.get(rid, 0),
                              "waived": waived.get(rid, 0), "state": state(rid)})
            notes = [str(req["note"]).strip()] if req.get("note") else []
            if pci and req.get("id") == "11.4.5" and not any("penetration test" in n for n in notes):
                notes.append("This scan is supporting evidence only: PCI DSS 11.4.5 still requires a "
                             "penetration test of the segmentation controls.")
            status = str(req.get("status"))
            rows.append({"id": req.get("id"), "title": req.get("title"), "status": status,
                         "status_label": STATUS_LABEL.get(status, status),
                         "not_effective": not req.get("effective", True), "strength": req.get("strength"),
                         "level": req.get("level") or "", "rationale": req.get("rationale") or "",
                         "reason": req.get("reason") or "", "notes": notes, "rules": rules,
                         "failing": len(req.get("findings") or []),
                         "waived": len(req.get("waived_findings") or []),
                         "observations": len(req.get("observations") or [])})
        counts = fw.get("counts") or {}
        out.append({"id": fw.get("id"), "anchor": anchor("fw", str(fw.get("id"))), "title": _fw_title(fw),
                    "threat_view": bool(fw.get("threat_view")), "description": str(fw.get("description") or "")
                    .strip(), **_signoff(fw), "reviewed_by": fw.get("reviewed_by") or "",
                    "reviewed_on": fw.get("reviewed_on") or "", "score": fw.get("score"),
                    "coverage": fw.get("coverage"),
                    "counts": [{"status": s, "label": STATUS_LABEL[s], "n": int(counts.get(s, 0))}
                               for s in ("PASS", "FAIL", "ERROR", "NOT_ASSESSED")],
                    "requirements": rows})
    return out


# --- findings ---------------------------------------------------------------------------------------------


def _policy_index(inventory: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(p.get("namespace")), str(p.get("name"))): p for p in inventory.get("policies") or []}


def policy_excerpt(policy: Mapping[str, Any], limits: Limits, field: str | None = None) -> dict[str, Any]:
    types = ", ".join(policy.get("policy_types") or []) or "none"
    if not policy.get("policy_types_explicit", True):
        types += " (policyTypes omitted: defaulted)"
    rules = []
    for direction in ("ingress", "egress"):
        for r in policy.get(direction) or []:
            peers = r.get("peers")
            ports = r.get("ports")
            rules.append({
                "field": str(r.get("field") or direction),
                "direction": direction,
                "peers": "any peer" if peers is None else (
                    "; ".join(short(p, limits.text_chars) for p in peers[: limits.list_items])
                    + (f"; … {len(peers) - limits.list_items} more" if len(peers) > limits.list_items else "")
                    if peers else "no peer"),
                "ports": "all ports" if ports is None else (", ".join(str(p) for p in ports[: limits.list_items])
                                                            or "no port"),
                "highlight": bool(field) and str(field).startswith(str(r.get("field") or "\0")),
            })
    shown = rules[: limits.policy_rules]
    return {"name": f"{policy.get('namespace')}/{policy.get('name')}",
            "pod_selector": short(policy.get("pod_selector") or "{}", limits.text_chars), "types": types,
            "selected": policy.get("selected"), "location": _location(policy.get("location")), "rules": shown,
            "more_rules": len(rules) - len(shown)}


def _row(f: Mapping[str, Any], limits: Limits, policies: Mapping[tuple[str, str], dict[str, Any]],
         invalid: Mapping[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    s = f["subject"]
    excerpt = None
    problems: list[str] = []
    if s.get("kind") == "NetworkPolicy":
        key = (str(s.get("namespace")), str(s.get("name")))
        ev = f.get("evidence") or {}
        if key in policies:
            excerpt = policy_excerpt(policies[key], limits, ev.get("field") if isinstance(ev.get("field"), str)
                                     else None)
        elif key in invalid:
            problems = [f"{x.get('field')}: {x.get('reason')}" for x in invalid[key].get("problems") or []]
    waiver = f.get("waiver") or None
    return {"id": f["id"], "anchor": anchor("f", f["id"]), "status": f["status"],
            "status_label": STATUS_LABEL.get(f["status"], f["status"]), "severity": f["severity"],
            "overridden": bool(f.get("severity_overridden")), "kind": s.get("kind"),
            "namespace": _ns_of(s), "name": short(s.get("name"), limits.text_chars),
            "subject": short(subject_text(s), limits.text_chars),
            "message": short(f.get("message") or "", limits.message_chars), "location": _location(f.get("location")),
            "evidence": evidence_items(f.get("evidence"), limits), "policy": excerpt, "problems": problems,
            "waiver": None if not waiver else {
                "reason": short(waiver.get("reason") or "", limits.text_chars), "owner": waiver.get("owner"),
                "expires": waiver.get("expires"), "index": waiver.get("index")}}


def _ns_groups(fs: list[dict[str, Any]], cap: int) -> tuple[list[dict[str, Any]], int]:
    counts = Counter(_ns_of(f["subject"]) for f in fs)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ([{"name": short(k, 80) if k else "cluster-wide", "count": v} for k, v in ordered[:cap]],
            max(0, len(ordered) - cap))


def _rule_meta(rules: Mapping[str, Mapping[str, Any]], rid: str, fallback: Mapping[str, Any]) -> dict[str, Any]:
    m = rules.get(rid) or {}
    return {"id": rid, "title": m.get("title") or fallback.get("title") or rid,
            "slug": m.get("slug") or fallback.get("slug") or "", "rationale": m.get("rationale") or "",
            "remediation": m.get("remediation") or "", "example": m.get("remediation_example") or "",
            "category": m.get("category") or "", "default_severity": m.get("severity") or ""}


def rule_groups(findings: list[dict[str, Any]], rules: Mapping[str, Mapping[str, Any]],
                inventory: Mapping[str, Any], limits: Limits, system: bool) -> list[dict[str, Any]]:
    """Failing and errored findings (not waived) by rule, worst severity first; rows capped per rule and in
    total, the namespace summary complete up to its own cap."""
    policies = _policy_index(inventory)
    invalid = {(str(p.get("namespace")), str(p.get("name"))): p for p in inventory.get("invalid_policies") or []}
    passed: Counter[str] = Counter(f["rule"] for f in findings if f["status"] == "PASS")
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        if f["status"] in ("FAIL", "ERROR") and bool(f.get("system")) == system:
            by_rule[f["rule"]].append(f)

    def key(rid: str) -> tuple[int, int, str]:
        fs = by_rule[rid]
        worst = min((_sev_rank(f["severity"]) for f in fs if f["status"] == "FAIL"), default=len(SEVERITIES))
        return (0 if any(f["status"] == "ERROR" for f in fs) else 1, worst, rid)

    out = []
    budget = limits.system_budget if system else limits.detail_budget
    per_rule = limits.system_rows if system else limits.detail_rows
    floor = 1 if system else limits.detail_floor
    for rid in sorted(by_rule, key=key):
        fs = sorted(by_rule[rid], key=lambda f: (f["status"] != "ERROR", _sev_rank(f["severity"]),
                                                 _ns_of(f["subject"]), f["subject"]["kind"],
                                                 f["subject"]["name"], f["id"]))
        cap = max(floor, min(per_rule, budget))
        shown = fs[:cap]
        budget = max(0, budget - len(shown))
        rows_by_ns: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in shown:
            rows_by_ns[_ns_of(f["subject"])].append(_row(f, limits, policies, invalid))
        ns_total = Counter(_ns_of(f["subject"]) for f in fs)
        blocks = [{"namespace": ns or "cluster-wide", "total": ns_total[ns], "rows": rows}
                  for ns, rows in sorted(rows_by_ns.items(), key=lambda kv: kv[0])]
        groups, more_groups = _ns_groups(fs, limits.namespace_groups)
        fails = [f for f in fs if f["status"] == "FAIL"]
        worst = min((f["severity"] for f in fails), key=_sev_rank, default="info")
        sev_counts = Counter(f["severity"] for f in fails)
        out.append({**_rule_meta(rules, rid, fs[0]),
                    "anchor": anchor("sysrule" if system else "rule", rid), "catalog_anchor": anchor("cat", rid),
                    "severity": worst, "errored": any(f["status"] == "ERROR" for f in fs),
                    "failing": len(fails), "errors": len(fs) - len(fails), "passed": passed.get(rid, 0),
                    "severities": [{"name": s, "n": sev_counts[s]} for s in SEVERITIES if sev_counts[s]],
                    "total": len(fs), "shown": len(shown), "hidden": len(fs) - len(shown),
                    "namespaces": groups, "more_namespaces": more_groups, "namespace_count": len(ns_total),
                    "blocks": blocks})
    return out


def waived_findings(findings: list[dict[str, Any]], limits: Limits) -> dict[str, Any]:
    ws = [f for f in findings if f["status"] == "WAIVED"]
    rows = [_row(f, limits, {}, {}) | {"rule": f["rule"], "rule_anchor": anchor("cat", f["rule"])}
            for f in ws[: limits.waived_rows]]
    return {"rows": rows, "total": len(ws), "hidden": max(0, len(ws) - limits.waived_rows)}


# --- segmentation evidence (NP038) ----------------------------------------------------------------------------

SEGMENTATION_RULE = "NP038"
SEGMENTATION_DISCLAIMER = ("This evidence is derived from the declared policies; it supports, but does not replace, a "
                           "penetration test of the segmentation controls (PCI DSS 11.4.5).")


def _seg_ports(value: Any) -> str:
    return "any port" if value == "any" or not isinstance(value, Mapping) else ports_text(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def segmentation(findings: list[dict[str, Any]], limits: Limits) -> dict[str, Any] | None:
    """The segmentation requirements of `scan --requirements` (NP038 results) with what each asserts, its status
    and the flows that break it; None when the scan had no requirement file."""
    rows = []
    for f in findings:
        if f.get("rule") != SEGMENTATION_RULE or f.get("status") == "NOT_APPLICABLE":
            continue
        ev = _mapping(f.get("evidence"))
        req = _mapping(ev.get("requirement"))
        deny = req.get("type") == "deny"
        flows = [x for x in _list(ev.get("flows" if deny else "blocked")) if isinstance(x, Mapping)]
        total = ev.get("flows_total" if deny else "blocked_total")
        policies = _list(ev.get("policies"))
        rows.append({
            "id": short(_mapping(f.get("subject")).get("name"), 120), "anchor": anchor("seg", f.get("id", "")),
            "status": f["status"], "status_label": STATUS_LABEL.get(f["status"], f["status"]),
            "type": "deny" if deny else ("allow" if req.get("type") == "allow" else ""),
            "source": short(req.get("from") or "", limits.text_chars),
            "destination": short(req.get("to") or "", limits.text_chars),
            "ports": "some port" if req.get("ports") == "any" and not deny else _seg_ports(req.get("ports")),
            "description": short(req.get("description") or "", limits.text_chars),
            "defined_at": short(req.get("defined_at") or "", 300),
            "message": short(f.get("message") or "", limits.message_chars),
            "flows": [{"from": short(x.get("from") or "", 300), "to": short(x.get("to") or "", 300),
                       "ports": _seg_ports(x.get("ports") if deny else x.get("missing_ports")),
                       "policies": short(", ".join(str(p) for p in _list(x.get("policies"))), limits.text_chars),
                       "note": short(x.get("node_local") or "", limits.text_chars)}
                      for x in flows[: limits.list_items]],
            "flows_total": int(total) if isinstance(total, int) and not isinstance(total, bool) else len(flows),
            "policies": [short(p, 300) for p in policies[: limits.list_items]],
        })
    if not rows:
        return None
    rows.sort(key=lambda r: (r["status"] not in ("FAIL", "ERROR"), r["id"]))
    counts = Counter(r["status"] for r in rows)
    return {"requirements": rows, "disclaimer": SEGMENTATION_DISCLAIMER,
            "counts": [{"status": s, "label": STATUS_LABEL.get(s, s), "n": counts[s]}
                       for s in ("FAIL", "ERROR", "WAIVED", "PASS") if counts[s]]}


# --- waivers, remediation, inventory, catalog ------------------------------------------------------------


def waiver_register(result: Mapping[str, Any], limits: Limits) -> list[dict[str, Any]]:
    out = []
    for w in result.get("waivers") or []:
        out.append({"index": w.get("index"), "rule": w.get("rule"), "subject": short(w.get("subject"), 300),
                    "reason": short(w.get("reason") or "", limits.text_chars), "owner": w.get("owner") or "",
                    "expires": w.get("expires") or "", "status": str(w.get("status") or "unknown"),
                    "matched": int(w.get("matched") or 0), "line": w.get("line")})
    return out


def remediation(result: Mapping[str, Any], limits: Limits) -> dict[str, Any] | None:
    rem = result.get("remediation")
    if not rem:
        return None
    impact = list(rem.get("impact") or [])
    verified = rem.get("verified") or {}
    return {"directory": rem.get("directory"), "files": list(rem.get("files") or []),
            "namespaces": list(rem.get("namespaces") or []), "skipped": list(rem.get("skipped") or []),
            "fixed": verified.get("np002_np003_fixed"), "still_failing": list(verified.get("still_failing") or []),
            "new_np007": list(verified.get("new_np007") or []),
            "impact": [{"from": i.get("from"), "to": i.get("to"), "removed": ports_text(i.get("removed") or {}),
                        "remaining": ports_text(i.get("remaining") or {})}
                       for i in impact[: limits.inventory_namespaces]],
            "impact_hidden": max(0, len(impact) - limits.inventory_namespaces)}


def ports_text(ports: Mapping[str, Any]) -> str:
    if not ports:
        return "none"
    if all(ports.get(p) == "all" for p in ("TCP", "UDP", "SCTP")):
        return "all ports"
    return "; ".join(f"{proto} {spec if isinstance(spec, str) else ', '.join(str(x) for x in spec)}"
                     for proto, spec in sorted(ports.items()))


def inventory(result: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    inv = result.get("inventory") or {}
    nss = sorted(inv.get("namespaces") or [], key=lambda n: (bool(n.get("system")), str(n.get("name"))))
    ns_rows = [{"name": n.get("name"), "system": bool(n.get("system")), "defined": n.get("defined", True),
                "labels": [f"{k}={short(v, 120)}" for k, v in list((n.get("labels") or {}).items())[:12]],
                "more_labels": max(0, len(n.get("labels") or {}) - 12), "pods": int(n.get("pods", 0)),
                "ingress": int(n.get("ingress_isolated", 0)), "egress": int(n.get("egress_isolated", 0)),
                "host_network": int(n.get("host_network", 0)), "policies": int(n.get("policies", 0))}
               for n in nss[: limits.inventory_namespaces]]
    pols = sorted(inv.get("policies") or [], key=lambda p: (str(p.get("namespace")), str(p.get("name"))))
    pol_rows = [{"namespace": p.get("namespace"), "name": p.get("name"),
                 "pod_selector": short(p.get("pod_selector") or "{}", 200),
                 "types": ", ".join(p.get("policy_types") or []) + ("" if p.get("policy_types_explicit", True)
                                                                   else " (defaulted)"),
                 "ingress": len(p.get("ingress") or []), "egress": len(p.get("egress") or []),
                 "selected": p.get("selected"), "location": _location(p.get("location"))}
                for p in pols[: limits.inventory_policies]]
    invalid = [{"namespace": p.get("namespace"), "name": p.get("name"), "location": _location(p.get("location")),
                "problems": [f"{x.get('field')}: {x.get('reason')}" for x in p.get("problems") or []]}
               for p in (inv.get("invalid_policies") or [])[: limits.inventory_policies]]
    return {"namespaces": ns_rows, "namespaces_total": len(nss),
            "namespaces_hidden": max(0, len(nss) - len(ns_rows)), "policies": pol_rows,
            "policies_total": len(pols), "policies_hidden": max(0, len(pols) - len(pol_rows)),
            "invalid": invalid, "invalid_total": len(inv.get("invalid_policies") or [])}


def catalog(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    cov = result.get("coverage") or {}
    evaluated = set(cov.get("rules_evaluated") or [])
    out = []
    for r in sorted(result.get("rules") or [], key=lambda r: str(r.get("id"))):
        refs = []
        for ref in r.get("references") or []:
            url = str(ref.get("url") or "")
            refs.append({"title": str(ref.get("title") or url), "url": url if safe_url(url) else "",
                         "text_url": url if url and not safe_url(url) else ""})
        out.append({"id": r.get("id"), "anchor": anchor("cat", str(r.get("id"))), "slug": r.get("slug"),
                    "title": r.get("title"), "severity": r.get("severity"), "category": r.get("category"),
                    "rationale": r.get("rationale") or "", "deprecated": bool(r.get("deprecated")),
                    "evaluated": r.get("id") in evaluated, "references": refs})
    return out


_SAFE_URL = re.compile(r"^https?://[^\s\"'<>`]+$", re.IGNORECASE)


def safe_url(url: str) -> bool:
    """Only plain http(s) links become clickable; anything else (javascript:, data:) stays text."""
    return bool(_SAFE_URL.match(url)) and len(url) <= 500


# --- changes since the last scan, and the trend ------------------------------------------------------------

_POLICY_CHANGES = (("added", "added"), ("removed", "removed"), ("became_invalid", "became invalid (NP026)"),
                   ("became_valid", "became valid"))


def _pretty_time(t: Any) -> str:
    return str(t).replace("T", " ").replace("Z", " UTC") if t else "unknown time"


def _share(x: Any) -> str:
    return f"{100 * float(x):.1f}%"


def _compare(before: float, after: float, higher_is_better: bool) -> str:
    if before == after:
        return "same"
    return "better" if (after > before) == higher_is_better else "worse"


def _posture_rows(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Posture before and after, each row marked better, worse or same (or neither, for sizes)."""
    rows = [{"label": "Posture grade", "before": f"{before['grade']} ({before['score']})",
             "after": f"{after['grade']} ({after['score']})",
             "change": _compare(float(before["score"]), float(after["score"]), True)},
            {"label": "Gate result", "before": str(before["result"]).upper(), "after": str(after["result"]).upper(),
             "change": "same" if before["result"] == after["result"] else "changed"}]
    for direction in ("ingress", "egress"):
        key = f"{direction}_isolated_share"
        rows.append({"label": f"Pods isolated for {direction}", "before": _share(before[key]),
                     "after": _share(after[key]), "change": _compare(float(before[key]), float(after[key]), True)})
    for sev in SEVERITIES:
        b, a = int(before["failed_by_severity"].get(sev, 0)), int(after["failed_by_severity"].get(sev, 0))
        rows.append({"label": f"Failed {sev} findings", "before": f"{b:,}", "after": f"{a:,}",
                     "change": _compare(b, a, False)})
    for key, label in (("pods", "Pods and workload templates"), ("policies", "NetworkPolicies"),
                       ("namespaces", "Namespaces")):
        b, a = int(before.get(key, 0)), int(after.get(key, 0))
        rows.append({"label": label, "before": f"{b:,}", "after": f"{a:,}",
                     "change": "same" if a == b else f"{a - b:+,}"})
    return rows


# Column widths (%) of a change table, by its column count and severity columns: connections, findings,
# severity changes; policies.
_CHANGE_WIDTHS: dict[int, dict[tuple[int, ...], list[int]]] = {
    4: {(): [28, 28, 28, 16], (0,): [12, 9, 29, 50], (0, 1): [12, 12, 10, 66]}, 3: {(): [22, 48, 30]}}


def _change_table(key: str, title: str, header: list[str], rows: list[list[str]], limits: Limits,
                  severity_columns: tuple[int, ...] = ()) -> dict[str, Any]:
    shown = rows[: limits.change_rows]
    return {"anchor": anchor("changes", key), "title": title, "header": header, "rows": shown,
            "total": len(rows), "hidden": len(rows) - len(shown), "severity_columns": list(severity_columns),
            "widths": _CHANGE_WIDTHS[len(header)][severity_columns]}


def changes(result: Mapping[str, Any], limits: Limits) -> dict[str, Any] | None:
    """The "Changes since last scan" section from the result's `drift` (scan --archive-dir or --previous);
    None without one. Tables are capped at `limits.change_rows` rows; the JSON result lists every change."""
    d = result.get("drift")
    if not isinstance(d, Mapping):
        return None
    skipped = [f"{s.get('run')}: {s.get('reason')}" for s in d.get("skipped") or []]
    prev = d.get("previous")
    if not isinstance(prev, Mapping):
        return {"first_run": True, "skipped": skipped}
    message_chars = limits.text_chars if limits.pdf else limits.message_chars
    conn = d["connections"]
    tables = []
    levels = [("namespace", "namespaces")]
    if conn["workload"].get("computed"):
        levels.append(("workload", "workloads"))
    for level, noun in levels:
        part = conn[level]
        tables.append(_change_table(f"{level}-opened", f"Connections opened between {noun}",
                                    ["From", "To", "Ports opened", "Before"],
                                    [[e["from"], e["to"], ports_text(e["ports"]), e["was"]]
                                     for e in part["became_allowed"]], limits))
        tables.append(_change_table(f"{level}-closed", f"Connections closed between {noun}",
                                    ["From", "To", "Ports closed", "Now"],
                                    [[e["from"], e["to"], ports_text(e["ports"]), e["now"]]
                                     for e in part["became_denied"]], limits))
    f = d["findings"]
    for key, title in (("new", "New failing findings"), ("resolved", "Resolved findings")):
        tables.append(_change_table(f"findings-{key}", title, ["Severity", "Rule", "Subject", "Finding"],
                                    [[e["severity"], e["rule"], e["subject"], short(e["message"], message_chars)]
                                     for e in f[key]], limits, (0,)))
    tables.append(_change_table("findings-severity", "Findings whose severity changed",
                                ["Was", "Now", "Rule", "Subject"],
                                [[e["was"], e["severity"], e["rule"], e["subject"]] for e in f["severity_changed"]],
                                limits, (0, 1)))
    p = d["policies"]
    policy_rows = [[label, name, ""] for key, label in _POLICY_CHANGES[:2] for name in p[key]]
    policy_rows += [["changed", c["policy"], ", ".join(_human_key(x) for x in c["fields"])] for c in p["changed"]]
    policy_rows += [[label, name, ""] for key, label in _POLICY_CHANGES[2:] for name in p[key]]
    tables.append(_change_table("policies", "NetworkPolicies added, removed or changed",
                                ["Change", "Policy", "Changed fields"], policy_rows, limits))
    c = d.get("counts") or {}
    summary = [plural(int(c.get("findings_new", 0)), "new failing finding"),
               plural(int(c.get("findings_resolved", 0)), "resolved finding"),
               plural(int(c.get("policies_added", 0)) + int(c.get("policies_removed", 0))
                      + int(c.get("policies_changed", 0)), "policy change"),
               f"{int(c.get('namespace_connections_opened', 0)):,} namespace connection(s) opened and "
               f"{int(c.get('namespace_connections_closed', 0)):,} closed"]
    if conn["workload"].get("computed"):
        summary.append(f"{int(c.get('workload_connections_opened', 0)):,} workload connection(s) opened and "
                       f"{int(c.get('workload_connections_closed', 0)):,} closed")
    return {"first_run": False, "skipped": skipped, "changed": bool(d.get("changed")),
            "source": str(prev.get("source") or ""), "run": prev.get("run") or "", "path": prev.get("path") or "",
            "time": _pretty_time(prev.get("started_at")), "incomplete": [str(x) for x in d.get("incomplete") or []],
            "posture": _posture_rows(d["posture"]["before"], d["posture"]["after"]), "summary": summary,
            "tables": [t for t in tables if t["total"]], "unchanged": [t["title"] for t in tables if not t["total"]],
            "workload_note": "" if conn["workload"].get("computed") else str(conn["workload"].get("note") or "")}


def change_sentence(drift: Mapping[str, Any], arrow: str = "->") -> str:
    """One line for the text and Markdown outputs: what the drift compares with and its counts."""
    prev = drift.get("previous")
    if not isinstance(prev, Mapping):
        return "changes since last scan: first run, no earlier scan to compare"
    where = f"archived run {prev.get('run')}" if prev.get("source") == "archive" else str(prev.get("path") or "")
    before, after = drift["posture"]["before"], drift["posture"]["after"]
    c = drift.get("counts") or {}
    parts = [f"grade {before['grade']} ({before['score']}) {arrow} {after['grade']} ({after['score']})",
             f"{int(c.get('findings_new', 0)):,} new and {int(c.get('findings_resolved', 0)):,} resolved failing "
             f"finding(s), {int(c.get('findings_severity_changed', 0)):,} changed severity",
             plural(sum(int(c.get(f"policies_{k}", 0)) for k in ("added", "removed", "changed", "became_invalid",
                                                                  "became_valid")), "policy change"),
             f"namespace connections {int(c.get('namespace_connections_opened', 0)):,} opened, "
             f"{int(c.get('namespace_connections_closed', 0)):,} closed"]
    if drift["connections"]["workload"].get("computed"):
        parts.append(f"workload connections {int(c.get('workload_connections_opened', 0)):,} opened, "
                     f"{int(c.get('workload_connections_closed', 0)):,} closed")
    head = f"changes since the scan of {_pretty_time(prev.get('started_at'))}" + (f" ({where})" if where else "")
    return f"{head}: " + ("no change" if not drift.get("changed") else "; ".join(parts))


def trend(result: Mapping[str, Any]) -> dict[str, Any] | None:
    """The trend of the last runs from the result's `history` (scan --archive-dir), oldest first, this run
    last; None without one. `label` is the date, or the date and time when two runs share a date."""
    history = result.get("history")
    if not isinstance(history, list) or not history:
        return None
    dates = [str(h.get("started_at") or "")[:10] for h in history]
    rows = []
    for i, h in enumerate(history):
        started = str(h.get("started_at") or "")
        failed = h.get("failed_by_severity") or {}
        label = dates[i] if dates.count(dates[i]) == 1 else started[:16].replace("T", " ")
        rows.append({"run": str(h.get("run") or ""), "time": _pretty_time(started), "label": label or f"run {i + 1}",
                     "grade": str(h.get("grade") or "?"), "score": float(h.get("score") or 0),
                     "ingress_pct": round(100 * float(h.get("ingress_isolated_share") or 0), 1),
                     "egress_pct": round(100 * float(h.get("egress_isolated_share") or 0), 1),
                     "failed": [{"name": s, "n": int(failed.get(s, 0))} for s in SEVERITIES],
                     "failed_total": sum(int(failed.get(s, 0)) for s in SEVERITIES),
                     "result": str(h.get("result") or "").upper(), "current": i == len(history) - 1})
    return {"rows": rows, "count": len(rows)}


# --- the whole model --------------------------------------------------------------------------------------

_REQUIRED = ("schema_version", "tool", "run", "summary", "findings", "frameworks", "waivers", "coverage",
             "inventory", "matrix", "rules")


def check(result: Any) -> None:
    """Refuse what is not a scan result (e.g. `report --from` given another JSON file), with one clear line,
    instead of failing halfway through the templates."""
    if not isinstance(result, Mapping):
        raise InputError("not a netpol-audit scan result: the JSON document is not an object")
    missing = [k for k in _REQUIRED if k not in result]
    if missing:
        raise InputError(f"not a netpol-audit scan result: missing {', '.join(missing)}")
    if result["schema_version"] != 1:
        raise InputError(f"result schema_version {result['schema_version']!r} is not supported (this version "
                         "renders schema_version 1)", field="schema_version")
    for i, f in enumerate(result["findings"] if isinstance(result["findings"], list) else [None]):
        subject = f.get("subject") if isinstance(f, Mapping) else None
        if not (isinstance(f, Mapping) and all(isinstance(f.get(k), str) for k in ("id", "rule", "severity"))
                and f.get("status") in STATUSES and isinstance(subject, Mapping)
                and isinstance(subject.get("kind"), str) and isinstance(subject.get("name"), str)):
            raise InputError("malformed finding (needs id, rule, status, severity and subject kind/name)",
                             field=f"findings[{i}]")


def build(result: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    """Everything the report templates read, from the canonical result."""
    check(result)
    run = result.get("run") or {}
    summary = result.get("summary") or {}
    findings = list(result.get("findings") or [])
    rules = {str(r.get("id")): r for r in result.get("rules") or []}
    inv = result.get("inventory") or {}
    plugin_inert = any(f["rule"] == INERT_RULE and f["status"] == "FAIL" for f in findings)

    groups = rule_groups(findings, rules, inv, limits, system=False)
    system_groups = rule_groups(findings, rules, inv, limits, system=True)
    sections = {g["id"] for g in groups}
    risks, more_risks = top_risks(findings, rules)
    for r in risks:  # a risk only in system namespaces links to that section
        if r["rule"] not in sections:
            r["anchor"] = anchor("sysrule", r["rule"])
    failed = summary.get("failed_by_severity") or {}
    waived_sev = Counter(f["severity"] for f in findings if f["status"] == "WAIVED")
    system_failed = Counter(f["severity"] for f in findings if f["status"] == "FAIL" and f.get("system"))
    counts = summary.get("findings") or {}
    fws = frameworks(result, sections | {g["id"] for g in system_groups}, set(rules))
    # frameworks link a rule to its main section when it has one, else to the system section
    for fw in fws:
        for req in fw["requirements"]:
            for r in req["rules"]:
                if r["id"] not in sections and r["id"] in {g["id"] for g in system_groups}:
                    r["href"] = anchor("sysrule", r["id"])
    ident = identity(run)
    lims = limitations(result, limits)
    return {
        "title": "Kubernetes NetworkPolicy audit report",
        "pdf": limits.pdf,
        "identity": ident,
        "time": _scan_time(run),
        "tool": {"name": (result.get("tool") or {}).get("name", "netpol-audit"),
                 "version": (result.get("tool") or {}).get("version", "unknown")},
        "schema_version": result.get("schema_version"),
        "catalog_digest": run.get("catalog_digest") or "",
        "scope": _scope(run),
        "signoff": [{"title": f["title"], "anchor": f["anchor"], "state": f["state"], "signed_off": f["signed_off"]}
                    for f in fws],
        "verdict": {"result": str(summary.get("result") or "unknown").upper(),
                    "fail_on": summary.get("fail_on"), "gating": int(summary.get("gating_findings") or 0)},
        "grade": grade(summary, plugin_inert),
        "severity": [{"name": s, "failed": int(failed.get(s, 0)), "waived": waived_sev[s],
                      "system": system_failed[s]} for s in SEVERITIES],
        "counts": [{"status": s, "label": STATUS_LABEL.get(s, s), "n": int(counts.get(s, 0))}
                   for s in ("FAIL", "ERROR", "WAIVED", "PASS", "NOT_APPLICABLE")],
        "risks": risks,
        "more_risks": more_risks,
        "isolation": _isolation(summary, inv),
        "plugin_inert": plugin_inert,
        "limitations": lims,
        "plugin": lims[0],  # the network plugin line is always the first limitation; the cover repeats it
        "statement": [str(s) for s in (result.get("coverage") or {}).get("statement") or []],
        "frameworks": fws,
        "groups": groups,
        "system_groups": system_groups,
        "system_namespaces": _scope(run)["system"],
        "waived": waived_findings(findings, limits),
        "waivers": waiver_register(result, limits),
        "remediation": remediation(result, limits),
        "changes": changes(result, limits),
        "trend": trend(result),
        "segmentation": segmentation(findings, limits),
        "inventory": inventory(result, limits),
        "catalog": catalog(result),
        "thresholds": (run.get("config") or {}).get("thresholds") or {},
        "attachment": JSON_ATTACHMENT,
        "limits": {"detail_rows": limits.detail_rows, "system_rows": limits.system_rows},
    }
