"""Live collection against a real local API server (tests/kubeapi.py), driven by the official client."""

import json
import time
from pathlib import Path

import pytest
from conftest import ROOT, bench_module
from kubeapi import Faults, KubeAPI, make_pki

from scanner.collect import snapshot as snapshot_io
from scanner.collect.files import Limits, load_files
from scanner.collect.live import collect
from scanner.collect.project import project, scope_of
from scanner.engine import Index
from scanner.errors import CollectionError
from scanner.parse import parse
from scanner.progress import Progress
from scanner.queries import isolation

QUIET = Progress(enabled=False)
FAST = {"request_timeout": 2.0, "max_attempts": 3}




def _template(app, image="registry.example/app:1", ports=None):
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": image, "env": [{"name": "PASSWORD", "value": "x"}],
                                     "ports": ports or [{"name": "http", "containerPort": 8080}]}]}}


def make_cluster(pods=120, namespaces=6, seed=7):
    """A generated cluster (bench/gen_cluster.py) plus every other kind the collector lists, and Secrets and
    ConfigMaps it must never ask for."""
    objs = bench_module("gen_cluster").generate(pods, 30, namespaces, seed)
    ns = "ns-0000"
    objs += [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": _template("web")}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns},
         "spec": {"selector": {"matchLabels": {"app": "db"}}, "template": _template("db")}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "calico-node", "namespace": "kube-system"},
         "spec": {"selector": {"matchLabels": {"app": "calico-node"}},
                  "template": _template("calico-node", "docker.io/calico/node:v3.28.0")}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-5d8f", "namespace": ns,
                                                                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u1", "controller": True}]},
         "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": _template("web")}},
        {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy", "namespace": ns},
         "spec": {"selector": {"app": "legacy"}, "template": _template("legacy")}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": ns},
         "spec": {"template": _template("migrate")}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": ns},
         "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": _template("report")}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"type": "ClusterIP", "selector": {"app": "web"}, "clusterIP": "10.96.0.10",
                  "ports": [{"port": 80, "targetPort": "http"}]}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"zone": "a"}},
         "spec": {"podCIDR": "10.244.1.0/24"}, "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.11"}]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password", "namespace": ns},
         "data": {"password": "c2VjcmV0"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
         "data": {"key": "value"}},
        {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
         "metadata": {"name": "deny-monitoring"},
         "spec": {"priority": 10, "subject": {"namespaces": {}}, "ingress": [{"action": "Deny", "from": [
             {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]}},
        {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
         "metadata": {"name": "default"}, "spec": {"subject": {"namespaces": {}}, "ingress": []}},
        {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
         "metadata": {"name": "tier-admin"}, "spec": {"tier": "Admin", "priority": 5, "subject": {"namespaces": {}}}},
        {"apiVersion": "crd.projectcalico.org/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "calico-allow", "namespace": ns}, "spec": {"selector": "all()", "types": ["Ingress"]}},
        {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
         "metadata": {"name": "calico-global"}, "spec": {"selector": "all()", "types": ["Egress"]}},
        {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
         "metadata": {"name": "v3-allow", "namespace": ns}, "spec": {"selector": "all()"}},
        {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
         "metadata": {"name": "v3-global"}, "spec": {"selector": "all()"}},
        {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
         "metadata": {"name": "cilium-l7", "namespace": ns}, "spec": {"endpointSelector": {}}},
        {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
         "metadata": {"name": "cilium-host"}, "spec": {"nodeSelector": {}}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "networkpolicies.crd.projectcalico.org"},
         "spec": {"group": "crd.projectcalico.org", "names": {"kind": "NetworkPolicy", "plural": "networkpolicies"},
                  "scope": "Namespaced", "versions": [{"name": "v1", "served": True, "storage": True}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "done-1", "namespace": ns, "labels": {"app": "x"}},
         "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Succeeded"}},
    ]
    return objs


def _key(o):
    md = o["metadata"]
    return (o["apiVersion"], o["kind"], md.get("namespace") or "", md["name"])


def expected(api, keep=lambda o: True):
    """The projection of what the server holds, for the kinds the scanner keeps."""
    return sorted((project(o) for o in api.objects() if scope_of(o["apiVersion"], o["kind"]) and keep(o)), key=_key)


def got(snap):
    return sorted((o.obj for o in snap.objects), key=_key)


def list_requests(api, path):
    """The requests to one list path (`/api/v1/pods`), or of one plural anywhere (`pods`)."""
    if path.startswith("/"):
        return [(p, q) for p, q in api.requests if p == path]
    return [(p, q) for p, q in api.requests if p.endswith("/" + path)]


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def cluster():
    return make_cluster()


@pytest.fixture
def serve(pki, tmp_path):
    """Start a server for the test; returns (api, kubeconfig path). Checks the server made no errors."""
    started = []

    def _serve(objects, faults=None, **kwargs):
        api = KubeAPI(objects, pki=pki, faults=faults, lifetime=60, **kwargs).start()
        started.append(api)
        return api, api.kubeconfig(tmp_path / f"kubeconfig-{len(started)}")

    yield _serve
    for api in started:
        api.stop()
        assert not api.errors, api.errors[0]


# ----- a healthy cluster


def test_collection_equals_the_served_objects(serve, cluster):
    api, kc = serve(cluster)
    snap = collect(kc, None, False, [], 30, QUIET, page_size=500)
    assert snap.collection.complete and snap.collection.problems == []
    assert got(snap) == expected(api)
    kinds = {(o["apiVersion"], o["kind"]) for o in got(snap)}
    assert {("cilium.io/v2", "CiliumClusterwideNetworkPolicy"), ("projectcalico.org/v3", "GlobalNetworkPolicy"),
            ("crd.projectcalico.org/v1", "NetworkPolicy"), ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("batch/v1", "CronJob"), ("v1", "Node")} <= kinds
    assert snap.source_type == "cluster" and snap.warnings == []
    assert snap.inputs == [f"{api.url} (context test)"]


def test_the_projection_keeps_the_source_objects_and_drops_the_rest(serve, cluster):
    _api, kc = serve(cluster)
    snap = collect(kc, None, False, [], 30, QUIET)
    by_key = {_key(o): o for o in got(snap)}
    for src in cluster:
        if scope_of(src["apiVersion"], src["kind"]) is None:
            assert _key(src) not in by_key
            continue
        o = dict(by_key[_key(src)])
        o["metadata"] = {k: v for k, v in o["metadata"].items() if k != "uid"}  # the server sets uids
        assert o == project(src)
    secret_text = json.dumps([o.obj for o in snap.objects])
    assert "c2VjcmV0" not in secret_text and "PASSWORD" not in secret_text and "managedFields" not in secret_text


def test_secrets_and_configmaps_are_never_requested(serve, cluster):
    api, kc = serve(cluster)
    collect(kc, None, False, [], 30, QUIET)
    assert not [p for p, _ in api.requests if "secrets" in p or "configmaps" in p]


def test_pagination_reads_every_page(serve, cluster):
    api, kc = serve(cluster)
    snap = collect(kc, None, False, [], 30, QUIET, page_size=7)
    assert snap.collection.complete
    assert got(snap) == expected(api)
    pods = sum(1 for o in api.objects() if o["kind"] == "Pod")
    requests = list_requests(api, "pods")
    assert len(requests) == -(-pods // 7)
    assert requests[0][1] == "limit=7" and all("continue=" in q for _, q in requests[1:])


def test_optional_groups_are_listed_only_when_discovery_shows_them(serve):
    objs = [o for o in make_cluster(pods=20, namespaces=4) if "/" not in o["apiVersion"] or o["apiVersion"].split("/")[0] in ("apps", "batch", "networking.k8s.io", "apiextensions.k8s.io")]
    api, kc = serve(objs)
    snap = collect(kc, None, False, [], 30, QUIET)
    assert snap.collection.complete
    assert got(snap) == expected(api)
    assert not [p for p, _ in api.requests if "cilium" in p or "calico" in p or "policy.networking" in p]


def test_an_empty_optional_group_is_listed_and_found_empty(serve):
    api, kc = serve(make_cluster(pods=10, namespaces=4)[:5], groups=["cilium.io"])
    snap = collect(kc, None, False, [], 30, QUIET)
    assert snap.collection.complete
    assert ("/apis/cilium.io/v2/ciliumnetworkpolicies", "limit=500") in api.requests


def test_progress_reports_kinds_objects_and_pages(serve, cluster):
    class Recording(Progress):
        def __init__(self):
            super().__init__(enabled=True)
            self.lines = []
            self.finished = False

        def update(self, message):
            self.lines.append(message)

        def done(self):
            self.finished = True

    _, kc = serve(cluster)
    progress = Recording()
    collect(kc, None, False, [], 30, progress, page_size=50)
    assert progress.finished
    assert any(line.startswith("cluster: Pod (") and " objects, " in line and line.endswith(" pages")
               for line in progress.lines)


# ----- faults


def test_bad_credentials_are_a_collection_error(serve, cluster, tmp_path):
    api, _ = serve(cluster)
    kc = api.kubeconfig(tmp_path / "wrong", token="not-the-token")
    with pytest.raises(CollectionError, match=r"rejected the credentials \(401 Unauthorized\)"):
        collect(kc, None, False, [], 30, QUIET)
    assert api.requests == [("/apis", "")]  # stopped at once


def test_credentials_rejected_after_the_first_request_are_recorded(serve, cluster):
    api, kc = serve(cluster, Faults(unauthorized={"services"}))
    snap = collect(kc, None, False, [], 30, QUIET)
    assert snap.collection.problems == [{"kind": "Service", "namespace": None,
                                         "reason": "HTTP 401 Unauthorized: Unauthorized"}]
    assert got(snap) == expected(api, lambda o: o["kind"] != "Service")


def test_forbidden_pods_are_recorded_and_the_rest_kept(serve, cluster):
    api, kc = serve(cluster, Faults(forbidden={"pods"}))
    snap = collect(kc, None, False, [], 30, QUIET)
    assert not snap.collection.complete
    assert snap.collection.problems == [{
        "kind": "Pod", "namespace": None,
        "reason": 'HTTP 403 Forbidden: pods is forbidden: User "tenant" cannot list resource "pods" in API group '
                  '"" at the cluster scope'}]
    assert got(snap) == expected(api, lambda o: o["kind"] != "Pod")


def test_a_missing_api_group_is_recorded_for_each_of_its_kinds(serve, cluster):
    api, kc = serve(cluster, Faults(missing_groups={"batch"}))
    snap = collect(kc, None, False, [], 30, QUIET)
    reason = "not served: HTTP 404 Not Found: the server could not find the requested resource"
    assert snap.collection.problems == [
        {"kind": "Job", "namespace": None, "reason": f"batch/v1 jobs {reason}"},
        {"kind": "CronJob", "namespace": None, "reason": f"batch/v1 cronjobs {reason}"}]
    assert got(snap) == expected(api, lambda o: o["apiVersion"] != "batch/v1")


def test_a_missing_plugin_group_is_not_a_problem(serve, cluster):
    api, kc = serve(cluster, Faults(missing_groups={"cilium.io"}))
    snap = collect(kc, None, False, [], 30, QUIET)
    assert snap.collection.complete
    assert got(snap) == expected(api, lambda o: o["apiVersion"] != "cilium.io/v2")


def test_too_many_requests_honours_retry_after_and_completes(serve, cluster):
    api, kc = serve(cluster, Faults(too_many={"pods": 1}, retry_after="1"))
    started = time.monotonic()
    snap = collect(kc, None, False, [], 30, QUIET)
    assert time.monotonic() - started >= 1.0
    assert snap.collection.complete
    assert got(snap) == expected(api)
    assert list_requests(api, "pods")[:2] == [("/api/v1/pods", "limit=500")] * 2


def test_server_errors_are_retried_with_backoff(serve, cluster):
    api, kc = serve(cluster, Faults(unavailable={"networkpolicies.networking.k8s.io": 2}))
    snap = collect(kc, None, False, [], 30, QUIET)
    assert snap.collection.complete
    assert got(snap) == expected(api)
    assert len(list_requests(api, "/apis/networking.k8s.io/v1/networkpolicies")) == 3


def test_persistent_server_errors_give_up_after_bounded_attempts(serve, cluster):
    api, kc = serve(cluster, Faults(unavailable={"services": 99}))
    snap = collect(kc, None, False, [], 30, QUIET, **FAST)
    assert snap.collection.problems == [{
        "kind": "Service", "namespace": None,
        "reason": "HTTP 503 Service Unavailable: the server is currently unable to handle the request "
                  "(gave up after 3 attempts)"}]
    assert len(list_requests(api, "services")) == 3
    assert got(snap) == expected(api, lambda o: o["kind"] != "Service")


def test_an_expired_continue_token_restarts_the_list(serve, cluster):
    api, kc = serve(cluster, Faults(expire={"pods": 2}))
    snap = collect(kc, None, False, [], 30, QUIET, page_size=40)
    assert snap.collection.complete
    assert got(snap) == expected(api)  # no page twice
    firsts = [q for _, q in list_requests(api, "pods") if q == "limit=40"]
    assert len(firsts) == 3


def test_a_continue_token_that_keeps_expiring_is_recorded(serve, cluster):
    api, kc = serve(cluster, Faults(expire={"pods": 99}))
    snap = collect(kc, None, False, [], 30, QUIET, page_size=40)
    [problem] = snap.collection.problems
    assert problem["kind"] == "Pod" and problem["namespace"] is None
    assert problem["reason"].startswith("HTTP 410 Gone: The provided continue parameter is too old")
    assert problem["reason"].endswith("(the list was restarted 3 times); 40 objects listed before it were kept")
    assert len([q for _, q in list_requests(api, "pods") if q == "limit=40"]) == 4


def test_a_connection_dropped_mid_list_is_retried(serve, cluster):
    api, kc = serve(cluster, Faults(drop={"pods": 1}))
    snap = collect(kc, None, False, [], 30, QUIET, page_size=40)
    assert snap.collection.complete
    assert got(snap) == expected(api)


def test_a_connection_dropped_mid_list_every_time_is_incomplete(serve, cluster):
    api, kc = serve(cluster, Faults(drop={"pods": 99}))
    snap = collect(kc, None, False, [], 30, QUIET, page_size=40, **FAST)
    [problem] = snap.collection.problems
    assert problem["kind"] == "Pod"
    assert problem["reason"].startswith("connection failed: ")
    assert problem["reason"].endswith("(gave up after 3 attempts); 40 objects listed before it were kept")
    pods = [o for o in got(snap) if o["kind"] == "Pod"]
    assert pods == [o for o in expected(api) if o["kind"] == "Pod"][:40]  # the first page
    assert got(snap) == sorted([*expected(api, lambda o: o["kind"] != "Pod"), *pods], key=_key)


def test_a_truncated_response_is_retried(serve, cluster):
    api, kc = serve(cluster, Faults(truncate={"pods": 1}))
    snap = collect(kc, None, False, [], 30, QUIET)
    assert snap.collection.complete
    assert got(snap) == expected(api)


def test_truncated_responses_are_recorded(serve, cluster):
    _api, kc = serve(cluster, Faults(truncate={"deployments.apps": 99}))
    snap = collect(kc, None, False, [], 30, QUIET, **FAST)
    assert snap.collection.problems == [{
        "kind": "Deployment", "namespace": None,
        "reason": "truncated response: the connection closed before the announced length was read "
                  "(gave up after 3 attempts)"}]


def test_invalid_json_is_recorded(serve, cluster):
    api, kc = serve(cluster, Faults(invalid_json={"nodes": 99}))
    snap = collect(kc, None, False, [], 30, QUIET, **FAST)
    [problem] = snap.collection.problems
    assert problem["kind"] == "Node" and problem["namespace"] is None
    assert problem["reason"].startswith("invalid JSON in the response (")
    assert problem["reason"].endswith("(gave up after 3 attempts)")
    assert got(snap) == expected(api, lambda o: o["kind"] != "Node")


def test_a_slow_kind_times_out_and_the_rest_is_kept(serve, cluster):
    api, kc = serve(cluster, Faults(slow={"statefulsets.apps": 1.0}))
    started = time.monotonic()
    snap = collect(kc, None, False, [], 30, QUIET, request_timeout=0.3, max_attempts=2)
    assert time.monotonic() - started < 5
    assert snap.collection.problems == [{"kind": "StatefulSet", "namespace": None,
                                         "reason": "timed out after 0.3s (gave up after 2 attempts)"}]
    assert got(snap) == expected(api, lambda o: o["kind"] != "StatefulSet")


def test_the_overall_deadline_records_the_kinds_not_collected(serve, cluster):
    _api, kc = serve(cluster, Faults(slow={"networkpolicies.networking.k8s.io": 0.3}))
    started = time.monotonic()
    snap = collect(kc, None, False, [], 1.0, QUIET, page_size=5)
    assert time.monotonic() - started < 2.5  # the deadline, plus slack for a loaded machine
    problems = snap.collection.problems
    assert [p["kind"] for p in problems] == [
        "NetworkPolicy", "CiliumNetworkPolicy.cilium.io", "CiliumClusterwideNetworkPolicy.cilium.io",
        "NetworkPolicy.crd.projectcalico.org", "GlobalNetworkPolicy.crd.projectcalico.org",
        "AdminNetworkPolicy.policy.networking.k8s.io", "BaselineAdminNetworkPolicy.policy.networking.k8s.io",
        "ClusterNetworkPolicy.policy.networking.k8s.io", "NetworkPolicy.projectcalico.org",
        "GlobalNetworkPolicy.projectcalico.org", "Service", "Node", "Deployment", "StatefulSet", "DaemonSet",
        "ReplicaSet", "ReplicationController", "Job", "CronJob", "Pod"]
    assert "the overall timeout of 1s" in problems[0]["reason"]
    assert problems[0]["reason"].endswith("objects listed before it were kept")
    assert all(p["reason"] == "not collected: the overall timeout of 1s was reached" for p in problems[1:])
    assert {o["kind"] for o in got(snap)} == {"Namespace", "NetworkPolicy"}
    assert snap.warnings == ["cluster: CustomResourceDefinition not collected (not collected: the overall timeout "
                             "of 1s was reached); plugin detection cannot use them"]


def test_an_unreachable_server_is_a_collection_error(serve, pki, tmp_path):
    api, _ = serve([])
    kc = api.kubeconfig(tmp_path / "kc")
    api.stop()
    with pytest.raises(CollectionError, match=r"cannot talk to the API server: cannot connect to"):
        collect(kc, None, False, [], 10, QUIET, request_timeout=1, max_attempts=2)


def test_a_server_certificate_from_another_ca_is_a_collection_error(serve, pki, tmp_path):
    _api, kc = serve([])
    doc = json.loads(Path(kc).read_text())
    doc["clusters"][0]["cluster"]["certificate-authority"] = str(pki.other_ca_cert)
    (tmp_path / "other").write_text(json.dumps(doc))
    with pytest.raises(CollectionError, match=r"TLS error talking to https://127\.0\.0\.1:\d+: .*CERTIFICATE_VERIFY_FAILED"):
        collect(str(tmp_path / "other"), None, False, [], 10, QUIET)


# ----- namespaced mode, authentication and configuration


def test_namespaced_mode_lists_only_the_given_namespaces(serve, cluster):
    wanted = ["ns-0000", "ns-0001"]
    api, kc = serve(cluster, Faults(tenant_namespaces=set(wanted)))
    snap = collect(kc, None, False, ["ns-0001", "ns-0000", "ns-0001"], 30, QUIET)
    assert got(snap) == expected(api, lambda o: o["metadata"].get("namespace") in wanted
                                 or (o["kind"] == "Namespace" and o["metadata"]["name"] in wanted))
    forbidden = [p["kind"] for p in snap.collection.problems]
    assert forbidden == ["CiliumClusterwideNetworkPolicy.cilium.io", "GlobalNetworkPolicy.crd.projectcalico.org",
                         "AdminNetworkPolicy.policy.networking.k8s.io",
                         "BaselineAdminNetworkPolicy.policy.networking.k8s.io",
                         "ClusterNetworkPolicy.policy.networking.k8s.io", "GlobalNetworkPolicy.projectcalico.org",
                         "Node"]
    assert all(p["namespace"] is None and p["reason"].startswith("HTTP 403 Forbidden: ")
               for p in snap.collection.problems)
    assert snap.warnings == ["cluster: CustomResourceDefinition not collected (HTTP 403 Forbidden: "
                             "customresourcedefinitions.apiextensions.k8s.io is forbidden: User \"tenant\" cannot "
                             "list resource \"customresourcedefinitions\" in API group \"apiextensions.k8s.io\" at "
                             "the cluster scope); plugin detection cannot use them"]
    assert snap.inputs == [f"{api.url} (context test; namespaces ns-0000, ns-0001)"]
    namespaced = [p for p, _ in api.requests if "/namespaces/" in p]
    assert namespaced and all(p.split("/namespaces/")[1].split("/")[0] in wanted for p in namespaced)
    assert ("/api/v1/namespaces/ns-0000", "") in api.requests
    assert not [p for p, _ in api.requests if p.endswith("/pods") and "/namespaces/" not in p]


def test_namespaced_mode_records_a_namespace_it_cannot_read(serve, cluster):
    api, kc = serve(cluster, Faults(forbidden_namespaces={"ns-0001"}))
    snap = collect(kc, None, False, ["ns-0001", "no-such-ns"], 30, QUIET)
    assert snap.collection.problems == [
        {"kind": "Namespace", "namespace": "no-such-ns",
         "reason": 'namespace no-such-ns does not exist (HTTP 404 Not Found: namespaces "no-such-ns" not found)'},
        {"kind": "Namespace", "namespace": "ns-0001",
         "reason": "cannot read the namespace's labels, which namespaceSelectors match (HTTP 403 Forbidden: "
                   'namespaces "ns-0001" is forbidden: User "tenant" cannot get resource "namespaces" in API '
                   'group "" in the namespace "ns-0001")'}]
    assert got(snap) == expected(api, lambda o: o["kind"] != "Namespace" and (
        o["metadata"].get("namespace") == "ns-0001" or "namespace" not in o["metadata"]))


def test_client_certificate_authentication(serve, cluster, tmp_path):
    api, _ = serve(cluster, token=None)
    kc = api.kubeconfig(tmp_path / "cert", client_cert=True)
    snap = collect(kc, None, False, [], 30, QUIET)
    assert snap.collection.complete
    assert got(snap) == expected(api)


def test_token_authentication_without_tls(cluster, tmp_path):
    with KubeAPI(cluster, tls=False, lifetime=30) as api:
        kc = api.kubeconfig(tmp_path / "plain")
        snap = collect(kc, None, False, [], 30, QUIET)
        assert snap.inputs == [f"{api.url} (context test)"] and api.url.startswith("http://")
    assert snap.collection.complete
    assert got(snap) == expected(api)
    assert not api.errors


def test_the_context_is_chosen_and_named(serve, cluster, tmp_path):
    api, _ = serve(cluster)
    kc = api.kubeconfig(tmp_path / "ctx", context="prod", extra_contexts=["staging"])
    snap = collect(kc, "staging", False, [], 30, QUIET)
    assert snap.inputs == [f"{api.url} (context staging)"]
    with pytest.raises(CollectionError, match=r"no context named 'dev' \(it has prod, staging\)"):
        collect(kc, "dev", False, [], 30, QUIET)


def test_kubeconfig_is_read_from_the_environment_when_the_collection_starts(serve, cluster, monkeypatch):
    _api, kc = serve(cluster)
    monkeypatch.setenv("KUBECONFIG", kc)
    snap = collect(None, None, False, [], 30, QUIET)
    assert snap.collection.complete


def test_a_missing_kubeconfig_is_a_collection_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(CollectionError, match=r"kubeconfig .*/nope: no such file"):
        collect(str(tmp_path / "nope"), None, False, [], 30, QUIET)


def test_in_cluster_service_account(serve, cluster, pki, tmp_path, monkeypatch):
    import kubernetes.config.incluster_config as incluster

    api, _ = serve(cluster)
    (tmp_path / "token").write_text(api.token)
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(pki.ca_cert))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", api.url.rsplit(":", 1)[1])
    snap = collect(None, None, True, [], 30, QUIET)
    assert snap.collection.complete
    assert got(snap) == expected(api)
    assert snap.inputs == [f"{api.url} (in-cluster service account)"]


def test_in_cluster_outside_a_pod_is_a_collection_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(CollectionError, match=r"in-cluster configuration: Service host/port is not set"):
        collect(None, None, True, [], 30, QUIET)


# ----- the snapshot and the audit


def test_the_snapshot_records_the_cluster_and_no_credentials(serve, cluster):
    api, kc = serve(cluster, Faults(forbidden={"nodes"}))
    snap = collect(kc, None, False, [], 30, QUIET)
    content = snapshot_io.build(snap)
    data = snapshot_io.canonical_bytes(content)
    assert content["source"] == {"type": "cluster", "inputs": [f"{api.url} (context test)"]}
    assert content["collection"]["complete"] is False
    assert content["collection"]["problems"][0]["kind"] == "Node"
    assert api.token.encode() not in data and b"BEGIN" not in data
    back = snapshot_io.parse_snapshot(data, "snap.json")
    assert [o.obj for o in back.objects] == [o.obj for o in snap.objects]
    assert back.collection.to_json() == snap.collection.to_json()


def test_the_audit_of_a_live_collection_equals_the_audit_of_the_manifests(serve, tmp_path):
    objects = make_cluster(pods=300, namespaces=12, seed=11)
    manifests = tmp_path / "cluster.json"
    manifests.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    _, kc = serve(objects)
    live = collect(kc, None, False, [], 30, QUIET, page_size=25)
    files = load_files([str(manifests)], "default", Limits(), QUIET)
    live_result = isolation(Index(parse(live)))
    files_result = isolation(Index(parse(files)))
    assert live_result == files_result
    assert len(live_result["pods"]) > 300


# ----- the CLI end to end against the server


def _example_objects():
    from scanner.collect.files import decode, iter_input_files

    objs = []
    for f in iter_input_files(str(ROOT / "examples" / "shop-cluster")):
        data = Path(f).read_bytes()
        for _, _, doc in decode(data, f, Limits()):
            if not isinstance(doc, dict):
                continue
            items = doc.get("items") if doc.get("kind") == "List" else [doc]
            for o in items or []:
                if o.get("kind") in ("ConfigMap", "ServiceAccount"):
                    continue
                o = json.loads(json.dumps(o))
                o.setdefault("metadata", {}).setdefault("namespace", "default") if scope_of(
                    o["apiVersion"], o["kind"]) == "namespaced" else None
                objs.append(o)
    return objs


def _scan(*argv):
    from conftest import run_cli

    rc, out, err = run_cli("scan", *argv, "--format", "json", "--fail-on", "none", "--timeout", "30")
    return rc, (json.loads(out) if out.strip() else None), err


def test_scan_kubeconfig_equals_scan_of_the_same_manifests(serve):
    _, kc = serve(_example_objects())
    rc, live, err = _scan("--kubeconfig", kc)
    assert rc == 0, err
    rc, files, _ = _scan(str(ROOT / "examples" / "shop-cluster"))
    assert rc == 0
    assert live["run"]["input"]["type"] == "cluster"

    def verdicts(result):
        # NP008 (objects without a namespace) and NP035 (collection state) depend on the source by definition
        return sorted((f["rule"], f["subject"]["kind"], f["subject"]["namespace"] or "", f["subject"]["name"],
                       f["status"]) for f in result["findings"] if f["rule"] not in ("NP008", "NP035"))

    assert verdicts(live) == verdicts(files)
    np035 = [f for f in live["findings"] if f["rule"] == "NP035"]
    assert [f["status"] for f in np035] == ["PASS"]


def test_forbidden_pods_never_yield_a_passing_requirement(serve):
    _, kc = serve(_example_objects(), Faults(forbidden={"pods"}))
    rc, result, err = _scan("--kubeconfig", kc)
    assert rc == 3, err
    assert "the collection is incomplete (Pod: HTTP 403 Forbidden" in err
    assert [f["status"] for f in result["findings"] if f["rule"] == "NP035"] == ["FAIL"]
    assert {r["status"] for fw in result["frameworks"] for r in fw["requirements"]} <= {"FAIL", "ERROR",
                                                                                         "NOT_ASSESSED"}
    assert result["summary"]["result"] == "incomplete"


def test_dropped_connection_mid_list_never_yields_a_passing_requirement(serve):
    _, kc = serve(_example_objects(), Faults(drop={"networkpolicies.networking.k8s.io": 99},
                                               drop_first_page=True))
    rc, result, _ = _scan("--kubeconfig", kc)
    assert rc == 3
    assert "PASS" not in {r["status"] for fw in result["frameworks"] for r in fw["requirements"]}


def test_snapshot_from_a_cluster_is_evidence_for_offline_scans(serve, tmp_path):
    from conftest import run_cli

    _, kc = serve(_example_objects())
    snap = tmp_path / "snap.json.gz"
    rc, _, err = run_cli("snapshot", "--kubeconfig", kc, "-o", str(snap), "--timeout", "30")
    assert rc == 0, err
    assert run_cli("snapshot", "--verify", str(snap))[0] == 0
    _, offline, _ = _scan(str(snap))
    _, live, _ = _scan("--kubeconfig", kc)
    strip = lambda r: [(f["rule"], f["subject"], f["status"]) for f in r["findings"]]  # noqa: E731
    assert strip(offline) == strip(live)


def test_input_and_cluster_together_is_a_usage_error(serve):
    from conftest import run_cli

    rc, _, err = run_cli("scan", str(ROOT / "examples"), "--cluster")
    assert rc == 2 and "not both" in err


def test_publish_policyreports_server_side_applies_them(pki, tmp_path):
    from conftest import run_cli

    api = KubeAPI(_example_objects(), pki=pki, lifetime=60, policy_reports=True).start()
    try:
        kc = api.kubeconfig(tmp_path / "kc")
        rc, _, err = run_cli("scan", "--kubeconfig", kc, "--publish-policyreports", "--format", "json",
                             "--fail-on", "none", "-q")
        assert rc == 0, err
        paths = [p for p, _, _ in api.applied]
        assert "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/netpol-audit" in paths
        assert "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports/netpol-audit" in paths
        assert all(q == {"fieldManager": ["netpol-audit"], "force": ["true"]} for _, q, _ in api.applied)
        shop = next(d for p, _, d in api.applied if p.endswith("namespaces/shop/policyreports/netpol-audit"))
        assert shop["kind"] == "PolicyReport" and shop["summary"]["fail"] > 0
        assert not api.errors
    finally:
        api.stop()


def test_publish_without_the_crds_fails_clearly(pki, tmp_path):
    from conftest import run_cli

    api = KubeAPI(_example_objects(), pki=pki, lifetime=60).start()
    try:
        kc = api.kubeconfig(tmp_path / "kc")
        rc, _, err = run_cli("scan", "--kubeconfig", kc, "--publish-policyreports", "--format", "json",
                             "--fail-on", "none", "-q")
        assert rc == 2
        assert "publishing PolicyReports: ClusterPolicyReport netpol-audit: HTTP 404 (are the PolicyReport CRDs " \
               "installed?)" in err
        assert "Traceback" not in err
    finally:
        api.stop()


# ----- collector faults through the CLI: each ends within the deadline, incomplete, and nothing passes


GIB2 = 2 << 30


def _rss() -> int:
    """This process's resident memory now, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _fillers(n):
    """Pods enough for the CLI's pages of 500 to need a continue token."""
    return [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"filler-{i:04d}", "namespace": "filler",
                                                             "labels": {"app": "filler"}},
             "spec": {"containers": [{"name": "c"}]}} for i in range(n)]


