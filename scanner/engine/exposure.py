"""Exposure questions of the permissive rules (NP010-NP019), answered with the engine's primitives.

Owns: which rules of a pod's policies admit a class or an address (with the ports, for explanations), which
addresses count as the internet or as the cluster's own ranges, and the conservative "could this ipBlock
match a pod whose IP the input does not know" test that segmentation evidence needs. It must not re-implement
selector or port matching: peers are matched by `Index.peer_matches_class`, ports by `rule_port_set`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scanner.config import Config
from scanner.engine.analysis import cidr_set, public_addresses, rules_reaching_addresses
from scanner.engine.index import Index, PodClass, rule_port_set
from scanner.findings import Result, fail, passed
from scanner.intervals import (
    ALL_PORTS,
    EMPTY,
    IntervalSet,
    intersect,
    ports_text,
    subtract,
    union,
)
from scanner.model import DIRECTIONS, NAMESPACE_NAME_LABEL, Direction, IPBlock, Peer, Policy, Rule, TierPeer
from scanner.selectors import LabelSelector

if TYPE_CHECKING:
    from scanner.context import Context

_V4_END = 1 << 32  # the encoded address line: IPv4 below, IPv6 shifted above (scanner.intervals)


# --- peers and addresses ------------------------------------------------------------------------------------


def selects_every_namespace(sel: LabelSelector | None) -> bool:
    """Does this namespaceSelector match every namespace, including namespaces created later? True for `{}`
    and for selectors that only require the `kubernetes.io/metadata.name` label, which every namespace has."""
    if sel is None:
        return False
    return not sel.match_labels and all(r.key == NAMESPACE_NAME_LABEL and r.operator == "Exists"
                                        for r in sel.expressions)


def every_pod_of_every_namespace(peer: Peer) -> bool:
    """A peer that admits every pod of every namespace (present and future): no podSelector narrows it."""
    return selects_every_namespace(peer.namespace_selector) and (
        peer.pod_selector is None or peer.pod_selector.is_empty)


def internet(config: Config) -> IntervalSet:
    """Public address space minus the configured trusted CIDRs."""
    return subtract(public_addresses(), cidr_set(config.trusted_cidrs))


def below_min_prefix(block: IPBlock, config: Config) -> bool:
    bound = config.ipv4_min_prefix if block.version == 4 else config.ipv6_min_prefix
    return block.prefixlen < bound


def min_prefix(block: IPBlock, config: Config) -> int:
    return config.ipv4_min_prefix if block.version == 4 else config.ipv6_min_prefix


def address_cidrs(s: IntervalSet, limit: int = 8) -> list[str]:
    """An encoded address set as CIDRs (the first `limit`, then a count of the rest)."""
    out: list[str] = []
    for lo, hi in s:
        if lo < _V4_END:
            v4 = ipaddress.summarize_address_range(ipaddress.IPv4Address(lo),
                                                   ipaddress.IPv4Address(min(hi, _V4_END - 1)))
            out.extend(str(n) for n in v4)
        if hi >= _V4_END:
            v6 = ipaddress.summarize_address_range(ipaddress.IPv6Address(max(lo, _V4_END) - _V4_END),
                                                   ipaddress.IPv6Address(hi - _V4_END))
            out.extend(str(n) for n in v6)
    if len(out) > limit:
        return [*out[:limit], f"... and {len(out) - limit} more"]
    return out


def cluster_ranges(index: Index, config: Config) -> dict[str, IntervalSet]:
    """The cluster's own address ranges that are known: configured pod/service/node CIDRs and the Nodes'
    podCIDRs. Empty sets are left out."""
    node_pod_cidrs = [c for n in index.cluster.nodes for c in n.pod_cidrs]
    out = {"pod": cidr_set([*config.pod_cidrs, *node_pod_cidrs]),
           "service": cidr_set(list(config.service_cidrs)),
           "node": cidr_set(list(config.node_cidrs))}
    return {k: v for k, v in out.items() if v}


# --- which rule admits what ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Admit:
    """One rule that admits some traffic, with the ports it admits and the peer that matched."""

    policy: Policy
    rule: Rule
    ports: IntervalSet
    peer: str
    plugin_dependent: bool = False

    @property
    def where(self) -> str:
        return f"{self.policy.ref} {self.rule.field}"

    def describe(self) -> str:
        return admit_text(self.policy, self.rule, self.peer, self.ports, self.plugin_dependent)


def not_isolated_reason(index: Index, cls: PodClass, direction: Direction) -> str | None:
    """Why `cls` allows everything in `direction`, or None when it is isolated."""
    if index.isolated(cls, direction):
        return None
    word = "ingress" if direction == "ingress" else "egress"
    if cls.host_network:
        return f"not isolated for {word} (hostNetwork pod: NetworkPolicy does not apply to it in a defined way)"
    return f"not isolated for {word} (no policy affecting {word.capitalize()} selects it)"


def _peer_text(rule: Rule, peer: Peer | None) -> str:
    return f"any {rule.peer_field}" if peer is None else f"{rule.peer_field}[{peer.index}] {peer.describe()}"


def class_admits(index: Index, owner: PodClass, direction: Direction, other: PodClass) -> list[Admit]:
    """Rules of `owner`'s policies in `direction` that match the class `other` (a source on ingress, a
    destination on egress), with the ports they admit (named ports resolve on the destination)."""
    dest_ports = owner.named_ports if direction == "ingress" else other.named_ports
    out = []
    for p in index.policies_for(owner, direction):
        for r in p.rules(direction):
            if r.peers is None:
                hit: Peer | None = None
            else:
                if other.id not in index.rule_classes(p, r):  # cached per rule: no peer matches
                    continue
                matching = [peer for peer in r.peers if index.peer_matches_class(p, peer, other)]
                if not matching:
                    continue
                hit = next((m for m in matching if m.ip_block is None), matching[0])
            ports = rule_port_set(r, dest_ports)
            if ports:
                out.append(Admit(p, r, ports, _peer_text(r, hit), hit is not None and hit.ip_block is not None))
    return out


def address_admits(index: Index, cls: PodClass, direction: Direction, addresses: IntervalSet) -> list[Admit]:
    """Rules of `cls`'s policies in `direction` whose peers admit some address of `addresses`."""
    out = []
    for ref, ports in rules_reaching_addresses(index, cls, direction, addresses):
        r = ref.rule
        if r.peers is None:
            peer = _peer_text(r, None)
        else:
            peer = "; ".join(_peer_text(r, x) for x in r.peers
                             if x.ip_block is not None and intersect(x.ip_block.addresses, addresses))
        out.append(Admit(ref.policy, r, ports, peer))
    return out


