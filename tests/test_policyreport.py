"""The PolicyReport renderer (wgpolicyk8s.io/v1alpha2) on a real scan of the example cluster, and on small
hand-made results for the mappings the example does not reach."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import EXAMPLE, ROOT, run_json

from scanner.render import policyreport

RUN_TIME = "2025-01-01T00:00:00Z"
RUN_SECONDS = 1735689600

# The wgpolicyk8s.io/v1alpha2 PolicyReport and ClusterPolicyReport CRD schema (kubernetes-sigs/wg-policy-prototypes,
# as Kyverno ships it: severity includes critical and info), in JSON Schema, closed where the CRD prunes.
_REF = {"type": "object", "additionalProperties": False,
        "properties": {k: {"type": "string"} for k in ("apiVersion", "kind", "name", "namespace", "uid",
                                                        "resourceVersion", "fieldPath")}}
POLICY_REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "wgpolicyk8s.io/v1alpha2"},
        "kind": {"enum": ["PolicyReport", "ClusterPolicyReport"]},
        "metadata": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "namespace": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "scope": _REF,
        "summary": {"type": "object", "additionalProperties": False,
                    "properties": {k: {"type": "integer", "minimum": 0}
                                   for k in ("pass", "fail", "warn", "error", "skip")}},
        "results": {"type": "array", "items": {
            "type": "object",
            "required": ["policy"],
            "additionalProperties": False,
            "properties": {
                "source": {"type": "string"},
                "policy": {"type": "string"},
                "rule": {"type": "string"},
                "category": {"type": "string"},
                "severity": {"enum": ["critical", "high", "low", "medium", "info"]},
                "timestamp": {"type": "object", "required": ["nanos", "seconds"], "additionalProperties": False,
                              "properties": {"nanos": {"type": "integer", "minimum": 0, "maximum": 999999999},
                                             "seconds": {"type": "integer"}}},
                "result": {"enum": ["pass", "fail", "warn", "error", "skip"]},
                "scored": {"type": "boolean"},
                "resources": {"type": "array", "items": _REF},
                "resourceSelector": {"type": "object"},
                "message": {"type": "string"},
                "properties": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }},
    },
}


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    rc, doc, _ = run_json("scan", EXAMPLE, "--config", ROOT / "examples" / "netpol-audit.yaml", "--format", "json",
                          "--fail-on", "none", "--timestamp", RUN_TIME)
    assert rc == 0
    out: dict[str, Any] = doc
    return out


@pytest.fixture(scope="module")
def docs(result) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(policyreport.render(result)))


def results_by_finding(docs: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """finding id -> (report namespace, or "" for the ClusterPolicyReport; the result)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for d in docs:
        for r in d["results"]:
            fid = r["properties"]["findingId"]
            assert fid not in out, f"finding {fid} reported twice"
            out[fid] = (d["metadata"].get("namespace", ""), r)
    return out


