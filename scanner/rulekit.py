"""Helpers shared by several rules (not semantics: those live in scanner.engine)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.context import Context
from scanner.findings import Result, fail, passed
from scanner.model import Direction, Policy


def namespaces_to_judge(ctx: Context) -> list[str]:
    """Namespaces that hold pods, and namespaces defined in the input (pods created tomorrow land there)."""
    names = set(ctx.endpoints_by_namespace)
    names |= {n for n, ns in ctx.cluster.namespaces.items() if ns.defined}
    return sorted(names)


def _allows(p: Policy, direction: Direction) -> str:
    rules = p.rules(direction)
    if not rules:
        return "allows nothing (pure deny)"
    if any(r.peers is None and r.ports is None for r in rules):
        return "allows everything"
    return f"allows {len(rules)} rule(s)"


def check_default_deny(ctx: Context, direction: Direction) -> Iterator[Result]:
    word = "Ingress" if direction == "ingress" else "Egress"
    for ns in namespaces_to_judge(ctx):
        subject = ctx.namespace_subject(ns)
        catch_all = [p for p in ctx.index.policies_by_ns.get(ns, []) if p.pod_selector.is_empty]
        covering = [p for p in catch_all if p.affects(direction)]
        if covering:
            yield passed(subject, f"{', '.join(p.name for p in covering)} select(s) every pod for {word}",
                         policies=[p.ref for p in covering],
                         allows={p.ref: _allows(p, direction) for p in covering})
            continue
        notes = []
        for p in catch_all:
            if direction == "egress" and not p.policy_types_explicit:
                notes.append(f"{p.name} omits policyTypes and has no egress rules, so it only covers ingress")
            else:
                notes.append(f"{p.name} selects every pod but its policyTypes are "
                             f"{', '.join(sorted(p.policy_types))}")
        message = f"no policy with an empty podSelector covers {word} in namespace {ns}: pods created later " \
                  f"start open for {word.lower()}"
        if notes:
            message += "; " + "; ".join(notes)
        yield fail(subject, message, catch_all_policies=[p.ref for p in catch_all],
                   pods=len(ctx.endpoints_by_namespace.get(ns, [])))


def check_pod_isolation(ctx: Context, direction: Direction) -> Iterator[Result]:
    """NP004/NP005: one result per workload (per pod for bare pods); "selected by no policy affecting the direction" is the failure (a
    selected hostNetwork pod is NP009's business, not this rule's)."""
    word = "ingress" if direction == "ingress" else "egress"
    tiers = ctx.index.tiers
    for cls in ctx.index.classes:
        policies = ctx.index.policies_for(cls, direction)
        tier = None if policies else tiers.isolates(cls, direction)
        partial = None
        if not policies and tier is None and direction == "egress" and tiers.active and not cls.host_network:
            partial = tiers.default_deny(cls, direction)[0]
        for w in ctx.workloads_of(cls):
            if policies:
                yield passed(w.subject, f"selected for {word} by {', '.join(p.ref for p in policies)}",
                             policies=[p.ref for p in policies], **w.evidence())
            elif tier is not None:
                caveat = ("; these APIs cannot name sources outside the cluster, so traffic from outside (through "
                          "a Service, see NP033) is not denied by it" if direction == "ingress" else "")
                yield passed(w.subject, f"selected for {word} by no NetworkPolicy, but isolated by {tier.describe()}: "
                                        f"{'pod sources' if direction == 'ingress' else 'destinations'} not allowed "
                                        f"before it are denied{caveat}", policies=[tier.policy.ref],
                             isolated_by_tier=tier.policy.ref, **w.evidence())
            elif partial is not None:
                yield fail(w.subject, f"{w.ref} is selected by no policy affecting Egress; {partial.describe()} "
                                      "denies its egress to pods, but addresses outside the cluster (the internet "
                                      "and the cloud metadata endpoint included) stay reachable",
                           policies=[partial.policy.ref], **w.evidence())
            elif direction == "ingress":
                yield fail(w.subject, f"{w.ref} is selected by no policy affecting Ingress: every source, in or "
                                      "out of the cluster, may connect to it on every port", **w.evidence())
            else:
                yield fail(w.subject, f"{w.ref} is selected by no policy affecting Egress: it may connect to "
                                      "any destination, the internet and the cloud metadata endpoint included",
                           **w.evidence())
