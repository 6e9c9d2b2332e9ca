"""Hand-derived checks of the reference evaluator (tests/reference.py), so the oracle is itself tested.

Every expected answer below was worked out by hand from /work/shared/SEMANTICS.md, not by running code.
"""

from __future__ import annotations

from typing import Any

import pytest
import reference
from hypothesis import HealthCheck, given, settings
from reference import allowed, isolation, selector_matches
from strategies import clusters


def ns(name: str, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def pod(
    namespace: str,
    name: str,
    labels: dict[str, str] | None = None,
    ips: list[str] | None = None,
    ports: list[dict[str, Any]] | None = None,
    host_network: bool = False,
    phase: str = "Running",
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "img"}
    if ports:
        container["ports"] = ports
    spec: dict[str, Any] = {"containers": [container]}
    if host_network:
        spec["hostNetwork"] = True
    status: dict[str, Any] = {"phase": phase}
    if ips:
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": ip} for ip in ips]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
        "status": status,
    }


def netpol(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


# --------------------------------------------------------------------------- selectors


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        ({}, {"a": "x"}, True),
        ({"matchLabels": {}}, {"a": "x"}, True),
        ({"matchLabels": {"a": "x"}}, {"a": "x", "b": "y"}, True),
        ({"matchLabels": {"a": "x"}}, {"a": "y"}, False),
        ({"matchLabels": {"a": "x"}}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]}, {"a": "y"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {"a": "x"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {"a": "y"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": "x"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": []}]}, {"b": "x"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"b": "x"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "x"}, False),
        # matchLabels AND matchExpressions
        (
            {"matchLabels": {"a": "x"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
            {"a": "x"},
            False,
        ),
        (
            {"matchLabels": {"a": "x"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
            {"a": "x", "b": "y"},
            True,
        ),
    ],
)
def test_selector_matching(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


# --------------------------------------------------------------------------- isolation and policyTypes


def test_policy_types_omitted_with_empty_egress_isolates_ingress_only() -> None:
    objs = [ns("n"), pod("n", "p"), netpol("n", "np", podSelector={}, egress=[])]
    assert isolation(objs) == {("n", "p"): (True, False)}


def test_policy_types_omitted_with_nonempty_egress_isolates_both() -> None:
    objs = [ns("n"), pod("n", "p"), netpol("n", "np", podSelector={}, egress=[{}])]
    assert isolation(objs) == {("n", "p"): (True, True)}


def test_empty_policy_types_list_is_defaulted_like_absent() -> None:
    objs = [ns("n"), pod("n", "p"), netpol("n", "np", podSelector={}, policyTypes=[], egress=[])]
    assert isolation(objs) == {("n", "p"): (True, False)}


def test_explicit_egress_policy_type_does_not_isolate_ingress() -> None:
    objs = [ns("n"), pod("n", "p"), netpol("n", "np", policyTypes=["Egress"], ingress=[{}])]
    assert isolation(objs) == {("n", "p"): (False, True)}


def test_policy_governs_only_its_namespace_and_matching_pods() -> None:
    objs = [
        ns("n"),
        ns("m"),
        pod("n", "web", {"a": "x"}),
        pod("n", "db", {"a": "y"}),
        pod("m", "web", {"a": "x"}),
        netpol("n", "np", podSelector={"matchLabels": {"a": "x"}}),
    ]
    assert isolation(objs) == {
        ("m", "web"): (False, False),
        ("n", "db"): (False, False),
        ("n", "web"): (True, False),
    }


def test_absent_pod_selector_selects_every_pod_of_the_namespace() -> None:
    objs = [ns("n"), pod("n", "p", {"a": "x"}), pod("n", "q"), netpol("n", "np", policyTypes=["Ingress"])]
    assert isolation(objs) == {("n", "p"): (True, False), ("n", "q"): (True, False)}


def test_host_network_and_finished_pods_are_never_isolated_or_listed() -> None:
    objs = [
        ns("n"),
        pod("n", "host", host_network=True, ips=["10.0.0.240"]),
        pod("n", "done", phase="Succeeded", ips=["10.0.0.9"]),
        pod("n", "failed", phase="Failed"),
        netpol("n", "np", policyTypes=["Ingress", "Egress"]),
    ]
    assert isolation(objs) == {("n", "host"): (False, False)}
    assert reference.Cluster(objs).selecting_policies() == {("n", "host"): (["n/np"], ["n/np"])}


# --------------------------------------------------------------------------- rules


def test_isolating_policy_without_rules_denies_and_allow_all_rule_allows() -> None:
    base = [ns("n"), pod("n", "a", ips=["10.0.0.3"]), pod("n", "b", ips=["10.0.0.20"])]
    deny = [*base, netpol("n", "deny", podSelector={"matchLabels": {}}, ingress=[])]
    assert not allowed(deny, ("n", "a"), ("n", "b"), 80)
    assert not allowed(deny, "192.0.2.1", ("n", "b"), 80)
    # egress is not isolated, so a -> outside is allowed
    assert allowed(deny, ("n", "a"), "192.0.2.1", 80)
    allow_all = [*deny, netpol("n", "all", ingress=[{}])]  # policies are a union: never deny
    assert allowed(allow_all, ("n", "a"), ("n", "b"), 80)
    assert allowed(allow_all, "192.0.2.1", ("n", "b"), 9000, "SCTP")
    empty_from = [*deny, netpol("n", "all", ingress=[{"from": [], "ports": []}])]
    assert allowed(empty_from, "fd00::5", ("n", "b"), 53, "UDP")


def test_one_peer_with_both_selectors_is_and_two_peers_are_or() -> None:
    base = [
        ns("front", team="x"),
        ns("back"),
        pod("front", "web", {"a": "x"}),
        pod("front", "other", {"a": "y"}),
        pod("back", "web", {"a": "x"}),
        pod("back", "db"),
    ]
    one_peer = {
        "namespaceSelector": {"matchLabels": {"team": "x"}},
        "podSelector": {"matchLabels": {"a": "x"}},
    }
    two_peers = [
        {"namespaceSelector": {"matchLabels": {"team": "x"}}},
        {"podSelector": {"matchLabels": {"a": "x"}}},
    ]
    both = [*base, netpol("back", "np", podSelector={}, ingress=[{"from": [one_peer]}])]
    either = [*base, netpol("back", "np", podSelector={}, ingress=[{"from": two_peers}])]
    dst = ("back", "db")
    # AND: only front/web (namespace team=x AND pod a=x)
    assert allowed(both, ("front", "web"), dst, 80)
    assert not allowed(both, ("front", "other"), dst, 80)
    assert not allowed(both, ("back", "web"), dst, 80)
    # OR: all of front, plus a=x pods in the policy's own namespace (back)
    assert allowed(either, ("front", "web"), dst, 80)
    assert allowed(either, ("front", "other"), dst, 80)
    assert allowed(either, ("back", "web"), dst, 80)


def test_pod_selector_alone_means_the_policy_namespace() -> None:
    objs = [
        ns("n"),
        ns("m"),
        pod("n", "db"),
        pod("n", "web", {"a": "x"}),
        pod("m", "web", {"a": "x"}),
        netpol("n", "np", podSelector={}, ingress=[{"from": [{"podSelector": {"matchLabels": {"a": "x"}}}]}]),
    ]
    assert allowed(objs, ("n", "web"), ("n", "db"), 80)
    assert not allowed(objs, ("m", "web"), ("n", "db"), 80)


def test_not_in_matches_a_pod_without_the_key() -> None:
    sel = {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}
    objs = [
        ns("n"),
        pod("n", "db"),
        pod("n", "unlabelled"),
        pod("n", "ax", {"a": "x"}),
        pod("n", "ay", {"a": "y"}),
        netpol("n", "np", podSelector={"matchLabels": {}}, ingress=[{"from": [{"podSelector": sel}]}]),
    ]
    assert allowed(objs, ("n", "unlabelled"), ("n", "db"), 80)
    assert allowed(objs, ("n", "ay"), ("n", "db"), 80)
    assert not allowed(objs, ("n", "ax"), ("n", "db"), 80)


def test_undefined_namespace_exists_with_only_its_name_label() -> None:
    sel_name = {"matchLabels": {"kubernetes.io/metadata.name": "ghost"}}
    objs = [
        ns("n"),
        pod("n", "db"),
        pod("ghost", "c"),  # no Namespace object for ghost
        netpol("n", "np", ingress=[{"from": [{"namespaceSelector": sel_name}]}]),
    ]
    assert allowed(objs, ("ghost", "c"), ("n", "db"), 80)
    # a defined namespace gets the label too
    sel_n = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["n"]}]}
    objs2 = [
        ns("n"),
        pod("n", "db"),
        pod("n", "c"),
        netpol("n", "np", ingress=[{"from": [{"namespaceSelector": sel_n}]}]),
    ]
    assert allowed(objs2, ("n", "c"), ("n", "db"), 80)
    no_labels = {"matchExpressions": [{"key": "a", "operator": "Exists"}]}
    objs3 = [*objs[:3], netpol("n", "np", ingress=[{"from": [{"namespaceSelector": no_labels}]}])]
    assert not allowed(objs3, ("ghost", "c"), ("n", "db"), 80)


