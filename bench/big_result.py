"""A synthetic scan result shaped like a 100k-pod cluster (2,000 namespaces, 10,000 policies, 20,000
findings), built from a real result: for report rendering benchmarks and the report's scale test."""

from __future__ import annotations

import copy
from typing import Any


def big_result(demo: dict[str, Any], namespaces: int = 2000, findings: int = 20_000,
               policies: int = 10_000) -> dict[str, Any]:
    """A result shaped like a 100k-pod cluster scan: every rule of a 35-rule catalog failing somewhere."""
    r = copy.deepcopy(demo)
    base_rules = {x["id"]: x for x in r["rules"]}
    template = next(iter(base_rules.values()))
    rules = []
    for n in range(1, 36):
        rid = f"NP{n:03d}"
        rules.append(base_rules.get(rid) or {**template, "id": rid, "slug": f"rule-{n}",
                                             "title": f"Synthetic rule {n} with a realistic title length",
                                             "severity": ["critical", "high", "medium", "low", "info"][n % 5]})
    r["rules"] = rules
    names = [f"team-{i:04d}-{'payments' if i % 7 == 0 else 'service'}" for i in range(namespaces)]
    r["inventory"]["namespaces"] = [
        {"name": n, "labels": {"team": n, "env": "prod", "kubernetes.io/metadata.name": n}, "defined": True,
         "system": False, "pods": 50, "ingress_isolated": (i * 7) % 51, "egress_isolated": (i * 3) % 51,
         "host_network": i % 3, "policies": 5} for i, n in enumerate(names)]
    r["inventory"]["policies"] = [
        {"namespace": names[i % namespaces], "name": f"policy-{i}", "pod_selector": f"app=svc-{i}",
         "policy_types": ["Egress", "Ingress"], "policy_types_explicit": True,
         "ingress": [{"field": f"spec.ingress[{k}]", "peers": [f"namespaceSelector team=t{k} AND podSelector "
                                                                f"app=client-{k}"], "ports": ["8080/TCP"]}
                     for k in range(3)],
         "egress": [{"field": "spec.egress[0]", "peers": None, "ports": ["53/UDP", "53/TCP"]}],
         "selected": 10, "location": {"file": f"manifests/{names[i % namespaces]}/policies.yaml", "document": 1,
                                      "line": 1}} for i in range(policies)]
    out = []
    for i in range(findings):
        rule = rules[i % 35]
        ns = names[(i * 13) % namespaces]
        kind = "NetworkPolicy" if i % 3 == 0 else "Deployment"
        name = f"policy-{i % policies}" if kind == "NetworkPolicy" else f"workload-{i}"
        status = "WAIVED" if i % 50 == 0 else "FAIL"
        out.append({"id": f"{i:016x}", "rule": rule["id"], "slug": rule["slug"], "title": rule["title"],
                    "severity": rule["severity"], "severity_overridden": False, "status": status,
                    "subject": {"kind": kind, "namespace": ns, "name": name},
                    "system": i % 40 == 0, "message": f"{kind} {ns}/{name} fails {rule['id']}: " + "detail " * 12,
                    "evidence": {"peers": [f"peer-{k}" for k in range(30)], "ports": {"TCP": ["80", "443"]},
                                 "field": "spec.ingress[1]"},
                    "waiver": {"rule": rule["id"], "subject": "*", "reason": "accepted", "owner": "sec",
                               "expires": "2099-01-01", "index": 0} if status == "WAIVED" else None,
                    "location": {"file": f"manifests/{ns}/app.yaml", "document": 1, "line": 10}, "controls": {}})
    r["findings"] = out
    r["summary"]["failed_by_severity"] = {s: sum(1 for f in out if f["status"] == "FAIL" and f["severity"] == s)
                                          for s in ("critical", "high", "medium", "low", "info")}
    r["summary"]["isolation"].update(pods=100_000, ingress_isolated=61_000, egress_isolated=40_000,
                                     namespaces=namespaces, policies=policies)
    r["matrix"]["entries"] = [{"from": names[i], "to": names[(i * 31 + k) % namespaces],
                               "ports": {"TCP": "all", "UDP": "all", "SCTP": "all"} if k % 2 else {"TCP": ["443"]}}
                              for i in range(namespaces) for k in range(1, 20)]
    return r