@dataclass(slots=True)
class SourceMatch:
    """What one rule's peers match in one namespace (as sources on ingress, destinations on egress)."""

    classes: list[PodClass]
    selector: bool  # some class matched through a selector peer (not only an ipBlock: not plugin-dependent)
    peers: set[tuple[str, bool]]  # (Admit.peer, Admit.plugin_dependent) of the peer each class matched
    egress_open: bool  # some class is not egress-isolated
    egress_profiles: dict[int, tuple[Policy, ...]]  # egress policies of the egress-isolated ones, by id


@dataclass(slots=True)
class SourceTotals:
    """A single-peer rule's matches over every namespace, for rules that match many namespaces: counts let a
    caller leave one namespace (the destination's own) out exactly. Egress profiles are grouped by
    `Index.egress_signature`, so per-namespace copies of one policy count once."""

    namespaces: list[str]  # sorted
    peer: tuple[str, bool]
    egress_open: dict[str, bool]  # namespace -> some class there is not egress-isolated
    open_count: int
    egress_profiles: dict[int, tuple[tuple[Policy, ...], int]]  # signature -> (policies, namespaces)
    profiles_of: dict[str, tuple[int, ...]]

    def others(self, namespace: str) -> tuple[int, bool, list[tuple[Policy, ...]]]:
        """(namespaces, egress-open anywhere, egress profiles) over the namespaces other than `namespace`."""
        own = namespace in self.egress_open
        n = len(self.namespaces) - own
        open_elsewhere = self.open_count - (own and self.egress_open[namespace]) > 0
        mine = set(self.profiles_of.get(namespace, ()))
        profiles = [pols for sig, (pols, count) in self.egress_profiles.items() if count - (sig in mine) > 0]
        return n, open_elsewhere, profiles