def _scan_incomplete(kc, kind, timeout=30, *extra):
    """`scan --kubeconfig` must end incomplete (exit 3), name `kind` first on stderr, and pass no requirement."""
    from conftest import run_cli

    started = time.monotonic()
    rc, out, err = run_cli("scan", "--kubeconfig", kc, "--format", "json", "--fail-on", "none",
                           "--timeout", str(timeout), *extra)
    elapsed = time.monotonic() - started
    assert rc == 3, err
    result = json.loads(out)
    assert result["summary"]["result"] == "incomplete"
    assert [f["status"] for f in result["findings"] if f["rule"] == "NP035"] == ["FAIL"]
    assert "PASS" not in {r["status"] for fw in result["frameworks"] for r in fw["requirements"]}
    [line] = [x for x in err.splitlines() if "the collection is incomplete" in x]
    assert f"the collection is incomplete ({kind}: " in line, line
    assert "Traceback" not in err
    return line, elapsed


def test_a_resource_version_change_between_pages_restarts_the_list(serve, cluster):
    api, kc = serve(cluster, Faults(rv_change={"pods": 1}))
    snap = collect(kc, None, False, [], 30, QUIET, page_size=40)
    assert snap.collection.complete and snap.collection.problems == []
    assert got(snap) == expected(api)  # no page twice, none from the other version
    assert len([q for _, q in list_requests(api, "pods") if q == "limit=40"]) == 2


