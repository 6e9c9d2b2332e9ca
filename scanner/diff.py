"""Semantic drift between two scans: `netpol-audit diff OLD NEW`.

Each side is a snapshot (or manifests: anything `scan` reads) or a JSON result of `scan`. A side that is input
is scanned here, and its workload-level connections are computed with the engine; a JSON result carries the
namespace matrix, the findings and the policy inventory, but no workload-level connections, so between two
results the connection diff is at namespace level only (and says so).

The diff compares meaning, not text: connections that became allowed or denied (with the ports), findings
that are new, resolved or changed in severity (matched by their stable IDs), policies added, removed or
changed (by their parsed rules), and the posture numbers. A diff of a side with itself is empty.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from scanner.engine.index import PodClass
from scanner.engine.reach import PairCache, node_local_pairs
from scanner.findings import SEVERITIES, Subject
from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    MAX_PORT,
    IntervalSet,
    describe_ports,
    port_range,
    subtract,
    union,
)

# A workload matrix compares every pair of pod classes; beyond this many pairs it is not computed (and the
# diff says so rather than report "no change").
MAX_CLASS_PAIRS = 25_000_000
SCHEMA_VERSION = 1
_POLICY_FIELDS = ("pod_selector", "policy_types", "ingress", "egress", "tier", "priority", "subject")


@dataclasses.dataclass
class Side:
    """One side of a diff: its scan result and, when it was scanned here, its workload connections."""

    label: str
    result: dict[str, Any]
    workloads: dict[tuple[str, str], IntervalSet] | None
    workload_note: str | None = None
    time: str | None = None  # when the side was scanned (a result) or collected (a snapshot)


def is_result(doc: Any) -> bool:
    return isinstance(doc, dict) and {"findings", "summary", "run", "matrix"} <= doc.keys()


# --- connections ----------------------------------------------------------------------------------------------


def parse_ports(described: Mapping[str, Any]) -> IntervalSet:
    """The inverse of `describe_ports`: `{"TCP": "all", "UDP": ["53", "8000-8080"]}` as an IntervalSet."""
    out = EMPTY
    for proto, spec in described.items():
        if spec == "all":
            out = union(out, port_range(proto, 1, MAX_PORT))
            continue
        for item in spec:
            lo, _, hi = str(item).partition("-")
            out = union(out, port_range(proto, int(lo), int(hi or lo)))
    return out


def namespace_connections(result: Mapping[str, Any]) -> dict[tuple[str, str], IntervalSet]:
    """The result's namespace matrix, with its all-open block (`matrix.open`) expanded."""
    matrix = result.get("matrix") or {}
    out = {(e["from"], e["to"]): parse_ports(e["ports"]) for e in matrix.get("entries") or []}
    block = matrix.get("open")
    if block:
        for a in block["from"]:
            for b in block["to"]:
                if a != b:
                    out[(a, b)] = ALL_PORTS
    return out


def workload_key(subject: Subject) -> str:
    """How the workload level names a workload (`Context.workload_subject`): `namespace/Kind/name`, a bare
    pod `namespace/Pod/name`."""
    return f"{subject.namespace}/{subject.kind}/{subject.name}"


def workload_connections(ctx: Any, max_pairs: int = MAX_CLASS_PAIRS,
                         skip: Callable[[PodClass, PodClass], bool] | None = None,
                         node_local: bool = True) -> tuple[dict[tuple[str, str], IntervalSet] | None, str | None]:
    """Allowed ports between workloads (`workload_key`): the union over their pods' pairs. A workload appears
    with itself when two of its pods may talk. None (with the reason) when the cluster has more class pairs
    than `max_pairs`. `skip(src, dst)` leaves class pairs out; `node_local=False` leaves out the pairs of a
    pod and a hostNetwork pod on its node (allowed whatever the policies say)."""
    index = ctx.index
    classes = index.classes
    if len(classes) ** 2 > max_pairs:
        return None, (f"not computed: {len(classes) ** 2:,} pairs of pod classes, more than the limit of "
                      f"{max_pairs:,}; the namespace level is complete")
    names: list[str] = []
    by_class: dict[int, Counter[str]] = {}  # class id -> its pods per workload
    for i, ep in enumerate(ctx.cluster.endpoints):
        names.append(workload_key(ctx.workload_subject(ep)))
        by_class.setdefault(index.class_for(i).id, Counter())[names[-1]] += 1
    cache = PairCache(index)
    out: dict[tuple[str, str], IntervalSet] = {}
    for s in classes:
        for d in classes:
            if skip is not None and skip(s, d):
                continue
            ports = cache.ports(s, d)
            if not ports:
                continue
            for a in by_class[s.id]:
                for b in by_class[d.id]:
                    if a == b and s.id == d.id and by_class[s.id][a] < 2:
                        continue  # its only pod in this class, with itself: not a connection
                    out[(a, b)] = union(out.get((a, b), EMPTY), ports)
    if node_local:
        for i, j in node_local_pairs(index):
            out[(names[i], names[j])] = ALL_PORTS
    return out, None


def _connection_changes(old: Mapping[tuple[str, str], IntervalSet],
                        new: Mapping[tuple[str, str], IntervalSet]) -> dict[str, list[dict[str, Any]]]:
    allowed, denied = [], []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key, EMPTY), new.get(key, EMPTY)
        if before == after:
            continue
        opened, closed = subtract(after, before), subtract(before, after)
        entry = {"from": key[0], "to": key[1]}
        if opened:
            allowed.append({**entry, "ports": describe_ports(opened), "was": _state(before)})
        if closed:
            denied.append({**entry, "ports": describe_ports(closed), "now": _state(after)})
    return {"became_allowed": allowed, "became_denied": denied}