def _single_peer_key(policy: Policy, rule: Rule) -> tuple[object, ...] | None:
    """What a rule's matches depend on, when it has no peers or one selector peer (shared across rules)."""
    if rule.peers is None:
        return (rule.peer_field, None)
    if len(rule.peers) == 1 and rule.peers[0].ip_block is None:
        peer = rule.peers[0]
        own = policy.namespace if peer.namespace_selector is None else None
        return (_peer_text(rule, peer), peer.namespace_selector, peer.pod_selector, own)
    return None


def rule_totals(index: Index, policy: Policy, rule: Rule) -> SourceTotals | None:
    """`rule_sources` summed over namespaces (None for rules with several peers or an ipBlock peer)."""
    key = _single_peer_key(policy, rule)
    if key is None:
        return None
    memo = index.memo.setdefault("rule_totals", {})
    got: SourceTotals | None = memo.get(key)
    if got is None:
        per_ns = rule_sources(index, policy, rule)
        got = SourceTotals(sorted(per_ns), next(iter(next(iter(per_ns.values())).peers)) if per_ns else ("", False),
                           {}, 0, {}, {})
        for ns, m in per_ns.items():
            got.egress_open[ns] = m.egress_open
            got.open_count += m.egress_open
            sigs = {index.egress_signature(pols): pols for pols in m.egress_profiles.values()}
            got.profiles_of[ns] = tuple(sigs)
            for sig, pols in sigs.items():
                prev = got.egress_profiles.get(sig)
                got.egress_profiles[sig] = (pols, 1 if prev is None else prev[1] + 1)
        memo[key] = got
    return got


def rule_sources(index: Index, policy: Policy, rule: Rule) -> dict[str, SourceMatch]:
    """The classes `rule` of `policy` matches, summarised per namespace (`class_admits` per class, grouped),
    computed once per rule (and once per peer for rules with a single selector peer) and index."""
    memo = index.memo.setdefault("rule_sources", {})
    key = (id(policy), id(rule))
    got: dict[str, SourceMatch] | None = memo.get(key)
    if got is not None:
        return got
    shared_key = _single_peer_key(policy, rule)
    if shared_key is not None:
        shared: dict[Any, dict[str, SourceMatch]] = index.memo.setdefault("peer_sources", {})
        got = shared.get(shared_key)
        if got is not None:
            memo[key] = got
            return got
    got = {}
    if rule.peers is None or (len(rule.peers) == 1 and rule.peers[0].ip_block is None):
        # One text for every match: summarise whole namespaces at once (shared by rules with the same peer).
        peer = None if rule.peers is None else rule.peers[0]
        text = (_peer_text(rule, peer), False)
        if peer is None:
            namespaces: tuple[str, ...] = tuple(index.classes_by_ns)
        elif peer.namespace_selector is None:
            namespaces = (policy.namespace,)
        else:
            namespaces = index.namespaces_matching(peer.namespace_selector)
        for ns in namespaces:
            chunk = _chunk(index, ns, None if peer is None else peer.pod_selector, peer is None)
            if chunk.classes:
                got[ns] = SourceMatch(chunk.classes, True, {text}, chunk.egress_open, chunk.egress_profiles)
        memo[key] = got
        index.memo.setdefault("peer_sources", {})[shared_key] = got
        return got
    texts = {x.index: (_peer_text(rule, x), x.ip_block is not None) for x in rule.peers}
    peer_sets = [(x, index.peer_classes(policy, x)) for x in rule.peers]
    for cid in sorted(index.rule_classes(policy, rule)):
        cls = index.classes[cid]
        matching = [x for x, ids in peer_sets if cid in ids]
        hit = next((m for m in matching if m.ip_block is None), matching[0])
        text = texts[hit.index]
        m = got.get(cls.namespace)
        if m is None:
            m = got[cls.namespace] = SourceMatch([], False, set(), False, {})
        m.classes.append(cls)
        m.selector = m.selector or not text[1]
        m.peers.add(text)
        _add_egress(index, m, cls)
    memo[key] = got
    return got