# --------------------------------------------------------------------------- ports


def test_named_port_maps_to_each_destination_pods_own_number() -> None:
    objs = [
        ns("n"),
        pod("n", "client", {"role": "client"}),
        pod("n", "s80", {"role": "server"}, ports=[{"name": "http", "containerPort": 80}]),
        pod(
            "n",
            "s8080",
            {"role": "server"},
            ports=[{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        ),
        netpol(
            "n",
            "servers",
            podSelector={"matchLabels": {"role": "server"}},
            ingress=[{"ports": [{"port": "http"}]}],
        ),
    ]
    # ingress: the name resolves against the governed (destination) pod
    assert allowed(objs, ("n", "client"), ("n", "s80"), 80)
    assert not allowed(objs, ("n", "client"), ("n", "s80"), 8080)
    assert allowed(objs, ("n", "client"), ("n", "s8080"), 8080)
    assert not allowed(objs, ("n", "client"), ("n", "s8080"), 80)
    assert not allowed(objs, ("n", "client"), ("n", "s8080"), 8080, "UDP")  # name+protocol
    assert allowed(objs, "192.0.2.1", ("n", "s80"), 80)  # any source, including outside
    # egress: the name resolves against the peer (destination) pod, not the governed client
    egress = [
        *objs[:4],
        netpol(
            "n",
            "client-out",
            podSelector={"matchLabels": {"role": "client"}},
            policyTypes=["Egress"],
            egress=[{"ports": [{"port": "http", "protocol": "TCP"}]}],
        ),
    ]
    assert allowed(egress, ("n", "client"), ("n", "s80"), 80)
    assert not allowed(egress, ("n", "client"), ("n", "s80"), 8080)
    assert allowed(egress, ("n", "client"), ("n", "s8080"), 8080)
    assert not allowed(egress, ("n", "client"), ("n", "s8080"), 80)
    # a named port never resolves for an outside destination
    assert not allowed(egress, ("n", "client"), "192.0.2.1", 80)
    assert not allowed(egress, ("n", "client"), "10.0.0.5", 8080)


def test_named_port_requires_the_protocol_of_the_container_port() -> None:
    objs = [
        ns("n"),
        pod("n", "c"),
        pod("n", "dns", ports=[{"name": "dns", "containerPort": 53, "protocol": "UDP"}]),
        netpol("n", "np", ingress=[{"ports": [{"port": "dns"}]}]),  # protocol defaults to TCP
        netpol("n", "np2", ingress=[{"ports": [{"port": "dns", "protocol": "SCTP"}]}]),
    ]
    assert not allowed(objs, ("n", "c"), ("n", "dns"), 53, "UDP")
    assert not allowed(objs, ("n", "c"), ("n", "dns"), 53, "TCP")
    fixed = [*objs[:3], netpol("n", "np", ingress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}])]
    assert allowed(fixed, ("n", "c"), ("n", "dns"), 53, "UDP")


