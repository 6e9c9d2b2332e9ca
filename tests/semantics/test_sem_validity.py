"""SEMANTICS.md "Validity": policies the API server would reject are reported (invalid_policies, one stderr
line each, exit 2, JSON still printed) and left out of the analysis; bad input exits 2 without a traceback.

Every expectation below is derived by hand from SEMANTICS.md / docs/cli-contract.md.
"""

from __future__ import annotations

import pytest

from semantics.sem_support import netpol

T, F, N = True, False, None

CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: v}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: v, labels: {app: web}}
spec: {containers: [{name: c, image: registry.example/web:1, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: "10.5.0.2", podIPs: [{ip: "10.5.0.2"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: v, labels: {app: client}}
spec: {containers: [{name: c, image: registry.example/client:1}]}
status: {phase: Running, podIP: "10.5.0.3", podIPs: [{ip: "10.5.0.3"}]}
""" + netpol(
    "v",
    "ok-egress",
    """
podSelector: {matchLabels: {app: client}}
policyTypes: [Egress]
egress:
- to: [{podSelector: {matchLabels: {app: web}}}]
  ports: [{port: 80}]
""",
)

# The invalid policy would isolate v/web (ingress or egress) if it were analysed: it must not.
PODS = [
    ("v/client", F, T, [], ["v/ok-egress"]),
    ("v/web", F, F, [], []),
]
PROBES = [
    ("v/client", "v/web", 80, "TCP", T, T, T),
    ("v/client", "v/web", 81, "TCP", F, F, T),
    ("198.51.100.4", "v/web", 8080, "TCP", T, N, T),
    ("198.51.100.4", "v/web", 22, "TCP", T, N, T),
    ("v/web", "198.51.100.4", 443, "TCP", T, T, N),
    ("v/web", "v/client", 5000, "UDP", T, T, T),
]

# (policy spec, expected field prefix, keywords the field or reason must mention)
INVALID_CASES = [
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- from: [{ipBlock: {cidr: "10.0.0.0/8"}, podSelector: {}}]
""",
        "spec.ingress[0].from[0]",
        ("ipBlock",),
        id="ipblock-with-podselector-in-one-peer",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
- to: [{ipBlock: {cidr: "10.0.0.0/8"}, namespaceSelector: {}}]
""",
        "spec.egress[0].to[0]",
        ("ipBlock",),
        id="ipblock-with-namespaceselector-in-one-peer",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- from: [{}]
""",
        "spec.ingress[0].from[0]",
        (),
        id="peer-with-no-field",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- from: [{podSelector: {}}, {}]
""",
        "spec.ingress[0].from[1]",
        (),
        id="second-peer-with-no-field",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- from: [{ipBlock: {cidr: "10.0.0.0/16", except: ["10.1.0.0/24"]}}]
""",
        "spec.ingress[0].from[0].ipBlock",
        ("except",),
        id="except-outside-cidr",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- from: [{podSelector: {}}]
- from: [{ipBlock: {cidr: "2001:db8::/32", except: ["2001:db9::/48"]}}]
""",
        "spec.ingress[1].from[0].ipBlock",
        ("except",),
        id="except-outside-cidr-ipv6-second-rule",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
- to: [{ipBlock: {cidr: "10.0.0.0/33"}}]
""",
        "spec.egress[0].to[0].ipBlock",
        ("cidr",),
        id="malformed-cidr-prefix-33",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- from: [{ipBlock: {cidr: "2001:db8::/129"}}]
""",
        "spec.ingress[0].from[0].ipBlock",
        ("cidr",),
        id="malformed-cidr-ipv6-prefix-129",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- ports: [{port: http, endPort: 8090}]
""",
        "spec.ingress[0].ports[0]",
        ("endPort",),
        id="endport-with-named-port",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- ports: [{port: 8080, endPort: 8000}]
""",
        "spec.ingress[0].ports[0]",
        ("endPort",),
        id="endport-below-port",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- ports: [{port: 8000, endPort: 65536}]
""",
        "spec.ingress[0].ports[0]",
        ("endPort",),
        id="endport-65536",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- ports: [{port: 0}]
""",
        "spec.ingress[0].ports[0]",
        ("port",),
        id="port-0",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
- ports: [{port: 443}, {port: 65536}]
""",
        "spec.egress[0].ports[1]",
        ("port",),
        id="port-65536-egress",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
ingress:
- ports: [{protocol: ICMP, port: 8}]
""",
        "spec.ingress[0].ports[0]",
        ("protocol",),
        id="protocol-icmp",
    ),
    pytest.param(
        """
podSelector: {matchLabels: {app: web}}
policyTypes: [Both]
ingress:
- from: [{podSelector: {matchLabels: {app: client}}}]
""",
        "spec.policyTypes",
        ("policyTypes",),
        id="policytype-both",
    ),
]


@pytest.mark.parametrize(("spec", "field", "keywords"), INVALID_CASES)
def test_invalid_policy_is_reported_and_left_out(sem, spec, field, keywords):
    sem.check(
        CLUSTER + netpol("v", "bad", spec),
        pods=PODS,
        probes=PROBES,
        invalid=[("v", "bad", field, keywords)],
    )


def test_two_invalid_policies_each_reported(sem):
    manifest = (
        CLUSTER
        + netpol("v", "bad-port", "podSelector: {}\ningress:\n- ports: [{port: 0}]")
        + netpol(
            "v", "bad-proto", "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{protocol: ICMP}]"
        )
    )
    sem.check(
        manifest,
        pods=PODS,
        probes=PROBES,
        invalid=[
            ("v", "bad-port", "spec.ingress[0].ports[0]", ("port",)),
            ("v", "bad-proto", "spec.egress[0].ports[0]", ("protocol",)),
        ],
    )


# ---- bad input ---------------------------------------------------------------------------------------------


def assert_clean_failure(result, *must_mention):
    assert result.code == 2, f"exit {result.code}, expected 2; stderr:\n{result.err}"
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err
    lines = result.stderr_lines()
    assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
    for text in must_mention:
        assert text in lines[0], f"stderr should mention {text!r}: {lines[0]!r}"


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        pytest.param("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", id="malformed-yaml"),
        pytest.param(
            "broken.yaml", "kind: Pod\n  metadata:\n name: : x\n\t- y\n", id="malformed-yaml-indent"
        ),
        pytest.param("broken.json", '{"apiVersion": "v1", "kind": "Pod",', id="malformed-json"),
    ],
)
def test_malformed_input_exits_2_with_one_line_naming_the_file(sem, filename, text):
    path = sem.write(CLUSTER, "good.yaml")
    bad = sem.write(text, filename)
    assert_clean_failure(sem.isolation([str(path), str(bad)]), filename)
    assert_clean_failure(sem.reach([str(path), str(bad)], [("v/client", "v/web", 80, "TCP")]), filename)


def test_missing_input_file_exits_2(sem, tmp_path):
    missing = tmp_path / "nope.yaml"
    assert_clean_failure(sem.isolation([str(missing)]), "nope.yaml")


@pytest.mark.parametrize(
    ("argv_tail", "mention"),
    [
        pytest.param(["--from", "v/nope", "--to", "v/web", "--port", "80"], "v/nope", id="unknown-from-pod"),
        pytest.param(
            ["--from", "nowhere/web", "--to", "v/web", "--port", "80"], "nowhere/web", id="unknown-from-ns"
        ),
        pytest.param(
            ["--from", "v/client", "--to", "v/Deployment/ghost", "--port", "80"],
            "ghost",
            id="unknown-to-kind",
        ),
        pytest.param(
            ["--from", "v/client", "--to", "v/web", "--port", "70000"], "70000", id="port-out-of-range"
        ),
        pytest.param(["--from", "v/client", "--to", "v/web", "--port", "0"], None, id="port-zero"),
        pytest.param(
            ["--from", "v/client", "--to", "v/web", "--port", "80/ICMP"], "ICMP", id="unknown-protocol"
        ),
    ],
)
def test_reach_bad_endpoint_or_port_exits_2(sem, argv_tail, mention):
    path = sem.write(CLUSTER)
    result = sem.run(["reach", str(path), *argv_tail])
    assert result.code == 2, f"exit {result.code}, expected 2; stdout:\n{result.out}\nstderr:\n{result.err}"
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err
    assert result.stderr_lines(), "a bad-input error must say why on stderr"
    if mention:
        assert mention in result.err, f"stderr should mention {mention!r}: {result.err!r}"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(("v/nope", "v/web", 80, "TCP"), id="queries-unknown-from"),
        pytest.param(("v/client", "v/StatefulSet/db", 80, "TCP"), id="queries-unknown-to"),
        pytest.param(("v/client", "v/web", 65536, "TCP"), id="queries-port-65536"),
        pytest.param(("v/client", "v/web", 80, "ICMP"), id="queries-protocol-icmp"),
    ],
)
def test_reach_queries_bad_input_exits_2(sem, query):
    path = sem.write(CLUSTER)
    result = sem.reach([str(path)], [query])
    assert result.code == 2, f"exit {result.code}, expected 2; stdout:\n{result.out}\nstderr:\n{result.err}"
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err
    assert result.stderr_lines(), "a bad-input error must say why on stderr"


@pytest.mark.parametrize(
    ("src", "dst", "port", "code", "verdict"),
    [
        pytest.param("v/client", "v/web", "80", 0, "ALLOWED", id="single-allowed-exit-0"),
        pytest.param("v/client", "v/web", "80/TCP", 0, "ALLOWED", id="single-allowed-with-proto-exit-0"),
        pytest.param("v/client", "v/web", "81/TCP", 1, "DENIED", id="single-denied-exit-1"),
        pytest.param("v/client", "203.0.113.1", "443", 1, "DENIED", id="single-denied-to-ip-exit-1"),
        pytest.param("198.51.100.4", "v/web", "22", 0, "ALLOWED", id="single-from-ip-allowed-exit-0"),
    ],
)
def test_reach_single_query_exit_status(sem, src, dst, port, code, verdict):
    path = sem.write(CLUSTER)
    result = sem.run(["reach", str(path), "--from", src, "--to", dst, "--port", port])
    assert "Traceback" not in result.err, result.err
    assert result.code == code, (
        f"exit {result.code}, expected {code}; stdout:\n{result.out}\nstderr:\n{result.err}"
    )
    assert verdict in result.out, result.out
