"""The normalised, immutable model of a cluster snapshot.

Everything here is already defaulted (policyTypes, protocols, namespace labels) and validated by
`scanner.parse`; nothing downstream re-reads raw objects. The model names three different things apart:
a policy *selects* a pod (its podSelector matches), a pod is *isolated* in a direction (a valid policy that
affects that direction selects it, and it is not hostNetwork), and a direction is *restricted* (what the
union of rules allows is less than everything). This module holds data only: no semantics beyond accessors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from scanner.intervals import IntervalSet
from scanner.selectors import LabelSelector

Direction = Literal["ingress", "egress"]
DIRECTIONS: tuple[Direction, Direction] = ("ingress", "egress")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job",
                  "CronJob")


@dataclass(frozen=True, slots=True)
class Source:
    """Where an object came from: a file and the 1-based document index and line, or a live cluster."""

    file: str
    document: int | None = None
    line: int | None = None

    def describe(self) -> str:
        where = self.file
        if self.document is not None:
            where += f" (document {self.document}"
            where += f", line {self.line})" if self.line is not None else ")"
        return where


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: dict[str, str]
    defined: bool  # False: referenced by an object but not in the input (carries only the name label)
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class NamedPort:
    name: str
    protocol: str
    port: int


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A pod, or a workload template standing for the pods it would create."""

    namespace: str
    name: str
    kind: str  # "Pod" or one of WORKLOAD_KINDS
    labels: dict[str, str]
    named_ports: tuple[NamedPort, ...]
    host_network: bool
    ips: tuple[str, ...] = ()
    node: str | None = None
    phase: str | None = None
    host_ports: tuple[tuple[str, int], ...] = ()
    source: Source | None = None
    namespace_defaulted: bool = False
    host_ip: str | None = None
    # The workload a pod belongs to, (kind, name): its controller, with a ReplicaSet named after a Deployment
    # (pod-template-hash) and a Job named after a CronJob in the input taken up to them. None: a bare pod,
    # or a template (which is the workload itself).
    owner: tuple[str, str] | None = None

    @property
    def ref(self) -> str:
        if self.kind == "Pod":
            return f"{self.namespace}/{self.name}"
        return f"{self.namespace}/{self.kind}/{self.name}"

    def ports_named(self, name: str, protocol: str) -> tuple[int, ...]:
        return tuple(sorted({p.port for p in self.named_ports if p.name == name and p.protocol == protocol}))


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: str
    excepts: tuple[str, ...]
    addresses: IntervalSet  # cidr minus every except
    prefixlen: int
    version: int


@dataclass(frozen=True, slots=True)
class Peer:
    """One item of `from`/`to`. Exactly one of: selectors (one or both), or ipBlock."""

    index: int
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    def describe(self) -> str:
        if self.ip_block is not None:
            ex = f" except {', '.join(self.ip_block.excepts)}" if self.ip_block.excepts else ""
            return f"ipBlock {self.ip_block.cidr}{ex}"
        ns, pod = self.namespace_selector, self.pod_selector
        if ns is not None and pod is not None:
            return f"namespaceSelector {ns.describe()} AND podSelector {pod.describe()}"
        if ns is not None:
            return f"namespaceSelector {ns.describe()} (every pod of those namespaces)"
        assert pod is not None
        return f"podSelector {pod.describe()} (policy's namespace)"


