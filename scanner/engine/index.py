"""Equivalence classes, policy selection and the matching primitives of the engine.

Pods (and workload templates) with the same namespace, the same values of the label keys that some selector
looks at, the same named ports, hostNetwork flag and set of policy ipBlocks containing their IPs are
indistinguishable to every NetworkPolicy, so the engine works on classes and its cost follows distinct shapes,
not pod count. Labels no selector reads (pod-template-hash, a StatefulSet's pod-name, controller-uid) do not
split classes. `PodClass.labels` holds only the keyed labels; explanations print an endpoint's own labels.

Policies are bucketed by namespace; the classes each rule's peers match are computed once, per namespace and
selector, and cached (`rule_classes`). Everything here is read-only after construction.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    IntervalSet,
    address_point,
    all_ports,
    contains,
    normalize,
    port_point,
    port_range,
    union,
)
from scanner.model import (
    Cluster,
    Direction,
    Endpoint,
    IPBlock,
    NamedPort,
    Peer,
    Policy,
    PortSpec,
    Rule,
    TierRule,
)
from scanner.selectors import LabelSelector

# Label keys read outside NetworkPolicy selectors: cluster DNS detection (`k8s-app: kube-dns`).
ALWAYS_KEYED = frozenset({"k8s-app"})


def _referenced_keys(cluster: Cluster) -> set[str]:
    """Every pod label key that a selector of the input reads: policy and peer podSelectors, Service
    selectors, and the keys the engine itself looks at."""
    keys: set[str] = set(ALWAYS_KEYED)
    seen: set[LabelSelector] = set()
    for p in cluster.policies:
        sels = [p.pod_selector] + [peer.pod_selector for r in (*p.ingress, *p.egress) for peer in r.peers or ()
                                   if peer.pod_selector is not None]
        for sel in sels:
            if sel not in seen:
                seen.add(sel)
                keys |= sel.keys()
    for svc in cluster.services:
        keys.update(svc.selector or ())
    for a in cluster.admin_policies:  # cluster-scoped tiers: subject and peer podSelectors
        for tsel in [a.subject_pods] + [peer.pod_selector for r in (*a.ingress, *a.egress) for peer in r.peers]:
            if tsel is not None:
                keys |= tsel.keys()
    return keys


@dataclass(slots=True)
class PodClass:
    """Endpoints that every policy treats alike."""

    id: int
    namespace: str
    labels: dict[str, str]  # only the label keys some selector reads (Index.label_keys)
    named_ports: tuple[NamedPort, ...]
    host_network: bool
    ip_blocks: frozenset[int]  # ids (Index.blocks) of the policy ipBlocks containing one of its IPs
    members: list[int] = field(default_factory=list)  # indices into Cluster.endpoints


Subject = PodClass  # what a peer is matched against


class Index:
    """The read-only index every query and rule uses."""

    def __init__(self, cluster: Cluster, extra_keys: Iterable[str] = ()) -> None:
        """`extra_keys`: label keys read outside policies (a configured scope's podSelector)."""
        self.cluster = cluster
        self.ns_labels = {name: ns.labels for name, ns in cluster.namespaces.items()}
        self.policies_by_ns: dict[str, list[Policy]] = defaultdict(list)
        for p in cluster.policies:
            self.policies_by_ns[p.namespace].append(p)
        # Distinct ipBlocks of valid policies, so that pod IPs are matched once per block.
        self.blocks: dict[IPBlock, int] = {}
        for p in cluster.policies:
            for r in (*p.ingress, *p.egress):
                for peer in r.peers or ():
                    if peer.ip_block is not None and peer.ip_block not in self.blocks:
                        self.blocks[peer.ip_block] = len(self.blocks)
        # `networks` peers of the tiers match pod IPs too, and `nodes` peers the hostNetwork pods whose IP is a
        # matching node's address: both become blocks, so that classes split on them.
        self.node_blocks: dict[int, IPBlock] = {}  # by id() of a `nodes` TierPeer
        for a in cluster.admin_policies:
            for tr in (*a.ingress, *a.egress):
                for tp in tr.peers:
                    extra = list(tp.networks)
                    if tp.kind == "nodes" and tp.node_selector is not None:
                        nb = _node_block(cluster, tp.node_selector)
                        self.node_blocks[id(tp)] = nb
                        extra.append(nb)
                    for b in extra:
                        if b not in self.blocks:
                            self.blocks[b] = len(self.blocks)
        self.extra_keys = frozenset(extra_keys)
        self.label_keys = frozenset(_referenced_keys(cluster)) | self.extra_keys
        self.classes: list[PodClass] = []
        self.class_of: list[int] = []
        self.classes_by_ns: dict[str, list[PodClass]] = defaultdict(list)
        keyset = self.label_keys
        keys: dict[tuple[object, ...], int] = {}
        no_blocks: frozenset[int] = frozenset()
        for i, ep in enumerate(cluster.endpoints):
            sig = self._block_signature(ep) if ep.ips and self.blocks else no_blocks
            labels = tuple(sorted([kv for kv in ep.labels.items() if kv[0] in keyset]))
            key = (ep.namespace, labels, ep.named_ports, ep.host_network, sig)
            cid = keys.get(key)
            if cid is None:
                cid = len(self.classes)
                keys[key] = cid
                cls = PodClass(cid, ep.namespace, dict(labels), ep.named_ports, ep.host_network, sig)
                self.classes.append(cls)
                self.classes_by_ns[ep.namespace].append(cls)
            self.classes[cid].members.append(i)
            self.class_of.append(cid)
        self._by_ref = {ep.ref: i for i, ep in enumerate(cluster.endpoints)}
        self._selected: dict[int, tuple[Policy, ...]] = {}
        self._by_direction: dict[tuple[int, str], tuple[Policy, ...]] = {}
        self._interned: dict[tuple[int, ...], tuple[Policy, ...]] = {}
        self._ns_selected: dict[LabelSelector, tuple[str, ...]] = {}
        self._pod_selected: dict[tuple[str, LabelSelector | None], tuple[int, ...]] = {}
        self._rule_classes: dict[int, frozenset[int]] = {}  # by id(rule): parse makes every Rule anew
        self._all_classes: frozenset[int] | None = None
        self._peer_sets: dict[tuple[object, ...], frozenset[int]] = {}
        self.memo: dict[str, dict[Any, Any]] = {}  # per-index caches of derived views (engine modules)
        from scanner.engine.tiers import Tiers

        self.tiers = Tiers(self)  # the cluster-scoped tiers around NetworkPolicy (inactive without them)

    def _block_signature(self, ep: Endpoint) -> frozenset[int]:
        if not ep.ips or not self.blocks:
            return frozenset()
        points = [address_point(ipaddress.ip_address(ip)) for ip in ep.ips]
        return frozenset(bid for b, bid in self.blocks.items() if any(contains(b.addresses, x) for x in points))

    # --- lookup ---------------------------------------------------------------------------------------------

    def endpoint_index(self, ref: str) -> int | None:
        return self._by_ref.get(ref)

    def class_for(self, endpoint_index: int) -> PodClass:
        return self.classes[self.class_of[endpoint_index]]

    # --- selection and isolation ----------------------------------------------------------------------------

    def selecting(self, cls: PodClass) -> tuple[Policy, ...]:
        """Valid policies of the class's namespace whose podSelector matches it (hostNetwork included)."""
        got = self._selected.get(cls.id)
        if got is None:
            got = tuple(p for p in self.policies_by_ns.get(cls.namespace, ()) if p.pod_selector.matches(cls.labels))
            self._selected[cls.id] = got
        return got

    def policies_for(self, cls: PodClass, direction: Direction) -> tuple[Policy, ...]:
        """Selecting policies whose effective policyTypes include `direction`. Classes with the same policies
        get the same tuple object, so `id()` of the result identifies a profile."""
        key = (cls.id, direction)
        got = self._by_direction.get(key)
        if got is None:
            got = tuple(p for p in self.selecting(cls) if p.affects(direction))
            got = self._interned.setdefault(tuple(map(id, got)), got)  # one tuple per distinct profile
            self._by_direction[key] = got
        return got

    def egress_signature(self, policies: tuple[Policy, ...]) -> int:
        """What a set of egress policies allows, as a number: equal for policies whose rules match the same
        classes on the same ports (per-namespace copies of a DNS allow, say), so results computed for one hold
        for all. Interned from (matched classes, ports) per rule."""
        memo = self.memo.setdefault("egress_signature", {})
        got: int | None = memo.get(id(policies))
        if got is None:
            sig = tuple(sorted(((id(self.rule_classes(p, r)), r.ports) for p in policies for r in p.egress),
                               key=lambda x: (x[0], repr(x[1]))))
            interned = self.memo.setdefault("egress_signatures", {})
            got = interned.setdefault(sig, len(interned))
            memo[id(policies)] = got
        return got

    def isolated(self, cls: PodClass, direction: Direction) -> bool:
        """Isolated: some valid policy affecting `direction` selects it, and it is not hostNetwork (a
        hostNetwork pod is never counted as protected)."""
        return not cls.host_network and bool(self.policies_for(cls, direction))

    def protected(self, cls: PodClass, direction: Direction) -> bool:
        """Isolated by a NetworkPolicy, or by a cluster-scoped tier rule that denies by default
        (`Tiers.isolates`): what is not allowed is denied."""
        return self.isolated(cls, direction) or self.tiers.isolates(cls, direction) is not None

    # --- classes matched by peers (cached) ------------------------------------------------------------------

    def namespaces_matching(self, selector: LabelSelector) -> tuple[str, ...]:
        """Namespaces (of the input) whose labels a namespaceSelector matches."""
        got = self._ns_selected.get(selector)
        if got is None:
            if selector.match_labels:  # through an index of label pairs: 25,000 namespaces, thousands of selectors
                postings = self.memo.get("ns_postings")
                if postings is None:
                    postings = self.memo["ns_postings"] = {}
                    for n, labels in self.ns_labels.items():
                        for kv in labels.items():
                            postings.setdefault(kv, []).append(n)
                candidates = min((postings.get(kv, []) for kv in selector.match_labels), key=len)
                got = tuple(n for n in candidates if selector.matches(self.ns_labels[n]))
            else:
                got = tuple(n for n, labels in self.ns_labels.items() if selector.matches(labels))
            self._ns_selected[selector] = got
        return got

    def pod_classes(self, namespace: str, selector: LabelSelector | None) -> tuple[int, ...]:
        """Non-hostNetwork classes of `namespace` that a podSelector (None: every pod) matches."""
        key = (namespace, selector)
        got = self._pod_selected.get(key)
        if got is None:
            got = tuple(c.id for c in self.classes_by_ns.get(namespace, ())
                        if not c.host_network and (selector is None or selector.matches(c.labels)))
            self._pod_selected[key] = got
        return got

    def peer_classes(self, policy: Policy, peer: Peer) -> set[int]:
        """Ids of the classes `peer` of `policy` matches (`peer_matches_class` over every class)."""
        if peer.ip_block is not None:
            by_block = self.memo.get("block_classes")
            if by_block is None:
                by_block = self.memo["block_classes"] = {}
                for c in self.classes:
                    for b in c.ip_blocks:
                        by_block.setdefault(b, set()).add(c.id)
            return set(by_block.get(self.blocks[peer.ip_block], ()))
        namespaces = ((policy.namespace,) if peer.namespace_selector is None
                      else self.namespaces_matching(peer.namespace_selector))
        out: set[int] = set()
        for ns in namespaces:
            out.update(self.pod_classes(ns, peer.pod_selector))
        return out

    def classes_matching(self, selector: LabelSelector) -> list[PodClass]:
        """Non-hostNetwork classes of every namespace whose labels a podSelector matches, in id order (through
        an index of label pairs when the selector has matchLabels)."""
        postings = self.memo.setdefault("label_postings", {})
        if not postings:
            for c in self.classes:
                if not c.host_network:
                    for kv in c.labels.items():
                        postings.setdefault(kv, []).append(c)
        options = [postings.get(kv, []) for kv in selector.match_labels]
        for r in selector.expressions:
            if r.operator == "In":
                merged = {c.id: c for v in r.values for c in postings.get((r.key, v), [])}
                options.append([merged[i] for i in sorted(merged)])
        candidates = min(options, key=len) if options else [c for c in self.classes if not c.host_network]
        return [c for c in candidates if selector.matches(c.labels)]

    def all_classes(self) -> frozenset[int]:
        if self._all_classes is None:
            self._all_classes = frozenset(range(len(self.classes)))
        return self._all_classes

    def rule_classes(self, policy: Policy, rule: Rule) -> frozenset[int]:
        """Ids of the classes a rule's peers match (`rule_matches_class` over every class), cached per rule."""
        got = self._rule_classes.get(id(rule))
        if got is None:
            if rule.peers is None:
                got = self.all_classes()
            elif len(rule.peers) == 1 and rule.peers[0].ip_block is None:
                # Shared by every rule with this one peer (the same frozenset object: callers may key on it).
                peer = rule.peers[0]
                key = (peer.namespace_selector, peer.pod_selector,
                       policy.namespace if peer.namespace_selector is None else None)
                got = self._peer_sets.get(key)
                if got is None:
                    got = self._peer_sets[key] = frozenset(self.peer_classes(policy, peer))
            else:
                acc: set[int] = set()
                for peer in rule.peers:
                    acc |= self.peer_classes(policy, peer)
                got = frozenset(acc)
            self._rule_classes[id(rule)] = got
        return got

    # --- matching primitives --------------------------------------------------------------------------------

    def peer_matches_class(self, policy: Policy, peer: Peer, cls: PodClass) -> bool:
        """Does `peer` of `policy` match the endpoints of `cls`? ipBlocks match by pod IP (plugin-dependent)."""
        if peer.ip_block is not None:
            return self.blocks[peer.ip_block] in cls.ip_blocks
        if cls.host_network:
            return False  # hostNetwork traffic carries the node's IP: only an ipBlock can match it
        if peer.namespace_selector is None:
            if cls.namespace != policy.namespace:
                return False
        elif not peer.namespace_selector.matches(self.ns_labels.get(cls.namespace, {})):
            return False
        return peer.pod_selector is None or peer.pod_selector.matches(cls.labels)

    @staticmethod
    def peer_matches_address(peer: Peer, point: int) -> bool:
        """Does `peer` match an address outside the pod network? Only an ipBlock can."""
        return peer.ip_block is not None and contains(peer.ip_block.addresses, point)

    def rule_matches_class(self, policy: Policy, rule: Rule, cls: PodClass) -> bool:
        return rule.peers is None or any(self.peer_matches_class(policy, p, cls) for p in rule.peers)

    @staticmethod
    def rule_matches_address(rule: Rule, point: int) -> bool:
        return rule.peers is None or any(Index.peer_matches_address(p, point) for p in rule.peers)


def _node_block(cluster: Cluster, selector: LabelSelector) -> IPBlock:
    """The addresses of the nodes a `nodes` peer selects, as a block (its `cidr` names the selector)."""
    addresses: IntervalSet = EMPTY
    for n in cluster.nodes:
        if selector.matches(n.labels):
            for a in n.addresses:
                try:
                    x = address_point(ipaddress.ip_address(a))
                except ValueError:
                    continue
                addresses = union(addresses, ((x, x),))
    return IPBlock(f"nodes {selector.describe()}", (), addresses, 0, 0)


def port_spec_set(spec: PortSpec, dest_ports: tuple[NamedPort, ...] | None) -> IntervalSet:
    """The ports one entry allows towards a destination. `dest_ports` is None for an address outside the pod
    network, where a named port cannot resolve."""
    if spec.port is None:
        return all_ports(spec.protocol)
    if isinstance(spec.port, int):
        return port_range(spec.protocol, spec.port, spec.end_port if spec.end_port is not None else spec.port)
    if dest_ports is None:
        return EMPTY
    return normalize((port_point(spec.protocol, p.port),) * 2 for p in dest_ports
                     if p.name == spec.port and p.protocol == spec.protocol)


def rule_port_set(rule: Rule | TierRule, dest_ports: tuple[NamedPort, ...] | None) -> IntervalSet:
    """The ports a rule (of a NetworkPolicy or of a cluster-scoped tier) matches towards a destination."""
    if rule.ports is None:
        return ALL_PORTS
    out: IntervalSet = EMPTY
    for spec in rule.ports:
        out = union(out, port_spec_set(spec, dest_ports))
    return out
