"""SEMANTICS.md: peers (podSelector / namespaceSelector / both in one peer / two peers), label selectors in
peers, the `kubernetes.io/metadata.name` label the loader must add, namespaces that are never defined.

Every expectation below is derived by hand from SEMANTICS.md / docs/cli-contract.md.
"""

from __future__ import annotations

import pytest

from semantics.sem_support import netpol

T, F, N = True, False, None

# None of these Namespace manifests carries kubernetes.io/metadata.name; misc has no labels at all.
CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: pay, labels: {team: pay}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {team: ops}}
---
apiVersion: v1
kind: Namespace
metadata: {name: misc}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: registry.example/db:1}]}
status: {phase: Running, podIP: "10.1.0.10", podIPs: [{ip: "10.1.0.10"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, image: registry.example/api:1}]}
status: {phase: Running, podIP: "10.1.0.11", podIPs: [{ip: "10.1.0.11"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: pay, labels: {app: api}}
spec: {containers: [{name: c, image: registry.example/api:1}]}
status: {phase: Running, podIP: "10.1.1.11", podIPs: [{ip: "10.1.1.11"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: worker, namespace: pay, labels: {app: worker}}
spec: {containers: [{name: c, image: registry.example/worker:1}]}
status: {phase: Running, podIP: "10.1.1.12", podIPs: [{ip: "10.1.1.12"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: ops, labels: {app: api}}
spec: {containers: [{name: c, image: registry.example/api:1}]}
status: {phase: Running, podIP: "10.1.2.11", podIPs: [{ip: "10.1.2.11"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: misc, labels: {app: tool}}
spec: {containers: [{name: c, image: registry.example/tool:1}]}
status: {phase: Running, podIP: "10.1.3.11", podIPs: [{ip: "10.1.3.11"}]}
"""

SOURCES = ["shop/api", "pay/api", "pay/worker", "ops/api", "misc/tool", "198.51.100.1"]

PODS = [
    ("shop/db", T, F, ["shop/db-in"], []),
    ("shop/api", F, F, [], []),
    ("pay/api", F, F, [], []),
    ("pay/worker", F, F, [], []),
    ("ops/api", F, F, [], []),
    ("misc/tool", F, F, [], []),
]


def to_db(allowed_sources, sources=SOURCES):
    """Probes from every source to shop/db on 5432/TCP; `allowed_sources` is the hand-derived answer.
    No source is egress-isolated, so egress_allowed is True for pods and None for the external IP."""
    probes = []
    for src in sources:
        ok = src in allowed_sources
        egress = N if src[0].isdigit() else T
        probes.append((src, "shop/db", 5432, "TCP", ok, egress, ok))
    # the port still matters
    probes.append(("shop/api", "shop/db", 5433, "TCP", F, T, F))
    return probes


def db_policy(from_yaml):
    return netpol(
        "shop",
        "db-in",
        f"""
podSelector: {{matchLabels: {{app: db}}}}
ingress:
- from: {from_yaml}
  ports: [{{port: 5432}}]
""",
    )


PEER_CASES = [
    pytest.param(
        "[{podSelector: {matchLabels: {app: api}}}]",
        {"shop/api"},
        id="podselector-alone-is-policy-namespace-only",
    ),
    pytest.param("[{podSelector: {}}]", {"shop/api"}, id="empty-podselector-alone-is-policy-namespace"),
    pytest.param(
        "[{namespaceSelector: {}}]",
        {"shop/api", "pay/api", "pay/worker", "ops/api", "misc/tool"},
        id="empty-namespaceselector-all-pods-no-ips",
    ),
    pytest.param(
        "[{namespaceSelector: {matchLabels: {team: pay}}}]",
        {"pay/api", "pay/worker"},
        id="namespaceselector-alone",
    ),
    pytest.param(
        "[{namespaceSelector: {matchLabels: {team: pay}}, podSelector: {matchLabels: {app: api}}}]",
        {"pay/api"},
        id="both-selectors-one-peer-AND",
    ),
    pytest.param(
        "[{namespaceSelector: {matchLabels: {team: pay}}}, {podSelector: {matchLabels: {app: api}}}]",
        {"pay/api", "pay/worker", "shop/api"},
        id="two-peers-OR",
    ),
    pytest.param(
        "[{namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}]",
        {"shop/api", "pay/api", "ops/api"},
        id="empty-namespaceselector-with-podselector-all-namespaces",
    ),
    pytest.param(
        "[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}]",
        {"ops/api"},
        id="metadata-name-label-added-by-loader",
    ),
    pytest.param(
        "[{namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [pay, shop]}]}}]",
        {"ops/api", "misc/tool"},
        id="namespace-notin-matches-namespace-without-key",
    ),
    pytest.param(
        "[{namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}}]",
        {"misc/tool"},
        id="namespace-doesnotexist",
    ),
    pytest.param(
        "[{namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]},"
        " podSelector: {matchExpressions: [{key: app, operator: In, values: [api, worker]}]}}]",
        {"shop/api", "pay/api", "pay/worker", "ops/api"},
        id="namespace-exists-and-pod-in",
    ),
    pytest.param(
        "[{namespaceSelector: {matchLabels: {team: pay},"
        " matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [pay, ops]}]}}]",
        {"pay/api", "pay/worker"},
        id="namespace-matchlabels-and-matchexpressions-ANDed",
    ),
    pytest.param(
        "[{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn,"
        " values: [pay]}]}, podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [tool]}]}}]",
        {"shop/api", "ops/api"},
        id="notin-on-both-selectors",
    ),
    pytest.param(
        "[]",
        {"shop/api", "pay/api", "pay/worker", "ops/api", "misc/tool", "198.51.100.1"},
        id="from-empty-all-pods-and-ips",
    ),
]


@pytest.mark.parametrize(("from_yaml", "allowed"), PEER_CASES)
def test_ingress_peer(sem, from_yaml, allowed):
    sem.check(CLUSTER + db_policy(from_yaml), pods=PODS, probes=to_db(allowed))


EGRESS_PEER_CASES = [
    pytest.param(
        "[{podSelector: {matchLabels: {app: api}}}]",
        {"shop/api"},
        id="egress-podselector-alone-is-policy-namespace-only",
    ),
    pytest.param(
        "[{namespaceSelector: {matchLabels: {team: pay}}, podSelector: {matchLabels: {app: api}}}]",
        {"pay/api"},
        id="egress-both-selectors-one-peer-AND",
    ),
    pytest.param(
        "[{namespaceSelector: {matchLabels: {team: pay}}}, {podSelector: {matchLabels: {app: api}}}]",
        {"pay/api", "pay/worker", "shop/api"},
        id="egress-two-peers-OR",
    ),
    pytest.param(
        "[{namespaceSelector: {}}]",
        {"shop/api", "pay/api", "pay/worker", "ops/api", "misc/tool"},
        id="egress-empty-namespaceselector-all-pods-no-ips",
    ),
]


@pytest.mark.parametrize(("to_yaml", "allowed"), EGRESS_PEER_CASES)
def test_egress_peer(sem, to_yaml, allowed):
    policy = netpol(
        "shop",
        "db-out",
        f"""
podSelector: {{matchLabels: {{app: db}}}}
policyTypes: [Egress]
egress:
- to: {to_yaml}
  ports: [{{port: 8080}}]
""",
    )
    pods = [("shop/db", F, T, [], ["shop/db-out"]), *PODS[1:]]
    probes = []
    for dst in SOURCES:
        ok = dst in allowed
        ingress = N if dst[0].isdigit() else T
        probes.append(("shop/db", dst, 8080, "TCP", ok, ok, ingress))
    probes.append(("shop/db", "shop/api", 8081, "TCP", F, F, T))
    sem.check(CLUSTER + policy, pods=pods, probes=probes)


def test_namespace_referenced_but_never_defined(sem):
    """ghost is never defined as a Namespace; it still exists with kubernetes.io/metadata.name: ghost."""
    manifest = (
        CLUSTER
        + """\
---
apiVersion: v1
kind: Pod
metadata: {name: phantom, namespace: ghost, labels: {app: api}}
spec: {containers: [{name: c, image: registry.example/api:1}]}
status: {phase: Running, podIP: "10.1.9.11", podIPs: [{ip: "10.1.9.11"}]}
"""
        + db_policy("[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ghost}}}]")
        + netpol("ghost", "deny", "podSelector: {}")
    )
    sem.check(
        manifest,
        pods=[*PODS, ("ghost/phantom", T, F, ["ghost/deny"], [])],
        probes=[
            *to_db({"ghost/phantom"}, [*SOURCES, "ghost/phantom"]),
            ("shop/api", "ghost/phantom", 80, "TCP", F, T, F),
        ],
    )


def test_namespace_referenced_but_never_defined_matches_empty_namespaceselector(sem):
    manifest = (
        CLUSTER
        + """\
---
apiVersion: v1
kind: Pod
metadata: {name: phantom, namespace: ghost, labels: {app: api}}
spec: {containers: [{name: c, image: registry.example/api:1}]}
"""
        + db_policy("[{namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}]")
    )
    sem.check(
        manifest,
        pods=[*PODS, ("ghost/phantom", F, F, [], [])],
        probes=to_db({"shop/api", "pay/api", "ops/api", "ghost/phantom"}, [*SOURCES, "ghost/phantom"]),
    )
