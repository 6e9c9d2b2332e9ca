"""Differential test: the real CLI (isolation, reach --queries) against the brute-force reference.

Random small valid clusters (tests/strategies.py) are written as one multi-document YAML file, the CLI is run
in-process, and every isolation flag and every reach verdict must equal tests/reference.py exactly.
NETPOL_HYPOTHESIS_EXAMPLES sets the number of examples (default 200).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import reference
import yaml
from hypothesis import given
from strategies import SETTINGS, clusters

# (port, protocol); protocol None = omitted in the query file, which the contract defaults to TCP.
QUERY_PORTS: list[tuple[int, str | None]] = [
    (53, "UDP"),
    (53, "TCP"),
    (80, "TCP"),
    (443, None),
    (8080, "TCP"),
    (9000, "SCTP"),
]
QUERY_IPS = ["10.0.0.5", "10.0.0.200", "192.0.2.1", "fd00::5"]
MAX_REPORTED = 15


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``scanner.cli.main`` in-process; returns (exit status, stdout, stderr)."""
    from scanner.cli import main  # imported here so that collection works while the engine is being built

    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    # TextIOWrapper over BytesIO accepts both text writes and sys.stdout.buffer writes.
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # a main() that exits instead of returning
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out.flush()
        err.flush()
    return int(rc or 0), out_bytes.getvalue().decode(), err_bytes.getvalue().decode()


def endpoint_text(endpoint: reference.Endpoint) -> str:
    return endpoint if isinstance(endpoint, str) else f"{endpoint[0]}/{endpoint[1]}"


def build_queries(
    cluster: reference.Cluster,
) -> list[tuple[reference.Endpoint, reference.Endpoint, int, str | None]]:
    pods = sorted(cluster.pods)
    pairs: list[tuple[reference.Endpoint, reference.Endpoint]] = [
        (a, b) for a in pods for b in pods if a != b
    ]
    for pod in pods:
        for ip in QUERY_IPS:
            pairs.append((pod, ip))
            pairs.append((ip, pod))
    return [(src, dst, port, proto) for src, dst in pairs for port, proto in QUERY_PORTS]


def failure(cluster_yaml: str, lines: list[str]) -> str:
    shown = lines[:MAX_REPORTED]
    more = f"\n... and {len(lines) - MAX_REPORTED} more" if len(lines) > MAX_REPORTED else ""
    return (
        f"engine disagrees with tests/reference.py on {len(lines)} item(s):\n"
        + "\n".join(shown)
        + more
        + "\n--- cluster YAML ---\n"
        + cluster_yaml
    )


