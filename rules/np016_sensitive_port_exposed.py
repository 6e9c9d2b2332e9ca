"""NP016: a pod's effective ingress admits a sensitive port from another namespace, from every namespace, or
from the internet.

Sensitive ports come from `thresholds.sensitive_ports`. Per class, the ingress side alone is judged (what the
pod's own policies admit; the source's egress is another team's control): a pod that is not
ingress-isolated (hostNetwork pods included) admits every sensitive port from everywhere. Otherwise three
sources are checked, each with the rules that admit them: rules whose peers take in every namespace (no
`from`, or a namespaceSelector that matches every namespace, present and future); the classes of other
namespaces that some rule matches (`rule_sources`, named ports resolved on the pod itself; at most 50 source
pods are listed per namespace, with their total); and public
addresses outside the configured trusted CIDRs (`address_admits`). One FAIL per exposed pod, one PASS per other.

When cluster-scoped policies govern the pod's ingress (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
ClusterNetworkPolicy), the ingress side is judged through every tier instead: the source namespaces from
`tier_ingress_sources` (an admin-tier Allow of SSH from every namespace exposes the pod even where a
NetworkPolicy denies it; an admin Deny closes what a NetworkPolicy admits), namespaces created later through
`every_namespace_admits`, and, since these policies match pods only, sources outside the cluster as the
NetworkPolicy tier leaves them (everything, when no NetworkPolicy isolates the pod).
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import (
    address_admits,
    admit_text,
    every_namespace_admits,
    internet,
    not_isolated_reason,
    rule_sources,
    tier_ingress_sources,
    union_ports,
)
from scanner.engine.index import PodClass, rule_port_set
from scanner.findings import Result, fail, not_applicable, passed
from scanner.intervals import EMPTY, IntervalSet, describe_ports, intersect, ports_text, union
from scanner.portspec import parse_port_list


@rule("NP016")
def check(ctx: Context) -> Iterator[Result]:
    sensitive = parse_port_list(ctx.config.sensitive_ports)
    if not sensitive:
        yield not_applicable("no sensitive ports are configured (thresholds.sensitive_ports is empty)")
        return
    ix = ctx.index
    inet = internet(ctx.config)
    for cls in ix.classes:
        exposed, total, parts = _exposure(ctx, cls, sensitive, inet)
        for w in ctx.workloads_of(cls):
            subject = w.subject
            if not exposed:
                yield passed(subject, f"{w.ref} admits no sensitive port from another namespace or the internet",
                             ingress_policies=[p.ref for p in ix.policies_for(cls, "ingress")], **w.evidence())
                continue
            yield fail(subject, f"{w.ref} admits {_what(total, sensitive)} from {parts[0][0]}" if len(parts) == 1
                       else f"{w.ref} admits sensitive ports from other namespaces or the internet: "
                       + "; ".join(f"{ports_text(ports)} from {text}" for text, ports in parts),
                       sensitive_ports=describe_ports(total), exposed_to=exposed, **w.evidence())


def _exposure(ctx: Context, cls: PodClass, sensitive: IntervalSet,
              inet: IntervalSet) -> tuple[dict[str, dict[str, Any]], IntervalSet, list[tuple[str, IntervalSet]]]:
    """(evidence by kind of source, sensitive ports exposed, message parts) for one class."""
    ix = ctx.index
    reason = not_isolated_reason(ix, cls, "ingress")
    tiered = ix.tiers.active and ix.tiers.governs(cls, "ingress")
    exposed: dict[str, dict[str, Any]] = {}
    total: IntervalSet = EMPTY
    parts: list[tuple[str, IntervalSet]] = []

    def add(kind: str, ports: IntervalSet, text: str, evidence: dict[str, Any]) -> None:
        nonlocal total
        total = union(total, ports)
        exposed[kind] = evidence
        parts.append((text, ports))

    if reason is not None and not tiered:
        add("everyone", sensitive, f"every source in and out of the cluster ({reason})",
            {"ports": describe_ports(sensitive), "admitted_by": [reason]})
        return exposed, total, parts
    every_ns, every_rules = every_namespace_admits(ix, cls, sensitive)
    if every_ns:
        add("all_namespaces", every_ns, f"every namespace, including namespaces created later "
            f"({', '.join(every_rules)})", {"ports": describe_ports(every_ns), "admitted_by": every_rules})
    by_ns = _tier_namespaces(ctx, cls, sensitive) if tiered else _namespaces(ctx, cls, sensitive)
    if by_ns:
        ns_ports: IntervalSet = EMPTY
        for e in by_ns.values():
            ns_ports = union(ns_ports, e["ports"])
        ns_rules = sorted(set().union(*(e["rules"] for e in by_ns.values())))
        add("namespaces", ns_ports, f"pods of namespace(s) {', '.join(sorted(by_ns))} ({', '.join(ns_rules)})",
            {ns: {"ports": describe_ports(e["ports"]), **_sources(ctx, e["sources"]),
                  "admitted_by": sorted(e["admitted_by"])} for ns, e in sorted(by_ns.items())})
    if reason is not None:
        # Cluster-scoped rules match pods only: sources outside the cluster keep the Kubernetes default.
        why = f"{reason}; cluster-scoped policies match pods only, so they do not deny sources outside the cluster"
        add("internet", sensitive, f"every source outside the cluster ({why})",
            {"ports": describe_ports(sensitive), "admitted_by": [why]})
        return exposed, total, parts
    outside = [a for a in address_admits(ix, cls, "ingress", inet) if intersect(a.ports, sensitive)]
    if outside:
        out_ports = intersect(union_ports(outside), sensitive)
        add("internet", out_ports, f"the internet ({', '.join(a.where for a in outside)})",
            {"ports": describe_ports(out_ports), "admitted_by": [a.describe() for a in outside]})
    return exposed, total, parts


def _namespaces(ctx: Context, cls: PodClass, sensitive: IntervalSet) -> dict[str, dict[str, Any]]:
    """Other namespaces whose pods some NetworkPolicy rule of an ingress-isolated class admits on a sensitive
    port: {namespace: {ports, sources (class ids), admitted_by, rules}}."""
    ix = ctx.index
    by_ns: dict[str, dict[str, Any]] = {}
    for p in ix.policies_for(cls, "ingress"):
        for r in p.ingress:
            ports = rule_port_set(r, cls.named_ports)
            hit = intersect(ports, sensitive)
            if not hit:
                continue
            for src_ns, m in rule_sources(ix, p, r).items():
                if src_ns == cls.namespace:
                    continue
                entry = by_ns.setdefault(src_ns, {"ports": EMPTY, "sources": set(), "admitted_by": set(),
                                                  "rules": set()})
                entry["ports"] = union(entry["ports"], hit)
                entry["sources"] |= {c.id for c in m.classes}
                entry["admitted_by"] |= {admit_text(p, r, peer, ports, pd) for peer, pd in m.peers}
                entry["rules"].add(f"{p.ref} {r.field}")
    return by_ns


def _tier_namespaces(ctx: Context, cls: PodClass, sensitive: IntervalSet) -> dict[str, dict[str, Any]]:
    """`_namespaces` through the cluster-scoped tiers (`tier_ingress_sources`)."""
    by_ns: dict[str, dict[str, Any]] = {}
    for ts in tier_ingress_sources(ctx.index, cls, sensitive):
        for c in ts.classes:
            if c.namespace == cls.namespace:
                continue
            entry = by_ns.setdefault(c.namespace, {"ports": EMPTY, "sources": set(), "admitted_by": set(),
                                                   "rules": set()})
            entry["ports"] = union(entry["ports"], ts.ports)
            entry["sources"].add(c.id)
            entry["admitted_by"] |= set(ts.lines)
            entry["rules"] |= set(ts.where)
    return by_ns


_LISTED = 50  # source pods listed per namespace; the count says how many there are


def _sources(ctx: Context, class_ids: set[int]) -> dict[str, Any]:
    eps = ctx.cluster.endpoints
    refs = sorted(eps[i].ref for cid in class_ids for i in ctx.index.classes[cid].members)
    out: dict[str, Any] = {"sources": refs[:_LISTED]}
    if len(refs) > _LISTED:
        out["sources_total"] = len(refs)
    return out


def _what(ports: IntervalSet, sensitive: IntervalSet) -> str:
    if ports == sensitive:
        return f"every configured sensitive port ({ports_text(ports)})"
    return f"sensitive port(s) {ports_text(ports)}"
