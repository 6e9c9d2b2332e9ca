"""Connections: per-endpoint verdicts with explanations (queries) and per-class port sets (matrices).

A connection from A to B on (protocol, port) is allowed iff A's egress allows it and B's ingress allows it;
an address outside the pod network has no side of its own. Both the explaining path and the class path are
built on the primitives of `scanner.engine.index`; the tests hold them equal.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanner.engine.index import Index, PodClass, rule_port_set
from scanner.errors import InputError
from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    PROTOCOLS,
    IntervalSet,
    address_point,
    contains,
    intersect,
    port_point,
    union,
)
from scanner.model import Direction, Endpoint, Peer, Policy, Rule, TierPeer

# --- endpoints of a query ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One end of a connection: an endpoint of the cluster (pod or template), or an address."""

    ref: str
    endpoint: Endpoint | None = None
    index: int | None = None  # into Cluster.endpoints; None for a finished pod
    address: str | None = None
    finished: str | None = None  # why a pod cannot communicate (phase)

    @property
    def is_address(self) -> bool:
        return self.address is not None

    @property
    def point(self) -> int:
        assert self.address is not None
        return address_point(ipaddress.ip_address(self.address))


def resolve(index: Index, spec: str, what: str) -> Target:
    """Turn `namespace/pod`, `namespace/Kind/name` or an IP address into a Target; InputError if unknown."""
    spec = str(spec).strip()
    try:
        return Target(ref=spec, address=str(ipaddress.ip_address(spec)))
    except ValueError:
        pass
    parts = spec.split("/")
    eps = index.cluster.endpoints
    if len(parts) == 2:
        i = index.endpoint_index(spec)
        if i is not None:
            return Target(spec, eps[i], i)
        for ig in index.cluster.ignored:
            if ig.endpoint.ref == spec:
                return Target(spec, ig.endpoint, None, finished=ig.reason)
        templates = [k for k, e in enumerate(eps) if e.kind != "Pod" and e.namespace == parts[0]
                     and e.name == parts[1]]
        if len(templates) == 1:
            return Target(eps[templates[0]].ref, eps[templates[0]], templates[0])
    elif len(parts) == 3:
        for k, e in enumerate(eps):
            if e.namespace == parts[0] and e.kind.lower() == parts[1].lower() and e.name == parts[2]:
                return Target(e.ref, e, k)
        if parts[1].lower() != "pod":
            raise InputError(f"{spec!r}: no {parts[1]} template of that name without pods in the input (a "
                             "workload whose pods are in the input is reached through its pods: name one as "
                             "namespace/pod-name)", field=what)
        return resolve(index, f"{parts[0]}/{parts[2]}", what)
    else:
        raise InputError(f"{spec!r} is not namespace/pod-name, namespace/Kind/name or an IP address", field=what)
    raise InputError(f"{spec!r}: no such pod or workload in the input", field=what)


def parse_port(port: object, protocol: object, dest: Target, what: str) -> tuple[str, int, str]:
    """(protocol, number, label) for a query port: a number, `N/PROTO`, or a name resolved on the destination."""
    proto = str(protocol or "TCP").upper()
    if isinstance(port, str) and "/" in port:
        port, proto = port.split("/", 1)
        proto = proto.upper()
    if proto not in PROTOCOLS:
        raise InputError(f"unknown protocol {proto!r} (TCP, UDP or SCTP)", field=what)
    if isinstance(port, bool) or port is None or port == "":
        raise InputError("a port is required", field=what)
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        n = int(port)
        if not 1 <= n <= 65535:
            raise InputError(f"port {n} is outside 1-65535", field=what)
        return proto, n, f"{n}/{proto}"
    if not isinstance(port, str):
        raise InputError(f"port {port!r} must be a number or a port name", field=what)
    if dest.endpoint is None:
        raise InputError(f"named port {port!r} cannot be resolved on an address", field=what)
    numbers = dest.endpoint.ports_named(port, proto)
    if not numbers:
        raise InputError(f"{dest.ref} defines no {proto} port named {port!r}", field=what)
    return proto, numbers[0], f"{port}/{proto} ({numbers[0]})"


# --- one side of a connection, explained --------------------------------------------------------------------


@dataclass(slots=True)
class Side:
    direction: Direction
    allowed: bool
    summary: str
    admitted_by: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    plugin_dependent: bool = False

    def lines(self) -> list[str]:
        out = [self.summary]
        out += [f"  admitted by {a}" for a in self.admitted_by]
        out += [f"  {m}" for m in self.misses]
        return out


