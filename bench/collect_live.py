"""Benchmark of the live collector: a generated cluster served by tests/kubeapi.py, collected by
scanner.collect.live through the official client, against the floor of merely parsing the same pages.

    python bench/collect_live.py                      # 150,000 pods, pages of 500, HTTPS + token
    python bench/collect_live.py --pods 20000
    python bench/collect_live.py --pods 20000 --lean  # the generator's small pods, not API-shaped ones

The objects come from bench/gen_cluster.py. By default each pod is dressed the way an API server returns it
(uid, managedFields, annotations, volumes, env, probes, resources, conditions, containerStatuses: about 7 KB of
JSON, like the 1.15 GB PodList of a real 150k-pod cluster); --lean serves the generator's pods as they are.
Every page is serialised once, before anything is timed, and the server only writes bytes.

Collector: a separate process, started before the parent builds the cluster (so its peak RSS is its own),
measured inside (process CPU and wall time around collect(), VmHWM) and by wait4(). Floor: orjson.loads of every
page the collector reads, with the garbage collector off, in the parent. Targets: peak RSS under 1 GB at
150,000 pods and collection CPU at most about 2x the floor.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# ----- the child: collects


def child() -> int:
    import logging

    import orjson  # noqa: F401 - imported before the baseline, as the CLI would

    from scanner.collect.live import collect
    from scanner.progress import Progress

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    job = json.loads(sys.stdin.readline())
    rss_before = _status_kb("VmRSS")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    snap = collect(job["kubeconfig"], None, False, [], job["timeout"], Progress(enabled=False),
                   page_size=job["page_size"])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    kinds: dict[str, int] = {}
    for o in snap.objects:
        kinds[o.obj["kind"]] = kinds.get(o.obj["kind"], 0) + 1
    print(json.dumps({"cpu": cpu, "wall": wall, "rss_before_kb": rss_before, "hwm_kb": _status_kb("VmHWM"),
                      "objects": len(snap.objects), "kinds": kinds, "complete": snap.collection.complete,
                      "problems": snap.collection.problems}), flush=True)
    return 0


# ----- the parent: serves and measures


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def api_shaped(pod: dict[str, Any], i: int) -> dict[str, Any]:
    """The pod as an API server returns it: the generator's fields plus what kubelet and the control plane add."""
    md, spec, status = pod["metadata"], pod["spec"], pod["status"]
    ts = f"2026-11-01T08:{i // 60 % 60:02d}:{i % 60:02d}Z"
    uid = f"{i:08x}-7d3c-4b1e-9a2f-{i * 7919 % 10**12:012d}"
    owner = dict(md["ownerReferences"][0], uid=f"rs-{uid}", blockOwnerDeletion=True)
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
    return {
        "metadata": {
            "name": md["name"], "generateName": md["name"].rsplit("-", 1)[0] + "-", "namespace": md["namespace"],
            "uid": uid, "resourceVersion": str(100000 + i), "creationTimestamp": ts, "labels": md["labels"],
            "annotations": {"kubectl.kubernetes.io/restartedAt": ts, "prometheus.io/scrape": "true",
                            "prometheus.io/port": "9090", "checksum/config": f"{i * 2654435761 % 2**64:016x}" * 4},
            "ownerReferences": [owner],
            "managedFields": [
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": ts,
                 "fieldsType": "FieldsV1", "fieldsV1": {
                     "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/restartedAt": {},
                                                      "f:prometheus.io/port": {}, "f:prometheus.io/scrape": {}},
                                    "f:generateName": {}, "f:labels": {".": {}, **{f"f:{k}": {} for k in md["labels"]}},
                                    "f:ownerReferences": {".": {}, f'k:{{"uid":"rs-{uid}"}}': {}}},
                     "f:spec": {"f:containers": {'k:{"name":"main"}': {
                         ".": {}, "f:env": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:livenessProbe": {},
                         "f:name": {}, "f:ports": {}, "f:readinessProbe": {}, "f:resources": {},
                         "f:securityContext": {}, "f:terminationMessagePath": {}, "f:volumeMounts": {}}},
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
        },
        "spec": {
            "volumes": [{"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}},
                        {"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
            "containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": "default", "serviceAccount": "default",
            "nodeName": spec["nodeName"], "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
            "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300},
                            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": status["phase"], "conditions": conditions, "hostIP": f"192.168.{i % 50}.10",
            "hostIPs": [{"ip": f"192.168.{i % 50}.10"}], "podIP": status["podIP"], "podIPs": status["podIPs"],
            "startTime": ts, "qosClass": "Burstable",
            "containerStatuses": [{
                "name": c["name"], "state": {"running": {"startedAt": ts}}, "lastState": {}, "ready": True,
                "restartCount": 0, "image": c["image"], "imageID": f"{c['image']}@sha256:{i:064x}",
                "containerID": f"containerd://{i * 31:064x}", "started": True,
                "volumeMounts": c["volumeMounts"]} for c in containers],
        },
    }


def _dressed(pods: list[dict[str, Any]], lean: bool) -> Iterator[dict[str, Any]]:
    for i, p in enumerate(pods):
        yield p if lean else api_shaped(p, i)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lean", action="store_true", help="serve the generator's pods as they are")
    ap.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child()

    # The collector's process first, while this one is small (a child's peak RSS includes its parent's at exec).
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, __file__, "--child"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    sys.path.insert(0, str(ROOT / "tests"))
    kubeapi = _load(ROOT / "tests" / "kubeapi.py", "kubeapi")
    gen = _load(ROOT / "bench" / "gen_cluster.py", "gen_cluster")

    t0 = time.perf_counter()
    namespaces = max(40, a.pods // 150)
    objects = gen.generate(a.pods, max(200, a.pods // 15), namespaces, a.seed)
    pods = [o for o in objects if o["kind"] == "Pod"]
    others = [o for o in objects if o["kind"] != "Pod"]
    del objects
    with tempfile.TemporaryDirectory() as tmp:
        pki = None if a.http else kubeapi.make_pki(Path(tmp) / "pki")
        api = kubeapi.KubeAPI(others, tls=not a.http, pki=pki, lifetime=3600)
        api.prepare(a.page_size)
        pod_type = kubeapi.BY_KIND[("", "Pod")]

        pod_bytes = api.prepare_pages(pod_type, _dressed(pods, a.lean), len(pods), a.page_size)
        del pods
        pages = list(api.pages.values())
        total = sum(len(p) for p in pages)
        print(f"cluster: {a.pods} pods ({'lean' if a.lean else 'API-shaped'}, {pod_bytes / a.pods:.0f} bytes each), "
              f"{len(others)} other objects; {len(pages)} pages, {total / 2**20:.0f} MiB of JSON; "
              f"built in {time.perf_counter() - t0:.1f}s", flush=True)

        # The floor: parse every page, nothing else.
        import orjson

        gc.disable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for body in pages:
            orjson.loads(body)
        floor_cpu, floor_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        gc.enable()
        del pages

        with api:
            kubeconfig = api.kubeconfig(Path(tmp) / "kubeconfig")
            wall0 = time.perf_counter()
            proc.stdin.write(json.dumps({"kubeconfig": kubeconfig, "timeout": 3600, "page_size": a.page_size}) + "\n")
            proc.stdin.flush()
            out = proc.stdout.readline()
            _, status, ru = os.wait4(proc.pid, 0)
            total_wall = time.perf_counter() - wall0
            errors = list(api.errors)
    if os.waitstatus_to_exitcode(status) != 0 or not out:
        raise SystemExit(f"the collector failed (exit {os.waitstatus_to_exitcode(status)})")
    r = json.loads(out)
    if not r["complete"] or errors:
        raise SystemExit(f"incomplete collection: {r['problems']} {errors[:1]}")
    hwm_mb, wait4_mb = r["hwm_kb"] / 1024, ru.ru_maxrss / 1024
    ratio = r["cpu"] / floor_cpu
    print(f"collected: {r['objects']} objects ({r['kinds'].get('Pod', 0)} pods), complete")
    print(f"floor (orjson.loads of every page, GC off): CPU {floor_cpu:.2f}s, wall {floor_wall:.2f}s")
    print(f"collect(): CPU {r['cpu']:.2f}s, wall {r['wall']:.2f}s; process CPU (wait4) "
          f"{ru.ru_utime + ru.ru_stime:.2f}s, wall {total_wall:.2f}s")
    print(f"peak RSS: {hwm_mb:.0f} MB (VmHWM; {r['rss_before_kb'] / 1024:.0f} MB after imports), "
          f"wait4 ru_maxrss {wait4_mb:.0f} MB")
    print(f"ratio collect CPU / floor CPU: {ratio:.2f}x (target <= ~2x: {'ok' if ratio <= 2.2 else 'MISSED'}); "
          f"peak RSS {'ok' if hwm_mb < 1024 else 'MISSED'} against 1 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
