"""What policies contribute: would removing one policy (NP027), or every policy (NP028), change what a pod
is allowed?

A class's allowance in one direction is, per peer class, the ports the rules of its governing policies admit
(`Index.rule_matches_class`, `rule_port_set`, as in `PairCache`), and, over the address space, the ports each
rule admits for the addresses its peers cover (an empty `from`/`to` covers every address, an ipBlock its
`cidr` minus `except`: what `Index.rule_matches_address` tests point by point). A class that no policy
affecting the direction governs, or a hostNetwork class, is allowed everything. Comparisons answer with a
`Gap`: one concrete (peer, ports) that differs, or None.

Catch-all policies (`podSelector: {}`) also govern pods created later, so each namespace has a *future pod*:
a synthetic class governed by the namespace's catch-alls only. Its named ports are the names those catch-alls'
ingress rules use, on numbers no numeric port entry names, so that a named port is never mistaken as covered.

This module answers questions; the rules decide what is a finding.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from scanner.engine.analysis import ALL_ADDRESSES
from scanner.engine.index import Index, PodClass, port_spec_set, rule_port_set
from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    Interval,
    IntervalSet,
    all_ports,
    contains,
    describe_ports,
    ports_text,
    subtract,
    union,
)
from scanner.model import DIRECTIONS, Direction, NamedPort, Policy, Rule

FUTURE_ID = -1
_V6_OFFSET = 1 << 32


@dataclass(frozen=True, slots=True)
class Gap:
    """One connection that differs: `pod` (the governed side) and `peer` (a pod, or an address range)."""

    direction: Direction
    pod: str
    peer: str
    ports: IntervalSet

    def describe(self) -> str:
        src, dst = (self.peer, self.pod) if self.direction == "ingress" else (self.pod, self.peer)
        return f"{src} -> {dst} on {ports_text(self.ports)}"

    def to_json(self) -> dict[str, object]:
        return {"direction": self.direction, "pod": self.pod, "peer": self.peer,
                "ports": describe_ports(self.ports)}


def describe_addresses(iv: Interval) -> str:
    """An address interval of the engine as CIDRs (the first few; IPv4 and IPv6 parts alike)."""
    lo, hi = iv
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    if lo < _V6_OFFSET:
        nets += ipaddress.summarize_address_range(ipaddress.IPv4Address(lo),
                                                  ipaddress.IPv4Address(min(hi, _V6_OFFSET - 1)))
    if hi >= _V6_OFFSET:
        nets += ipaddress.summarize_address_range(ipaddress.IPv6Address(max(lo, _V6_OFFSET) - _V6_OFFSET),
                                                  ipaddress.IPv6Address(hi - _V6_OFFSET))
    text = ", ".join(str(n) for n in nets[:3])
    return text + (f" and {len(nets) - 3} more ranges" if len(nets) > 3 else "")


class Contributions:
    """Allowance comparisons over one Index, with per-rule match sets from the index (`Index.rule_classes`)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._future: dict[str, PodClass] = {}

    # --- who governs what -----------------------------------------------------------------------------------

    def catch_alls(self, namespace: str, direction: Direction) -> tuple[Policy, ...]:
        return tuple(p for p in self.index.policies_by_ns.get(namespace, ())
                     if p.pod_selector.is_empty and p.affects(direction))

    def future_pod(self, namespace: str) -> PodClass:
        """The synthetic class standing for pods created later in `namespace` (governed by catch-alls only)."""
        got = self._future.get(namespace)
        if got is None:
            got = PodClass(FUTURE_ID, namespace, {}, self._future_ports(namespace), False, frozenset())
            self._future[namespace] = got
        return got

    def _future_ports(self, namespace: str) -> tuple[NamedPort, ...]:
        names: set[tuple[str, str]] = set()
        numeric: dict[str, IntervalSet] = {}
        for p in self.catch_alls(namespace, "ingress"):
            for r in p.rules("ingress"):
                for spec in r.ports or ():
                    if isinstance(spec.port, str):
                        names.add((spec.port, spec.protocol))
                    else:
                        numeric[spec.protocol] = union(numeric.get(spec.protocol, EMPTY),
                                                       port_spec_set(spec, None))
        out = []
        for name, proto in sorted(names):
            free = subtract(all_ports(proto), numeric.get(proto, EMPTY))
            point = free[-1][1] if free else all_ports(proto)[0][1]
            number = point - all_ports(proto)[0][0] + 1
            out.append(NamedPort(name, proto, number))
            numeric[proto] = union(numeric.get(proto, EMPTY), ((point, point),))
        return tuple(out)

    def governing(self, cls: PodClass, direction: Direction) -> tuple[Policy, ...]:
        """The policies that isolate `cls` in `direction` (none: it is allowed everything)."""
        if cls.id == FUTURE_ID:
            return self.catch_alls(cls.namespace, direction)
        if not self.index.isolated(cls, direction):
            return ()
        return self.index.policies_for(cls, direction)

    def label(self, cls: PodClass) -> str:
        if cls.id == FUTURE_ID:
            return f"a pod created later in {cls.namespace}"
        eps = self.index.cluster.endpoints
        first = eps[cls.members[0]].ref
        return first if len(cls.members) == 1 else f"{first} (and {len(cls.members) - 1} alike)"

    # --- matching, cached -----------------------------------------------------------------------------------

    def matched(self, policy: Policy, rule: Rule) -> frozenset[int] | None:
        """Ids of the classes a rule's peers match (None: every peer, `from`/`to` empty)."""
        return None if rule.peers is None else self.index.rule_classes(policy, rule)

    @staticmethod
    def _rule_addresses(rule: Rule) -> IntervalSet:
        if rule.peers is None:
            return ALL_ADDRESSES
        out: IntervalSet = EMPTY
        for peer in rule.peers:
            if peer.ip_block is not None:
                out = union(out, peer.ip_block.addresses)
        return out

    @staticmethod
    def _ports(rule: Rule, cls: PodClass, other: PodClass | None) -> IntervalSet:
        """Ports `rule` (governing `cls`) admits towards or from `other` (None: an address)."""
        if rule.direction == "ingress":
            return rule_port_set(rule, cls.named_ports)
        return rule_port_set(rule, other.named_ports if other is not None else None)

    def _class_ports(self, policies: tuple[Policy, ...], cls: PodClass, other: PodClass,
                     direction: Direction) -> IntervalSet:
        out: IntervalSet = EMPTY
        for p in policies:
            for r in p.rules(direction):
                m = self.matched(p, r)
                if m is None or other.id in m:
                    out = union(out, self._ports(r, cls, other))
                    if out == ALL_PORTS:
                        return out
        return out

    def _address_map(self, policies: tuple[Policy, ...], cls: PodClass,
                     direction: Direction) -> list[tuple[IntervalSet, IntervalSet]]:
        out = []
        for p in policies:
            for r in p.rules(direction):
                addrs = self._rule_addresses(r)
                ports = self._ports(r, cls, None)
                if addrs and ports:
                    out.append((addrs, ports))
        return out

    # --- comparisons ----------------------------------------------------------------------------------------

    def _peers(self, cls: PodClass, exclude_self: bool, ids: frozenset[int] | None = None) -> Iterator[PodClass]:
        """The classes a connection of `cls` may involve, in index order (restricted to `ids` when given); a
        single pod talking to itself is not judged."""
        skip = cls.id if exclude_self and len(cls.members) < 2 else None
        classes = self.index.classes
        chosen = classes if ids is None else (classes[i] for i in sorted(ids))
        return (c for c in chosen if c.id != skip)

    @staticmethod
    def _address_gap(want: list[tuple[IntervalSet, IntervalSet]],
                     have: list[tuple[IntervalSet, IntervalSet]]) -> tuple[Interval, IntervalSet] | None:
        """A piece of address space with ports that `want` admits and `have` does not, or None."""
        bounds: set[int] = {_V6_OFFSET}  # a piece never spans IPv4 and IPv6
        for addrs, _ in (*want, *have):
            for lo, hi in addrs:
                bounds.add(lo)
                bounds.add(hi + 1)
        cuts = sorted(bounds)

        def missing_at(a: int, ports: IntervalSet) -> IntervalSet:
            covered: IntervalSet = EMPTY
            for h_addrs, h_ports in have:
                if contains(h_addrs, a):
                    covered = union(covered, h_ports)
            return subtract(ports, covered)

        for addrs, ports in want:
            for lo, hi in addrs:
                start = bisect.bisect_left(cuts, lo)
                stop = bisect.bisect_right(cuts, hi + 1)
                pieces = list(itertools.pairwise(cuts[start:stop]))
                for k, (a, b) in enumerate(pieces):
                    missing = missing_at(a, ports)
                    if missing:
                        # widen over the following pieces that miss the same ports, for a readable range
                        end = b
                        for a2, b2 in pieces[k + 1:]:
                            if missing_at(a2, ports) != missing:
                                break
                            end = b2
                        return (a, end - 1), missing
        return None

    def restriction_gap(self, cls: PodClass, direction: Direction, exclude_self: bool = True) -> Gap | None:
        """Something that no policy at all would allow but the class's policies deny (None: its policies
        restrict nothing in `direction`)."""
        return self._gap_to_everything(cls, direction, self.governing(cls, direction), exclude_self)

    def _gap_to_everything(self, cls: PodClass, direction: Direction, policies: tuple[Policy, ...],
                           exclude_self: bool) -> Gap | None:
        if not policies:
            return None
        rules = [r for p in policies for r in p.rules(direction)]
        if any(r.peers is None and r.ports is None for r in rules):
            return None
        hole = self._address_gap([(ALL_ADDRESSES, ALL_PORTS)], self._address_map(policies, cls, direction))
        if hole is not None:
            return Gap(direction, self.label(cls), describe_addresses(hole[0]), hole[1])
        for other in self._peers(cls, exclude_self):
            missing = subtract(ALL_PORTS, self._class_ports(policies, cls, other, direction))
            if missing:
                return Gap(direction, self.label(cls), self.label(other), missing)
        return None

    def removal_gap(self, cls: PodClass, direction: Direction, policy: Policy,
                    exclude_self: bool = True) -> Gap | None:
        """A connection of `cls` in `direction` that removing `policy` would change (None: nothing changes).
        When `policy` is the only one isolating the class, removal opens what it denies; otherwise removal
        closes what only it allows."""
        governing = self.governing(cls, direction)
        if policy not in governing:
            return None
        others = tuple(p for p in governing if p is not policy)
        if not others:
            return self._gap_to_everything(cls, direction, (policy,), exclude_self)
        rules = [r for p in others for r in p.rules(direction)]
        if any(r.peers is None and r.ports is None for r in rules):
            return None
        hole = self._address_gap(self._address_map((policy,), cls, direction),
                                 self._address_map(others, cls, direction))
        if hole is not None:
            return Gap(direction, self.label(cls), describe_addresses(hole[0]), hole[1])
        for r in policy.rules(direction):
            for other in self._peers(cls, exclude_self, self.matched(policy, r)):
                ports = self._ports(r, cls, other)
                if ports:
                    missing = subtract(ports, self._class_ports(others, cls, other, direction))
                    if missing:
                        return Gap(direction, self.label(cls), self.label(other), missing)
        return None

    # --- grouped questions ----------------------------------------------------------------------------------

    def _groups(self, classes: list[PodClass], direction: Direction) -> list[tuple[PodClass, bool]]:
        """One representative per shape (governing policies, and named ports on ingress) with whether the
        self pair must be left out (only when the shape is one single-pod class)."""
        groups: dict[tuple[object, ...], list[PodClass]] = {}
        for c in classes:
            if c.host_network:
                continue  # never isolated: no policy changes what it is allowed
            key = (tuple(id(p) for p in self.governing(c, direction)),
                   c.named_ports if direction == "ingress" else ())
            groups.setdefault(key, []).append(c)
        return [(cs[0], len(cs) == 1) for cs in groups.values()]

    def policy_change(self, policy: Policy) -> Gap | None:
        """A connection that removing `policy` would change, for the pods it selects (and, for a catch-all,
        for pods created later in its namespace); None when it changes nothing."""
        selected = [c for c in self.index.classes_by_ns.get(policy.namespace, [])
                    if policy in self.index.selecting(c)]
        for direction in DIRECTIONS:
            if not policy.affects(direction):
                continue
            for cls, single in self._groups(selected, direction):
                gap = self.removal_gap(cls, direction, policy, exclude_self=single)
                if gap is not None:
                    return gap
            if policy.pod_selector.is_empty:
                gap = self.removal_gap(self.future_pod(policy.namespace), direction, policy)
                if gap is not None:
                    return gap
        return None

    def namespace_restriction(self, namespace: str) -> Gap | None:
        """Something the namespace's policies deny one of its pods (or a pod created later, when catch-alls
        exist) that no policy would; None when they restrict nothing."""
        classes = self.index.classes_by_ns.get(namespace, [])
        for direction in DIRECTIONS:
            for cls, single in self._groups(classes, direction):
                gap = self.restriction_gap(cls, direction, exclude_self=single)
                if gap is not None:
                    return gap
            if self.catch_alls(namespace, direction):
                gap = self.restriction_gap(self.future_pod(namespace), direction)
                if gap is not None:
                    return gap
        return None