def _add_egress(index: Index, m: SourceMatch, cls: PodClass) -> None:
    """Record whether `cls` is egress-open, or the egress policies that isolate it."""
    if index.isolated(cls, "egress"):
        pols = index.policies_for(cls, "egress")
        m.egress_profiles.setdefault(id(pols), pols)
    else:
        m.egress_open = True


def _chunk(index: Index, namespace: str, selector: LabelSelector | None, with_host: bool) -> SourceMatch:
    """The classes of one namespace a podSelector matches (every class with `with_host`, hostNetwork ones
    included: a rule without peers), summarised; cached per index."""
    memo = index.memo.setdefault("chunks", {})
    key = (namespace, selector, with_host)
    got: SourceMatch | None = memo.get(key)
    if got is None:
        if with_host:
            classes = list(index.classes_by_ns.get(namespace, ()))
        else:
            classes = [index.classes[i] for i in index.pod_classes(namespace, selector)]
        got = SourceMatch(classes, True, set(), False, {})
        for cls in classes:
            _add_egress(index, got, cls)
        memo[key] = got
    return got


def admit_text(policy: Policy, rule: Rule, peer: str, ports: IntervalSet, plugin_dependent: bool) -> str:
    """`Admit.describe` without building an Admit."""
    pd = " [plugin-dependent: an ipBlock matching a pod IP]" if plugin_dependent else ""
    return f"{policy.ref} {rule.field} ({peer}; {ports_text(ports)}){pd}"


def union_ports(admits: list[Admit]) -> IntervalSet:
    out: IntervalSet = EMPTY
    for a in admits:
        out = union(out, a.ports)
    return out


# --- pods whose IPs the input does not know -----------------------------------------------------------------


