"""Properties of the cluster-scoped tiers on random clusters (tests/strategies.py) with random Admin and
Baseline policies on top:
- the grouped namespace matrix (one pair per interchangeable group pair) equals the pairwise oracle;
- the explaining path (`reach` verdicts, per pod pair and port) equals the class-pair port sets;
- NP016's ingress view through the tiers (`tier_ingress_sources`) equals the ingress side of every pair.
NETPOL_HYPOTHESIS_EXAMPLES sets the number of random clusters (default 200)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import IP_BLOCKS, NS_SELECTOR_VALUES, POD_LABEL_VALUES, SETTINGS, clusters
from strategies import selectors as label_selectors

from scanner.engine.exposure import tier_ingress_sources
from scanner.engine.reach import (
    PairCache,
    Target,
    namespace_matrix_grouped,
    namespace_matrix_pairwise,
    verdict,
)
from scanner.intervals import ALL_PORTS, contains, intersect, port_point

PROBES = [("TCP", 53), ("TCP", 80), ("TCP", 443), ("TCP", 8080), ("UDP", 53), ("SCTP", 80)]


@st.composite
def tier_peer(draw: st.DrawFn, egress: bool) -> dict[str, Any]:
    kinds = ["namespaces", "pods"] + (["networks"] if egress else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "namespaces":
        return {"namespaces": draw(label_selectors(NS_SELECTOR_VALUES))}
    if kind == "pods":
        return {"pods": {"namespaceSelector": draw(label_selectors(NS_SELECTOR_VALUES)),
                         "podSelector": draw(label_selectors(POD_LABEL_VALUES))}}
    return {"networks": [draw(st.sampled_from(IP_BLOCKS))["cidr"]]}


@st.composite
def tier_rule(draw: st.DrawFn, egress: bool, actions: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": draw(st.sampled_from(actions)),
                            "to" if egress else "from": draw(st.lists(tier_peer(egress), min_size=1, max_size=2))}
    if draw(st.booleans()):
        port = draw(st.sampled_from([{"portNumber": {"protocol": "TCP", "port": 80}},
                                     {"portNumber": {"protocol": "UDP", "port": 53}},
                                     {"portRange": {"protocol": "TCP", "start": 443, "end": 8080}},
                                     {"namedPort": "http"}]))
        if not (egress and any("networks" in p for p in rule["to"]) and "namedPort" in port):
            rule["ports"] = [port]
    return rule


@st.composite
def admin_policies(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(0, 2))):
        subject = (
            {"namespaces": draw(label_selectors(NS_SELECTOR_VALUES))} if draw(st.booleans()) else
            {"pods": {"namespaceSelector": draw(label_selectors(NS_SELECTOR_VALUES)),
                      "podSelector": draw(label_selectors(POD_LABEL_VALUES))}})
        out.append({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
                    "metadata": {"name": f"anp-{i}"},
                    "spec": {"priority": draw(st.integers(0, 3)), "subject": subject,
                             "ingress": draw(st.lists(tier_rule(False, ["Allow", "Deny", "Pass"]), max_size=2)),
                             "egress": draw(st.lists(tier_rule(True, ["Allow", "Deny", "Pass"]), max_size=2))}})
    if draw(st.booleans()):
        out.append({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
                    "metadata": {"name": "default"},
                    "spec": {"subject": {"namespaces": draw(label_selectors(NS_SELECTOR_VALUES))},
                             "ingress": draw(st.lists(tier_rule(False, ["Allow", "Deny"]), max_size=2)),
                             "egress": draw(st.lists(tier_rule(True, ["Allow", "Deny"]), max_size=2))}})
    return out


def _load(tmp_path_factory: Any, objects: list[dict[str, Any]]) -> Any:
    import yaml

    from scanner.api import load

    path = tmp_path_factory.mktemp("tiers") / "c.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return load([str(path)])


@SETTINGS
@given(clusters(), admin_policies())
def test_grouped_matrix_and_explaining_path_agree_through_the_tiers(tmp_path_factory, objects, tiers) -> None:
    loaded = _load(tmp_path_factory, objects + tiers)
    ix = loaded.index
    assert len(loaded.cluster.admin_policies) == len(tiers), loaded.cluster.invalid_admin_policies
    assert namespace_matrix_grouped(ix) == namespace_matrix_pairwise(ix)
    cache = PairCache(ix)
    eps = ix.cluster.endpoints
    for i, a in enumerate(eps):
        for j, b in enumerate(eps):
            if i == j:
                continue
            allowed = cache.ports(ix.class_for(i), ix.class_for(j))
            for proto, n in PROBES:
                v = verdict(ix, Target(a.ref, a, i), Target(b.ref, b, j), proto, n, f"{n}/{proto}")
                if not v.note and "node-local" not in v.explanation():
                    assert v.allowed == contains(allowed, port_point(proto, n)), v.explanation()




@SETTINGS
@given(clusters(), admin_policies())
def test_tier_ingress_sources_equal_the_ingress_side_of_every_pair(tmp_path_factory, objects, tiers) -> None:
    """`tier_ingress_sources` (NP016's view through the tiers) visits only the sources that can be admitted:
    what it reports per source class equals the ingress side of every class pair, for all ports and for a
    few."""
    ix = _load(tmp_path_factory, objects + tiers).index
    cache = PairCache(ix)
    narrow: Any = ((port_point("TCP", 53), port_point("TCP", 443)), (port_point("UDP", 53), port_point("UDP", 53)))
    for d in ix.classes:
        if not ix.tiers.governs(d, "ingress"):
            continue
        for within in (ALL_PORTS, narrow):
            got = {c.id: ts.ports for ts in tier_ingress_sources(ix, d, within) for c in ts.classes}
            want = {s.id: p for s in ix.classes if (p := intersect(cache.ingress_ports(s, d), within))}
            assert got == want, (d.namespace, sorted(d.labels.items()))

# The grouped matrix skips group pairs that a NetworkPolicy's isolation closes unless an admin-tier Allow
# reopens them; the random clusters reach these cases only now and then, so each is also pinned here:
# two namespaces (a: pod x, b: pod y), the NetworkPolicies and cluster-scoped policies given, and the exact
# matrix.
_PAIR_BASE = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {"team": n}}} for n in "ab"
] + [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": p, "namespace": n, "labels": {"app": p}},
     "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"name": "http", "containerPort": 8080}]}]},
     "status": {"podIP": ip}} for p, n, ip in (("x", "a", "10.0.0.1"), ("y", "b", "10.0.0.2"))
]


def _np(ns: str, types: list[str], **rules: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"np-{ns}-{'-'.join(types).lower()}", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": types, **rules}}


def _anp(subject: str, direction: str, action: str, peer: str, ports: list[Any] | None = None,
         kind: str = "AdminNetworkPolicy") -> dict[str, Any]:
    rule: dict[str, Any] = {"action": action,
                            "from" if direction == "ingress" else "to": [{"namespaces": {"matchLabels": {"team": peer}}}]}
    if ports:
        rule["ports"] = ports
    spec: dict[str, Any] = {"subject": {"namespaces": {"matchLabels": {"team": subject}}}, direction: [rule]}
    if kind == "AdminNetworkPolicy":
        spec["priority"] = 1
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": kind,
            "metadata": {"name": "default" if kind != "AdminNetworkPolicy" else f"{subject}-{direction}"},
            "spec": spec}


_TCP = {"portNumber": {"protocol": "TCP", "port": 443}}
_TO_B_443 = {"egress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}],
                         "ports": [{"protocol": "TCP", "port": 443}]}]}
_443: Any = ((port_point("TCP", 443), port_point("TCP", 443)),)
_ALL: Any = ALL_PORTS


@pytest.mark.parametrize("objects, want", [
    pytest.param([_np("b", ["Ingress"]), _anp("b", "ingress", "Allow", "a")], {("a", "b"): _ALL, ("b", "a"): _ALL},
                 id="admin ingress Allow reopens an ingress-isolated destination"),
    pytest.param([_np("a", ["Egress"]), _anp("a", "egress", "Allow", "b")], {("a", "b"): _ALL, ("b", "a"): _ALL},
                 id="admin egress Allow reopens an egress-isolated source"),
    pytest.param([_np("b", ["Ingress"]), _anp("b", "ingress", "Pass", "a")], {("b", "a"): _ALL},
                 id="Pass leaves the ingress-isolated destination to its NetworkPolicy"),
    pytest.param([_np("a", ["Egress"]), _anp("a", "egress", "Allow", "b", kind="BaselineAdminNetworkPolicy")],
                 {("b", "a"): _ALL}, id="baseline Allow never reaches an egress-isolated source"),
    pytest.param([_np("a", ["Egress"], **_TO_B_443), _np("b", ["Ingress"]), _anp("b", "ingress", "Allow", "a", [_TCP])],
                 {("a", "b"): _443, ("b", "a"): _ALL}, id="NetworkPolicy egress and admin ingress meet on 443"),
    pytest.param([_np("a", ["Egress"], **_TO_B_443), _np("b", ["Ingress"]),
                  _anp("b", "ingress", "Allow", "a", [{"portNumber": {"protocol": "TCP", "port": 80}}])],
                 {("b", "a"): _ALL}, id="NetworkPolicy egress 443 and admin ingress 80 do not meet"),
    pytest.param([_np("b", ["Ingress"], ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}],
                                                  "ports": [{"protocol": "TCP", "port": 443}]}]),
                  _anp("b", "ingress", "Pass", "a")],
                 {("a", "b"): _443, ("b", "a"): _ALL}, id="NetworkPolicy ingress rule after a Pass"),
    pytest.param([_np("b", ["Ingress"]), _anp("a", "egress", "Deny", "b"), _anp("b", "ingress", "Allow", "a")],
                 {("b", "a"): _ALL}, id="admin egress Deny before the destination's admin Allow"),
])
def test_grouped_matrix_pruned_pairs(tmp_path_factory, objects, want) -> None:
    ix = _load(tmp_path_factory, _PAIR_BASE + objects).index
    assert namespace_matrix_pairwise(ix) == want
    assert namespace_matrix_grouped(ix) == want
