"""SEMANTICS.md: hostNetwork pods are never protected (never isolated, even when selected; still listed in
*_policies per the CLI contract) and, as peers, are matched only by ipBlocks through their (node) IP.

Every expectation below is derived by hand from SEMANTICS.md / docs/cli-contract.md.
The hostNetwork pod runs on node-1, the other pods on node-2, so no probe is pod<->own-node traffic.
"""

from __future__ import annotations

from semantics.sem_support import netpol

T, F, N = True, False, None

CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: hn}
---
apiVersion: v1
kind: Namespace
metadata: {name: mon, labels: {team: mon}}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: hn, labels: {app: agent}}
spec:
  hostNetwork: true
  nodeName: node-1
  containers: [{name: c, image: registry.example/agent:1, ports: [{name: metrics, containerPort: 9100}]}]
status: {phase: Running, hostIP: "192.168.0.11", podIP: "192.168.0.11", podIPs: [{ip: "192.168.0.11"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: node-exporter, namespace: mon, labels: {app: agent}}
spec:
  hostNetwork: true
  nodeName: node-3
  containers: [{name: c, image: registry.example/exporter:1}]
status: {phase: Running, hostIP: "192.168.0.13", podIP: "192.168.0.13", podIPs: [{ip: "192.168.0.13"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: hn, labels: {app: web}}
spec: {nodeName: node-2, containers: [{name: c, image: registry.example/web:1}]}
status: {phase: Running, hostIP: "192.168.0.12", podIP: "10.0.0.20", podIPs: [{ip: "10.0.0.20"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: hn, labels: {app: db}}
spec: {nodeName: node-2, containers: [{name: c, image: registry.example/db:1}]}
status: {phase: Running, hostIP: "192.168.0.12", podIP: "10.0.0.30", podIPs: [{ip: "10.0.0.30"}]}
"""

POLICIES = (
    netpol("hn", "all-deny", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
    + netpol("hn", "agent-sel", "podSelector: {matchLabels: {app: agent}}\npolicyTypes: [Ingress, Egress]")
    + netpol(
        "hn",
        "web-in",
        """
podSelector: {matchLabels: {app: web}}
ingress:
- from:
  - podSelector: {matchLabels: {app: agent}}
  - namespaceSelector: {}
  ports: [{port: 80}]
""",
    )
    + netpol(
        "hn",
        "web-out",
        """
podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
- to:
  - podSelector: {matchLabels: {app: agent}}
  - namespaceSelector: {matchLabels: {team: mon}}
  ports: [{port: 9100}]
""",
    )
    + netpol(
        "hn",
        "db-in",
        """
podSelector: {matchLabels: {app: db}}
ingress:
- from: [{ipBlock: {cidr: "192.168.0.0/24"}}]
  ports: [{port: 5432}]
""",
    )
    + netpol(
        "hn",
        "db-out",
        """
podSelector: {matchLabels: {app: db}}
policyTypes: [Egress]
egress:
- to: [{ipBlock: {cidr: "192.168.0.0/24"}}]
  ports: [{port: 9100}]
""",
    )
    + netpol("mon", "deny-all", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
)


def test_host_network_pods_as_subjects_and_peers(sem):
    sem.check(
        CLUSTER + POLICIES,
        pods=[
            # selected (listed), yet never isolated
            ("hn/agent", F, F, ["hn/agent-sel", "hn/all-deny"], ["hn/agent-sel", "hn/all-deny"], T),
            ("hn/db", T, T, ["hn/all-deny", "hn/db-in"], ["hn/all-deny", "hn/db-out"]),
            ("hn/web", T, T, ["hn/all-deny", "hn/web-in"], ["hn/all-deny", "hn/web-out"]),
            ("mon/node-exporter", F, F, ["mon/deny-all"], ["mon/deny-all"], T),
        ],
        probes=[
            # as a source: podSelector and namespaceSelector peers never match a hostNetwork pod
            ("hn/agent", "hn/web", 80, "TCP", F, T, F),
            ("mon/node-exporter", "hn/web", 80, "TCP", F, T, F),
            # ... an ipBlock does, through its IP (a pod-IP match: plugin-dependent)
            ("hn/agent", "hn/db", 5432, "TCP", T, T, T, "plugin-dependent"),
            ("mon/node-exporter", "hn/db", 5432, "TCP", T, T, T),
            ("hn/agent", "hn/db", 5433, "TCP", F, T, F),
            # as a destination: selector peers in an egress rule do not match it
            ("hn/web", "hn/agent", 9100, "TCP", F, F, T),
            ("hn/web", "mon/node-exporter", 9100, "TCP", F, F, T),
            # ... an ipBlock does
            ("hn/db", "hn/agent", 9100, "TCP", T, T, T),
            ("hn/db", "mon/node-exporter", 9100, "TCP", T, T, T),
            # the selected hostNetwork pod is not isolated in either direction
            ("198.51.100.1", "hn/agent", 22, "TCP", T, N, T),
            ("hn/agent", "198.51.100.1", 443, "TCP", T, T, N),
            ("mon/node-exporter", "hn/agent", 9100, "TCP", T, T, T),
            # ordinary pods: web may not reach db (egress only to agent pods; db only from 192.168.0.0/24)
            ("hn/web", "hn/db", 5432, "TCP", F, F, F),
            # db is matched by web-in's namespaceSelector: {} but db's egress allows only 9100 to the block
            ("hn/db", "hn/web", 80, "TCP", F, F, T),
        ],
    )


SAME_NODE = """\
apiVersion: v1
kind: Namespace
metadata: {name: nl}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: nl, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: node-1, containers: [{name: c, image: registry.example/agent:1}]}
status: {phase: Running, hostIP: "192.168.0.11", podIP: "192.168.0.11", podIPs: [{ip: "192.168.0.11"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: near, namespace: nl, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: c, image: registry.example/web:1}]}
status: {phase: Running, hostIP: "192.168.0.11", podIP: "10.0.0.20", podIPs: [{ip: "10.0.0.20"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: far, namespace: nl, labels: {app: web}}
spec: {nodeName: node-2, containers: [{name: c, image: registry.example/web:1}]}
status: {phase: Running, hostIP: "192.168.0.12", podIP: "10.0.1.20", podIPs: [{ip: "10.0.1.20"}]}
""" + netpol("nl", "all-deny", "podSelector: {}\npolicyTypes: [Ingress, Egress]")


def test_host_network_pod_and_pods_on_its_own_node(sem):
    """A hostNetwork pod's traffic is its node's traffic, and traffic between a pod and the node it runs on
    is always allowed: policies decide only for pods on other nodes."""
    sem.check(
        SAME_NODE,
        pods=[
            ("nl/agent", F, F, ["nl/all-deny"], ["nl/all-deny"], T),
            ("nl/far", T, T, ["nl/all-deny"], ["nl/all-deny"]),
            ("nl/near", T, T, ["nl/all-deny"], ["nl/all-deny"]),
        ],
        probes=[
            ("nl/agent", "nl/near", 80, "TCP", T, T, T),
            ("nl/near", "nl/agent", 9100, "TCP", T, T, T),
            ("nl/agent", "nl/far", 80, "TCP", F, T, F),
            ("nl/far", "nl/agent", 9100, "TCP", F, F, T),
            ("nl/near", "nl/far", 80, "TCP", F, F, F),
        ],
    )