def _peer_miss(index: Index, policy: Policy, peer: Peer, other: Target) -> str:
    what = peer.describe()
    if other.is_address:
        if peer.ip_block is None:
            return f"peer {peer.index} ({what}) selects pods; {other.address} is not a pod"
        return f"peer {peer.index} ({what}) does not contain {other.address}"
    assert other.index is not None and other.endpoint is not None
    cls = index.class_for(other.index)
    ep = other.endpoint
    if peer.ip_block is not None:
        ips = ", ".join(ep.ips) if ep.ips else "no IP known in the input"
        return f"peer {peer.index} ({what}) does not contain {other.ref}'s IPs ({ips})"
    if cls.host_network:
        return (f"peer {peer.index} ({what}): {other.ref} is a hostNetwork pod, which pod and namespace "
                "selectors never match (its traffic carries the node's IP)")
    if peer.namespace_selector is None and cls.namespace != policy.namespace:
        return (f"peer {peer.index} ({what}) selects pods of the policy's own namespace {policy.namespace!r} "
                f"only; {other.ref} is in {cls.namespace!r}")
    if peer.namespace_selector is not None and not peer.namespace_selector.matches(
            index.ns_labels.get(cls.namespace, {})):
        labels = ",".join(f"{k}={v}" for k, v in sorted(index.ns_labels.get(cls.namespace, {}).items()))
        return (f"peer {peer.index} ({what}): namespace {cls.namespace!r} has labels {{{labels}}}, which "
                f"namespaceSelector {peer.namespace_selector.describe()} does not match")
    labels = ",".join(f"{k}={v}" for k, v in sorted(ep.labels.items()))
    assert peer.pod_selector is not None
    return (f"peer {peer.index} ({what}): {other.ref} has labels {{{labels}}}, which podSelector "
            f"{peer.pod_selector.describe()} does not match")


def _ports_miss(rule: Rule, dest: Target, label: str) -> str:
    assert rule.ports is not None
    notes = []
    for spec in rule.ports:
        if isinstance(spec.port, str):
            if dest.endpoint is None:
                notes.append(f"named port {spec.port}/{spec.protocol} cannot match an address outside the pod "
                             "network")
            else:
                nums = dest.endpoint.ports_named(spec.port, spec.protocol)
                notes.append(f"named port {spec.port}/{spec.protocol} is "
                             + (f"{','.join(map(str, nums))} on {dest.ref}" if nums else
                                f"not defined on {dest.ref} for {spec.protocol}"))
    allowed = ", ".join(s.describe() for s in rule.ports)
    return f"port {label} is not among its ports ({allowed})" + (f"; {'; '.join(notes)}" if notes else "")


def _evaluate_side(index: Index, direction: Direction, subject: Target, other: Target, src: Target,
                   dst: Target, proto: str, number: int, label: str) -> Side:
    """The side of `subject` (the pod whose policies apply) for a connection src -> dst, through the tiers:
    an admin-tier rule that matches decides; otherwise NetworkPolicy; a pod no NetworkPolicy isolates goes on
    to the baseline tier."""
    assert subject.index is not None
    tiers = index.tiers
    cls = index.class_for(subject.index)
    if not (tiers.active and tiers.governs(cls, direction)):
        return _np_side(index, direction, subject, other, src, dst, proto, number, label)
    word = "ingress" if direction == "ingress" else "egress"
    if other.is_address:
        point = other.point
        match = lambda p: contains(tiers.peer_addresses(p), point)  # noqa: E731
    else:
        assert other.index is not None
        other_cls = index.class_for(other.index)
        match = lambda p: tiers.peer_matches_class(p, other_cls)  # noqa: E731
    named = dst.endpoint.named_ports if dst.endpoint is not None else None
    step, how = tiers.explain_point(cls, direction, match, named, proto, number)
    if step is not None and how == "admin":
        allowed = step.rule.action == "Allow"
        text = (f"{word} of {subject.ref}: {'allowed' if allowed else 'denied'} by {step.describe()} (admin tier: "
                "decided before any NetworkPolicy)")
        peers = sorted({p.ref for p, _ in tiers.rules(cls, direction, "Admin")
                        if p.priority == step.policy.priority and p.ref != step.policy.ref})
        if peers:
            text += (f"; {', '.join(peers)} share(s) its priority, so which one applies is undefined (NP037): "
                     "this answer follows the name order")
        return Side(direction, allowed, text, [],
                    [] if allowed else [f"{step.policy.ref} {step.rule.field}: {step.rule.action} matches "
                                        f"{other.ref} on {label}"])
    side = _np_side(index, direction, subject, other, src, dst, proto, number, label)
    if step is not None:
        side.summary += f" (passed to NetworkPolicy by {step.describe()})"
    if index.isolated(cls, direction):
        return side
    base = tiers.explain_baseline(cls, direction, match, named, proto, number)
    if base is None:
        side.summary += "; no baseline-tier rule matches"
        return side
    allowed = base.rule.action == "Allow"
    return Side(direction, allowed, f"{word} of {subject.ref}: no NetworkPolicy isolates it; "
                                    f"{'allowed' if allowed else 'denied'} by {base.describe()} (baseline tier)",
                [base.describe()] if allowed else [],
                [] if allowed else [f"{base.policy.ref} {base.rule.field}: Deny matches {other.ref} on {label}"])


