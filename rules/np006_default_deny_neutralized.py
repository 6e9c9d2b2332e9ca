"""NP006: the namespace is isolated (a catch-all policy affects the direction), but the union of the rules of
the policies that select every pod of it admits every source (every destination) on every port.

Per namespace and direction: "isolated" means a policy with an empty podSelector affects the direction (the
default deny). The policies that govern every pod are the catch-alls plus, when the namespace holds pods, any
policy whose podSelector selects every governable (non-hostNetwork) pod. Their rules are judged together with
`ports_for_everyone`: every address (IPv4, and IPv6 when in use) and every pod of every namespace must be
admitted on every port of every protocol. On ingress a named port resolves on the governed pod, so each
distinct set of named ports of the namespace's pods is judged (all must be open); on egress named ports resolve
on no "everyone". One result per namespace that is isolated in some direction.
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.hygiene import Selection, address_universe, admits_every_pod, ports_for_everyone
from scanner.findings import Result, fail, not_applicable, passed
from scanner.intervals import ALL_PORTS
from scanner.model import DIRECTIONS, Policy, Rule

_WORDS = {"ingress": ("Ingress", "source"), "egress": ("Egress", "destination")}


def _broad(r: Rule) -> bool:
    return r.peers is None or any(admits_every_pod(p) or (p.ip_block is not None and p.ip_block.prefixlen == 0)
                                  for p in r.peers)


@rule("NP006")
def check(ctx: Context) -> Iterator[Result]:
    ix = ctx.index
    sel = Selection(ix)
    universe = address_universe(ctx.cluster, (*ctx.config.pod_cidrs, *ctx.config.service_cidrs,
                                              *ctx.config.node_cidrs))
    judged = False
    for ns in sorted(ix.policies_by_ns):
        policies = ix.policies_by_ns[ns]
        governable = sel.governable(ns)
        everyone = [p for p in policies if p.pod_selector.is_empty or (
            governable and all(p in ix.selecting(c) for c in governable))]
        notes: list[str] = []
        evidence: dict[str, Any] = {}
        isolated_in: list[str] = []
        for direction in DIRECTIONS:
            word, peer_word = _WORDS[direction]
            isolating = [p for p in policies if p.pod_selector.is_empty and p.affects(direction)]
            if not isolating:
                continue
            isolated_in.append(word)
            covering: list[Policy] = [p for p in everyone if p.affects(direction)]
            rules = [r for p in covering for r in p.rules(direction)]
            if direction == "ingress" and governable:
                shapes = {c.named_ports for c in governable}
                opened = all(ports_for_everyone(rules, shape, universe) == ALL_PORTS for shape in shapes)
            else:
                opened = ports_for_everyone(rules, None, universe) == ALL_PORTS
            if not opened:
                continue
            culprits = [f"{p.ref} {r.field}" for p in covering for r in p.rules(direction) if _broad(r)]
            notes.append(f"every pod is isolated for {word} (by {', '.join(p.name for p in isolating)}), yet "
                         f"{', '.join(culprits) or 'the rules of ' + ', '.join(p.ref for p in covering)} "
                         f"admit(s) every {peer_word}, in and out of the cluster, on every port")
            evidence[direction] = {"isolated_by": [p.ref for p in isolating],
                                   "policies_selecting_every_pod": [p.ref for p in covering],
                                   "admitting_rules": culprits}
        if not isolated_in:
            continue
        judged = True
        subject = ctx.namespace_subject(ns)
        if notes:
            yield fail(subject, f"namespace {ns} is isolated in name only: " + "; ".join(notes)
                       + ". Remove or narrow the allow-all so the default deny takes effect.", **evidence)
        else:
            yield passed(subject, f"the default deny of namespace {ns} ({', '.join(isolated_in)}) is not "
                                  "neutralized by a rule that admits everyone on every port",
                         isolated_directions=isolated_in)
    if not judged:
        yield not_applicable("no namespace has a catch-all (empty podSelector) policy, so no default deny can "
                             "be neutralized")
