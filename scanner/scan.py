"""The audit: run every rule on the context, apply configuration and waivers, judge the frameworks, and
assemble the one canonical result (a JSON-ready dict) that every renderer reads.

A rule that raises becomes an ERROR finding and the other rules still run. A rule that judges no subject
yields one NOT_APPLICABLE finding with the reason. Output is deterministic: findings are sorted and carry
stable ids, so two scheduled runs diff cleanly.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import logging
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scanner import __version__
from scanner.catalog import Catalog
from scanner.collect.snapshot import rfc3339
from scanner.config import Waiver
from scanner.context import Context
from scanner.engine.reach import namespace_matrix_parts
from scanner.errors import CatalogError
from scanner.findings import (
    CLUSTER,
    ERROR,
    FAIL,
    NOT_APPLICABLE,
    PASS,
    SEVERITIES,
    SEVERITY_RANK,
    STATUSES,
    WAIVED,
    Result,
)
from scanner.intervals import ALL_PORTS, describe_ports
from scanner.mapping import Framework, evaluate
from scanner.model import AdminPolicy, Rule, TierRule
from scanner.phases import phase
from scanner.progress import QUIET, Progress

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}


@dataclass(slots=True)
class ScanOptions:
    frameworks: list[str] = field(default_factory=list)  # empty: all
    namespaces: list[str] = field(default_factory=list)  # empty: all
    exclude_namespaces: list[str] = field(default_factory=list)
    fail_on: str = "high"
    today: dt.date | None = None
    started_at: dt.datetime | None = None
    input_description: dict[str, Any] = field(default_factory=dict)


def finding_id(rule: str, subject_ref: str, discriminator: str = "") -> str:
    return hashlib.sha256(f"{rule}|{subject_ref}|{discriminator}".encode()).hexdigest()[:16]


def _controls(frameworks: dict[str, Framework]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for fw in frameworks.values():
        for req in fw.requirements:
            for r in req.rules:
                out.setdefault(r, {}).setdefault(fw.id, []).append(req.id)
    return out


def _in_namespaces(ns: str | None, opts: ScanOptions) -> bool:
    if ns is None:
        return True
    if opts.namespaces and ns not in opts.namespaces:
        return False
    return not any(fnmatch.fnmatchcase(ns, pat) for pat in opts.exclude_namespaces)


def run_rules(ctx: Context, catalog: Catalog, progress: Progress = QUIET) -> dict[str, list[Result]]:
    """Every enabled rule's results; a crash becomes one ERROR result."""
    disabled = {catalog.resolve(r) for r in ctx.config.disabled_rules}
    out: dict[str, list[Result]] = {}
    for n, (rid, rule) in enumerate(catalog.rules.items(), 1):
        if rid in disabled or (rule.meta and rule.meta.deprecated):
            continue
        progress.update(f"rule {n}/{len(catalog.rules)} {rid}")
        try:
            results = list(rule(ctx))
        except Exception as e:  # a crashing rule must never turn into a silent pass
            log.debug("rule %s crashed:\n%s", rid, traceback.format_exc())
            results = [Result(ERROR, CLUSTER, f"the rule crashed ({type(e).__name__}: {e}); its checks were not "
                              "evaluated", {"exception": type(e).__name__})]
        if not results:
            results = [Result(NOT_APPLICABLE, CLUSTER, "no subject of this rule in the input")]
        out[rid] = results
    progress.done()
    return out


def _waiver_matches(w: Waiver, rule_id: str, catalog: Catalog, subject_ref: str) -> bool:
    try:
        wid = catalog.resolve(w.rule)
    except CatalogError:
        return False
    return wid == rule_id and fnmatch.fnmatchcase(subject_ref, w.subject)


def build_result(ctx: Context, catalog: Catalog, frameworks: dict[str, Framework], opts: ScanOptions,
                 progress: Progress = QUIET) -> dict[str, Any]:
    started = opts.started_at or dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    today = opts.today or started.date()
    for w in ctx.config.waivers:
        catalog.resolve(w.rule)  # an unknown rule in a waiver is a configuration error
    selected = {k: v for k, v in frameworks.items() if not opts.frameworks or k in opts.frameworks}
    controls = _controls(selected)
    with phase("rules"):
        results = run_rules(ctx, catalog, progress)
    with phase("findings"):
        result = _result(ctx, catalog, selected, controls, results, opts, started, today)
    with phase("namespace matrix"):
        result["matrix"] = matrix_json(ctx)
    return result


