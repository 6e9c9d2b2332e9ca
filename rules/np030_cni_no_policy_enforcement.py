"""NP030: the detected network plugin does not enforce NetworkPolicy, so every policy is inert.

Reads `ctx.plugin` (scanner.plugin.detect_plugin: DaemonSet names, images and arguments). Fails when the
plugin is identified and known not to enforce (flannel alone, kube-router with its firewall off, the AWS VPC
CNI without its network policy agent enabled, ...); passes when it enforces; not applicable when the plugin
or its enforcement is unknown (NP031 reports that).
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import CLUSTER, Result, fail, not_applicable, passed


@rule("NP030")
def check(ctx: Context) -> Iterator[Result]:
    plugin = ctx.plugin
    evidence = list(plugin.evidence)
    if plugin.name is None or plugin.enforces is None:
        what = "could not be identified" if plugin.name is None else \
            f"is {plugin.name}, whose enforcement could not be determined"
        yield not_applicable(f"the network plugin {what} from the input (see NP031)", evidence=evidence)
    elif plugin.enforces:
        yield passed(CLUSTER, f"the network plugin ({plugin.name}) enforces NetworkPolicy",
                     plugin=plugin.name, evidence=evidence)
    else:
        yield fail(CLUSTER, f"the network plugin ({plugin.name}) does not enforce NetworkPolicy: every policy in "
                            "the cluster is inert and every pod is reachable whatever the policies say",
                   plugin=plugin.name, evidence=evidence)
