"""NP036: an Admin-tier rule allows traffic that the NetworkPolicies of the pod's namespace deny.

An Admin-tier `Allow` (ClusterNetworkPolicy `Accept`) decides before NetworkPolicy, so a namespace owner who
isolated a pod cannot close what it opens. For every Admin-tier policy, for every subject class and every
class its Allow rule's peers match (and, for egress, the addresses of its `networks`, `nodes` and
`domainNames` peers), the ports that rule decides (`Tiers.decide`: its first-match share, after earlier rules)
are compared with what the class's NetworkPolicies allow: the difference is opened by the admin tier. Only
pods a NetworkPolicy isolates count (where none does, nothing is denied to override). One FAIL per policy that
opens something (the rules, up to 20 flows each with totals), one PASS per other Admin-tier policy.
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.analysis import np_address_ports
from scanner.engine.tiers import holds
from scanner.findings import Result, Subject, fail, not_applicable, passed
from scanner.intervals import describe_ports, subtract
from scanner.model import DIRECTIONS

_LISTED = 20


@rule("NP036")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    tiers = ix.tiers
    admin = [p for p in ctx.cluster.admin_policies if p.tier == "Admin"]
    if not admin:
        yield not_applicable("no Admin-tier AdminNetworkPolicy or ClusterNetworkPolicy in the input")
        return
    pairs = ctx.pairs
    for policy in admin:
        opened: dict[str, list[dict[str, Any]]] = {}
        totals: dict[str, int] = {}
        owners = [c for c in ix.classes if tiers.applies(policy, c)]
        for direction in DIRECTIONS:
            allows = [r for r in policy.rules(direction) if r.action == "Allow"]
            if not allows:
                continue
            matched = [c for c in ix.classes if any(tiers.peer_matches_class(p, c) for r in allows for p in r.peers)]
            for owner in owners:
                if not ix.isolated(owner, direction):
                    continue
                for other in matched:
                    if other.id == owner.id and len(owner.members) < 2:
                        continue
                    if direction == "egress":
                        np = pairs.egress_of(ix.policies_for(owner, "egress"), other)
                    else:
                        np = pairs.np_ingress(other, owner)
                    d = tiers.decide_class(owner, direction, other, np, True)
                    for s in d.admin:
                        if s.policy is policy and s.rule.action == "Allow":
                            extra = subtract(s.ports, np)
                            if extra:
                                _add(opened, totals, s.rule.describe(), {
                                    "subject": _names(ctx, owner), "peer": _names(ctx, other),
                                    "direction": direction, "ports": describe_ports(extra)})
                if direction == "egress":
                    from scanner.engine.analysis import ALL_ADDRESSES

                    for piece, held in tiers.address_pieces(owner, "egress", ALL_ADDRESSES):
                        if not held:
                            continue
                        np = np_address_ports(ix, owner, "egress", piece)
                        d = tiers.decide(owner, "egress", holds(held), None, np, True)
                        for s in d.admin:
                            if s.policy is policy and s.rule.action == "Allow":
                                extra = subtract(s.ports, np)
                                if extra:
                                    from scanner.engine.exposure import address_cidrs

                                    _add(opened, totals, s.rule.describe(), {
                                        "subject": _names(ctx, owner), "peer": ", ".join(address_cidrs(piece)),
                                        "direction": "egress", "ports": describe_ports(extra)})
        subject = Subject(policy.kind, None, policy.name)
        if opened:
            rules = ", ".join(sorted(opened))
            yield fail(subject, f"{policy.describe()} allows, in {rules}, traffic that the NetworkPolicies of "
                                "the pods it applies to deny: namespace owners cannot close it "
                                f"({sum(totals.values())} flow(s))",
                       opened={k: v for k, v in sorted(opened.items())}, totals=dict(sorted(totals.items())),
                       source=policy.source.describe() if policy.source else None)
        else:
            yield passed(subject, f"{policy.describe()} opens nothing that a NetworkPolicy denies")


def _names(ctx: Context, cls: Any) -> str:
    ws = ctx.workloads_of(cls)
    names = sorted(w.ref for w in ws)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _add(opened: dict[str, list[dict[str, Any]]], totals: dict[str, int], key: str, flow: dict[str, Any]) -> None:
    totals[key] = totals.get(key, 0) + 1
    flows = opened.setdefault(key, [])
    if len(flows) < _LISTED:
        flows.append(flow)
