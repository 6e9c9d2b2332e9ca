"""NP032: a pod (or workload template) with `hostNetwork: true` outside the allowed system namespaces.

Such a pod shares its node's network namespace: pod and namespace selectors never match it, no policy isolates
it, and its ports are the node's. Every endpoint is judged: hostNetwork outside `config.system_namespaces`
fails; hostNetwork inside them and ordinary pods pass.
"""

from collections.abc import Iterator

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result, fail, not_applicable, passed


@rule("NP032")
def check(ctx: Context) -> Iterator[Result]:
    if not ctx.cluster.endpoints:
        yield not_applicable("no pod or workload in the input")
        return
    for ep in ctx.cluster.endpoints:
        subject = ctx.endpoint_subject(ep)
        if not ep.host_network:
            yield passed(subject, f"{ep.ref} uses the pod network")
        elif ctx.is_system(ep.namespace):
            yield passed(subject, f"{ep.ref} uses the host network in the system namespace {ep.namespace}, "
                                  "where that is allowed")
        else:
            ports = [f"{port}/{proto}" for proto, port in ep.host_ports]
            yield fail(subject, f"{ep.ref} uses the host network (hostNetwork: true) in {ep.namespace}, which is "
                                "not a system namespace: no NetworkPolicy can select or protect it, and its "
                                "ports listen on the node's addresses"
                                + (f" ({', '.join(ports)})" if ports else ""),
                       host_ports=ports, node=ep.node,
                       system_namespaces=list(ctx.config.system_namespaces))
