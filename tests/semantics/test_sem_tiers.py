"""Cluster-scoped tiers: AdminNetworkPolicy, BaselineAdminNetworkPolicy (v1alpha1) and ClusterNetworkPolicy
(v1alpha2, Admin and Baseline tiers) around NetworkPolicy, through the real `reach` command.

Order per side (scanner/engine/tiers.py, from the API's field documentation): Admin tier by priority, first
matching rule decides (Allow/Accept, Deny) or passes; then NetworkPolicy, which decides every port for a pod it
isolates; then the Baseline tier; then allowed. Both sides must allow. Every expectation below is derived by
hand from those rules; the fifth item names the object the explanation must name.
"""

from __future__ import annotations

import json

import pytest

from semantics.sem_support import netpol

T, F = True, False

NAMESPACES = """\
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {tenant: t1}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {tenant: t2}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mon}
"""


def pod(ns: str, name: str, ip: str, labels: str, ports: str = "[]", host: bool = False, node: str = "n1") -> str:
    return f"""---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {labels}}}
spec: {{hostNetwork: {str(host).lower()}, nodeName: {node}, containers: [{{name: c, ports: {ports}}}]}}
status: {{phase: Running, podIP: "{ip}", podIPs: [{{ip: "{ip}"}}]}}
"""


PODS = (pod("a", "web", "10.0.1.1", "{app: web}", "[{name: http, containerPort: 8080}]")
        + pod("a", "db", "10.0.1.2", "{app: db}")
        + pod("b", "api", "10.0.2.1", "{app: api}")
        + pod("b", "worker", "10.0.2.2", "{app: worker}")
        + pod("mon", "prom", "10.0.3.1", "{app: prom}"))

# NetworkPolicy: namespace a denies all ingress, then lets b reach web on http.
POLICIES = (netpol("a", "deny-in", "podSelector: {}\npolicyTypes: [Ingress]")
            + netpol("a", "web-from-b", """
podSelector: {matchLabels: {app: web}}
ingress:
- from: [{namespaceSelector: {matchLabels: {tenant: t2}}}]
  ports: [{port: http}]
"""))

ANP_GUARD = """---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {tenant: t1}}}
  ingress:
  - name: monitoring
    action: Allow
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: mon}}}]
    ports: [{portNumber: {protocol: TCP, port: 9090}}]
  - name: tenants-decide
    action: Pass
    from: [{namespaces: {matchLabels: {tenant: t2}}}]
  - name: nothing-else
    action: Deny
    from: [{namespaces: {}}]
"""

ANP_EGRESS = """---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: egress-guard}
spec:
  priority: 20
  subject: {pods: {namespaceSelector: {matchLabels: {tenant: t2}}, podSelector: {matchLabels: {app: api}}}}
  egress:
  - {name: no-metadata, action: Deny, to: [{networks: [169.254.169.254/32]}]}
  - action: Allow
    to: [{networks: [0.0.0.0/0]}]
    ports: [{portNumber: {protocol: TCP, port: 443}}]
"""

CNP_DB = """---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: db-from-api}
spec:
  tier: Admin
  priority: 5
  subject: {pods: {namespaceSelector: {matchLabels: {tenant: t1}}, podSelector: {matchLabels: {app: db}}}}
  ingress:
  - action: Accept
    from: [{pods: {namespaceSelector: {matchLabels: {tenant: t2}}, podSelector: {matchLabels: {app: api}}}}]
    protocols: [{tcp: {destinationPort: {number: 5432}}}]
"""

BANP = """---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {name: monitoring, action: Allow, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: mon}}}]}
  - {name: default-deny, action: Deny, from: [{namespaces: {}}]}
"""

CLUSTER = NAMESPACES + PODS + POLICIES + ANP_GUARD + ANP_EGRESS + CNP_DB + BANP

