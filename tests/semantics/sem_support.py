"""Manifest snippets shared by the semantic test tables (import as semantics.sem_support)."""

from __future__ import annotations

from typing import Any


def pod_record(spec: tuple[Any, ...]) -> dict[str, Any]:
    endpoint, ingress_isolated, egress_isolated, ingress_policies, egress_policies, *rest = spec
    host_network = rest[0] if rest else False
    # (ingress, egress) tier isolation: the cluster-scoped rule that isolates a pod no NetworkPolicy isolates
    tier_ingress, tier_egress = rest[1] if len(rest) > 1 else (None, None)
    parts = endpoint.split("/")
    if len(parts) == 2:
        namespace, name = parts
        kind = "Pod"
    else:
        namespace, kind, name = parts
    return {
        "namespace": namespace,
        "name": name,
        "kind": kind,
        "host_network": host_network,
        "ingress_isolated": ingress_isolated,
        "egress_isolated": egress_isolated,
        "ingress_policies": sorted(ingress_policies),
        "egress_policies": sorted(egress_policies),
        "ingress_isolated_by_tier": tier_ingress,
        "egress_isolated_by_tier": tier_egress,
    }


def netpol(namespace: str, name: str, spec: str) -> str:
    """A NetworkPolicy document (with its leading `---`); `spec` is the YAML body under `spec:`."""
    body = "\n".join("  " + line if line.strip() else line for line in spec.strip("\n").splitlines())
    return (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )
