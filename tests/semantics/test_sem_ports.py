"""SEMANTICS.md: port entries (protocol default TCP, UDP, SCTP, port absent, endPort ranges, named ports
resolved against the destination pod, named ports with an IP destination).

Every expectation below is derived by hand from SEMANTICS.md / docs/cli-contract.md.
"""

from __future__ import annotations

import pytest

from semantics.sem_support import netpol

T, F, N = True, False, None

# srv1 and srv2 give the same port names different numbers; the client defines decoys of its own.
CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: p}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: p, labels: {app: client}}
spec:
  containers:
  - name: c
    image: registry.example/client:1
    ports:
    - {name: metrics, containerPort: 9999}
    - {name: https, containerPort: 443}
status: {phase: Running, podIP: "10.2.0.1", podIPs: [{ip: "10.2.0.1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: srv1, namespace: p, labels: {app: srv}}
spec:
  containers:
  - name: main
    image: registry.example/srv:1
    ports:
    - {name: http, containerPort: 8080, protocol: TCP}
    - {name: dns, containerPort: 53, protocol: UDP}
  - name: sidecar
    image: registry.example/exporter:1
    ports:
    - {name: metrics, containerPort: 9100}
    - {name: https, containerPort: 8443}
status: {phase: Running, podIP: "10.2.0.2", podIPs: [{ip: "10.2.0.2"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: srv2, namespace: p, labels: {app: srv}}
spec:
  containers:
  - name: main
    image: registry.example/srv:1
    ports:
    - {name: http, containerPort: 9090}
    - {name: dns, containerPort: 5353, protocol: UDP}
    - {name: metrics, containerPort: 9200}
status: {phase: Running, podIP: "10.2.0.3", podIPs: [{ip: "10.2.0.3"}]}
"""

INGRESS_PODS = [
    ("p/client", F, F, [], []),
    ("p/srv1", T, F, ["p/srv-in"], []),
    ("p/srv2", T, F, ["p/srv-in"], []),
]


def srv_in(ports_yaml):
    """srv-in: ingress to app=srv from every peer (no `from`) on the given ports."""
    return netpol(
        "p",
        "srv-in",
        f"""
podSelector: {{matchLabels: {{app: srv}}}}
ingress:
- ports: {ports_yaml}
""",
    )


def c2s1(port, protocol, ok):
    """client -> srv1: the client is not egress-isolated, so only srv1's ingress decides."""
    return ("p/client", "p/srv1", port, protocol, ok, T, ok)


INGRESS_CASES = [
    pytest.param(
        "[{port: 80}]",
        [
            c2s1(80, "TCP", T),
            c2s1(80, None, T),  # protocol left out of the query: TCP
            c2s1(80, "UDP", F),
            c2s1(80, "SCTP", F),
            c2s1(81, "TCP", F),
            c2s1(79, "TCP", F),
        ],
        id="protocol-defaults-to-tcp",
    ),
    pytest.param(
        "[{protocol: UDP, port: 53}]",
        [c2s1(53, "UDP", T), c2s1(53, "TCP", F), c2s1(54, "UDP", F), c2s1(53, "SCTP", F)],
        id="udp-port",
    ),
    pytest.param(
        "[{protocol: SCTP, port: 9999}]",
        [c2s1(9999, "SCTP", T), c2s1(9999, "TCP", F), c2s1(9999, "UDP", F), c2s1(9998, "SCTP", F)],
        id="sctp-port",
    ),
    pytest.param(
        "[{protocol: UDP}]",
        [
            c2s1(1, "UDP", T),
            c2s1(53, "UDP", T),
            c2s1(65535, "UDP", T),
            c2s1(53, "TCP", F),
            c2s1(8080, "TCP", F),
            c2s1(53, "SCTP", F),
        ],
        id="port-absent-all-ports-of-that-protocol-only",
    ),
    pytest.param(
        "[{}]",
        [c2s1(1, "TCP", T), c2s1(65535, "TCP", T), c2s1(53, "UDP", F), c2s1(1, "SCTP", F)],
        id="empty-port-entry-all-tcp-ports",
    ),
    pytest.param(
        "[{port: 8000, endPort: 8010}]",
        [
            c2s1(7999, "TCP", F),
            c2s1(8000, "TCP", T),
            c2s1(8005, "TCP", T),
            c2s1(8010, "TCP", T),
            c2s1(8011, "TCP", F),
            c2s1(8005, "UDP", F),
        ],
        id="endport-inclusive-range",
    ),
    pytest.param(
        "[{protocol: UDP, port: 30000, endPort: 32767}]",
        [
            c2s1(29999, "UDP", F),
            c2s1(30000, "UDP", T),
            c2s1(32767, "UDP", T),
            c2s1(32768, "UDP", F),
            c2s1(31000, "TCP", F),
        ],
        id="endport-range-udp",
    ),
    pytest.param(
        "[{port: 8000, endPort: 8000}]",
        [c2s1(8000, "TCP", T), c2s1(8001, "TCP", F), c2s1(7999, "TCP", F)],
        id="endport-equal-to-port",
    ),
    pytest.param(
        "[{port: 1}, {port: 65535}]",
        [c2s1(1, "TCP", T), c2s1(65535, "TCP", T), c2s1(2, "TCP", F), c2s1(65534, "TCP", F)],
        id="port-bounds-1-and-65535-valid",
    ),
    pytest.param(
        "[]",
        [c2s1(1, "TCP", T), c2s1(53, "UDP", T), c2s1(7, "SCTP", T), c2s1(65535, "TCP", T)],
        id="ports-empty-list-every-port-and-protocol",
    ),
    pytest.param(
        "[{port: 80}, {protocol: UDP, port: 53}]",
        [c2s1(80, "TCP", T), c2s1(53, "UDP", T), c2s1(80, "UDP", F), c2s1(53, "TCP", F)],
        id="two-port-entries-OR",
    ),
    pytest.param(
        "[{port: http}]",
        [
            # resolves against the destination (the governed pod): srv1 http=8080, srv2 http=9090
            ("p/client", "p/srv1", 8080, "TCP", T, T, T),
            ("p/client", "p/srv1", 9090, "TCP", F, T, F),
            ("p/client", "p/srv2", 9090, "TCP", T, T, T),
            ("p/client", "p/srv2", 8080, "TCP", F, T, F),
            ("p/client", "p/srv1", 8080, "UDP", F, T, F),
            ("203.0.113.5", "p/srv1", 8080, "TCP", T, N, T),
            ("203.0.113.5", "p/srv2", 8080, "TCP", F, N, F),
        ],
        id="named-port-different-number-per-destination-pod",
    ),
    pytest.param(
        "[{port: https}]",
        [
            # srv1 defines https in its second container (8443); the client's own https=443 is irrelevant
            ("p/client", "p/srv1", 8443, "TCP", T, T, T),
            ("p/client", "p/srv1", 443, "TCP", F, T, F),
            # srv2 defines no https: nothing matches
            ("p/client", "p/srv2", 443, "TCP", F, T, F),
            ("p/client", "p/srv2", 8443, "TCP", F, T, F),
        ],
        id="named-port-in-any-container-undefined-on-other-pod",
    ),
    pytest.param(
        "[{port: dns}]",
        [
            # dns is defined for UDP; the rule's protocol is TCP (default): no match at all
            ("p/client", "p/srv1", 53, "UDP", F, T, F),
            ("p/client", "p/srv1", 53, "TCP", F, T, F),
            ("p/client", "p/srv2", 5353, "UDP", F, T, F),
            ("p/client", "p/srv2", 5353, "TCP", F, T, F),
        ],
        id="named-port-protocol-mismatch-matches-nothing",
    ),
    pytest.param(
        "[{port: dns, protocol: UDP}]",
        [
            ("p/client", "p/srv1", 53, "UDP", T, T, T),
            ("p/client", "p/srv1", 53, "TCP", F, T, F),
            ("p/client", "p/srv1", 5353, "UDP", F, T, F),
            ("p/client", "p/srv2", 5353, "UDP", T, T, T),
            ("p/client", "p/srv2", 53, "UDP", F, T, F),
        ],
        id="named-port-protocol-match",
    ),
    pytest.param(
        "[{port: grpc}]",
        [
            ("p/client", "p/srv1", 8080, "TCP", F, T, F),
            ("p/client", "p/srv1", 50051, "TCP", F, T, F),
            ("p/client", "p/srv2", 9090, "TCP", F, T, F),
        ],
        id="named-port-no-container-defines-it",
    ),
]


@pytest.mark.parametrize(("ports_yaml", "probes"), INGRESS_CASES)
def test_ingress_ports(sem, ports_yaml, probes):
    sem.check(CLUSTER + srv_in(ports_yaml), pods=INGRESS_PODS, probes=probes)


EGRESS_PODS = [
    ("p/client", F, T, [], ["p/client-out"]),
    ("p/srv1", F, F, [], []),
    ("p/srv2", F, F, [], []),
]


def client_out(egress_yaml):
    return netpol(
        "p",
        "client-out",
        f"""
podSelector: {{matchLabels: {{app: client}}}}
policyTypes: [Egress]
egress:
{egress_yaml.strip()}
""",
    )


EGRESS_CASES = [
    pytest.param(
        """
- to: [{podSelector: {matchLabels: {app: srv}}}]
  ports: [{port: metrics}]
""",
        [
            # resolved against the peer (destination) pod, never the governed client (metrics=9999)
            ("p/client", "p/srv1", 9100, "TCP", T, T, T),
            ("p/client", "p/srv1", 9200, "TCP", F, F, T),
            ("p/client", "p/srv2", 9200, "TCP", T, T, T),
            ("p/client", "p/srv2", 9100, "TCP", F, F, T),
            ("p/client", "p/srv1", 9999, "TCP", F, F, T),
            ("p/client", "p/srv2", 9999, "TCP", F, F, T),
        ],
        id="egress-named-port-resolves-against-peer",
    ),
    pytest.param(
        """
- to: [{ipBlock: {cidr: "0.0.0.0/0"}}]
  ports: [{port: https}]
""",
        [
            # an IP destination has no container ports: the named port matches nothing
            ("p/client", "93.184.216.34", 443, "TCP", F, F, N),
            ("p/client", "93.184.216.34", 8443, "TCP", F, F, N),
        ],
        id="egress-named-port-ip-destination-matches-nothing",
    ),
    pytest.param(
        """
- to: [{ipBlock: {cidr: "0.0.0.0/0"}}]
  ports: [{port: 443}]
""",
        [
            ("p/client", "93.184.216.34", 443, "TCP", T, T, N),
            ("p/client", "93.184.216.34", 8443, "TCP", F, F, N),
            ("p/client", "93.184.216.34", 443, "UDP", F, F, N),
        ],
        id="egress-numeric-port-ip-destination",
    ),
    pytest.param(
        """
- ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
""",
        [
            # no `to`: every destination, pods and IPs alike, on the listed ports only
            ("p/client", "p/srv1", 53, "UDP", T, T, T),
            ("p/client", "p/srv2", 53, "TCP", T, T, T),
            ("p/client", "192.0.2.53", 53, "UDP", T, T, N),
            ("p/client", "192.0.2.53", 443, "TCP", F, F, N),
            ("p/client", "p/srv1", 8080, "TCP", F, F, T),
        ],
        id="egress-to-absent-every-destination",
    ),
]


@pytest.mark.parametrize(("egress_yaml", "probes"), EGRESS_CASES)
def test_egress_ports(sem, egress_yaml, probes):
    sem.check(CLUSTER + client_out(egress_yaml), pods=EGRESS_PODS, probes=probes)
