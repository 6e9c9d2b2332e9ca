"""The cluster-scoped policy tiers around NetworkPolicy: the only place their semantics live.

One side of a connection (the egress of the source, or the ingress of the destination) is decided in this
order, per port:
1. Admin tier (AdminNetworkPolicy, ClusterNetworkPolicy tier Admin), policies by priority (lower first), each
   policy's rules in written order: the first rule whose peer and ports match decides. Allow (Accept) allows,
   Deny denies, Pass skips the rest of the tier.
2. NetworkPolicy: when a NetworkPolicy isolates the pod in that direction, its rules decide (what none allows
   is denied) and nothing below is consulted.
3. Baseline tier (BaselineAdminNetworkPolicy, ClusterNetworkPolicy tier Baseline), in the same way as the
   Admin tier (without Pass).
4. Otherwise allowed (the Kubernetes default).
A connection needs both sides: an egress Allow does not skip the destination's ingress rules. The subjects of
these policies, like their namespace and pod peers, never include hostNetwork pods. A `networks` peer matches
pod IPs too (the API says cluster-internal traffic is checked against it); `nodes` matches the addresses of the
matching nodes. Port sets are interval sets, so one walk answers every port at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    IntervalSet,
    contains,
    intersect,
    port_point,
    subtract,
    union,
)
from scanner.model import AdminPolicy, Direction, NamedPort, TierPeer, TierRule

if TYPE_CHECKING:
    from scanner.engine.index import Index, PodClass

TierRules = tuple[tuple[AdminPolicy, TierRule], ...]


@dataclass(frozen=True, slots=True)
class Step:
    """What one tier rule decided in a walk: the ports it matched first."""

    policy: AdminPolicy
    rule: TierRule
    ports: IntervalSet

    def describe(self) -> str:
        return f"{self.policy.describe()} {self.rule.describe()} {self.rule.action}"


@dataclass(frozen=True, slots=True)
class Decision:
    """One side of a class pair (or of a pod and an address set) through every tier."""

    allowed: IntervalSet
    admin: tuple[Step, ...]  # admin-tier rules that matched, in order (Pass included)
    baseline: tuple[Step, ...]  # baseline rules that matched (only when no NetworkPolicy isolates the pod)
    np_isolated: bool
    np_ports: IntervalSet  # what the NetworkPolicy tier allows (everything when it does not isolate)
    np_decides: IntervalSet  # the ports left to the NetworkPolicy tier (passed, or matched by no admin rule)


def rule_ports(rule: TierRule, named: tuple[NamedPort, ...] | None) -> IntervalSet:
    from scanner.engine.index import rule_port_set

    return rule_port_set(rule, named)


class Tiers:
    """The tiers of one index (read-only after construction; caches per class)."""

    def __init__(self, index: Index) -> None:
        from scanner.engine.analysis import public_addresses

        self.index = index
        self.policies = index.cluster.admin_policies
        self.active = bool(self.policies)
        self._rules: dict[tuple[int, str, str], TierRules] = {}
        self._public = public_addresses() if any(
            p.kind == "domainNames" for a in self.policies for r in (*a.ingress, *a.egress) for p in r.peers) \
            else EMPTY
        self._peer_addresses: dict[int, IntervalSet] = {}

    # --- selection ------------------------------------------------------------------------------------------

    def applies(self, policy: AdminPolicy, cls: PodClass) -> bool:
        """Is `cls` in the policy's subject? hostNetwork pods never are."""
        if cls.host_network:
            return False
        if not policy.subject_namespaces.matches(self.index.ns_labels.get(cls.namespace, {})):
            return False
        return policy.subject_pods is None or policy.subject_pods.matches(cls.labels)

    def rules(self, cls: PodClass, direction: Direction, tier: str) -> TierRules:
        """The rules of `tier` that apply to `cls` in `direction`, in evaluation order."""
        key = (cls.id, direction, tier)
        got = self._rules.get(key)
        if got is None:
            got = tuple((p, r) for p in self.policies if p.tier == tier and self.applies(p, cls)
                        for r in p.rules(direction))
            self._rules[key] = got
        return got

    def rule_ids(self, cls: PodClass, direction: Direction) -> tuple[int, ...]:
        """Identifies the tier rules that apply to `cls` in `direction` (both tiers, in order): classes with
        equal ids are treated alike by the tiers on that side."""
        return tuple(id(r) for tier in ("Admin", "Baseline") for _, r in self.rules(cls, direction, tier))

    def governs(self, cls: PodClass, direction: Direction) -> bool:
        """Does some tier rule apply to `cls` in `direction`?"""
        return self.active and bool(self.rules(cls, direction, "Admin") or self.rules(cls, direction, "Baseline"))

    # --- peers ----------------------------------------------------------------------------------------------

    def peer_matches_class(self, peer: TierPeer, cls: PodClass) -> bool:
        if peer.kind in ("namespaces", "pods"):
            if cls.host_network:
                return False
            assert peer.namespace_selector is not None
            if not peer.namespace_selector.matches(self.index.ns_labels.get(cls.namespace, {})):
                return False
            return peer.pod_selector is None or peer.pod_selector.matches(cls.labels)
        if peer.kind == "networks":
            return any(self.index.blocks[b] in cls.ip_blocks for b in peer.networks)
        if peer.kind == "nodes":  # a hostNetwork pod carries its node's address
            block = self.index.node_blocks.get(id(peer))
            return cls.host_network and block is not None and self.index.blocks[block] in cls.ip_blocks
        return False  # domain names are addresses outside the cluster, never pods

    def peer_addresses(self, peer: TierPeer) -> IntervalSet:
        """The addresses outside the pod network a peer matches."""
        got = self._peer_addresses.get(id(peer))
        if got is None:
            got = EMPTY
            if peer.kind == "networks":
                for b in peer.networks:
                    got = union(got, b.addresses)
            elif peer.kind == "nodes":
                got = self.index.node_blocks[id(peer)].addresses
            elif peer.kind == "domainNames":
                got = self._public
            self._peer_addresses[id(peer)] = got
        return got

    # --- deciding -------------------------------------------------------------------------------------------

    @staticmethod
    def walk(rules: TierRules, match: Callable[[TierPeer], bool], named: tuple[NamedPort, ...] | None,
             start: IntervalSet) -> tuple[list[Step], IntervalSet]:
        """First-match walk over `rules` for the ports of `start`: the steps (each rule's first-matched ports)
        and the ports no rule matched."""
        steps: list[Step] = []
        remaining = start
        for policy, rule in rules:
            if not remaining:
                break
            if not any(match(p) for p in rule.peers):
                continue
            hit = intersect(remaining, rule_ports(rule, named))
            if hit:
                steps.append(Step(policy, rule, hit))
                remaining = subtract(remaining, hit)
        return steps, remaining

    def decide(self, owner: PodClass, direction: Direction, match: Callable[[TierPeer], bool],
               named: tuple[NamedPort, ...] | None, np_ports: IntervalSet, np_isolated: bool,
               start: IntervalSet = ALL_PORTS) -> Decision:
        """One side through the tiers. `np_ports`: what owner's NetworkPolicies allow here (ALL_PORTS when none
        isolates it); `named`: the destination's named ports (None for an address)."""
        admin, rest = self.walk(self.rules(owner, direction, "Admin"), match, named, start)
        allowed: IntervalSet = EMPTY
        for s in admin:
            if s.rule.action == "Allow":
                allowed = union(allowed, s.ports)
            elif s.rule.action == "Pass":
                rest = union(rest, s.ports)
        baseline: list[Step] = []
        if np_isolated:
            allowed = union(allowed, intersect(rest, np_ports))
        else:
            baseline, left = self.walk(self.rules(owner, direction, "Baseline"), match, named, rest)
            allowed = union(allowed, left)
            for s in baseline:
                if s.rule.action == "Allow":
                    allowed = union(allowed, s.ports)
        return Decision(allowed, tuple(admin), tuple(baseline), np_isolated, np_ports, rest)

    def decide_class(self, owner: PodClass, direction: Direction, other: PodClass, np_ports: IntervalSet,
                     np_isolated: bool) -> Decision:
        named = owner.named_ports if direction == "ingress" else other.named_ports
        return self.decide(owner, direction, lambda p: self.peer_matches_class(p, other), named, np_ports,
                           np_isolated)

    def address_pieces(self, owner: PodClass, direction: Direction,
                       addresses: IntervalSet) -> Iterator[tuple[IntervalSet, frozenset[int]]]:
        """`addresses` split so that every tier peer of owner's rules holds each piece wholly or not at all:
        (piece, ids of the peers that hold it)."""
        peers = {id(p): p for tier in ("Admin", "Baseline") for _, r in self.rules(owner, direction, tier)
                 for p in r.peers if p.kind in ("networks", "nodes", "domainNames")}
        spaces: list[tuple[int | None, IntervalSet]] = [(pid, self.peer_addresses(p)) for pid, p in peers.items()]
        # The owner's NetworkPolicy ipBlocks cut the pieces too, so that what its NetworkPolicies allow is the
        # same for every address of a piece (an `except` range is a piece of its own).
        for pol in self.index.policies_for(owner, direction):
            for r in pol.rules(direction):
                spaces += [(None, x.ip_block.addresses) for x in r.peers or () if x.ip_block is not None]
        pieces: list[tuple[IntervalSet, frozenset[int]]] = [(addresses, frozenset())]
        for pid, space in spaces:
            nxt = []
            for piece, held in pieces:
                inside, outside = intersect(piece, space), subtract(piece, space)
                if inside:
                    nxt.append((inside, held | {pid} if pid is not None else held))
                if outside:
                    nxt.append((outside, held))
            pieces = nxt
        yield from pieces

    def address_ports(self, owner: PodClass, direction: Direction, addresses: IntervalSet,
                      np_ports: Callable[[IntervalSet], IntervalSet], np_isolated: bool) -> IntervalSet:
        """Ports on which some address of `addresses` is allowed on owner's side. Only egress rules can name
        addresses (ingress peers are pods and namespaces)."""
        out: IntervalSet = EMPTY
        for piece, held in self.address_pieces(owner, direction, addresses):
            d = self.decide(owner, direction, holds(held), None, np_ports(piece) if np_isolated else ALL_PORTS,
                            np_isolated)
            out = union(out, d.allowed)
        return out

    def explain_point(self, owner: PodClass, direction: Direction, match: Callable[[TierPeer], bool],
                      named: tuple[NamedPort, ...] | None, proto: str, number: int) -> tuple[Step | None, str]:
        """For one port: the admin-tier step that decides it (or passes it), and 'admin' / 'pass' / 'none'."""
        point = port_point(proto, number)
        one: IntervalSet = ((point, point),)
        steps, _ = self.walk(self.rules(owner, direction, "Admin"), match, named, one)
        if not steps:
            return None, "none"
        s = steps[0]
        return s, "pass" if s.rule.action == "Pass" else "admin"

    def explain_baseline(self, owner: PodClass, direction: Direction, match: Callable[[TierPeer], bool],
                         named: tuple[NamedPort, ...] | None, proto: str, number: int) -> Step | None:
        point = port_point(proto, number)
        steps, _ = self.walk(self.rules(owner, direction, "Baseline"), match, named, ((point, point),))
        return steps[0] if steps else None

    # --- isolation by a tier --------------------------------------------------------------------------------

    def default_deny(self, cls: PodClass, direction: Direction) -> tuple[Step | None, bool]:
        """The tier rule that denies by default what no NetworkPolicy isolates: a Deny of every pod of every
        namespace on every port, in the Admin or Baseline tier, that no earlier Allow or Pass of every pod
        pre-empts. Returns (that step, whether it also covers every address outside the cluster: for egress,
        every address of the networks it or a following deny names)."""
        for tier in ("Admin", "Baseline"):
            for policy, rule in self.rules(cls, direction, tier):
                if rule.ports is not None or not any(every_pod(p) for p in rule.peers):
                    continue
                if rule.action != "Deny":
                    return None, False  # an Allow or Pass of everything comes first
                from scanner.engine.analysis import ALL_ADDRESSES

                covered: IntervalSet = EMPTY
                for _, r2 in self.rules(cls, direction, tier):
                    if r2.action == "Deny" and r2.ports is None:
                        for peer in r2.peers:
                            covered = union(covered, self.peer_addresses(peer))
                return Step(policy, rule, ALL_PORTS), not subtract(ALL_ADDRESSES, covered)
        return None, False

    def isolates(self, cls: PodClass, direction: Direction) -> Step | None:
        """The tier rule that isolates `cls` in `direction` as a NetworkPolicy would (what is not allowed
        before it is denied): `default_deny`, and for egress only when it covers addresses outside the cluster
        too."""
        if not self.active or cls.host_network:
            return None
        step, covers = self.default_deny(cls, direction)
        return step if step is not None and (direction == "ingress" or covers) else None


def every_pod(peer: TierPeer) -> bool:
    """Does the peer select every pod of every namespace, present and future?"""
    if peer.kind not in ("namespaces", "pods"):
        return False
    assert peer.namespace_selector is not None
    return peer.namespace_selector.is_empty and (peer.pod_selector is None or peer.pod_selector.is_empty)


def holds(peer_ids: frozenset[int]) -> Callable[[TierPeer], bool]:
    """A peer matcher for an address piece of `Tiers.address_pieces`."""
    return lambda p: id(p) in peer_ids


def point_in(ports: IntervalSet, proto: str, number: int) -> bool:
    return contains(ports, port_point(proto, number))
