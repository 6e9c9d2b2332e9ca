"""Queries the correctness and hygiene rules share (NP006-NP009, NP020-NP025): which pods a policy governs,
what a peer or a named port resolves to, and on which ports a union of rules admits every peer.

Everything is answered with the matching primitives of `scanner.engine.index` (`selecting`,
`peer_matches_class`, `rule_matches_class`, `rule_matches_address`, `port_spec_set`, `rule_port_set`); this
module adds no NetworkPolicy semantics of its own and never mutates the index.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections import defaultdict
from collections.abc import Iterable

from scanner.engine.index import Index, PodClass, port_spec_set, rule_port_set
from scanner.intervals import (
    EMPTY,
    IntervalSet,
    contains,
    intersect,
    network_interval,
    union,
)
from scanner.model import (
    NAMESPACE_NAME_LABEL,
    Cluster,
    Endpoint,
    NamedPort,
    Namespace,
    Peer,
    Policy,
    PortSpec,
    Rule,
)
from scanner.selectors import LabelSelector

IPV4_ALL: IntervalSet = network_interval(ipaddress.ip_network("0.0.0.0/0"))
IPV6_ALL: IntervalSet = network_interval(ipaddress.ip_network("::/0"))


class Selection:
    """Which classes each policy selects, computed once from `Index.selecting`."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.by_namespace: dict[str, list[PodClass]] = defaultdict(list)
        self._selected: dict[str, list[PodClass]] = defaultdict(list)
        for cls in index.classes:
            self.by_namespace[cls.namespace].append(cls)
            for p in index.selecting(cls):
                self._selected[p.ref].append(cls)

    def selected(self, policy: Policy) -> list[PodClass]:
        """Classes the podSelector matches, hostNetwork classes included."""
        return self._selected.get(policy.ref, [])

    def governed(self, policy: Policy) -> list[PodClass]:
        """Classes the policy can govern: selected and not hostNetwork (finished pods are never classes)."""
        return [c for c in self.selected(policy) if not c.host_network]

    def governable(self, namespace: str) -> list[PodClass]:
        """Classes of a namespace that a policy could govern (not hostNetwork)."""
        return [c for c in self.by_namespace.get(namespace, []) if not c.host_network]


def pod_count(classes: Iterable[PodClass]) -> int:
    return sum(len(c.members) for c in classes)


def class_refs(index: Index, classes: Iterable[PodClass], limit: int = 5) -> list[str]:
    """Endpoint refs of some members of `classes`, sorted, for messages and evidence."""
    eps = index.cluster.endpoints
    refs = sorted(eps[i].ref for c in classes for i in c.members)
    return refs[:limit] + ([f"... {len(refs) - limit} more"] if len(refs) > limit else [])


# --- peers ---------------------------------------------------------------------------------------------------


def peer_field(rule: Rule, peer: Peer) -> str:
    return f"{rule.field}.{rule.peer_field}[{peer.index}]"


def selects_every_namespace(selector: LabelSelector | None) -> bool:
    """`{}`, or a selector that only requires `kubernetes.io/metadata.name` (which every namespace carries):
    every namespace, present and future."""
    return selector is not None and not selector.match_labels and all(
        r.key == NAMESPACE_NAME_LABEL and r.operator == "Exists" for r in selector.expressions)


def is_catch_all_peer(peer: Peer) -> bool:
    """A selector peer that means "all" on purpose (every selector empty or matching every namespace), so it
    cannot be stale."""
    if peer.ip_block is not None:
        return False
    return (peer.pod_selector is None or peer.pod_selector.is_empty) and (
        peer.namespace_selector is None or selects_every_namespace(peer.namespace_selector))


def admits_every_pod(peer: Peer) -> bool:
    """Every pod of every namespace, present and future: a namespaceSelector matching every namespace with no
    or an empty podSelector."""
    return selects_every_namespace(peer.namespace_selector) and (
        peer.pod_selector is None or peer.pod_selector.is_empty)


def namespaces_matching(index: Index, selector: LabelSelector) -> list[str]:
    return sorted(index.namespaces_matching(selector))


def peer_classes(index: Index, policy: Policy, peer: Peer) -> list[PodClass]:
    """Classes a selector peer of `policy` matches (never hostNetwork ones, per the engine)."""
    return [index.classes[i] for i in sorted(index.peer_classes(policy, peer))]


def classes_matching_pod_selector(index: Index, selector: LabelSelector,
                                  exclude_namespace: str | None = None) -> list[PodClass]:
    """Non-hostNetwork classes of any namespace whose labels the selector matches (for "did you mean" hints)."""
    return [c for c in index.classes_matching(selector) if c.namespace != exclude_namespace]