def compare_with_engine(objects: list[dict[str, Any]]) -> None:
    """Run isolation and reach --queries on ``objects``; assert every answer equals the reference."""
    cluster = reference.Cluster(objects)
    cluster_yaml = yaml.safe_dump_all(objects, sort_keys=False)
    queries = build_queries(cluster)
    query_docs = []
    for src, dst, port, proto in queries:
        doc: dict[str, Any] = {"from": endpoint_text(src), "to": endpoint_text(dst), "port": port}
        if proto is not None:
            doc["protocol"] = proto
        query_docs.append(doc)

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "cluster.yaml"
        manifest.write_text(cluster_yaml, encoding="utf-8")
        qfile = Path(tmp) / "queries.yaml"
        qfile.write_text(yaml.safe_dump(query_docs, sort_keys=False), encoding="utf-8")
        iso_rc, iso_out, iso_err = run_cli(["isolation", str(manifest), "-o", "json"])
        reach_rc, reach_out, reach_err = run_cli(
            ["reach", str(manifest), "--queries", str(qfile), "-o", "json"]
        )

    # ---- isolation
    assert iso_rc == 0, failure(cluster_yaml, [f"isolation exit status {iso_rc}; stderr: {iso_err}"])
    report = json.loads(iso_out)
    problems: list[str] = []
    engine_pods = {(p["namespace"], p["name"]): p for p in report["pods"]}
    expected_iso = cluster.isolation()
    expected_lists = cluster.selecting_policies()
    if set(engine_pods) != set(expected_iso):
        problems.append(f"isolation pods: engine {sorted(engine_pods)} != reference {sorted(expected_iso)}")
    ignored = sorted((p["namespace"], p["name"]) for p in report.get("ignored", []))
    if ignored != cluster.finished:
        problems.append(f"isolation ignored: engine {ignored} != reference {cluster.finished}")
    if report.get("invalid_policies"):
        problems.append(f"valid policies reported invalid: {report['invalid_policies']}")
    for key, (ingress, egress) in expected_iso.items():
        entry = engine_pods.get(key)
        if entry is None:
            continue
        got = (entry["ingress_isolated"], entry["egress_isolated"])
        if got != (ingress, egress):
            problems.append(
                f"isolation {endpoint_text(key)}: engine (ingress_isolated, egress_isolated)={got}, "
                f"reference={(ingress, egress)}"
            )
        got_lists = (entry["ingress_policies"], entry["egress_policies"])
        if got_lists != expected_lists[key]:
            problems.append(
                f"isolation {endpoint_text(key)}: engine (ingress_policies, egress_policies)={got_lists}, "
                f"reference={expected_lists[key]}"
            )
    assert not problems, failure(cluster_yaml, problems)

    # ---- reach
    assert reach_rc == 0, failure(cluster_yaml, [f"reach exit status {reach_rc}; stderr: {reach_err}"])
    answers = json.loads(reach_out)
    assert len(answers) == len(queries), failure(
        cluster_yaml, [f"{len(answers)} answers for {len(queries)} queries"]
    )
    for (src, dst, port, proto), doc, answer in zip(queries, query_docs, answers, strict=True):
        protocol = proto or "TCP"
        want_egress, want_ingress = cluster.sides(src, dst, port, protocol)
        want = want_egress is not False and want_ingress is not False
        got = (answer["allowed"], answer["egress_allowed"], answer["ingress_allowed"])
        label = f"query {doc}: engine (allowed, egress_allowed, ingress_allowed)={got}"
        if answer["allowed"] is not want:
            problems.append(f"{label}, reference allowed={want}; explanation: {answer.get('explanation')!r}")
            continue
        if (answer["egress_allowed"] is None) != isinstance(src, str):
            problems.append(f"{label}: egress_allowed must be null iff 'from' is an IP address")
        if (answer["ingress_allowed"] is None) != isinstance(dst, str):
            problems.append(f"{label}: ingress_allowed must be null iff 'to' is an IP address")
        if (answer["egress_allowed"], answer["ingress_allowed"]) != (want_egress, want_ingress):
            problems.append(f"{label}, reference sides=({want_egress}, {want_ingress})")
        if answer.get("protocol") != protocol or str(answer.get("port")) != str(port):
            problems.append(f"{label}: echoed port/protocol {answer.get('port')}/{answer.get('protocol')}")
    assert not problems, failure(cluster_yaml, problems)


@SETTINGS
@given(clusters())
def test_engine_agrees_with_reference_on_isolation_and_reachability(objects: list[dict[str, Any]]) -> None:
    compare_with_engine(objects)


# --------------------------------------------------------------------------- hand-picked edge clusters
# Shapes the random generator reaches only rarely; each goes through the same full comparison.


