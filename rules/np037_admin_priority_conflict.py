"""NP037: two cluster-scoped policies of one tier share a priority and could both match a connection with
different actions: the API leaves the outcome to the implementation.

For each tier and priority, each pair of distinct policies is checked: a class both apply to (the subject
overlap), and in one direction a rule of each with different actions whose peers match a common class (ports
resolved on the destination) or common addresses, on overlapping ports. A BaselineAdminNetworkPolicy is a
singleton and has no priority, so it never pairs with itself. One FAIL per conflicting pair (subject: the
first of the two by name; the other and an example flow in the evidence), one PASS per other policy.
"""

from collections.abc import Iterator
from itertools import combinations
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import ports_phrase
from scanner.engine.index import PodClass
from scanner.engine.tiers import Tiers, rule_ports
from scanner.findings import Result, Subject, fail, not_applicable, passed
from scanner.intervals import describe_ports, intersect
from scanner.model import DIRECTIONS, AdminPolicy, Direction, TierRule


@rule("NP037")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    tiers = ix.tiers
    pols = [p for p in ctx.cluster.admin_policies if p.kind != "BaselineAdminNetworkPolicy"]
    if not pols:
        yield not_applicable("no AdminNetworkPolicy or ClusterNetworkPolicy in the input")
        return
    groups: dict[tuple[str, int], list[AdminPolicy]] = {}
    for p in pols:
        groups.setdefault((p.tier, p.priority), []).append(p)
    conflicted: set[str] = set()
    for (tier, priority), members in sorted(groups.items()):
        for a, b in combinations(sorted(members, key=lambda p: p.ref), 2):
            both = [c for c in ix.classes if tiers.applies(a, c) and tiers.applies(b, c)]
            example = _conflict(ctx, tiers, a, b, both)
            if example is None:
                continue
            conflicted |= {a.ref, b.ref}
            yield fail(Subject(a.kind, None, a.name),
                       f"{a.describe()} and {b.describe()} share priority {priority} in the {tier} tier and "
                       f"could both match {example['direction']} traffic of {example['subject']} "
                       f"({example['peer']}, {ports_phrase(example['ports_set'])}) with different actions "
                       f"({example['actions']}): which one applies is undefined",
                       other=b.ref, tier=tier, priority=priority,
                       example={k: v for k, v in example.items() if k != "ports_set"},
                       source=a.source.describe() if a.source else None)
    for p in pols:
        if p.ref not in conflicted:
            yield passed(Subject(p.kind, None, p.name), f"{p.describe()}: no policy of the same tier and priority "
                                                        "matches the same traffic with another action")


def _conflict(ctx: Context, tiers: Tiers, a: AdminPolicy, b: AdminPolicy,
              owners: list[PodClass]) -> dict[str, Any] | None:
    if not owners:
        return None
    for direction in DIRECTIONS:
        for ra in a.rules(direction):
            for rb in b.rules(direction):
                if ra.action == rb.action:
                    continue
                got = _overlap(ctx, tiers, direction, ra, rb, owners)
                if got is not None:
                    owner, peer, ports = got
                    return {"direction": direction, "subject": ctx.workloads_of(owner)[0].ref
                            if ctx.workloads_of(owner) else owner.namespace,
                            "peer": peer, "ports": describe_ports(ports), "ports_set": ports,
                            "rules": [f"{a.ref} {ra.describe()} {ra.action}", f"{b.ref} {rb.describe()} {rb.action}"],
                            "actions": f"{ra.action} and {rb.action}"}
    return None


def _overlap(ctx: Context, tiers: Tiers, direction: Direction, ra: TierRule, rb: TierRule,
             owners: list[PodClass]) -> tuple[PodClass, str, Any] | None:
    ix = ctx.index
    for other in ix.classes:
        if not (any(tiers.peer_matches_class(p, other) for p in ra.peers)
                and any(tiers.peer_matches_class(p, other) for p in rb.peers)):
            continue
        for owner in owners:
            named = owner.named_ports if direction == "ingress" else other.named_ports
            ports = intersect(rule_ports(ra, named), rule_ports(rb, named))
            if ports:
                ws = ctx.workloads_of(other)
                return owner, ws[0].ref if ws else other.namespace, ports
    for pa in ra.peers:
        for pb in rb.peers:
            shared = intersect(tiers.peer_addresses(pa), tiers.peer_addresses(pb))
            ports = intersect(rule_ports(ra, None), rule_ports(rb, None))
            if shared and ports:
                from scanner.engine.exposure import address_cidrs

                return owners[0], ", ".join(address_cidrs(shared)), ports
    return None