def namespace_label_hint(index: Index, selector: LabelSelector) -> str:
    """Why a namespaceSelector matches no namespace, label by label."""
    notes = []
    for key in sorted(selector.keys()):
        holders = {n: labels[key] for n, labels in index.ns_labels.items() if key in labels}
        if key == "name" and not holders:
            notes.append("no namespace carries a `name` label: the API server labels every namespace "
                         f"`{NAMESPACE_NAME_LABEL}: <its name>`, so select on that key instead")
        elif not holders:
            notes.append(f"no namespace carries the label `{key}`")
        else:
            shown = ", ".join(f"{n}={v}" for n, v in sorted(holders.items())[:5])
            notes.append(f"namespaces with `{key}`: {shown}")
    return "; ".join(notes)


# --- named ports ---------------------------------------------------------------------------------------------


def resolves_on(spec: PortSpec, classes: Iterable[PodClass]) -> list[PodClass]:
    """Classes on which a port entry (a named port) resolves to at least one port."""
    return [c for c in classes if port_spec_set(spec, c.named_ports)]


def port_destinations(index: Index, selection: Selection, policy: Policy, rule: Rule) -> list[PodClass]:
    """The pods a named port of `rule` resolves against: on ingress the pods the policy governs, on egress
    every pod the rule's peers reach."""
    if rule.direction == "ingress":
        return selection.governed(policy)
    return [c for c in index.classes if index.rule_matches_class(policy, rule, c)]


def only_ip_blocks(rule: Rule) -> bool:
    return rule.peers is not None and bool(rule.peers) and all(p.ip_block is not None for p in rule.peers)


# --- "allows everything" -------------------------------------------------------------------------------------


def address_universe(cluster: Cluster, extra_cidrs: Iterable[str] = ()) -> IntervalSet:
    """Every IPv4 address, and every IPv6 address when the input shows IPv6 in use (a pod or node address, an
    ipBlock, or a configured range)."""
    v6 = any(":" in ip for ep in cluster.endpoints for ip in ep.ips)
    v6 = v6 or any(":" in a for n in cluster.nodes for a in n.addresses)
    v6 = v6 or any(":" in c for c in extra_cidrs)
    v6 = v6 or any(peer.ip_block is not None and peer.ip_block.version == 6
                   for p in cluster.policies for r in (*p.ingress, *p.egress) for peer in r.peers or ())
    return union(IPV4_ALL, IPV6_ALL) if v6 else IPV4_ALL


def ports_for_everyone(rules: Iterable[Rule], dest_ports: tuple[NamedPort, ...] | None,
                       universe: IntervalSet) -> IntervalSet:
    """Ports on which the union of `rules` admits every peer: every address of `universe` (split at each
    ipBlock boundary, so each segment is judged once with `rule_matches_address`) AND every pod of every
    namespace, present and future (a rule without peers, or a peer `namespaceSelector: {}` with no or an empty
    podSelector). An ipBlock matching pod IPs is plugin-dependent, so it does not count for pods.
    `dest_ports`: the governed pod's named ports on ingress; None on egress (a named port resolves on each
    destination pod, never on "everyone")."""
    rules = list(rules)
    port_sets = [rule_port_set(r, dest_ports) for r in rules]
    pods: IntervalSet = EMPTY
    for r, ports in zip(rules, port_sets, strict=True):
        if r.peers is None or any(admits_every_pod(p) for p in r.peers):
            pods = union(pods, ports)
    if not pods:
        return EMPTY
    cuts: set[int] = set()
    for lo, hi in universe:
        cuts.update((lo, hi + 1))
    for r in rules:
        for peer in r.peers or ():
            if peer.ip_block is not None:
                for lo, hi in intersect(peer.ip_block.addresses, universe):
                    cuts.update((lo, hi + 1))
    out = pods
    for x in sorted(cuts):
        if not contains(universe, x):
            continue
        here: IntervalSet = EMPTY
        for r, ports in zip(rules, port_sets, strict=True):
            if Index.rule_matches_address(r, x):
                here = union(here, ports)
        out = intersect(out, here)
        if not out:
            break
    return out


# --- synthetic endpoints -------------------------------------------------------------------------------------


def index_with(cluster: Cluster, extra: Endpoint) -> tuple[Index, PodClass]:
    """A new index over the cluster plus one synthetic endpoint (appended last, so every existing class keeps
    its id), and the synthetic endpoint's class. The original index is not touched."""
    namespaces = dict(cluster.namespaces)
    if extra.namespace not in namespaces:
        namespaces[extra.namespace] = Namespace(extra.namespace, {NAMESPACE_NAME_LABEL: extra.namespace}, False)
    bigger = dataclasses.replace(cluster, namespaces=namespaces, endpoints=(*cluster.endpoints, extra))
    index = Index(bigger)
    return index, index.class_for(len(bigger.endpoints) - 1)
