"""Publishing results into the cluster as PolicyReports (`wgpolicyk8s.io/v1alpha2`), for Kyverno's Policy
Reporter and other consumers. Off by default: it is the only thing netpol-audit ever writes to a cluster, and
it needs create/patch on policyreports (and clusterpolicyreports), which the default RBAC does not grant.

Each report is server-side applied (field manager `netpol-audit`, forced), so a run replaces the previous
run's report of the same name. Failures are collected and reported, never silent.
"""

from __future__ import annotations

import json
from typing import Any

from scanner.render.policyreport import reports

GROUP_VERSION = "wgpolicyk8s.io/v1alpha2"


def publish(result: dict[str, Any], kubeconfig: str | None, context: str | None, in_cluster: bool,
            namespaces: list[str], timeout: float = 30.0) -> list[str]:
    """Apply the PolicyReports of `result`; returns the problems (empty when every report was applied).
    With `namespaces` (a tenant), only those namespaces' reports and no ClusterPolicyReport."""
    from kubernetes.client import ApiClient

    from scanner.collect.live import _configuration

    cfg, _ = _configuration(kubeconfig, context, in_cluster)
    problems: list[str] = []
    with ApiClient(cfg) as api:
        for doc in reports(result):
            kind = doc["kind"]
            ns = doc["metadata"].get("namespace")
            if namespaces and (kind == "ClusterPolicyReport" or ns not in namespaces):
                continue
            name = doc["metadata"]["name"]
            plural = "clusterpolicyreports" if kind == "ClusterPolicyReport" else "policyreports"
            path = f"/apis/{GROUP_VERSION}/" + (f"namespaces/{ns}/" if ns else "") + f"{plural}/{name}"
            try:
                resp = api.call_api("PATCH", cfg.host + path + "?fieldManager=netpol-audit&force=true",
                                    header_params={"Content-Type": "application/apply-patch+yaml",
                                                   "Accept": "application/json",
                                                   **_auth(api)},
                                    body=json.dumps(doc), _request_timeout=timeout)
                status = resp.status
                body = resp.read() if status >= 300 else b""
            except Exception as e:  # connection problems: one line each
                problems.append(f"{kind} {ns + '/' if ns else ''}{name}: {type(e).__name__}: {e}")
                continue
            if status >= 300:
                reason = body.decode("utf-8", "replace")[:300]
                hint = " (are the PolicyReport CRDs installed?)" if status == 404 else ""
                problems.append(f"{kind} {ns + '/' if ns else ''}{name}: HTTP {status}{hint}: {reason}")
    return problems


def _auth(api: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    token = api.configuration.api_key.get("authorization") or api.configuration.api_key.get("BearerToken")
    prefix = api.configuration.api_key_prefix.get("authorization", "")
    if token:
        headers["Authorization"] = f"{prefix} {token}".strip() if not str(token).startswith("Bearer") else token
    return headers

