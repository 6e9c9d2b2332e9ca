"""NP018: pods that accept connections from pods of other namespaces, summarised per namespace pair.

"Accept" is the destination's ingress side (what its own policies admit, `PairCache.ingress_ports`): a pod that
is not ingress-isolated accepts from every namespace, which is said as such (with the pods), not enumerated
per source namespace. For each isolated destination class, what each ingress rule matches in another namespace
(system namespaces included; `rule_sources`) is summed up per source namespace: the ports admitted, the ports
also allowed by the source's egress today (the connection works end to end), the destination workloads and the
rules that admit them (at most 20 of each listed, with the total). A rule with one peer that admits more
than 50 other namespaces (`namespaceSelector: {team: x}` in a 10,000-namespace cluster) is summarised under
`wide_sources` (its peer, how many namespaces, examples, ports) instead. One FAIL per destination namespace
with such sources, one PASS per other namespace holding pods.

A destination class whose ingress cluster-scoped policies govern is judged through every tier
(`tier_ingress_sources`): an admin-tier Allow across namespaces is an accepted connection even where a
NetworkPolicy denies it, and a baseline default deny closes what no NetworkPolicy selects. A set of sources
spanning more than 50 other namespaces is summarised under `wide_sources` (keyed by the rules that admit it).
"""

from collections.abc import Iterable, Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import (
    SourceTotals,
    TierSources,
    admit_text,
    every_namespace_admits,
    not_isolated_reason,
    ports_phrase,
    rule_sources,
    rule_totals,
    selects_every_namespace,
    tier_ingress_sources,
)
from scanner.engine.index import PodClass, rule_port_set
from scanner.engine.reach import memberships
from scanner.findings import Result, fail, passed
from scanner.intervals import ALL_PORTS, EMPTY, IntervalSet, describe_ports, intersect, subtract, union


@rule("NP018")
def check(ctx: Context) -> Iterator[Result]:
    ix, pairs = ctx.index, ctx.pairs
    populated = {ns for ns, classes in ctx.classes_by_namespace.items() if classes}
    for ns, dst_classes in ctx.classes_by_namespace.items():
        subject = ctx.namespace_subject(ns)
        flows: dict[str, dict[str, Any]] = {}
        wide: dict[str, dict[str, Any]] = {}  # rules admitting more than _WIDE namespaces, not enumerated
        future: set[str] = set()
        open_to_all: list[str] = []  # pods that are not ingress-isolated: every namespace reaches them
        for dst in dst_classes:
            if ix.tiers.active and ix.tiers.governs(dst, "ingress"):
                _tier_flows(ctx, ns, dst, flows, wide, future)
                continue
            reason = not_isolated_reason(ix, dst, "ingress")
            if reason is not None:
                future.add(f"{_refs(ctx, dst)}: {reason}")
                open_to_all += [w.ref for w in ctx.workloads_of(dst)]
                continue
            future |= {f"{p.ref} {r.field}" for p in ix.policies_for(dst, "ingress") for r in p.ingress
                       if r.peers is None or any(selects_every_namespace(x.namespace_selector) for x in r.peers)}
            to = {w.ref.split(" (")[0] for w in ctx.workloads_of(dst)}
            for p in ix.policies_for(dst, "ingress"):
                for r in p.ingress:
                    ports = rule_port_set(r, dst.named_ports)
                    if not ports:
                        continue
                    sources = rule_sources(ix, p, r)
                    totals = rule_totals(ix, p, r)
                    if totals is not None and len(sources) - (ns in sources) > _WIDE:
                        _add_wide(wide, pairs, p.ref, r.field, totals, ns, dst, ports, to)
                        continue
                    for src_ns, m in sources.items():
                        if src_ns == ns:
                            continue
                        f = flows.setdefault(src_ns, {"ports": EMPTY, "firm": EMPTY, "open": EMPTY, "to": set(),
                                                      "by": set()})
                        f["ports"] = union(f["ports"], ports)
                        if m.selector:
                            f["firm"] = union(f["firm"], ports)
                        if m.egress_open:
                            f["open"] = union(f["open"], ports)
                        else:
                            for profile in m.egress_profiles.values():
                                f["open"] = union(f["open"], intersect(pairs.egress_of(profile, dst), ports))
                        f["to"] |= to
                        f["by"] |= {admit_text(p, r, peer, ports, pd) for peer, pd in m.peers}
        others = len(populated) - (ns in populated)
        if open_to_all and others:
            listed = ", ".join(sorted(open_to_all)[:_LISTED]) + (
                f" +{len(open_to_all) - _LISTED} more" if len(open_to_all) > _LISTED else "")
            message = (f"pods of {ns} that are not isolated for ingress accept connections from every namespace "
                       f"({others} other namespace(s) with pods, and namespaces created later): {listed}")
            if flows:
                message += "; isolated pods " + _flows_message(flows)
            if wide:
                message += "; " + _wide_message(wide)
            yield fail(subject, message, every_namespace=sorted(future), not_isolated=sorted(open_to_all),
                       sources=_sources(flows), **_wide_evidence(wide))
            continue
        if not flows and not wide and not future:
            yield passed(subject, f"no pod of {ns} accepts connections from pods of other namespaces")
            continue
        if not flows and not wide:
            yield fail(subject, f"pods of {ns} accept no pod of another namespace today, but {', '.join(sorted(future))} "
                                "admit(s) every namespace, including namespaces created later", sources={},
                       every_namespace=sorted(future))
            continue
        parts = [f"{len(flows)} other namespace(s): {_flows_message(flows)}"] if flows else []
        if wide:
            parts.append(_wide_message(wide))
        message = f"pods of {ns} accept connections from {'; and from '.join(parts)}"
        if future:
            message += "; some admit every namespace, including namespaces created later"
        yield fail(subject, message, every_namespace=sorted(future), sources=_sources(flows), **_wide_evidence(wide))


