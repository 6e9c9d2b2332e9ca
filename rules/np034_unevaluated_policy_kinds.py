"""NP034: the input holds policy objects of kinds the engine does not model: Calico and Cilium policies, and
versions of the policy.networking.k8s.io kinds other than the modelled ones (AdminNetworkPolicy and
BaselineAdminNetworkPolicy v1alpha1, ClusterNetworkPolicy v1alpha2 are evaluated in their tiers).

One info finding per such object (`cluster.other_policies`), so each can be reviewed or waived on its own;
a pass on the cluster when there is none. Calico's namespaced `NetworkPolicy` kind is named with its API group
so that it is never mistaken for a Kubernetes NetworkPolicy of the same name.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import CLUSTER, Result, Subject, fail, passed
from scanner.model import OtherPolicy

_WHAT = {
    "AdminNetworkPolicy": "a version of AdminNetworkPolicy other than the modelled v1alpha1",
    "BaselineAdminNetworkPolicy": "a version of BaselineAdminNetworkPolicy other than the modelled v1alpha1",
    "ClusterNetworkPolicy": "a version of ClusterNetworkPolicy other than the modelled v1alpha2",
}


def _kind(o: OtherPolicy) -> str:
    if o.kind == "NetworkPolicy":
        return f"NetworkPolicy.{o.api_version.rpartition('/')[0] or o.api_version}"
    return o.kind


@rule("NP034")
def check(ctx: Context) -> Iterator[Result]:
    others = ctx.cluster.other_policies
    if not others:
        modelled = len(ctx.cluster.admin_policies)
        yield passed(CLUSTER, "the input holds no policy objects of kinds the analysis does not model (Calico "
                              "NetworkPolicy and GlobalNetworkPolicy, Cilium CiliumNetworkPolicy and "
                              "CiliumClusterwideNetworkPolicy)"
                     + (f"; its {modelled} cluster-scoped policy object(s) are evaluated in their tiers"
                        if modelled else ""))
        return
    kinds = sorted({_kind(o) for o in others})
    for o in others:
        kind = _kind(o)
        what = _WHAT.get(o.kind, "policy rules of the network plugin that add to, or override, NetworkPolicy")
        if o.kind.startswith("Staged"):
            what = "a staged (not yet enforced) policy of the network plugin"
        name = f"{o.namespace}/{o.name}" if o.namespace else o.name
        yield fail(Subject(kind, o.namespace, o.name),
                   f"{o.kind} {name} ({o.api_version}) is not modelled by the analysis ({what}): reachability "
                   "verdicts for the pods it selects may differ from what the cluster enforces",
                   api_version=o.api_version, kind=o.kind, unmodelled_kinds=kinds, total=len(others),
                   source=o.source.describe() if o.source else None)