def _state(ports: IntervalSet) -> str:
    return "none" if not ports else "all ports" if ports == ALL_PORTS else "some ports"


# --- findings, policies, posture ------------------------------------------------------------------------------


def _finding_entry(f: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f["id"], "rule": f["rule"], "title": f["title"], "severity": f["severity"],
            "subject": Subject(**f["subject"]).ref, "message": f["message"]}


def _failing(result: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["id"]: f for f in result["findings"] if f["status"] in ("FAIL", "ERROR")}


def _finding_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    before, after = _failing(old), _failing(new)
    order = {s: i for i, s in enumerate(SEVERITIES)}

    def key(e: dict[str, Any]) -> tuple[Any, ...]:
        return (order.get(e["severity"], 9), e["rule"], e["subject"], e["id"])

    new_f = sorted((_finding_entry(f) for i, f in after.items() if i not in before), key=key)
    resolved = sorted((_finding_entry(f) for i, f in before.items() if i not in after), key=key)
    changed = sorted(({**_finding_entry(after[i]), "was": before[i]["severity"]} for i in after.keys() & before.keys()
                      if after[i]["severity"] != before[i]["severity"]), key=key)
    return {"new": new_f, "resolved": resolved, "severity_changed": changed}


def _policies(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    inv = result.get("inventory") or {}
    out = {f"{p['namespace']}/{p['name']}": p for p in inv.get("policies") or []}
    out.update({f"{p['kind']}/{p['name']}": p for p in inv.get("admin_policies") or []})  # cluster-scoped tiers
    return out


def _policy_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    before, after = _policies(old), _policies(new)
    changed = []
    for name in sorted(before.keys() & after.keys()):
        fields = [f for f in _POLICY_FIELDS if before[name].get(f) != after[name].get(f)]
        if fields:
            changed.append({"policy": name, "fields": fields,
                            "before": {f: before[name].get(f) for f in fields},
                            "after": {f: after[name].get(f) for f in fields}})
    invalid_before = {_invalid_ref(p) for p in (old.get("inventory") or {}).get("invalid_policies") or []}
    invalid_after = {_invalid_ref(p) for p in (new.get("inventory") or {}).get("invalid_policies") or []}
    return {"added": sorted(after.keys() - before.keys()), "removed": sorted(before.keys() - after.keys()),
            "changed": changed, "became_invalid": sorted(invalid_after - invalid_before),
            "became_valid": sorted(invalid_before - invalid_after)}


def _invalid_ref(p: Mapping[str, Any]) -> str:
    """`namespace/name`, or `Kind/name` for a cluster-scoped policy (namespace "")."""
    return f"{p['namespace']}/{p['name']}" if p["namespace"] else str(p["name"])


def posture(result: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers a trend follows: grade, isolated shares, failed findings by severity, the verdict."""
    from scanner.render.report_model import INERT_RULE, grade

    s = result["summary"]
    iso = s["isolation"]
    pods = iso["pods"]
    inert = any(f["rule"] == INERT_RULE and f["status"] == "FAIL" for f in result["findings"])
    g = grade(s, inert)
    return {"result": s["result"], "grade": g["letter"], "score": g["score"], "pods": pods,
            "ingress_isolated_share": round(iso["ingress_isolated"] / pods, 4) if pods else 1.0,
            "egress_isolated_share": round(iso["egress_isolated"] / pods, 4) if pods else 1.0,
            "failed_by_severity": {sev: int(s["failed_by_severity"].get(sev, 0)) for sev in SEVERITIES},
            "policies": iso["policies"], "namespaces": iso["namespaces"]}


def diff(old: Side, new: Side) -> dict[str, Any]:
    """The drift from `old` to `new`, as a JSON-ready document (docs/cli-contract.md, `diff`)."""
    ns = _connection_changes(namespace_connections(old.result), namespace_connections(new.result))
    if old.workloads is not None and new.workloads is not None:
        wl: dict[str, Any] = {"computed": True, **_connection_changes(old.workloads, new.workloads)}
    else:
        note = old.workload_note or new.workload_note or "not computed"
        wl = {"computed": False, "note": note, "became_allowed": [], "became_denied": []}
    findings = _finding_changes(old.result, new.result)
    policies = _policy_changes(old.result, new.result)
    before, after = posture(old.result), posture(new.result)
    incomplete = [side.label for side in (old, new) if side.result["summary"]["result"] == "incomplete"]
    changes = (len(ns["became_allowed"]) + len(ns["became_denied"]) + len(wl["became_allowed"])
               + len(wl["became_denied"]) + sum(len(v) for v in findings.values())
               + sum(len(v) for v in policies.values()))
    return {
        "schema_version": SCHEMA_VERSION,
        "old": {"label": old.label, "time": old.time,
                "inputs": old.result["run"]["input"].get("inputs", []), "posture": before},
        "new": {"label": new.label, "time": new.time,
                "inputs": new.result["run"]["input"].get("inputs", []), "posture": after},
        "incomplete": incomplete,
        "changed": bool(changes) or before != after,
        "connections": {"namespace": ns, "workload": wl},
        "findings": findings,
        "policies": policies,
    }


def new_at_or_above(d: Mapping[str, Any], severity: str) -> list[dict[str, Any]]:
    """New failing findings (and findings whose severity rose) at or above `severity`."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    limit = rank[severity]
    rose = [f for f in d["findings"]["severity_changed"] if rank[f["severity"]] < rank.get(f["was"], 99)]
    return [f for f in [*d["findings"]["new"], *rose] if rank[f["severity"]] <= limit]


def load_result_document(data: bytes) -> dict[str, Any] | None:
    """The scan result in `data`, or None when the file is not one (then it is input to scan)."""
    if data.lstrip()[:1] != b"{":
        return None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return doc if is_result(doc) else None
