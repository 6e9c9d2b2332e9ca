"""Deterministic synthetic clusters for benchmarks and scale tests.

    python bench/gen_cluster.py --pods 2000 --policies 200 --namespaces 40 --seed 1 -o /tmp/c2k.json
    python bench/gen_cluster.py ... --queries 10000 --queries-out /tmp/q.yaml

Namespace sizes are Zipf-skewed; pods come from workloads whose pods share a template (labels include the
high-cardinality pod-template-hash); the policy mix has per-namespace default-deny, DNS egress, ingress
controller and monitoring allows, and per-app rules with matchLabels / In / NotIn / Exists, namespace
selectors, ipBlocks with except and endPort ranges. Output is a `kind: List` JSON document (what `kubectl get
-o json` prints), which every netpol-audit command reads.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

TIERS = ["frontend", "api", "worker", "db", "cache"]
TEAMS = ["payments", "search", "checkout", "identity", "ml", "platform"]


def zipf_sizes(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [1.0 / (i + 1) for i in range(parts)]
    rng.shuffle(weights)
    s = sum(weights)
    sizes = [max(1, int(total * w / s)) for w in weights]
    i = 0
    while sum(sizes) < total:
        sizes[i % parts] += 1
        i += 1
    while sum(sizes) > total:
        j = max(range(parts), key=lambda k: sizes[k])
        sizes[j] -= 1
    return sizes


def generate(pods: int, policies: int, namespaces: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    objs: list[dict[str, Any]] = []
    ns_names = ["kube-system", "monitoring", "ingress-nginx"] + [f"ns-{i:04d}" for i in range(namespaces - 3)]
    for i, ns in enumerate(ns_names):
        labels = {"team": TEAMS[i % len(TEAMS)], "env": rng.choice(["prod", "staging"])}
        if i % 7 == 3:
            labels["pci-scope"] = "cde"
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    sizes = zipf_sizes(pods, len(ns_names), rng)
    ip = 0
    apps_by_ns: dict[str, list[str]] = {}
    for ns, size in zip(ns_names, sizes, strict=True):
        made = 0
        w = 0
        while made < size:
            tier = TIERS[w % len(TIERS)]
            app = f"{tier}-{w}" if ns not in ("kube-system",) else ("coredns" if w == 0 else f"sys-{w}")
            apps_by_ns.setdefault(ns, []).append(app)
            replicas = min(size - made, rng.choice([1, 2, 3, 3, 5, 8]))
            h = f"{rng.getrandbits(32):08x}"[:9]
            labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns, "tier": tier,
                      "version": rng.choice(["v1", "v2"]), "pod-template-hash": h,
                      "team": TEAMS[w % len(TEAMS)], "release": f"r{rng.randint(1, 40)}",
                      "track": rng.choice(["stable", "canary"]), "owner": f"user{rng.randint(1, 99)}",
                      "cost-center": f"cc-{rng.randint(100, 140)}"}
            if app == "coredns":
                labels["k8s-app"] = "kube-dns"
            ports = [{"name": "http", "containerPort": rng.choice([8080, 8000, 3000]), "protocol": "TCP"},
                     {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
            if app == "coredns":
                ports = [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                         {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}]
            for r in range(replicas):
                ip += 1
                addr = f"10.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"
                objs.append({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"{app}-{h}-{r:05d}", "namespace": ns, "labels": labels,
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                      "name": f"{app}-{h}", "controller": True}]},
                    "spec": {"nodeName": f"node-{ip % 50}", "containers": [{"name": "main", "ports": ports}]},
                    "status": {"phase": "Running", "podIP": addr, "podIPs": [{"ip": addr}]},
                })
            made += replicas
            w += 1
    made_pol = 0
    for ns in ns_names:
        if made_pol >= policies:
            break
        if rng.random() < 0.85:
            objs.append(_np(ns, "default-deny", {}, ["Ingress", "Egress"]))
            made_pol += 1
            objs.append(_np(ns, "allow-dns", {}, ["Egress"], egress=[{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]))
            made_pol += 1
    while made_pol < policies:
        ns = rng.choice(ns_names)
        apps = apps_by_ns.get(ns) or ["x"]
        app = rng.choice(apps)
        kind = rng.randrange(6)
        sel = {"matchLabels": {"app.kubernetes.io/name": app}}
        if kind == 0:
            ing = [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
                    "ports": [{"port": "http"}]}]
            objs.append(_np(ns, f"allow-ingress-{made_pol}", sel, ["Ingress"], ingress=ing))
        elif kind == 1:
            ing = [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                              "podSelector": {"matchExpressions": [{"key": "app.kubernetes.io/name",
                                                                    "operator": "In", "values": ["prometheus"]}]}}],
                    "ports": [{"port": "metrics"}]}]
            objs.append(_np(ns, f"allow-scrape-{made_pol}", {}, ["Ingress"], ingress=ing))
        elif kind == 2:
            peer_app = rng.choice(apps)
            ing = [{"from": [{"podSelector": {"matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                {"key": "app.kubernetes.io/name", "operator": "In", "values": [peer_app]}]}}],
                "ports": [{"port": 8000, "endPort": 8100}]}]
            objs.append(_np(ns, f"allow-app-{made_pol}", sel, ["Ingress"], ingress=ing))
        elif kind == 3:
            eg = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.169.254/32"]}}],
                   "ports": [{"port": 443}]}]
            objs.append(_np(ns, f"allow-egress-{made_pol}", sel, ["Egress"], egress=eg))
        elif kind == 4:
            other = rng.choice(ns_names)
            eg = [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": other}},
                           "podSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}]}]
            objs.append(_np(ns, f"allow-to-{other}-{made_pol}", sel, ["Egress"], egress=eg))
        else:
            ing = [{"from": [{"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}}}],
                    "ports": [{"port": "http"}, {"port": 9090, "protocol": "TCP"}]}]
            objs.append(_np(ns, f"allow-team-{made_pol}", sel, None, ingress=ing))
        made_pol += 1
    return objs


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--policies", type=int, default=200)
    ap.add_argument("--namespaces", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--queries", type=int, default=0)
    ap.add_argument("--queries-out")
    a = ap.parse_args()
    objs = generate(a.pods, a.policies, max(a.namespaces, 4), a.seed)
    with open(a.output, "w") as fh:
        json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, fh)
    if a.queries and a.queries_out:
        with open(a.queries_out, "w") as fh:
            json.dump(queries(objs, a.queries, a.seed), fh)  # JSON is YAML
    print(f"wrote {a.output}: {len(objs)} objects", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