def _np_side(index: Index, direction: Direction, subject: Target, other: Target, src: Target,
             dst: Target, proto: str, number: int, label: str) -> Side:
    """The NetworkPolicy tier of `subject`'s side for a connection src -> dst."""
    assert subject.index is not None and subject.endpoint is not None
    cls = index.class_for(subject.index)
    word = "ingress" if direction == "ingress" else "egress"
    if cls.host_network:
        return Side(direction, True, f"{word} of {subject.ref}: not isolated (hostNetwork pod: NetworkPolicy "
                                     "does not apply to it in a defined way, so it is never counted as protected)")
    policies = index.policies_for(cls, direction)
    if not policies:
        return Side(direction, True, f"{word} of {subject.ref}: not isolated (no policy affecting {word} "
                                     "selects it)")
    point = port_point(proto, number)
    side = Side(direction, False, "")
    for policy in policies:
        rules = policy.rules(direction)
        if not rules:
            side.misses.append(f"{policy.ref}: isolates {word} and has no {word} rules (allows nothing by itself)")
            continue
        for rule in rules:
            where = f"{policy.ref} {rule.field}"
            # peers
            if rule.peers is None:
                peer_ok, peer_text, plugin = True, f"any {rule.peer_field}", False
            else:
                peer_ok, peer_text, plugin = False, "", False
                miss_texts = []
                for peer in rule.peers:
                    hit = (index.peer_matches_address(peer, other.point) if other.is_address else
                           index.peer_matches_class(policy, peer, index.class_for(other.index)))  # type: ignore[arg-type]
                    if hit:
                        peer_ok, peer_text = True, f"{rule.peer_field}[{peer.index}] {peer.describe()}"
                        plugin = peer.ip_block is not None and not other.is_address
                        break
                    miss_texts.append(_peer_miss(index, policy, peer, other))
            dest_ports = dst.endpoint.named_ports if dst.endpoint is not None else None
            ports = rule_port_set(rule, dest_ports)
            port_ok = contains(ports, point)
            if peer_ok and port_ok:
                pd = " [plugin-dependent: an ipBlock matching a pod IP]" if plugin else ""
                port_text = "any port" if rule.ports is None else ", ".join(s.describe() for s in rule.ports)
                side.admitted_by.append(f"{where} ({peer_text}; {port_text}){pd}")
                side.plugin_dependent = side.plugin_dependent or plugin
            elif not peer_ok:
                side.misses.append(f"{where}: no peer matches: " + "; ".join(miss_texts))
            else:
                side.misses.append(f"{where}: peer matches ({peer_text}) but {_ports_miss(rule, dst, label)}")
    names = ", ".join(p.ref for p in policies)
    if side.admitted_by:
        side.allowed = True
        side.summary = f"{word} of {subject.ref}: isolated by {names}; allowed"
        side.misses = []
    else:
        side.summary = f"{word} of {subject.ref}: isolated by {names}; no rule admits {other.ref} on {label}"
    return side


def _node_local(index: Index, src: Target, dst: Target) -> str | None:
    """Traffic between a pod and the node it runs on is always allowed: say why this is such a case."""
    a, b = src.endpoint, dst.endpoint
    if a is not None and b is not None:
        if (a.host_network or b.host_network) and a.node and a.node == b.node and a.kind == b.kind == "Pod":
            return f"node-local: {src.ref} and {dst.ref} run on node {a.node} and one uses the host network"
        return None
    pod, addr = (b, src.address) if a is None else (a, dst.address)
    if pod is None or addr is None:
        return None
    node_ips = {pod.host_ip} if pod.host_ip else set()
    for n in index.cluster.nodes:
        if n.name == pod.node:
            node_ips |= set(n.addresses)
    if addr in node_ips:
        return f"node-local: {addr} is the node {pod.node or ''} that {pod.ref} runs on".replace("  ", " ")
    return None