def finding(result: dict[str, Any], rule: str, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
    [f] = [f for f in result["findings"] if f["rule"] == rule
           and f["subject"] == {"kind": kind, "namespace": namespace, "name": name}]
    return f


# ----- the example cluster


def test_one_cluster_report_then_one_report_per_namespace(docs, result):
    assert [(d["kind"], d["metadata"].get("namespace")) for d in docs] == [
        ("ClusterPolicyReport", None), ("PolicyReport", "batch"), ("PolicyReport", "default"),
        ("PolicyReport", "ingress-nginx"), ("PolicyReport", "kube-system"), ("PolicyReport", "monitoring"),
        ("PolicyReport", "payments"), ("PolicyReport", "shop"), ("PolicyReport", "shop-db")]
    assert sorted({f["subject"]["namespace"] for f in result["findings"] if f["subject"]["namespace"]}) == [
        d["metadata"]["namespace"] for d in docs[1:]]
    for d in docs:
        assert d["apiVersion"] == "wgpolicyk8s.io/v1alpha2"
        assert d["metadata"]["name"] == "netpol-audit"
        assert d["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "netpol-audit"}


def test_every_finding_is_one_result_in_the_report_of_its_subject(docs, result):
    placed = results_by_finding(docs)
    assert sorted(placed) == sorted(f["id"] for f in result["findings"])
    for f in result["findings"]:
        namespace, _ = placed[f["id"]]
        assert namespace == (f["subject"]["namespace"] or "")


def test_results_carry_the_rule_status_severity_and_controls(docs, result):
    placed = results_by_finding(docs)
    categories = {m["id"]: m["category"] for m in result["rules"]}
    statuses = {"FAIL": "fail", "PASS": "pass", "WAIVED": "skip", "ERROR": "error", "NOT_APPLICABLE": "skip"}
    for f in result["findings"]:
        _, r = placed[f["id"]]
        assert r["policy"] == f["slug"] and r["rule"] == f["rule"]
        assert r["category"] == categories[f["rule"]]
        assert r["severity"] == f["severity"]
        assert r["result"] == statuses[f["status"]]
        assert r["source"] == "netpol-audit" and r["scored"] is True
        assert r["timestamp"] == {"seconds": RUN_SECONDS, "nanos": 0}
        long = len(f["message"]) > policyreport.MESSAGE_LIMIT
        assert r["message"] == (f["message"][: policyreport.MESSAGE_LIMIT - 3] + "..." if long else f["message"])
        props = r["properties"]
        assert props["findingId"] == f["id"] and props["status"] == f["status"] and props["title"] == f["title"]
        expected = "; ".join(f"{fw}: {', '.join(reqs)}" for fw, reqs in sorted(f["controls"].items()) if reqs)
        assert props.get("controls", "") == expected


def test_a_failing_workload_finding_references_its_deployment(docs, result):
    f = finding(result, "NP019", "Deployment", "payments", "payments-api")
    namespace, r = results_by_finding(docs)[f["id"]]
    assert namespace == "payments"
    assert r["resources"] == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments-api",
                               "namespace": "payments"}]
    assert (r["policy"], r["rule"], r["category"], r["severity"], r["result"]) == (
        "scope-boundary-crossed", "NP019", "permissive", "critical", "fail")
    assert "pci-dss-4.0.1: 1.3.1, 1.3.2, 1.4.4, 11.4.5" in r["properties"]["controls"]
    assert r["properties"]["subject"] == "Deployment/payments/payments-api"
    assert r["properties"]["location"] == f"{EXAMPLE / 'payments' / 'workloads.yaml'}:4"


def test_a_waived_namespace_finding_is_skipped_in_the_cluster_report_with_its_waiver(docs, result):
    f = finding(result, "NP018", "Namespace", None, "shop")
    assert f["status"] == "WAIVED"
    namespace, r = results_by_finding(docs)[f["id"]]
    assert namespace == ""
    assert r["result"] == "skip"
    assert r["resources"] == [{"apiVersion": "v1", "kind": "Namespace", "name": "shop"}]
    props = r["properties"]
    assert (props["status"], props["waiverReason"], props["waiverOwner"], props["waiverExpires"]) == (
        "WAIVED", "Prometheus in monitoring scrapes the shop services' metrics port by design.", "platform-team",
        "2027-06-30")


def test_cluster_findings_are_about_the_report_scope(docs, result):
    placed = results_by_finding(docs)
    cluster = [f for f in result["findings"] if f["subject"]["kind"] == "Cluster"]
    # NP036-NP039 are not applicable on the example (no cluster-scoped tiers, no requirements or flows file)
    assert sorted(f["rule"] for f in cluster) == ["NP030", "NP031", "NP034", "NP035", "NP036", "NP037", "NP038",
                                                  "NP039"]
    for f in cluster:
        namespace, r = placed[f["id"]]
        assert namespace == "" and "resources" not in r
        assert r["properties"]["subject"] == "Cluster/cluster"
    not_applicable = finding(result, "NP035", "Cluster", None, "cluster")
    assert not_applicable["status"] == "NOT_APPLICABLE"
    assert placed[not_applicable["id"]][1]["result"] == "skip"