class PossibleMatch:
    """Could an ipBlock match a pod whose IP the input does not know? When the cluster's pod (or, for
    hostNetwork pods, node) ranges are known, a block that overlaps them could; when they are not, a block
    broader than the configured bounds could. Either way the answer is plugin-dependent."""

    def __init__(self, index: Index, config: Config) -> None:
        self.index = index
        self.config = config
        ranges = cluster_ranges(index, config)
        self.pod_space = ranges.get("pod", EMPTY)
        node_ips = [f"{a}/{32 if ':' not in a else 128}" for n in index.cluster.nodes for a in n.addresses
                    if _is_ip(a)]
        self.node_space = union(ranges.get("node", EMPTY), cidr_set(node_ips))
        self._unknown = {c.id: any(not index.cluster.endpoints[i].ips for i in c.members)
                         for c in index.classes}

    def block_may_match(self, block: IPBlock, cls: PodClass) -> bool:
        if not self._unknown[cls.id]:
            return False
        space = self.node_space if cls.host_network else self.pod_space
        if space:
            return bool(intersect(block.addresses, space))
        return below_min_prefix(block, self.config)

    def admits(self, owner: PodClass, direction: Direction, other: PodClass) -> list[Admit]:
        """Like `class_admits`, plus the rules whose ipBlock could match `other` if its IP is unknown."""
        exact = class_admits(self.index, owner, direction, other)
        if not self._unknown[other.id]:
            return exact
        seen = {(a.policy.ref, a.rule.field) for a in exact}
        dest_ports = owner.named_ports if direction == "ingress" else other.named_ports
        out = list(exact)
        for p in self.index.policies_for(owner, direction):
            for r in p.rules(direction):
                if (p.ref, r.field) in seen or r.peers is None:
                    continue
                blocks = [x for x in r.peers if x.ip_block is not None and self.block_may_match(x.ip_block, other)]
                ports = rule_port_set(r, dest_ports)
                if blocks and ports:
                    out.append(Admit(p, r, ports, _peer_text(r, blocks[0]) + " (could hold its unknown IP)",
                                     True))
        return out

    def side(self, owner: PodClass, direction: Direction, other: PodClass) -> Side:
        """What `owner`'s side may allow towards/from `other`, counting unknown-IP ipBlock candidates, through
        the cluster-scoped tiers when some apply."""
        reason = not_isolated_reason(self.index, owner, direction)
        if reason is not None:
            side = Side(ALL_PORTS, ALL_PORTS, [reason], [])
        else:
            admits = self.admits(owner, direction, other)
            firm = union_ports([a for a in admits if not a.plugin_dependent])
            side = Side(union_ports(admits), firm, [a.describe() for a in admits],
                        sorted({a.policy.ref for a in admits}))
        tiers = self.index.tiers
        if not (tiers.active and tiers.governs(owner, direction)):
            return side
        isolated = reason is None
        d = tiers.decide_class(owner, direction, other, side.ports, isolated)
        firm_d = tiers.decide_class(owner, direction, other, side.firm, isolated)
        lines = [f"{s.describe()} on {ports_phrase(s.ports)}" for s in (*d.admin, *d.baseline)]
        refs = {s.policy.ref for s in (*d.admin, *d.baseline)}
        return Side(d.allowed, firm_d.allowed, lines + side.lines, sorted(refs | set(side.policies)))


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a class pair: every port it may allow, the ports that rest on no plugin-dependent ipBlock
    match, the explanation lines and the policies that admit."""

    ports: IntervalSet
    firm: IntervalSet
    lines: list[str]
    policies: list[str]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- helpers shared by the per-policy rules -----------------------------------------------------------------


def governed_refs(index: Index, policy: Policy) -> list[str]:
    """Endpoints the policy governs today (its namespace, its podSelector; hostNetwork pods left out)."""
    out: list[str] = []
    for cls in index.classes:
        if cls.namespace == policy.namespace and not cls.host_network and any(
                q is policy for q in index.selecting(cls)):
            out.extend(index.cluster.endpoints[i].ref for i in cls.members)
    return sorted(out)


def effective_peers(policy: Policy) -> list[tuple[Rule, Peer]]:
    """Every peer of the rules that take effect (a rule in a direction the policyTypes leave out is dead)."""
    return [(r, peer) for d in DIRECTIONS for r in policy.rules(d) for peer in r.peers or ()]


def peer_field(rule: Rule, peer: Peer) -> str:
    return f"{rule.field}.{rule.peer_field}[{peer.index}]"


def rule_ports_text(rule: Rule) -> str:
    if rule.ports is None:
        return "every port and protocol"
    return ", ".join(s.describe() for s in rule.ports)


def dead_rules_note(policy: Policy, direction: Direction) -> str | None:
    if policy.affects(direction) or not policy.written_rules(direction):
        return None
    word = "Ingress" if direction == "ingress" else "Egress"
    return f"its {direction} rules are dead (policyTypes leave {word} out; see NP023)"


def check_allow_all(ctx: Context, direction: Direction) -> Iterator[Result]:
    """NP010/NP011: one FAIL per rule without peers in a direction the policy affects (medium when the rule
    lists ports, high when not); one PASS per policy without such a rule."""
    peer_key = "from" if direction == "ingress" else "to"
    for p in ctx.cluster.policies:
        subject = ctx.policy_subject(p)
        bad = [r for r in p.rules(direction) if r.peers is None]
        if not bad:
            note = dead_rules_note(p, direction)
            if not p.rules(direction):
                msg = f"{p.ref} has no {direction} rule in effect"
            else:
                msg = f"every {direction} rule of {p.ref} names its {peer_key} peers"
            yield passed(subject, msg + (f"; {note}" if note else ""),
                         rules=[r.field for r in p.rules(direction)])
            continue
        pods = governed_refs(ctx.index, p)
        for r in bad:
            what = f"the {len(pods)} pod(s) it selects" if pods else "the pods it selects (none today)"
            how = "on every port and protocol" if r.ports is None else f"on {rule_ports_text(r)}"
            if direction == "ingress":
                message = (f"{p.ref} {r.field} has no `from`: every source, in or out of the cluster, may "
                           f"connect to {what} {how}")
            else:
                message = (f"{p.ref} {r.field} has no `to`: {what} may connect to every destination, in or out "
                           f"of the cluster, {how}")
            yield fail(subject, message, severity="high" if r.ports is None else "medium",
                       rule=r.field, ports=rule_ports_text(r), pod_selector=p.pod_selector.describe(),
                       pods=pods)


def ports_phrase(s: IntervalSet) -> str:
    """`TCP 80,443`, or `every port` for the full set (messages)."""
    return "every port" if s == ALL_PORTS else ports_text(s)


# --- ingress through the cluster-scoped tiers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierSources:
    """Source classes that one destination's ingress side treats alike, and what it admits from them."""

    ports: IntervalSet
    firm: IntervalSet  # the ports that rest on no plugin-dependent ipBlock match of a pod IP
    classes: tuple[PodClass, ...]
    lines: tuple[str, ...]  # the rules that admit, deciding tier first
    where: tuple[str, ...]  # the same rules as `policy field`
    by_namespace: dict[str, tuple[PodClass, ...]]  # `classes` by namespace


