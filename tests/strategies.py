"""Hypothesis strategies for small, random, VALID clusters of raw manifest dicts.

Owns: generating Namespaces, bare Pods and NetworkPolicies from a tiny alphabet (label keys a/b, values x/y)
so that selectors collide often. Must not: generate anything the API server would reject (ipBlock combined
with selectors, an empty peer, except outside its cidr, endPort without a numeric port or below it, In/NotIn
without values, Exists/DoesNotExist with values), nor import ``scanner``.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Examples per property in CI; NETPOL_HYPOTHESIS_EXAMPLES asks for more.
EXAMPLES = int(os.environ.get("NETPOL_HYPOTHESIS_EXAMPLES", "200"))
# The engine properties: no deadline (a whole cluster per example), big examples allowed, and one failure is
# enough (shrinking several distinct failures through the engine takes minutes).
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    report_multiple_bugs=False,
)

NS_NAME_LABEL = "kubernetes.io/metadata.name"
NAMESPACE_POOL = ["alpha", "beta", "gamma"]
LABEL_KEYS = ["a", "b"]
LABEL_VALUES = ["x", "y"]
POD_LABEL_VALUES = {k: LABEL_VALUES for k in LABEL_KEYS}
NS_SELECTOR_VALUES = {**POD_LABEL_VALUES, NS_NAME_LABEL: NAMESPACE_POOL}

# Last octets in 10.0.0.0/24: inside/outside 10.0.0.0/28 (0-15) and 10.0.0.0/25 (0-127); 5 and 200 are
# also used as query IPs, which must still be treated as outside endpoints.
POD_OCTETS = [3, 5, 9, 20, 77, 127, 128, 130, 200, 254]
NODE_IPS = ["10.0.0.240", "10.0.0.7", "172.16.0.1"]  # hostNetwork pods carry their node's IP

IP_BLOCKS: list[dict[str, Any]] = [
    {"cidr": "10.0.0.0/24"},
    {"cidr": "10.0.0.0/25"},
    {"cidr": "10.0.0.0/24", "except": ["10.0.0.0/28"]},
    {"cidr": "10.0.0.0/25", "except": ["10.0.0.0/28"]},
    {"cidr": "10.0.0.0/24", "except": ["10.0.0.0/25"]},
    {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]},
    {"cidr": "fd00::/64"},
    {"cidr": "fd00::/64", "except": ["fd00::/124"]},
]
POLICY_TYPES: list[list[str] | None] = [
    None,
    [],
    ["Ingress"],
    ["Egress"],
    ["Ingress", "Egress"],
    ["Egress", "Ingress"],
]
RANGES = [(53, 53), (50, 90), (80, 443), (443, 8080), (8000, 9000), (1, 65535)]


@st.composite
def label_maps(draw: st.DrawFn) -> dict[str, str]:
    return draw(st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2))


@st.composite
def selectors(draw: st.DrawFn, values_by_key: dict[str, list[str]]) -> dict[str, Any]:
    """A label selector: {} or matchLabels and/or matchExpressions (all four operators)."""
    keys = sorted(values_by_key)
    selector: dict[str, Any] = {}
    if draw(st.booleans()):
        match_labels: dict[str, str] = {}
        for key in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)):
            match_labels[key] = draw(st.sampled_from(values_by_key[key]))
        selector["matchLabels"] = match_labels
    if draw(st.booleans()):
        exprs = []
        for _ in range(draw(st.integers(0, 2))):
            key = draw(st.sampled_from(keys))
            op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            expr: dict[str, Any] = {"key": key, "operator": op}
            if op in ("In", "NotIn"):
                expr["values"] = draw(
                    st.lists(st.sampled_from(values_by_key[key]), min_size=1, max_size=2, unique=True)
                )
            elif draw(st.integers(0, 4)) == 0:
                expr["values"] = []  # allowed by the API for Exists/DoesNotExist
            exprs.append(expr)
        selector["matchExpressions"] = exprs
    return selector


@st.composite
def peers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pod", "namespace", "both", "ipBlock"]))
    if kind == "ipBlock":
        block = draw(st.sampled_from(IP_BLOCKS))
        return {"ipBlock": {k: list(v) if isinstance(v, list) else v for k, v in block.items()}}
    peer: dict[str, Any] = {}
    if kind in ("pod", "both"):
        peer["podSelector"] = draw(selectors(POD_LABEL_VALUES))
    if kind in ("namespace", "both"):
        peer["namespaceSelector"] = draw(selectors(NS_SELECTOR_VALUES))
    return peer


@st.composite
def port_entries(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    kind = draw(st.sampled_from(["named", "number", "all", "range", "named", "number", "named"]))
    if kind == "named":
        name = draw(st.sampled_from(["http", "dns"]))
        entry["port"] = name
        # mostly the protocol the name usually goes with, sometimes any protocol
        likely = [None, "TCP"] if name == "http" else ["UDP", "TCP"]
        protocol = draw(st.sampled_from([*likely, *likely, "UDP", "SCTP", None]))
    else:
        protocol = draw(st.sampled_from([None, "TCP", "UDP", "SCTP"]))
        if kind == "number":
            entry["port"] = draw(st.sampled_from([53, 80, 443, 8080]))
        elif kind == "range":
            entry["port"], entry["endPort"] = draw(st.sampled_from(RANGES))
    if protocol is not None:
        entry["protocol"] = protocol
    return entry


@st.composite
def rules(draw: st.DrawFn, peers_key: str) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if draw(st.integers(0, 4)) > 0:
        rule[peers_key] = (
            [] if draw(st.integers(0, 9)) == 9 else draw(st.lists(peers(), min_size=1, max_size=3))
        )
    if draw(st.integers(0, 4)) > 0:
        rule["ports"] = (
            [] if draw(st.integers(0, 9)) == 9 else draw(st.lists(port_entries(), min_size=1, max_size=3))
        )
    return rule


_ABSENT = object()


@st.composite
def rule_lists(draw: st.DrawFn, peers_key: str) -> Any:
    choice = draw(
        st.sampled_from(["absent", "rules", "empty", "rules", "rules", "absent", "rules", "allow-all"])
    )
    if choice == "absent":
        return _ABSENT
    if choice == "empty":
        return []
    if choice == "allow-all":
        return [{}]
    return draw(st.lists(rules(peers_key), min_size=1, max_size=2))


@st.composite
def network_policies(draw: st.DrawFn, namespace: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    which = draw(st.integers(0, 9))
    if which < 3:
        spec["podSelector"] = {}
    elif which < 9:
        spec["podSelector"] = draw(selectors(POD_LABEL_VALUES))
    # else: podSelector absent, which means {}
    policy_types = draw(st.sampled_from(POLICY_TYPES))
    if policy_types is not None:
        spec["policyTypes"] = list(policy_types)
    for key, peers_key in (("ingress", "from"), ("egress", "to")):
        value = draw(rule_lists(peers_key))
        if value is not _ABSENT:
            spec[key] = value
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


# Usual (number, name, protocol) container ports, plus odd ones so that names map to various numbers.
USUAL_PORTS: list[tuple[int, str | None, str | None]] = [
    (80, "http", None),
    (8080, "http", "TCP"),
    (53, "dns", "UDP"),
    (53, "dns", None),
    (8080, None, None),
]


@st.composite
def containers(
    draw: st.DrawFn, index: int, used_names: set[str], used_ports: set[tuple[int, str]]
) -> dict[str, Any]:
    ports = []
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.integers(0, 3)) > 0:
            number, name, protocol = draw(st.sampled_from(USUAL_PORTS))
        else:
            number = draw(st.sampled_from([80, 8080, 53]))
            protocol = draw(st.sampled_from([None, "TCP", "UDP"]))
            name = draw(st.sampled_from([None, "http", "dns"]))
        if (number, protocol or "TCP") in used_ports:
            continue
        used_ports.add((number, protocol or "TCP"))
        port: dict[str, Any] = {"containerPort": number}
        if name is not None and name not in used_names:  # port names are unique within a pod
            used_names.add(name)
            port["name"] = name
        if protocol is not None:
            port["protocol"] = protocol
        ports.append(port)
    container: dict[str, Any] = {"name": f"c{index}", "image": "registry.example/app:1"}
    if ports:
        container["ports"] = ports
    return container


@st.composite
def pods(draw: st.DrawFn, namespace: str, name: str, used_octets: set[int]) -> dict[str, Any]:
    host_network = draw(st.integers(0, 4)) == 4  # shrinks towards an ordinary pod
    phase = draw(st.sampled_from(["Running"] * 5 + ["Pending", "Succeeded", "Failed", None]))
    used_names: set[str] = set()
    used_ports: set[tuple[int, str]] = set()
    spec: dict[str, Any] = {
        "containers": [draw(containers(i, used_names, used_ports)) for i in range(draw(st.integers(1, 2)))]
    }
    if host_network:
        spec["hostNetwork"] = True
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    labels = draw(label_maps())
    if labels or draw(st.booleans()):
        metadata["labels"] = labels
    status: dict[str, Any] = {}
    if phase is not None:
        status["phase"] = phase
    ips: list[str] = []
    if draw(st.integers(0, 4)) > 0 and phase != "Pending":
        if host_network:
            ips = [draw(st.sampled_from(NODE_IPS))]
        else:
            family = draw(st.sampled_from(["v4", "v4", "dual", "dual", "v6"]))
            free = [o for o in POD_OCTETS if o not in used_octets]
            if free:
                octet = draw(st.sampled_from(free))
                used_octets.add(octet)
                if family in ("v4", "dual"):
                    ips.append(f"10.0.0.{octet}")
                if family in ("v6", "dual"):
                    ips.append(f"fd00::{octet:x}")
                if family == "dual" and draw(st.booleans()):
                    ips.reverse()  # IPv6-primary dual stack
    if ips:
        status["podIP"] = ips[0]
        if draw(st.integers(0, 4)) > 0:
            status["podIPs"] = [{"ip": ip} for ip in ips]
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    if status:
        pod["status"] = status
    return pod


@st.composite
def clusters(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A list of raw objects: 1-3 namespaces, 1-6 pods, 0-4 NetworkPolicies (all valid)."""
    names = draw(st.lists(st.sampled_from(NAMESPACE_POOL), min_size=1, max_size=3, unique=True))
    objects: list[dict[str, Any]] = []
    for ns in names:
        if draw(st.integers(0, 5)) == 5:
            continue  # referenced but not defined: exists with only kubernetes.io/metadata.name
        metadata: dict[str, Any] = {"name": ns}
        labels = draw(label_maps())
        if draw(st.integers(0, 3)) == 0:
            labels[NS_NAME_LABEL] = ns
        if labels:
            metadata["labels"] = labels
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
    used_octets: set[int] = set()
    per_ns: dict[str, int] = {}
    for _ in range(draw(st.integers(1, 6))):
        ns = draw(st.sampled_from(names))
        index = per_ns.get(ns, 0)
        per_ns[ns] = index + 1
        objects.append(draw(pods(ns, f"p{index}", used_octets)))  # same names recur across namespaces
    for i in range(draw(st.integers(0, 4))):
        objects.append(draw(network_policies(draw(st.sampled_from(names)), f"np{i}")))
    return objects