def test_summaries_count_the_results(docs):
    for d in docs:
        counts = {k: sum(r["result"] == k for r in d["results"]) for k in ("pass", "fail", "warn", "error", "skip")}
        assert d["summary"] == counts
    assert docs[0]["summary"] == {"pass": 27, "fail": 17, "warn": 0, "error": 0, "skip": 6}


def test_reports_validate_against_the_policy_report_schema(docs):
    validator = jsonschema.Draft202012Validator(POLICY_REPORT_SCHEMA)
    for d in docs:
        errors = sorted(validator.iter_errors(d), key=lambda e: list(e.path))
        assert not errors, f"{d['kind']} {d['metadata'].get('namespace')}: {errors[0].message} at {list(errors[0].path)}"


def test_results_are_ordered_by_rule_and_subject_not_by_status(docs):
    for d in docs:
        keys = [(r["rule"], r["properties"]["subject"], r["properties"]["findingId"]) for r in d["results"]]
        assert keys == sorted(keys)


def test_output_is_deterministic(result):
    text = policyreport.render(result)
    assert policyreport.render(result) == text
    assert policyreport.render(json.loads(json.dumps(result))) == text
    shuffled = copy.deepcopy(result)
    random.Random(7).shuffle(shuffled["findings"])
    assert policyreport.render(shuffled) == text
    assert text.startswith("---\napiVersion: wgpolicyk8s.io/v1alpha2\nkind: ClusterPolicyReport\n")


# ----- mappings the example does not reach


def small_result(*findings: dict[str, Any]) -> dict[str, Any]:
    return {"run": {"started_at": "2026-03-04T05:06:07Z"},
            "rules": [{"id": "NP001", "category": "coverage"}, {"id": "NP034", "category": "platform"}],
            "findings": list(findings)}


def small_finding(fid: str, status: str = "FAIL", *, rule: str = "NP001", severity: str = "medium",
                  kind: str = "Namespace", namespace: str | None = None, name: str = "team-a",
                  message: str = "m", evidence: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": fid, "rule": rule, "slug": "some-rule", "title": "Some rule", "severity": severity,
            "severity_overridden": False, "status": status,
            "subject": {"kind": kind, "namespace": namespace, "name": name}, "system": False, "message": message,
            "evidence": evidence or {}, "waiver": None, "location": None, "controls": {}}


@pytest.mark.parametrize(("status", "expected"), [
    ("FAIL", "fail"), ("PASS", "pass"), ("WAIVED", "skip"), ("ERROR", "error"), ("NOT_APPLICABLE", "skip"),
])
def test_status_maps_to_the_policy_report_result(status, expected):
    [cluster] = policyreport.reports(small_result(small_finding("a", status)))
    [r] = cluster["results"]
    assert r["result"] == expected and r["properties"]["status"] == status
    assert cluster["summary"] == {k: int(k == expected) for k in ("pass", "fail", "warn", "error", "skip")}


@pytest.mark.parametrize("severity", ["critical", "high", "medium", "low", "info"])
def test_severity_is_the_policy_report_enum(severity):
    [cluster] = policyreport.reports(small_result(small_finding("a", severity=severity)))
    assert cluster["results"][0]["severity"] == severity


