"""Validation of the cluster-scoped tiers' kinds, as their CRD schemas reject objects: each invalid object is
one NP026 failure naming the exact field and reason, is left out of the analysis, and `isolation` prints one
line per problem and exits 2. Defaulting (TCP, Accept -> Allow, named ports) is checked on the model."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from scanner.api import load

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
---
"""


def anp(spec: str, name: str = "x", kind: str = "AdminNetworkPolicy", version: str = "v1alpha1") -> str:
    return f"""apiVersion: policy.networking.k8s.io/{version}
kind: {kind}
metadata: {{name: {name}}}
spec:
{spec}"""


SUBJECT = "  subject: {namespaces: {}}\n"

INVALID = [
    pytest.param(anp("  subject: {namespaces: {}}\n"), "spec.priority", "None: required, an integer 0-1000",
                 id="priority-missing"),
    pytest.param(anp("  priority: 1001\n" + SUBJECT), "spec.priority", "1001: required, an integer 0-1000",
                 id="priority-over-1000"),
    pytest.param(anp("  priority: 1\n"), "spec.subject", "is required", id="subject-missing"),
    pytest.param(anp("  priority: 1\n  subject: {namespaces: {}, pods: {podSelector: {}}}\n"), "spec.subject",
                 "exactly one of namespaces, pods must be set (found namespaces, pods)", id="subject-two-fields"),
    pytest.param(anp("  priority: 1\n  subject: {pods: {namespaceSelector: {}}}\n"), "spec.subject.pods.podSelector",
                 "is required", id="subject-pods-without-podselector"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  ingress: [{action: Accept, from: [{namespaces: {}}]}]\n"),
                 "spec.ingress[0].action", "unsupported value 'Accept' (Allow, Deny, Pass)", id="anp-accept"),
    pytest.param(anp(SUBJECT + "  ingress: [{action: Pass, from: [{namespaces: {}}]}]\n", "default",
                     "BaselineAdminNetworkPolicy"),
                 "spec.ingress[0].action", "unsupported value 'Pass' (Allow, Deny)", id="banp-pass"),
    pytest.param(anp(SUBJECT, "other", "BaselineAdminNetworkPolicy"), "metadata.name",
                 "'other': a BaselineAdminNetworkPolicy must be named 'default' (it is a cluster singleton)",
                 id="banp-not-default"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  ingress: [{action: Deny, from: []}]\n"),
                 "spec.ingress[0].from", "is required: a non-empty list of peers", id="empty-from"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]\n"),
                 "spec.ingress[0].from[0]", "exactly one of namespaces, pods must be set", id="ingress-networks"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  egress: [{action: Deny, to: [{networks: [10.0.0.0/33]}]}]\n"),
                 "spec.egress[0].to[0].networks[0]", "'10.0.0.0/33' is not a valid CIDR", id="bad-cidr"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  egress: [{action: Deny, to: [{}]}]\n"),
                 "spec.egress[0].to[0]", "exactly one of namespaces, pods, nodes, networks, domainNames must be set",
                 id="empty-peer"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  ingress: [{action: Deny, from: [{namespaces: {}}], ports: "
                     "[{portRange: {start: 90, end: 80}}]}]\n"),
                 "spec.ingress[0].ports[0].portRange.end", "80 must be greater than start (90)", id="range-backwards"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  ingress: [{action: Deny, from: [{namespaces: {}}], ports: "
                     "[{portNumber: {protocol: ICMP, port: 1}}]}]\n"),
                 "spec.ingress[0].ports[0].portNumber.protocol", "unsupported protocol 'ICMP' (TCP, UDP or SCTP)",
                 id="protocol"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}], "
                     "ports: [{namedPort: http}]}]\n"),
                 "spec.egress[0].ports", "a named port cannot be used with networks, nodes or domainNames peers",
                 id="named-port-to-networks"),
    pytest.param(anp("  tier: Middle\n  priority: 1\n" + SUBJECT, "c", "ClusterNetworkPolicy", "v1alpha2"),
                 "spec.tier", "'Middle': required, Admin or Baseline", id="cnp-tier"),
    pytest.param(anp("  tier: Admin\n  priority: 1\n" + SUBJECT + "  egress: [{action: Deny, to: [{domainNames: "
                     "[example.com]}]}]\n", "c", "ClusterNetworkPolicy", "v1alpha2"),
                 "spec.egress[0].to[0].domainNames", "domainNames is only supported in Accept (Allow) rules",
                 id="cnp-domain-deny"),
    pytest.param(anp("  tier: Admin\n  priority: 1\n" + SUBJECT + "  ingress: [{action: Accept, from: [{namespaces: "
                     "{}}], protocols: [{tcp: {}}]}]\n", "c", "ClusterNetworkPolicy", "v1alpha2"),
                 "spec.ingress[0].protocols[0].tcp", "must set destinationPort", id="cnp-tcp-without-port"),
    pytest.param(anp("  priority: 1\n" + SUBJECT + "  ingress: [{action: Deny, from: [{namespaces: {matchLabels: "
                     "{a: -bad}}}]}]\n"),
                 "spec.ingress[0].from[0].namespaces.matchLabels", "", id="bad-label-value"),
]


