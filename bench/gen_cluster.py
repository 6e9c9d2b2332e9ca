"""Deterministic synthetic clusters for benchmarks and scale tests.

    python bench/gen_cluster.py --pods 2000 --policies 200 --namespaces 40 --seed 1 -o /tmp/c2k.json
    python bench/gen_cluster.py ... -o /tmp/c.json --queries 10000 --queries-out /tmp/q.yaml
    python bench/gen_cluster.py ... --pages /tmp/pages [--page-size 500]   # API-shaped paged lists
    python bench/gen_cluster.py ... --snapshot /tmp/c.snap.json           # a netpol-audit snapshot

Namespace sizes are Zipf-skewed. Pods come from workloads and carry 10-13 labels each: Deployments (pods of
a ReplicaSet `<app>-<hash>` sharing one template, label pod-template-hash), StatefulSets (pods `<app>-0..n`, each
with its own statefulset.kubernetes.io/pod-name), Jobs (controller-uid, job-name) and, in kube-system, CoreDNS
and two DaemonSets with one pod per node (kube-proxy on the host network: its pods' IP is the node's). Every
Deployment and StatefulSet has a ClusterIP Service (headless for StatefulSets) selecting its pods, with
targetPorts by name or number. The policy mix has per-namespace default-deny and DNS egress, ingress
controller and monitoring allows, per-app rules with matchLabels / In / NotIn / Exists, namespace selectors,
ipBlocks with except and endPort ranges, and a few posture mistakes (a namespace-wide allow-all ingress,
egress to 0.0.0.0/0 on every port, a podSelector that selects no pod, a named port no pod defines). Exactly
--pods pods and --policies NetworkPolicies; the same arguments give byte-identical outputs.

Outputs:
  -o FILE          the lean objects as a `kind: List` JSON document (what `kubectl get -o json` prints), which
                   every netpol-audit command reads.
  --pages DIR      the cluster as the API server lists it, one JSON file per page of --page-size items:
                   namespaces-00000.json (NamespaceList), networkpolicies-*.json (NetworkPolicyList),
                   services-*.json (ServiceList), pods-*.json (PodList); items sorted by namespace and name and
                   API-shaped (uid, resourceVersion, managedFields, defaults; pods about 7 KB of JSON each, see
                   api_shaped), with kind and apiVersion on every item so each page also reads alone;
                   metadata.continue on every page but the last. DIR/manifest.json lists the pages per kind
                   with item counts; it is an empty `kind: List`, so `netpol-audit isolation DIR` reads the
                   directory as a cluster. Written one page at a time.
  --snapshot FILE  a netpol-audit snapshot (source type "cluster") of the API-shaped objects, projected and
                   written by scanner.collect; created_at is fixed unless SOURCE_DATE_EPOCH is set.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import heapq
import os
import random
import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from scanner.bulk import bulk_load  # the cyclic collector off while many small containers are built

ROOT = Path(__file__).resolve().parent.parent

TIERS = ["frontend", "api", "worker", "db", "cache"]
TEAMS = ["payments", "search", "checkout", "identity", "ml", "platform"]
SYSTEM_NAMESPACES = ["kube-system", "monitoring", "ingress-nginx"]
# Replicas per workload kind: Deployments skewed (mean about 15), StatefulSets and Jobs small.
DEPLOYMENT_REPLICAS = [1, 2, 3, 3, 5, 8, 12, 20, 40, 60]
STATEFULSET_REPLICAS = [1, 3, 3, 5]
JOB_PARALLELISM = [1, 1, 2, 4]
# The alphabet Kubernetes uses for generated name suffixes and template hashes.
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SUFFIX_SPACE = len(ALPHABET) ** 5
CREATED = "2026-11-01T08:00:00Z"
SNAPSHOT_TIME = dt.datetime(2026, 11, 1, 9, 0, 0, tzinfo=dt.UTC)
RV_BASE = 100000
LISTS = (("namespaces", "Namespace", "v1"), ("networkpolicies", "NetworkPolicy", "networking.k8s.io/v1"),
         ("services", "Service", "v1"), ("pods", "Pod", "v1"))


def zipf_sizes(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [1.0 / (i + 1) for i in range(parts)]
    rng.shuffle(weights)
    s = sum(weights)
    sizes = [max(1, int(total * w / s)) for w in weights]
    have = sum(sizes)
    i = 0
    while have < total:
        sizes[i % parts] += 1
        have += 1
        i += 1
    if have > total:  # take from the largest part, the first of equals: a heap of (-size, index)
        heap = [(-n, k) for k, n in enumerate(sizes)]
        heapq.heapify(heap)
        while have > total:
            n, k = heapq.heappop(heap)
            sizes[k] = -n - 1
            have -= 1
            heapq.heappush(heap, (n + 1, k))
    return sizes


_PAIRS = [a + b for b in ALPHABET for a in ALPHABET]


def _safe(n: int, width: int) -> str:
    """`n` in Kubernetes' name-suffix alphabet, `width` characters (least significant first)."""
    out = []
    for _ in range(width // 2):
        n, r = divmod(n, len(_PAIRS))
        out.append(_PAIRS[r])
    if width % 2:
        out.append(ALPHABET[n % len(ALPHABET)])
    return "".join(out)


def _suffix(n: int) -> str:
    """A 5-character pod name suffix, distinct for every n below 27**5 (a bijection of the counter)."""
    return _safe((n * 2654435761 + 12345) % _SUFFIX_SPACE, 5)


def node_ip(k: int) -> str:
    return f"192.168.{k // 200}.{k % 200 + 10}"


class _Builder:
    """Pods and Services of workloads, numbered in the order they are made."""

    def __init__(self, rng: random.Random, nodes: int) -> None:
        self.rng = rng
        self.nodes = nodes
        self.pods: list[dict[str, Any]] = []
        self.services: list[dict[str, Any]] = []
        self.ip = 0
        self.service_ip = 9  # 10.96.0.10 is the first: kube-dns

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def labels(self, app: str, ns: str, tier: str, team: str, required: dict[str, str],
               per_pod: int = 0) -> dict[str, str]:
        """Template labels: the selector-relevant ones, `required`, then optional ones up to 10-13 in all
        (`per_pod` of them added later to each pod)."""
        rng = self.rng
        target = rng.randint(10, 13) - per_pod
        labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns, "tier": tier, "team": team,
                  **required}
        optional = (("version", rng.choice(["v1", "v2"])), ("release", f"r{rng.randint(1, 40)}"),
                    ("track", rng.choice(["stable", "canary"])), ("owner", f"user{rng.randint(1, 99)}"),
                    ("cost-center", f"cc-{rng.randint(100, 140)}"), ("app.kubernetes.io/instance", f"{app}-{ns}"),
                    ("app.kubernetes.io/component", tier), ("app.kubernetes.io/managed-by", "Helm"),
                    ("helm.sh/chart", f"{app.rsplit('-', 1)[0]}-1.{rng.randint(0, 9)}.0"),
                    ("app.kubernetes.io/version", f"1.{rng.randint(0, 40)}.3"))
        for k, v in optional:
            if len(labels) >= target:
                break
            labels[k] = v
        return dict(sorted(labels.items()))  # the API server's JSON has map keys sorted

    def pod(self, name: str, ns: str, labels: dict[str, str], owners: list[dict[str, Any]],
            containers: list[dict[str, Any]], node: int | None = None, host_network: bool = False) -> None:
        k = (self.ip if node is None else node) % self.nodes
        host = node_ip(k)
        if host_network:
            addr = host
        else:
            self.ip += 1
            ip = self.ip
            addr = f"10.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"
        spec: dict[str, Any] = {"nodeName": f"node-{k}", "containers": containers}
        if host_network:
            spec["hostNetwork"] = True
        self.pods.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owners},
            "spec": spec,
            "status": {"phase": "Running", "hostIP": host, "podIP": addr, "podIPs": [{"ip": addr}]},
        })

    def service(self, ns: str, name: str, selector: dict[str, str], ports: list[dict[str, Any]],
                headless: bool = False) -> None:
        if headless:
            ip = "None"
        else:
            self.service_ip += 1
            n = self.service_ip
            ip = f"10.{96 + ((n >> 16) & 15)}.{(n >> 8) & 255}.{n & 255}"
        self.services.append({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": dict(selector)},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "selector": selector,
                     "ports": ports},
        })

    def _service_for(self, ns: str, app: str, ports: list[dict[str, Any]], headless: bool) -> None:
        rng = self.rng
        selector = {"app.kubernetes.io/name": app}
        if rng.random() < 0.3:
            selector["app.kubernetes.io/part-of"] = ns
        main = ports[0]
        target: str | int = main["name"] if rng.random() < 0.5 else main["containerPort"]
        sports = [{"name": main["name"], "protocol": main["protocol"], "port": 80 if main["name"] == "http"
                   else main["containerPort"], "targetPort": target}]
        if len(ports) > 1 and rng.random() < 0.4:
            p = ports[1]
            sports.append({"name": p["name"], "protocol": p["protocol"], "port": p["containerPort"],
                           "targetPort": p["name"]})
        self.service(ns, app, selector, sports, headless)

    def deployment(self, ns: str, app: str, tier: str, team: str, replicas: int, ports: list[dict[str, Any]],
                   extra: dict[str, str] | None = None, service: bool = True) -> None:
        h = _safe(self.rng.getrandbits(48), 10)
        labels = self.labels(app, ns, tier, team, {"pod-template-hash": h, **(extra or {})})
        rs = f"{app}-{h}"
        owners = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": self.uid(), "controller": True}]
        containers = [{"name": "main", "ports": ports}]
        for _ in range(replicas):
            self.pod(f"{rs}-{_suffix(len(self.pods))}", ns, labels, owners, containers)
        if service:
            self._service_for(ns, app, ports, headless=False)

    def statefulset(self, ns: str, app: str, tier: str, team: str, replicas: int,
                    ports: list[dict[str, Any]]) -> None:
        revision = f"{app}-{_safe(self.rng.getrandbits(48), 10)}"
        template = self.labels(app, ns, tier, team, {"controller-revision-hash": revision}, per_pod=2)
        owners = [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": app, "uid": self.uid(),
                   "controller": True}]
        containers = [{"name": "main", "ports": ports}]
        for r in range(replicas):
            name = f"{app}-{r}"
            labels = dict(sorted({**template, "statefulset.kubernetes.io/pod-name": name,
                                  "apps.kubernetes.io/pod-index": str(r)}.items()))
            self.pod(name, ns, labels, owners, containers)
        self._service_for(ns, app, ports, headless=True)

    def job(self, ns: str, app: str, tier: str, team: str, parallelism: int, ports: list[dict[str, Any]]) -> None:
        job = f"{app}-{self.rng.randint(28_000_000, 29_999_999)}"
        cuid = self.uid()
        labels = self.labels(app, ns, tier, team, {"controller-uid": cuid, "batch.kubernetes.io/controller-uid": cuid,
                                                   "job-name": job, "batch.kubernetes.io/job-name": job})
        owners = [{"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": cuid, "controller": True}]
        containers = [{"name": "main", "ports": ports}]
        for _ in range(parallelism):
            self.pod(f"{job}-{_suffix(len(self.pods))}", ns, labels, owners, containers)

    def daemonset(self, ns: str, app: str, nodes: int, ports: list[dict[str, Any]], host_network: bool) -> None:
        revision = _safe(self.rng.getrandbits(48), 10)
        labels = self.labels(app, ns, "system", "platform", {"controller-revision-hash": revision,
                                                             "pod-template-generation": "1", "k8s-app": app})
        owners = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": app, "uid": self.uid(), "controller": True}]
        containers = [{"name": app, "ports": ports}]
        for k in range(nodes):
            self.pod(f"{app}-{_suffix(len(self.pods))}", ns, labels, owners, containers, node=k,
                     host_network=host_network)