def test_port_protocol_defaults_to_tcp_and_ranges_are_inclusive() -> None:
    objs = [
        ns("n"),
        pod("n", "c"),
        pod("n", "s"),
        netpol(
            "n",
            "np",
            podSelector={},
            ingress=[{"ports": [{"port": 80, "endPort": 443}, {"protocol": "UDP"}]}],
        ),
    ]
    src, dst = ("n", "c"), ("n", "s")
    assert allowed(objs, src, dst, 80)
    assert allowed(objs, src, dst, 443)
    assert not allowed(objs, src, dst, 444)
    assert not allowed(objs, src, dst, 79)
    assert not allowed(objs, src, dst, 80, "SCTP")
    assert allowed(objs, src, dst, 5353, "UDP")  # port absent: every port of that protocol
    assert allowed(objs, src, dst, 9000, "UDP")
    assert not allowed(objs, src, dst, 9000, "SCTP")


def test_rule_needs_both_a_peer_and_a_port() -> None:
    objs = [
        ns("n"),
        pod("n", "a", {"a": "x"}),
        pod("n", "b"),
        pod("n", "db"),
        netpol(
            "n",
            "np",
            podSelector={"matchLabels": {}},
            ingress=[{"from": [{"podSelector": {"matchLabels": {"a": "x"}}}], "ports": [{"port": 80}]}],
        ),
    ]
    assert allowed(objs, ("n", "a"), ("n", "db"), 80)
    assert not allowed(objs, ("n", "a"), ("n", "db"), 443)
    assert not allowed(objs, ("n", "b"), ("n", "db"), 80)


