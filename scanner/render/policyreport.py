"""PolicyReport output (`wgpolicyk8s.io/v1alpha2`), the report format Kyverno, Trivy Operator and Policy Reporter
read, as a YAML stream ready for `kubectl apply --server-side -f`.

Documents, in this order: one ClusterPolicyReport with the results about cluster-scoped subjects (Namespace,
Cluster and any subject reported without a namespace), then one PolicyReport per namespace, sorted by name, with
the results about the subjects in that namespace. Every report is named `netpol-audit` and labelled
`app.kubernetes.io/managed-by: netpol-audit`. A namespace of the input that is in the report's scope
(`run.namespaces`) but has no results gets an empty PolicyReport, so applying the stream replaces what an
earlier run reported there.

One result per finding: `policy` is the rule slug, `rule` its id, `category` and `severity` the rule's
(severities are the PolicyReport enum already), `result` from the status (FAIL fail, PASS pass, WAIVED skip,
ERROR error, NOT_APPLICABLE skip; the exact status stays in `properties.status`), `resources` the subject as an
ObjectReference (none for the Cluster subject: such a result is about the report's scope, the cluster),
`properties` the finding id, the mapped controls and the waiver (string values only, as the CRD requires),
`timestamp` the run's start. Results are sorted by rule, subject and finding id, not by status, so a finding
that changes status between two nightly runs stays in place and the reports diff cleanly.

Messages longer than MESSAGE_LIMIT characters are cut (the canonical JSON keeps them whole): Kubernetes stores
an object of at most about 1.5 MiB, so a namespace with a few thousand results is near that limit anyway.
Reads the canonical result only; publishing the reports to a cluster is not done here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from fnmatch import fnmatchcase
from typing import Any

import yaml

API_VERSION = "wgpolicyk8s.io/v1alpha2"
REPORT_NAME = "netpol-audit"
SOURCE = "netpol-audit"
LABELS = {"app.kubernetes.io/managed-by": "netpol-audit"}
MESSAGE_LIMIT = 1024

RESULTS = {"FAIL": "fail", "PASS": "pass", "WAIVED": "skip", "ERROR": "error", "NOT_APPLICABLE": "skip"}
SEVERITIES = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "info"}
SUMMARY_KEYS = ("pass", "fail", "warn", "error", "skip")

# apiVersion of the kinds rules report on; a kind named with its group (NetworkPolicy.crd.projectcalico.org)
# takes the version from the finding's evidence, or is referenced without one.
KIND_API_VERSIONS = {
    "Namespace": "v1",
    "Pod": "v1",
    "Service": "v1",
    "Node": "v1",
    "ReplicationController": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
}
CLUSTER_KIND = "Cluster"  # the subject of cluster-wide findings: no Kubernetes object


def _timestamp(when: str) -> dict[str, int]:
    """metav1.Timestamp of an RFC 3339 UTC time."""
    t = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return {"seconds": int(t.timestamp()), "nanos": t.microsecond * 1000}


def _object_reference(f: dict[str, Any]) -> dict[str, str] | None:
    s = f["subject"]
    if s["kind"] == CLUSTER_KIND and not s["namespace"]:
        return None
    kind, _, group = s["kind"].partition(".")
    evidence = f.get("evidence") or {}
    api_version: str | None = None
    if evidence.get("kind") == kind and isinstance(evidence.get("api_version"), str):
        api_version = evidence["api_version"]  # the object's own, as the rule saw it (plugin policy kinds)
    elif not group:
        api_version = KIND_API_VERSIONS.get(kind)
    ref = {"kind": kind, "name": s["name"]}
    if api_version:
        ref["apiVersion"] = api_version
    if s["namespace"]:
        ref["namespace"] = s["namespace"]
    return ref


def _subject_ref(s: dict[str, Any]) -> str:
    return f"{s['kind']}/{s['namespace']}/{s['name']}" if s["namespace"] else f"{s['kind']}/{s['name']}"


def _message(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _properties(f: dict[str, Any]) -> dict[str, str]:
    props = {"findingId": f["id"], "status": f["status"], "title": f["title"], "subject": _subject_ref(f["subject"])}
    controls = "; ".join(f"{fw}: {', '.join(reqs)}" for fw, reqs in sorted(f["controls"].items()) if reqs)
    if controls:
        props["controls"] = controls
    if f.get("severity_overridden"):
        props["severityOverridden"] = "true"
    if f.get("system"):
        props["systemNamespace"] = "true"
    loc = f.get("location")
    if loc and loc.get("file"):
        props["location"] = loc["file"] + (f":{loc['line']}" if loc.get("line") else "")
    waiver = f.get("waiver")
    if waiver:
        props["waiverReason"] = str(waiver["reason"])
        props["waiverOwner"] = str(waiver["owner"])
        props["waiverExpires"] = str(waiver["expires"])
    return props


def _result(f: dict[str, Any], categories: dict[str, str], timestamp: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": SOURCE,
        "policy": f["slug"],
        "rule": f["rule"],
        "severity": SEVERITIES[f["severity"]],
        "result": RESULTS[f["status"]],
        "scored": True,
        "message": _message(f["message"]),
        "properties": _properties(f),
        "timestamp": dict(timestamp),
    }
    if f["rule"] in categories:
        out["category"] = categories[f["rule"]]
    ref = _object_reference(f)
    if ref is not None:
        out["resources"] = [ref]
    return out


def _sort_key(f: dict[str, Any]) -> tuple[str, str, str, str, str]:
    s = f["subject"]
    return (f["rule"], s["namespace"] or "", s["kind"], s["name"], f["id"])


def _report(kind: str, namespace: str | None, results: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(r["result"] for r in results)
    metadata: dict[str, Any] = {"name": REPORT_NAME, "labels": dict(LABELS)}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "summary": {k: counts.get(k, 0) for k in SUMMARY_KEYS},
        "results": results,
    }


def _quiet_namespaces(result: dict[str, Any]) -> list[str]:
    """Namespaces defined in the input and in the report's scope (every one gets a PolicyReport)."""
    scope = result["run"].get("namespaces") or {}
    included = set(scope.get("included") or [])
    excluded = list(scope.get("excluded") or [])
    names = [n["name"] for n in (result.get("inventory") or {}).get("namespaces") or [] if n.get("defined")]
    return [n for n in names if (not included or n in included) and not any(fnmatchcase(n, g) for g in excluded)]


def reports(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The ClusterPolicyReport, then the PolicyReports by namespace, as dicts."""
    categories = {m["id"]: m["category"] for m in result.get("rules") or [] if m.get("category")}
    timestamp = _timestamp(result["run"]["started_at"])
    cluster: list[dict[str, Any]] = []
    by_namespace: dict[str, list[dict[str, Any]]] = {ns: [] for ns in _quiet_namespaces(result)}
    for f in sorted(result["findings"], key=_sort_key):
        ns = f["subject"]["namespace"]
        target = cluster if not ns else by_namespace.setdefault(ns, [])
        target.append(_result(f, categories, timestamp))
    docs = [_report("ClusterPolicyReport", None, cluster)]
    docs += [_report("PolicyReport", ns, by_namespace[ns]) for ns in sorted(by_namespace)]
    return docs


def render(result: dict[str, Any]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter when PyYAML was built with it
    text: str = yaml.dump_all(reports(result), Dumper=dumper, explicit_start=True, sort_keys=True,
                              allow_unicode=True, width=1 << 16, default_flow_style=False)
    return text
