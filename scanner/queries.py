"""The query commands' results as plain data: isolation, reach and matrix (see docs/cli-contract.md).

Owns the JSON shape of these results; `scanner.render.tables` draws the same data for people. It asks the
engine and never re-implements semantics.
"""

from __future__ import annotations

from typing import Any

from scanner.engine import Index
from scanner.engine.index import PodClass
from scanner.engine.reach import namespace_matrix, parse_port, pod_matrix, resolve, verdict
from scanner.errors import InputError
from scanner.intervals import describe_ports
from scanner.model import Cluster, Direction

SCHEMA_VERSION = 1


def invalid_policies(cluster: Cluster) -> list[dict[str, Any]]:
    return [{"namespace": p.namespace, "name": p.name, "file": p.source.describe() if p.source else None,
             "field": pr.field, "reason": pr.reason}
            for p in cluster.invalid_policies for pr in p.problems]


def unevaluated_policies(cluster: Cluster) -> list[dict[str, Any]]:
    """Policy objects of kinds the engine does not model: the verdicts do not cover them."""
    return [{"api_version": o.api_version, "kind": o.kind, "namespace": o.namespace, "name": o.name}
            for o in cluster.other_policies]


def isolation(index: Index) -> dict[str, Any]:
    pods = []
    for i, ep in enumerate(index.cluster.endpoints):
        cls = index.class_for(i)
        pods.append({
            "namespace": ep.namespace,
            "name": ep.name,
            "kind": ep.kind,
            "host_network": ep.host_network,
            "ingress_isolated": index.isolated(cls, "ingress"),
            "egress_isolated": index.isolated(cls, "egress"),
            "ingress_policies": sorted(p.ref for p in index.policies_for(cls, "ingress")),
            "egress_policies": sorted(p.ref for p in index.policies_for(cls, "egress")),
            "ingress_isolated_by_tier": _tier_isolation(index, cls, "ingress"),
            "egress_isolated_by_tier": _tier_isolation(index, cls, "egress"),
        })
    ignored = [{"namespace": ig.endpoint.namespace, "name": ig.endpoint.name, "kind": ig.endpoint.kind,
                "reason": ig.reason} for ig in index.cluster.ignored]
    return {"schema_version": SCHEMA_VERSION, "pods": pods, "ignored": ignored,
            "invalid_policies": invalid_policies(index.cluster),
            "unevaluated_policies": unevaluated_policies(index.cluster)}


def _tier_isolation(index: Index, cls: PodClass, direction: Direction) -> dict[str, str] | None:
    """The cluster-scoped rule that denies by default what no NetworkPolicy isolates (`Tiers.isolates`), for a
    pod no NetworkPolicy isolates in `direction`; None otherwise."""
    if not index.tiers.active or index.isolated(cls, direction):
        return None
    step = index.tiers.isolates(cls, direction)
    if step is None:
        return None
    return {"policy": step.policy.ref, "tier": step.policy.tier, "rule": step.rule.describe()}


def reach_one(index: Index, query: dict[str, Any], where: str) -> dict[str, Any]:
    """Answer one `{from, to, port, protocol}` query."""
    if not isinstance(query, dict):
        raise InputError("a query must be a mapping with from, to and port", obj=where)
    unknown = sorted(str(k) for k in query if k not in ("from", "to", "port", "protocol"))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)} (from, to, port, protocol)", obj=where,
                         field=unknown[0])
    for key in ("from", "to", "port"):
        if query.get(key) in (None, ""):
            raise InputError("is required", obj=where, field=key)
    if isinstance(query["port"], str) and "/" in query["port"] and query.get("protocol") and \
            str(query["protocol"]).upper() != query["port"].split("/", 1)[1].upper():
        raise InputError(f"port {query['port']!r} and protocol {query['protocol']!r} disagree", obj=where,
                         field="protocol")
    try:
        src = resolve(index, str(query["from"]), "from")
        dst = resolve(index, str(query["to"]), "to")
        proto, number, label = parse_port(query["port"], query.get("protocol"), dst, "port")
    except InputError as e:
        raise InputError(e.detail, obj=where, field=e.field) from None
    try:
        v = verdict(index, src, dst, proto, number, label)
    except InputError as e:
        raise InputError(e.detail, obj=where, field=e.field) from None
    return {
        "from": query["from"],
        "to": query["to"],
        "port": query["port"],
        "protocol": proto,
        "allowed": v.allowed,
        "egress_allowed": None if v.egress is None else v.egress.allowed,
        "ingress_allowed": None if v.ingress is None else v.ingress.allowed,
        "explanation": v.explanation(),
    }


def matrix(index: Index, level: str) -> dict[str, Any]:
    entries = []
    if level == "namespace":
        for (a, b), ports in namespace_matrix(index).items():
            entries.append({"from": a, "to": b, "ports": describe_ports(ports)})
    else:
        eps = index.cluster.endpoints
        for i, j, ports in pod_matrix(index):
            entries.append({"from": eps[i].ref, "to": eps[j].ref, "ports": describe_ports(ports)})
        entries.sort(key=lambda e: (e["from"], e["to"]))
    return {"schema_version": SCHEMA_VERSION, "level": level, "entries": entries,
            "unevaluated_policies": unevaluated_policies(index.cluster)}