@pytest.mark.parametrize(("manifest", "field", "reason"), INVALID)
def test_invalid_cluster_scoped_policy_is_np026_with_field_and_reason(tmp_path, manifest, field, reason):
    path = tmp_path / "p.yaml"
    path.write_text(POD + manifest)
    code, out, err = run_cli("scan", str(path), "--format", "json")
    assert "Traceback" not in err
    findings = [f for f in json.loads(out)["findings"] if f["rule"] == "NP026" and f["status"] == "FAIL"]
    assert len(findings) == 1, findings
    problems = findings[0]["evidence"]["problems"]
    assert any(p["field"].startswith(field) and reason in p["reason"] for p in problems), problems
    code, out, err = run_cli("isolation", str(path))
    assert code == 2
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert lines and all("invalid: left out of the analysis" in ln for ln in lines), err
    assert any(field in ln for ln in lines), err


def test_defaulting_of_cluster_scoped_policies(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POD + anp("  tier: Baseline\n  priority: 3\n" + SUBJECT + """\
  egress:
  - action: Accept
    to: [{pods: {namespaceSelector: {}, podSelector: {}}}]
    protocols: [{destinationNamedPort: http}, {udp: {destinationPort: {range: {start: 5000, end: 5010}}}}]
""", "c", "ClusterNetworkPolicy", "v1alpha2") + "\n---\n" + anp("  priority: 7\n" + SUBJECT + """\
  ingress:
  - {action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 80}}]}
"""))
    cluster = load([str(path)]).cluster
    assert [(a.ref, a.tier, a.priority) for a in cluster.admin_policies] == [
        ("AdminNetworkPolicy/x", "Admin", 7), ("ClusterNetworkPolicy/c", "Baseline", 3)]
    anp_rule = cluster.admin_policies[0].ingress[0]
    assert [(s.protocol, s.port, s.end_port) for s in anp_rule.ports or ()] == [("TCP", 80, None)]
    cnp_rule = cluster.admin_policies[1].egress[0]
    assert cnp_rule.action == "Allow"  # Accept
    assert [(s.protocol, s.port, s.end_port) for s in cnp_rule.ports or ()] == [
        ("TCP", "http", None), ("UDP", "http", None), ("SCTP", "http", None), ("UDP", 5000, 5010)]
    assert cluster.other_policies == ()


def test_the_tiers_example_reports_its_three_stories():
    """examples/tiers: the admin allow of monitoring overrides payments' deny (NP036), two priority-50
    policies conflict (NP037), and the baseline default deny counts as ingress isolation (NP004)."""
    code, out, err = run_cli("scan", "examples/tiers", "--format", "json")
    assert code == 1 and "Traceback" not in err
    findings = json.loads(out)["findings"]

    def status(rule):
        return sorted((f["subject"]["kind"] + "/" + (f["subject"]["namespace"] + "/" if f["subject"]["namespace"]
                       else "") + f["subject"]["name"], f["status"]) for f in findings if f["rule"] == rule)

    assert status("NP036") == [("AdminNetworkPolicy/legacy-shop-to-payments", "PASS"),
                               ("AdminNetworkPolicy/platform-guardrails", "FAIL"),
                               ("AdminNetworkPolicy/tenant-isolation", "PASS")]
    np036 = next(f for f in findings if f["rule"] == "NP036" and f["status"] == "FAIL")
    assert np036["evidence"]["opened"] == {
        "spec.egress[0] ('cluster-dns')": [{"direction": "egress", "peer": "kube-system/Deployment/coredns",
                                            "ports": {"UDP": ["53"]}, "subject": "payments/Deployment/api"}],
        "spec.ingress[0] ('scrape-metrics')": [{"direction": "ingress", "peer": "monitoring/Deployment/prometheus",
                                                "ports": {"TCP": ["9090"]}, "subject": "payments/Deployment/api"}]}
    assert status("NP037") == [("AdminNetworkPolicy/legacy-shop-to-payments", "FAIL"),
                               ("AdminNetworkPolicy/platform-guardrails", "PASS"),
                               ("ClusterNetworkPolicy/baseline-default-deny", "PASS")]
    assert status("NP004") == [("Deployment/kube-system/coredns", "PASS"), ("Deployment/monitoring/prometheus", "PASS"),
                               ("Deployment/payments/api", "PASS"), ("Deployment/shop/web", "PASS")]
    assert status("NP034") == [("Cluster/cluster", "PASS")]