@dataclass(slots=True)
class Verdict:
    src: Target
    dst: Target
    protocol: str
    port: int
    label: str
    egress: Side | None
    ingress: Side | None
    note: str | None = None

    @property
    def allowed(self) -> bool:
        return all(s.allowed for s in (self.egress, self.ingress) if s is not None)

    def explanation(self) -> str:
        head = f"{'ALLOWED' if self.allowed else 'DENIED'}: {self.src.ref} -> {self.dst.ref} on {self.label}"
        parts = [head]
        if self.note:
            parts.append(self.note)
        for s in (self.egress, self.ingress):
            if s is not None:
                parts.extend(s.lines())
        return "\n".join(parts)


def verdict(index: Index, src: Target, dst: Target, proto: str, number: int, label: str) -> Verdict:
    if src.is_address and dst.is_address:
        raise InputError("at least one side of a connection must be a pod or workload", field="from/to")
    for t in (src, dst):
        if t.finished:
            note = f"{t.ref} cannot communicate ({t.finished})"
            e = None if src.is_address else Side("egress", False, f"egress: {note}")
            i = None if dst.is_address else Side("ingress", False, f"ingress: {note}")
            return Verdict(src, dst, proto, number, label, e, i)
    if src.ref == dst.ref and not src.is_address:
        raise InputError(f"{src.ref} talking to itself is not judged (over localhost it never meets a policy)",
                         field="from/to")
    local = _node_local(index, src, dst)
    if local:
        e = None if src.is_address else Side("egress", True, f"egress of {src.ref}: {local}")
        i = None if dst.is_address else Side("ingress", True, f"ingress of {dst.ref}: {local}")
        return Verdict(src, dst, proto, number, label, e, i, None)
    egress = None if src.is_address else _evaluate_side(index, "egress", src, dst, src, dst, proto, number, label)
    ingress = None if dst.is_address else _evaluate_side(index, "ingress", dst, src, src, dst, proto, number,
                                                         label)
    return Verdict(src, dst, proto, number, label, egress, ingress)


# --- class pairs (matrices and rules) -----------------------------------------------------------------------


class PairCache:
    """Allowed port sets between classes, computed once per pair."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._cache: dict[tuple[int, int], IntervalSet] = {}
        self._egress: dict[tuple[int, int], IntervalSet] = {}

    def egress_ports(self, src: PodClass, dst: PodClass) -> IntervalSet:
        ix = self.index
        isolated = ix.isolated(src, "egress")
        np = self.egress_of(ix.policies_for(src, "egress"), dst) if isolated else ALL_PORTS
        if ix.tiers.active and ix.tiers.governs(src, "egress"):
            return ix.tiers.decide_class(src, "egress", dst, np, isolated).allowed
        return np

    def egress_of(self, policies: tuple[Policy, ...], dst: PodClass) -> IntervalSet:
        """What these egress policies (those of an egress-isolated source: an `Index.policies_for` result)
        allow towards `dst`."""
        key = (self.index.egress_signature(policies), dst.id)
        got = self._egress.get(key)
        if got is None:
            ix = self.index
            got = EMPTY
            for p in policies:
                for r in p.egress:
                    if dst.id in ix.rule_classes(p, r):
                        got = union(got, rule_port_set(r, dst.named_ports))
            self._egress[key] = got
        return got

    def np_ingress(self, src: PodClass, dst: PodClass) -> IntervalSet:
        """What `dst`'s ingress NetworkPolicies allow from `src` (`dst` isolated)."""
        ix = self.index
        out: IntervalSet = EMPTY
        for p in ix.policies_for(dst, "ingress"):
            for r in p.ingress:
                if src.id in ix.rule_classes(p, r):
                    out = union(out, rule_port_set(r, dst.named_ports))
        return out

    def ingress_ports(self, src: PodClass, dst: PodClass) -> IntervalSet:
        ix = self.index
        isolated = ix.isolated(dst, "ingress")
        out = self.np_ingress(src, dst) if isolated else ALL_PORTS
        if ix.tiers.active and ix.tiers.governs(dst, "ingress"):
            return ix.tiers.decide_class(dst, "ingress", src, out, isolated).allowed
        return out

    def ports(self, src: PodClass, dst: PodClass) -> IntervalSet:
        key = (src.id, dst.id)
        got = self._cache.get(key)
        if got is None:
            eg = self.egress_ports(src, dst)
            got = intersect(eg, self.ingress_ports(src, dst)) if eg else EMPTY
            self._cache[key] = got
        return got