# (from, to, port, protocol, allowed, egress allowed, ingress allowed, what the explanation names)
PROBES = [
    pytest.param(("mon/prom", "a/db", 9090, "TCP", T, T, T, "AdminNetworkPolicy/guard"),
                 id="admin-allow-beats-namespace-deny"),
    pytest.param(("mon/prom", "a/db", 80, "TCP", F, T, F, "AdminNetworkPolicy/guard"),
                 id="admin-deny-after-allow-ports"),
    pytest.param(("b/worker", "a/web", 8080, "TCP", T, T, T, "passed to NetworkPolicy"),
                 id="pass-then-networkpolicy-allows"),
    pytest.param(("b/worker", "a/db", 8080, "TCP", F, T, F, "passed to NetworkPolicy"),
                 id="pass-then-networkpolicy-denies"),
    pytest.param(("a/web", "a/db", 5432, "TCP", F, T, F, "nothing-else"),
                 id="admin-deny-same-namespace"),
    pytest.param(("b/api", "a/db", 5432, "TCP", T, T, T, "ClusterNetworkPolicy/db-from-api"),
                 id="cnp-accept-priority-5-before-anp-10"),
    pytest.param(("b/worker", "a/db", 5432, "TCP", F, T, F, "passed to NetworkPolicy"),
                 id="cnp-accept-only-for-its-peer"),
    pytest.param(("b/api", "a/web", 443, "TCP", F, T, F, "passed to NetworkPolicy"),
                 id="egress-allow-does-not-skip-destination-ingress"),
    pytest.param(("a/web", "b/api", 80, "TCP", F, T, F, "BaselineAdminNetworkPolicy/default"),
                 id="baseline-deny-for-pod-without-networkpolicy"),
    pytest.param(("mon/prom", "b/api", 80, "TCP", T, T, T, "BaselineAdminNetworkPolicy/default"),
                 id="baseline-allow-before-baseline-deny"),
    pytest.param(("b/api", "169.254.169.254", 80, "TCP", F, F, None, "no-metadata"),
                 id="admin-deny-to-network"),
    pytest.param(("b/api", "1.1.1.1", 443, "TCP", T, T, None, "AdminNetworkPolicy/egress-guard"),
                 id="admin-allow-to-network"),
    pytest.param(("b/api", "1.1.1.1", 80, "TCP", T, T, None, "no baseline-tier rule matches"),
                 id="unmatched-egress-falls-through-to-default-allow"),
    pytest.param(("b/worker", "1.1.1.1", 80, "TCP", T, T, None, "not isolated"),
                 id="subject-selection-by-pod-labels"),
]


@pytest.mark.parametrize("probe", PROBES)
def test_tier_order_decides_each_side(sem, probe):
    path = sem.write(CLUSTER)
    src, dst, port, proto, allowed, eg, ing, names = probe
    sem.check_reach([str(path)], [(src, dst, port, proto, allowed, eg, ing, names)])


def test_networkpolicy_isolation_blocks_the_baseline_tier(sem):
    """A pod a NetworkPolicy isolates never reaches the baseline tier: its policies decide every port,
    so the baseline allow from mon does not open a/web (only http from t2, and the admin allow on 9090)."""
    path = sem.write(CLUSTER)
    sem.check_reach([str(path)], [("mon/prom", "a/web", 80, "TCP", F, T, F, "AdminNetworkPolicy/guard")])
    no_admin = NAMESPACES + PODS + POLICIES + BANP
    path = sem.write(no_admin, "no-admin.yaml")
    sem.check_reach([str(path)], [("mon/prom", "a/web", 80, "TCP", F, T, F, "a/deny-in"),
                                  ("mon/prom", "b/api", 80, "TCP", T, T, T, "baseline")])


