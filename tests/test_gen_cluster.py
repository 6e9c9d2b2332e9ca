"""bench/gen_cluster.py: exact counts, determinism, realistic workloads, and outputs netpol-audit reads alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, bench_module, run_cli, run_json

from scanner.collect.project import project

SIZE = (300, 40, 12)  # pods, policies, namespaces


gen = bench_module("gen_cluster")


def _kinds(objs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(o["kind"] for o in objs)


def _owner(pod: dict[str, Any]) -> tuple[str, str]:
    ref = pod["metadata"]["ownerReferences"][0]
    return ref["kind"], ref["name"]


@pytest.fixture(scope="module")
def cluster() -> list[dict[str, Any]]:
    return gen.generate(*SIZE, seed=1)


@pytest.mark.parametrize(("pods", "policies", "namespaces"), [
    SIZE, (60, 40, 6), (10, 30, 4), (500, 41, 24), (200, 35, 20), (90, 7, 30), (3, 0, 5)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_counts(pods, policies, namespaces, seed):
    objs = gen.generate(pods, policies, namespaces, seed)
    kinds = _kinds(objs)
    assert (kinds["Pod"], kinds["NetworkPolicy"], kinds["Namespace"]) == (pods, policies, namespaces)
    keys = Counter((o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs)
    assert max(keys.values()) == 1, "names must be unique per kind and namespace"


def test_deterministic(cluster):
    assert gen.generate(*SIZE, seed=1) == cluster
    assert gen.generate(*SIZE, seed=2) != cluster


def test_workloads_labels_and_services(cluster):
    pods = [o for o in cluster if o["kind"] == "Pod"]
    assert all(10 <= len(p["metadata"]["labels"]) <= 13 for p in pods)
    by_owner: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in pods:
        by_owner.setdefault((p["metadata"]["namespace"], *_owner(p)), []).append(p)
    kinds = Counter(k for _, k, _ in by_owner)
    assert kinds["ReplicaSet"] > kinds["StatefulSet"] > 0 and kinds["Job"] > 0 and kinds["DaemonSet"] == 2
    for (_, kind, name), members in by_owner.items():
        labels = [m["metadata"]["labels"] for m in members]
        if kind == "ReplicaSet":
            assert all(x == labels[0] for x in labels) and name == f"{labels[0]['app.kubernetes.io/name']}-" \
                f"{labels[0]['pod-template-hash']}"
        elif kind == "StatefulSet":
            assert [m["metadata"]["name"] for m in members] == [f"{name}-{r}" for r in range(len(members))]
            assert [x["statefulset.kubernetes.io/pod-name"] for x in labels] == [m["metadata"]["name"]
                                                                                 for m in members]
        elif kind == "Job":
            assert labels[0]["job-name"] == labels[0]["batch.kubernetes.io/job-name"] == name
            assert labels[0]["controller-uid"] == members[0]["metadata"]["ownerReferences"][0]["uid"]
        else:
            assert {m["spec"]["nodeName"] for m in members} == {f"node-{k}" for k in range(len(members))}
    pod_names = [p["metadata"]["labels"].get("statefulset.kubernetes.io/pod-name") for p in pods]
    assert len({n for n in pod_names if n}) == sum(1 for n in pod_names if n)
    host = [p for p in pods if p["spec"].get("hostNetwork")]
    assert host and all(p["status"]["podIP"] == p["status"]["hostIP"] for p in host)
    pod_ips = [p["status"]["podIP"] for p in pods if not p["spec"].get("hostNetwork")]
    assert len(set(pod_ips)) == len(pod_ips)
    # One Service per Deployment and StatefulSet (and kube-dns), each selecting pods of its namespace.
    services = [o for o in cluster if o["kind"] == "Service"]
    assert len(services) == kinds["ReplicaSet"] + kinds["StatefulSet"]
    for s in services:
        sel = s["spec"]["selector"]
        assert any(p["metadata"]["namespace"] == s["metadata"]["namespace"]
                   and sel.items() <= p["metadata"]["labels"].items() for p in pods), s["metadata"]
        assert all(isinstance(p["targetPort"], int | str) for p in s["spec"]["ports"])


def test_policy_mix_and_posture_mistakes(cluster):
    policies = {(o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"] for o in cluster
                if o["kind"] == "NetworkPolicy"}
    names = Counter(name for _, name in policies)
    assert names["default-deny"] == names["allow-dns"] > 0
    text = json.dumps(list(policies.values()))
    for needle in ('"operator": "NotIn"', '"operator": "In"', '"operator": "Exists"', '"endPort": 8100',
                   '"except"', '"namespaceSelector"'):
        assert needle in text
    specs = {name: spec for (_, name), spec in policies.items()}
    assert specs["allow-all-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}
    assert specs["allow-egress-anywhere"]["egress"] == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
    pods = [o for o in cluster if o["kind"] == "Pod"]
    legacy = next(s for n, s in specs.items() if n.endswith("-legacy"))
    wanted = legacy["podSelector"]["matchLabels"].items()
    assert not any(wanted <= p["metadata"]["labels"].items() for p in pods)
    grpc = next(s for n, s in specs.items() if n.endswith("-grpc"))
    assert grpc["ingress"][0]["ports"] == [{"port": "grpc"}]
    assert not any(port["name"] == "grpc" for p in pods for c in p["spec"]["containers"] for port in c["ports"])


def _generate_cli(out: Path, *extra: str, hash_seed: str = "0") -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONHASHSEED"] = hash_seed
    pods, policies, namespaces = SIZE
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_cluster.py"), "--pods", str(pods), "--policies",
                    str(policies), "--namespaces", str(namespaces), "--seed", "1", "-o", str(out / "list.json"),
                    "--pages", str(out / "pages"), "--snapshot", str(out / "snap.json"), *extra],
                   check=True, capture_output=True, env=env)


def _key(o: dict[str, Any]) -> tuple[str, str, str]:
    return o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]


def _tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_outputs_are_byte_identical_and_read_alike(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _generate_cli(a, "--page-size", "64")
    _generate_cli(b, "--page-size", "64", hash_seed="12345")
    assert _tree(a) == _tree(b)

    lean = json.loads((a / "list.json").read_bytes())["items"]
    want = _kinds(lean)
    manifest = json.loads((a / "pages" / "manifest.json").read_bytes())
    got: Counter[str] = Counter()
    for plural, listing in manifest["lists"].items():
        files = listing["pages"]
        assert [f["file"] for f in files] == [f"{plural}-{n:05d}.json" for n in range(len(files))]
        for n, f in enumerate(files):
            page = json.loads((a / "pages" / f["file"]).read_bytes())
            assert page["kind"] == listing["kind"] and page["apiVersion"] == listing["apiVersion"]
            assert ("continue" in page["metadata"]) == (n < len(files) - 1)
            assert len(page["items"]) == f["items"] <= 64
            item_kind = listing["kind"].removesuffix("List")
            assert all(i["kind"] == item_kind and i["apiVersion"] == listing["apiVersion"] and
                       "uid" in i["metadata"] and "managedFields" in i["metadata"] for i in page["items"])
            got[item_kind] += len(page["items"])
        assert listing["items"] == want[listing["kind"].removesuffix("List")]
    assert got == want
    assert sorted(p.name for p in (a / "pages").glob("pods-*.json")) == \
        [f"pods-{n:05d}.json" for n in range(-(-want["Pod"] // 64))]

    # The snapshot holds what netpol-audit keeps of the API-shaped pages, and verifies.
    snap = json.loads((a / "snap.json").read_bytes())
    assert snap["created_at"] == "2026-11-01T09:00:00Z" and snap["source"]["type"] == "cluster"
    pages = [i for p in sorted((a / "pages").glob("*-0*.json")) for i in json.loads(p.read_bytes())["items"]]
    assert sorted(snap["objects"], key=_key) == sorted((project(o) for o in pages), key=_key)
    rc, out, _ = run_cli("snapshot", "--verify", a / "snap.json")
    assert rc == 0 and out.startswith("OK ")

    # One cluster, three inputs, one answer.
    rc, from_list, _ = run_json("isolation", a / "list.json", "-o", "json")
    assert rc == 0
    assert run_json("isolation", a / "pages", "-o", "json")[1] == from_list
    assert run_json("isolation", a / "snap.json", "-o", "json")[1] == from_list


def test_isolation_of_pages_by_subprocess(tmp_path):
    _generate_cli(tmp_path)
    outs = [subprocess.run([sys.executable, "-m", "scanner", "isolation", str(tmp_path / name), "-o", "json"],
                           check=True, capture_output=True, cwd=ROOT).stdout for name in ("pages", "list.json")]
    assert outs[0] == outs[1] and json.loads(outs[0])


def test_tier_policies_of_the_tier_benchmark(tmp_path):
    """`--tiers FILE` (bench/tiers.py) writes two valid cluster-scoped policies; on the generated cluster the
    grouped namespace matrix through them equals the pairwise oracle, and the baseline deny closes what no
    NetworkPolicy isolates except the admin tier's scrape port from monitoring."""
    from scanner.api import load
    from scanner.engine.reach import (
        PairCache,
        namespace_matrix,
        namespace_matrix_grouped,
        namespace_matrix_pairwise,
        namespace_matrix_parts,
    )
    from scanner.intervals import ALL_PORTS, EMPTY, IntervalSet, port_point, subtract, union

    pods, policies, namespaces = SIZE
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_cluster.py"), "--pods", str(pods), "--policies",
                    str(policies), "--namespaces", str(namespaces), "--seed", "1", "-o", str(tmp_path / "c.json"),
                    "--tiers", str(tmp_path / "tiers.yaml")], check=True, capture_output=True)
    # A namespace without NetworkPolicies: only the tiers decide its pod's ingress.
    (tmp_path / "extra.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n---\napiVersion: v1\nkind: Pod\n"
        "metadata: {name: web, namespace: extra, labels: {app: web}}\n"
        "spec: {containers: [{name: web, image: nginx}]}\nstatus: {podIP: 10.9.0.1}\n")
    loaded = load([str(tmp_path / "c.json"), str(tmp_path / "extra.yaml"), str(tmp_path / "tiers.yaml")])
    assert [(a.kind, a.name, a.tier) for a in loaded.cluster.admin_policies] == [
        ("AdminNetworkPolicy", "bench-guardrails", "Admin"), ("BaselineAdminNetworkPolicy", "default", "Baseline")]
    assert not loaded.cluster.invalid_admin_policies
    ix = loaded.index
    grouped = namespace_matrix_grouped(ix)
    assert grouped == namespace_matrix_pairwise(ix)
    assert namespace_matrix_parts(ix) == ([], [], grouped)
    # Against the same cluster without the tiers: the admin tier adds only TCP 9090 from monitoring, and the
    # baseline deny only removes.
    without = namespace_matrix(load([str(tmp_path / "c.json"), str(tmp_path / "extra.yaml")]).index)
    scrape: IntervalSet = ((port_point("TCP", 9090), port_point("TCP", 9090)),)
    for pair, ports in grouped.items():
        assert not subtract(ports, union(without.get(pair, EMPTY), scrape if pair[0] == "monitoring" else EMPTY))
    # Into `extra`: ns-0008's open egress loses its way in (the baseline deny), kube-system's hostNetwork
    # kube-proxy keeps it (tier peers never match hostNetwork pods).
    assert {k: v for k, v in without.items() if k[1] == "extra"} == {("kube-system", "extra"): ALL_PORTS,
                                                                    ("ns-0008", "extra"): ALL_PORTS}
    assert {k: v for k, v in grouped.items() if k[1] == "extra"} == {("kube-system", "extra"): ALL_PORTS}
    # Per class pair: every pod that is not on the host network takes 9090 from monitoring, and a pod no
    # NetworkPolicy isolates for ingress takes nothing else from any pod but hostNetwork ones.
    cache = PairCache(ix)
    checked = 0
    for d in ix.classes:
        if d.host_network:
            continue
        for s in ix.classes:
            ingress = cache.ingress_ports(s, d)
            from_monitoring = s.namespace == "monitoring" and not s.host_network
            if from_monitoring:
                assert not subtract(scrape, ingress), (s.namespace, d.namespace)
            if not ix.isolated(d, "ingress"):
                assert ingress == (ALL_PORTS if s.host_network else scrape if from_monitoring else EMPTY)
                checked += 1
    assert checked == len(ix.classes)  # the pod in `extra`, from every class