# --------------------------------------------------------------------------- ipBlocks and addresses


def test_ip_block_cidr_minus_except_v4_and_v6() -> None:
    objs = [
        ns("n"),
        pod("n", "db"),
        netpol(
            "n",
            "np",
            ingress=[
                {
                    "from": [
                        {"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.0/28"]}},
                        {"ipBlock": {"cidr": "fd00::/64", "except": ["fd00::/124"]}},
                    ]
                }
            ],
        ),
    ]
    dst = ("n", "db")
    assert allowed(objs, "10.0.0.200", dst, 80)
    assert allowed(objs, "10.0.0.16", dst, 80)
    assert not allowed(objs, "10.0.0.5", dst, 80)  # in except
    assert not allowed(objs, "10.0.0.15", dst, 80)
    assert not allowed(objs, "192.0.2.1", dst, 80)
    assert allowed(objs, "fd00::10", dst, 80)
    assert not allowed(objs, "fd00::5", dst, 80)  # in the v6 except
    assert not allowed(objs, "fd01::5", dst, 80)


def test_ip_block_matches_pod_ips_and_selectors_do_not_match_addresses() -> None:
    objs = [
        ns("n"),
        pod("n", "db"),
        pod("n", "in", ips=["10.0.0.20"]),
        pod("n", "excepted", ips=["10.0.0.5"]),
        pod("n", "v6", ips=["fd00::20"]),
        pod("n", "dual", ips=["10.0.0.77", "fd00::77"]),
        pod("n", "dual-out", ips=["10.0.0.5", "fd00::20"]),
        pod("n", "noip", phase="Pending"),
        netpol(
            "n",
            "np",
            podSelector={"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]},
            ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.0/28"]}}]}],
        ),
        netpol(
            "n",
            "by-ns",
            policyTypes=["Ingress"],
            ingress=[{"from": [{"namespaceSelector": {}}], "ports": [{"port": 9999}]}],
        ),
    ]
    dst = ("n", "db")
    assert allowed(objs, ("n", "in"), dst, 80)
    assert not allowed(objs, ("n", "excepted"), dst, 80)
    assert not allowed(objs, ("n", "v6"), dst, 80)
    assert allowed(objs, ("n", "dual"), dst, 80)  # one of its IPs lies in the block
    assert not allowed(objs, ("n", "dual-out"), dst, 80)  # v4 in except, v6 of the other family
    assert not allowed(objs, ("n", "noip"), dst, 80)  # no IP known: no ipBlock match
    # namespaceSelector {} matches every (non-hostNetwork) pod, never an address
    assert allowed(objs, ("n", "noip"), dst, 9999)
    assert not allowed(objs, "192.0.2.1", dst, 9999)
    assert allowed(objs, "10.0.0.200", dst, 9999)  # through the ipBlock rule, which has no ports


def test_address_endpoints_only_consult_the_pod_side() -> None:
    objs = [
        ns("n"),
        pod("n", "a", ips=["10.0.0.5"]),
        netpol("n", "np", policyTypes=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/25"}}]}]),
    ]
    cluster = reference.Cluster(objs)
    # pod -> outside: only a's egress
    assert cluster.sides(("n", "a"), "10.0.0.100", 80, "TCP") == (True, None)
    assert cluster.sides(("n", "a"), "10.0.0.200", 80, "TCP") == (False, None)
    # outside -> pod: only a's ingress (not isolated); an address equal to the pod's IP is still outside
    assert cluster.sides("10.0.0.5", ("n", "a"), 80, "TCP") == (None, True)


# --------------------------------------------------------------------------- hostNetwork pods


def test_host_network_pods_are_unprotected_and_only_matched_by_ip_blocks() -> None:
    objs = [
        ns("n"),
        pod("n", "host", {"a": "x"}, host_network=True, ips=["10.0.0.240"]),
        pod("n", "db"),
        pod("n", "db2"),
        netpol("n", "all", podSelector={}, policyTypes=["Ingress", "Egress"]),  # deny everything
        netpol(
            "n",
            "db-in",
            podSelector={},
            ingress=[{"from": [{"namespaceSelector": {}}, {"podSelector": {"matchLabels": {"a": "x"}}}]}],
        ),
    ]
    # host's own sides are never isolated
    assert allowed(objs, "192.0.2.1", ("n", "host"), 80)
    assert allowed(objs, ("n", "host"), "192.0.2.1", 80)
    # selectors never match a hostNetwork pod, so db denies it
    assert not allowed(objs, ("n", "host"), ("n", "db"), 80)
    assert allowed(objs, ("n", "db2"), ("n", "db"), 80) is False  # db2's egress is denied
    # an ipBlock covering the node IP does match it
    with_block = [*objs, netpol("n", "node", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.224/27"}}]}])]
    assert allowed(with_block, ("n", "host"), ("n", "db"), 80)
    # from absent matches every peer, hostNetwork pods included
    open_in = [*objs, netpol("n", "open", ingress=[{"ports": [{"port": 80}]}])]
    assert allowed(open_in, ("n", "host"), ("n", "db"), 80)


def test_self_pairs_are_not_judged() -> None:
    objs = [ns("n"), pod("n", "a")]
    with pytest.raises(ValueError, match="itself"):
        allowed(objs, ("n", "a"), ("n", "a"), 80)


# --------------------------------------------------------------------------- the generator itself


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_generated_clusters_are_well_formed(objects: list[dict[str, Any]]) -> None:
    cluster = reference.Cluster(objects)
    live_ips = [
        ip for p in cluster.pods.values() if not reference.is_host_network(p) for ip in reference.pod_ips(p)
    ]
    assert len(live_ips) == len(set(live_ips))
    assert 1 <= len([o for o in objects if o["kind"] == "Pod"]) <= 6
    for policy in cluster.policies:
        spec = policy["spec"]
        for key, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(key) or []:
                for peer in rule.get(peers_key) or []:
                    assert peer, "an empty peer is invalid"
                    assert "ipBlock" not in peer or len(peer) == 1
                for entry in rule.get("ports") or []:
                    if "endPort" in entry:
                        assert isinstance(entry["port"], int) and entry["endPort"] >= entry["port"]