def test_host_network_pods_are_never_subjects_or_peers(sem):
    cluster = NAMESPACES + PODS + pod("a", "agent", "192.168.0.5", "{app: agent}", host=True, node="n2") + ANP_GUARD
    path = sem.write(cluster)
    # The agent is in namespace a (tenant t1) but hostNetwork: guard's Deny does not apply to its ingress,
    # and guard's `namespaces: {}` peer does not match it as a source either (NetworkPolicy tier: a is
    # not isolated here, so allowed).
    sem.check_reach([str(path)], [("b/api", "a/agent", 80, "TCP", T, T, T, "hostNetwork")])


def test_namespace_matrix_sees_the_tiers(sem):
    path = sem.write(CLUSTER)
    out = sem.run(["matrix", str(path), "--level", "namespace", "-o", "json"])
    assert out.code == 0, out.err
    entries = {(e["from"], e["to"]): e["ports"] for e in json.loads(out.out)["entries"]}
    # mon -> a: only 9090/TCP (admin allow; the rest admin-denied); b -> a: db on 5432 (ClusterNetworkPolicy)
    # and web on 8080 (passed, NetworkPolicy); mon -> b: baseline allow; every other pair, b -> b included
    # (api and worker), is denied by the admin or the baseline tier.
    assert entries == {
        ("b", "a"): {"TCP": ["5432", "8080"]},
        ("mon", "a"): {"TCP": ["9090"]},
        ("mon", "b"): {"TCP": "all", "UDP": "all", "SCTP": "all"},
    }


def test_explaining_path_and_class_path_agree(tmp_path):
    """The per-connection verdict (reach, with explanations) and the class-pair port sets (matrix, rules)
    are two paths through the tiers: they must agree on every pair and probe port."""
    from scanner.api import load
    from scanner.engine.reach import PairCache, Target, verdict
    from scanner.intervals import contains, port_point

    path = tmp_path / "c.yaml"
    path.write_text(CLUSTER + pod("a", "agent", "192.168.0.5", "{app: agent}", host=True, node="n2"))
    loaded = load([str(path)])
    ix = loaded.index
    cache = PairCache(ix)
    eps = ix.cluster.endpoints
    ports = [("TCP", 80), ("TCP", 443), ("TCP", 5432), ("TCP", 8080), ("TCP", 9090), ("UDP", 53)]
    checked = 0
    for i, a in enumerate(eps):
        for j, b in enumerate(eps):
            if i == j:
                continue
            allowed = cache.ports(ix.class_for(i), ix.class_for(j))
            for proto, n in ports:
                v = verdict(ix, Target(a.ref, a, i), Target(b.ref, b, j), proto, n, f"{n}/{proto}")
                assert v.allowed == contains(allowed, port_point(proto, n)), v.explanation()
                checked += 1
    assert checked == 6 * 5 * 6


def test_nodes_peers_match_the_node_addresses_and_host_network_pods_on_them(sem):
    """A `nodes` peer selects the nodes' addresses, and a hostNetwork pod carries its node's address: pod-level
    and address-level answers agree."""
    node = """---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {role: worker}}
status: {addresses: [{type: InternalIP, address: 192.168.0.5}]}
"""
    anp = """---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: to-workers}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {tenant: t2}}}
  egress: [{action: Allow, to: [{nodes: {matchLabels: {role: worker}}}]}]
"""
    deny = netpol("b", "deny-egress", "podSelector: {}\npolicyTypes: [Egress]")
    cluster = (NAMESPACES + PODS + pod("a", "agent", "192.168.0.5", "{app: agent}", host=True, node="n2")
               + node + anp + deny)
    path = sem.write(cluster)
    sem.check_reach([str(path)], [
        ("b/api", "a/agent", 9100, "TCP", T, T, T, "AdminNetworkPolicy/to-workers"),
        ("b/api", "192.168.0.5", 9100, "TCP", T, T, None, "AdminNetworkPolicy/to-workers"),
        ("b/api", "192.168.0.6", 9100, "TCP", F, F, None, "b/deny-egress"),
        ("b/api", "a/web", 9100, "TCP", F, F, T, "b/deny-egress"),
    ])