def test_a_resource_version_that_keeps_changing_is_recorded(serve, cluster):
    api, kc = serve(cluster, Faults(rv_change={"pods": 99}))
    snap = collect(kc, None, False, [], 30, QUIET, page_size=40)
    [problem] = snap.collection.problems
    assert problem["kind"] == "Pod" and problem["namespace"] is None
    assert problem["reason"] == (f"the list's metadata.resourceVersion changed between pages ({api.rv}, then "
                                 f"{api.rv + 1}): the pages are not one consistent snapshot (the list was "
                                 "restarted 3 times); 40 objects listed before it were kept")
    assert len([q for _, q in list_requests(api, "pods") if q == "limit=40"]) == 4
    pods = [o for o in got(snap) if o["kind"] == "Pod"]
    assert pods == [o for o in expected(api) if o["kind"] == "Pod"][:40]  # the first page only, one version


def test_a_resource_version_change_never_yields_a_passing_requirement(serve):
    _, kc = serve([*_example_objects(), *_fillers(600)], Faults(rv_change={"pods": 99}))
    line, _ = _scan_incomplete(kc, "Pod")
    assert "metadata.resourceVersion changed between pages" in line


def test_a_2gb_response_announced_is_refused_unread(serve, cluster):
    api, kc = serve(cluster, Faults(huge={"services": GIB2}))
    rss = _rss()
    started = time.monotonic()
    snap = collect(kc, None, False, [], 30, QUIET)
    assert time.monotonic() - started < 5
    assert snap.collection.problems == [{
        "kind": "Service", "namespace": None,
        "reason": f"response too large: {GIB2} bytes announced, over the limit of {512 << 20} bytes per "
                  "response; not read"}]
    assert len(list_requests(api, "services")) == 1  # not retried
    assert _rss() - rss < 200 << 20
    assert got(snap) == expected(api, lambda o: o["kind"] != "Service")


