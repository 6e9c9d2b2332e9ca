"""NP018: pods that accept connections from pods of other namespaces, summarised per namespace pair.

"Accept" is the destination's ingress side (what its own policies admit, `PairCache.ingress_ports`): a pod that
is not ingress-isolated accepts from every namespace. For each destination namespace holding pods, every class
of another namespace (system namespaces included) that some destination class admits is summed up per source
namespace: the ports admitted, the ports also allowed by the source's egress today (the connection works end to
end), the destination pods and the rules that admit them. One FAIL per destination namespace with such sources,
one PASS per other namespace holding pods.
"""

from collections.abc import Iterator
from typing import Any

from scanner.catalog import rule
from scanner.context import Context
from scanner.engine.exposure import (
    class_admits,
    not_isolated_reason,
    ports_phrase,
    selects_every_namespace,
    union_ports,
)
from scanner.engine.index import PodClass
from scanner.findings import Result, fail, passed
from scanner.intervals import EMPTY, describe_ports, subtract, union


@rule("NP018")
def check(ctx: Context) -> Iterator[Result]:
    ix, pairs = ctx.index, ctx.pairs
    for ns, dst_classes in ctx.classes_by_namespace.items():
        subject = ctx.namespace_subject(ns)
        flows: dict[str, dict[str, Any]] = {}
        future: set[str] = set()
        for dst in dst_classes:
            reason = not_isolated_reason(ix, dst, "ingress")
            if reason is not None:
                future.add(f"{_refs(ctx, dst)}: {reason}")
            else:
                future |= {f"{p.ref} {r.field}" for p in ix.policies_for(dst, "ingress") for r in p.rules("ingress")
                           if r.peers is None or any(selects_every_namespace(x.namespace_selector) for x in r.peers)}
            for src in ix.classes:
                if src.namespace == ns:
                    continue
                admitted = pairs.ingress_ports(src, dst)
                if not admitted:
                    continue
                admits = class_admits(ix, dst, "ingress", src) if reason is None else []
                firm = admitted if reason else union_ports([a for a in admits if not a.plugin_dependent])
                f = flows.setdefault(src.namespace, {"ports": EMPTY, "firm": EMPTY, "open": EMPTY, "to": set(),
                                                     "by": set()})
                f["ports"] = union(f["ports"], admitted)
                f["firm"] = union(f["firm"], firm)
                f["open"] = union(f["open"], pairs.ports(src, dst))
                f["to"] |= {ctx.cluster.endpoints[i].ref for i in dst.members}
                f["by"] |= {reason} if reason else {a.describe() for a in admits}
        if not flows and not future:
            yield passed(subject, f"no pod of {ns} accepts connections from pods of other namespaces")
            continue
        if not flows:
            yield fail(subject, f"pods of {ns} accept no pod of another namespace today, but {', '.join(sorted(future))} "
                                "admit(s) every namespace, including namespaces created later", sources={},
                       every_namespace=sorted(future))
            continue
        grouped: dict[str, list[str]] = {}
        for src_ns, f in sorted(flows.items()):
            grouped.setdefault(_flow_text(f), []).append(src_ns)
        summary = "; ".join(f"{', '.join(names)} ({text})" for text, names in grouped.items())
        message = f"pods of {ns} accept connections from {len(flows)} other namespace(s): {summary}"
        if future:
            message += "; some admit every namespace, including namespaces created later"
        yield fail(subject, message, every_namespace=sorted(future), sources={
            src: {"ports": describe_ports(f["ports"]), "allowed_end_to_end": describe_ports(f["open"]),
                  "plugin_dependent_ports": describe_ports(subtract(f["ports"], f["firm"])),
                  "destinations": sorted(f["to"]), "admitted_by": sorted(f["by"])}
            for src, f in sorted(flows.items())})


def _flow_text(f: dict[str, Any]) -> str:
    to = sorted(f["to"])
    where = ", ".join(to[:2]) + (f" +{len(to) - 2} more" if len(to) > 2 else "")
    pd = ", plugin-dependent ipBlock match" if f["ports"] != f["firm"] else ""
    return f"{ports_phrase(f['ports'])} to {where}{pd}"


def _refs(ctx: Context, cls: PodClass) -> str:
    return ", ".join(ctx.cluster.endpoints[i].ref for i in cls.members)
