"""NP033: a Service of type LoadBalancer or NodePort, or a hostPort, fronts pods that are not ingress-isolated
or that admit any source on the exposed port.

For each exposed Service, the pods it fronts are the classes of its namespace whose labels carry its selector;
each service port's targetPort is resolved per pod (a number, a container port name with the port's protocol,
or the service port itself when absent). A fronted pod is exposed on that port when it is hostNetwork, not
ingress-isolated, or when a rule of its policies admits public addresses outside `config.trusted_cidrs` on
it: a rule without `from`, or an ipBlock reaching public space (`analysis.rules_reaching_addresses`). Pods
with hostPorts (`Endpoint.host_ports`; every container port of a hostNetwork pod) are judged the same way on
the hostPort number, which the scanner takes to be the container port (the model keeps no mapping). Without
Services or hostPorts in the input the rule is not applicable; with Services but none exposed, the cluster
passes.
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.analysis import cidr_set, public_addresses, rules_reaching_addresses
from scanner.engine.index import PodClass
from scanner.findings import CLUSTER, Result, Subject, fail, not_applicable, passed
from scanner.intervals import IntervalSet, contains, port_point, subtract
from scanner.model import Service, ServicePort

EXPOSED_TYPES = ("LoadBalancer", "NodePort")


def _exposure(ctx: Context, cls: PodClass, protocol: str, port: int, space: IntervalSet) -> str | None:
    """Why `cls` is open to any source on (protocol, port), or None when it is restricted there."""
    if cls.host_network:
        return "hostNetwork pod: no NetworkPolicy applies to it"
    if not ctx.index.isolated(cls, "ingress"):
        return "not ingress-isolated: no policy affecting Ingress selects it"
    admitted = []
    point = port_point(protocol, port)
    for ref, ports in rules_reaching_addresses(ctx.index, cls, "ingress", space):
        if contains(ports, point):
            r = ref.rule
            if r.peers is None:
                admitted.append(f"{ref.policy.ref} {r.field} admits any source (no `{r.peer_field}`)")
            else:
                blocks = ", ".join(p.describe() for p in r.peers if p.ip_block is not None)
                admitted.append(f"{ref.policy.ref} {r.field} admits public addresses ({blocks})")
    return "; ".join(admitted) or None


def _targets(sp: ServicePort, cls: PodClass) -> list[int]:
    if sp.target_port is None:
        return [sp.port]
    if isinstance(sp.target_port, int):
        return [sp.target_port]
    return sorted({p.port for p in cls.named_ports if p.name == sp.target_port and p.protocol == sp.protocol})


def _fronted(ctx: Context, svc: Service) -> list[PodClass]:
    assert svc.selector
    return [c for c in ctx.classes_by_namespace.get(svc.namespace, [])
            if all(c.labels.get(k) == v for k, v in svc.selector.items())]


def _service(ctx: Context, svc: Service, space: IntervalSet) -> Result:
    subject = Subject("Service", svc.namespace, svc.name)
    if not svc.selector:
        return not_applicable(f"{svc.type} Service {svc.ref} has no selector: the pods behind it are managed "
                              "outside the input", subject)
    classes = _fronted(ctx, svc)
    if not classes:
        return passed(subject, f"{svc.type} Service {svc.ref} selects no pod in the input")
    open_: list[dict[str, Any]] = []
    for cls in classes:
        for sp in svc.ports:
            for target in _targets(sp, cls):
                why = _exposure(ctx, cls, sp.protocol, target, space)
                if why:
                    for ep in ctx.endpoints_of(cls):
                        open_.append({"pod": ep.ref, "port": f"{target}/{sp.protocol}",
                                      "service_port": sp.port, "node_port": sp.node_port, "reason": why})
    pods = sorted({ep.ref for c in classes for ep in ctx.endpoints_of(c)})
    if not open_:
        return passed(subject, f"{svc.type} Service {svc.ref} fronts {len(pods)} pod(s), each ingress-isolated "
                               "and admitting no public source on the exposed ports", pods=pods)
    first = open_[0]
    bad = sorted({o["pod"] for o in open_})
    return fail(subject, f"{svc.type} Service {svc.ref} exposes {len(bad)} pod(s) outside the cluster that accept "
                         f"any source, e.g. {first['pod']} on {first['port']}: {first['reason']}",
                exposed=open_[:50], exposed_count=len(open_), pods=pods)


@rule("NP033")
def check(ctx: Context) -> Iterator[Result]:
    cluster = ctx.cluster
    exposed = [s for s in cluster.services if s.type in EXPOSED_TYPES]
    host_ports = [(i, ep) for i, ep in enumerate(cluster.endpoints) if ep.host_ports]
    if not cluster.services and not host_ports:
        yield not_applicable("no Service and no hostPort in the input")
        return
    if not exposed and not host_ports:
        yield passed(CLUSTER, "no Service of type LoadBalancer or NodePort and no hostPort: no pod is exposed "
                              "outside the cluster by a Service or a node port")
        return
    space = subtract(public_addresses(), cidr_set(list(ctx.config.trusted_cidrs)))
    for svc in exposed:
        yield _service(ctx, svc, space)
    for cid in sorted({ctx.index.class_of[i] for i, _ in host_ports}):
        cls = ctx.index.classes[cid]
        for w in ctx.workloads([i for i in cls.members if cluster.endpoints[i].host_ports]):
            pairs = sorted({hp for e in w.endpoints for hp in e.host_ports})
            open_ = [(f"{port}/{proto}", why) for proto, port in pairs
                     if (why := _exposure(ctx, cls, proto, port, space))]
            ports = [f"{port}/{proto}" for proto, port in pairs]
            if open_:
                yield fail(w.subject, f"{w.ref} listens on node port(s) {', '.join(p for p, _ in open_)} of every "
                                      f"node it runs on and accepts any source there: {open_[0][1]}",
                           host_ports=ports, exposed=[{"port": p, "reason": r} for p, r in open_], **w.evidence())
            else:
                yield passed(w.subject, f"{w.ref} uses hostPort(s) {', '.join(ports)} but is ingress-isolated and "
                                        "admits no public source on them", host_ports=ports, **w.evidence())