OPEN_BLOCK_MIN = 20_000  # namespace pairs: above this, the all-open block is kept apart in the result


def matrix_json(ctx: Context) -> dict[str, Any]:
    """The namespace matrix for the result. When namespaces with an egress-open pod times namespaces with an
    ingress-open pod make more than OPEN_BLOCK_MIN pairs (a 10,000-namespace cluster without default-deny
    would list 100 million), that block is written once as `open` ({from, to}: every pair of from x to with
    from != to allows every port) and its pairs are left out of `entries`."""
    open_from, open_to, entries = namespace_matrix_parts(ctx.index)
    block = len(open_from) * len(open_to)
    out: dict[str, Any] = {"level": "namespace"}
    if block > OPEN_BLOCK_MIN:
        out["open"] = {"from": open_from, "to": open_to}
    else:
        for a in open_from:
            for b in open_to:
                if a != b:
                    entries[(a, b)] = ALL_PORTS
        entries = dict(sorted(entries.items()))
    out["entries"] = [{"from": a, "to": b, "ports": describe_ports(ports)} for (a, b), ports in entries.items()]
    return out


def _result(ctx: Context, catalog: Catalog, selected: dict[str, Framework], controls: dict[str, Any],
            results: dict[str, list[Result]], opts: ScanOptions, started: dt.datetime,
            today: dt.date) -> dict[str, Any]:
    waiver_use: dict[int, int] = {i: 0 for i in range(len(ctx.config.waivers))}
    findings: list[dict[str, Any]] = []
    for rid, rs in results.items():
        meta = catalog.meta(rid)
        rule_controls = {k: sorted(set(v)) for k, v in sorted(controls.get(rid, {}).items())}  # shared, read-only
        override = ctx.config.severity_overrides.get(rid) or ctx.config.severity_overrides.get(meta.slug)
        seen_ids: dict[str, int] = {}
        for r in rs:
            if not _in_namespaces(r.subject.namespace or (r.subject.name if r.subject.kind == "Namespace"
                                                         else None), opts):
                continue
            severity = override or r.severity or meta.severity
            status = r.status
            waiver_json = None
            if status == FAIL:
                for i, w in enumerate(ctx.config.waivers):
                    if _waiver_matches(w, rid, catalog, r.subject.ref):
                        if w.expires < today:
                            continue  # expired: no longer applies (listed as expired in the register)
                        waiver_use[i] += 1
                        status = WAIVED
                        waiver_json = {**w.to_json(), "index": i}
                        break
            fid = finding_id(rid, r.subject.ref)
            if fid in seen_ids:  # several results for one subject: keep ids distinct and stable
                seen_ids[fid] += 1
                fid = finding_id(rid, r.subject.ref, str(seen_ids[fid]))
            else:
                seen_ids[fid] = 0
            findings.append({
                "id": fid, "rule": rid, "slug": meta.slug, "title": meta.title, "severity": severity,
                "severity_overridden": bool(override), "status": status, "subject": r.subject.to_json(),
                "system": bool(r.subject.namespace and ctx.is_system(r.subject.namespace)) or
                (r.subject.kind == "Namespace" and ctx.is_system(r.subject.name)),
                "message": r.message, "evidence": dict(r.evidence), "waiver": waiver_json,
                "location": _location(ctx, r.subject.ref),
                "controls": rule_controls,
            })
    findings.sort(key=lambda f: (_STATUS_RANK[f["status"]], SEVERITY_RANK[f["severity"]], f["rule"],
                                 f["subject"]["namespace"] or "", f["subject"]["kind"], f["subject"]["name"],
                                 f["id"]))
    # Per-rule outcome for the frameworks.
    outcomes: dict[str, dict[str, Any]] = {}
    for rid in results:
        outcomes[rid] = {"fail": [], "fail_info": [], "waived": [], "pass": 0, "error": False}
    for f in findings:
        o = outcomes[f["rule"]]
        if f["status"] == FAIL:
            (o["fail_info"] if f["severity"] == "info" else o["fail"]).append(f["id"])
        elif f["status"] == WAIVED:
            o["waived"].append(f["id"])
        elif f["status"] == PASS:
            o["pass"] += 1
        elif f["status"] == ERROR:
            o["error"] = True
    plugin_inert = any(f["rule"] == "NP030" and f["status"] == FAIL for f in findings)
    fw_results = [evaluate(fw, outcomes, ctx.complete, plugin_inert) for fw in selected.values()]
    waivers = []
    for i, w in enumerate(ctx.config.waivers):
        state = "expired" if w.expires < today else ("applied" if waiver_use[i] else "unused")
        waivers.append({**w.to_json(), "index": i, "line": w.line, "status": state, "matched": waiver_use[i]})
    fail_rank = -1 if opts.fail_on == "none" else SEVERITY_RANK[opts.fail_on]
    gating = [f for f in findings if f["status"] == FAIL and SEVERITY_RANK[f["severity"]] <= fail_rank]
    errors = [f for f in findings if f["status"] == ERROR]
    incomplete = bool(errors) or not ctx.complete
    by_status = Counter(f["status"] for f in findings)
    failed_by_severity = Counter(f["severity"] for f in findings if f["status"] == FAIL)
    eps = ctx.cluster.endpoints
    iso_in = sum(len(c.members) for c in ctx.index.classes if ctx.index.protected(c, "ingress"))
    iso_eg = sum(len(c.members) for c in ctx.index.classes if ctx.index.protected(c, "egress"))
    summary = {
        "result": "incomplete" if incomplete else ("fail" if gating else "pass"),
        "fail_on": opts.fail_on,
        "findings": {s: by_status[s] for s in STATUSES},
        "failed_by_severity": {s: failed_by_severity[s] for s in SEVERITIES},
        "gating_findings": len(gating),
        "rules": {"total": len(catalog.rules), "evaluated": len(results),
                  "errored": sorted({f["rule"] for f in errors})},
        "isolation": {"pods": len(eps), "ingress_isolated": iso_in, "egress_isolated": iso_eg,
                      "namespaces": len(ctx.cluster.namespaces), "policies": len(ctx.cluster.policies),
                      "invalid_policies": len(ctx.cluster.invalid_policies)},
    }
    finished = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) if opts.started_at is None else started
    not_evaluated = [{"kind": o.kind, "namespace": o.namespace, "name": o.name, "reason": "kind not modelled"}
                     for o in ctx.cluster.other_policies]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "netpol-audit", "version": __version__},
        "run": {
            "started_at": rfc3339(started), "finished_at": rfc3339(finished),
            "catalog_digest": catalog.digest(),
            "input": opts.input_description,
            "config": ctx.config.to_json(),
            "namespaces": {"included": sorted(opts.namespaces), "excluded": sorted(opts.exclude_namespaces)},
            "frameworks": sorted(selected),
        },
        "summary": summary,
        "findings": findings,
        "frameworks": fw_results,
        "waivers": waivers,
        "coverage": {
            "complete": ctx.complete,
            "collection_problems": list(ctx.collection_problems),
            "network_plugin": {"name": ctx.plugin.name, "enforces": ctx.plugin.enforces,
                               "evidence": list(ctx.plugin.evidence)},
            "rules_evaluated": sorted(results),
            "rules_disabled": sorted(set(catalog.rules) - set(results)),
            "not_evaluated_policies": not_evaluated,
            "skipped_kinds": dict(ctx.cluster.skipped_kinds),
            "excluded_namespaces": sorted(opts.exclude_namespaces),
            "statement": _coverage_statement(ctx),
        },
        "inventory": inventory(ctx),
        "matrix": {"level": "namespace", "entries": []},  # filled in by build_result
        "rules": [catalog.meta(r).to_json() for r in catalog.rules],
    }


