"""Lean projection: keep only the fields the analysis needs from each object of a kind we use.

Used by every collector (files and live) so that snapshots hold the same shape whatever the source, stay
small, and never carry data the scanner has no business keeping (Secrets and ConfigMaps are never kept at
all; env, commands, annotations and managedFields are dropped). Projection copies values as they are, without
interpreting them: a field of the wrong type stays wrong, so `scanner.parse` can report it precisely.
"""

from __future__ import annotations

from typing import Any

# (API group, kind) -> how the object is kept. Groups: "" is the core group.
NAMESPACED = "namespaced"
CLUSTER = "cluster"

KINDS: dict[tuple[str, str], str] = {
    ("", "Namespace"): CLUSTER,
    ("", "Pod"): NAMESPACED,
    ("", "Service"): NAMESPACED,
    ("", "Node"): CLUSTER,
    ("", "ReplicationController"): NAMESPACED,
    ("apps", "Deployment"): NAMESPACED,
    ("apps", "StatefulSet"): NAMESPACED,
    ("apps", "DaemonSet"): NAMESPACED,
    ("apps", "ReplicaSet"): NAMESPACED,
    ("extensions", "Deployment"): NAMESPACED,
    ("extensions", "DaemonSet"): NAMESPACED,
    ("extensions", "ReplicaSet"): NAMESPACED,
    ("batch", "Job"): NAMESPACED,
    ("batch", "CronJob"): NAMESPACED,
    ("networking.k8s.io", "NetworkPolicy"): NAMESPACED,
    ("extensions", "NetworkPolicy"): NAMESPACED,
    ("policy.networking.k8s.io", "AdminNetworkPolicy"): CLUSTER,
    ("policy.networking.k8s.io", "BaselineAdminNetworkPolicy"): CLUSTER,
    ("policy.networking.k8s.io", "ClusterNetworkPolicy"): CLUSTER,
    ("crd.projectcalico.org", "NetworkPolicy"): NAMESPACED,
    ("crd.projectcalico.org", "GlobalNetworkPolicy"): CLUSTER,
    ("projectcalico.org", "NetworkPolicy"): NAMESPACED,
    ("projectcalico.org", "GlobalNetworkPolicy"): CLUSTER,
    ("projectcalico.org", "StagedNetworkPolicy"): NAMESPACED,
    ("projectcalico.org", "StagedGlobalNetworkPolicy"): CLUSTER,
    ("cilium.io", "CiliumNetworkPolicy"): NAMESPACED,
    ("cilium.io", "CiliumClusterwideNetworkPolicy"): CLUSTER,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): CLUSTER,
}

OTHER_POLICY_GROUPS = ("policy.networking.k8s.io", "crd.projectcalico.org", "projectcalico.org", "cilium.io")

_KEEP_ANNOTATIONS = ("kubectl.kubernetes.io/default-container",)


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def kind_key(api_version: str, kind: str) -> tuple[str, str]:
    return (api_group(api_version), kind)


def scope_of(api_version: str, kind: str) -> str | None:
    """NAMESPACED, CLUSTER, or None for a kind the scanner does not use."""
    return KINDS.get(kind_key(api_version, kind))


def _pick(d: Any, *keys: str) -> Any:
    if not isinstance(d, dict):
        return d
    return {k: d[k] for k in keys if k in d}


def _metadata(md: Any) -> Any:
    out = _pick(md, "name", "generateName", "namespace", "labels", "uid", "ownerReferences", "annotations")
    if isinstance(out, dict):
        if isinstance(out.get("annotations"), dict):
            kept = {k: v for k, v in out["annotations"].items() if k in _KEEP_ANNOTATIONS}
            if kept:
                out["annotations"] = kept
            else:
                del out["annotations"]
        if isinstance(out.get("ownerReferences"), list):
            out["ownerReferences"] = [_pick(o, "apiVersion", "kind", "name", "uid", "controller")
                                      for o in out["ownerReferences"]]
    return out


def _containers(cs: Any, keep_image: bool = False) -> Any:
    if not isinstance(cs, list):
        return cs
    keys = ("name", "ports", "restartPolicy") + (("image", "args") if keep_image else ())
    return [_pick(c, *keys) for c in cs]


def _pod_spec(spec: Any, keep_image: bool = False) -> Any:
    out = _pick(spec, "hostNetwork", "nodeName", "containers", "initContainers")
    if isinstance(out, dict):
        for k in ("containers", "initContainers"):
            if k in out:
                out[k] = _containers(out[k], keep_image)
    return out


def _template(t: Any, keep_image: bool = False) -> Any:
    out = _pick(t, "metadata", "spec")
    if isinstance(out, dict):
        if "metadata" in out:
            out["metadata"] = _pick(out["metadata"], "labels")
        if "spec" in out:
            out["spec"] = _pod_spec(out["spec"], keep_image)
    return out


def project(obj: dict[str, Any]) -> dict[str, Any]:
    """The lean copy of a kept object (see the module docstring)."""
    api_version = obj.get("apiVersion", "")
    kind = obj.get("kind", "")
    group, _ = kind_key(str(api_version), str(kind))
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": _metadata(obj.get("metadata"))}
    spec = obj.get("spec")
    if kind == "Pod" and group == "":
        if spec is not None:
            out["spec"] = _pod_spec(spec)
        status = _pick(obj.get("status"), "phase", "podIP", "podIPs", "hostIP")
        if status:
            out["status"] = status
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"):
        if spec is not None:
            out["spec"] = _pick(spec, "selector", "replicas", "template")
            if isinstance(out["spec"], dict) and "template" in out["spec"]:
                out["spec"]["template"] = _template(out["spec"]["template"], keep_image=kind == "DaemonSet")
    elif kind == "CronJob":
        if spec is not None:
            out["spec"] = _pick(spec, "jobTemplate")
            jt = out["spec"].get("jobTemplate") if isinstance(out["spec"], dict) else None
            if isinstance(jt, dict):
                jt = _pick(jt, "spec")
                if isinstance(jt.get("spec"), dict):
                    jt["spec"] = _pick(jt["spec"], "template")
                    if "template" in jt["spec"]:
                        jt["spec"]["template"] = _template(jt["spec"]["template"])
                out["spec"]["jobTemplate"] = jt
    elif kind == "Service":
        if spec is not None:
            out["spec"] = _pick(spec, "type", "selector", "ports", "clusterIP", "clusterIPs", "externalIPs",
                                "externalTrafficPolicy")
    elif kind == "Node":
        if spec is not None:
            out["spec"] = _pick(spec, "podCIDR", "podCIDRs")
        status = _pick(obj.get("status"), "addresses")
        if status:
            out["status"] = status
    elif kind == "Namespace":
        pass
    elif kind == "CustomResourceDefinition":
        if isinstance(spec, dict):
            out["spec"] = {"group": spec.get("group"), "names": _pick(spec.get("names"), "kind")}
    elif spec is not None:  # NetworkPolicy and the other policy kinds: the spec is the subject of the audit
        out["spec"] = spec
    return out
