"""Network plugin detection from DaemonSets (scanner.plugin), table-driven."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.api import load
from scanner.model import Cluster
from scanner.plugin import Container, daemonset_view, detect_plugin


def ds(name: str, *containers: tuple[str, str] | tuple[str, str, list[str]], namespace: str = "kube-system",
       init: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """A projected DaemonSet: containers as (name, image) or (name, image, args)."""

    def c(spec: tuple[Any, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": spec[0], "image": spec[1]}
        if len(spec) > 2:
            out["args"] = spec[2]
        return out

    pod: dict[str, Any] = {"containers": [c(x) for x in containers]}
    if init:
        pod["initContainers"] = [c(x) for x in init]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"spec": pod}}}


def cluster(*daemonsets: dict[str, Any]) -> Cluster:
    return Cluster(namespaces={}, endpoints=(), policies=(), daemonsets=tuple(daemonsets))


CALICO = ds("calico-node", ("calico-node", "docker.io/calico/node:v3.28.0"),
            init=[("install-cni", "docker.io/calico/cni:v3.28.0")])
FLANNEL = ds("kube-flannel-ds", ("kube-flannel", "docker.io/flannel/flannel:v0.25.1"), namespace="kube-flannel")
AWS_OLD = ds("aws-node", ("aws-node", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.12.6"))
AWS_AGENT_OFF = ds("aws-node", ("aws-node", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.1"),
                   ("aws-eks-nodeagent", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/"
                    "aws-network-policy-agent:v1.1.1", ["--enable-ipv6=false", "--enable-network-policy=false"]))
AWS_AGENT_ON = ds("aws-node", ("aws-node", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.1"),
                  ("aws-eks-nodeagent", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/"
                   "aws-network-policy-agent:v1.1.1", ["--enable-network-policy=true"]))
AWS_AGENT_NO_FLAG = ds("aws-node", ("aws-node", "amazon-k8s-cni:v1.18.1"),
                       ("aws-eks-nodeagent", "amazon/aws-network-policy-agent:v1.1.1"))

# (case, DaemonSets, expected name, expected enforcement)
CASES: list[tuple[str, tuple[dict[str, Any], ...], str | None, bool | None]] = [
    ("calico", (CALICO,), "Calico", True),
    ("calico operator install", (ds("calico-node", ("calico-node", "quay.io/calico/node:v3.27.0"),
                                    namespace="calico-system"),), "Calico", True),
    ("canal one daemonset", (ds("canal", ("calico-node", "calico/node:v3.28.0"),
                                ("kube-flannel", "flannel/flannel:v0.25.1")),),
     "Canal (Calico policy on flannel)", True),
    ("flannel plus calico is canal", (FLANNEL, CALICO), "Canal (Calico policy on flannel)", True),
    ("flannel alone", (FLANNEL,), "flannel", False),
    ("flannel rancher mirror", (ds("kube-flannel", ("f", "rancher/mirrored-flannelcni-flannel:v0.24.2")),),
     "flannel", False),
    ("cilium", (ds("cilium", ("cilium-agent", "quay.io/cilium/cilium:v1.15.4")),), "Cilium", True),
    ("cilium policy off", (ds("cilium", ("cilium-agent", "quay.io/cilium/cilium:v1.15.4",
                                         ["--enable-policy=never"])),), "Cilium", False),
    ("gke dataplane v2", (ds("anetd", ("cilium-agent", "gke.gcr.io/cilium/cilium:v1.14.6-gke.1")),),
     "GKE Dataplane V2 (Cilium)", True),
    ("antrea", (ds("antrea-agent", ("antrea-agent", "antrea/antrea-agent-ubuntu:v2.0.0")),), "Antrea", True),
    ("kube-router firewall default on", (ds("kube-router", ("kube-router", "cloudnativelabs/kube-router:v2.1.0",
                                                            ["--run-router=true"])),), "kube-router", True),
    ("kube-router firewall off", (ds("kube-router", ("kube-router", "cloudnativelabs/kube-router:v2.1.0",
                                                     ["--run-router=true", "--run-firewall=false"])),),
     "kube-router", False),
    ("kube-router firewall off, separate value", (ds("kube-router", ("kr", "cloudnativelabs/kube-router:v2.1.0",
                                                                     ["--run-firewall", "false"])),),
     "kube-router", False),
    ("weave", (ds("weave-net", ("weave", "weaveworks/weave-kube:2.8.1"), ("weave-npc", "weaveworks/weave-npc:2.8.1")),),
     "Weave Net", True),
    ("ovn-kubernetes", (ds("ovnkube-node", ("ovnkube-controller", "ghcr.io/ovn-org/ovn-kubernetes/ovn-kube-u:master")),),
     "OVN-Kubernetes", True),
    ("azure npm", (ds("azure-npm", ("azure-npm", "mcr.microsoft.com/containernetworking/azure-npm:v1.5.34")),),
     "Azure Network Policy Manager", True),
    ("aws vpc cni before the agent", (AWS_OLD,), "AWS VPC CNI", False),
    ("aws vpc cni agent disabled (the default)", (AWS_AGENT_OFF,), "AWS VPC CNI", False),
    ("aws vpc cni agent enabled", (AWS_AGENT_ON,), "AWS VPC CNI", True),
    ("aws vpc cni agent, flag not visible", (AWS_AGENT_NO_FLAG,), "AWS VPC CNI", None),
    ("aws vpc cni with calico policy-only", (AWS_OLD, CALICO), "AWS VPC CNI + Calico", True),
    ("kindnet date tag", (ds("kindnet", ("kindnet-cni", "docker.io/kindest/kindnetd:v20240813-c6f155d6")),),
     "kindnet", None),
    ("kindnet 1.x with network policies", (ds("kindnet", ("kindnet-cni", "ghcr.io/aojea/kindnetd:v1.8.0")),),
     "kindnet", True),
    ("kindnet before 1.3", (ds("kindnet", ("kindnet-cni", "ghcr.io/aojea/kindnetd:v1.2.0")),), "kindnet", None),
    ("kindnet network policy off", (ds("kindnet", ("kindnet-cni", "ghcr.io/aojea/kindnetd:v1.8.0",
                                                   ["--network-policy=false"])),), "kindnet", False),
    ("kindnet with kube-network-policies", (ds("kindnet", ("k", "kindest/kindnetd:v20240813-c6f155d6")),
                                            ds("kube-network-policies", ("p", "registry.k8s.io/networking/"
                                                                          "kube-network-policies:v0.4.0"))),
     "kindnet + kube-network-policies", True),
    ("unrelated daemonsets only", (ds("node-exporter", ("node-exporter", "prom/node-exporter:v1.8.0")),
                                   ds("weave-scope-agent", ("agent", "weaveworks/scope:1.13.2"))), None, None),
    ("nothing at all", (), None, None),
]


@pytest.mark.parametrize(("daemonsets", "name", "enforces"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detect_plugin(daemonsets, name, enforces):
    info = detect_plugin(cluster(*daemonsets))
    assert (info.name, info.enforces) == (name, enforces)
    assert info.evidence, "detection must always say what it saw"


def test_unknown_plugin_lists_the_daemonsets_seen():
    info = detect_plugin(cluster(ds("node-exporter", ("node-exporter", "prom/node-exporter:v1.8.0"))))
    assert info.evidence == ("DaemonSet kube-system/node-exporter (prom/node-exporter:v1.8.0)",)
    assert detect_plugin(cluster()).evidence == ("no DaemonSet in the input",)


def test_evidence_names_the_daemonset_and_why():
    info = detect_plugin(cluster(AWS_AGENT_OFF))
    assert info.evidence == (
        "DaemonSet kube-system/aws-node (602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.1, "
        "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-network-policy-agent:v1.1.1): network policy "
        "agent present with --enable-network-policy=false",)


@pytest.mark.parametrize(("image", "repository", "tag"), [
    ("docker.io/calico/node:v3.28.0", "docker.io/calico/node", "v3.28.0"),
    ("localhost:5000/calico/node", "localhost:5000/calico/node", None),
    ("quay.io/cilium/cilium:v1.15.4@sha256:abcd", "quay.io/cilium/cilium", "v1.15.4"),
    ("Flannel/Flannel", "flannel/flannel", None),
])
def test_image_repository_and_tag(image, repository, tag):
    c = Container("c", image, ())
    assert (c.repository, c.tag) == (repository, tag)


def test_malformed_daemonset_is_read_without_crashing():
    view = daemonset_view({"metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": "oops"}}}})
    assert view.containers == ()
    assert detect_plugin(cluster({"metadata": "bad", "spec": []})).name is None


def test_detects_calico_from_the_example_manifests():
    example = Path(__file__).resolve().parent.parent / "examples" / "shop-cluster"
    info = detect_plugin(load([str(example)]).cluster)
    assert (info.name, info.enforces) == ("Calico", True)