def _rule_json(rule: Rule) -> dict[str, Any]:
    peers = None if rule.peers is None else [p.describe() for p in rule.peers]
    ports = None if rule.ports is None else [s.describe() for s in rule.ports]
    return {"field": rule.field, "peers": peers, "ports": ports}


def inventory(ctx: Context) -> dict[str, Any]:
    """Namespaces (with isolation counts) and policies (summarised), so reports need nothing but the result."""
    namespaces = []
    for name, ns in ctx.cluster.namespaces.items():
        members = ctx.endpoints_by_namespace.get(name, [])
        classes = [ctx.index.class_for(i) for i in members]
        namespaces.append({
            "name": name, "labels": dict(sorted(ns.labels.items())), "defined": ns.defined,
            "system": ctx.is_system(name), "pods": len(members),
            "ingress_isolated": sum(1 for c in classes if ctx.index.protected(c, "ingress")),
            "egress_isolated": sum(1 for c in classes if ctx.index.protected(c, "egress")),
            "host_network": sum(1 for c in classes if c.host_network),
            "policies": len(ctx.index.policies_by_ns.get(name, [])),
        })
    selected: dict[int, int] = {}
    for c in ctx.index.classes:
        for p in ctx.index.selecting(c):
            selected[id(p)] = selected.get(id(p), 0) + len(c.members)
    policies = []
    for p in ctx.cluster.policies:
        policies.append({
            "namespace": p.namespace, "name": p.name, "pod_selector": p.pod_selector.describe(),
            "policy_types": sorted(p.policy_types), "policy_types_explicit": p.policy_types_explicit,
            "ingress": [_rule_json(r) for r in p.ingress], "egress": [_rule_json(r) for r in p.egress],
            "selected": selected.get(id(p), 0),
            "location": _location(ctx, f"NetworkPolicy/{p.namespace}/{p.name}"),
        })
    invalid = [{"namespace": p.namespace, "name": p.name,
                "problems": [{"field": x.field, "reason": x.reason} for x in p.problems],
                "location": _location(ctx, f"NetworkPolicy/{p.namespace}/{p.name}")}
               for p in ctx.cluster.invalid_policies]
    invalid += [{"namespace": "", "name": p.ref,
                 "problems": [{"field": x.field, "reason": x.reason} for x in p.problems],
                 "location": _location(ctx, f"{p.kind}/{p.name}")}
                for p in ctx.cluster.invalid_admin_policies]
    out: dict[str, Any] = {"namespaces": namespaces, "policies": policies, "invalid_policies": invalid}
    if ctx.cluster.admin_policies:
        out["admin_policies"] = [{
            "kind": a.kind, "name": a.name, "tier": a.tier, "priority": a.priority,
            "subject": _subject_text(a), "ingress": [_tier_rule_json(r) for r in a.ingress],
            "egress": [_tier_rule_json(r) for r in a.egress], "location": _location(ctx, f"{a.kind}/{a.name}"),
        } for a in ctx.cluster.admin_policies]
    return out