def node_local_pairs(index: Index) -> Iterator[tuple[int, int]]:
    """Endpoint index pairs (both directions) of pods on one node where one uses the host network."""
    eps = index.cluster.endpoints
    by_node: dict[str, list[int]] = {}
    for i, e in enumerate(eps):
        if e.kind == "Pod" and e.node:
            by_node.setdefault(e.node, []).append(i)
    for members in by_node.values():
        hosts = [i for i in members if eps[i].host_network]
        for h in hosts:
            for o in members:
                if o != h:
                    yield h, o
                    if not eps[o].host_network:
                        yield o, h


def pod_matrix(index: Index) -> Iterator[tuple[int, int, IntervalSet]]:
    """(src endpoint, dst endpoint, allowed ports) for every ordered pair that allows something."""
    cache = PairCache(index)
    local = set(node_local_pairs(index))
    n = len(index.cluster.endpoints)
    for i in range(n):
        ci = index.class_for(i)
        for j in range(n):
            if i == j:
                continue
            ports = ALL_PORTS if (i, j) in local else cache.ports(ci, index.class_for(j))
            if ports:
                yield i, j, ports


def namespace_matrix_pairwise(index: Index, cache: PairCache | None = None) -> dict[tuple[str, str], IntervalSet]:
    """`namespace_matrix` by brute force over every class pair (quadratic): the oracle its tests compare with."""
    cache = cache or PairCache(index)
    out: dict[tuple[str, str], IntervalSet] = {}
    for s in index.classes:
        for d in index.classes:
            if s.id == d.id and len(s.members) < 2:
                continue
            ports = cache.ports(s, d)
            if ports:
                key = (s.namespace, d.namespace)
                out[key] = union(out.get(key, EMPTY), ports)
    return _with_node_local(index, out)


def _with_node_local(index: Index, out: dict[tuple[str, str], IntervalSet]) -> dict[tuple[str, str], IntervalSet]:
    """`out` with every namespace pair of node-local traffic allowing every port, sorted."""
    eps = index.cluster.endpoints
    for i, j in node_local_pairs(index):
        out[(eps[i].namespace, eps[j].namespace)] = ALL_PORTS
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class Memberships:
    """Which rule peers match each class, as small numbers: a class's ingress side towards another class
    depends on the other only through these (and its egress side likewise), so classes with equal memberships
    are interchangeable there. Computed once per index (`memberships`)."""

    sets_in: dict[int, int]  # id(class set of an ingress NetworkPolicy rule, `Index.rule_classes`) -> its number
    member_in: dict[int, tuple[int, ...]]  # class id -> numbers of the ingress rule class sets holding it
    member_eg: dict[int, tuple[int, ...]]  # the same for egress rule class sets
    tier_peers: list[TierPeer]  # every peer of every cluster-scoped policy rule, numbered by position
    member_tier: dict[int, tuple[int, ...]]  # class id -> numbers of the tier peers matching it
    peer_at: dict[int, list[int]]  # id(tier peer) -> its numbers


def memberships(index: Index) -> Memberships:
    memo = index.memo.setdefault("memberships", {})
    if None in memo:
        return memo[None]  # type: ignore[no-any-return]
    ix = index
    member_in: dict[int, list[int]] = {c.id: [] for c in ix.classes}
    member_eg: dict[int, list[int]] = {c.id: [] for c in ix.classes}
    seen_in: dict[int, int] = {}
    seen_eg: dict[int, int] = {}
    for p in ix.cluster.policies:
        for rules, seen, member in ((p.ingress, seen_in, member_in), (p.egress, seen_eg, member_eg)):
            for r in rules:
                matched = ix.rule_classes(p, r)
                if id(matched) not in seen:
                    sid = seen[id(matched)] = len(seen)
                    for cid in matched:
                        member[cid].append(sid)
    tiers = ix.tiers
    tier_peers = [peer for a in ix.cluster.admin_policies for r in (*a.ingress, *a.egress) for peer in r.peers]
    member_tier = {c.id: tuple(k for k, peer in enumerate(tier_peers) if tiers.peer_matches_class(peer, c))
                   for c in ix.classes}
    peer_at: dict[int, list[int]] = {}
    for k, peer in enumerate(tier_peers):
        peer_at.setdefault(id(peer), []).append(k)
    got = memo[None] = Memberships(seen_in, {c: tuple(v) for c, v in member_in.items()},
                                   {c: tuple(v) for c, v in member_eg.items()}, tier_peers, member_tier, peer_at)
    return got


