"""NP032: a pod (or workload template) with `hostNetwork: true` outside the allowed system namespaces.

Such a pod shares its node's network namespace: pod and namespace selectors never match it, no policy isolates
it, and its ports are the node's. Every endpoint is judged: hostNetwork outside `config.system_namespaces`
fails; hostNetwork inside them and ordinary pods pass.
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.findings import Result, fail, not_applicable, passed


@rule("NP032")
def check(ctx: Context) -> Iterator[Result]:
    if not ctx.cluster.endpoints:
        yield not_applicable("no pod or workload in the input")
        return
    for cls in ctx.index.classes:
        for w in ctx.workloads_of(cls):
            ep = w.endpoints[0]
            if not ep.host_network:
                yield passed(w.subject, f"{w.ref} uses the pod network", **w.evidence())
            elif ctx.is_system(ep.namespace):
                yield passed(w.subject, f"{w.ref} uses the host network in the system namespace {ep.namespace}, "
                                        "where that is allowed", **w.evidence())
            else:
                ports = sorted({f"{port}/{proto}" for e in w.endpoints for proto, port in e.host_ports})
                nodes = sorted({e.node for e in w.endpoints if e.node})
                more: dict[str, Any] = {"nodes": nodes} if len(nodes) > 1 else {}
                yield fail(w.subject, f"{w.ref} uses the host network (hostNetwork: true) in {ep.namespace}, which "
                                      "is not a system namespace: no NetworkPolicy can select or protect it, and "
                                      "its ports listen on the node's addresses"
                                      + (f" ({', '.join(ports)})" if ports else ""),
                           host_ports=ports, node=nodes[0] if len(nodes) == 1 else None,
                           **more,
                           system_namespaces=list(ctx.config.system_namespaces), **w.evidence())
