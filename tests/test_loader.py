"""Input: files, directories, stdin, YAML/JSON, Lists, namespaces, workloads, bad input."""

import io
import json
import sys

from conftest import run_cli, run_json

from scanner.api import load
from scanner.collect.files import document_lines

POD = """apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {{app: {app}}}}}
spec: {{containers: [{{name: c}}]}}
"""


def names(data):
    return [(p["namespace"], p["name"], p["kind"]) for p in data["pods"]]


def test_multi_document_yaml_helm_style_with_comments_and_empty_documents(write):
    text = "---\n# Source: chart/templates/a.yaml\n" + POD.format(name="a", ns="x", app="a") + "---\n---\n" \
        + "# Source: chart/templates/b.yaml\n" + POD.format(name="b", ns="x", app="b")
    path = write("helm.yaml", text)
    rc, data, _ = run_json("isolation", path, "-o", "json")
    assert rc == 0
    assert names(data) == [("x", "a", "Pod"), ("x", "b", "Pod")]
    loaded = load([path])
    assert [(o.source.document, o.source.line) for o in loaded.raw.objects] == [(1, 3), (3, 10)]


def test_document_lines_without_leading_separator():
    assert document_lines(b"a: 1\n---\n\n# c\nb: 2\n") == [1, 5]


def test_kind_list_and_typed_list_without_item_kinds(write):
    lst = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}, "spec": {}}]}
    podlist = {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": [
        {"metadata": {"name": "b", "namespace": "x"}, "spec": {}}]}
    p1 = write("list.json", json.dumps(lst))
    p2 = write("podlist.yaml", json.dumps(podlist))
    rc, data, _ = run_json("isolation", p1, p2, "-o", "json")
    assert rc == 0
    assert names(data) == [("x", "a", "Pod"), ("x", "b", "Pod")]


def test_directory_is_read_recursively_and_unknown_kinds_are_counted(write, tmp_path):
    write("d/one.yaml", POD.format(name="a", ns="x", app="a"))
    write("d/sub/two.yml", POD.format(name="b", ns="y", app="a"))
    write("d/sub/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\ndata: {k: secret}\n")
    write("d/notes.txt", "not read")
    loaded = load([str(tmp_path / "d")])
    assert [(e.namespace, e.name) for e in loaded.cluster.endpoints] == [("x", "a"), ("y", "b")]
    assert loaded.cluster.skipped_kinds == {"v1/ConfigMap": 1}
    assert all(o.obj["kind"] != "ConfigMap" for o in loaded.raw.objects)


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(POD.format(name="a", ns="x", app="a").encode())))
    rc, data, _ = run_json("isolation", "-", "-o", "json")
    assert rc == 0 and names(data) == [("x", "a", "Pod")]


def test_object_without_namespace_goes_to_default_or_given_namespace(write):
    path = write("p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {}\n")
    assert names(run_json("isolation", path, "-o", "json")[1]) == [("default", "a", "Pod")]
    assert names(run_json("isolation", path, "-n", "team-a", "-o", "json")[1]) == [("team-a", "a", "Pod")]
    loaded = load([path], "team-a")
    assert loaded.cluster.defaulted_objects == (("Pod", "team-a", "a"),)


def test_namespace_label_added_and_forced_to_name(write):
    path = write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: "
                            "{kubernetes.io/metadata.name: wrong, team: x}}\n---\n"
                 + POD.format(name="p", ns="undeclared", app="a"))
    c = load([path]).cluster
    assert c.namespaces["a"].labels == {"kubernetes.io/metadata.name": "a", "team": "x"}
    assert c.namespaces["a"].defined is True
    assert c.namespaces["undeclared"].labels == {"kubernetes.io/metadata.name": "undeclared"}
    assert c.namespaces["undeclared"].defined is False


