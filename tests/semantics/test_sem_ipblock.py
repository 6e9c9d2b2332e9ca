"""SEMANTICS.md: ipBlock peers (cidr minus every except, IPv4 and IPv6, as `from` and as `to`), ipBlocks
matching pod IPs from status.podIPs, and addresses in queries always being outside endpoints.

Every expectation below is derived by hand from SEMANTICS.md / docs/cli-contract.md.
"""

from __future__ import annotations

import pytest

from semantics.sem_support import netpol

T, F, N = True, False, None

# Pod IPs sit in 100.64.0.0/10, outside every block of the external-endpoint cases.
CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: ipb}
---
apiVersion: v1
kind: Pod
metadata: {name: dst, namespace: ipb, labels: {app: dst}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "100.64.0.10", podIPs: [{ip: "100.64.0.10"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: src, namespace: ipb, labels: {app: src}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "100.64.0.11", podIPs: [{ip: "100.64.0.11"}]}
"""

DST_IN = [("ipb/dst", T, F, ["ipb/dst-in"], []), ("ipb/src", F, F, [], [])]
SRC_OUT = [("ipb/dst", F, F, [], []), ("ipb/src", F, T, [], ["ipb/src-out"])]


def dst_in(ipblock):
    return netpol(
        "ipb",
        "dst-in",
        f"""
podSelector: {{matchLabels: {{app: dst}}}}
ingress:
- from: [{{ipBlock: {ipblock}}}]
""",
    )


def src_out(ipblock, ports=""):
    return netpol(
        "ipb",
        "src-out",
        f"""
podSelector: {{matchLabels: {{app: src}}}}
policyTypes: [Egress]
egress:
- to: [{{ipBlock: {ipblock}}}]
{ports}""",
    )


def ext_in(ip, ok, port=80):
    """external IP -> ipb/dst: only dst's ingress matters, the egress side is null."""
    return (ip, "ipb/dst", port, "TCP", ok, N, ok)


def out_ext(ip, ok, port=443, protocol="TCP"):
    """ipb/src -> external IP: only src's egress matters, the ingress side is null."""
    return ("ipb/src", ip, port, protocol, ok, ok, N)


CASES = [
    pytest.param(
        dst_in('{cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "10.2.3.0/24"]}'),
        DST_IN,
        [
            ext_in("10.0.0.1", T),
            ext_in("10.255.255.255", T),
            ext_in("10.0.0.0", T),
            ext_in("10.1.0.0", F),
            ext_in("10.1.255.255", F),
            ext_in("10.1.2.3", F),
            ext_in("10.2.3.4", F),
            ext_in("10.2.4.1", T),
            ext_in("10.2.2.255", T),
            ext_in("11.0.0.1", F),
            ext_in("9.255.255.255", F),
            ext_in("2001:db8::1", F),
            # a pod whose IP is outside the block
            ("ipb/src", "ipb/dst", 80, "TCP", F, T, F),
        ],
        id="ipv4-from-with-except",
    ),
    pytest.param(
        src_out('{cidr: "172.16.0.0/12", except: ["172.16.5.0/24"]}', "  ports: [{port: 443}]\n"),
        SRC_OUT,
        [
            out_ext("172.16.0.1", T),
            out_ext("172.31.255.255", T),
            out_ext("172.16.4.255", T),
            out_ext("172.16.6.0", T),
            out_ext("172.16.5.0", F),
            out_ext("172.16.5.9", F),
            out_ext("172.16.5.255", F),
            out_ext("172.32.0.1", F),
            out_ext("172.15.255.255", F),
            out_ext("172.16.0.1", F, port=80),
            out_ext("fd00::1", F),
            # dst (100.64.0.10) is outside the block; dst is not ingress-isolated
            ("ipb/src", "ipb/dst", 443, "TCP", F, F, T),
        ],
        id="ipv4-to-with-except",
    ),
    pytest.param(
        dst_in('{cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}'),
        DST_IN,
        [
            ext_in("2001:db8::1", T),
            ext_in("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", T),
            ext_in("2001:db8:2::1", T),
            ext_in("2001:db8:1::", F),
            ext_in("2001:db8:1::5", F),
            ext_in("2001:db8:1:ffff::1", F),
            ext_in("2001:db9::1", F),
            ext_in("2001:db7:ffff::1", F),
            ext_in("10.0.0.1", F),
            ("ipb/src", "ipb/dst", 80, "TCP", F, T, F),
        ],
        id="ipv6-from-with-except",
    ),
    pytest.param(
        src_out('{cidr: "fd00::/8", except: ["fd00:1::/32", "fdff::/16"]}'),
        SRC_OUT,
        [
            # no ports: every port and protocol
            out_ext("fd00::1", T),
            out_ext("fd00::1", T, port=53, protocol="UDP"),
            out_ext("fd12:3456::1", T),
            out_ext("fd00:2::1", T),
            out_ext("fd00:1::1", F),
            out_ext("fd00:1:ffff::1", F),
            out_ext("fdff::1", F),
            out_ext("fdfe::1", T),
            out_ext("fe80::1", F),
            out_ext("fc00::1", F),
            out_ext("10.0.0.1", F),
        ],
        id="ipv6-to-with-except",
    ),
    pytest.param(
        dst_in('{cidr: "0.0.0.0/0", except: ["100.64.0.0/10"]}'),
        DST_IN,
        [
            ext_in("8.8.8.8", T),
            ext_in("100.64.0.11", F),
            # the except removes src's pod IP
            ("ipb/src", "ipb/dst", 80, "TCP", F, T, F),
            # an IPv6 source is not in an IPv4 block
            ext_in("2001:db8::1", F),
        ],
        id="ipv4-everything-except-pod-range",
    ),
]


@pytest.mark.parametrize(("policy", "pods", "probes"), CASES)
def test_ipblock_external(sem, policy, pods, probes):
    sem.check(CLUSTER + policy, pods=pods, probes=probes)


POD_IP_CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: net}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: net, labels: {app: a}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "10.0.1.5", podIPs: [{ip: "10.0.1.5"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: net, labels: {app: b}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "10.0.2.7", podIPs: [{ip: "10.0.2.7"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: net, labels: {app: c}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "10.0.1.9", podIPs: [{ip: "10.0.1.9"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: dst, namespace: net, labels: {app: dst}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
status: {phase: Running, podIP: "10.0.9.9", podIPs: [{ip: "10.0.9.9"}]}
"""


def test_ipblock_matches_pod_ips_from_status(sem):
    manifest = (
        POD_IP_CLUSTER
        + netpol(
            "net",
            "dst-in",
            """
podSelector: {matchLabels: {app: dst}}
ingress:
- from: [{ipBlock: {cidr: "10.0.1.0/24", except: ["10.0.1.9/32"]}}]
""",
        )
        + netpol(
            "net",
            "a-out",
            """
podSelector: {matchLabels: {app: a}}
policyTypes: [Egress]
egress:
- to: [{ipBlock: {cidr: "10.0.9.0/24"}}]
""",
        )
    )
    sem.check(
        manifest,
        pods=[
            ("net/a", F, T, [], ["net/a-out"]),
            ("net/b", F, F, [], []),
            ("net/c", F, F, [], []),
            ("net/dst", T, F, ["net/dst-in"], []),
        ],
        probes=[
            # a (10.0.1.5) is in the from-block, dst (10.0.9.9) in a's to-block: both rest on pod IPs
            ("net/a", "net/dst", 80, "TCP", T, T, T, "plugin-dependent"),
            # c (10.0.1.9) is the except
            ("net/c", "net/dst", 80, "TCP", F, T, F),
            # b (10.0.2.7) is outside the from-block
            ("net/b", "net/dst", 80, "TCP", F, T, F),
            # b is outside a's to-block; b is not ingress-isolated
            ("net/a", "net/b", 80, "TCP", F, F, T),
            # a query address is always outside the pod network, even when a pod holds it
            ("10.0.1.5", "net/dst", 80, "TCP", T, N, T),
            ("10.0.1.9", "net/dst", 80, "TCP", F, N, F),
            ("net/a", "10.0.9.9", 80, "TCP", T, T, N),
            ("net/a", "10.0.2.7", 80, "TCP", F, F, N),
        ],
    )