def test_a_2gb_response_streamed_stops_at_the_size_limit(serve, cluster):
    api, kc = serve(cluster, Faults(huge={"services": GIB2}, huge_announced=False))
    rss = _rss()
    started = time.monotonic()
    snap = collect(kc, None, False, [], 30, QUIET, max_response_bytes=8 << 20)
    assert time.monotonic() - started < 5
    assert snap.collection.problems == [{
        "kind": "Service", "namespace": None,
        "reason": f"response too large: over the limit of {8 << 20} bytes per response; stopped reading it"}]
    assert len(list_requests(api, "services")) == 1
    assert _rss() - rss < 200 << 20
    deadline = time.monotonic() + 5
    while not api.huge_sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.huge_sent and api.huge_sent[0] < 64 << 20  # the client stopped reading: the server gave up
    assert got(snap) == expected(api, lambda o: o["kind"] != "Service")


def test_a_2gb_response_never_yields_a_passing_requirement(serve):
    _api, kc = serve(_example_objects(), Faults(huge={"networkpolicies.networking.k8s.io": GIB2},
                                                huge_announced=False))
    line, elapsed = _scan_incomplete(kc, "NetworkPolicy", 10, "--max-response-size", "8M")  # small: a fast test
    assert elapsed < 10
    assert f"NetworkPolicy: response too large: over the limit of {8 << 20} bytes per response" in line