def _subject_text(a: AdminPolicy) -> str:
    ns = f"namespaces {a.subject_namespaces.describe()}"
    return ns if a.subject_pods is None else f"pods {a.subject_pods.describe()} in {ns}"


def _tier_rule_json(rule: TierRule) -> dict[str, Any]:
    return {"field": rule.field, "name": rule.name, "action": rule.action,
            "peers": [p.describe() for p in rule.peers],
            "ports": None if rule.ports is None else [s.describe() for s in rule.ports]}


def _location(ctx: Context, ref: str) -> dict[str, Any] | None:
    src = ctx.locations.get(ref)
    if src is None:
        return None
    return {"file": src.file, "document": src.document, "line": src.line}


def _coverage_statement(ctx: Context) -> list[str]:
    out = ["Reachability verdicts follow networking.k8s.io/v1 NetworkPolicy semantics exactly; they assume the "
           "network plugin enforces NetworkPolicy (see NP030/NP031)."]
    if ctx.cluster.admin_policies:
        names = ", ".join(a.describe() for a in ctx.cluster.admin_policies[:10])
        more = len(ctx.cluster.admin_policies) - 10
        out.append("Cluster-scoped policies are evaluated in their tiers (admin tier before NetworkPolicy, baseline "
                   f"tier after it): {names}" + (f" and {more} more" if more > 0 else "") + ".")
    if ctx.plugin.name is None:
        out.append("The network plugin could not be identified from the input: enforcement (CIS 5.3.1) must be "
                   "checked manually.")
    if ctx.cluster.other_policies:
        kinds = sorted({o.kind for o in ctx.cluster.other_policies})
        out.append(f"Policy kinds not modelled by the engine are present ({', '.join(kinds)}): verdicts for the "
                   "pods they select may differ from what the cluster enforces.")
    if not ctx.complete:
        out.append("The collection was incomplete: no requirement can pass on this input.")
    if ctx.source_type == "manifests":
        out.append("Input is manifests: pods are represented by workload templates where no live pod was given, "
                   "and pod IPs are unknown unless the manifests carry status.")
    return out