def test_an_admin_network_policy_may_allow_domain_names(tmp_path):
    """v1alpha1 accepts the experimental domainNames peer in Allow rules: the policy stays in the analysis,
    its later Deny included (taken as every public address, like ClusterNetworkPolicy's)."""
    path = tmp_path / "p.yaml"
    path.write_text(POD + anp("  priority: 1\n" + SUBJECT + """\
  egress:
  - {action: Allow, to: [{domainNames: [api.example.com]}], ports: [{portNumber: {protocol: TCP, port: 443}}]}
  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}
"""))
    cluster = load([str(path)]).cluster
    assert cluster.invalid_admin_policies == ()
    assert [p.kind for r in cluster.admin_policies[0].egress for p in r.peers] == ["domainNames", "networks"]
    code, out, _ = run_cli("reach", str(path), "--from", "shop/web", "--to", "1.1.1.1", "--port", "443")
    assert code == 0 and out.startswith("ALLOWED")
    code, out, _ = run_cli("reach", str(path), "--from", "shop/web", "--to", "1.1.1.1", "--port", "80")
    assert code == 1 and out.startswith("DENIED")


def test_isolation_names_the_tier_default_deny():
    """`isolation` keeps `ingress_isolated` for NetworkPolicy and names the cluster-scoped rule that denies by
    default what no NetworkPolicy isolates (examples/tiers: the baseline ClusterNetworkPolicy's ingress deny)."""
    code, out, err = run_cli("isolation", "examples/tiers", "-o", "json")
    assert code == 0, err
    deny = {"policy": "ClusterNetworkPolicy/baseline-default-deny", "tier": "Baseline",
            "rule": "spec.ingress[1] ('default-deny')"}
    got = [(p["namespace"], p["name"], p["ingress_isolated"], p["ingress_isolated_by_tier"], p["egress_isolated"],
            p["egress_isolated_by_tier"]) for p in json.loads(out)["pods"]]
    assert got == [("kube-system", "coredns", False, deny, False, None),
                   ("monitoring", "prometheus", False, deny, False, None),
                   ("payments", "api", True, None, True, None),
                   ("shop", "web", False, deny, False, None)]
    code, out, err = run_cli("isolation", "examples/tiers")
    assert code == 0, err
    assert out.splitlines()[1].split() == ["kube-system", "coredns", "Deployment", "tier-isolated", "OPEN",
                                           "ClusterNetworkPolicy/baseline-default-deny"]
    assert "4 pods and workload templates: 1 isolated for ingress (3 more by a cluster-scoped default deny), " \
           "1 isolated for egress" in out


def test_isolation_by_an_egress_deny_needs_every_address(tmp_path):
    """An admin-tier egress deny of every pod isolates egress only when it denies every address outside the
    cluster too (otherwise the internet stays open, which a NetworkPolicy's isolation would close)."""
    for networks, isolated in (("", False), (", {networks: [0.0.0.0/0, '::/0']}", True)):
        path = tmp_path / "p.yaml"
        path.write_text(POD + anp("  priority: 1\n" + SUBJECT + f"""\
  egress:
  - {{name: deny-all, action: Deny, to: [{{namespaces: {{}}}}{networks}]}}
"""))
        code, out, err = run_cli("isolation", str(path), "-o", "json")
        assert code == 0, err
        (pod,) = json.loads(out)["pods"]
        assert pod["egress_isolated"] is False and pod["ingress_isolated_by_tier"] is None
        assert pod["egress_isolated_by_tier"] == ({"policy": "AdminNetworkPolicy/x", "tier": "Admin",
                                                   "rule": "spec.egress[0] ('deny-all')"} if isolated else None)


