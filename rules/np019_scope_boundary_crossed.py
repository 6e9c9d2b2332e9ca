"""NP019: connections that cross the configured compliance scope (`scope` in the configuration).

NOT_APPLICABLE without a scope, or when no pod is in it. For every in-scope class (`ctx.in_scope`):
- inbound: every out-of-scope class whose egress AND the in-scope pod's ingress allow some port;
- outbound: every out-of-scope class that the in-scope pod's egress AND the class's ingress allow;
- external: the addresses outside the cluster's in-scope pods (any address not a known IP of an in-scope pod)
  that the in-scope pod's ingress admits or its egress reaches, marked as internet (public, not trusted),
  trusted (configured trusted_cidrs) or non-public;
- node-local: a hostNetwork pod outside the scope on the same node (always allowed).
Being conservative, an ipBlock that could hold the unknown IP of a pod (`PossibleMatch`: it overlaps the known
pod or node ranges, or, when they are unknown, is broader than the configured bounds) counts as matching it,
and such flows are marked plugin-dependent. Every flow names both sides' rules and policies. One FAIL per
in-scope pod with any crossing, one PASS per other in-scope pod; out-of-scope pods are not subjects.
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context, Workload
from scanner.engine.analysis import ALL_ADDRESSES, cidr_set
from scanner.engine.exposure import (
    PossibleMatch,
    address_admits,
    address_cidrs,
    internet,
    not_isolated_reason,
)
from scanner.engine.index import PodClass
from scanner.findings import Result, fail, not_applicable, passed
from scanner.intervals import ALL_PORTS, EMPTY, IntervalSet, describe_ports, intersect, subtract, union
from scanner.model import Direction

_PD_NOTE = ("plugin-dependent: the flow rests on an ipBlock matching a pod IP (known, or unknown but inside the "
            "block); some network plugins do not apply ipBlocks to pod traffic")


@rule("NP019")
def check(ctx: Context) -> Iterator[Result]:
    scope = ctx.config.scope
    if scope is None:
        yield not_applicable("no compliance scope is configured (set `scope` in the configuration file)")
        return
    ix = ctx.index
    inside = [c for c in ix.classes if ctx.in_scope(c)]
    if not inside:
        yield not_applicable(f"no pod or workload of the input is in scope {scope.name!r}", scope=scope.to_json())
        return
    outside = [c for c in ix.classes if not ctx.in_scope(c)]
    pm = PossibleMatch(ix, ctx.config)
    inet, trusted = internet(ctx.config), cidr_set(list(ctx.config.trusted_cidrs))
    scope_ips = [f"{ip}/{128 if ':' in ip else 32}" for c in inside for i in c.members
                 for ip in ctx.cluster.endpoints[i].ips]
    external = subtract(ALL_ADDRESSES, cidr_set(scope_ips))
    eps = ctx.cluster.endpoints
    out_eps = [j for c in outside for j in c.members]
    out_host = [j for j in out_eps if eps[j].host_network]
    for cls in inside:
        flows: dict[str, list[dict[str, Any]]] = {
            "inbound": [f for src in outside if (f := _pod_flow(ctx, pm, src, cls, src))],
            "outbound": [f for dst in outside if (f := _pod_flow(ctx, pm, cls, dst, dst))]}
        ext: dict[str, list[dict[str, Any]]] = {
            "external_inbound": _external(ctx, cls, "ingress", external, inet, trusted),
            "external_outbound": _external(ctx, cls, "egress", external, inet, trusted)}
        for w in ctx.workloads_of(cls):
            subject, ep = w.subject, w.endpoints[0]
            node_local = _merged_node_local(ctx, w, out_eps if ep.host_network else out_host)
            if not any(flows.values()) and not any(ext.values()) and not node_local:
                yield passed(subject, f"{w.ref} (in scope {scope.name!r}) neither accepts nor opens connections "
                                      "across the scope boundary",
                             ingress_policies=[p.ref for p in ix.policies_for(cls, "ingress")],
                             egress_policies=[p.ref for p in ix.policies_for(cls, "egress")], **w.evidence())
                continue
            evidence: dict[str, Any] = {"scope": scope.to_json(), **flows, **ext, "node_local": node_local,
                                        **w.evidence()}
            policies = sorted({p for v in (*flows.values(), *ext.values()) for f in v for p in f["policies"]})
            plugin = any(f.get("plugin_dependent") for v in flows.values() for f in v)
            evidence["policies"] = policies
            if plugin:
                evidence["notes"] = [_PD_NOTE]
            yield fail(subject, _message(w.ref, scope.name, flows, ext, node_local), **evidence)


def _merged_node_local(ctx: Context, w: Workload, candidates: list[int]) -> list[dict[str, Any]]:
    """`_node_local` over the pods of a workload, each peer once."""
    index_of = {id(e): i for i, e in enumerate(ctx.cluster.endpoints)}
    seen: dict[str, dict[str, Any]] = {}
    for ep in w.endpoints:
        for entry in _node_local(ctx, index_of[id(ep)], candidates):
            seen.setdefault(str(sorted(entry.items())), entry)
    return list(seen.values())


def _node_local(ctx: Context, i: int, candidates: list[int]) -> list[dict[str, Any]]:
    """Out-of-scope endpoints (`candidates`: hostNetwork ones, or all when `i` itself uses the host network)
    that share, or when a node is unknown may share, a node with endpoint `i`: such traffic is between a pod
    and its node, always allowed."""
    eps = ctx.cluster.endpoints
    ep = eps[i]
    out = []
    for j in candidates:
        other = eps[j]
        if ep.node and other.node:
            if ep.node != other.node:
                continue
            how = f"both run on node {ep.node}"
        else:
            unknown = [x.ref for x in (ep, other) if not x.node]
            how = f"may share a node (the input does not say where {' and '.join(unknown)} run(s))"
        who = other.ref if other.host_network else ep.ref
        out.append({"peer": other.ref, "namespace": other.namespace, "ports": describe_ports(ALL_PORTS),
                    "certain": bool(ep.node and other.node),
                    "reason": f"{how}; {who} uses the host network, and traffic between a pod and its node is "
                              "always allowed, in both directions, whatever the policies say",
                    "policies": []})
    return out


def _refs(ctx: Context, cls: PodClass, limit: int = 5) -> list[str]:
    refs = [ctx.cluster.endpoints[i].ref for i in cls.members]
    return refs if len(refs) <= limit else [*refs[:limit], f"... and {len(refs) - limit} more"]


def _pod_flow(ctx: Context, pm: PossibleMatch, src: PodClass, dst: PodClass,
              other: PodClass) -> dict[str, Any] | None:
    egress = pm.side(src, "egress", dst)
    if not egress.ports:
        return None
    ingress = pm.side(dst, "ingress", src)
    ports = intersect(egress.ports, ingress.ports)
    if not ports:
        return None
    firm = intersect(egress.firm, ingress.firm)
    return {"peer": _refs(ctx, other), "endpoints": len(other.members), "namespace": other.namespace,
            "ports": describe_ports(ports), "plugin_dependent": ports != firm,
            "egress_of_source": egress.lines, "ingress_of_destination": ingress.lines,
            "policies": sorted({*egress.policies, *ingress.policies})}


def _external(ctx: Context, cls: PodClass, direction: Direction, external: IntervalSet, inet: IntervalSet,
              trusted: IntervalSet) -> list[dict[str, Any]]:
    """Address flows of one side: one entry per admitting rule (or one for a side that is not isolated)."""
    ix = ctx.index
    reason = not_isolated_reason(ix, cls, direction)
    if reason is not None:
        return [{"peers": ["any address"], "addresses": address_cidrs(external, 4), "internet": True,
                 "trusted": False, "ports": describe_ports(ALL_PORTS), "admitted_by": [reason], "policies": []}]
    out = []
    for a in address_admits(ix, cls, direction, external):
        addrs: IntervalSet = EMPTY
        peers = []
        for peer in a.rule.peers or ():
            if peer.ip_block is not None and intersect(peer.ip_block.addresses, external):
                addrs = union(addrs, intersect(peer.ip_block.addresses, external))
                peers.append(peer.describe())
        if a.rule.peers is None:
            addrs, peers = external, [f"any address (no `{a.rule.peer_field}`)"]
        out.append({"peers": peers, "addresses": address_cidrs(addrs), "internet": bool(intersect(addrs, inet)),
                    "trusted": bool(trusted) and not subtract(addrs, trusted), "ports": describe_ports(a.ports),
                    "admitted_by": [a.describe()], "policies": [a.policy.ref]})
    return out


def _message(ref: str, scope: str, flows: dict[str, list[dict[str, Any]]], ext: dict[str, list[dict[str, Any]]],
             node_local: list[dict[str, Any]]) -> str:
    parts = []
    if flows["inbound"]:
        parts.append(f"accepts connections from {_pods(flows['inbound'])}")
    if ext["external_inbound"]:
        parts.append(f"accepts connections from {_where(ext['external_inbound'])}")
    if flows["outbound"]:
        parts.append(f"may connect to {_pods(flows['outbound'])}")
    if ext["external_outbound"]:
        parts.append(f"may connect to {_where(ext['external_outbound'])}")
    if node_local:
        names = ", ".join(f["peer"] for f in node_local[:3]) + (" ..." if len(node_local) > 3 else "")
        verb = "shares" if all(f["certain"] for f in node_local) else "shares or may share"
        parts.append(f"{verb} a node with {len(node_local)} out-of-scope endpoint(s) over the host network "
                     f"({names}), which no policy can restrict")
    return f"{ref} is in scope {scope!r} and crosses its boundary: " + "; ".join(parts)


def _pods(flows: list[dict[str, Any]]) -> str:
    shown = ", ".join(f"{_label(f)} on {_ports(f['ports'])}{' (plugin-dependent)' if f['plugin_dependent'] else ''}"
                      for f in flows[:3])
    more = f" and {len(flows) - 3} more" if len(flows) > 3 else ""
    return f"{len(flows)} out-of-scope workload(s) ({shown}{more})"


def _label(flow: dict[str, Any]) -> str:
    n: int = flow["endpoints"]
    first: str = flow["peer"][0]
    return first + (f" (+{n - 1} more)" if n > 1 else "")


def _where(entries: list[dict[str, Any]]) -> str:
    kinds = "the internet" if any(e["internet"] for e in entries) else "addresses outside the scope"
    shown = ", ".join(f"{'; '.join(e['peers'])} on {_ports(e['ports'])}" for e in entries[:3])
    return f"{kinds} ({shown})"


def _ports(described: dict[str, Any]) -> str:
    if all(v == "all" for v in described.values()) and len(described) == 3:
        return "every port"
    return " ".join(f"{k} {v if isinstance(v, str) else ','.join(v)}" for k, v in described.items())