@dataclass(frozen=True, slots=True)
class PortSpec:
    protocol: str  # defaulted: TCP when absent
    port: int | str | None  # None: every port of the protocol; str: a named port
    end_port: int | None = None

    def describe(self) -> str:
        if self.port is None:
            return f"all {self.protocol}"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One ingress or egress rule. `peers is None`: `from`/`to` absent or empty, every peer.
    `ports is None`: `ports` absent or empty, every port and protocol."""

    direction: Direction
    index: int
    peers: tuple[Peer, ...] | None
    ports: tuple[PortSpec, ...] | None

    @property
    def field(self) -> str:
        return f"spec.{self.direction}[{self.index}]"

    @property
    def peer_field(self) -> str:
        return "from" if self.direction == "ingress" else "to"


@dataclass(frozen=True, slots=True)
class Policy:
    """A valid `networking.k8s.io/v1` NetworkPolicy, defaulted."""

    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[str]  # effective: {"Ingress", "Egress"} subset
    policy_types_explicit: bool
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    # What the manifest said, for rules that judge authoring (NP023 etc.): "absent", "empty" or "rules".
    ingress_field: str = "absent"
    egress_field: str = "absent"
    source: Source | None = None
    namespace_defaulted: bool = False

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def affects(self, direction: Direction) -> bool:
        return ("Ingress" if direction == "ingress" else "Egress") in self.policy_types

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        """The rules that take effect for `direction` (none when the direction is not affected)."""
        if not self.affects(direction):
            return ()
        return self.ingress if direction == "ingress" else self.egress

    def written_rules(self, direction: Direction) -> tuple[Rule, ...]:
        """The rules as written, even when policyTypes leaves the direction out."""
        return self.ingress if direction == "ingress" else self.egress


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class InvalidPolicy:
    """A NetworkPolicy (or a cluster-scoped policy: `namespace` "", `kind` set) the API server would reject. It
    takes no part in the analysis."""

    namespace: str
    name: str
    problems: tuple[Problem, ...]
    source: Source | None = None
    kind: str = "NetworkPolicy"

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


# --- cluster-scoped policy tiers (policy.networking.k8s.io) --------------------------------------------------

TIERS = ("Admin", "Baseline")  # in evaluation order; NetworkPolicy sits between them


@dataclass(frozen=True, slots=True)
class TierPeer:
    """One item of a cluster-scoped rule's `from`/`to`: exactly one kind of peer.

    namespaces: every pod of the namespaces `namespace_selector` matches; pods: the pods `pod_selector` matches
    in them; networks: addresses (pod IPs included); nodes: the addresses of the nodes `node_selector` matches;
    domainNames (ClusterNetworkPolicy, Accept only): cannot be resolved offline, so taken as every public
    address (an over-approximation of what it allows, never a false deny)."""

    index: int
    kind: str  # "namespaces" | "pods" | "networks" | "nodes" | "domainNames"
    namespace_selector: LabelSelector | None = None
    pod_selector: LabelSelector | None = None
    networks: tuple[IPBlock, ...] = ()
    node_selector: LabelSelector | None = None
    domains: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "namespaces":
            assert self.namespace_selector is not None
            return f"namespaces {self.namespace_selector.describe()}"
        if self.kind == "pods":
            assert self.namespace_selector is not None and self.pod_selector is not None
            return f"pods {self.pod_selector.describe()} in namespaces {self.namespace_selector.describe()}"
        if self.kind == "networks":
            return "networks " + ", ".join(b.cidr for b in self.networks)
        if self.kind == "nodes":
            assert self.node_selector is not None
            return f"nodes {self.node_selector.describe()}"
        return "domainNames " + ", ".join(self.domains) + " (taken as any public address)"


@dataclass(frozen=True, slots=True)
class TierRule:
    """One ingress or egress rule of a cluster-scoped policy. `action` is Allow, Deny or Pass
    (ClusterNetworkPolicy's Accept is Allow). `ports is None`: every port and protocol."""

    direction: Direction
    index: int
    name: str
    action: str
    peers: tuple[TierPeer, ...]
    ports: tuple[PortSpec, ...] | None

    @property
    def field(self) -> str:
        return f"spec.{self.direction}[{self.index}]"

    def describe(self) -> str:
        return self.field + (f" ({self.name!r})" if self.name else "")


@dataclass(frozen=True, slots=True)
class AdminPolicy:
    """A valid AdminNetworkPolicy, BaselineAdminNetworkPolicy (v1alpha1) or ClusterNetworkPolicy (v1alpha2).

    The subject is the non-hostNetwork pods of the namespaces `subject_namespaces` matches (and, when
    `subject_pods` is set, whose labels it matches). Admin tier rules are evaluated before NetworkPolicy, in
    priority order (lower first), each policy's rules in written order; Baseline tier rules only for traffic
    no NetworkPolicy isolates. A BaselineAdminNetworkPolicy has no priority (`priority` 0)."""

    kind: str
    api_version: str
    name: str
    tier: str  # "Admin" | "Baseline"
    priority: int
    subject_namespaces: LabelSelector
    subject_pods: LabelSelector | None
    ingress: tuple[TierRule, ...]
    egress: tuple[TierRule, ...]
    source: Source | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def describe(self) -> str:
        if self.kind == "BaselineAdminNetworkPolicy":
            return self.ref
        return f"{self.ref} ({self.tier} tier, priority {self.priority})"

    def rules(self, direction: Direction) -> tuple[TierRule, ...]:
        return self.ingress if direction == "ingress" else self.egress


@dataclass(frozen=True, slots=True)
class ServicePort:
    protocol: str
    port: int
    target_port: int | str | None
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    type: str
    selector: dict[str, str] | None
    ports: tuple[ServicePort, ...]
    source: Source | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    pod_cidrs: tuple[str, ...]
    addresses: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OtherPolicy:
    """A policy object of a kind the engine does not model (Calico, Cilium, or a policy.networking.k8s.io
    version other than the modelled ones)."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    endpoint: Endpoint
    reason: str


@dataclass(frozen=True, slots=True)
class Cluster:
    """One snapshot, parsed. The engine and the rules read this, never raw objects."""

    namespaces: dict[str, Namespace]
    endpoints: tuple[Endpoint, ...]
    policies: tuple[Policy, ...]
    invalid_policies: tuple[InvalidPolicy, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    services: tuple[Service, ...] = ()
    nodes: tuple[Node, ...] = ()
    other_policies: tuple[OtherPolicy, ...] = ()
    daemonsets: tuple[dict[str, Any], ...] = ()
    skipped_kinds: dict[str, int] = field(default_factory=dict)
    defaulted_objects: tuple[tuple[str, str, str], ...] = ()  # (kind, namespace, name) placed in --namespace
    admin_policies: tuple[AdminPolicy, ...] = ()  # in evaluation order (scanner.parse_tiers.ORDER)
    invalid_admin_policies: tuple[InvalidPolicy, ...] = ()