def namespace_matrix_grouped(index: Index) -> dict[tuple[str, str], IntervalSet]:
    """`namespace_matrix_pairwise`, visiting one class pair per pair of interchangeable groups.

    A pair's ports are its source's egress side intersected with its destination's ingress side. The egress
    side depends only on the source's egress policies, its tier egress rules and hostNetwork flag, and on which
    egress rule peers and tier peers match the destination (and its named ports); the ingress side likewise.
    So sources with equal (namespace, egress profile, memberships in ingress rule peers and tier peers) are
    interchangeable, and so are destinations with equal (namespace, ingress profile, memberships in egress rule
    peers and tier peers, named ports): one representative pair answers for the whole group pair. An endpoint
    with itself is no pair (a group pair made of one single-endpoint class on both sides)."""
    ix = index
    tiers = ix.tiers
    m = memberships(ix)
    member_in, member_eg, seen_in = m.member_in, m.member_eg, m.sets_in
    tier_peers, member_tier, peer_at = m.tier_peers, m.member_tier, m.peer_at

    src_groups: dict[tuple[object, ...], list[PodClass]] = {}
    dst_groups: dict[tuple[object, ...], list[PodClass]] = {}
    for c in ix.classes:
        src_groups.setdefault((c.namespace, id(ix.policies_for(c, "egress")), c.host_network,
                               tiers.rule_ids(c, "egress"), member_in[c.id], member_tier[c.id]), []).append(c)
        dst_groups.setdefault((c.namespace, id(ix.policies_for(c, "ingress")), c.host_network,
                               tiers.rule_ids(c, "ingress"), member_eg[c.id], member_tier[c.id],
                               c.named_ports), []).append(c)
    # Most group pairs allow nothing: a source whose egress a NetworkPolicy isolates can only reach what its
    # egress rules or its admin-tier Allow peers match (an admin Deny or Pass, and the baseline tier, never
    # allow what NetworkPolicy isolation denies), and likewise for a destination whose ingress is isolated.
    # Each source visits only the destination groups both sides can allow (sets of groups as bit masks).
    dst_list = list(dst_groups.values())
    dst_of = [0] * len(ix.classes)  # class id -> index of its destination group
    for gi, dsts in enumerate(dst_list):
        for c in dsts:
            dst_of[c.id] = gi
    peer_dst = [0] * len(tier_peers)  # tier peer index -> destination groups it matches
    for c in ix.classes:
        for k in member_tier[c.id]:
            peer_dst[k] |= 1 << dst_of[c.id]
    masks: dict[int, int] = {}  # id(class id set) -> destination groups it meets

    def groups_of(classes: frozenset[int]) -> int:
        got = masks.get(id(classes))
        if got is None:
            got = 0
            for gi in {dst_of[cid] for cid in classes}:
                got |= 1 << gi
            masks[id(classes)] = got
        return got

    def admin_allow_peers(c: PodClass, direction: Direction) -> list[int]:
        return [k for _, r in tiers.rules(c, direction, "Admin") if r.action == "Allow" for peer in r.peers
                for k in peer_at[id(peer)]] if tiers.active else []

    everywhere = (1 << len(dst_list)) - 1
    open_in = 0  # destination groups whose ingress no NetworkPolicy isolates
    by_rule_set: dict[int, int] = {}  # ingress rule class set (seen_in id) -> groups with such a rule
    by_allow_peer: dict[int, int] = {}  # tier peer index -> groups with an admin ingress Allow of that peer
    for gi, dsts in enumerate(dst_list):
        d = dsts[0]
        if not ix.isolated(d, "ingress"):
            open_in |= 1 << gi
            continue
        for p in ix.policies_for(d, "ingress"):
            for r in p.ingress:
                sid = seen_in[id(ix.rule_classes(p, r))]
                by_rule_set[sid] = by_rule_set.get(sid, 0) | 1 << gi
        for k in admin_allow_peers(d, "ingress"):
            by_allow_peer[k] = by_allow_peer.get(k, 0) | 1 << gi
    eg_masks: dict[tuple[int, tuple[int, ...]], int] = {}
    in_masks: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}

    def visits(s: PodClass) -> list[int]:
        """The destination groups towards which both sides can allow something from `s`."""
        if ix.isolated(s, "egress"):
            policies = ix.policies_for(s, "egress")
            allows = admin_allow_peers(s, "egress")
            key = (id(policies), tuple(allows))
            eg = eg_masks.get(key)
            if eg is None:
                eg = 0
                for p in policies:
                    for r in p.egress:
                        eg |= groups_of(ix.rule_classes(p, r))
                for k in allows:
                    eg |= peer_dst[k]
                eg_masks[key] = eg
        else:
            eg = everywhere
        ikey = (member_in[s.id], member_tier[s.id])
        ing = in_masks.get(ikey)
        if ing is None:
            ing = open_in
            for sid in ikey[0]:
                ing |= by_rule_set.get(sid, 0)
            for k in ikey[1]:
                ing |= by_allow_peer.get(k, 0)
            in_masks[ikey] = ing
        bits = bin(eg & ing)[:1:-1]  # lowest bit first
        return [gi for gi, bit in enumerate(bits) if bit == "1"]

    cache = PairCache(ix)
    out: dict[tuple[str, str], IntervalSet] = {}
    for srcs in src_groups.values():
        s = srcs[0]
        for gi in visits(s):
            dsts = dst_list[gi]
            d = dsts[0]
            if len(srcs) == 1 and len(dsts) == 1 and s.id == d.id and len(s.members) < 2:
                continue
            eg = cache.egress_ports(s, d)  # not cache.ports: one pair per group pair, nothing to reuse
            ports = intersect(eg, cache.ingress_ports(s, d)) if eg else EMPTY
            if ports:
                key = (s.namespace, d.namespace)
                out[key] = union(out.get(key, EMPTY), ports)
    return _with_node_local(index, out)


