"""Network plugin detection: which CNI (or policy engine) runs, and does it enforce NetworkPolicy?

Judged from DaemonSets only: their names, container names, images and arguments (the collector keeps image and
args for DaemonSets). CustomResourceDefinitions are kept in snapshots but not in the model, so they are not
consulted here. Every DaemonSet is matched against a table of signatures, one function per plugin; what a
plugin's presence says about enforcement is stated per signature and, where it depends on configuration
(kube-router's firewall, the AWS VPC CNI's network policy agent, kindnet's version), read from the arguments
and image tags. Unknown or ambiguous is reported as unknown with what was seen, never guessed. This module
decides nothing about policies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scanner.context import PluginInfo
from scanner.model import Cluster


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str
    args: tuple[str, ...]

    @property
    def repository(self) -> str:
        """The image without tag or digest, lowercased (`docker.io/calico/node`)."""
        image = self.image.lower().split("@", 1)[0]
        slash = image.rfind("/")
        colon = image.rfind(":")
        return image[:colon] if colon > slash else image

    @property
    def tag(self) -> str | None:
        image = self.image.split("@", 1)[0]
        slash = image.rfind("/")
        colon = image.rfind(":")
        return image[colon + 1:] if colon > slash else None


@dataclass(frozen=True, slots=True)
class DaemonSetView:
    """What detection reads of one DaemonSet."""

    namespace: str
    name: str
    containers: tuple[Container, ...]

    @property
    def ref(self) -> str:
        return f"DaemonSet {self.namespace}/{self.name}"

    def describe(self) -> str:
        images = ", ".join(c.image for c in self.containers if c.image)
        return f"{self.ref} ({images})" if images else self.ref

    def has_image(self, *fragments: str) -> bool:
        return any(f in c.repository for c in self.containers for f in fragments)

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` or `--name value` in any container's args (the last one wins)."""
        value: str | None = None
        for c in self.containers:
            args = c.args
            for i, a in enumerate(args):
                if a.startswith(f"--{name}="):
                    value = a.split("=", 1)[1]
                elif a == f"--{name}":
                    nxt = args[i + 1] if i + 1 < len(args) else ""
                    value = "true" if not nxt or nxt.startswith("-") else nxt
        return value.strip().lower() if value is not None else None


@dataclass(frozen=True, slots=True)
class Sighting:
    """One plugin seen in one DaemonSet, with what its presence says about enforcement."""

    plugin: str
    enforces: bool | None
    evidence: str


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def daemonset_view(ds: dict[str, Any]) -> DaemonSetView:
    md = _dict(ds.get("metadata"))
    pspec = _dict(_dict(_dict(ds.get("spec")).get("template")).get("spec"))
    containers = []
    for key in ("initContainers", "containers"):
        items = pspec.get(key)
        for c in items if isinstance(items, list) else []:
            if isinstance(c, dict):
                args = c.get("args")
                containers.append(Container(_str(c.get("name")), _str(c.get("image")),
                                            tuple(str(a) for a in args) if isinstance(args, list) else ()))
    return DaemonSetView(_str(md.get("namespace")), _str(md.get("name")), tuple(containers))


# --- signatures ---------------------------------------------------------------------------------------------
# Each takes a DaemonSet and returns a Sighting or None. The order matters only where one DaemonSet could
# match two (Canal holds calico-node and flannel containers).

def _canal(ds: DaemonSetView) -> Sighting | None:
    if ds.name.startswith("canal") or (ds.has_image("calico/node", "/cnx-node") and ds.has_image("flannel")):
        return Sighting(CANAL, True, f"{ds.describe()}: Calico enforces policy on a flannel network")
    return None


def _calico(ds: DaemonSetView) -> Sighting | None:
    if "calico-node" in ds.name or ds.has_image("calico/node", "/cnx-node"):
        return Sighting("Calico", True, ds.describe())
    return None


def _dataplane_v2(ds: DaemonSetView) -> Sighting | None:
    if ds.name.startswith("anetd") or ds.has_image("/anetd"):
        return Sighting("GKE Dataplane V2 (Cilium)", True, ds.describe())
    return None


def _cilium(ds: DaemonSetView) -> Sighting | None:
    if ds.name == "cilium" or ds.has_image("cilium/cilium"):
        if ds.flag("enable-policy") == "never":
            return Sighting("Cilium", False, f"{ds.describe()}: --enable-policy=never turns enforcement off")
        return Sighting("Cilium", True, ds.describe())
    return None


def _antrea(ds: DaemonSetView) -> Sighting | None:
    if ds.name == "antrea-agent" or ds.has_image("antrea/antrea-agent", "antrea/antrea-ubuntu"):
        return Sighting("Antrea", True, ds.describe())
    return None


def _kube_router(ds: DaemonSetView) -> Sighting | None:
    if "kube-router" in ds.name or ds.has_image("kube-router"):
        if ds.flag("run-firewall") == "false":
            return Sighting("kube-router", False,
                            f"{ds.describe()}: --run-firewall=false turns its network policy controller off")
        return Sighting("kube-router", True, f"{ds.describe()}: network policy firewall on (the default)")
    return None


