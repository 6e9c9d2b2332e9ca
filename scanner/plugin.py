"""Network plugin detection: which CNI runs, and does it enforce NetworkPolicy?

Judged from DaemonSets (names, container images and arguments) and the CRDs present. Unknown or ambiguous is
reported as unknown with what was seen, never guessed.
"""

from __future__ import annotations

from typing import Any

from scanner.context import PluginInfo
from scanner.model import Cluster

# (marker in a DaemonSet name or image, plugin, enforces NetworkPolicy)
_SIGNATURES: tuple[tuple[str, str, bool], ...] = (
    ("calico-node", "Calico", True),
    ("canal", "Canal (Calico policy on flannel)", True),
    ("cilium", "Cilium", True),
    ("anetd", "GKE Dataplane V2 (Cilium)", True),
    ("antrea-agent", "Antrea", True),
    ("weave-net", "Weave Net", True),
    ("ovnkube-node", "OVN-Kubernetes", True),
    ("azure-npm", "Azure Network Policy Manager", True),
)


def _images(ds: dict[str, Any]) -> list[str]:
    spec = ds.get("spec") or {}
    tmpl = (spec.get("template") or {}) if isinstance(spec, dict) else {}
    pspec = (tmpl.get("spec") or {}) if isinstance(tmpl, dict) else {}
    out = []
    for c in (pspec.get("containers") or []) + (pspec.get("initContainers") or []):
        if isinstance(c, dict) and isinstance(c.get("image"), str):
            out.append(c["image"])
    return out


def _args(ds: dict[str, Any]) -> list[str]:
    spec = ds.get("spec") or {}
    pspec = ((spec.get("template") or {}).get("spec") or {}) if isinstance(spec, dict) else {}
    out: list[str] = []
    for c in pspec.get("containers") or []:
        if isinstance(c, dict):
            out += [str(a) for a in (c.get("args") or [])]
    return out


def detect_plugin(cluster: Cluster) -> PluginInfo:
    found: list[tuple[str, bool, str]] = []
    seen: list[str] = []
    for ds in cluster.daemonsets:
        md = ds.get("metadata") or {}
        name = str(md.get("name", ""))
        images = _images(ds)
        hay = " ".join([name, *images]).lower()
        seen.append(f"DaemonSet {md.get('namespace')}/{name}")
        for marker, plugin, enforces in _SIGNATURES:
            if marker in hay:
                found.append((plugin, enforces, f"DaemonSet {md.get('namespace')}/{name} ({', '.join(images)})"))
                break
        else:
            if "kube-router" in hay:
                fw = not any("--run-firewall=false" in a for a in _args(ds))
                found.append(("kube-router" + ("" if fw else " (firewall off)"), fw, f"DaemonSet {name}"))
            elif "aws-node" in hay or "amazon-k8s-cni" in hay:
                found.append(("AWS VPC CNI", False, f"DaemonSet {name}: enforcement needs the network policy "
                              "agent, not confirmed from the input"))
            elif "kindnet" in hay:
                found.append(("kindnet", False, f"DaemonSet {name}: enforcement depends on its version"))
            elif "flannel" in hay:
                found.append(("flannel", False, f"DaemonSet {name}: flannel alone does not enforce NetworkPolicy"))
    enforcing = [f for f in found if f[1]]
    if enforcing:
        names = sorted({f[0] for f in enforcing})
        return PluginInfo(" + ".join(names), True, tuple(f[2] for f in enforcing))
    if found:
        names = sorted({f[0] for f in found})
        definite = all(f[0] == "flannel" or f[0].endswith("(firewall off)") for f in found)
        return PluginInfo(" + ".join(names), False if definite else None, tuple(f[2] for f in found))
    return PluginInfo(None, None, tuple(seen))
