"""Higher-level reachability questions the rules ask, answered with the engine's primitives.

Rules must not re-implement semantics: when a rule needs "who can reach this pod" or "can this pod reach the
metadata endpoint", the answer comes from here. Everything works on equivalence classes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from scanner.engine.index import Index, PodClass, rule_port_set
from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    IntervalSet,
    address_point,
    intersect,
    network_interval,
    union,
)
from scanner.model import Direction, Policy, Rule

# Address space outside the cluster that counts as "the internet": every address minus the private, shared,
# loopback, link-local, documentation and multicast ranges.
_NON_PUBLIC = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
               "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
               "203.0.113.0/24", "224.0.0.0/3", "::/127", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32",
               "::ffff:0:0/96", "64:ff9b::/96")


def _space(cidrs: tuple[str, ...]) -> IntervalSet:
    out: IntervalSet = EMPTY
    for c in cidrs:
        out = union(out, network_interval(ipaddress.ip_network(c)))
    return out


ALL_ADDRESSES: IntervalSet = _space(("0.0.0.0/0", "::/0"))
NON_PUBLIC: IntervalSet = _space(_NON_PUBLIC)


def public_addresses() -> IntervalSet:
    from scanner.intervals import subtract

    return subtract(ALL_ADDRESSES, NON_PUBLIC)


def cidr_set(cidrs: tuple[str, ...] | list[str]) -> IntervalSet:
    return _space(tuple(cidrs))


@dataclass(frozen=True, slots=True)
class RuleRef:
    policy: Policy
    rule: Rule


def rules_reaching_addresses(index: Index, cls: PodClass, direction: Direction,
                             addresses: IntervalSet) -> Iterator[tuple[RuleRef, IntervalSet]]:
    """Rules of `cls`'s policies in `direction` whose peers admit some address of `addresses`, with the ports
    (named ports resolve only on ingress, against `cls`; towards an address they match nothing)."""
    for p in index.policies_for(cls, direction):
        for r in p.rules(direction):
            hit = r.peers is None or any(
                peer.ip_block is not None and intersect(peer.ip_block.addresses, addresses) for peer in r.peers)
            if hit:
                ports = rule_port_set(r, cls.named_ports if direction == "ingress" else None)
                if ports:
                    yield RuleRef(p, r), ports


def address_ports(index: Index, cls: PodClass, direction: Direction, addresses: IntervalSet) -> IntervalSet:
    """Ports on which some address of `addresses` may reach `cls` (ingress) or `cls` may reach one (egress),
    through the cluster-scoped tiers when some apply."""
    isolated = index.isolated(cls, direction)
    if index.tiers.active and index.tiers.governs(cls, direction):
        return index.tiers.address_ports(cls, direction, addresses,
                                         lambda piece: np_address_ports(index, cls, direction, piece), isolated)
    if not isolated:
        return ALL_PORTS
    return np_address_ports(index, cls, direction, addresses)


def np_address_ports(index: Index, cls: PodClass, direction: Direction, addresses: IntervalSet) -> IntervalSet:
    out: IntervalSet = EMPTY
    for _, ports in rules_reaching_addresses(index, cls, direction, addresses):
        out = union(out, ports)
    return out


def address_point_ports(index: Index, cls: PodClass, direction: Direction, ip: str) -> IntervalSet:
    x = address_point(ipaddress.ip_address(ip))
    return address_ports(index, cls, direction, ((x, x),))