def tier_ingress_sources(index: Index, owner: PodClass, within: IntervalSet) -> list[TierSources]:
    """For a destination whose ingress some cluster-scoped policy governs: every set of interchangeable source
    classes (equal memberships in rule peers: `reach.memberships`) from which owner's ingress side, through
    every tier, admits some port of `within`. The source's own egress side is not judged. Only sources that can
    be admitted are visited: a NetworkPolicy that isolates owner admits only what its rules match, and above
    it only admin-tier Allow rules add anything."""
    from scanner.engine.reach import PairCache, memberships
    from scanner.engine.tiers import holds

    ix, tiers = index, index.tiers
    m = memberships(ix)
    shared = ix.memo.setdefault("tier_source_groups", {})
    if None not in shared:
        groups: dict[tuple[tuple[int, ...], tuple[int, ...]], list[PodClass]] = {}
        for c in ix.classes:
            groups.setdefault((m.member_in[c.id], m.member_tier[c.id]), []).append(c)
        keys = list(groups)
        by_set: dict[int, list[int]] = {}  # ingress rule class set number -> the source groups it holds
        by_peer: dict[int, list[int]] = {}  # tier peer number -> the source groups it matches
        for gi, (sets, peers) in enumerate(keys):
            for sid in sets:
                by_set.setdefault(sid, []).append(gi)
            for k in peers:
                by_peer.setdefault(k, []).append(gi)
        shared[None] = ([groups[k] for k in keys], by_set, by_peer)
    source_groups, by_set, by_peer = shared[None]
    isolated = ix.isolated(owner, "ingress")
    policies = ix.policies_for(owner, "ingress")
    # Equal for owners with the same policies, tier rules and named ports.
    profile = (id(policies), tiers.rule_ids(owner, "ingress"), owner.named_ports, within)
    memo = ix.memo.setdefault("tier_ingress_sources", {})
    got: list[TierSources] | None = memo.get(profile)
    if got is not None:
        return got
    if isolated:
        visit: set[int] = set()
        for p in policies:
            for r in p.ingress:
                if intersect(rule_port_set(r, owner.named_ports), within):
                    visit.update(by_set.get(m.sets_in[id(ix.rule_classes(p, r))], ()))
        for _, tr in tiers.rules(owner, "ingress", "Admin"):
            if tr.action == "Allow" and intersect(rule_port_set(tr, owner.named_ports), within):
                for peer in tr.peers:
                    for k in m.peer_at[id(peer)]:
                        visit.update(by_peer.get(k, ()))
        candidates = [source_groups[gi] for gi in sorted(visit)]
    else:
        candidates = source_groups
    cache = PairCache(ix)
    out = []
    for classes in candidates:
        src = classes[0]
        np_ports = cache.np_ingress(src, owner) if isolated else ALL_PORTS
        # the tier peers src matches (`Tiers.peer_matches_class`, computed once in the memberships)
        matched = holds(frozenset(id(m.tier_peers[k]) for k in m.member_tier[src.id]))
        d = tiers.decide(owner, "ingress", matched, owner.named_ports, np_ports, isolated)
        ports = intersect(d.allowed, within)
        if not ports:
            continue
        steps = [s for s in d.admin if s.rule.action == "Allow" and intersect(s.ports, ports)]
        admits: list[Admit] = []
        default: IntervalSet = EMPTY
        by_np = intersect(intersect(d.np_decides, d.np_ports), ports)
        firm = ports
        if by_np and isolated:
            admits = [a for a in class_admits(ix, owner, "ingress", src) if intersect(a.ports, by_np)]
            firm = subtract(ports, subtract(by_np, union_ports([a for a in admits if not a.plugin_dependent])))
        elif by_np:
            steps += [s for s in d.baseline if s.rule.action == "Allow" and intersect(s.ports, ports)]
            default = by_np
            for s in d.baseline:
                default = subtract(default, s.ports)
        lines = [f"{s.describe()} on {ports_phrase(intersect(s.ports, ports))}" for s in steps]
        lines += [a.describe() for a in admits]
        where = [f"{s.policy.ref} {s.rule.field}" for s in steps] + [a.where for a in admits]
        if default:
            lines.append(f"{not_isolated_reason(ix, owner, 'ingress')}, and no cluster-scoped rule denies "
                         f"{ports_phrase(default)}")
            where.append("the Kubernetes default")
        by_namespace: dict[str, list[PodClass]] = {}
        for c in classes:
            by_namespace.setdefault(c.namespace, []).append(c)
        out.append(TierSources(ports, firm, tuple(classes), tuple(lines), tuple(where),
                               {n: tuple(cs) for n, cs in by_namespace.items()}))
    memo[profile] = out
    return out