def _ports(*spec: tuple[str, int, str]) -> list[dict[str, Any]]:
    return [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in spec]


def generate(pods: int, policies: int, namespaces: int, seed: int) -> list[dict[str, Any]]:
    """The lean objects of a cluster: Namespaces, then Pods, Services and NetworkPolicies (exactly `pods` pods
    and `policies` NetworkPolicies)."""
    with bulk_load():
        return _generate(pods, policies, namespaces, seed)




def _generate(pods: int, policies: int, namespaces: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    objs: list[dict[str, Any]] = []
    ns_names = SYSTEM_NAMESPACES + [f"ns-{i:04d}" for i in range(namespaces - 3)]
    for i, ns in enumerate(ns_names):
        labels = {"kubernetes.io/metadata.name": ns, "team": TEAMS[i % len(TEAMS)],
                  "env": rng.choice(["prod", "staging"])}
        if i % 7 == 3:
            labels["pci-scope"] = "cde"
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})

    # The system workloads first (what a tiny cluster cannot hold is left out), the rest Zipf-spread.
    nodes = max(1, min(1000, pods // 100))
    budget = pods

    def take(n: int) -> int:
        nonlocal budget
        t = min(n, budget)
        budget -= t
        return t

    coredns, controller, prometheus = take(2), take(2), take(2)
    proxy, csi = take(nodes), take(nodes)
    sizes = zipf_sizes(budget, len(ns_names), rng)
    b = _Builder(rng, nodes)
    apps_by_ns: dict[str, list[str]] = {}
    for ns, size in zip(ns_names, sizes, strict=True):
        apps = apps_by_ns.setdefault(ns, [])
        if ns == "kube-system":
            if coredns:
                b.deployment(ns, "coredns", "system", "platform", coredns,
                             _ports(("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")),
                             extra={"k8s-app": "kube-dns"}, service=False)
                b.service(ns, "kube-dns", {"k8s-app": "kube-dns"}, [
                    {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
                    {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53},
                    {"name": "metrics", "protocol": "TCP", "port": 9153, "targetPort": 9153}])
                apps.append("coredns")
            if proxy:
                b.daemonset(ns, "kube-proxy", proxy, _ports(("metrics", 10249, "TCP")), host_network=True)
            if csi:
                b.daemonset(ns, "csi-node", csi, _ports(("healthz", 9808, "TCP")), host_network=False)
        elif ns == "monitoring" and prometheus:
            b.statefulset(ns, "prometheus", "monitoring", "platform", prometheus, _ports(("web", 9090, "TCP")))
            apps.append("prometheus")
        elif ns == "ingress-nginx" and controller:
            b.deployment(ns, "ingress-nginx", "ingress", "platform", controller,
                         _ports(("http", 80, "TCP"), ("https", 443, "TCP"), ("metrics", 10254, "TCP")))
            apps.append("ingress-nginx")
        made = 0
        w = 0
        while made < size:
            tier = TIERS[w % len(TIERS)]
            team = TEAMS[w % len(TEAMS)]
            app = f"sys-{w}" if ns == "kube-system" else f"{tier}-{w}"
            apps.append(app)
            ports = _ports(("http", rng.choice([8080, 8000, 3000]), "TCP"), ("metrics", 9090, "TCP"))
            r = rng.random()
            if r < 0.8:
                n = min(size - made, rng.choice(DEPLOYMENT_REPLICAS))
                b.deployment(ns, app, tier, team, n, ports)
            elif r < 0.92:
                n = min(size - made, rng.choice(STATEFULSET_REPLICAS))
                b.statefulset(ns, app, tier, team, n, ports)
            else:
                n = min(size - made, rng.choice(JOB_PARALLELISM))
                b.job(ns, app, tier, team, n, ports[1:])
            made += n
            w += 1
    objs += b.pods
    objs += b.services
    objs += _policies(policies, ns_names, apps_by_ns, rng)
    return objs


def _policies(policies: int, ns_names: list[str], apps_by_ns: dict[str, list[str]],
              rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    mistakes = 4 if policies >= 20 else policies // 5
    budget = policies - mistakes
    for ns in ns_names:
        if len(out) + 2 > budget:
            break
        if rng.random() < 0.85:
            out.append(_np(ns, "default-deny", {}, ["Ingress", "Egress"]))
            out.append(_np(ns, "allow-dns", {}, ["Egress"], egress=[{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]))
    while len(out) < budget:
        made_pol = len(out)
        ns = rng.choice(ns_names)
        apps = apps_by_ns.get(ns) or ["x"]
        app = rng.choice(apps)
        kind = rng.randrange(6)
        sel = {"matchLabels": {"app.kubernetes.io/name": app}}
        if kind == 0:
            ing = [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
                    "ports": [{"port": "http"}]}]
            out.append(_np(ns, f"allow-ingress-{made_pol}", sel, ["Ingress"], ingress=ing))
        elif kind == 1:
            ing = [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                              "podSelector": {"matchExpressions": [{"key": "app.kubernetes.io/name",
                                                                    "operator": "In", "values": ["prometheus"]}]}}],
                    "ports": [{"port": "metrics"}]}]
            out.append(_np(ns, f"allow-scrape-{made_pol}", {}, ["Ingress"], ingress=ing))
        elif kind == 2:
            peer_app = rng.choice(apps)
            ing = [{"from": [{"podSelector": {"matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                {"key": "app.kubernetes.io/name", "operator": "In", "values": [peer_app]}]}}],
                "ports": [{"port": 8000, "endPort": 8100}]}]
            out.append(_np(ns, f"allow-app-{made_pol}", sel, ["Ingress"], ingress=ing))
        elif kind == 3:
            eg = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.169.254/32"]}}],
                   "ports": [{"port": 443}]}]
            out.append(_np(ns, f"allow-egress-{made_pol}", sel, ["Egress"], egress=eg))
        elif kind == 4:
            other = rng.choice(ns_names)
            eg = [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": other}},
                           "podSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}]}]
            out.append(_np(ns, f"allow-to-{other}-{made_pol}", sel, ["Egress"], egress=eg))
        else:
            ing = [{"from": [{"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}}}],
                    "ports": [{"port": "http"}, {"port": 9090, "protocol": "TCP"}]}]
            out.append(_np(ns, f"allow-team-{made_pol}", sel, None, ingress=ing))
    # Posture mistakes, in application namespaces that have workloads.
    candidates = [ns for ns in ns_names if ns not in SYSTEM_NAMESPACES and apps_by_ns.get(ns)] or ns_names
    for what in ("allow-all", "egress-anywhere", "selects-nothing", "unknown-named-port")[:mistakes]:
        ns = rng.choice(candidates)
        sel = {"matchLabels": {"app.kubernetes.io/name": rng.choice(apps_by_ns.get(ns) or ["x"])}}
        app = sel["matchLabels"]["app.kubernetes.io/name"]
        if what == "allow-all":
            out.append(_np(ns, "allow-all-ingress", {}, ["Ingress"], ingress=[{}]))
        elif what == "egress-anywhere":
            out.append(_np(ns, "allow-egress-anywhere", sel, ["Egress"],
                           egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]))
        elif what == "selects-nothing":
            out.append(_np(ns, f"allow-{app}-legacy", {"matchLabels": {"app.kubernetes.io/name": f"{app}-legacy"}},
                           ["Ingress"], ingress=[{"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}]))
        else:
            out.append(_np(ns, f"allow-{app}-grpc", sel, ["Ingress"],
                           ingress=[{"from": [{"podSelector": {}}], "ports": [{"port": "grpc"}]}]))
    return out


def _np(ns: str, name: str, sel: dict[str, Any], types: list[str] | None, ingress: Any = None,
        egress: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": sel}
    if types is not None:
        spec["policyTypes"] = types
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def queries(objs: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed + 1)
    pods = [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in objs if o["kind"] == "Pod"]
    out = []
    for _ in range(n):
        a, b = rng.sample(pods, 2)
        port, proto = rng.choice([(53, "UDP"), (443, "TCP"), (8080, "TCP"), (8050, "TCP"), (9090, "TCP")])
        if rng.random() < 0.05:
            b = rng.choice(["192.0.2.10", "10.0.0.7", "169.254.169.254"])
        out.append({"from": a, "to": b, "port": port, "protocol": proto})
    return out


# ----- API-shaped objects: what the API server returns for the generator's lean objects


def _ts(i: int) -> str:
    return f"2026-11-01T08:{i // 60 % 60:02d}:{i % 60:02d}Z"


def _uid(i: int) -> str:
    return f"{i:08x}-7d3c-4b1e-9a2f-{i * 7919 % 10**12:012d}"


def api_shaped(pod: dict[str, Any], i: int) -> dict[str, Any]:
    """The pod as an API server returns it: the generator's fields plus what kubelet and the control plane add
    (uid, managedFields, annotations, volumes, env, probes, resources, conditions, containerStatuses: about 7 KB
    of JSON). `i` numbers it (uid, resourceVersion, timestamps)."""
    md, spec, status = pod["metadata"], pod["spec"], pod["status"]
    ts = _ts(i)
    uid = _uid(i)
    owners = [dict(o, uid=o.get("uid") or f"rs-{uid}", blockOwnerDeletion=True)
              for o in md.get("ownerReferences") or []]
    owner_kind = owners[0]["kind"] if owners else None
    host_network = bool(spec.get("hostNetwork"))
    host_ip = status.get("hostIP") or f"192.168.{i % 50}.10"
    containers = []
    for c in spec["containers"]:
        containers.append({
            "name": c["name"], "image": f"registry.example.com/{md['namespace']}/{c['name']}:1.{i % 40}.3",
            "ports": c.get("ports", []),
            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                         "fieldPath": "metadata.namespace"}}},
                    {"name": "LOG_LEVEL", "value": "info"}, {"name": "GOMAXPROCS", "value": "2"},
                    {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.monitoring:4317"}],
            "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                             {"name": "kube-api-access-x7k2p", "readOnly": True,
                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                              "initialDelaySeconds": 10, "timeoutSeconds": 1, "periodSeconds": 10,
                              "successThreshold": 1, "failureThreshold": 3},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP"}, "timeoutSeconds": 1,
                               "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": True, "runAsNonRoot": True},
        })
    conditions = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
                  for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
    metadata: dict[str, Any] = {"name": md["name"]}
    if owner_kind != "StatefulSet":  # controllers other than StatefulSets name pods from a generateName
        metadata["generateName"] = md["name"].rsplit("-", 1)[0] + "-"
    metadata.update({
        "namespace": md["namespace"], "uid": uid, "resourceVersion": str(RV_BASE + i), "creationTimestamp": ts,
        "labels": md["labels"],
        "annotations": {"kubectl.kubernetes.io/restartedAt": ts, "prometheus.io/scrape": "true",
                        "prometheus.io/port": "9090", "checksum/config": f"{i * 2654435761 % 2**64:016x}" * 4},
        "ownerReferences": owners,
        "managedFields": [
            {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": ts,
             "fieldsType": "FieldsV1", "fieldsV1": {
                 "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/restartedAt": {},
                                                  "f:prometheus.io/port": {}, "f:prometheus.io/scrape": {}},
                                "f:generateName": {}, "f:labels": {".": {}, **{f"f:{k}": {} for k in md["labels"]}},
                                "f:ownerReferences": {".": {}, **{f'k:{{"uid":"{o["uid"]}"}}': {} for o in owners}}},
                 "f:spec": {"f:containers": {f'k:{{"name":"{c["name"]}"}}': {
                     ".": {}, "f:env": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:livenessProbe": {},
                     "f:name": {}, "f:ports": {}, "f:readinessProbe": {}, "f:resources": {},
                     "f:securityContext": {}, "f:terminationMessagePath": {}, "f:volumeMounts": {}}
                     for c in containers},
                     "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
                     "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {},
                     "f:volumes": {}}}},
            {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": ts,
             "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:status": {
                 "f:conditions": {f'k:{{"type":"{t}"}}': {".": {}, "f:lastProbeTime": {},
                                                          "f:lastTransitionTime": {}, "f:status": {},
                                                          "f:type": {}} for t in ("ContainersReady", "Ready")},
                 "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {},
                 "f:podIPs": {".": {}, f'k:{{"ip":"{status["podIP"]}"}}': {".": {}, "f:ip": {}}},
                 "f:startTime": {}}}},
        ],
    })
    pod_spec: dict[str, Any] = {
        "volumes": [{"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}},
                    {"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
        "containers": containers, "restartPolicy": "Never" if owner_kind == "Job" else "Always",
        "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirstWithHostNet" if host_network else "ClusterFirst",
        "serviceAccountName": "default", "serviceAccount": "default", "nodeName": spec["nodeName"],
    }
    if host_network:
        pod_spec["hostNetwork"] = True
    pod_spec.update({
        "securityContext": {"runAsUser": 1000, "fsGroup": 2000}, "schedulerName": "default-scheduler",
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300}],
        "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
    })
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec,
        "status": {
            "phase": status["phase"], "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
            "podIP": status["podIP"], "podIPs": status["podIPs"], "startTime": ts, "qosClass": "Burstable",
            "containerStatuses": [{
                "name": c["name"], "state": {"running": {"startedAt": ts}}, "lastState": {}, "ready": True,
                "restartCount": 0, "image": c["image"], "imageID": f"{c['image']}@sha256:{i:064x}",
                "containerID": f"containerd://{i * 31:064x}", "started": True,
                "volumeMounts": c["volumeMounts"]} for c in containers],
        },
    }


def _fields(d: dict[str, Any]) -> dict[str, Any]:
    return {".": {}, **{f"f:{k}": {} for k in d}}


def _api_metadata(md: dict[str, Any], i: int, manager: str, api_version: str, spec_fields: dict[str, Any],
                  generation: bool = False) -> dict[str, Any]:
    ts = _ts(i)
    out: dict[str, Any] = {"name": md["name"]}
    if "namespace" in md:
        out["namespace"] = md["namespace"]
    out.update(uid=_uid(i), resourceVersion=str(RV_BASE + i))
    if generation:
        out["generation"] = 1
    out["creationTimestamp"] = ts
    fields: dict[str, Any] = {}
    if md.get("labels"):
        out["labels"] = dict(sorted(md["labels"].items()))
        fields["f:metadata"] = {"f:labels": _fields(md["labels"])}
    if spec_fields:
        fields["f:spec"] = spec_fields
    out["managedFields"] = [{"manager": manager, "operation": "Update", "apiVersion": api_version, "time": ts,
                             "fieldsType": "FieldsV1", "fieldsV1": fields}]
    return out


def _np_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with the API server's defaults: policyTypes from the rules present, TCP for ports."""
    spec = orjson.loads(orjson.dumps(spec))
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for p in rule.get("ports") or []:
                p.setdefault("protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    return spec


def api_object(obj: dict[str, Any], i: int) -> dict[str, Any]:
    """Any of the generator's objects as the API server returns it (pods: api_shaped)."""
    kind = obj["kind"]
    md = obj["metadata"]
    if kind == "Pod":
        return api_shaped(obj, i)
    if kind == "Namespace":
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": _api_metadata(md, i, "kubectl-create", "v1", {}),
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    if kind == "Service":
        s = obj["spec"]
        ports = [{"name": p["name"], "protocol": p.get("protocol", "TCP"), "port": p["port"],
                  "targetPort": p.get("targetPort", p["port"])} for p in s["ports"]]
        spec = {"clusterIP": s["clusterIP"], "clusterIPs": s["clusterIPs"], "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": ports, "selector": s["selector"],
                "sessionAffinity": "None", "type": s.get("type", "ClusterIP")}
        spec_fields: dict[str, Any] = {"f:internalTrafficPolicy": {}, "f:ports": {".": {}, **{
            f'k:{{"port":{p["port"]},"protocol":"{p["protocol"]}"}}': {".": {}, "f:name": {}, "f:port": {},
                                                                      "f:protocol": {}, "f:targetPort": {}}
            for p in ports}}, "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}}
        return {"apiVersion": "v1", "kind": "Service", "metadata": _api_metadata(md, i, "helm", "v1", spec_fields),
                "spec": spec, "status": {"loadBalancer": {}}}
    if kind == "NetworkPolicy":
        spec = _np_defaults(obj["spec"])
        return {"apiVersion": obj["apiVersion"], "kind": "NetworkPolicy",
                "metadata": _api_metadata(md, i, "kubectl-client-side-apply", obj["apiVersion"],
                                          {f"f:{k}": {} for k in spec}, generation=True),
                "spec": spec}
    return obj


def api_lists(objs: list[dict[str, Any]]) -> Iterator[tuple[str, str, str, list[dict[str, Any]]]]:
    """(plural, kind, apiVersion, lean objects sorted as the API server lists them) per kind written."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    for plural, kind, api_version in LISTS:
        items = by_kind.pop(kind, [])
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        yield plural, kind, api_version, items


def _continue_token(rv: int, last: dict[str, Any]) -> str:
    md = last["metadata"]
    key = f"{md['namespace']}/{md['name']}" if "namespace" in md else md["name"]
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key + "\x00"})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_PAGE_FILE = re.compile(r"^(namespaces|networkpolicies|services|pods)-\d{5,}\.json$")


def write_outputs(objs: list[dict[str, Any]], pages: str | None, page_size: int, snapshot: str | None,
                  described: str, release: bool = False) -> dict[str, Any]:
    """Write the API-shaped paged lists and/or the snapshot in one pass over the objects; a summary. With
    `release`, `objs` is emptied and each lean object let go once written (less memory for big clusters)."""
    with bulk_load():
        return _write_outputs(objs, pages, page_size, snapshot, described, release)


def _write_outputs(objs: list[dict[str, Any]], pages: str | None, page_size: int, snapshot: str | None,
                   described: str, release: bool) -> dict[str, Any]:
    rv = RV_BASE + len(objs)
    pages_dir = Path(pages) if pages else None
    if pages_dir is not None:
        pages_dir.mkdir(parents=True, exist_ok=True)
        for old in pages_dir.iterdir():  # pages of an earlier, larger cluster would be read with these
            if _PAGE_FILE.match(old.name) or old.name == "manifest.json":
                old.unlink()
    kept: list[Any] | None = None
    if snapshot:
        from scanner.collect import RawObject
        from scanner.collect.project import project

        kept = []
    lists: dict[str, Any] = {}
    nbytes = 0
    i = 0
    listed = api_lists(objs)
    for plural, kind, api_version, items in listed:
        if release:
            objs.clear()  # the lists of api_lists hold them now
        total = len(items)
        items.reverse()  # taken from the end, so each lean object goes with its page
        files = []
        for start in range(0, max(1, total), page_size):
            chunk = [api_object(items.pop(), i + k) for k in range(min(page_size, len(items)))]
            i += len(chunk)
            if kept is not None:
                kept += [RawObject(project(a)) for a in chunk]
            if pages_dir is not None:
                md: dict[str, Any] = {"resourceVersion": str(rv)}
                if start + page_size < total:
                    md["continue"] = _continue_token(rv, chunk[-1])
                    md["remainingItemCount"] = total - start - page_size
                name = f"{plural}-{start // page_size:05d}.json"
                data = orjson.dumps({"kind": f"{kind}List", "apiVersion": api_version, "metadata": md,
                                     "items": chunk})
                (pages_dir / name).write_bytes(data)
                nbytes += len(data)
                files.append({"file": name, "items": len(chunk)})
        lists[plural] = {"kind": f"{kind}List", "apiVersion": api_version, "items": total, "pages": files}
    summary: dict[str, Any] = {"objects": i}
    if pages_dir is not None:
        manifest = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": str(rv)}, "items": [],
                    "generator": described, "pageSize": page_size, "lists": lists}
        (pages_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        summary["pages"] = sum(len(v["pages"]) for v in lists.values())
        summary["page_bytes"] = nbytes
    if snapshot:
        from scanner.collect import RawSnapshot
        from scanner.collect import snapshot as snapshot_io

        snap = RawSnapshot(objects=kept or [], inputs=[described], source_type="cluster")
        fixed = None if os.environ.get("SOURCE_DATE_EPOCH") else SNAPSHOT_TIME
        content = snapshot_io.build(snap, fixed)
        del kept
        snapshot_io.write(content, snapshot)
        summary["snapshot_sha256"] = content["sha256"]
    return summary


# The cluster-scoped policies of the tier benchmark (bench/tiers.py): an AdminNetworkPolicy over every namespace
# that allows Prometheus scrapes from `monitoring` and passes the rest to NetworkPolicy, and a
# BaselineAdminNetworkPolicy that denies ingress from every namespace where no NetworkPolicy decides.
TIER_POLICIES = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bench-guardrails}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - name: scrape
    action: Allow
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
    ports: [{portNumber: {protocol: TCP, port: 9090}}]
  - {name: rest, action: Pass, from: [{namespaces: {}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--policies", type=int, default=200)
    ap.add_argument("--namespaces", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", help="write the lean objects as a kind: List JSON file")
    ap.add_argument("--queries", type=int, default=0)
    ap.add_argument("--queries-out")
    ap.add_argument("--pages", metavar="DIR", help="write API-shaped paged lists into DIR")
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--snapshot", metavar="FILE", help="write a netpol-audit snapshot")
    ap.add_argument("--tiers", metavar="FILE", help="write the cluster-scoped policies of the tier benchmark "
                    "(bench/tiers.py) as YAML")
    a = ap.parse_args()
    if not (a.output or a.pages or a.snapshot or a.tiers):
        ap.error("give at least one of -o FILE, --pages DIR, --snapshot FILE, --tiers FILE")
    if a.tiers:
        Path(a.tiers).write_text(TIER_POLICIES)
        if not (a.output or a.pages or a.snapshot):
            return 0
    if a.page_size < 1:
        ap.error("--page-size must be positive")
    namespaces = max(a.namespaces, 4)
    t0 = time.perf_counter()
    objs = generate(a.pods, a.policies, namespaces, a.seed)
    print(f"generated {len(objs)} objects in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if a.output:
        data = orjson.dumps({"apiVersion": "v1", "kind": "List", "items": objs})
        Path(a.output).parent.mkdir(parents=True, exist_ok=True)
        with open(a.output, "wb") as fh:
            fh.write(data)
        print(f"wrote {a.output}: {len(objs)} objects, {len(data) / 2**20:.1f} MiB", file=sys.stderr)
        del data
    if a.queries and a.queries_out:
        with open(a.queries_out, "wb") as fh:
            fh.write(orjson.dumps(queries(objs, a.queries, a.seed)))  # JSON is YAML
    if a.pages or a.snapshot:
        t1 = time.perf_counter()
        described = (f"synthetic cluster: bench/gen_cluster.py --pods {a.pods} --policies {a.policies} "
                     f"--namespaces {namespaces} --seed {a.seed}")
        s = write_outputs(objs, a.pages, a.page_size, a.snapshot, described, release=True)
        if a.pages:
            print(f"wrote {a.pages}: {s['pages']} pages, {s['page_bytes'] / 2**20:.1f} MiB", file=sys.stderr)
        if a.snapshot:
            print(f"wrote {a.snapshot}: {s['objects']} objects, sha256 {s['snapshot_sha256']}", file=sys.stderr)
        print(f"API-shaped outputs in {time.perf_counter() - t1:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