_Spread = dict[str, tuple[int, int]]  # namespace -> (first class id, endpoint count) of a set of classes


def namespace_matrix(index: Index) -> dict[tuple[str, str], IntervalSet]:
    """Union of allowed ports over the endpoint pairs of each namespace pair (an endpoint with itself excluded),
    every pair listed (`namespace_matrix_parts` keeps the all-open block apart)."""
    open_from, open_to, out = namespace_matrix_parts(index)
    for a in open_from:
        for b in open_to:
            if a != b:
                out[(a, b)] = ALL_PORTS
    return dict(sorted(out.items()))


def namespace_matrix_parts(index: Index) -> tuple[list[str], list[str], dict[tuple[str, str], IntervalSet]]:
    """The namespace matrix as (open_from, open_to, entries): every pair (a, b) of open_from x open_to with
    a != b allows every port and is not in `entries` (namespaces with an egress-open pod times namespaces with
    an ingress-open pod: quadratic in namespaces, so kept as a block); `entries` holds every other pair that
    allows something, self pairs included.

    Equal to `namespace_matrix_pairwise` without visiting class pairs. A connection is allowed on the
    intersection of the source's egress and the destination's ingress; by whether each side is isolated:
    (1) neither: every port, for every namespace with an egress-open class times every namespace with an
    ingress-open class; (2) only the destination: each ingress rule's ports, from the namespaces of the
    egress-open classes it matches; (3) only the source: each egress rule's ports towards the ingress-open
    classes it matches; (4) both: per destination class and ingress rule, the matched sources' egress ports
    towards that class intersected with the rule's ports. Sources with the same egress policies (and
    destinations with the same ingress policies and named ports) are handled once. An endpoint talking to
    itself is no pair: a set of classes holding one endpoint cannot pair with that same endpoint.
    """
    ix = index
    if ix.tiers.active:
        # The four cases below assume NetworkPolicy alone; with cluster-scoped tiers, class pairs are decided
        # through them, once per pair of interchangeable groups.
        return [], [], namespace_matrix_grouped(index)
    classes = ix.classes
    out: dict[tuple[str, str], IntervalSet] = {}

    def add(a: str, b: str, ports: IntervalSet) -> None:
        if a != b and a in eg_spread and b in in_spread:
            return  # in the all-open block
        cur = out.get((a, b))
        if cur is None:
            out[(a, b)] = ports
        elif cur != ports and cur != ALL_PORTS:
            out[(a, b)] = union(cur, ports)

    def spread(ids: Iterator[int] | frozenset[int] | list[int]) -> _Spread:
        got: _Spread = {}
        for cid in ids:
            c = classes[cid]
            prev = got.get(c.namespace)
            got[c.namespace] = (cid, len(c.members)) if prev is None else (prev[0], prev[1] + len(c.members))
        return got

    def lone(first: int, count: int, other: PodClass) -> bool:
        """The only pair would be one endpoint with itself."""
        return count == 1 and first == other.id and len(other.members) == 1

    open_eg = [c.id for c in classes if not ix.isolated(c, "egress")]
    open_in = [c.id for c in classes if not ix.isolated(c, "ingress")]
    open_eg_set, open_in_set = frozenset(open_eg), frozenset(open_in)
    # (1) open to open: the block, and the self pairs
    eg_spread, in_spread = spread(open_eg), spread(open_in)
    for a, (fa, na) in eg_spread.items():
        if a in in_spread:
            fb, nb = in_spread[a]
            if not (na == 1 and nb == 1 and fa == fb):
                out[(a, a)] = ALL_PORTS
    port_cache: dict[tuple[int, tuple[object, ...]], IntervalSet] = {}

    def rule_ports(r: Rule, named: tuple[object, ...]) -> IntervalSet:
        key = (id(r), named)
        got = port_cache.get(key)
        if got is None:
            got = port_cache[key] = rule_port_set(r, named)  # type: ignore[arg-type]
        return got

    # Egress groups: isolated sources with the same egress policies.
    eg_group: dict[int, int] = {}
    eg_groups: list[tuple[str, tuple[Policy, ...], list[PodClass]]] = []
    keys: dict[tuple[str, tuple[int, ...]], int] = {}
    for c in classes:
        if c.id in open_eg_set:
            continue
        pols = ix.policies_for(c, "egress")
        k = (c.namespace, tuple(id(p) for p in pols))
        g = keys.get(k)
        if g is None:
            g = keys[k] = len(eg_groups)
            eg_groups.append((c.namespace, pols, []))
        eg_groups[g][2].append(c)
        eg_group[c.id] = g
    # (3) isolated source to open destination
    open_dst: dict[int, dict[str, dict[tuple[object, ...], tuple[int, int]]]] = {}
    for ns, pols, members in eg_groups:
        for p in pols:
            for r in p.egress:
                matched_set = ix.rule_classes(p, r)
                key = id(matched_set)  # rules with the same peer share one set
                targets = open_dst.get(key)
                if targets is None:
                    targets = {}
                    for cid in matched_set & open_in_set:
                        c = classes[cid]
                        by_ports = targets.setdefault(c.namespace, {})
                        prev = by_ports.get(c.named_ports)
                        by_ports[c.named_ports] = (cid, len(c.members)) if prev is None else (prev[0],
                                                                                               prev[1] + len(c.members))
                    open_dst[key] = targets
                for b, by_ports in targets.items():
                    for named, (first, count) in by_ports.items():
                        ports = rule_ports(r, named)
                        if ports and not (b == ns and len(members) == 1 and lone(first, count, members[0])):
                            add(ns, b, ports)
    # (2) and (4): isolated destinations, per ingress rule
    open_src: dict[int, _Spread] = {}  # by id() of the matched set (shared by rules with the same peer)
    iso_src: dict[int, dict[int, tuple[int, int]]] = {}
    eg_cache: dict[tuple[int, int], IntervalSet] = {}

    def egress_towards(g: int, d: PodClass) -> IntervalSet:
        key = (g, d.id)
        got = eg_cache.get(key)
        if got is None:
            got = EMPTY
            for p in eg_groups[g][1]:
                for r in p.egress:
                    if d.id in ix.rule_classes(p, r):
                        got = union(got, rule_ports(r, d.named_ports))
            eg_cache[key] = got
        return got

    in_groups: dict[tuple[str, tuple[int, ...], tuple[object, ...]], list[PodClass]] = {}
    for c in classes:
        if c.id not in open_in_set:
            pols = ix.policies_for(c, "ingress")
            in_groups.setdefault((c.namespace, tuple(id(p) for p in pols), c.named_ports), []).append(c)
    for dsts in in_groups.values():
        b = dsts[0].namespace
        pols = ix.policies_for(dsts[0], "ingress")
        for p in pols:
            for r in p.ingress:
                ports = rule_ports(r, dsts[0].named_ports)
                if not ports:
                    continue
                matched = ix.rule_classes(p, r)
                key = id(matched)
                srcs = open_src.get(key)
                if srcs is None:
                    srcs = open_src[key] = spread(matched & open_eg_set)
                for a, (first, count) in srcs.items():
                    if not (a == b and len(dsts) == 1 and lone(first, count, dsts[0])):
                        add(a, b, ports)
                groups = iso_src.get(key)
                if groups is None:
                    groups = {}
                    for cid in matched:
                        g = eg_group.get(cid)
                        if g is not None:
                            prev = groups.get(g)
                            n = len(classes[cid].members)
                            groups[g] = (cid, n) if prev is None else (prev[0], prev[1] + n)
                    iso_src[key] = groups
                for d in dsts:
                    for g, (first, count) in groups.items():
                        a = eg_groups[g][0]
                        if a == b and lone(first, count, d):
                            continue
                        eg = egress_towards(g, d)
                        if eg:
                            both = intersect(eg, ports)
                            if both:
                                add(a, b, both)
    eps = index.cluster.endpoints
    for i, j in node_local_pairs(index):
        a, b = eps[i].namespace, eps[j].namespace
        if not (a != b and a in eg_spread and b in in_spread):
            out[(a, b)] = ALL_PORTS
    return sorted(eg_spread), sorted(in_spread), dict(sorted(out.items()))