def _wide_cluster(tmp_path):
    """55 namespaces s00-s54 whose pods may not send anything (egress deny-all NetworkPolicies; half of them
    labelled `app: x`, which an unrelated egress peer matches, so the sources fall into two sets admitted by the
    same rules), one namespace `o` whose pod may send anywhere, and an AdminNetworkPolicy letting every
    namespace in on TCP 80 (no NetworkPolicy isolates any pod for ingress)."""
    import yaml

    objs: list[dict] = []
    for i, ns in enumerate([f"s{n:02d}" for n in range(55)] + ["o"]):
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": "p", "namespace": ns, "labels": {"app": "x" if i % 2 else "y"}},
                     "spec": {"containers": [{"name": "c", "image": "i"}]},
                     "status": {"podIP": f"10.0.{i // 200}.{i % 200 + 1}"}})
        if ns != "o":
            objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": "no-egress", "namespace": ns},
                         "spec": {"podSelector": {}, "policyTypes": ["Egress"]}})
    objs.append({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
                 "metadata": {"name": "web"}, "spec": {
                     "priority": 1, "subject": {"namespaces": {}},
                     "ingress": [{"action": "Allow", "from": [{"namespaces": {}}],
                                  "ports": [{"portNumber": {"protocol": "TCP", "port": 80}}]}]}})
    objs.append({"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
                 "metadata": {"name": "unrelated"}, "spec": {
                     "priority": 2, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "z"}}},
                     "egress": [{"action": "Allow", "to": [{"pods": {"namespaceSelector": {},
                                                                     "podSelector": {"matchLabels": {"app": "x"}}}}]}]}})
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    return path


def test_np018_summarises_wide_sources_through_the_tiers(tmp_path):
    """More than 50 source namespaces through the tiers are summarised under wide_sources: counted across every
    set of sources the same rules admit, and with what is allowed end to end worked out per destination
    namespace (o's sources may send nothing; every other namespace hears from o)."""
    code, out, err = run_cli("scan", str(_wide_cluster(tmp_path)), "--format", "json")
    assert code == 1, err
    np018 = {f["subject"]["name"]: f for f in json.loads(out)["findings"] if f["rule"] == "NP018"}
    everything = {"SCTP": "all", "TCP": "all", "UDP": "all"}
    key = "AdminNetworkPolicy/web spec.ingress[0], the Kubernetes default"
    for ns, end_to_end, examples in (("o", {}, ["s00", "s01", "s02", "s03", "s04"]),
                                     ("s00", everything, ["o", "s01", "s02", "s03", "s04"]),
                                     ("s07", everything, ["o", "s00", "s01", "s02", "s03"])):
        f = np018[ns]
        assert f["status"] == "FAIL"
        assert f["evidence"]["wide_sources"] == {key: {
            "peer": "sources alike through the cluster-scoped tiers", "namespaces": 55, "examples": examples,
            "ports": everything, "allowed_end_to_end": end_to_end, "destinations": [f"{ns}/p"]}}, ns
        assert f["message"].startswith(f"pods of {ns} accept connections from 55 namespaces through {key} ")


def test_np018_keeps_plugin_dependent_ipblock_matches_under_the_tiers(tmp_path):
    """An ipBlock that matches a pod IP is plugin-dependent; an AdminNetworkPolicy governing the destination
    (here allowing only monitoring on 9090) does not make that match firm."""
    path = tmp_path / "pd.yaml"
    path.write_text("""\
apiVersion: v1
kind: Namespace
metadata: {name: data}
---
apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, labels: {app: db}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: ui, namespace: web, labels: {app: ui}}
status: {podIP: 10.0.1.5}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: data}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.1.0/24}}]
    ports: [{port: 5432}]
""")
    tier = tmp_path / "anp.yaml"
    tier.write_text(anp("  priority: 5\n  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: data}}}\n"
                        "  ingress:\n  - {action: Allow, from: [{namespaces: {matchLabels: "
                        "{kubernetes.io/metadata.name: monitoring}}}], ports: [{portNumber: {protocol: TCP, "
                        "port: 9090}}]}\n"))
    for inputs in ([path], [path, tier]):
        code, out, err = run_cli("scan", *map(str, inputs), "--format", "json")
        assert code == 1 and "Traceback" not in err, err
        (f,) = [f for f in json.loads(out)["findings"] if f["rule"] == "NP018" and f["subject"]["name"] == "data"]
        assert f["message"] == ("pods of data accept connections from 1 other namespace(s): web (TCP 5432 to "
                                "data/db, plugin-dependent ipBlock match)"), inputs
        assert f["evidence"]["sources"]["web"]["plugin_dependent_ports"] == {"TCP": ["5432"]}
