"""SEMANTICS.md + docs/cli-contract.md: finished pods, workload templates standing for their pods,
input shapes (kind: List, *List, JSON, directories) and the namespace of objects without one.

Every expectation below is derived by hand from SEMANTICS.md / docs/cli-contract.md.
"""

from __future__ import annotations

import gzip
import io
import json

import pytest

from semantics.sem_support import netpol

T, F, N = True, False, None


def test_finished_pods_are_ignored(sem):
    manifest = """\
apiVersion: v1
kind: Namespace
metadata: {name: batch}
---
apiVersion: v1
kind: Pod
metadata: {name: runner, namespace: batch, labels: {app: job}}
spec: {containers: [{name: c, image: registry.example/job:1}]}
status: {phase: Running, podIP: "10.3.0.1", podIPs: [{ip: "10.3.0.1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: done, namespace: batch, labels: {app: job}}
spec: {restartPolicy: Never, containers: [{name: c, image: registry.example/job:1}]}
status: {phase: Succeeded}
---
apiVersion: v1
kind: Pod
metadata: {name: crashed, namespace: batch, labels: {app: job}}
spec: {restartPolicy: Never, containers: [{name: c, image: registry.example/job:1}]}
status: {phase: Failed}
---
apiVersion: v1
kind: Pod
metadata: {name: waiting, namespace: batch, labels: {app: job}}
spec: {containers: [{name: c, image: registry.example/job:1}]}
status: {phase: Pending}
""" + netpol("batch", "deny", "podSelector: {matchLabels: {app: job}}")
    sem.check(
        manifest,
        pods=[
            ("batch/runner", T, F, ["batch/deny"], []),
            # Pending is not finished: still analysed
            ("batch/waiting", T, F, ["batch/deny"], []),
        ],
        ignored=[
            ("batch", "done", "Pod", "Succeeded"),
            ("batch", "crashed", "Pod", "Failed"),
        ],
        probes=[("batch/waiting", "batch/runner", 80, "TCP", F, T, F)],
    )


WORKLOADS = """\
apiVersion: v1
kind: Namespace
metadata: {name: wl}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: wl, uid: uid-dep-api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: registry.example/api:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: wl, uid: uid-dep-web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: registry.example/web:1, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d4f
  namespace: wl
  uid: uid-rs-web
  labels: {app: web, pod-template-hash: 5d4f}
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: uid-dep-web, controller: true}]
spec:
  selector: {matchLabels: {app: web, pod-template-hash: 5d4f}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d4f}}
    spec: {containers: [{name: c, image: registry.example/web:1, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d4f-x1
  namespace: wl
  labels: {app: web, pod-template-hash: 5d4f}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: uid-rs-web, controller: true}]
spec: {containers: [{name: c, image: registry.example/web:1, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: "10.4.0.5", podIPs: [{ip: "10.4.0.5"}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: wl}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: registry.example/db:1, ports: [{name: pg, containerPort: 5432}]}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: wl}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {restartPolicy: Never, containers: [{name: c, image: registry.example/report:1}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: wl}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: c, image: registry.example/agent:1}]}
"""

WORKLOAD_POLICIES = (
    netpol("wl", "deny-ingress", "podSelector: {}")
    + netpol(
        "wl",
        "api-egress",
        """
podSelector: {matchLabels: {app: api}}
policyTypes: [Egress]
egress:
- to: [{podSelector: {matchLabels: {app: db}}}]
  ports: [{port: pg}]
""",
    )
    + netpol(
        "wl",
        "db-from-api",
        """
podSelector: {matchLabels: {app: db}}
ingress:
- from: [{podSelector: {matchLabels: {app: api}}}]
  ports: [{port: 5432}]
""",
    )
    + netpol(
        "wl",
        "web-open",
        """
podSelector: {matchLabels: {app: web}}
ingress:
- ports: [{port: http}]
""",
    )
)


def test_workload_templates_stand_for_their_pods(sem):
    sem.check(
        WORKLOADS + WORKLOAD_POLICIES,
        pods=[
            ("wl/CronJob/report", T, F, ["wl/deny-ingress"], []),
            ("wl/DaemonSet/agent", F, F, ["wl/deny-ingress"], [], T),
            ("wl/Deployment/api", T, T, ["wl/deny-ingress"], ["wl/api-egress"]),
            # Deployment web and ReplicaSet web-5d4f have a pod in the input: only the Pod is listed
            ("wl/web-5d4f-x1", T, F, ["wl/deny-ingress", "wl/web-open"], []),
            ("wl/StatefulSet/db", T, F, ["wl/db-from-api", "wl/deny-ingress"], []),
        ],
        probes=[
            # named egress port pg resolves against the StatefulSet's template
            ("wl/Deployment/api", "wl/StatefulSet/db", 5432, "TCP", T, T, T),
            ("wl/Deployment/api", "wl/StatefulSet/db", 5433, "TCP", F, F, F),
            ("wl/Deployment/api", "wl/web-5d4f-x1", 8080, "TCP", F, F, T),
            ("wl/CronJob/report", "wl/web-5d4f-x1", 8080, "TCP", T, T, T),
            ("wl/CronJob/report", "wl/web-5d4f-x1", 8081, "TCP", F, T, F),
            ("wl/CronJob/report", "wl/StatefulSet/db", 5432, "TCP", F, T, F),
            ("wl/web-5d4f-x1", "wl/Deployment/api", 80, "TCP", F, T, F),
            ("203.0.113.9", "wl/web-5d4f-x1", 8080, "TCP", T, N, T),
            # hostNetwork template: never protected
            ("wl/web-5d4f-x1", "wl/DaemonSet/agent", 9100, "TCP", T, T, T),
            # ... and never matched by a podSelector peer
            ("wl/DaemonSet/agent", "wl/StatefulSet/db", 5432, "TCP", F, T, F),
        ],
    )


