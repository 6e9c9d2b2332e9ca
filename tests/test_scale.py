"""The scale machinery keeps verdicts: classes keyed on the label keys selectors read, per-workload subjects,
the all-open block of the namespace matrix, and the phase records the benchmarks read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE, ROOT, run_json

from scanner import scan
from scanner.api import load
from scanner.config import load_config
from scanner.context import Context
from scanner.engine.reach import namespace_matrix, namespace_matrix_parts
from scanner.intervals import describe_ports

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  labels: {{app: api, pod-template-hash: {hash}, statefulset.kubernetes.io/pod-name: {name}, tier: {tier}}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: api-{hash}, controller: true}}]
spec: {{containers: [{{name: c, ports: [{{name: http, containerPort: 8080}}]}}]}}
status: {{phase: Running, podIP: {ip}, podIPs: [{{ip: {ip}}}]}}
"""
POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: http}]}]
"""


def _cluster(tmp_path: Path) -> Path:
    pods = [POD.format(name=f"api-5d8f-{i}", hash="5d8f", tier="backend" if i < 3 else "edge", ip=f"10.1.0.{i + 1}")
            for i in range(4)]
    path = tmp_path / "c.yaml"
    path.write_text("---".join([*pods, POLICY]))
    return path


def test_classes_ignore_labels_no_selector_reads(tmp_path):
    loaded = load([str(_cluster(tmp_path))])
    ix = loaded.index
    assert len(loaded.cluster.endpoints) == 4
    # pod-template-hash, pod-name and tier are read by no selector: one class for the four pods
    assert len(ix.classes) == 1
    assert ix.classes[0].labels == {"app": "api"}
    assert sorted(ix.label_keys) == ["app", "k8s-app"]


def test_a_scope_selector_key_splits_classes(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("scope: {name: edge, podSelector: {matchLabels: {tier: edge}}}\n")
    loaded = load([str(_cluster(tmp_path))])
    ctx = Context(loaded.cluster, loaded.index, load_config(str(cfg)))
    assert len(ctx.index.classes) == 2  # rebuilt with the scope's key
    assert sorted(ctx.in_scope(c) for c in ctx.index.classes) == [False, True]
    in_scope = [c for c in ctx.index.classes if ctx.in_scope(c)]
    assert [ctx.cluster.endpoints[i].name for i in in_scope[0].members] == ["api-5d8f-3"]


def test_replicas_make_one_finding_for_their_deployment(tmp_path):
    loaded = load([str(_cluster(tmp_path))])
    ctx = Context(loaded.cluster, loaded.index, load_config(None))
    [w] = ctx.workloads_of(ctx.index.classes[0])
    assert (w.subject.kind, w.subject.namespace, w.subject.name) == ("Deployment", "shop", "api")
    assert w.ref == "shop/Deployment/api (4 pods)"
    assert w.evidence() == {"pods": [f"api-5d8f-{i}" for i in range(4)], "pod_count": 4}

    rc, result, _ = run_json("scan", str(_cluster(tmp_path)), "--format", "json", "--fail-on", "none")
    assert rc == 0
    np005 = [f for f in result["findings"] if f["rule"] == "NP005"]
    assert [(f["status"], f["subject"]) for f in np005] == [
        ("FAIL", {"kind": "Deployment", "namespace": "shop", "name": "api"})]
    assert np005[0]["evidence"]["pod_count"] == 4


def test_open_block_expands_to_the_full_matrix(monkeypatch):
    loaded = load([EXAMPLE])
    ctx = Context(loaded.cluster, loaded.index, load_config(None))
    open_from, open_to, entries = namespace_matrix_parts(loaded.index)
    assert open_from and open_to
    expanded = dict(entries)
    for a in open_from:
        for b in open_to:
            if a != b:
                assert (a, b) not in entries
                expanded[(a, b)] = ((1, 65535), (65537, 131071), (131073, 196607))
    assert dict(sorted(expanded.items())) == namespace_matrix(loaded.index)
    def listed(pairs):
        return [{"from": a, "to": b, "ports": describe_ports(p)} for (a, b), p in sorted(pairs.items())]

    assert scan.matrix_json(ctx) == {"level": "namespace", "entries": listed(expanded)}
    monkeypatch.setattr(scan, "OPEN_BLOCK_MIN", 0)
    assert scan.matrix_json(ctx) == {"level": "namespace", "open": {"from": open_from, "to": open_to},
                                     "entries": listed(entries)}


def test_phase_records(tmp_path):
    phases = tmp_path / "phases.jsonl"
    env = {**os.environ, "NETPOL_AUDIT_PHASES": str(phases)}
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", EXAMPLE, "-o", str(tmp_path / "out"), "--format",
                           "json,sarif", "-q", "--fail-on", "none"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in phases.read_text().splitlines()]
    assert [r["phase"] for r in records] == ["catalog", "read input", "model", "index", "rules", "findings",
                                             "namespace matrix", "write json", "write sarif"]
    assert all(set(r) == {"phase", "cpu", "wall", "rss_mb", "peak_rss_mb"} for r in records)
    assert all(r["peak_rss_mb"] >= r["rss_mb"] > 0 for r in records)


def test_a_rule_admitting_many_namespaces_is_summarised(tmp_path):
    """NP018: a single-peer rule admitting more than 50 other namespaces is one `wide_sources` entry (peer,
    count, examples, ports), not 60 entries of `sources`; the verdict is the same FAIL."""
    docs = []
    for i in range(60):
        docs.append(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: t{i:02d}, labels: {{team: a}}}}\n")
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: t{i:02d}, labels: {{app: c}}}}\n")
    docs.append("apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {app: api}}\n"
                "spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}\n")
    docs.append("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: team, namespace: shop}\n"
                "spec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}], "
                "ports: [{port: http}]}]\n")
    path = tmp_path / "wide.yaml"
    path.write_text("---\n".join(docs))
    rc, result, err = run_json("scan", str(path), "--format", "json", "--fail-on", "none")
    assert rc == 0, err
    [f] = [f for f in result["findings"] if f["rule"] == "NP018" and f["subject"]["name"] == "shop"]
    assert f["status"] == "FAIL"
    assert f["evidence"]["sources"] == {}
    assert f["evidence"]["wide_sources"] == {"shop/team spec.ingress[0]": {
        "peer": "from[0] namespaceSelector team=a (every pod of those namespaces)", "namespaces": 60,
        "examples": ["t00", "t01", "t02", "t03", "t04"], "ports": {"TCP": ["8080"]},
        "allowed_end_to_end": {"TCP": ["8080"]}, "destinations": ["shop/api"]}}
    assert "60 namespaces through shop/team spec.ingress[0]" in f["message"]


def test_a_workload_split_across_classes_is_judged_per_pod(tmp_path):
    """During a rollout the two ReplicaSets' pods may differ in a label a policy reads and so get different
    verdicts: then each pod is its own subject, and no subject gets two findings of one rule."""
    pods = [POD.format(name=f"api-{h}-0", hash=h, tier="backend", ip=f"10.1.0.{i + 1}").replace(
        "app: api,", f"app: api, version: '{i + 1}',") for i, h in enumerate(["aaa", "bbb"])]
    policy = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: v1, namespace: shop}\n"
              "spec: {podSelector: {matchLabels: {version: '1'}}, policyTypes: [Ingress]}\n")
    path = tmp_path / "rollout.yaml"
    path.write_text("---".join([*pods, "\n" + policy]))
    rc, result, err = run_json("scan", str(path), "--format", "json", "--fail-on", "none")
    assert rc == 0, err
    np004 = sorted((f["subject"]["kind"], f["subject"]["name"], f["status"]) for f in result["findings"]
                   if f["rule"] == "NP004")
    assert np004 == [("Pod", "api-aaa-0", "PASS"), ("Pod", "api-bbb-0", "FAIL")]
    subjects = [(f["rule"], f["subject"]["kind"], f["subject"]["name"]) for f in result["findings"]]
    assert len(subjects) == len(set(subjects))