@pytest.mark.parametrize(("kind", "evidence", "expected"), [
    ("NetworkPolicy.crd.projectcalico.org", {"api_version": "crd.projectcalico.org/v1", "kind": "NetworkPolicy"},
     {"apiVersion": "crd.projectcalico.org/v1", "kind": "NetworkPolicy", "name": "allow", "namespace": "team-a"}),
    ("CiliumNetworkPolicy", {"api_version": "cilium.io/v2", "kind": "CiliumNetworkPolicy"},
     {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "name": "allow", "namespace": "team-a"}),
    ("NetworkPolicy.crd.projectcalico.org", {},
     {"kind": "NetworkPolicy", "name": "allow", "namespace": "team-a"}),
    ("StatefulSet", {}, {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "allow", "namespace": "team-a"}),
    ("CronJob", {}, {"apiVersion": "batch/v1", "kind": "CronJob", "name": "allow", "namespace": "team-a"}),
    ("Widget", {}, {"kind": "Widget", "name": "allow", "namespace": "team-a"}),
])
def test_subjects_become_object_references(kind, evidence, expected):
    f = small_finding("a", rule="NP034", kind=kind, namespace="team-a", name="allow", evidence=evidence)
    cluster, team_a = policyreport.reports(small_result(f))
    assert cluster["results"] == []
    assert team_a["metadata"] == {"name": "netpol-audit", "namespace": "team-a",
                                  "labels": {"app.kubernetes.io/managed-by": "netpol-audit"}}
    [r] = team_a["results"]
    assert r["resources"] == [expected]
    assert r["category"] == "platform"
    assert r["timestamp"] == {"seconds": 1772600767, "nanos": 0}


def test_long_messages_are_cut_and_hostile_text_stays_data():
    hostile = "---\nkind: Secret\n: {x: [y]} # not a comment \u2603 \"'" + "x" * 2000
    text = policyreport.render(small_result(small_finding("a", message=hostile, name="a: b")))
    [cluster] = list(yaml.safe_load_all(text))
    [r] = cluster["results"]
    assert r["message"] == hostile[: policyreport.MESSAGE_LIMIT - 3] + "..."
    assert len(r["message"]) == policyreport.MESSAGE_LIMIT
    assert r["resources"] == [{"apiVersion": "v1", "kind": "Namespace", "name": "a: b"}]


def test_a_result_without_findings_still_has_its_cluster_report():
    assert list(yaml.safe_load_all(policyreport.render(small_result()))) == [{
        "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "ClusterPolicyReport",
        "metadata": {"name": "netpol-audit", "labels": {"app.kubernetes.io/managed-by": "netpol-audit"}},
        "results": [], "summary": {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}}]


def _namespaces(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "defined": not n.startswith("undefined"), "labels": {}, "system": False, "pods": 0,
             "ingress_isolated": 0, "egress_isolated": 0, "host_network": 0, "policies": 0} for n in names]


@pytest.mark.parametrize(("included", "excluded", "expected"), [
    ([], [], ["quiet", "team-a", "team-b"]),
    (["team-a"], [], ["team-a"]),
    ([], ["team-*"], ["quiet"]),
    (["quiet", "team-b"], ["q*"], ["team-b"]),
])
def test_quiet_namespaces_in_scope_get_an_empty_report_that_replaces_an_old_one(included, excluded, expected):
    r = small_result()
    r["run"]["namespaces"] = {"included": included, "excluded": excluded}
    r["inventory"] = {"namespaces": _namespaces("team-b", "undefined-ns", "quiet", "team-a")}
    docs = policyreport.reports(r)
    assert [d["metadata"].get("namespace") for d in docs[1:]] == expected
    for d in docs[1:]:
        assert d["results"] == [] and d["summary"] == {k: 0 for k in ("pass", "fail", "warn", "error", "skip")}


def test_a_namespace_with_results_and_one_without_both_get_reports():
    r = small_result(small_finding("a", kind="Pod", namespace="team-a", name="web"))
    r["inventory"] = {"namespaces": _namespaces("team-b", "team-a")}
    _, team_a, team_b = policyreport.reports(r)
    assert [r["properties"]["findingId"] for r in team_a["results"]] == ["a"]
    assert team_b["metadata"]["namespace"] == "team-b" and team_b["results"] == []