LIST_MANIFEST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: lst}
- apiVersion: v1
  kind: Pod
  metadata: {name: one, namespace: lst, labels: {app: one}}
  spec: {containers: [{name: c, image: registry.example/app:1}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: two, namespace: lst, labels: {app: two}}
  spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: one-from-two, namespace: lst}
  spec:
    podSelector: {matchLabels: {app: one}}
    ingress:
    - from: [{podSelector: {matchLabels: {app: two}}}]
      ports: [{port: 80}]
"""

LIST_PODS = [("lst/one", T, F, ["lst/one-from-two"], []), ("lst/two", F, F, [], [])]
LIST_PROBES = [
    ("lst/two", "lst/one", 80, "TCP", T, T, T),
    ("lst/two", "lst/one", 81, "TCP", F, T, F),
    ("lst/one", "lst/two", 80, "TCP", T, T, T),
]


def test_kind_list_and_typed_list_documents_are_unpacked(sem):
    sem.check(LIST_MANIFEST, pods=LIST_PODS, probes=LIST_PROBES)


JSON_DOCUMENT = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lst"}},
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "one", "namespace": "lst", "labels": {"app": "one"}},
            "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "two", "namespace": "lst", "labels": {"app": "two"}},
            "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "one-from-two", "namespace": "lst"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "one"}},
                "ingress": [
                    {"from": [{"podSelector": {"matchLabels": {"app": "two"}}}], "ports": [{"port": 80}]}
                ],
            },
        },
    ],
}


def test_json_input_file(sem):
    sem.check(
        json.dumps(JSON_DOCUMENT, indent=1), pods=LIST_PODS, probes=LIST_PROBES, filename="cluster.json"
    )


def test_directory_input_is_read_recursively(sem, tmp_path):
    root = tmp_path / "manifests"
    sem.write(LIST_MANIFEST.split("---\n")[0], "manifests/a/pods.yaml")
    sem.write("---\n" + LIST_MANIFEST.split("---\n")[1], "manifests/b/deep/policies.yml")
    sem.write("not a manifest: [\n", "manifests/README.md")
    sem.check_isolation([str(root)], pods=LIST_PODS)
    sem.check_reach([str(root)], LIST_PROBES)


NO_NAMESPACE = """\
apiVersion: v1
kind: Pod
metadata: {name: loose, labels: {app: x}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: explicit, namespace: default, labels: {app: x}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: elsewhere, namespace: other, labels: {app: x}}
spec: {containers: [{name: c, image: registry.example/app:1}]}
"""


@pytest.mark.parametrize(
    ("args", "pods", "probes"),
    [
        pytest.param(
            [],
            [
                ("default/explicit", T, F, ["default/deny"], []),
                ("default/loose", T, F, ["default/deny"], []),
                ("other/elsewhere", F, F, [], []),
            ],
            [
                ("other/elsewhere", "default/loose", 80, "TCP", F, T, F),
                ("default/loose", "other/elsewhere", 80, "TCP", T, T, T),
            ],
            id="no-namespace-goes-to-default",
        ),
        pytest.param(
            ["--namespace", "other"],
            [
                ("default/explicit", F, F, [], []),
                ("other/elsewhere", T, F, ["other/deny"], []),
                ("other/loose", T, F, ["other/deny"], []),
            ],
            [
                ("default/explicit", "other/loose", 80, "TCP", F, T, F),
                ("other/loose", "default/explicit", 80, "TCP", T, T, T),
            ],
            id="no-namespace-goes-to-namespace-option",
        ),
    ],
)
def test_object_without_namespace(sem, args, pods, probes):
    sem.check(NO_NAMESPACE, pods=pods, probes=probes, args=args)


def test_gzipped_json_input_file(sem, tmp_path):
    path = tmp_path / "snapshot-like.json.gz"
    path.write_bytes(gzip.compress(json.dumps(JSON_DOCUMENT).encode()))
    sem.check_isolation([str(path)], pods=LIST_PODS)
    sem.check_reach([str(path)], LIST_PROBES)


def test_stdin_input(sem, monkeypatch):
    def stdin():
        return io.TextIOWrapper(io.BytesIO(LIST_MANIFEST.encode()), encoding="utf-8")

    monkeypatch.setattr("sys.stdin", stdin())
    sem.check_isolation(["-"], pods=LIST_PODS)
    monkeypatch.setattr("sys.stdin", stdin())
    sem.check_reach(["-"], LIST_PROBES)


BEYOND_V1 = (
    LIST_MANIFEST
    + """\
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cluster-guard}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {tenant: nobody}}}
  ingress:
  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7-guard, namespace: lst}
spec:
  endpointSelector: {matchLabels: {app: nobody}}
  ingress: [{fromEndpoints: [{}]}]
"""
)


@pytest.mark.parametrize("command", ["isolation", "reach"])
def test_policy_kinds_beyond_v1_are_never_silently_ignored(sem, command):
    """SEMANTICS.md "Beyond v1": when a snapshot holds AdminNetworkPolicy / Cilium / Calico kinds, the output
    must say its verdicts do not cover them. Both objects select nothing here, so the v1 verdicts stand
    either way; the output (stdout or stderr) must still name the kinds."""
    path = sem.write(BEYOND_V1)
    if command == "isolation":
        sem.check_isolation([str(path)], pods=LIST_PODS)
        result = sem.isolation([str(path)])
    else:
        sem.check_reach([str(path)], LIST_PROBES)
        result = sem.reach([str(path)], LIST_PROBES)
    for kind in ("AdminNetworkPolicy", "CiliumNetworkPolicy"):
        assert kind in result.out + result.err, f"{command} output does not mention {kind}"
