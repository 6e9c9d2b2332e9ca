"""NP031: the network plugin, or whether it enforces NetworkPolicy, could not be determined from the input.

Reads `ctx.plugin`. Fails (info) when the plugin is unknown or its enforcement is unknown, stating that
enforcement stays a manual check and listing what was seen; passes when the plugin was identified and its
enforcement known (NP030 judges the answer). With manifest input the plugin can only be identified from
DaemonSets in the manifests, and the pass says so.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import CLUSTER, Result, fail, passed


@rule("NP031")
def check(ctx: Context) -> Iterator[Result]:
    plugin = ctx.plugin
    seen = list(plugin.evidence)
    manual = ("whether NetworkPolicy is enforced (CIS 5.3.1: the CNI in use supports NetworkPolicies) stays a "
              "manual check")
    if plugin.name is None:
        where = "manifests" if ctx.source_type == "manifests" else "input"
        yield fail(CLUSTER, f"the network plugin could not be identified from the {where}: {manual}; seen: "
                            f"{'; '.join(seen) or 'nothing'}", seen=seen)
    elif plugin.enforces is None:
        yield fail(CLUSTER, f"the network plugin is {plugin.name}, but whether it enforces NetworkPolicy depends "
                            f"on configuration or a version the input does not show: {manual}",
                   plugin=plugin.name, seen=seen)
    else:
        note = " (identified from DaemonSets in the manifests: confirm the cluster runs them)" \
            if ctx.source_type == "manifests" else ""
        yield passed(CLUSTER, f"the network plugin is {plugin.name} and "
                              f"{'enforces' if plugin.enforces else 'does not enforce'} NetworkPolicy{note}",
                     plugin=plugin.name, enforces=plugin.enforces, evidence=seen)