def _kube_network_policies(ds: DaemonSetView) -> Sighting | None:
    if ds.name == "kube-network-policies" or ds.has_image("kube-network-policies"):
        return Sighting("kube-network-policies", True, ds.describe())
    return None


def _weave(ds: DaemonSetView) -> Sighting | None:
    if ds.name == "weave-net" or ds.has_image("weaveworks/weave-kube", "weaveworks/weave-npc"):
        return Sighting("Weave Net", True, ds.describe())
    return None


def _ovn(ds: DaemonSetView) -> Sighting | None:
    if ds.name.startswith("ovnkube-node") or ds.has_image("ovn-kubernetes", "ovnkube"):
        return Sighting("OVN-Kubernetes", True, ds.describe())
    return None


def _azure_npm(ds: DaemonSetView) -> Sighting | None:
    if ds.name.startswith("azure-npm") or ds.has_image("azure-npm"):
        return Sighting("Azure Network Policy Manager", True, ds.describe())
    return None


def _aws(ds: DaemonSetView) -> Sighting | None:
    """The AWS VPC CNI enforces NetworkPolicy only through its network policy agent (a container of aws-node
    since v1.14, installed with `--enable-network-policy=false` unless enabled)."""
    cni = ds.name == "aws-node" or ds.has_image("amazon-k8s-cni")
    agent = [c for c in ds.containers if "aws-network-policy-agent" in c.repository
             or c.name in ("aws-eks-nodeagent", "aws-network-policy-agent")]
    if not cni and not agent:
        return None
    flag = ds.flag("enable-network-policy")
    if flag == "true":
        return Sighting("AWS VPC CNI", True, f"{ds.describe()}: network policy agent with "
                                             "--enable-network-policy=true")
    if flag == "false":
        return Sighting("AWS VPC CNI", False, f"{ds.describe()}: network policy agent present with "
                                              "--enable-network-policy=false")
    if agent:
        return Sighting("AWS VPC CNI", None, f"{ds.describe()}: network policy agent present, but whether it "
                                             "is enabled (--enable-network-policy) is not in the input")
    return Sighting("AWS VPC CNI", False, f"{ds.describe()}: no network policy agent container")


_SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def _kindnet(ds: DaemonSetView) -> Sighting | None:
    """kindnet enforces NetworkPolicy from its 1.3 release (aojea/kindnet); kind's date-tagged builds
    (`v20240813-...`) are not proof either way, so they are unknown."""
    images = [c for c in ds.containers if "kindnet" in c.repository]
    if "kindnet" not in ds.name and not images:
        return None
    if ds.flag("network-policy") == "false":
        return Sighting("kindnet", False, f"{ds.describe()}: --network-policy=false")
    for c in images:
        m = _SEMVER.match(c.tag or "")
        if m and int(m.group(1)) < 1000 and (int(m.group(1)), int(m.group(2))) >= (1, 3):
            return Sighting("kindnet", True, f"{ds.describe()}: kindnet {c.tag} includes the network policy "
                                             "controller")
    return Sighting("kindnet", None, f"{ds.describe()}: kindnet enforces NetworkPolicy only in versions with "
                                     "its network policy controller (1.3 and later); the image tag does not "
                                     "prove it")


def _flannel(ds: DaemonSetView) -> Sighting | None:
    if "flannel" in ds.name or ds.has_image("flannel"):
        return Sighting(FLANNEL, False, f"{ds.describe()}: flannel alone does not enforce NetworkPolicy")
    return None


CANAL = "Canal (Calico policy on flannel)"
FLANNEL = "flannel"

SIGNATURES: tuple[Callable[[DaemonSetView], Sighting | None], ...] = (
    _canal, _calico, _dataplane_v2, _cilium, _antrea, _kube_router, _kube_network_policies, _weave, _ovn,
    _azure_npm, _aws, _kindnet, _flannel,
)


def sightings(cluster: Cluster) -> list[Sighting]:
    out = []
    for raw in cluster.daemonsets:
        ds = daemonset_view(raw)
        for sig in SIGNATURES:
            got = sig(ds)
            if got is not None:
                out.append(got)
                break
    return out


def detect_plugin(cluster: Cluster) -> PluginInfo:
    """Combine the sightings: any enforcing plugin means NetworkPolicy is enforced (e.g. Calico in policy-only
    mode next to the AWS VPC CNI); otherwise any unknown makes the whole unknown; otherwise it is not enforced.
    flannel and Calico in separate DaemonSets are Canal."""
    found = sightings(cluster)
    if not found:
        seen = tuple(sorted(daemonset_view(d).describe() for d in cluster.daemonsets))
        return PluginInfo(None, None, seen or ("no DaemonSet in the input",))
    names = {f.plugin for f in found}
    if FLANNEL in names and "Calico" in names:
        names = (names - {FLANNEL, "Calico"}) | {CANAL}
    evidence = tuple(sorted(f.evidence for f in found))
    name = " + ".join(sorted(names))
    if any(f.enforces for f in found):
        return PluginInfo(name, True, evidence)
    if any(f.enforces is None for f in found):
        return PluginInfo(name, None, evidence)
    return PluginInfo(name, False, evidence)