WORKLOADS = """apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: x}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: x}
spec:
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
    spec: {containers: [{name: c}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: x}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: nightly}}
        spec: {restartPolicy: Never, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-5d4c8b7f9-abcde
  namespace: x
  labels: {app: api, pod-template-hash: 5d4c8b7f9}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-5d4c8b7f9, controller: true}]
spec: {containers: [{name: c}]}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata:
  name: nightly-28000000-xyz
  namespace: x
  labels: {app: nightly}
  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: nightly-28000000, controller: true}]
spec: {containers: [{name: c}]}
status: {phase: Succeeded}
"""


def test_workloads_count_once_and_templates_stand_for_missing_pods(write):
    path = write("w.yaml", WORKLOADS)
    rc, data, _ = run_json("isolation", path, "-o", "json")
    assert rc == 0
    # api has a live pod (through its ReplicaSet's name); idle and nightly (only a finished pod) stand as templates
    assert names(data) == [("x", "nightly", "CronJob"), ("x", "idle", "Deployment"),
                           ("x", "api-5d4c8b7f9-abcde", "Pod")]
    assert data["ignored"] == [{"namespace": "x", "name": "nightly-28000000-xyz", "kind": "Pod",
                                "reason": "phase Succeeded: a finished pod holds no IP"}]


def test_replicaset_in_input_links_pod_to_deployment(write):
    rs = """apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api-5d4c8b7f9
  namespace: x
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, controller: true}]
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c}]}
"""
    path = write("w.yaml", WORKLOADS + "---\n" + rs)
    data = run_json("isolation", path, "-o", "json")[1]
    assert ("x", "api", "Deployment") not in names(data)
    assert ("x", "api-5d4c8b7f9", "ReplicaSet") not in names(data)


def test_malformed_yaml_one_line_naming_file_and_position(write):
    path = write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
    rc, out, err = run_cli("isolation", path)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"netpol-audit: error: {path}: document 1: invalid YAML: line 4 column 1")


def test_bad_objects_name_file_object_and_field(write):
    cases = {
        "a.yaml": ("- 1\n- 2\n", "document 1: a Kubernetes object must be a mapping, not a list"),
        "b.yaml": ("kind: Pod\nmetadata: {name: x}\n", "document 1 Pod/x: apiVersion: object has no apiVersion"),
        "c.yaml": ("apiVersion: v1\nmetadata: {name: x}\n", "document 1: kind: object has no kind"),
        "d.yaml": ("apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: n, labels: {a: [1]}}\n",
                   "Pod n/x: metadata.labels.a: label value must be a string, not a list"),
        "e.yaml": ("apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: n}\nspec: {containers: "
                   "[{name: c, ports: [{containerPort: 70000}]}]}\n",
                   "Pod n/x: spec.containers[0].ports[0].containerPort: 70000 must be a port number 1-65535"),
    }
    for name, (text, expected) in cases.items():
        path = write(name, text)
        rc, _, err = run_cli("isolation", path)
        assert rc == 2, name
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert expected in err, err
        assert path in err


def test_missing_file():
    rc, _, err = run_cli("isolation", "/nonexistent/x.yaml")
    assert (rc, err) == (2, "netpol-audit: error: /nonexistent/x.yaml: no such file or directory\n")


def test_file_size_limit(write):
    path = write("big.yaml", POD.format(name="a", ns="x", app="a") * 1)
    rc, _, err = run_cli("isolation", path, "--max-file-size", "10")
    assert rc == 2 and "larger than the limit of 10 bytes" in err


def test_duplicate_objects_last_wins_with_a_warning(write):
    p1 = write("a.yaml", POD.format(name="a", ns="x", app="one"))
    p2 = write("b.yaml", POD.format(name="a", ns="x", app="two"))
    loaded = load([p1, p2])
    assert [e.labels for e in loaded.cluster.endpoints] == [{"app": "two"}]
    assert loaded.raw.warnings == [f"{p2} (document 1, line 1): Pod x/a is also defined in {p1} (document 1, "
                                   "line 1); the last definition is used"]