_WIDE = 50  # a rule admitting more source namespaces than this is summarised, not listed per namespace


def _add_wide(wide: dict[str, dict[str, Any]], pairs: Any, policy_ref: str, field: str, totals: SourceTotals,
              ns: str, dst: PodClass, ports: IntervalSet, to: set[str]) -> None:
    count, open_elsewhere, profiles = totals.others(ns)
    w = wide.setdefault(f"{policy_ref} {field}", {
        "peer": totals.peer[0], "namespaces": count, "ports": EMPTY, "open": EMPTY, "to": set(),
        "examples": [n for n in totals.namespaces[:_EXAMPLES + 1] if n != ns][:_EXAMPLES]})
    w["ports"] = union(w["ports"], ports)
    if open_elsewhere:
        w["open"] = union(w["open"], ports)
    else:
        for profile in profiles:
            w["open"] = union(w["open"], intersect(pairs.egress_of(profile, dst), ports))
    w["to"] |= to


def _tier_flows(ctx: Context, ns: str, dst: PodClass, flows: dict[str, dict[str, Any]],
                wide: dict[str, dict[str, Any]], future: set[str]) -> None:
    """What a destination class whose ingress cluster-scoped policies govern accepts from other namespaces,
    through every tier (`tier_ingress_sources`): added to `flows` per source namespace, or to `wide` when one
    set of sources spans more than _WIDE other namespaces; what it admits from every namespace to `future`."""
    ix = ctx.index
    ports, rules = every_namespace_admits(ix, dst, ALL_PORTS)
    if ports:
        future |= set(rules) if ix.isolated(dst, "ingress") else {f"{_refs(ctx, dst)}: {', '.join(rules)}"}
    to = {w.ref.split(" (")[0] for w in ctx.workloads_of(dst)}
    # Sets of sources admitted by the same rules are summed up before deciding whether to summarise them.
    by_rules: dict[str, list[TierSources]] = {}
    for ts in tier_ingress_sources(ix, dst, ALL_PORTS):
        by_rules.setdefault(", ".join(ts.where), []).append(ts)
    for where, sets in by_rules.items():
        namespaces = {n for ts in sets for n in ts.by_namespace if n != ns}
        if len(namespaces) > _WIDE:
            w = wide.setdefault(where, {"peer": "sources alike through the cluster-scoped tiers", "ports": EMPTY,
                                        "open": EMPTY, "to": set(), "source_namespaces": set()})
            w["source_namespaces"] |= namespaces
            w["namespaces"] = len(w["source_namespaces"])
            w["examples"] = sorted(w["source_namespaces"])[:_EXAMPLES]
            for ts in sets:
                w["ports"] = union(w["ports"], ts.ports)
                w["open"] = union(w["open"], _open(ctx, ts, None, [c for n, cs in ts.by_namespace.items()
                                                                   if n != ns for c in cs], dst))
            w["to"] |= to
            continue
        for ts in sets:
            for src_ns, classes in ts.by_namespace.items():
                if src_ns == ns:
                    continue
                f = flows.setdefault(src_ns, {"ports": EMPTY, "firm": EMPTY, "open": EMPTY, "to": set(),
                                              "by": set()})
                f["ports"] = union(f["ports"], ts.ports)
                f["firm"] = union(f["firm"], ts.firm)
                f["open"] = union(f["open"], _open(ctx, ts, src_ns, classes, dst))
                f["to"] |= to
                f["by"] |= set(ts.lines)


