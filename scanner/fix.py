"""Remediation you can apply: default-deny policies for namespaces failing NP002/NP003.

For each non-system namespace that fails NP002 (ingress) or NP003 (egress), a catch-all deny for the missing
direction; with egress, an allow to cluster DNS (the kube-dns/CoreDNS pods, UDP and TCP on their real DNS
ports) so name resolution keeps working. Before anything is written, the input plus these manifests is
analysed again: what the fixes would change (connections removed, per namespace pair) and whether NP002/NP003
are fixed with no new NP007 is part of the result. System namespaces get no generated deny: cutting their
egress blindly breaks the control plane (CoreDNS needs its upstream resolvers), so they are listed instead.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from scanner.collect import RawObject, RawSnapshot
from scanner.collect.project import project
from scanner.context import Context
from scanner.engine import Index
from scanner.engine.reach import namespace_matrix
from scanner.errors import InputError
from scanner.findings import FAIL
from scanner.intervals import EMPTY, describe_ports, subtract
from scanner.model import NAMESPACE_NAME_LABEL, Source
from scanner.parse import parse

FIX_LABEL = "netpol-audit.io/generated"


def _dns_target(ctx: Context) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The DNS peer and ports: the DNS pods' labels and real container ports when the input has them."""
    labels = {"k8s-app": "kube-dns"}
    ports = {("UDP", 53), ("TCP", 53)}
    for cls in ctx.dns_classes:
        if cls.labels.get("k8s-app") != "kube-dns":
            svc = next((s for s in ctx.cluster.services if s.namespace == "kube-system" and s.name == "kube-dns"),
                       None)
            if svc and svc.selector:
                labels = dict(svc.selector)
        for p in cls.named_ports:
            if p.name in ("dns", "dns-tcp", "dns-udp"):
                ports.add((p.protocol, p.port))
    peer = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
            "podSelector": {"matchLabels": labels}}
    return peer, [{"protocol": proto, "port": port} for proto, port in sorted(ports)]


def plan(ctx: Context, result: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """(namespace -> policy manifests, namespaces skipped with the reason)."""
    missing: dict[str, set[str]] = {}
    for f in result["findings"]:
        if f["status"] == FAIL and f["rule"] in ("NP002", "NP003"):
            missing.setdefault(f["subject"]["name"], set()).add("ingress" if f["rule"] == "NP002" else "egress")
    dns_peer, dns_ports = _dns_target(ctx)
    out: dict[str, list[dict[str, Any]]] = {}
    skipped = []
    for ns in sorted(missing):
        if ctx.is_system(ns):
            skipped.append(f"{ns}: system namespace, no deny generated (review its egress by hand: CoreDNS and "
                           "controllers need the API server and upstream resolvers)")
            continue
        docs = []
        meta: dict[str, Any] = {"name": "", "namespace": ns, "labels": {FIX_LABEL: "true"},
                "annotations": {"netpol-audit.io/reason": ""}}
        if "ingress" in missing[ns]:
            m = copy.deepcopy(meta)
            m["name"] = "default-deny-ingress"
            m["annotations"]["netpol-audit.io/reason"] = "NP002: isolate every pod of the namespace for ingress"
            docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": m,
                         "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
        if "egress" in missing[ns]:
            m = copy.deepcopy(meta)
            m["name"] = "default-deny-egress-allow-dns"
            m["annotations"]["netpol-audit.io/reason"] = ("NP003: isolate every pod of the namespace for egress, "
                                                          "keeping cluster DNS (NP007)")
            docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": m,
                         "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                                  "egress": [{"to": [dns_peer], "ports": dns_ports}]}})
        out[ns] = docs
    return out, skipped


def with_fixes(raw: RawSnapshot, fixes: dict[str, list[dict[str, Any]]], directory: str) -> RawSnapshot:
    objects = list(raw.objects)
    for ns, docs in fixes.items():
        for i, d in enumerate(docs, 1):
            objects.append(RawObject(project(d), Source(str(Path(directory) / f"{ns}.yaml"), i, None)))
    return RawSnapshot(objects=objects, inputs=[*raw.inputs, directory], skipped_kinds=raw.skipped_kinds.copy(),
                       collection=raw.collection, source_type=raw.source_type)


def impact(before: Index, after: Index) -> list[dict[str, Any]]:
    """Connections the fixes remove, per (from namespace, to namespace), as port sets."""
    a, b = namespace_matrix(before), namespace_matrix(after)
    out = []
    for key, ports in a.items():
        removed = subtract(ports, b.get(key, EMPTY))
        if removed:
            out.append({"from": key[0], "to": key[1], "removed": describe_ports(removed),
                        "remaining": describe_ports(b.get(key, EMPTY))})
    return out


def write(directory: str, fixes: dict[str, list[dict[str, Any]]]) -> list[str]:
    d = Path(directory)
    written = []
    try:
        d.mkdir(parents=True, exist_ok=True)
        for ns, docs in fixes.items():
            path = d / f"{ns}.yaml"
            header = (f"# Generated by netpol-audit for namespace {ns}: review before applying.\n"
                      "# kubectl apply -f this file; remove with kubectl delete -l netpol-audit.io/generated=true\n")
            path.write_text(header + yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True))
            written.append(str(path))
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", file=directory) from None
    return written


def remediate(ctx: Context, raw: RawSnapshot, result: dict[str, Any], directory: str,
              rescan: Any) -> dict[str, Any]:
    """Plan, verify by re-analysis (`rescan(ctx) -> result`), write; the remediation section of the result."""
    fixes, skipped = plan(ctx, result)
    fixed_raw = with_fixes(raw, fixes, directory)
    cluster = parse(fixed_raw)
    after = Index(cluster)
    fixed_ctx = Context(cluster, after, ctx.config, ctx.source_type, ctx.complete, ctx.collection_problems,
                        ctx.plugin)
    after_result = rescan(fixed_ctx)

    def failing(res: dict[str, Any], rule: str) -> set[str]:
        return {f"{f['subject']['kind']}/{f['subject']['namespace'] or ''}/{f['subject']['name']}"
                for f in res["findings"] if f["rule"] == rule and f["status"] == FAIL}

    fixed_ns = set(fixes)
    still = sorted(s for r in ("NP002", "NP003") for s in failing(after_result, r)
                   if s.rsplit("/", 1)[-1] in fixed_ns)
    new_np007 = sorted(failing(after_result, "NP007") - failing(result, "NP007"))
    files = write(directory, fixes) if fixes else []
    return {"directory": directory, "files": files, "namespaces": sorted(fixes), "skipped": skipped,
            "impact": impact(ctx.index, after),
            "verified": {"np002_np003_fixed": not still, "still_failing": still, "new_np007": new_np007}}