def every_namespace_admits(index: Index, cls: PodClass, within: IntervalSet) -> tuple[IntervalSet, list[str]]:
    """Ports of `within` that cls's ingress side admits from a pod of every namespace, present and future (a
    pod in a namespace created later matches only peers that select every namespace), and what admits them:
    NetworkPolicy rules with no `from` or with a namespaceSelector matching every namespace (everything, when no
    NetworkPolicy isolates cls), through the cluster-scoped tiers when some govern cls (where a pod of a new
    namespace matches only the tier peers that select every pod)."""
    from scanner.engine.tiers import every_pod

    ix = index
    reason = not_isolated_reason(ix, cls, "ingress")
    np_ports: IntervalSet = EMPTY
    np_rules: list[str] = []
    if reason is not None:
        np_ports, np_rules = within, [reason]
    else:
        for p in ix.policies_for(cls, "ingress"):
            for r in p.rules("ingress"):
                if r.peers is None or any(selects_every_namespace(x.namespace_selector) for x in r.peers):
                    hit = intersect(rule_port_set(r, cls.named_ports), within)
                    if hit:
                        np_ports = union(np_ports, hit)
                        np_rules.append(f"{p.ref} {r.field}")
    if not (ix.tiers.active and ix.tiers.governs(cls, "ingress")):
        return np_ports, np_rules
    isolated = reason is None
    # A pod of a namespace created later may carry any labels: an Allow admits it when its namespace selector
    # takes in every namespace (as for NetworkPolicy peers, `selects_every_namespace`), whatever its pod
    # selector; a Deny or Pass is counted only when it surely matches (every pod of every namespace).
    allow_peers = {id(peer) for tier in ("Admin", "Baseline") for _, r in ix.tiers.rules(cls, "ingress", tier)
                   if r.action == "Allow" for peer in r.peers}

    def future_pod(peer: TierPeer) -> bool:
        if id(peer) in allow_peers:
            return peer.kind in ("namespaces", "pods") and selects_every_namespace(peer.namespace_selector)
        return every_pod(peer)

    d = ix.tiers.decide(cls, "ingress", future_pod, cls.named_ports, np_ports if isolated else ALL_PORTS,
                        isolated, start=within)
    ports = intersect(d.allowed, within)
    if not ports:
        return EMPTY, []
    rules = [f"{s.policy.ref} {s.rule.field}" for s in (*d.admin, *d.baseline)
             if s.rule.action == "Allow" and intersect(s.ports, ports)]
    if intersect(intersect(d.np_decides, np_ports if isolated else ALL_PORTS), ports):
        rules += np_rules
    return ports, rules