def _open(ctx: Context, ts: TierSources, src_ns: str | None, classes: Iterable[PodClass],
          dst: PodClass) -> IntervalSet:
    """The ports of `ts` that some of `classes` (the sources of `ts` in `src_ns`, or in every namespace but the
    destination's: None) may also send to `dst` (allowed end to end). A source's egress side depends on the
    destination only through the rule peers that match it and its named ports (`reach.memberships`), so it is
    computed once per such destination profile."""
    m = memberships(ctx.index)
    memo: dict[Any, IntervalSet] = ctx.index.memo.setdefault("np018_open", {})
    # With src_ns None the sources are those of every namespace but the destination's own.
    key = (id(ts), src_ns if src_ns is not None else ("all but", dst.namespace), m.member_eg[dst.id],
           m.member_tier[dst.id], dst.named_ports)
    got = memo.get(key)
    if got is None:
        got = EMPTY
        for c in _egress_representatives(ctx, classes):
            got = union(got, intersect(ctx.pairs.egress_ports(c, dst), ts.ports))
        memo[key] = got
    return got


def _egress_representatives(ctx: Context, classes: Iterable[PodClass]) -> list[PodClass]:
    """One class per distinct egress side: its egress NetworkPolicies, hostNetwork flag and cluster-scoped
    egress rules decide what it may send to a given destination."""
    ix = ctx.index
    keys: dict[int, tuple[object, ...]] = ix.memo.setdefault("np018_egress_keys", {})
    seen: dict[tuple[object, ...], PodClass] = {}
    for c in classes:
        key = keys.get(c.id)
        if key is None:
            key = keys[c.id] = (id(ix.policies_for(c, "egress")), c.host_network, ix.tiers.rule_ids(c, "egress"))
        seen.setdefault(key, c)
    return list(seen.values())


_EXAMPLES = 5


def _wide_message(wide: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{w['namespaces']} namespaces through {rule} ({w['peer']}; {ports_phrase(w['ports'])}, e.g. "
                     f"{', '.join(w['examples'])})" for rule, w in sorted(wide.items()))


def _wide_evidence(wide: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if not wide:
        return {}
    return {"wide_sources": {rule: {
        "peer": w["peer"], "namespaces": w["namespaces"], "examples": w["examples"],
        "ports": describe_ports(w["ports"]), "allowed_end_to_end": describe_ports(w["open"]),
        **_capped("destinations", w["to"])} for rule, w in sorted(wide.items())}}


_LISTED = 20  # pods named in a message, destinations and rules in the evidence per source namespace


def _flows_message(flows: dict[str, dict[str, Any]]) -> str:
    grouped: dict[str, list[str]] = {}
    for src_ns, f in sorted(flows.items()):
        grouped.setdefault(_flow_text(f), []).append(src_ns)
    return "; ".join(f"{', '.join(names)} ({text})" for text, names in grouped.items())


def _sources(flows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {src: {"ports": describe_ports(f["ports"]), "allowed_end_to_end": describe_ports(f["open"]),
                  "plugin_dependent_ports": describe_ports(subtract(f["ports"], f["firm"])),
                  **_capped("destinations", f["to"]), **_capped("admitted_by", f["by"])}
            for src, f in sorted(flows.items())}


def _capped(name: str, items: set[str]) -> dict[str, Any]:
    """At most _LISTED entries, and the total when there are more (the JSON of a 10,000-namespace cluster
    would otherwise repeat every pod for every source namespace)."""
    listed = sorted(items)
    out: dict[str, Any] = {name: listed[:_LISTED]}
    if len(listed) > _LISTED:
        out[f"{name}_total"] = len(listed)
    return out


def _flow_text(f: dict[str, Any]) -> str:
    to = sorted(f["to"])
    where = ", ".join(to[:2]) + (f" +{len(to) - 2} more" if len(to) > 2 else "")
    pd = ", plugin-dependent ipBlock match" if f["ports"] != f["firm"] else ""
    return f"{ports_phrase(f['ports'])} to {where}{pd}"


def _refs(ctx: Context, cls: PodClass) -> str:
    return ", ".join(w.ref for w in ctx.workloads_of(cls))
