"""Brute-force reference evaluator for NetworkPolicy reachability (the test oracle).

Owns: a slow, obvious reading of /work/shared/SEMANTICS.md, evaluated pod by pod on RAW manifest dicts
(Namespaces, bare Pods, NetworkPolicies as parsed YAML). It does its own Kubernetes defaulting.
Must not: import anything from ``scanner`` (it is the independent oracle the engine is checked against),
validate policies (only valid ones are fed to it), or be clever. Clarity beats speed here; every branch
below quotes or paraphrases the SEMANTICS.md sentence it implements.

Endpoints are ``(namespace, pod_name)`` tuples or IP address strings. An IP string is always an endpoint
outside the pod network, even when a pod has that IP (docs/cli-contract.md, ``reach``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

NS_NAME_LABEL = "kubernetes.io/metadata.name"
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
INGRESS = "Ingress"
EGRESS = "Egress"

Obj = Mapping[str, Any]
PodKey = tuple[str, str]
Endpoint = PodKey | str


# --------------------------------------------------------------------------- label selectors


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """matchLabels AND matchExpressions; an empty (or absent) selector matches everything.

    NotIn and DoesNotExist match objects that lack the key.
    """
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if key not in labels or labels[key] != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key = expr["key"]
        op = expr["operator"]
        values = list(expr.get("values") or [])
        has_key = key in labels
        if op == "In":
            ok = has_key and labels[key] in values
        elif op == "NotIn":
            ok = (not has_key) or labels[key] not in values
        elif op == "Exists":
            ok = has_key
        elif op == "DoesNotExist":
            ok = not has_key
        else:
            raise ValueError(f"unknown selector operator {op!r}")
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------- object accessors


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _namespace_of(obj: Obj) -> str:
    return _meta(obj).get("namespace") or "default"


def pod_key(pod: Obj) -> PodKey:
    return (_namespace_of(pod), _meta(pod)["name"])


def pod_labels(pod: Obj) -> Mapping[str, str]:
    return _meta(pod).get("labels") or {}


def is_host_network(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork", False))


def is_finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in FINISHED_PHASES


def pod_ips(pod: Obj) -> list[str]:
    """status.podIPs when present, else status.podIP; [] when the snapshot does not know the IP."""
    status = pod.get("status") or {}
    ips = [entry["ip"] for entry in status.get("podIPs") or [] if entry.get("ip")]
    if not ips and status.get("podIP"):
        ips = [status["podIP"]]
    return ips


def container_ports(pod: Obj) -> list[Mapping[str, Any]]:
    ports: list[Mapping[str, Any]] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        ports.extend(container.get("ports") or [])
    return ports


def effective_policy_types(policy: Obj) -> set[str]:
    """policyTypes given: exactly those. Absent (or [], which the API server defaults like absent):
    Ingress always, Egress only if spec.egress is a non-empty list."""
    spec = policy.get("spec") or {}
    given = spec.get("policyTypes")
    if given:
        return set(given)
    types = {INGRESS}
    egress = spec.get("egress")
    if isinstance(egress, list) and len(egress) > 0:
        types.add(EGRESS)
    return types


def ip_in_block(ip: str, block: Mapping[str, Any]) -> bool:
    """ipBlock: cidr minus every except (IPv4 and IPv6; an address of the other family never matches)."""
    addr = ipaddress.ip_address(ip)
    net = ipaddress.ip_network(block["cidr"], strict=False)
    if addr.version != net.version or addr not in net:
        return False
    for excluded in block.get("except") or []:
        ex = ipaddress.ip_network(excluded, strict=False)
        if addr.version == ex.version and addr in ex:
            return False
    return True


# --------------------------------------------------------------------------- the cluster


class Cluster:
    """The raw objects, with namespaces defaulted. Nothing is precomputed beyond lookups."""

    def __init__(self, objects: Iterable[Obj]) -> None:
        objects = list(objects)
        self.policies: list[Obj] = [o for o in objects if o.get("kind") == "NetworkPolicy"]
        all_pods = [o for o in objects if o.get("kind") == "Pod"]
        # Pods whose phase is Succeeded or Failed hold no IP and are ignored.
        self.pods: dict[PodKey, Obj] = {pod_key(p): p for p in all_pods if not is_finished(p)}
        self.finished: list[PodKey] = sorted(pod_key(p) for p in all_pods if is_finished(p))
        # Namespaces always carry kubernetes.io/metadata.name; a namespace referenced but not defined
        # exists with only that label.
        self.ns_labels: dict[str, dict[str, str]] = {}
        for o in objects:
            if o.get("kind") == "Namespace":
                name = _meta(o)["name"]
                labels = dict(_meta(o).get("labels") or {})
                labels[NS_NAME_LABEL] = name
                self.ns_labels[name] = labels
        for o in [*all_pods, *self.policies]:
            ns = _namespace_of(o)
            self.ns_labels.setdefault(ns, {NS_NAME_LABEL: ns})

    # ---- which pods a policy governs / which directions it affects

    def governs(self, policy: Obj, pod: Obj) -> bool:
        """A policy governs only pods in its own namespace that match spec.podSelector (absent = {})."""
        if _namespace_of(policy) != _namespace_of(pod):
            return False
        return selector_matches((policy.get("spec") or {}).get("podSelector") or {}, pod_labels(pod))

    def policies_for(self, pod: Obj, direction: str) -> list[Obj]:
        return [p for p in self.policies if self.governs(p, pod) and direction in effective_policy_types(p)]

    def is_isolated(self, pod: Obj, direction: str) -> bool:
        """Isolated iff some policy governing it affects that direction; hostNetwork pods never count."""
        if is_host_network(pod):
            return False
        return len(self.policies_for(pod, direction)) > 0

    # ---- peers and ports

    def peer_matches(self, policy: Obj, peer: Mapping[str, Any], endpoint: Endpoint) -> bool:
        if "ipBlock" in peer:
            ips = [endpoint] if isinstance(endpoint, str) else pod_ips(self.pods[endpoint])
            return any(ip_in_block(ip, peer["ipBlock"]) for ip in ips)
        if isinstance(endpoint, str):
            return False  # an outside address is only ever matched by an ipBlock
        pod = self.pods[endpoint]
        if is_host_network(pod):
            return False  # hostNetwork pods are never matched by podSelector/namespaceSelector peers
        pod_ns = _namespace_of(pod)
        if "namespaceSelector" in peer:
            ns_ok = selector_matches(peer["namespaceSelector"], self.ns_labels[pod_ns])
        else:
            ns_ok = pod_ns == _namespace_of(policy)  # podSelector alone: the policy's namespace
        pod_ok = "podSelector" not in peer or selector_matches(peer["podSelector"], pod_labels(pod))
        return ns_ok and pod_ok

    def port_matches(self, entry: Mapping[str, Any], dest: Endpoint, port: int, protocol: str) -> bool:
        if entry.get("protocol", "TCP") != protocol:
            return False
        want = entry.get("port")
        if want is None:
            return True  # port absent: all ports of that protocol
        if isinstance(want, int):
            end = entry.get("endPort")
            return want <= port <= end if end is not None else port == want
        # named port: resolves against the destination pod's container ports with that name and protocol.
        if isinstance(dest, str):
            return False  # cannot resolve for an outside destination: matches nothing
        for cp in container_ports(self.pods[dest]):
            if (
                cp.get("name") == want
                and cp.get("protocol", "TCP") == protocol
                and cp.get("containerPort") == port
            ):
                return True
        return False

    # ---- one direction of one connection

    def direction_allows(
        self,
        governed: PodKey,
        direction: str,
        peer: Endpoint,
        dest: Endpoint,
        port: int,
        protocol: str,
    ) -> bool:
        """Does ``governed``'s ``direction`` allow traffic with ``peer`` to ``dest`` on (port, protocol)?"""
        pod = self.pods[governed]
        if not self.is_isolated(pod, direction):
            return True  # not isolated in a direction: allows everything in that direction
        rules_key, peers_key = ("ingress", "from") if direction == INGRESS else ("egress", "to")
        for policy in self.policies_for(pod, direction):
            for rule in (policy.get("spec") or {}).get(rules_key) or []:
                peers = rule.get(peers_key) or []
                if peers and not any(self.peer_matches(policy, p, peer) for p in peers):
                    continue
                ports = rule.get("ports") or []
                if ports and not any(self.port_matches(e, dest, port, protocol) for e in ports):
                    continue
                return True
        return False

    def sides(
        self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP"
    ) -> tuple[bool | None, bool | None]:
        """(egress_allowed, ingress_allowed); a side is None when that endpoint is an IP address."""
        if not isinstance(src, str) and src == dst:
            raise ValueError("a pod talking to itself is not judged")
        egress = (
            None if isinstance(src, str) else self.direction_allows(src, EGRESS, dst, dst, port, protocol)
        )
        ingress = (
            None if isinstance(dst, str) else self.direction_allows(dst, INGRESS, src, dst, port, protocol)
        )
        return egress, ingress

    def allowed(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        egress, ingress = self.sides(src, dst, port, protocol)
        return egress is not False and ingress is not False

    def isolation(self) -> dict[PodKey, tuple[bool, bool]]:
        return {
            key: (self.is_isolated(pod, INGRESS), self.is_isolated(pod, EGRESS))
            for key, pod in sorted(self.pods.items())
        }

    def selecting_policies(self) -> dict[PodKey, tuple[list[str], list[str]]]:
        """Per live pod: sorted ``namespace/name`` of policies selecting it, per direction (hostNetwork too)."""

        def names(policies: list[Obj]) -> list[str]:
            return sorted(f"{_namespace_of(p)}/{_meta(p)['name']}" for p in policies)

        return {
            key: (names(self.policies_for(pod, INGRESS)), names(self.policies_for(pod, EGRESS)))
            for key, pod in sorted(self.pods.items())
        }


# --------------------------------------------------------------------------- module-level API


def isolation(objects: Iterable[Obj]) -> dict[PodKey, tuple[bool, bool]]:
    """{(ns, name): (ingress_isolated, egress_isolated)} for every pod that is not finished."""
    return Cluster(objects).isolation()


def allowed(objects: Iterable[Obj], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Is ``src`` -> ``dst`` on (port, protocol) allowed? Endpoints: (ns, pod) tuples or IP strings."""
    return Cluster(objects).allowed(src, dst, port, protocol)