def test_a_2gb_response_announced_never_yields_a_passing_requirement(serve):
    _, kc = serve(_example_objects(), Faults(huge={"pods": GIB2}))
    line, elapsed = _scan_incomplete(kc, "Pod", timeout=10)
    assert elapsed < 10
    assert f"Pod: response too large: {GIB2} bytes announced" in line


def test_a_slowloris_response_times_out_per_request(serve, cluster):
    api, kc = serve(cluster, Faults(trickle={"services": 1.0}))
    started = time.monotonic()
    snap = collect(kc, None, False, [], 30, QUIET, request_timeout=1.0, max_attempts=2)
    assert time.monotonic() - started < 6  # two attempts of 1s, at most a byte's interval late each, a backoff
    [problem] = snap.collection.problems
    assert problem["kind"] == "Service" and problem["namespace"] is None
    # the socket's read timeout or the check between reads, whichever comes first
    assert problem["reason"] in ("timed out after 1s (gave up after 2 attempts)",
                                 "timed out after 1s reading the response (gave up after 2 attempts)")
    assert got(snap) == expected(api, lambda o: o["kind"] != "Service")


def test_a_slowloris_response_ends_at_the_overall_deadline(serve):
    _, kc = serve(_example_objects(), Faults(trickle={"services": 1.0}))
    line, elapsed = _scan_incomplete(kc, "Service", timeout=3)
    assert elapsed < 3 + 2  # the deadline, at most a byte's interval late, and the audit
    assert "reading the response: the overall timeout of 3s was reached" in line
    assert "Pod: not collected: the overall timeout of 3s was reached" in line


@pytest.mark.parametrize(("faults", "kind", "reason"), [
    (Faults(drop={"pods": 99}), "Pod", "connection failed: "),  # the server dies after the first page
    (Faults(truncate={"deployments.apps": 99}), "Deployment",
     "truncated response: the connection closed before the announced length was read (gave up after 5 attempts)"),
    (Faults(invalid_json={"nodes": 99}), "Node", "invalid JSON in the response ("),
], ids=["dies-mid-list", "truncated", "invalid-json"])
def test_a_broken_response_never_yields_a_passing_requirement(serve, faults, kind, reason):
    _, kc = serve([*_example_objects(), *_fillers(600)], faults)
    line, _ = _scan_incomplete(kc, kind)
    assert f"({kind}: {reason}" in line