def _ns(name: str, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _pod(
    namespace: str,
    name: str,
    labels: dict[str, str] | None = None,
    ips: list[str] | None = None,
    ports: list[dict[str, Any]] | None = None,
    host_network: bool = False,
    pod_ips_field: bool = True,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "img"}
    if ports:
        container["ports"] = ports
    spec: dict[str, Any] = {"containers": [container]}
    if host_network:
        spec["hostNetwork"] = True
    status: dict[str, Any] = {"phase": "Running"}
    if ips:
        status["podIP"] = ips[0]
        if pod_ips_field:
            status["podIPs"] = [{"ip": ip} for ip in ips]
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def _np(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


HTTP_8080 = [{"name": "http", "containerPort": 8080}]
HTTP_80 = [{"name": "http", "containerPort": 80}]
DNS_UDP = [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]
CLIENT = {"matchLabels": {"a": "x"}}

EDGE_CLUSTERS: dict[str, list[dict[str, Any]]] = {
    # named port on egress where the destination pod is matched only through an ipBlock
    "named-port-egress-via-ipblock": [
        _ns("n"),
        _pod("n", "client", {"a": "x"}, ["10.0.0.3"]),
        _pod("n", "web", None, ["10.0.0.20"], HTTP_8080),
        _pod("n", "web80", None, ["10.0.0.130"], HTTP_80),
        _pod("n", "dns", None, ["10.0.0.21"], DNS_UDP),
        _np(
            "n",
            "out",
            podSelector=CLIENT,
            policyTypes=["Egress"],
            egress=[
                {"to": [{"ipBlock": {"cidr": "10.0.0.0/25"}}], "ports": [{"port": "http"}]},
                {"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": "dns", "protocol": "UDP"}]},
            ],
        ),
    ],
    # named port on egress with `to` absent: any destination, the name resolves per destination pod
    "named-port-egress-any-peer": [
        _ns("n"),
        _ns("m"),
        _pod("n", "client", {"a": "x"}, ["10.0.0.3"]),
        _pod("n", "web", None, ["10.0.0.20"], HTTP_8080),
        _pod("m", "web", None, ["10.0.0.22"], HTTP_80),
        _np("n", "out", podSelector=CLIENT, policyTypes=["Egress"], egress=[{"ports": [{"port": "http"}]}]),
    ],
    # dual-stack pods, IPv6 first, and a pod known only by status.podIP
    "dual-stack-and-podip-only": [
        _ns("n"),
        _pod("n", "v6first", None, ["fd00::14", "10.0.0.20"]),
        _pod("n", "v4first", None, ["10.0.0.5", "fd00::30"]),
        _pod("n", "podip-only", None, ["10.0.0.77"], pod_ips_field=False),
        _pod("n", "noip"),
        _pod("n", "db", {"a": "y"}, ["10.0.0.9"]),
        _np(
            "n",
            "db-in",
            podSelector={"matchLabels": {"a": "y"}},
            ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.0/28"]}}]}],
        ),
        _np(
            "n",
            "db-in6",
            podSelector={"matchLabels": {"a": "y"}},
            ingress=[
                {
                    "from": [{"ipBlock": {"cidr": "fd00::/64", "except": ["fd00::/124"]}}],
                    "ports": [{"port": 80}],
                }
            ],
        ),
    ],
    # hostNetwork pods as sources and destinations: unprotected, invisible to selectors, seen by ipBlocks
    "host-network": [
        _ns("n", a="x"),
        _pod("n", "host", {"a": "x"}, ["10.0.0.240"], HTTP_8080, host_network=True),
        _pod("n", "host2", None, ["172.16.0.1"], host_network=True),
        _pod("n", "app", {"a": "x"}, ["10.0.0.20"]),
        _pod("n", "db", None, ["10.0.0.30"]),
        _np("n", "deny", policyTypes=["Ingress", "Egress"]),
        _np(
            "n",
            "sel",
            ingress=[{"from": [{"namespaceSelector": {}}, {"podSelector": {}}]}],
            egress=[{"to": [{"namespaceSelector": {"matchLabels": {"a": "x"}}, "podSelector": {}}]}],
        ),
        _np(
            "n",
            "block",
            policyTypes=["Ingress", "Egress"],
            ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.224/27"}}], "ports": [{"port": 80}]}],
            egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.224/27"}}], "ports": [{"port": "http"}]}],
        ),
    ],
    # namespaces: one undefined, one with an explicit name label, same pod names; policyTypes: [] + egress: []
    "namespaces": [
        _ns("alpha", **{"a": "x", "kubernetes.io/metadata.name": "alpha"}),
        _ns("beta"),
        _pod("alpha", "p0", {"a": "x"}, ["10.0.0.3"]),
        _pod("beta", "p0", {"a": "x"}, ["10.0.0.5"]),
        _pod("gamma", "p0", {"a": "x"}, ["10.0.0.9"]),
        _np(
            "alpha",
            "from-named",
            ingress=[
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/metadata.name",
                                        "operator": "In",
                                        "values": ["gamma"],
                                    }
                                ]
                            }
                        }
                    ]
                }
            ],
        ),
        _np(
            "beta",
            "from-unlabelled",
            ingress=[
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": []}]
                            },
                            "podSelector": {
                                "matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["x"]}]
                            },
                        }
                    ]
                }
            ],
        ),
        _np("gamma", "egress-empty", policyTypes=[], egress=[]),
    ],
}


def test_engine_agrees_with_reference_on_named_port_egress_via_ipblock() -> None:
    compare_with_engine(EDGE_CLUSTERS["named-port-egress-via-ipblock"])


def test_engine_agrees_with_reference_on_named_port_egress_to_any_peer() -> None:
    compare_with_engine(EDGE_CLUSTERS["named-port-egress-any-peer"])


def test_engine_agrees_with_reference_on_dual_stack_and_podip_only_pods() -> None:
    compare_with_engine(EDGE_CLUSTERS["dual-stack-and-podip-only"])


def test_engine_agrees_with_reference_on_host_network_pods() -> None:
    compare_with_engine(EDGE_CLUSTERS["host-network"])


def test_engine_agrees_with_reference_on_namespace_defaulting() -> None:
    compare_with_engine(EDGE_CLUSTERS["namespaces"])
